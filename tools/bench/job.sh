#!/bin/sh
# Guest job for `make bench` (lab/bench.sh): one boot's measurements.
# Usage (inside the guest): job.sh BUILD_DIR BENCH_REG_MR_ARGS...
# Leaves in $LAB_OUT: bench.csv (bench_reg_mr's CSV), env.txt (what the
# numbers were taken on). Exit status: bench_reg_mr's, or 1 if the kernel
# logged a WARN/BUG/Oops.
build=$1
shift
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
# CSV goes to tmpfs first: no 9p I/O from the timed process.
"$build/bench_reg_mr" "$@" >/tmp/bench.csv
rc=$?
cp /tmp/bench.csv "$LAB_OUT/bench.csv"
echo "bench_reg_mr: exit $rc, $(($(wc -l </tmp/bench.csv) - 1)) CSV lines"
if dmesg | grep -qE 'WARNING:|BUG:|Oops|Call Trace'; then
	echo "kernel log: WARN/BUG/Oops:"
	dmesg | grep -E -A20 'WARNING:|BUG:|Oops' | head -60
	rc=1
fi
exit $rc
