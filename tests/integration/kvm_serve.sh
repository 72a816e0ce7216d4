#!/bin/sh
# kvm_serve.sh SPOOL
#
# Runs inside the QEMU host that kvm_host.sh boots (SPOOL is on a 9p share,
# at the same path as on the box). Serves kvm_exec.sh: each SPOOL/ID.job is a
# shell script; it runs, one at a time, with its output in SPOOL/ID.out and
# then its exit status in SPOOL/ID.status. SPOOL/ID.cancel (its kvm_exec.sh
# was ended: a ctest time-out) kills the job's process group at once, so the
# next job does not wait behind it. Stops when SPOOL/stop appears.
spool=$1
job_limit=1500 # seconds; ctest gives a test less, this only frees the host

echo "$$" >"$spool/ready.tmp" && mv "$spool/ready.tmp" "$spool/ready"
while [ ! -e "$spool/stop" ]; do
	for job in "$spool"/*.job; do
		[ -e "$job" ] || continue
		id=${job%.job}
		mv "$job" "$id.run" || continue
		setsid sh "$id.run" >"$id.out" 2>&1 </dev/null &
		pid=$! t=0
		while kill -0 "$pid" 2>/dev/null; do
			if [ -e "$id.cancel" ] || [ "$t" -gt $((job_limit * 5)) ]; then
				kill -KILL -- "-$pid" 2>/dev/null
				break
			fi
			t=$((t + 1))
			sleep 0.2
		done
		wait "$pid"
		echo $? >"$id.st" && mv "$id.st" "$id.status"
	done
	sleep 0.1
done
rm -f "$spool/ready"
