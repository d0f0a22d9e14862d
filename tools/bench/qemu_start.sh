#!/bin/sh
# qemu_start.sh: QEMU device passthrough start-up, the real user of VFIO
# type1 (run by tools/bench/job.sh's "qemu" group, inside the lab guest).
#
# Usage: qemu_start.sh BUILD_DIR BDF [-n RUNS] [-w WARMUP] [-m MIB]
#
# Each run starts a nested QEMU (TCG, stopped with -S, no guest code runs)
# with MIB MiB of RAM (default 1024) on 2 MiB hugetlbfs pages, preallocated,
# and -device vfio-pci,host=BDF: realising the device maps all guest RAM
# through VFIO_IOMMU_MAP_DMA. The monitor is asked "info pci", which must
# list the device (1234:11e8), then "quit", which closes the container:
# type1 unmaps and unpins everything. Three figures a run:
#   qemu_start       the whole QEMU process, exec to exit (prealloc of the
#                    RAM, QEMU's set-up and tear-down included: most of it
#                    is not VFIO's)
#   qemu_type1_ioctl the time QEMU spent in type1 ioctls (every
#                    vfio_iommu_type1_ioctl() call: nearly all of it is
#                    MAP_DMA of all guest RAM when the device is realised
#                    and UNMAP_DMA of it at quit)
#   qemu_type1_close the container release at quit (vfio_iommu_type1_release:
#                    the unmap and unpin of what QEMU left mapped, nothing)
# The two type1 figures are function_graph durations of just those two
# functions (set_ftrace_filter: nothing else is traced). Each run sits
# between two exact pin-balance reads, and the hugetlb pool must be as full
# after it as before. Output on stdout, as the other benches:
#   kind,size,op,n,min_us,median_us,max_us
# Times are the guest's clock: QEMU TCG, not hardware.
build=${1:?usage: qemu_start.sh BUILD_DIR BDF [-n RUNS] [-w WARMUP] [-m MIB]}
bdf=${2:?usage: qemu_start.sh BUILD_DIR BDF [-n RUNS] [-w WARMUP] [-m MIB]}
shift 2
runs=3 warmup=1 mib=1024
while getopts n:w:m: opt; do
	case $opt in
	n) runs=$OPTARG ;;
	w) warmup=$OPTARG ;;
	m) mib=$OPTARG ;;
	*) exit 2 ;;
	esac
done
# shellcheck source=tools/bench/stats.sh
. "$(dirname "$0")/stats.sh"
say() { echo "qemu_start: $*" >&2; }
tr=/sys/kernel/tracing
pool=/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages
tmp=/tmp/qemu_start.$$

command -v qemu-system-x86_64 >/dev/null || { say "ABORT: no qemu-system-x86_64"; exit 1; }
[ -d $tr/events ] || mount -t tracefs nodev $tr || { say "ABORT: no tracefs"; exit 1; }
free0=$(cat $pool)
[ "$free0" -ge $((mib / 2)) ] || { say "ABORT: needs $((mib / 2)) free 2 MiB hugetlb pages, $free0 free"; exit 1; }

# The tracer is put back as it was found (nop, no filter) on the way out.
untrace() {
	echo 0 >$tr/tracing_on
	echo nop >$tr/current_tracer
	echo >$tr/set_ftrace_filter
	rm -rf "$tmp"
}
trap untrace EXIT
mkdir -p "$tmp" || exit 1
echo 0 >$tr/tracing_on
echo nop >$tr/current_tracer
printf 'vfio_iommu_type1_ioctl\nvfio_iommu_type1_release\n' >$tr/set_ftrace_filter ||
	{ say "ABORT: cannot trace the type1 ioctl and release"; exit 1; }
echo function_graph >$tr/current_tracer
echo 1 >$tr/max_graph_depth
# One line a call, "NAME();" with its duration, no arguments.
echo 1 >$tr/options/funcgraph-tail
echo 1 >$tr/options/funcgraph-duration
[ ! -e $tr/options/funcgraph-args ] || echo 0 >$tr/options/funcgraph-args

# one N: a timed run into $tmp/N.{log,trace,wall}; false if it failed.
one() {
	"$build/pinbal" save "$tmp/pins" || return 1
	echo >$tr/trace
	echo 1 >$tr/tracing_on
	t0=$(date +%s%N)
	printf 'info pci\nquit\n' | timeout 600 qemu-system-x86_64 -machine q35 -accel tcg \
		-m "${mib}M" -nodefaults -display none -S -monitor stdio \
		-object memory-backend-file,id=m0,size="${mib}M",mem-path=/dev/hugepages,prealloc=on,share=on \
		-numa node,memdev=m0 -device vfio-pci,host="$bdf" >"$tmp/$1.log" 2>&1
	rc=$?
	t1=$(date +%s%N)
	echo 0 >$tr/tracing_on
	cp $tr/trace "$tmp/$1.trace"
	echo $(((t1 - t0) / 1000)) >"$tmp/$1.wall"
	if [ $rc != 0 ] || ! grep -q 'PCI device 1234:11e8' "$tmp/$1.log"; then
		say "ABORT run $1: qemu exit $rc, device listed: $(grep -c 'PCI device 1234:11e8' "$tmp/$1.log")"
		tail -n 5 "$tmp/$1.log" >&2
		return 1
	fi
	if ! "$build/pinbal" check "$tmp/pins" >"$tmp/pinbal"; then
		say "ABORT run $1: pins left: $(cat "$tmp/pinbal")"
		return 1
	fi
	[ "$(cat $pool)" = "$free0" ] || { say "ABORT run $1: hugetlb pool $(cat $pool) free, was $free0"; return 1; }
	# The durations of each traced function, summed.
	for f in ioctl release; do
		# A call is one line "NAME();", or "} /* NAME */" when it
		# ended on another CPU than it began.
		sed -n -e "s/.* \([0-9.]*\) us *| *vfio_iommu_type1_$f();.*/\1/p" \
			-e "s/.* \([0-9.]*\) us *| *} \/\* vfio_iommu_type1_$f \*\/.*/\1/p" "$tmp/$1.trace" |
			awk '{ s += $1; n++ } END { printf "%.3f %d\n", s, n }' >"$tmp/$1.$f"
	done
	[ "$(cut -d' ' -f2 "$tmp/$1.release")" = 1 ] ||
		{ say "ABORT run $1: $(cut -d' ' -f2 "$tmp/$1.release") container releases traced, want 1"; return 1; }
	[ "$(cut -d' ' -f2 "$tmp/$1.ioctl")" -ge 1 ] ||
		{ say "ABORT run $1: no type1 ioctl traced"; return 1; }
}

rc=0
for i in $(seq 1 $((warmup + runs))); do
	one "$i" || { rc=1; break; }
	say "run $i: $(cat "$tmp/$i.wall") us, type1 ioctls $(cat "$tmp/$i.ioctl") (us, calls), release $(cat "$tmp/$i.release")"
done
if [ $rc = 0 ]; then
	bytes=$((mib * 1048576))
	echo "kind,size,op,n,min_us,median_us,max_us"
	keep() { for i in $(seq $((warmup + 1)) $((warmup + runs))); do cut -d' ' -f1 "$tmp/$i.$1"; done; }
	echo "huge2m,$bytes,qemu_start,$(keep wall | stats)"
	echo "huge2m,$bytes,qemu_type1_ioctl,$(keep ioctl | stats)"
	echo "huge2m,$bytes,qemu_type1_close,$(keep release | stats)"
fi
exit $rc
