#!/bin/sh
# Run inside the stand-in base by tools/test-image, after Python went into /usr/local: leaves the
# packages the official python:*-slim image has (what /usr/local's programs load, ca-certificates,
# apt and the rest of Debian's required set) and purges the rest, as that image's Dockerfile does.
set -eu
export DEBIAN_FRONTEND=noninteractive
ldconfig  # /usr/local/lib (libpython) is in Debian's ld.so.conf
apt-mark auto '.*' >/dev/null
apt-mark manual ca-certificates >/dev/null
find /usr/local -type f -executable -not -name '*tkinter*' -exec ldd '{}' ';' 2>/dev/null \
    | awk '/=> \// { so = $(NF-1); if (index(so, "/usr/local/") == 1) { next };
                     gsub("^/(usr/)?", "", so); printf "*%s\n", so }' \
    | sort -u \
    | xargs -r dpkg-query --search \
    | awk 'sub(":$", "", $1) { print $1 }' \
    | sort -u \
    | xargs -r apt-mark manual >/dev/null
# Suggests too: debconf suggests perl, perl suggests make; the official image has neither.
apt-get purge -qq -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false \
    -o APT::AutoRemove::SuggestsImportant=false >/dev/null
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/log/dpkg.log
# What the image's Python needs loads; what only the tests' userland needed is gone.
python3 -c 'import bz2, ctypes, lzma, readline, sqlite3, ssl, uuid, zlib'
for tool in g++ gcc make mariadbd; do
    if command -v "$tool" >/dev/null; then
        echo "prune-base: $tool is still in the base after the purge" >&2
        exit 1
    fi
done
