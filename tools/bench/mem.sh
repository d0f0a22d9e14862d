#!/bin/sh
# Guest job: kernel memory an rxe user MR holds, and the largest MR that
# registers (bench_reg_mr --mem-report, --max-mr). Memory figures, not timing;
# the only times printed (reg_ms_qemu_tcg) are QEMU TCG.
# Usage (inside the guest): mem.sh BUILD_DIR [MEM_KINDS [MAXMR_KINDS]]
#   MEM_KINDS    kinds for --mem-report (default 4k,thp,memfd,huge2m,huge1g)
#   MAXMR_KINDS  kinds for --max-mr (default 4k,thp,huge2m,huge1g)
# Boot with enough memory for 1 GiB of 4K pages and THP beside the pools:
#   run-guest.sh --mem 6G --huge2m 600 --huge1g 2 tools/bench/mem.sh BUILD_DIR
# Leaves $LAB_OUT/mem.csv (both modes' lines) and env.txt. Exit status 1 if a
# cell aborted, the pin balance moved, the kernel logged a BUG/Oops, or a
# WARNING that no --max-mr probe accounted for (stock's kzalloc of a
# page_info table past MAX_PAGE_ORDER WARNs once, as the probe reports).
build=$1
mem_kinds=${2:-4k,thp,memfd,huge2m,huge1g}
max_kinds=${3:-4k,thp,huge2m,huge1g}

{
	echo "kernel: $(uname -r) $(cat /proc/sys/kernel/version)"
	echo "cmdline: $(cat /proc/cmdline)"
	echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled)" \
		"defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag)"
	grep -E '^(MemTotal|MemFree|MemAvailable|HugePages_Total|Hugetlb):' /proc/meminfo
	grep -H . /sys/kernel/mm/hugepages/*/nr_hugepages
} >"$LAB_OUT/env.txt" 2>&1
cat "$LAB_OUT/env.txt"

# Output goes to tmpfs while it runs: writes to the 9p results share take
# FOLL_PIN pins of their own and would upset the exact pin-balance checks.
rc=0
"$build/bench_reg_mr" --mem-report -k "$mem_kinds" >/tmp/mem.csv 2>/tmp/mem.err || rc=1
"$build/bench_reg_mr" --max-mr -k "$max_kinds" >>/tmp/mem.csv 2>>/tmp/mem.err || rc=1
cat /tmp/mem.err
cat /tmp/mem.csv
cp /tmp/mem.csv "$LAB_OUT/mem.csv"

warns=$(dmesg | grep -c 'WARNING:')
probed=$(awk -F, '$1 == "maxmr" && $7 ~ /^[0-9]/ { n += $6 } END { print n + 0 }' /tmp/mem.csv)
echo "kernel log: $warns WARNING(s), $probed reported by --max-mr probes"
if dmesg | grep -qE 'BUG:|Oops' || [ "$warns" != "$probed" ]; then
	echo "kernel log: unexpected WARN/BUG/Oops:"
	dmesg | grep -E -A20 'WARNING:|BUG:|Oops' | head -60
	rc=1
fi
echo "mem: exit $rc"
exit $rc
