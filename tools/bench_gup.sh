#!/bin/sh
# bench_gup.sh: pin/unpin latency of the GUP APIs through the mm selftest
# gup_test (BUILD_DIR/mm/gup_test, built from the tree being measured; it
# drives CONFIG_GUP_TEST's /sys/kernel/debug/gup_test), by memory kind.
#
# Usage (inside the guest, as root):
#   bench_gup.sh BUILD_DIR [-k KINDS] [-s SIZE] [-n RUNS] [-w WARMUP]
#                [-p PAGES]
#   KINDS  comma list of thp,4k,4k-scattered,huge2m,huge1g (default all,
#          in that order). 4k-scattered is 4k on pages freed just before
#          (tools/bench/scatter.py before each gup_test run), about one PFN
#          run a page, as on a machine that has run for a while; 4k may get
#          the long runs of a freshly booted guest's free memory.
#   SIZE   bytes per pin, with an M or G suffix (default 256M; huge1g
#          rounds it up to a multiple of 1G)
#   RUNS, WARMUP  figures kept and discarded per op (default 20, 3)
#   PAGES  gup_test -n (default 512): the output of one GUP call, in
#          entries: PAGES page pointers for -a, so PAGES pages a call; PAGES
#          u64 words (one 4 KiB buffer at 512) for -v/-V, each call asking
#          for the rest of the range, as ib_umem and VFIO type1 call
#          pin_user_pages_vec(). 4K pages take a call per PTE table either
#          way; huge leaves take one -v call per buffer's worth of leaves.
# Output on stdout, as bench_reg_mr's: kind,size,op,n,min_us,median_us,max_us
#
# Ops, each a gup_test benchmark command (one ioctl pins SIZE bytes PAGES
# pages a call, then unpins them all; gup_test prints "get:N put:N us",
# or "ns" with -N):
#   gup_pin_get/put       the best pin API this tree offers the caller:
#                         -a pin_user_pages_fast() on stock, -v
#                         pin_user_pages_vec() (PIN_VEC_BENCHMARK) on patched
#   gup_pages_get/put     -a pin_user_pages_fast() into a page array on both
#                         trees: the path every existing caller uses
#   gup_longterm_get/put  -a -F 0x100: pin_user_pages_fast(FOLL_LONGTERM)
#                         on stock, -V pin_user_pages_vec(FOLL_LONGTERM) on
#                         patched: both GUP-fast first, as ib_umem pins
#                         (-L would time the slow walk only, under mmap_lock)
#   gup_pages_longterm_get/put  -a -F 0x100 on both trees: the page array
#                         path with FOLL_LONGTERM, as existing callers use it
# The tree is told by whether gup_test accepts -v, not by its name.
#
# gup_test reports whole microseconds (truncated) per ioctl; the patched
# one's vec commands (-v, -V) are run with -N (GUP_TEST_FLAG_NSEC) and report
# nanoseconds, printed here as fractional µs: a packed pin of a GiB of 1G
# pages takes well under 1 µs. The page array commands (-a) are read in µs
# on both trees, so that those stay like for like. So that every figure is
# at least 100 µs, an op whose readings come under 100 µs is run again with
# K consecutive ioctls per figure (K chosen from the first pass): a figure
# is then the K ioctls' total divided by K, the mean per ioctl, and n counts
# figures, not ioctls. The first WARMUP figures are dropped.
#
# Memory kinds (gup_test maps and write-faults SIZE bytes itself):
#   4k      -T  private anonymous (/dev/zero), MADV_NOHUGEPAGE
#   thp     -t  the same, MADV_HUGEPAGE
#   huge2m  -H  MAP_HUGETLB of the default huge page size, 2M in the lab
#               (as run_vmtests.sh's "-H -m 256")
#   huge1g  -f /dev/hugepages1G/FILE: MAP_PRIVATE of a file on the 1G
#               hugetlbfs mount (gup_test's -H cannot pick a page size)
# The backing is checked from the outside, as gup_test cannot be asked:
# across each gup_test run (one mapping, faulted in once), thp must fault in
# exactly SIZE/2M THPs and fall back never (vmstat thp_fault_alloc,
# thp_fault_fallback), 4k must fault in none; the hugetlb kinds cannot be
# backed by anything else (mmap fails without pool pages), and the pool must
# have enough free pages first.
# Each gup_test run sits between two exact pin-balance reads (BUILD_DIR/
# pinbal). Exit status 1 if any op failed, was truncated, or left pins.
# Writes only under /tmp (a write to the 9p results share takes pins).
build=${1:?usage: bench_gup.sh BUILD_DIR [-k KINDS] [-s SIZE] [-n RUNS] [-w WARMUP] [-p PAGES]}
shift
gup=$build/mm/gup_test
kinds=thp,4k,4k-scattered,huge2m,huge1g size=256M runs=20 warmup=3 pages=512
while getopts k:s:n:w:p: opt; do
	case $opt in
	k) kinds=$OPTARG ;;
	s) size=$OPTARG ;;
	n) runs=$OPTARG ;;
	w) warmup=$OPTARG ;;
	p) pages=$OPTARG ;;
	*) exit 2 ;;
	esac
