#!/bin/bash
# bench.sh: `make bench`, stock against patched on this machine in one run.
#
# 1. Builds the stock and patched `bench` kernels through build-kernel.sh
#    (which prepares each tree and builds under the build lock: one build at
#    a time), and the userspace programs of both trees.
# 2. Boots stock, patched, stock, patched (A B A B) in each mode:
#      wall    MTTCG, 2 vCPUs: the guest clock is host wall time
#      icount  1 vCPU, -icount shift=0: 1 guest µs = 1000 guest instructions
#    Each boot runs tools/bench/job.sh, which runs, by memory kind and size,
#    after verifying the backing and with exact pin-balance checks:
#      bench_reg_mr  ibv_reg_mr / ibv_dereg_mr on rxe0, bytes checked by
#                    RDMA through every MR
#      bench_gup.sh  the tree's mm/gup_test: the best pin API for the caller
#                    (pin_user_pages_fast on stock, pin_user_pages_vec on
#                    patched), the page-array path, and FOLL_LONGTERM pins
#      bench_vfio    VFIO type1 MAP_DMA / UNMAP_DMA, then iommufd IOAS_MAP /
#                    IOAS_UNMAP (not converted by the series: a reference),
#                    with the edu device attached and a DMA check per cell
#      qemu_start.sh QEMU start-up with edu passed through (type1 maps all
#                    of its RAM), and the time spent in type1 within it
#      perftest.sh   perftest over rxe0 (icount boots only)
#    A wall-time boot holds the build lock, so no kernel build shares the two
#    cores with it; icount boots do not need to.
# 3. lab/bench-report.py merges the boots into build/bench/bench.{csv,md}
#    and bench.png. When the patched tree equals stock (empty series) the run
#    is A/A and the report says its ratios are the noise floor.
#
# Environment (default):
#   BENCH_MODES   "wall icount"
#   BENCH_ROUNDS  2             (A B pairs per mode)
#   BENCH_ARGS_WALL, BENCH_ARGS_ICOUNT  job.sh arguments: argument groups
#                 separated by "--", each for bench_reg_mr or, after the
#                 word gup or vfio, for bench_gup.sh or bench_vfio (default:
#                 matrix below)
#   BENCH_MEM 4G, BENCH_HUGE2M 520, BENCH_HUGE1G 1: guest memory and the
#                 hugetlb pools the 1 GiB cells need (qemu_start.sh's 1 GiB
#                 of guest RAM takes 512 of the 2M pages)
#   BENCH_TIMEOUT 1800          seconds per boot
#   BENCH_MEM_REPORT 1          0 leaves out the memory boots (mem.sh)
# Exit status: 0 if every boot ran every cell.
# The body is one { } block, read whole before it runs: editing this file
# while it runs cannot change (or break) the run in progress.
{
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${LAB_CACHE:?}"
repo=$(cd "$here/.." && pwd)
modes=${BENCH_MODES:-wall icount}
rounds=${BENCH_ROUNDS:-2}
mem=${BENCH_MEM:-4G} h2m=${BENCH_HUGE2M:-520} h1g=${BENCH_HUGE1G:-1}
timeout=${BENCH_TIMEOUT:-1800}
out=$repo/build/bench
runs=$out/runs
lock=$LAB_CACHE/build.lock

# The default matrix, RUNS timed after WARMUP per cell: ibv_reg_mr with
# huge-page kinds up to 1 GiB, 4K kinds (slow to fault in under TCG) up to
# 512 MiB, THP first, while free memory is least fragmented, and 4K kinds
# faulted in so that no two neighbouring pages are contiguous (one extent a
# page, as in a long-running system) up to 16 MiB; then gup_test
# and VFIO at their programs' defaults: gup 256 MiB (1 GiB for huge1g) of
# thp,4k,4k-scattered,huge2m,huge1g, 512 pages a call; VFIO 4K,2M,64M,
# 512M (and 1G for huge1g) of thp,4k,huge2m,memfd2m,huge1g. Then, in both
# modes, QEMU start-up with edu passed through and 1 GiB of 2M hugetlb RAM,
# 3 runs after 1; in icount boots only, perftest traffic over rxe0 (one
# run each: the instruction count of a run barely moves, its wall time
# does).
matrix() { # RUNS WARMUP
	local sizes=4K,64K,1M,16M,256M,512M
	echo "-k thp,huge2m,memfd2m,huge1g -s $sizes,1G -n $1 -w $2" \
		"-- -k 4k,memfd -s $sizes -n $1 -w $2" \
		"-- -k 4k-scattered,memfd-scattered -s 4K,64K,1M,16M -n $1 -w $2" \
		"-- gup -n $1 -w $2 -- vfio -n $1 -w $2"
}

# Wall time is noisy: more runs. Instruction counts barely move: fewer, as
# an icount guest runs several times slower than an MTTCG one.
mode_args() { # MODE
	case $1 in
	wall) echo "${BENCH_ARGS_WALL:-$(matrix 15 3) -- qemu -n 3 -w 1}" ;;
	icount) echo "${BENCH_ARGS_ICOUNT:-$(matrix 5 1) -- qemu -n 3 -w 1 -- perftest}" ;;
	*) lab_die "unknown mode $1" ;;
	esac
}

build_tree() { # TREE
	"$here/build-kernel.sh" "$1" bench || lab_die "the $1 bench kernel did not build"
	"$here/build-userspace.sh" "$1" bench || lab_die "$1 userspace did not build"
}

