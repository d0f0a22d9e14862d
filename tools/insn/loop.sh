#!/bin/sh
# Guest job for tools/insn/run.sh: run one benchmark cell once (warm-up,
# and a check that it works), touch $LAB_OUT/ready, then loop it until the
# guest is killed (100M runs: the programs keep every sample, so no more),
# so that the host's gdb can step its system calls.
#   loop.sh BUILD_DIR reg_mr KIND SIZE     bench_reg_mr on rxe0
#   loop.sh BUILD_DIR vfio KIND SIZE [OP]  bench_vfio on the first edu (OP:
#                                          only that map op, bench_vfio -m)
build=$1 what=$2 kind=$3 size=$4 op=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
case $what in
reg_mr)	set -- "$build/bench_reg_mr" -d rxe0 ;;
vfio)	ids=$(sh "$here/../../tests/vfio/bind.sh") || { echo "bind: $ids"; exit 1; }
	set -- "$build/bench_vfio" -d "${ids% *}" -g "${ids#* }" ${op:+-m "$op"} ;;
*)	echo "loop.sh: unknown benchmark '$what'"; exit 2 ;;
esac
"$@" -k "$kind" -s "$size" -n 5 -w 1 >"$LAB_OUT/warm.txt" 2>&1 ||
	{ cat "$LAB_OUT/warm.txt"; exit 1; }
touch "$LAB_OUT/ready"
exec "$@" -k "$kind" -s "$size" -n 100000000 -w 1 >"$LAB_OUT/loop.txt" 2>&1
