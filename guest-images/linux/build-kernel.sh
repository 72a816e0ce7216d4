#!/bin/sh
# SPDX-License-Identifier: MIT
#
# build-kernel.sh OUTDIR CACHEDIR PAYLOAD_TOOL
#
# OUTDIR/vmlinuz: the kernel of Debian's linux-image-amd64, as shipped (the
# .deb is fetched with `apt-get download` into CACHEDIR, never installed, and
# only /boot/vmlinuz-* is taken out of it). OUTDIR/vmlinux: the uncompressed
# ELF inside that bzImage, cut out by PAYLOAD_TOOL and decompressed here.
# Idempotent: the .deb is downloaded once; each output is rebuilt only when
# it is missing or older than its input.
set -eu

out=$1
cache=$2
payload_tool=$3
meta=linux-image-amd64
apt_archives=${RACKVM_APT_ARCHIVES:-/var/cache/apt/archives}

die() {
	echo "guest-linux: $*" >&2
	exit 1
}

# The versioned image package the meta-package depends on, per apt's lists.
kernel_pkg() {
	apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}

# The cached .deb for $1, if any (the newest by name).
cached_deb() {
	ls "$cache"/"$1"_*.deb 2>/dev/null | LC_ALL=C sort | tail -n 1
}

download() {
	pkg=$(kernel_pkg)
	[ -n "$pkg" ] || return 1
	deb=$(cached_deb "$pkg")
	[ -z "$deb" ] || return 0
	# apt's own archive already holds it on a box that installed the kernel
	for f in "$apt_archives"/"$pkg"_*_amd64.deb; do
		[ -f "$f" ] && cp "$f" "$cache/" && return 0
	done
	(cd "$cache" && apt-get download -q -o APT::Sandbox::User=root "$pkg") >&2
}

fetch_deb() {
	deb=$(ls "$cache"/linux-image-[0-9]*.deb 2>/dev/null | LC_ALL=C sort | tail -n 1)
	if [ -n "$deb" ]; then
		echo "$deb"
		return
	fi
	if ! download; then
		echo "guest-linux: apt lists look stale; running apt-get update once" >&2
		apt-get update -q >&2 || die "apt-get update failed (run as root, or run 'make deps')"
		download || die "cannot download the package $meta depends on" \
			"('$(kernel_pkg)'): check network access to the Debian archive"
	fi
	deb=$(ls "$cache"/linux-image-[0-9]*.deb 2>/dev/null | LC_ALL=C sort | tail -n 1)
	[ -n "$deb" ] || die "apt-get download left no linux-image .deb in $cache"
	echo "$deb"
}

extract_vmlinuz() {
	deb=$1
	[ -f "$out/vmlinuz" ] && [ "$out/vmlinuz" -nt "$deb" ] && return 0
	rm -rf "$cache/root"
	mkdir -p "$cache/root"
	# only /boot/vmlinuz-*: the modules would take hundreds of MiB
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$cache/root" --wildcards './boot/vmlinuz-*' ||
		die "$deb: no /boot/vmlinuz-* in the package"
	set -- "$cache"/root/boot/vmlinuz-*
	[ $# -eq 1 ] && [ -f "$1" ] || die "$deb: expected one /boot/vmlinuz-*, found: $*"
	cp "$1" "$out/vmlinuz.tmp"
	mv "$out/vmlinuz.tmp" "$out/vmlinuz"
	rm -rf "$cache/root"
	echo "guest-linux: vmlinuz from $(basename "$deb")" >&2
}

decompress() {
	case $1 in
	gzip) gzip -dc ;;
	xz) xz -dc ;;
	zstd) zstd -dcq ;;
	lzma) xz --format=lzma -dc ;;
	bzip2) bzip2 -dc ;;
	*) die "vmlinuz is compressed with $1; only gzip, xz, zstd, lzma, bzip2 are handled" ;;
	esac
}

extract_vmlinux() {
	[ -f "$out/vmlinux" ] && [ "$out/vmlinux" -nt "$out/vmlinuz" ] && return 0
	info=$("$payload_tool" "$out/vmlinuz" "$cache/payload") || die "cannot find the payload in vmlinuz"
	fmt=${info% *}
	size=${info#* }
	decompress "$fmt" <"$cache/payload" >"$out/vmlinux.tmp" ||
		die "$fmt decompression of the vmlinuz payload failed"
	rm -f "$cache/payload"
	got=$(stat -c %s "$out/vmlinux.tmp")
	[ "$got" = "$size" ] || die "vmlinux is $got bytes, the bzImage says $size"
	[ "$(head -c 4 "$out/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
		die "the decompressed payload is not an ELF file"
	mv "$out/vmlinux.tmp" "$out/vmlinux"
	echo "guest-linux: vmlinux ($fmt, $size bytes)" >&2
}

mkdir -p "$out" "$cache"
deb=$(fetch_deb)
extract_vmlinuz "$deb"
extract_vmlinux
# newer than the script that made them, so the build does not rerun it; in
# this order, so that vmlinux stays newer than vmlinuz
touch "$out/vmlinuz"
touch "$out/vmlinux"
touch "$out/kernel.stamp"
