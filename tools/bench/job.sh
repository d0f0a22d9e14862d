#!/bin/sh
# Guest job for `make bench` (lab/bench.sh): one boot's measurements.
# Usage (inside the guest): job.sh BUILD_DIR GROUP [-- GROUP]...
# A GROUP is [BENCH] ARGS, run in the order given (each group maps its own
# memory, so groups can differ in kinds, sizes and runs):
#   reg_mr ARGS  BUILD_DIR/bench_reg_mr ARGS: ibv_reg_mr/dereg_mr on rxe0
#                (reg_mr is the default BENCH: a group that starts with an
#                option is a bench_reg_mr group)
#   gup ARGS     tools/bench_gup.sh BUILD_DIR ARGS: the tree's mm/gup_test
#   vfio ARGS    BUILD_DIR/bench_vfio -d BDF -g GROUP ARGS: VFIO type1 and
#                iommufd map/unmap through edu, bound to vfio-pci first by
#                tests/vfio/bind.sh
#   qemu ARGS    tools/bench/qemu_start.sh BUILD_DIR BDF ARGS: QEMU start-up
#                with edu passed through (edu bound as for vfio)
#   perftest     tools/bench/perftest.sh: perftest traffic over rxe0
# Leaves in $LAB_OUT: bench.csv (all groups' CSV lines under one header) and
# env.txt (what the numbers were taken on). Exit status 1 if a group failed
# or the kernel logged a WARN/BUG/Oops.
build=$1
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)

{
	echo "kernel: $(uname -r) $(cat /proc/sys/kernel/version)"
	echo "cmdline: $(cat /proc/cmdline)"
	echo "cpus: $(nproc)"
	echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled)" \
		"defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag)"
	grep -E '^(MemTotal|MemFree|HugePages_Total|Hugetlb):' /proc/meminfo
	grep -H . /sys/kernel/mm/hugepages/*/nr_hugepages
	echo "rxe0: $(rdma link show rxe0/1)"
} >"$LAB_OUT/env.txt" 2>&1
cat "$LAB_OUT/env.txt"

# Output goes to tmpfs while it runs: a write to the 9p results share
# (even tee's, of our progress lines) takes FOLL_PIN pins of its own and
# would upset the benchmarks' exact pin-balance checks.
csv=/tmp/bench.csv
rc=0
vfio_ids=
run_group() {
	bench=reg_mr
	case $1 in reg_mr | gup | vfio | qemu | perftest) bench=$1; shift ;; esac
	case $bench in
	reg_mr) "$build/bench_reg_mr" "$@" ;;
	gup) sh "$repo/tools/bench_gup.sh" "$build" "$@" ;;
	perftest) sh "$repo/tools/bench/perftest.sh" ;; # takes no arguments
	vfio | qemu)
		# Bound once, by the first vfio or qemu group.
		if [ -z "$vfio_ids" ]; then
			if ! vfio_ids=$(sh "$repo/tests/vfio/bind.sh"); then
				echo "$bench: ABORT: tests/vfio/bind.sh: $vfio_ids" >&2
				vfio_ids=
				return 1
			fi
			echo "vfio: edu $vfio_ids (BDF, IOMMU group) bound to vfio-pci" >&2
		fi
		# shellcheck disable=SC2086 # "BDF GROUP"
		set -- $vfio_ids "$@"
		bdf=$1 group=$2
		shift 2
		if [ "$bench" = vfio ]; then
			"$build/bench_vfio" -d "$bdf" -g "$group" "$@"
		else
			sh "$repo/tools/bench/qemu_start.sh" "$build" "$bdf" "$@"
		fi ;;
	esac >/tmp/group.csv 2>>/tmp/group.err
}
: >"$csv"
while [ $# -gt 0 ]; do
	group=
	for a in "$@"; do
		shift
		[ "$a" = -- ] && break
		group="$group $a"
	done
	: >/tmp/group.csv
	: >/tmp/group.err
	# shellcheck disable=SC2086 # a group is a list of options
	run_group $group || rc=1
	cat /tmp/group.err
	if [ -s "$csv" ]; then
		tail -n +2 /tmp/group.csv >>"$csv"
	else
		cat /tmp/group.csv >"$csv"
	fi
done
cp "$csv" "$LAB_OUT/bench.csv"
echo "bench: exit $rc, $(($(wc -l <"$csv") - 1)) CSV lines"
if dmesg | grep -qE 'WARNING:|BUG:|Oops|Call Trace'; then
	echo "kernel log: WARN/BUG/Oops:"
	dmesg | grep -E -A20 'WARNING:|BUG:|Oops' | head -60
	rc=1
fi
exit $rc
