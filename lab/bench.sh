#!/bin/bash
# bench.sh: `make bench`, stock against patched on this machine in one run.
#
# 1. Prepares and builds the stock and patched `bench` kernels through
#    prepare-tree.sh and build-kernel.sh (they take the build lock: one build
#    at a time), and the userspace programs of both trees.
# 2. Boots stock, patched, stock, patched (A B A B) in each mode:
#      wall    MTTCG, 2 vCPUs: the guest clock is host wall time
#      icount  1 vCPU, -icount shift=0: 1 guest µs = 1000 guest instructions
#    Each boot runs tools/bench/job.sh: bench_reg_mr times ibv_reg_mr and
#    ibv_dereg_mr on rxe0 by memory kind and size, after verifying the
#    backing, and checks bytes and pin balance through every MR. A wall-time
#    boot holds the build lock, so no kernel build shares the two cores with
#    it; icount boots do not need to.
# 3. lab/bench-report.py merges the boots into build/bench/bench.{csv,md}
#    and bench.png. When the patched tree equals stock (empty series) the run
#    is A/A and the report says its ratios are the noise floor.
#
# Environment (default):
#   BENCH_MODES   "wall icount"
#   BENCH_ROUNDS  2             (A B pairs per mode)
#   BENCH_ARGS    bench_reg_mr arguments ("$default_args" below)
#   BENCH_MEM 4G, BENCH_HUGE2M 520, BENCH_HUGE1G 1: guest memory and the
#                 hugetlb pools the 1 GiB cells need
#   BENCH_TIMEOUT 1800          seconds per boot
# Exit status: 0 if every boot ran every cell.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${LAB_CACHE:?}"
repo=$(cd "$here/.." && pwd)
default_args="-k thp,4k,memfd,huge2m,memfd2m,huge1g -s 4K,64K,1M,16M,256M,512M,1G -n 15 -w 3"
modes=${BENCH_MODES:-wall icount}
rounds=${BENCH_ROUNDS:-2}
args=${BENCH_ARGS:-$default_args}
mem=${BENCH_MEM:-4G} h2m=${BENCH_HUGE2M:-520} h1g=${BENCH_HUGE1G:-1}
timeout=${BENCH_TIMEOUT:-1800}
out=$repo/build/bench
runs=$out/runs
lock=$LAB_CACHE/build.lock

build_tree() { # TREE
	"$here/prepare-tree.sh" "$1" || lab_die "could not prepare the $1 tree"
	"$here/build-kernel.sh" "$1" bench || lab_die "the $1 bench kernel did not build"
	"$here/build-userspace.sh" "$1" bench || lab_die "$1 userspace did not build"
}

# Files in which patched differs from stock, under the lock so that no
# prepare-tree.sh runs meanwhile. None: an A/A run.
tree_diff() {
	flock "$lock" rsync -rlcn --delete --exclude='/o-*' --out-format='%n' \
		"$LAB_CACHE/work/stock/" "$LAB_CACHE/work/patched/" | grep -v '/$'
}

write_config() {
	{
		echo "bench_reg_mr: $args"
		echo "guest: --mem $mem --huge2m $h2m --huge1g $h1g; wall: -smp 2 MTTCG; icount: -smp 1 -icount shift=0,sleep=off"
		echo "qemu: $(qemu-system-x86_64 --version | head -1)"
		echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
	} >"$runs/config.txt"
}

# boot MODE ROUND TREE: one guest, its results in $runs/MODE-ROUND-TREE.
boot() {
	local mode=$1 round=$2 tree=$3
	local dir=$runs/$mode-$round-$tree rc=0 load t0
	local opts=(--kernel "$LAB_CACHE/work/$tree/o-bench/arch/x86/boot/bzImage"
		--out "$dir" --mem "$mem" --huge2m "$h2m" --huge1g "$h1g" --timeout "$timeout")
	[ "$mode" = icount ] && opts+=(--icount)
	if [ "$mode" = wall ]; then
		exec 8>"$lock"
		flock -n 8 || { lab_say bench "waiting for a kernel build to finish"; flock 8; }
	fi
	load=$(cut -d' ' -f1 /proc/loadavg)
	lab_say bench "boot $mode round $round: $tree (host load $load)"
	t0=$(date +%s)
	# shellcheck disable=SC2086 # $args is a list of bench_reg_mr arguments
	"$here/run-guest.sh" "${opts[@]}" "$repo/tools/bench/job.sh" "$repo/build/$tree" \
		$args >"$dir.log" 2>&1 8>&- || rc=$?
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
tree_diff >"$out/tree-diff.txt" || true
if [ -s "$out/tree-diff.txt" ]; then
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
python3 "$here/bench-report.py" "$runs" "$out" --tree-diff "$out/tree-diff.txt" || failed=$((failed + 1))
lab_say bench "done in $(lab_elapsed): $out/bench.md; $failed failure(s)"
[ $failed = 0 ]
