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

case_kill() {
	# a real VM: vCPU 1 of the guest runs on the node that dies
	"$R" run --nodes 3 --vcpus 3 --mem 64M --test coherence --seconds 60 \
		>"$tmp/run.log" 2>&1 &
	local sup=$! victim t0 t1 st
	wait_for "$tmp/run.log" "mesh connected: started" 60
	victim=$(pgrep -f "^$tmp/rackvm node .*--id 1( |$)")
	[ -n "$victim" ] || fail "node 1 not found"
	t0=$(date +%s%N)
	kill -KILL "$victim"
	wait_pid $sup 10
	st=$?
	t1=$(date +%s%N)
	cat "$tmp/run.log"
	[ $st -ne 0 ] || fail "rackvm run exited 0 after a node was killed"
	grep -q "node 1 (.*/$victim) stopped answering" "$tmp/run.log" ||
		fail "the report does not name node 1 (pid $victim)"
	[ "$(grep -c 'stopped by the coordinator: node 1' "$tmp/run.log")" -eq 2 ] ||
		fail "not every other node was stopped"
	# two heartbeats (400 ms) to notice, plus process exit and reaping
	echo "all stopped $(((t1 - t0) / 1000000)) ms after the kill"
	[ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "took more than 3 s to stop"
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

case "$case" in
mesh) case_mesh "${3:-2}" ;;
kill | unreachable | version | malformed | overfull | jointimeout | netns) "case_$case" ;;
*)
	echo "cluster_test.sh: unknown case $case"
	exit 2
	;;
esac
echo "PASS ($case)"
