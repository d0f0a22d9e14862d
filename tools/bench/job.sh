#!/bin/sh
# Guest job for `make bench` (lab/bench.sh): one boot's measurements.
# Usage (inside the guest): job.sh BUILD_DIR ARGS [-- ARGS]...
# Runs BUILD_DIR/bench_reg_mr once per group of ARGS, in order (each group
# maps its own memory, so groups can differ in kinds, sizes and runs).
# Leaves in $LAB_OUT: bench.csv (all groups' CSV lines under one header) and
# env.txt (what the numbers were taken on). Exit status 1 if a group failed
# or the kernel logged a WARN/BUG/Oops.
build=$1
shift

# rxe0's GID 0 is veth0's IPv6 link-local address: while duplicate address
# detection still holds it tentative, connecting a QP to it times out.
i=0
while ip -6 addr show dev veth0 | grep -q tentative; do
	[ $i -lt 100 ] || { echo "veth0: IPv6 address still tentative after 10 s"; exit 1; }
	sleep 0.1
	i=$((i + 1))
done
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
# would upset bench_reg_mr's exact pin-balance checks.
csv=/tmp/bench.csv
rc=0
run_group() {
	"$build/bench_reg_mr" "$@" >/tmp/group.csv 2>/tmp/group.err || rc=1
	cat /tmp/group.err
	if [ -s "$csv" ]; then
		tail -n +2 /tmp/group.csv >>"$csv"
	else
		cat /tmp/group.csv >"$csv"
	fi
}
: >"$csv"
while [ $# -gt 0 ]; do
	group=
	for a in "$@"; do
		shift
		[ "$a" = -- ] && break
		group="$group $a"
	done
	# shellcheck disable=SC2086 # a group is a list of options
	run_group $group
done
cp "$csv" "$LAB_OUT/bench.csv"
echo "bench_reg_mr: exit $rc, $(($(wc -l <"$csv") - 1)) CSV lines"
if dmesg | grep -qE 'WARNING:|BUG:|Oops|Call Trace'; then
	echo "kernel log: WARN/BUG/Oops:"
	dmesg | grep -E -A20 'WARNING:|BUG:|Oops' | head -60
	rc=1
fi
exit $rc
