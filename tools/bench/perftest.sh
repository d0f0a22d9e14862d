#!/bin/sh
# perftest.sh: RDMA traffic over packed-pin MRs, for `make bench` (run by
# tools/bench/job.sh's "perftest" group, inside the lab guest): the runs of
# tests/rxe/perftest.sh (ib_write_bw, ib_read_bw, ib_send_bw, ib_write_lat
# over rxe0 looped back; default buffers, then --use_hugepages), as CSV
# lines of time, so that stock/patched above 1 means patched is faster:
#   perftest_write_bw, _read_bw, _send_bw  µs a message at the average
#       bandwidth perftest reports: bytes / (BW_MB/s * 2^20) * 10^6
#   perftest_write_lat                      perftest's typical latency, µs
# kind 4k (perftest's default buffers) or huge2m (--use_hugepages), size the
# message size; n = 1, one run of PERFTEST_ITERS (default 200) iterations.
# This times the rxe data path through MRs the series registered, not
# registration. Output on stdout: kind,size,op,n,min_us,median_us,max_us
# Times are the guest's clock: QEMU TCG, not hardware.
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=/tmp/perftest-bench.$$
mkdir -p "$out" || exit 1
LAB_OUT=$out PERFTEST_ITERS=${PERFTEST_ITERS:-200} sh "$repo/tests/rxe/perftest.sh" >"$out/log" 2>&1
rc=$?
grep -E '^not ok' "$out/log" >&2
echo "kind,size,op,n,min_us,median_us,max_us"
awk '{ v[$1 " " $2] = $3 }
	END {
		for (k in v) {
			split(k, a, " "); name = a[1]; metric = a[2]
			if (metric == "bytes") continue
			kind = name ~ /-huge$/ ? "huge2m" : "4k"
			op = name; sub(/-huge$/, "", op)
			bytes = v[name " bytes"]
			if (metric == "bw_avg_MBps" && v[k] > 0)
				t = bytes / (v[k] * 1048576) * 1000000
			else if (metric == "t_typical_us")
				t = v[k]
			else
				continue
			printf "%s,%d,perftest_%s,1,%.3f,%.3f,%.3f\n", kind, bytes, op, t, t, t
		}
	}' "$out/perftest.txt" | sort
n=$(grep -c '^ok - perftest:' "$out/log")
[ "$n" = 8 ] || { echo "perftest: ABORT: $n of 8 runs ok" >&2; rc=1; }
rm -rf "$out"
exit $rc
