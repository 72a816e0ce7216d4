#!/bin/sh
# expect.sh STATUS REGEX CMD [ARGS...]
# Runs CMD, echoes its output, and passes only when it exits with STATUS
# (a number, or "nonzero") and its combined output matches the extended
# regular expression REGEX (empty: no requirement). A death by signal
# (core dump, abort) always fails.
set -u
want=$1 regex=$2
shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" >"$out" 2>&1
st=$?
cat "$out"
if [ "$st" -gt 128 ]; then
	echo "expect.sh: killed by signal $((st - 128))" >&2
	exit 1
fi
if [ "$want" = nonzero ]; then
	[ "$st" -ne 0 ] || { echo "expect.sh: exit 0, wanted non-zero" >&2; exit 1; }
elif [ "$st" -ne "$want" ]; then
	echo "expect.sh: exit $st, wanted $want" >&2
	exit 1
fi
if [ -n "$regex" ] && ! grep -Eq -- "$regex" "$out"; then
	echo "expect.sh: output lacks /$regex/" >&2
	exit 1
fi
exit 0
