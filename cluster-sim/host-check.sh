#!/bin/sh
# SPDX-License-Identifier: MIT
#
# rackvm-host-check: the network and soft-RoCE health check of a
# cluster-sim host with more than one host (rackvm sim --hosts N, N > 1).
#
#   rackvm-host-check serve -- CMD...
#       host 0: serves one ibv_rc_pingpong (for host 1) in the background,
#       runs CMD, waits for the pingpong; exits with CMD's status.
#   rackvm-host-check peer SERVER_IP [pingpong]
#       other hosts: rxe0 port active, ping SERVER_IP, and with "pingpong"
#       one ibv_rc_pingpong against SERVER_IP; exits 0 when all passed.
#   rackvm-host-check gid
#       prints the index of rxe0's IPv4-mapped (RoCE v2) GID.
# Each prints one line: RACKVM-HOST-CHECK host=K key=value ...
set -u
host=$(hostname | sed 's/^host//')
iters=${RACKVM_PINGPONG_ITERS:-100}
size=${RACKVM_PINGPONG_SIZE:-4096}
wait_s=${RACKVM_PINGPONG_WAIT:-90}

# rxe needs a GRH: use the GID that carries eth0's IPv4 address (RoCE v2).
gid_index() {
	for g in /sys/class/infiniband/rxe0/ports/1/gids/*; do
		case $(cat "$g" 2>/dev/null) in
		0000:0000:0000:0000:0000:ffff:*) basename "$g" && return 0 ;;
		esac
	done
	echo 0
}

port_state() {
	ibv_devinfo -d rxe0 2>/dev/null | sed -n 's/^[[:space:]]*state:[[:space:]]*\([A-Z_]*\).*/\1/p' |
		head -n 1
}

# "usec/iter" of an ibv_rc_pingpong output file.
usec_per_iter() {
	sed -n 's/.* = \([0-9.]*\) usec\/iter.*/\1/p' "$1" | head -n 1
}

serve() {
	[ "${1:-}" = -- ] && shift
	ibv_rc_pingpong -d rxe0 -g "$(gid_index)" -n "$iters" -s "$size" >/tmp/pingpong.log 2>&1 &
	pp=$!
	"$@"
	st=$?
	i=0
	while kill -0 "$pp" 2>/dev/null && [ "$i" -lt "$wait_s" ]; do
		sleep 1
		i=$((i + 1))
	done
	if kill -0 "$pp" 2>/dev/null; then
		kill "$pp"
		result="pingpong=timeout"
	elif wait "$pp"; then
		result="pingpong=ok usec_per_iter=$(usec_per_iter /tmp/pingpong.log)"
	else
		result="pingpong=fail"
		sed 's/^/pingpong: /' /tmp/pingpong.log
	fi
	echo "RACKVM-HOST-CHECK host=$host role=server rxe0=$(port_state) $result"
	return "$st"
}

# Ping until SERVER answers (its host may still be booting), at most ~60 s.
reach() {
	i=0
	while [ "$i" -lt 30 ]; do
		ping -c 1 -W 2 "$1" >/dev/null 2>&1 && return 0
		i=$((i + 1))
	done
	return 1
}

# The server may not listen yet: retry the connection for a while.
pingpong() {
	i=0
	while [ "$i" -lt 30 ]; do
		if ibv_rc_pingpong -d rxe0 -g "$(gid_index)" -n "$iters" -s "$size" "$1" \
			>/tmp/pingpong.log 2>&1; then
			echo "pingpong=ok usec_per_iter=$(usec_per_iter /tmp/pingpong.log)"
			return 0
		fi
		grep -q "Couldn't connect" /tmp/pingpong.log || break
		sleep 1
		i=$((i + 1))
	done
	sed 's/^/pingpong: /' /tmp/pingpong.log >&2
	echo "pingpong=fail"
	return 1
}

peer() {
	server=$1
	st=0
	state=$(port_state)
	[ "$state" = PORT_ACTIVE ] || st=1
	if reach "$server"; then
		ping_r=ok
	else
		ping_r=fail
		st=1
	fi
	pp_r=pingpong=skipped
	if [ "${2:-}" = pingpong ]; then
		pp_r=$(pingpong "$server") || st=1
	fi
	ibv_devinfo -d rxe0 2>&1 | sed 's/^/ibv_devinfo: /'
	echo "RACKVM-HOST-CHECK host=$host role=peer rxe0=${state:-missing} ping=$ping_r $pp_r"
	return "$st"
}

case ${1:-} in
serve)
	shift
	serve "$@"
	;;
gid)
	# the GID index the verbs backend wants (RACKVM_IB_GID)
	gid_index
	;;
peer)
	shift
	[ $# -ge 1 ] || { echo "usage: rackvm-host-check peer SERVER_IP [pingpong]" >&2; exit 2; }
	peer "$@"
	;;
*)
	echo "usage: rackvm-host-check serve -- CMD... | peer SERVER_IP [pingpong] | gid" >&2
	exit 2
	;;
esac