# Files in which the patched tree differs from stock: of the files the series
# touches (prepare-tree.sh lists them), those whose content is not stock's.
# None: an A/A run. Under the build lock, so no build prepares a tree
# meanwhile. Fails if there is no list.
tree_diff() {
	local list=$LAB_CACHE/stage-patched/.lab-touched f
	[ -f "$list" ] || return 1
	exec 8>"$lock"
	flock 8
	sort -u "$list" | while IFS= read -r f; do
		cmp -s "$LAB_CACHE/work/stock/$f" "$LAB_CACHE/work/patched/$f" || echo "$f"
	done
	exec 8>&-
}

write_config() {
	{
		for m in $modes; do echo "$m: job.sh $(mode_args "$m")"; done
		echo "guest: --mem $mem --huge2m $h2m --huge1g $h1g; wall: -smp 2 MTTCG; icount: -smp 1 -icount shift=0,sleep=off"
		echo "qemu: $(qemu-system-x86_64 --version | head -1)"
		echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
	} >"$runs/config.txt"
}

# guest MODE TREE DIR: run the job once; run-guest.sh's exit status.
# no_timer_check: under host load, TCG can fail the boot-time check that the
# timer IRQ works through the remapped IO-APIC, and the kernel panics.
guest() {
	local opts=(--kernel "$LAB_CACHE/work/$2/o-bench/arch/x86/boot/bzImage"
		--out "$3" --mem "$mem" --huge2m "$h2m" --huge1g "$h1g"
		--timeout "$timeout" --append no_timer_check)
	[ "$1" = icount ] && opts+=(--icount)
	# shellcheck disable=SC2046 # mode_args is a list of arguments
	"$here/run-guest.sh" "${opts[@]}" "$repo/tools/bench/job.sh" "$repo/build/$2" \
		$(mode_args "$1") >"$3.log" 2>&1 8>&-
}

# boot MODE ROUND TREE: one measured boot, its results in $runs/MODE-ROUND-TREE.
# A guest that dies before its job starts is booted once more.
boot() {
	local mode=$1 round=$2 tree=$3
	local dir=$runs/$mode-$round-$tree rc=0 load t0
	if [ "$mode" = wall ]; then
		exec 8>"$lock"
		flock -n 8 || { lab_say bench "waiting for a kernel build to finish"; flock 8; }
	fi
	lab_say bench "boot $mode round $round: $tree (host load $(cut -d' ' -f1 /proc/loadavg))"
	t0=$(date +%s)
	guest "$mode" "$tree" "$dir" || rc=$?
	if [ $rc = 125 ] && [ ! -s "$dir/job.log" ]; then
		lab_say bench "the guest died while booting: once more"
		tail -n 3 "$dir.log" | sed 's/^/    /'
		rc=0
		guest "$mode" "$tree" "$dir" || rc=$?
	fi
	# The 1-minute load at the end: about 2 (wall) or 1 (icount) is this
	# guest alone; more means something else shared the cores.
	load=$(cut -d' ' -f1 /proc/loadavg)
	[ "$mode" = wall ] && exec 8>&-
	echo "$mode,$round,$tree,$rc,$(($(date +%s) - t0)),$load" >>"$runs/boots.csv"
	grep -E 'ABORT|mapped and faulted|exit [0-9]' "$dir/job.log" 2>/dev/null | sed 's/^/    /'
	if [ $rc != 0 ]; then
		tail -n 20 "$dir.log" | sed 's/^/    /'
		lab_say bench "boot $mode $round $tree FAILED (exit $rc, log $dir.log)"
		return 1
	fi
	lab_say bench "boot $mode round $round: $tree done in $(($(date +%s) - t0)) s"
}

build_tree stock
build_tree patched
rm -rf "$runs"
mkdir -p "$runs"
diff_opt=(--tree-diff "$out/tree-diff.txt")
if ! tree_diff >"$out/tree-diff.txt"; then
	lab_say bench "no list of the files the series touches: A/A or A/B unknown"
	diff_opt=()
elif [ -s "$out/tree-diff.txt" ]; then
	lab_say bench "A/B: patched differs from stock in $(wc -l <"$out/tree-diff.txt") file(s)"
else
	lab_say bench "A/A: the patched tree equals stock"
fi
for f in stock patched; do
	lab_say bench "$f: ccache $(cat "$LAB_CACHE/work/$f/o-bench/ccache-stats.txt" 2>/dev/null)"
done
write_config
echo "mode,round,tree,rc,seconds,load1" >"$runs/boots.csv"
failed=0
for mode in $modes; do
	for round in $(seq "$rounds"); do
		for tree in stock patched; do
			boot "$mode" "$round" "$tree" || failed=$((failed + 1))
		done
	done
done
# Memory, not time: one boot per tree of tools/bench/mem.sh (kernel memory
# a registered MR holds per GiB, and the largest MR that registers). It
# needs 1 GiB of 4K pages and THP beside the hugetlb pools: a 6G guest.
if [ "${BENCH_MEM_REPORT:-1}" != 0 ]; then
	for tree in stock patched; do
		lab_say bench "memory boot: $tree"
		"$here/run-guest.sh" --kernel "$LAB_CACHE/work/$tree/o-bench/arch/x86/boot/bzImage" \
			--out "$runs/mem-$tree" --mem 6G --huge2m 600 --huge1g 2 \
			--timeout "$timeout" "$repo/tools/bench/mem.sh" "$repo/build/$tree" \
			>"$runs/mem-$tree.log" 2>&1 || {
			tail -n 20 "$runs/mem-$tree.log" | sed 's/^/    /'
			lab_say bench "memory boot $tree FAILED (log $runs/mem-$tree.log)"
			failed=$((failed + 1))
		}
	done
fi
python3 "$here/bench-report.py" "$runs" "$out" "${diff_opt[@]}" || failed=$((failed + 1))
lab_say bench "done in $(lab_elapsed): $out/bench.md; $failed failure(s)"
[ $failed = 0 ]
exit
}