done
case $size in
*G) size_mb=$((${size%G} * 1024)) ;;
*M) size_mb=${size%M} ;;
*) echo "bench_gup: SIZE must end in M or G: $size" >&2; exit 2 ;;
esac
tmp=/tmp/bench_gup.$$
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT

say() { echo "bench_gup: $*" >&2; }

# Which tree: the stock gup_test rejects -v before it looks any further;
# the patched one accepts it and stops at -h. Neither runs a benchmark.
"$gup" -v -h >"$tmp/probe" 2>&1
nsec=
if grep -q "option -- 'v'" "$tmp/probe"; then
	pin=-a longterm=-a,-F,0x100
	echo "# bench_gup: gup_test has no -v (stock): gup_pin = -a pin_user_pages_fast, gup_longterm = -a -F 0x100 pin_user_pages_fast(FOLL_LONGTERM)" >&2
elif grep -q "option -- 'h'" "$tmp/probe"; then
	pin=-v longterm=-V nsec=-N
	echo "# bench_gup: gup_test has -v (patched): gup_pin = -v pin_user_pages_vec, gup_longterm = -V pin_user_pages_vec(FOLL_LONGTERM); -N: times in ns" >&2
else
	say "cannot run $gup:"; cat "$tmp/probe" >&2
	exit 1
fi

vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
free_huge() { cat "/sys/kernel/mm/hugepages/hugepages-$1kB/free_hugepages" 2>/dev/null || echo 0; }

# shellcheck source=tools/bench/stats.sh
. "$(dirname "$0")/bench/stats.sh"

# unit_of CMD: -N if CMD's readings are asked for in ns (the patched tree's
# vec commands), else nothing.
unit_of() {
	case $1 in -v* | -V*) echo "$nsec" ;; esac
}

# figures K FILE: from gup_test's output, "get put" in µs per figure (the
# mean of K consecutive ioctls each), the first WARMUP figures dropped.
figures() {
	grep -o 'get:[0-9]* put:[0-9]* [un]s' "$2" | sed 's/get:\([0-9]*\) put:/\1 /' |
		awk -v k="$1" -v w="$warmup" '{ d = $3 == "ns" ? 1000 : 1; g += $1 / d; p += $2 / d }
			NR % k == 0 { if (NR / k > w) printf "%.3f %.3f\n", g / k, p / k; g = p = 0 }'
}

# thp_ok ALLOC FALLBACK: the THP faults of one gup_test run (one mapping,
# faulted in once) are those its kind must take.
thp_ok() {
	case $kind in
	thp) want=$((mb / 2)) ;;
	4k*) want=0 ;;
	*) return 0 ;;
	esac
	[ "$1" = "$want" ] && [ "$2" = 0 ] && return 0
	say "ABORT $label: $1 THP faults and $2 fallbacks, want $want and none"
	return 1
}

