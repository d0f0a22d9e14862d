#!/bin/bash
# Count the instructions of whole system calls, function by function, on the
# stock and patched bench kernels: each boots under icount with QEMU's
# gdbstub, loops one benchmark cell (loop.sh), and gdb single-steps NCALLS
# calls of FUNC (step.py). Exact and deterministic for a given memory layout
# (unlike sampling, which aliases with a periodic benchmark), but slow:
# ~1000-1500 instructions a second, both kernels in parallel.
#
#   tools/insn/run.sh [--mem SIZE] [--huge2m N] [--op MAP_OP] [--pre KIND:SIZE[:OP],...]
#                     OUT FUNC NCALLS WHAT KIND SIZE
#     e.g. OUT=build/insn/reg64k ib_uverbs_reg_mr 2 reg_mr 4k-scattered 64K
#          OUT=build/insn/map16m vfio_iommu_type1_ioctl 4 vfio huge2m 16M
#   --pre runs cells just before the loop (see loop.sh), e.g. --pre memfd2m:512M
#   --op ioas_map_file ... iommufd_ioas_map_file 2 vfio memfd2m 512M
#   then tools/insn/report.py (per function, stock against patched). Step
#   NCALLS >= 2: the first call stepped may include a slab refill.
# Run through `make insn`, which builds the bench kernels and programs.
# INSN_KERNELS="patched" steps one kernel only (a stock call may take hours).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lab/lib.sh"
mem=2G
op=
pre=
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--mem) mem=$2; shift 2 ;;
	--huge2m) extra+=(--huge2m "$2"); shift 2 ;;
	--op) op=$2; shift 2 ;;
	--pre) pre=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# = 6 ] || lab_die "usage: run.sh [--mem SIZE] [--huge2m N] [--op MAP_OP] OUT FUNC NCALLS WHAT KIND SIZE"
out=$1 func=$2 ncalls=$3 what=$4 kind=$5 size=$6
kernels=${INSN_KERNELS:-stock patched}
mkdir -p "$out"
port=$((20000 + RANDOM % 10000))
guests=() gdbs=()
cleanup() {
	kill "${gdbs[@]}" "${guests[@]}" 2>/dev/null || true
	# run-guest.sh's QEMU outlives the shell: find it by its console file
	pkill -f -- "$out/guest-stock/console.log" 2>/dev/null || true
	pkill -f -- "$out/guest-patched/console.log" 2>/dev/null || true
}
trap cleanup EXIT
for k in $kernels; do
	p=$port; [ $k = patched ] && p=$((port + 1))
	rm -rf "$out/guest-$k"
	LAB_QEMU_EXTRA="-gdb tcp:127.0.0.1:$p" "$LAB_REPO/lab/run-guest.sh" \
		--kernel "$LAB_CACHE/work/$k/o-bench/arch/x86/boot/bzImage" \
		--out "$out/guest-$k" --icount --mem "$mem" "${extra[@]}" \
		--append nokaslr --timeout 7200 -- \
		"$here/loop.sh" "$LAB_REPO/build/$k" "$what" "$kind" "$size" "$op" "$pre" \
		>"$out/guest-$k.log" 2>&1 &
	guests+=($!)
done
for k in $kernels; do
	while [ ! -e "$out/guest-$k/ready" ]; do
		[ -e "$out/guest-$k/rc" ] && lab_die "$k guest ended: $(cat "$out/guest-$k/job.log")"
		sleep 2
	done
done
for k in $kernels; do
	p=$port; [ $k = patched ] && p=$((port + 1))
	gdb -q -batch -ex "target remote 127.0.0.1:$p" -ex "source $here/step.py" \
		-ex "python step_calls('$func', $ncalls, '$out/pcs-$k.txt')" \
		"$LAB_CACHE/work/$k/o-bench/vmlinux" >"$out/gdb-$k.log" 2>&1 &
	gdbs+=($!)
done
wait "${gdbs[@]}"
for k in $kernels; do
	lab_say insn "$func ($k): $(grep -h END "$out/pcs-$k.txt" | tr '\n' ' ')"
done
[ "$kernels" = "stock patched" ] || exit 0
"$here/report.py" "$LAB_CACHE/work/stock/o-bench/vmlinux" "$out/pcs-stock.txt" \
	"$LAB_CACHE/work/patched/o-bench/vmlinux" "$out/pcs-patched.txt" | head -40
