#!/bin/bash
# check.sh {patched|stock}
#
# Every test layer, summed into one closing line "N passed, N failed":
#   host   userspace unit tests + fuzz of the format code (tests/host)
#   kunit  KUnit suites built into the test kernel, run at boot, parsed by
#          the tree's own tools/testing/kunit/kunit.py
#   guest  tests/ run inside the guest, each between pin-balance reads
#          (rxe, pyverbs against its expected set, mm GUP selftests)
# With "stock" it runs the guest layers on stock 7.3 and records what stock
# did under tests/expected/stock/ (`make check-stock`).
# The body is one { } block, read whole before it runs: editing this file
# while it runs cannot change (or break) the run in progress.
{
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tree=${1:-patched}
repo=$(cd "$here/.." && pwd)
results=$repo/build/results/$tree
rm -rf "$results"
mkdir -p "$results"
tally=$results/tally.txt
: >"$tally"

# layer NAME PASSED FAILED SKIPPED
layer() {
	echo "$1 $2 $3 $4" >>"$tally"
	lab_say check "$1: $2 passed, $3 failed, $4 skipped"
}

"$here/build-kernel.sh" "$tree" test || lab_die "the $tree test kernel did not build"
"$here/build-userspace.sh" "$tree" test || lab_die "userspace test programs did not build"
kernel=$LAB_CACHE/work/$tree/o-test/arch/x86/boot/bzImage
src=$LAB_CACHE/work/$tree

# --- host unit tests ------------------------------------------------------
# Unit tests (10 a build, 3 builds), the two fuzz targets (a bounded run
# each), and the mutation check (each one-bit mutant of the encoder must
# make the unit tests fail: one result a mutant).
if [ "$tree" != stock ] && [ -f "$repo/tests/host/Makefile" ]; then
	lab_say check "host unit tests, fuzzing, mutation check"
	make -s -C "$repo/tests/host" check >"$results/host.log" 2>&1
	rc=$?
	make -s -C "$repo/tests/host" mutation >>"$results/host.log" 2>&1
	mrc=$?
	grep -E '^(not ok|[0-9]+ passed|Done|mutation|fuzz)' "$results/host.log"
	p=$(awk '/^[0-9]+ passed, [0-9]+ failed$/ {s += $1} END {print s+0}' "$results/host.log")
	f=$(awk '/^[0-9]+ passed, [0-9]+ failed$/ {s += $3} END {print s+0}' "$results/host.log")
	p=$((p + $(grep -c '^Done' "$results/host.log") + $(grep -c '^mutation .*: caught' "$results/host.log")))
	f=$((f + $(grep -c '^mutation .*: SURVIVED' "$results/host.log")))
	[ $rc = 0 ] && [ $mrc = 0 ] || [ "$f" != 0 ] || f=1
	layer host "$p" "$f" 0
fi

# --- KUnit ------------------------------------------------------------------
# kunit_layer NAME RUN-GUEST-OPTIONS...: one boot that runs the built-in
# suites (kunit.filter_glob in --append narrows them), parsed into a layer.
kunit_layer() {
	local name=$1 rc sum p f s
	shift
	lab_say check "KUnit boot ($name)"
	"$here/run-guest.sh" --kernel "$kernel" --out "$results/$name" --kunit \
		--timeout 600 "$@" "$repo/tests/guest/noop.sh"
	rc=$?
	python3 "$src/tools/testing/kunit/kunit.py" parse "$results/$name/console.log" \
		>"$results/$name.log" 2>&1
	tail -n 5 "$results/$name.log"
	sum=$(grep -E 'Ran [0-9]+ tests' "$results/$name.log" | tail -1)
	if [ -z "$sum" ]; then
		if grep -q 'KTAP version' "$results/$name/console.log"; then
			layer "$name" 0 1 0
		else
			lab_say check "$name: no KUnit suite in this kernel"
			layer "$name" 0 0 0
		fi
		return
	fi
	p=$(grep -oE 'passed: [0-9]+' <<<"$sum" | grep -oE '[0-9]+' || echo 0)
	f=$(grep -oE 'failed: [0-9]+' <<<"$sum" | grep -oE '[0-9]+' || echo 0)
	s=$(grep -oE 'skipped: [0-9]+' <<<"$sum" | grep -oE '[0-9]+' || echo 0)
	[ $rc = 0 ] || f=$((f + 1))
	layer "$name" "${p:-0}" "${f:-0}" "${s:-0}"
}
kunit_layer kunit --mem 4G --huge2m 64 --huge1g 1
# FOLL_LONGTERM migration out of ZONE_MOVABLE: a boot with half the memory
# in ZONE_MOVABLE, running only the case that needs it (which the boot
# above skips, saying why).
if [ "$tree" != stock ]; then
	kunit_layer kunit-movable --mem 2G --append movablecore=50% \
		--append kunit.filter_glob=gup_vec.gvk_test_longterm_movable
fi

# --- guest tests -------------------------------------------------------------
# perftest's figures (tests/rxe/perftest.sh), beside those `make
# check-stock` recorded for stock 7.3 in tests/expected/stock/perftest.txt.
perftest_figures() {
	local got=$results/rxe/perftest.txt want=$repo/tests/expected/stock/perftest.txt
	[ -s "$got" ] || return 0
	if [ "$tree" = stock ]; then
		cp "$got" "$want"
		return 0
	fi
	lab_say check "perftest on rxe0 (QEMU TCG, not hardware; one wall-time run each, noisy):"
	lab_say check "  stock is what make check-stock recorded (tests/expected/stock), on another day:"
	lab_say check "  host load moves these figures 2-5x; make bench compares both trees in icount"
	awk 'FILENAME == ARGV[1] { stock[$1 " " $2] = $3; next }
	     $2 != "bytes" { printf "    %-16s %-13s stock %9s  patched %9s\n", $1, $2,
			     ($1 " " $2) in stock ? stock[$1 " " $2] : "-", $3 }' \
		"$([ -f "$want" ] && echo "$want" || echo /dev/null)" "$got"
}

guest_layer() { # NAME MEM H2M H1G TIMEOUT [--RUN-GUEST-OPTION VALUE]... TESTS...
	local name=$1 mem=$2 h2m=$3 h1g=$4 to=$5 opts=()
	shift 5
	while [ "${1#--}" != "$1" ]; do opts+=("$1" "$2"); shift 2; done
	lab_say check "guest: $name ($*)"
	"$here/run-guest.sh" --kernel "$kernel" --out "$results/$name" --mem "$mem" \
		--huge2m "$h2m" --huge1g "$h1g" --timeout "$to" "${opts[@]}" \
		"$repo/tests/guest/run.sh" "$repo/build/$tree" "$@" >"$results/$name.log" 2>&1
	local rc=$?
	local r=$results/$name/guest-results.txt
	[ -f "$r" ] || { tail -30 "$results/$name.log"; layer "$name" 0 1 0; return; }
	grep -E '^(FAIL|SKIP)' "$r" | sed 's/^/    /'
	local p f s
	p=$(grep -c '^PASS' "$r") f=$(grep -c '^FAIL' "$r") s=$(grep -c '^SKIP' "$r")
	[ $rc = 0 ] || [ "$f" != 0 ] || f=1
	layer "$name" "$p" "$f" "$s"
	if [ "$tree" = stock ]; then
		mkdir -p "$repo/tests/expected/stock"
		cp "$r" "$repo/tests/expected/stock/$name.txt"
	fi
}
guest_layer rxe 4G 300 1 900 rxe/link.sh rxe/pingpong.sh rxe/mr.sh rxe/perftest.sh
perftest_figures
guest_layer vfio 4G 300 1 600 --edu 2 vfio/run.sh vfio/qemu_passthrough.sh
guest_layer pyverbs 4G 128 1 600 pyverbs/run.sh
# Two 1 GiB hugetlb pages, so that gup_longterm runs its 1G cases too (it
# reserves two): 5G. cow leaves its 1G cases out (tests/mm/run.sh): with
# them the layer took 12-31 min and ran out of its 30 (2026-12-07).
guest_layer mm 5G 128 2 1800 mm/run.sh

# --- total -------------------------------------------------------------------
P=$(awk '{s+=$2} END {print s+0}' "$tally")
F=$(awk '{s+=$3} END {print s+0}' "$tally")
S=$(awk '{s+=$4} END {print s+0}' "$tally")
lab_say check "done ($tree); layers:"
column -t "$tally" | sed 's/^/    /'
if ls "$results"/*/boot-retries.txt >/dev/null 2>&1; then
	lab_say check "guest boots retried (died before their job started; consoles kept):"
	cat "$results"/*/boot-retries.txt | sed 's/^/    /'
fi
echo "$P passed, $F failed, $S skipped"
[ "$F" = 0 ]
exit
}
