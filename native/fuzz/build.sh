#!/bin/sh
# Build the libFuzzer targets of the native engine (clang required:
# apt-get install clang). Each target links the pure file it fuzzes
# (native/src/response.c, native/src/address.c) itself, without libcurl
# (response.c decodes with the system zlib), so the fuzzer drives exactly
# the code the addon runs, built with AddressSanitizer and
# UndefinedBehaviorSanitizer.
#
# Usage: native/fuzz/build.sh [out-dir]   (default native/fuzz/out)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/out"}
CC=${CC:-clang}
mkdir -p "$out"
flags="-std=c11 -g -O1 -Wall -Wextra -Werror -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I$here/../src"
for target in response address; do
  libs=""
  if [ "$target" = response ]; then libs=$(pkg-config --libs zlib); fi
  # shellcheck disable=SC2086
  $CC $flags -o "$out/fuzz_$target" "$here/fuzz_$target.c" \
    "$here/../src/$target.c" $libs
  echo "built $out/fuzz_$target"
done
