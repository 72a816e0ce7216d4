#!/usr/bin/env bash
# cluster_test.sh CASE RACKVM [HELPER]: control-plane integration cases with
# real processes, real ZeroMQ and real libfabric over loopback (or veth).
#   mesh N      `rackvm run --nodes N --mesh-only`: exit 0, summary says healthy
#   kill        a node SIGKILLed mid-run: the rest stop, the node is named
#   unreachable a node whose coordinator is not there: one clear error
#   version     a node speaking another protocol version is refused
#   malformed   raw bytes to the coordinator (HELPER = ctl_rawsend): survived
#   overfull    a node more than --nodes is refused, the cluster runs on
#   jointimeout too few nodes: the coordinator names how many arrived
#   netns       2 nodes in two network namespaces joined by a veth pair
#   runnetns RUN-ARGS...
#               `rackvm run --nodes 2 --netns RUN-ARGS`: passes, the nodes
#               sit in their own namespaces on 10.78.0.x (with the tbf of
#               --link-rate, the delay of --link-delay-us), nothing is left
#   netnsint SIG  `rackvm run --nodes 2 --netns` gets SIGINT/SIGKILL: nothing left
#   netnsfail   a set-up command fails: exit 3, it is named, nothing left
#   netnsleftover a namespace of an earlier run with our name: removed, named
# The binary is copied to a unique directory: every process of this test
# carries that path, so pgrep on it finds exactly what the test started.
set -u
case=$1 rackvm=$2 helper=${3:-}
tmp=$(mktemp -d /tmp/rackvm-ctltest-XXXXXX)
cp "$rackvm" "$tmp/rackvm" || { rm -rf "$tmp"; echo "cluster_test.sh: no binary $rackvm"; exit 1; }
R=$tmp/rackvm
NS_A="" NS_B=""

ours() { pgrep -f "^$tmp/rackvm" || true; }
cleanup() {
	local p
	for p in $(ours); do kill -KILL "$p" 2>/dev/null; done
	[ -n "$NS_A" ] && ip netns del "$NS_A" 2>/dev/null
	[ -n "$NS_B" ] && ip netns del "$NS_B" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL ($case): $*"
	for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
	exit 1
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_for FILE REGEX SECONDS
wait_for() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no /$2/ in $1 within $3 s"
}
# wait_pid PID SECONDS: its exit status (a shell child), or fail on timeout
wait_pid() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.05
	done
	fail "pid $1 still running after $2 s"
}
nothing_left() {
	sleep 0.2
	[ -z "$(ours)" ] || fail "processes left behind: $(ours | tr '\n' ' ')"
}

case_mesh() {
	local n=$1
	timeout 120 "$R" run --nodes "$n" --mesh-only >"$tmp/run.log" 2>&1
	st=$?
	cat "$tmp/run.log"
	[ $st -eq 0 ] || fail "rackvm run --nodes $n exited $st"
	grep -q "rackvm run: $n nodes, mesh healthy" "$tmp/run.log" || fail "no healthy summary"
	[ "$(grep -c 'health check passed' "$tmp/run.log")" -eq "$n" ] ||
		fail "not every node passed its health check"
	nothing_left
}