# run KIND_FLAGS CMD K: one gup_test run of (WARMUP + RUNS) * K ioctls into
# $tmp/out; false (and why on stderr) if it failed, was truncated, was not
# backed as its kind must be, or left pins outstanding.
run() {
	reps=$(((warmup + runs) * $3))
	if [ "$kind" = 4k-scattered ]; then
		# Exit 3, no ascending try: the figure stands, its layout unknown
		python3 "$(dirname "$0")/bench/scatter.py" "$mb" >>"$tmp/layout"
		case $? in
		0) ;;
		3) echo "(not confirmed)" >>"$tmp/layout" ;;
		*) say "ABORT $label: tools/bench/scatter.py failed"; return 1 ;;
		esac
	fi
	"$build/pinbal" save "$tmp/pins" || return 1
	a0=$(vmstat thp_fault_alloc) f0=$(vmstat thp_fault_fallback)
	unit=$(unit_of "$2")
	# $1 (KIND_FLAGS) is a list of options, $2 one gup_test command with
	# its words joined by commas
	# shellcheck disable=SC2086,SC2046
	"$gup" $1 $(echo "$2" | tr , ' ') $unit -m "$mb" -n "$pages" -r "$reps" >"$tmp/out" 2>&1
	rc=$?
	a1=$(vmstat thp_fault_alloc) f1=$(vmstat thp_fault_fallback)
	[ -z "$file" ] || rm -f "$file"
	if ! "$build/pinbal" check "$tmp/pins" >"$tmp/pinbal"; then
		say "ABORT $label: gup_test $1 $2 left pins: $(cat "$tmp/pinbal")"
		return 1
	fi
	got=$(grep -c 'get:[0-9]* put:[0-9]* [un]s' "$tmp/out")
	if [ $rc != 0 ] || [ "$got" != "$reps" ] || grep -q truncated "$tmp/out"; then
		say "ABORT $label: gup_test $1 $2 -m $mb -n $pages -r $reps: exit $rc, $got of $reps readings:"
		tail -n 5 "$tmp/out" >&2
		return 1
	fi
	thp_ok $((a1 - a0)) $((f1 - f0))
}

# op KIND_FLAGS NAME CMD: time one op of the current kind, print its two
# CSV lines.
op() {
	label="$kind $2"
	: >"$tmp/layout"
	run "$1" "$3" 1 || return 1
	figures 1 "$tmp/out" >"$tmp/fig"
	# The smaller of get and put decides K: every figure >= 100 µs.
	low=$(awk '{ print ($1 < $2 ? $1 : $2) }' "$tmp/fig" | sort -g | head -n 1)
	# Readings in whole µs may be 0: K at most 101 for those, 10001 for ns.
	floor=1
	[ -z "$(unit_of "$3")" ] || floor=0.01
	k=$(awk -v l="$low" -v f="$floor" 'BEGIN { print (l >= 100 ? 1 : int(100 / (l < f ? f : l)) + 1) }')
	if [ "$k" -gt 1 ]; then
		run "$1" "$3" "$k" || return 1
		figures "$k" "$tmp/out" >"$tmp/fig"
	fi
	small=$(awk '$1 * k < 100 || $2 * k < 100 { n++ } END { print n + 0 }' k="$k" "$tmp/fig")
	[ "$small" = 0 ] || echo "# bench_gup: $label: $small figure(s) under 100 µs with K=$k" >&2
	[ ! -s "$tmp/layout" ] ||
		echo "# bench_gup: $label: before each gup_test run, scatter.py freed mappings of $((mb * 256)) pages in these PFN runs (the last of each line mostly ascending, so gup_test's should be scattered; its own layout is not measured): $(tr '\n' ';' <"$tmp/layout")" >&2
	echo "$kind,$bytes,$2_get,$(cut -d' ' -f1 "$tmp/fig" | stats)"
	echo "$kind,$bytes,$2_put,$(cut -d' ' -f2 "$tmp/fig" | stats)"
	say "$label: ok ($3, $k ioctl(s) a figure)"
}

printf 'kind,size,op,n,min_us,median_us,max_us\n'
failed=0
for kind in $(echo "$kinds" | tr , ' '); do
	file='' mb=$size_mb
	case $kind in
	4k | 4k-scattered) flags=-T ;;
	thp) flags=-t ;;
	huge2m) flags=-H need=$((mb / 2)) pool=2048 ;;
	huge1g)
		mb=$(((mb + 1023) / 1024 * 1024))
		file=/dev/hugepages1G/bench_gup.$$
		flags="-f $file" need=$((mb / 1024)) pool=1048576 ;;
	*) say "unknown kind $kind"; exit 2 ;;
	esac
	bytes=$((mb * 1048576))
	case $kind in huge*)
		if [ "$(free_huge "$pool")" -lt "$need" ]; then
			say "ABORT $kind: needs $need free $pool kB hugetlb pages, $(free_huge "$pool") free"
			failed=$((failed + 4))
			continue
		fi ;;
	esac
	t0=$(date +%s)
	for o in "gup_pin $pin" "gup_pages -a" "gup_longterm $longterm" \
		"gup_pages_longterm -a,-F,0x100"; do
		# shellcheck disable=SC2086 # "NAME CMD"
		set -- $o
		if op "$flags" "$1" "$2" >"$tmp/csv"; then
			cat "$tmp/csv"
		else
			failed=$((failed + 1))
		fi
	done
	say "$kind: $(($(date +%s) - t0)) s"
done
[ $failed = 0 ] || say "$failed op(s) ABORTED"
[ $failed = 0 ]
