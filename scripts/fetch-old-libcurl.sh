#!/bin/sh
# Fetch Debian 11's libcurl 7.74 (and the libraries it needs that Debian 12
# no longer ships) into .cache/old-libcurl/debian-11/, for
# `npm run test:old-libcurl`: the committed prebuild is then run against it
# with LD_LIBRARY_PATH. Idempotent and cached: a second run downloads
# nothing. Uses apt-get with a private state directory (a bullseye sources
# list under the cache), so the system's apt configuration is untouched;
# Debian 12's debian-archive-keyring verifies the bullseye archive.
# Prints the library directory on its last line.
set -eu
cd "$(dirname "$0")/.."

release=bullseye
version_glob='7.74.0-1.3+deb11u*'
packages="libssl1.1 libldap-2.4-2"
cache=".cache/old-libcurl/debian-11"
root="$cache/root"
libdir="$root/usr/lib/x86_64-linux-gnu"
stamp="$cache/stamp"

if [ -f "$stamp" ] && [ -e "$libdir/libcurl.so.4" ]; then
  echo "old-libcurl: cached $(cat "$stamp")" >&2
  echo "$PWD/$libdir"
  exit 0
fi

if [ "$(dpkg --print-architecture)" != amd64 ]; then
  echo "old-libcurl: only amd64 is set up (the committed prebuild is linux-x64)" >&2
  exit 1
fi

apt_dir="$PWD/$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$cache/debs"
cat > "$apt_dir/sources.list" <<LIST
deb http://deb.debian.org/debian $release main
deb http://deb.debian.org/debian-security $release-security main
LIST
apt_opts="-o Dir::Etc::SourceList=$apt_dir/sources.list
  -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists=$apt_dir/lists
  -o Dir::State::status=/dev/null
  -o Dir::Cache=$apt_dir
  -o Dir::Cache::archives=$apt_dir/archives
  -o APT::Architecture=amd64
  -o APT::Sandbox::User=root
  -o Debug::NoLocking=1"

echo "old-libcurl: apt-get update ($release, private state in $apt_dir)" >&2
# shellcheck disable=SC2086
apt-get -q $apt_opts update >&2

# The newest 7.74.0-1.3+deb11uN in the archive (security updates move N).
# shellcheck disable=SC2086
curl_version=$(apt-cache $apt_opts madison libcurl4 | awk '{print $3}' |
  while read -r v; do case "$v" in $version_glob) echo "$v";; esac; done |
  sort -V | tail -n 1)
if [ -z "$curl_version" ]; then
  echo "old-libcurl: no libcurl4 $version_glob in $release" >&2
  exit 1
fi

echo "old-libcurl: downloading libcurl4=$curl_version $packages" >&2
(
  cd "$cache/debs"
  rm -f ./*.deb
  # shellcheck disable=SC2086
  apt-get -q $apt_opts download "libcurl4=$curl_version" $packages >&2
)
rm -rf "$root"
mkdir -p "$root"
for deb in "$cache"/debs/*.deb; do
  dpkg-deb -x "$deb" "$root"
done

# Everything else libcurl 7.74 links (nghttp2, libssh2, libpsl, ...) keeps
# its soname in Debian 12; fail loudly if that ever changes.
missing=$(LD_LIBRARY_PATH="$PWD/$libdir" ldd "$libdir/libcurl.so.4" | grep 'not found' || true)
if [ -n "$missing" ]; then
  echo "old-libcurl: libcurl $curl_version needs libraries this system lacks:" >&2
  echo "$missing" >&2
  exit 1
fi

echo "libcurl4=$curl_version ($(cd "$cache/debs" && ls | tr "\n" " "))" > "$stamp"
echo "old-libcurl: ready in $libdir" >&2
echo "$PWD/$libdir"
