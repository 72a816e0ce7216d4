#!/bin/sh
# SPDX-License-Identifier: MIT
#
# fetch-host-kernel.sh CACHEDIR
#
# Prints the path of the linux-image .deb the QEMU hosts of `rackvm sim` run:
# Debian's linux-image-amd64 from bookworm-backports (6.12). The hosts need
# a kernel whose userfaultfd has UFFDIO_CONTINUE_MODE_WP (Linux 6.3+): with
# bookworm's 6.1 the DSM must take every page exclusively, and a guest's spin
# locks then move their page between hosts at every read.
#
# The system's apt sources are not touched: apt runs with a private sources
# list, lists and cache under CACHEDIR/apt, reading only bookworm-backports
# (signed by the Debian archive keyring). The .deb is downloaded once into
# CACHEDIR; later calls print it without any network access.
set -eu

cache=$1
suite=${RACKVM_HOST_KERNEL_SUITE:-bookworm-backports}
mirror=${RACKVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
meta=linux-image-amd64
apt=$cache/apt

die() {
	echo "host-kernel: $*" >&2
	exit 1
}

cached_deb() {
	ls "$cache"/linux-image-[0-9]*.deb 2>/dev/null | sort -V | tail -n 1
}

deb=$(cached_deb)
if [ -n "$deb" ]; then
	echo "$deb"
	exit 0
fi

command -v apt-get >/dev/null || die "apt-get missing: the host kernel comes from Debian's $suite"
[ -f "$keyring" ] || die "$keyring missing: install debian-archive-keyring"
mkdir -p "$apt/etc" "$apt/state/lists/partial" "$apt/cache/archives/partial"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$apt/etc/sources.list"
set -- -q -o "Dir::Etc::SourceList=$apt/etc/sources.list" \
	-o Dir::Etc::SourceParts=/nonexistent -o "Dir::State=$apt/state" \
	-o "Dir::Cache=$apt/cache" -o Dir::State::status=/var/lib/dpkg/status \
	-o Acquire::Languages=none -o "APT::Sandbox::User=$(id -un)"

# The versioned image package the meta-package depends on in $suite.
kernel_pkg() {
	apt-cache "$@" depends "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}

download() {
	pkg=$(kernel_pkg "$@")
	[ -n "$pkg" ] || return 1
	(cd "$cache" && apt-get "$@" download "$pkg") >&2
}

if ! download "$@"; then
	echo "host-kernel: fetching the $suite package list (once)" >&2
	apt-get "$@" update >&2 || die "apt-get update for $suite failed: check access to $mirror"
	download "$@" || die "cannot download $meta's kernel from $suite ($mirror)"
fi
deb=$(cached_deb)
[ -n "$deb" ] || die "apt-get download left no linux-image .deb in $cache"
echo "$deb"
