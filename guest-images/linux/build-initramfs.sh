#!/bin/sh
# SPDX-License-Identifier: MIT
#
# build-initramfs.sh OUT.cpio.gz INIT PROGRAM...
#
# A gzip'd newc archive: /bin/busybox (Debian's busybox-static) with a link
# per applet, INIT as /init and each PROGRAM in /bin. Owners are 0:0 and
# times are 0, so the same inputs give the same bytes.
set -eu

out=$1
init=$2
shift 2
busybox=${BUSYBOX:-/bin/busybox}

die() {
	echo "guest-linux: $*" >&2
	exit 1
}

[ -x "$busybox" ] || die "$busybox missing: run 'make deps' (busybox-static)"
# the archive has no libc: a dynamic busybox would not start
if "$busybox" ldd "$busybox" >/dev/null 2>&1 || ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked: install busybox-static, not busybox"
fi
command -v cpio >/dev/null || die "cpio missing: run 'make deps'"

stage=$(mktemp -d "${out}.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" \
	"$stage/root" "$stage/etc"
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
cp "$init" "$stage/init"
chmod 0755 "$stage/init"
for prog in "$@"; do
	cp "$prog" "$stage/bin/"
done
find "$stage" -exec touch -h -d @0 {} +
(cd "$stage" && find . | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -9 -n >"$out.tmp"
mv "$out.tmp" "$out"
