#!/bin/sh
# Build and run every libFuzzer target for a fixed time each, starting from
# the committed corpus (native/fuzz/corpus/<target>/, read-only here: new
# inputs go to a temporary directory). Prints libFuzzer's final line (runs,
# coverage, corpus, exec/s) per target; exits non-zero on any crash, leak or
# invariant failure, leaving the reproducer in native/fuzz/out/.
#
# Usage: native/fuzz/run.sh [seconds-per-target]   (default 30)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-30}
out="$here/out"
"$here/build.sh" "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/atresolve-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0
for target in response address; do
  mkdir -p "$work/$target"
  log="$work/$target.log"
  echo "== fuzz_$target: ${seconds} s =="
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "$out/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$out/$target-" -max_len=4096 \
       "$work/$target" "$here/corpus/$target" >"$log" 2>&1; then
    grep -E 'DONE' "$log" | tail -n 1
    grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log"
  else
    status=1
    tail -n 40 "$log"
    echo "fuzz_$target FAILED; reproducer under $out/"
  fi
done
exit $status
