#!/bin/sh
# SPDX-License-Identifier: MIT
# migrate_test.sh MODE RACKVM [ARGS...]: live vCPU migration, end to end
# (real KVM, real transport, real ZeroMQ). POSIX sh: it also runs inside a
# `rackvm sim` host (busybox).
#   storm NODES TEST [RUN-ARGS...]  a testos run under --migrate-storm 20 must
#                                   pass with exact counts and move vCPUs
#   manual                          `rackvm migrate` moves vCPUs of a running
#                                   coherence run; `rackvm stats` counts them;
#                                   bad vCPU/node: one line, exit 2
#   badinput                        no cluster: bad/unknown endpoint, missing
#                                   options: one line, exit != 0
set -u
mode=$1 rackvm=$2
shift 2
tmp=$(mktemp -d)
trap 'kill $run_pid 2>/dev/null; rm -rf "$tmp"' EXIT
run_pid=

fail() {
	echo "FAIL ($mode): $*"
	for f in "$tmp"/*.log; do
		[ -f "$f" ] && { echo "--- $f"; cat "$f"; }
	done
	exit 1
}

need_kvm() {
	[ -c /dev/kvm ] || { echo "skip: no /dev/kvm on this host"; exit 77; }
}

# expect STATUS REGEX CMD...: exit status and a line of its output.
expect() {
	want=$1 regex=$2
	shift 2
	"$@" >"$tmp/cmd.log" 2>&1
	st=$?
	cat "$tmp/cmd.log"
	[ "$st" = "$want" ] || fail "'$*' exited $st, wanted $want"
	grep -Eq -- "$regex" "$tmp/cmd.log" || fail "'$*' printed no /$regex/"
	[ "$st" = 0 ] || [ "$(wc -l <"$tmp/cmd.log")" -eq 1 ] ||
		fail "'$*' printed more than one line"
}

storm() {
	need_kvm
	nodes=$1 test=$2
	shift 2
	# time dilation auto: 1 on hardware; in a QEMU TCG host the guest's clocks
	# (and the storm's 20 ms) run 10x slower, as its vCPUs do
	"$rackvm" run --nodes "$nodes" --vcpus 4 --mem 128M --test "$test" --seconds 1 \
		--timeout 120 --migrate-storm 20 --time-dilation auto "$@" >"$tmp/run.log" 2>&1
	st=$?
	cat "$tmp/run.log"
	[ "$st" = 0 ] || fail "run exited $st"
	grep -q "RACKVM-RESULT test=$test status=pass" "$tmp/run.log" || fail "no pass line"
	grep -Eq "coordinator: [1-9][0-9]* migrations" "$tmp/run.log" ||
		fail "no vCPU moved"
	echo "PASS (storm $nodes nodes $test)"
}

# Waits up to 120 s for the run's log to show REGEX.
wait_log() {
	i=0
	while ! grep -Eq -- "$1" "$tmp/run.log"; do
		i=$((i + 1))
		[ $i -lt 1200 ] || fail "no /$1/ within 120 s"
		kill -0 "$run_pid" 2>/dev/null || fail "the run ended early"
		sleep 0.1
	done
}

manual() {
	need_kvm
	ep="ipc://$tmp/ctl"
	"$rackvm" run --nodes 2 --vcpus 2 --mem 128M --test coherence --seconds 20 \
		--timeout 300 --control "$ep" "$@" >"$tmp/run.log" 2>&1 &
	run_pid=$!
	wait_log "all 2 nodes ready"
	wait_log "testos: 2 cpus"
	expect 0 "vCPU 1 moved from node 1 to node 0 \(move 1\), pause" \
		"$rackvm" migrate --coordinator "$ep" --vcpu 1 --to 0
	expect 0 "vCPU 1 moved from node 0 to node 1 \(move 2\)" \
		"$rackvm" migrate --coordinator "$ep" --vcpu 1 --to 1
	expect 0 "vCPU 0 moved from node 0 to node 1" \
		"$rackvm" migrate --coordinator "$ep" --vcpu 0 --to 1
	expect 2 "vCPU 7 out of range" "$rackvm" migrate --coordinator "$ep" --vcpu 7 --to 0
	expect 2 "node 5 out of range" "$rackvm" migrate --coordinator "$ep" --vcpu 0 --to 5
	expect 2 "already runs on node 1" \
		"$rackvm" migrate --coordinator "$ep" --vcpu 1 --to 1
	expect 0 "^migrations +3$" "$rackvm" stats --coordinator "$ep"
	grep -Eq "^vcpu0 +node 1$" "$tmp/cmd.log" || fail "stats: vCPU 0 not on node 1"
	wait "$run_pid"
	st=$?
	run_pid=
	cat "$tmp/run.log"
	[ "$st" = 0 ] || fail "run exited $st"
	grep -q "RACKVM-RESULT test=coherence status=pass" "$tmp/run.log" ||
		fail "no pass line"
	echo "PASS (manual)"
}

badinput() {
	expect 4 "no answer from coordinator" \
		"$rackvm" migrate --coordinator "ipc://$tmp/nobody" --vcpu 0 --to 1 --timeout-ms 500
	expect 4 "no answer from coordinator" \
		"$rackvm" stats --coordinator "ipc://$tmp/nobody" --timeout-ms 500
	expect 2 "bad --coordinator 'nowhere'" \
		"$rackvm" migrate --coordinator nowhere --vcpu 0 --to 1
	expect 2 "--vcpu I and --to NODE are required" \
		"$rackvm" migrate --coordinator "ipc://$tmp/nobody" --vcpu 0
	expect 2 "--coordinator EP is required" "$rackvm" stats
	expect 2 "--migrate-storm" "$rackvm" run --migrate-storm 10
	expect 2 "bad --migrate-storm '0'" "$rackvm" run --nodes 2 --migrate-storm 0
	expect 2 "bad --time-dilation '0': give 1..1000 or auto" \
		"$rackvm" run --nodes 2 --time-dilation 0
	expect 2 "time-dilation 'fast': give 1..1000 or auto" \
		"$rackvm" coordinator --nodes 2 --time-dilation fast
	echo "PASS (badinput)"
}

case $mode in
storm) storm "$@" ;;
manual) manual "$@" ;;
badinput) badinput ;;
*) echo "usage: migrate_test.sh storm|manual|badinput RACKVM ..." >&2; exit 2 ;;
esac
