#!/bin/sh
# SPDX-License-Identifier: MIT
#
# build-host-image.sh OUTDIR RACKVM GUESTDIR SRCDIR KERNELCACHE
#
# The image of a QEMU "host" of the cluster simulator (rackvm sim):
#   OUTDIR/vmlinuz       the kernel of a Debian linux-image .deb that
#                        SRCDIR/fetch-host-kernel.sh keeps in KERNELCACHE
#                        (bookworm-backports: downloaded once)
#   OUTDIR/host.cpio.gz  busybox, SRCDIR/host-init as /init, the kernel
#                        modules a host needs (kvm-amd, NIC, soft-RoCE) and
#                        their load order, RACKVM and every library it loads,
#                        the verbs tools with the rxe provider, and the guest
#                        images of GUESTDIR under /opt/rackvm/guest.
# The kernel and its modules come out of that .deb (extracted once into
# OUTDIR/.kernel-root, depmod run there). The image is rebuilt only when the
# list of inputs (path, size, mtime) differs from the last build's.
set -eu

out=$1
rackvm=$2
guestdir=$3
src=$4
kcache=$5
busybox=${BUSYBOX:-/bin/busybox}
# kvm-amd, the two NICs QEMU offers (e1000, virtio-net), soft-RoCE, and 9p
# over virtio for rackvm sim --share.
# rdma_rxe asks the crypto API for crc32 at run time: not in modules.dep.
# rdma_ucm (/dev/infiniband/rdma_cm): libfabric's verbs provider needs it.
want_modules="irqbypass ccp kvm kvm-amd e1000 virtio_net virtio_pci
	ib_core ib_uverbs udp_tunnel ip6_udp_tunnel crc32_generic crc32-pclmul rdma_rxe
	9pnet_virtio 9p rdma_ucm veth bridge sch_tbf"
# bash, pgrep/pkill, iproute2's ip and tc, nsenter, lsns: the test scripts
# that tests/integration/kvm_exec.sh runs in a host (--netns cases too).
tools="ibv_devinfo ibv_devices ibv_rc_pingpong rdma bash pgrep pkill ip tc nsenter lsns"

die() {
	echo "host-image: $*" >&2
	exit 1
}