# Nanoseconds now: bash's own clock (busybox date, as in a QEMU host, has no %N).
now_ns() {
	local t=${EPOCHREALTIME/./}
	echo $((10#$t * 1000))
}

case_kill() {
	# a real VM: vCPU 1 of the guest runs on the node that dies
	"$R" run --nodes 3 --vcpus 3 --mem 64M --test coherence --seconds 60 \
		>"$tmp/run.log" 2>&1 &
	local sup=$! victim t0 t1 st hb limit
	wait_for "$tmp/run.log" "mesh connected: started" 60
	victim=$(pgrep -f "^$tmp/rackvm node .*--id 1( |$)")
	[ -n "$victim" ] || fail "node 1 not found"
	t0=$(now_ns)
	kill -KILL "$victim"
	wait_pid $sup 10
	st=$?
	t1=$(now_ns)
	cat "$tmp/run.log"
	[ $st -ne 0 ] || fail "rackvm run exited 0 after a node was killed"
	grep -q "node 1 (.*/$victim) stopped answering" "$tmp/run.log" ||
		fail "the report does not name node 1 (pid $victim)"
	[ "$(grep -c 'stopped by the coordinator: node 1' "$tmp/run.log")" -eq 2 ] ||
		fail "not every other node was stopped"
	# two heartbeats to notice (400 ms; 4 s in a QEMU TCG host), the
	# stopped nodes' own exit (up to the run's grace, about four more
	# heartbeats), plus reaping
	hb=$(sed -n 's/.*stopped answering (.*heartbeat \([0-9]*\) ms).*/\1/p' "$tmp/run.log" | head -n 1)
	limit=$((6 * ${hb:-200} + 2600))
	echo "all stopped $(((t1 - t0) / 1000000)) ms after the kill (limit $limit ms)"
	[ $(((t1 - t0) / 1000000)) -lt "$limit" ] || fail "took more than $limit ms to stop"
	nothing_left
}

case_unreachable() {
	local port t0 t1 st
	port=$(free_port)
	t0=$(date +%s)
	"$R" node --coordinator "tcp://127.0.0.1:$port" >"$tmp/out.log" 2>"$tmp/err.log"
	st=$?
	t1=$(date +%s)
	cat "$tmp/err.log"
	[ $st -eq 4 ] || fail "exit $st, want 4"
	[ $((t1 - t0)) -le 10 ] || fail "took $((t1 - t0)) s"
	grep -q "coordinator tcp://127.0.0.1:$port did not answer" "$tmp/err.log" ||
		fail "unclear error"
	[ "$(wc -l <"$tmp/err.log")" -eq 1 ] || fail "want exactly one error line"
}

# start_coord ARGS...: a coordinator on a free loopback port in the background
start_coord() {
	PORT=$(free_port)
	EP=tcp://127.0.0.1:$PORT
	"$R" coordinator --listen "$EP" "$@" >"$tmp/coord.log" 2>&1 &
	COORD=$!
	wait_for "$tmp/coord.log" "listening on" 10
}

case_version() {
	local st
	start_coord --nodes 1
	"$R" node --coordinator "$EP" --protocol-version 99 >"$tmp/node.log" 2>&1
	st=$?
	cat "$tmp/node.log"
	[ $st -ne 0 ] || fail "a node with protocol version 99 exited 0"
	grep -q "refused this node: protocol version 99, this rackvm speaks 1" \
		"$tmp/node.log" || fail "unclear error on the node"
	grep -q "refused unknown peer .*protocol version 99" "$tmp/coord.log" ||
		fail "the coordinator did not log the refusal"
	kill -TERM $COORD
	wait_pid $COORD 5
	nothing_left
}

case_malformed() {
	local n0 n1 st
	start_coord --nodes 2
	"$helper" "$EP" garbage >"$tmp/raw.log" 2>&1 || fail "no answer to garbage"
	cat "$tmp/raw.log"
	grep -q "malformed control message" "$tmp/raw.log" || fail "sender not told"
	"$helper" "$EP" multipart 300 >>"$tmp/raw.log" 2>&1
	"$helper" "$EP" empty >>"$tmp/raw.log" 2>&1 || fail "no answer to empty"
	"$R" node --coordinator "$EP" >"$tmp/n0.log" 2>&1 &
	n0=$!
	"$R" node --coordinator "$EP" >"$tmp/n1.log" 2>&1 &
	n1=$!
	wait_pid $COORD 60 || fail "coordinator did not survive the garbage"
	wait_pid $n0 5 || fail "node exit $?"
	wait_pid $n1 5 || fail "node exit $?"
	cat "$tmp/coord.log"
	grep -q "dropped a malformed message from unknown peer" "$tmp/coord.log" ||
		fail "garbage not logged"
	grep -q "bad frame layout" "$tmp/coord.log" || fail "multipart not logged"
	nothing_left
}

case_overfull() {
	local n0 n1 st
	start_coord --nodes 2 --seconds 3
	"$R" node --coordinator "$EP" >"$tmp/n0.log" 2>&1 &
	n0=$!
	"$R" node --coordinator "$EP" >"$tmp/n1.log" 2>&1 &
	n1=$!
	wait_for "$tmp/coord.log" "mesh connected: started" 60
	"$R" node --coordinator "$EP" >"$tmp/n2.log" 2>&1
	st=$?
	cat "$tmp/n2.log"
	[ $st -eq 4 ] || fail "the third node exited $st, want 4"
	grep -q "cluster is full: all 2 nodes already joined" "$tmp/n2.log" ||
		fail "unclear error"
	wait_pid $COORD 30 || fail "coordinator exit $?"
	wait_pid $n0 5 || fail "node exit $?"
	wait_pid $n1 5 || fail "node exit $?"
	grep -q "refused .*: the cluster already has its 2 nodes" "$tmp/coord.log" ||
		fail "refusal not logged"
	nothing_left
}

case_jointimeout() {
	local n0 st
	start_coord --nodes 2 --join-timeout-ms 2000
	"$R" node --coordinator "$EP" >"$tmp/n0.log" 2>&1 &
	n0=$!
	wait_pid $COORD 30
	st=$?
	cat "$tmp/coord.log"
	[ $st -eq 4 ] || fail "coordinator exit $st, want 4"
	grep -q "only 1 of 2 nodes joined within 2.0 s" "$tmp/coord.log" || fail "unclear"
	wait_pid $n0 5 && fail "the node exited 0"
	grep -q "stopped by the coordinator: only 1 of 2" "$tmp/n0.log" || fail "node not told"
	nothing_left
}

case_netns() {
	local tag=$$ a b ip_a ip_b port c n0 n1
	NS_A=rackvm-test-$tag-a NS_B=rackvm-test-$tag-b
	a=rvt${tag}a b=rvt${tag}b
	ip_a=10.$((tag % 200 + 20)).$((RANDOM % 250 + 1)).1
	ip_b=${ip_a%.1}.2
	if ! ip netns add "$NS_A" 2>/dev/null || ! ip netns add "$NS_B" 2>/dev/null; then
		echo "SKIP: cannot create network namespaces here (needs root and iproute2)"
		exit 77
	fi
	ip link add "$a" netns "$NS_A" type veth peer name "$b" netns "$NS_B" ||
		fail "cannot create the veth pair"
	ip -n "$NS_A" addr add "$ip_a/24" dev "$a" && ip -n "$NS_B" addr add "$ip_b/24" dev "$b" &&
		ip -n "$NS_A" link set "$a" up && ip -n "$NS_B" link set "$b" up &&
		ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up ||
		fail "cannot configure the veth pair"
	port=$(free_port)
	ip netns exec "$NS_A" "$R" coordinator --listen "tcp://$ip_a:$port" --nodes 2 \
		>"$tmp/coord.log" 2>&1 &
	c=$!
	wait_for "$tmp/coord.log" "listening on" 10
	ip netns exec "$NS_A" "$R" node --coordinator "tcp://$ip_a:$port" --iface "$ip_a" \
		--id 0 >"$tmp/n0.log" 2>&1 &
	n0=$!
	ip netns exec "$NS_B" "$R" node --coordinator "tcp://$ip_a:$port" --iface "$ip_b" \
		--id 1 >"$tmp/n1.log" 2>&1 &
	n1=$!
	wait_pid $c 60 || fail "coordinator exit $?"
	wait_pid $n0 5 || fail "node 0 exit $?"
	wait_pid $n1 5 || fail "node 1 exit $?"
	cat "$tmp/coord.log" "$tmp/n0.log" "$tmp/n1.log"
	grep -q "2 nodes, mesh healthy" "$tmp/coord.log" || fail "no healthy summary"
	nothing_left
}

# The namespace mode (rackvm run --netns) needs namespaces: probe, else skip.
netns_or_skip() {
	local probe=rackvm-probe-$$
	if ! ip netns add "$probe" 2>/dev/null; then
		echo "SKIP: cannot create network namespaces here (needs root and iproute2)"
		exit 77
	fi
	ip netns del "$probe"
	LINKS_BEFORE=$(ip -o link | wc -l)
}
# netns_node K: node K's pid, after checking it has its own namespace
netns_node() {
	local pid
	pid=$(pgrep -f "^$tmp/rackvm node .*--id $1( |$)")
	[ -n "$pid" ] || fail "node $1 not found"
	[ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/self/ns/net)" ] ||
		fail "node $1 runs in this test's network namespace"
	echo "$pid"
}
# nothing_left_netns SUPERVISOR-PID NS-INODE...: no process, name, link or namespace
nothing_left_netns() {
	local sup=$1 ino
	shift
	nothing_left
	! ip netns list | grep -q "rackvm-run-$sup-" || fail "namespaces left: $(ip netns list)"
	[ "$(ip -o link | wc -l)" -eq "$LINKS_BEFORE" ] || fail "links left: $(ip -o link)"
	sleep 0.3
	# a namespace lives while a process, a mount or an fd holds it (fds
	# opened through /proc/PID/ns; the supervisor's are gone with it)
	for ino in "$@"; do
		! timeout 30 lsns -t net -n -o NS | grep -qw "$ino" &&
			! grep -q "net:\[$ino\]" /proc/self/mountinfo &&
			[ -z "$(timeout 30 find /proc/[0-9]*/fd -lname "net:\[$ino\]" 2>/dev/null)" ] ||
			fail "namespace $ino is still held"
	done
}

case_runnetns() {
	local sup st n1 ino0 ino1 args=("$@") rate="" delay="" ms
	netns_or_skip
	while [ $# -gt 0 ]; do
		case $1 in --link-rate) rate=$2 ;; --link-delay-us) delay=$2 ;; esac
		shift
	done
	# a long heartbeat: this test is about the namespaces, not a loaded box
	"$R" run --nodes 2 --netns --heartbeat-ms 3000 "${args[@]}" >"$tmp/run.log" 2>&1 &
	sup=$!
	wait_for "$tmp/run.log" "mesh connected: started" 60
	n1=$(netns_node 1)
	ino1=$(readlink /proc/"$n1"/ns/net | tr -dc 0-9)
	ino0=$(readlink /proc/"$(netns_node 0)"/ns/net | tr -dc 0-9)
	[ "$ino0" != "$ino1" ] || fail "nodes 0 and 1 share a namespace"
	nsenter -t "$n1" -n ip -4 -o addr show dev rvnet | tee "$tmp/addr.log"
	grep -q "inet 10.78.0.11/24" "$tmp/addr.log" || fail "node 1 has no 10.78.0.11"
	if [ -n "$rate" ]; then
		nsenter -t "$n1" -n tc qdisc show dev rvnet | tee "$tmp/tc.log"
		grep -Eiq "qdisc tbf .*rate $rate" "$tmp/tc.log" || fail "no tbf $rate on rvnet"
	fi
	wait_pid $sup 150
	st=$?
	cat "$tmp/run.log"
	[ $st -eq 0 ] || fail "rackvm run --netns exited $st"
	grep -Eq "rackvm run: 2 nodes, (mesh healthy|the guest passed)" "$tmp/run.log" ||
		fail "no passing summary"
	grep -q "joined as node 1 of 2 (tcp data plane on 10.78.0.11" "$tmp/run.log" ||
		fail "node 1's data plane is not on its veth"
	if [ -n "$delay" ]; then
		grep -q "+$delay us per message received" "$tmp/run.log" || fail "no delay"
		# a health check waits at least for one ping and its echo
		ms=$(sed -n 's/.*node 1: mesh of 2 connected, health check passed (.*rounds, \([0-9]*\)\..*/\1/p' \
			"$tmp/run.log")
		echo "node 1's health check: $ms ms with $delay us per message"
		[ -n "$ms" ] && [ "$ms" -ge $((2 * delay / 1000)) ] ||
			fail "the health check did not wait for the delay"
	fi
	nothing_left_netns "$sup" "$ino0" "$ino1"
}

# case_netnsint SIG: the supervisor gets SIG mid-run (INT: it tears down;
# KILL: its children die with it and the kernel drops the namespaces)
case_netnsint() {
	local sig=$1 sup st ino
	netns_or_skip
	"$R" run --nodes 2 --netns --mesh-only --seconds 60 --heartbeat-ms 1000 \
		>"$tmp/run.log" 2>&1 &
	sup=$!
	wait_for "$tmp/run.log" "mesh connected: started" 60
	ino=$(readlink /proc/"$(netns_node 1)"/ns/net | tr -dc 0-9)
	kill -"$sig" $sup
	wait_pid $sup 10
	st=$?
	cat "$tmp/run.log"
	[ $st -ne 0 ] || fail "exit 0 after SIG$sig"
	if [ "$sig" = INT ]; then
		grep -q "FAILED (interrupted)" "$tmp/run.log" || fail "not reported as interrupted"
	fi
	sleep 0.5 # PR_SET_PDEATHSIG: the children go right after the supervisor
	nothing_left_netns "$sup" "$ino"
}

# finish_run PID STATUS REGEX WHAT: rackvm run (PID, output in run.log) ends
# within 60 s with STATUS and said REGEX (else "WHAT"); then nothing is left
# of its namespaces rackvm-run-SUPPID-*.
finish_run() {
	local st
	wait_pid "$1" 60
	st=$?
	cat "$tmp/run.log"
	[ $st -eq "$2" ] || fail "exit $st, want $2"
	grep -q -- "$3" "$tmp/run.log" || fail "$4"
	nothing_left_netns "$(sed -n 's/.*rackvm-run-\([0-9]*\)-.*/\1/p' "$tmp/run.log" | head -n 1)"
}

# A set-up step fails (a tc that always fails): exit 3, the failing command
# named, everything made so far removed.
case_netnsfail() {
	netns_or_skip
	mkdir "$tmp/bin"
	printf '#!/bin/sh\necho "tc: simulated failure" >&2\nexit 2\n' >"$tmp/bin/tc"
	chmod +x "$tmp/bin/tc"
	PATH=$tmp/bin:$PATH "$R" run --nodes 2 --netns --mesh-only --link-rate 10mbit \
		>"$tmp/run.log" 2>&1 &
	finish_run $! 3 "tc -n rackvm-run-[0-9]*-n0 qdisc add dev rvnet root tbf rate 10000000bit.*failed (status 2): tc: simulated failure" \
		"the failing command is not named"
}

# A namespace left with the name this run wants (a supervisor killed during
# set-up, whose pid came round again) is removed and named.
case_netnsleftover() {
	netns_or_skip
	bash -c 'ip netns add rackvm-run-$$-n1 && exec "$0" run --nodes 2 --netns \
		--mesh-only --heartbeat-ms 1000' "$R" >"$tmp/run.log" 2>&1 &
	finish_run $! 0 "removed network namespace rackvm-run-[0-9]*-n1, left by an earlier run" \
		"the leftover is not named"
}

case "$case" in
mesh) case_mesh "${3:-2}" ;;
runnetns) shift 2; case_runnetns "$@" ;;
netnsint) case_netnsint "${3:-INT}" ;;
netnsfail | netnsleftover) "case_$case" ;;
kill | unreachable | version | malformed | overfull | jointimeout | netns) "case_$case" ;;
*)
	echo "cluster_test.sh: unknown case $case"
	exit 2
	;;
esac
echo "PASS ($case)"
