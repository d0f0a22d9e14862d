#!/bin/sh
# Guest job: run the named guest tests, each between two pin-balance reads.
# Usage (inside the guest): run.sh BUILD_DIR TEST...
# A TEST is a script path relative to tests/ (e.g. rxe/pingpong.sh). A script
# exits 0 (pass), 77 (skip; it prints why) or anything else (fail). A test
# may also report sub-results by printing lines "ok - NAME" / "not ok - NAME"
# / "skip - NAME: why"; those are counted instead of its exit status.
# Writes $LAB_OUT/guest-results.txt: one "PASS|FAIL|SKIP name" line each.
tests=$(cd "$(dirname "$0")/.." && pwd)
build=$1
shift
export LAB_BUILD=$build LAB_TESTS=$tests LAB_TREE=${build##*/}
res=$LAB_OUT/guest-results.txt
: >"$res"
pass=0 fail=0 skip=0
for t in "$@"; do
	echo "=== $t"
	"$build/pinbal" save /tmp/pinbal.$$ || echo "FAIL pinbal-save" >>"$res"
	out=/tmp/out.$$
	sh "$tests/$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	if grep -qE '^(ok|not ok|skip) - ' "$out"; then
		grep -E '^(ok|not ok|skip) - ' "$out" | while IFS= read -r l; do
			case "$l" in
			"ok - "*) echo "PASS $t:${l#ok - }" ;;
			"not ok - "*) echo "FAIL $t:${l#not ok - }" ;;
			"skip - "*) echo "SKIP $t:${l#skip - }" ;;
			esac
		done >>"$res"
		[ $rc = 0 ] || [ $rc = 77 ] || echo "FAIL $t: exit $rc" >>"$res"
	elif [ $rc = 0 ]; then
		echo "PASS $t" >>"$res"
	elif [ $rc = 77 ]; then
		echo "SKIP $t: $(tail -n 1 "$out")" >>"$res"
	else
		echo "FAIL $t (exit $rc)" >>"$res"
	fi
	if "$build/pinbal" check /tmp/pinbal.$$; then
		echo "PASS $t:pin-balance" >>"$res"
	else
		echo "FAIL $t:pin-balance" >>"$res"
	fi
done
if dmesg | grep -qE 'WARNING:|BUG:|Oops|Call Trace'; then
	echo "FAIL kernel-log: WARN/BUG/Oops in dmesg" >>"$res"
	dmesg | grep -E -A20 'WARNING:|BUG:|Oops' | head -60
else
	echo "PASS kernel-log: no WARN/BUG/Oops" >>"$res"
fi
cat "$res"
grep -q '^FAIL' "$res" && exit 1
exit 0