# vmlinuz and /lib/modules out of the kernel .deb.
extract_deb_kernel() {
	deb=$(sh "$src/fetch-host-kernel.sh" "$kcache") || die "no host kernel (see above)"
	root=$out/.kernel-root
	if [ ! -f "$root/.stamp" ] || [ "$deb" -nt "$root/.stamp" ]; then
		rm -rf "$root"
		mkdir -p "$root"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$root" --wildcards \
			'./boot/vmlinuz-*' './lib/modules/*' || die "$deb: cannot extract"
		touch "$root/.stamp"
	fi
	kimage=$(ls "$root"/boot/vmlinuz-* | head -n 1)
	kver=${kimage##*/vmlinuz-}
	moddir=$root/lib/modules/$kver
	# A .deb ships no modules.dep: its postinst runs depmod. Run it here.
	if [ ! -f "$moddir/modules.dep" ]; then
		command -v depmod >/dev/null || die "depmod missing: run 'make deps' (kmod)"
		depmod -b "$root" "$kver" || die "$deb: depmod failed for $kver"
	fi
	[ -f "$moddir/modules.dep" ] || die "$deb: no modules.dep for $kver"
}

# The relative path of module $1 (dash and underscore are the same name).
module_path() {
	n=$(echo "$1" | sed 's/[-_]/[-_]/g')
	sed -n "s@^\(.*/$n\.ko[.a-z]*\):.*@\1@p" "$moddir/modules.dep" | head -n 1
}

# Whether module $1 is built into the kernel (virtio_pci is, in 6.12).
module_builtin() {
	n=$(echo "$1" | sed 's/[-_]/[-_]/g')
	grep -q "/$n\.ko\$" "$moddir/modules.builtin" 2>/dev/null
}

# Every wanted module after the modules it needs, each once.
module_order() {
	for m in $want_modules; do
		p=$(module_path "$m")
		if [ -z "$p" ]; then
			module_builtin "$m" && continue
			die "kernel $kver has no module $m"
		fi
		deps=$(sed -n "s@^$p: *@@p" "$moddir/modules.dep")
		for d in $(echo "$deps" | tr ' ' '\n' | tac) "$p"; do
			echo "$d"
		done
	done | awk '!seen[$0]++'
}

# Shared libraries (and the loader) that the ELF files $@ need.
libs_of() {
	for f in "$@"; do
		ldd "$f" 2>/dev/null | sed -n 's@.*=> \(/[^ ]*\) .*@\1@p; s@^[[:space:]]*\(/[^ ]*\) .*@\1@p'
	done | sort -u
}

extract_deb_kernel
[ -x "$busybox" ] || die "$busybox missing: run 'make deps' (busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamic: install busybox-static"
[ -x "$rackvm" ] || die "$rackvm missing: build the rackvm target first"
command -v cpio >/dev/null || die "cpio missing: run 'make deps'"

modules=$(module_order)
tool_paths=
for t in $tools; do
	p=$(command -v "$t" || true)
	[ -n "$p" ] && tool_paths="$tool_paths $p"
done
[ -n "$tool_paths" ] || echo "host-image: no verbs tools (ibverbs-utils) found" >&2
verbs_dir=/usr/lib/x86_64-linux-gnu/libibverbs
fabric_dir=/usr/lib/x86_64-linux-gnu/libfabric
plugins=$(ls "$verbs_dir"/librxe-*.so "$fabric_dir"/*.so 2>/dev/null || true)
libs=$(libs_of "$rackvm" $tool_paths $plugins)
guest_files=$(ls "$guestdir"/testos.elf "$guestdir"/hello.elf "$guestdir"/linux/vmlinuz \
	"$guestdir"/linux/initramfs.cpio.gz 2>/dev/null || true)
extra=$(ls /etc/libibverbs.d/rxe.driver 2>/dev/null || true)
# cmocka: unit tests that create vCPUs run in a host too (tests/integration/kvm_exec.sh)
extra="$extra $(ls /usr/lib/x86_64-linux-gnu/libcmocka.so.0* 2>/dev/null || true)"

# Rebuild only when an input changed.
mkdir -p "$out"
manifest=$out/.manifest
inputs="$0 $src/host-init $src/fetch-host-kernel.sh $src/host-check.sh $busybox $kimage $rackvm $tool_paths $plugins
	$libs $guest_files $extra"
for m in $modules; do inputs="$inputs $moddir/$m"; done
new=$(stat -L -c '%n %s %Y' $inputs)
if [ -f "$out/host.cpio.gz" ] && [ -f "$out/vmlinuz" ] && [ -f "$manifest" ] &&
	[ "$new" = "$(cat "$manifest")" ]; then
	exit 0
fi

stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/sbin" "$stage/dev" "$stage/proc" "$stage/sys" \
	"$stage/tmp" "$stage/root" "$stage/etc" "$stage/opt/rackvm/guest" \
	"$stage/lib/modules/host"
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
# scripts start with #!/usr/bin/env bash
mkdir -p "$stage/usr/bin"
ln -s ../../bin/busybox "$stage/usr/bin/env"
cp "$src/host-init" "$stage/init"
cp "$src/host-check.sh" "$stage/bin/rackvm-host-check"
chmod 0755 "$stage/init" "$stage/bin/rackvm-host-check"

# Modules flat, numbered in load order; xz/zst ones decompressed for insmod.
i=10
for m in $modules; do
	name=$(basename "$m")
	dst=$stage/lib/modules/host/$i-${name%%.ko*}.ko
	case $name in
	*.ko.xz) xz -dc "$moddir/$m" >"$dst" ;;
	*.ko.zst) zstd -dcq "$moddir/$m" >"$dst" ;;
	*.ko.gz) gzip -dc "$moddir/$m" >"$dst" ;;
	*) cp "$moddir/$m" "$dst" ;;
	esac
	i=$((i + 1))
done
echo "$kver" >"$stage/lib/modules/host/version"

# Programs, their libraries at the paths ldd names, the verbs plug-ins.
cp "$rackvm" "$stage/opt/rackvm/rackvm"
# (rm first: a busybox applet of the same name is a symlink to busybox)
for f in $tool_paths; do
	rm -f "$stage/bin/$(basename "$f")"
	cp "$f" "$stage/bin/$(basename "$f")"
done
for f in $libs $plugins $extra; do
	mkdir -p "$stage$(dirname "$f")"
	cp -L "$f" "$stage$f"
done
for f in $guest_files; do
	case $f in
	*/linux/*) mkdir -p "$stage/opt/rackvm/guest/linux" && cp "$f" "$stage/opt/rackvm/guest/linux/" ;;
	*) cp "$f" "$stage/opt/rackvm/guest/" ;;
	esac
done

find "$stage" -exec touch -h -d @0 {} +
(cd "$stage" && find . | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -6 -n >"$out/host.cpio.gz.tmp"
cp "$kimage" "$out/vmlinuz.tmp"
mv "$out/host.cpio.gz.tmp" "$out/host.cpio.gz"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
echo "$new" >"$manifest"
echo "host-image: $out/host.cpio.gz ($(du -k "$out/host.cpio.gz" | cut -f1) KiB, kernel $kver," \
	"$(echo "$modules" | wc -l) modules)" >&2
