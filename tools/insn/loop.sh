#!/bin/sh
# Guest job for tools/insn/run.sh: run one benchmark cell once (warm-up,
# and a check that it works), touch $LAB_OUT/ready, then loop it until the
# guest is killed (100M runs: the programs keep every sample, so no more),
# so that the host's gdb can step its system calls.
#   loop.sh BUILD_DIR reg_mr KIND SIZE     bench_reg_mr on rxe0
#   loop.sh BUILD_DIR vfio KIND SIZE [OP [PRE]]  bench_vfio on the first edu
#                                          (OP: only that map op, bench_vfio
#                                          -m, or "" for all)
# PRE (KIND:SIZE[:OP][,...]) runs those cells once after the warm-up (OP
# defaults to the looped one), so that their memory is freed just before
# the looped cell allocates. The hugetlb pool's free
# list is LIFO: each cell that allocates and frees it in order reverses the
# order the next cell gets its pages in (ascending PFNs, few runs to map;
# descending, one run a page), as the bench's earlier cells do.
build=$1 what=$2 kind=$3 size=$4 op=${5:-} pre=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
case $what in
reg_mr)	set -- "$build/bench_reg_mr" -d rxe0 ;;
vfio)	ids=$(sh "$here/../../tests/vfio/bind.sh") || { echo "bind: $ids"; exit 1; }
	set -- "$build/bench_vfio" -d "${ids% *}" -g "${ids#* }" ;;
*)	echo "loop.sh: unknown benchmark '$what'"; exit 2 ;;
esac
[ -n "$op" ] && set -- "$@" -m "$op"
"$@" -k "$kind" -s "$size" -n 5 -w 1 >"$LAB_OUT/warm.txt" 2>&1 ||
	{ cat "$LAB_OUT/warm.txt"; exit 1; }
# After the warm-up, which allocates and frees too: the loop gets the
# layout the PRE cells leave (loop.txt says how many runs it is)
for cell in $(echo "$pre" | tr , ' '); do
	k=${cell%%:*} s=${cell#*:} m=
	case $s in *:*) m=${s#*:} s=${s%%:*} ;; esac
	"$@" -k "$k" -s "$s" ${m:+-m "$m"} -n 1 -w 0 >>"$LAB_OUT/pre.txt" 2>&1 ||
		{ cat "$LAB_OUT/pre.txt"; exit 1; }
done
touch "$LAB_OUT/ready"
exec "$@" -k "$kind" -s "$size" -n 100000000 -w 1 >"$LAB_OUT/loop.txt" 2>&1
