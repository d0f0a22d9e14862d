#!/bin/sh
# perftest over rxe0, looped back (server and client in this guest, the
# out-of-band TCP exchange over 127.0.0.1, RC traffic on rxe0's GID 0):
# ib_write_bw, ib_read_bw, ib_send_bw and ib_write_lat, each with the
# default buffers (memalign) and with --use_hugepages (SysV SHM_HUGETLB,
# 2M pages), run to completion. perftest registers each buffer once with
# ibv_reg_mr, so this is traffic through packed-pin MRs on patched, not a
# registration benchmark (tools/bench_reg_mr.c is).
# Prints "ok - perftest:NAME" per run and the figures, one line each, to
# $LAB_OUT/perftest.txt: "NAME METRIC VALUE", QEMU TCG (not hardware).
# Environment: PERFTEST_ITERS (default 500).
iters=${PERFTEST_ITERS:-500}
out=${LAB_OUT:-/tmp}/perftest.txt
: >"$out"
port=18600
rc=0

# run TOOL NAME ARGS...: server in the background, client against it.
run() {
	tool=$1 name=$2
	shift 2
	port=$((port + 1))
	log=/tmp/perftest-$name
	timeout 120 "$tool" -d rxe0 -x 0 -F -p $port "$@" >"$log.server" 2>&1 &
	spid=$!
	# The client connects once: wait (up to 20 s) for the server to listen.
	i=0
	until ss -ltn | grep -q ":$port "; do
		[ $i -lt 200 ] || break
		sleep 0.1
		i=$((i + 1))
	done
	if timeout 120 "$tool" -d rxe0 -x 0 -F -p $port "$@" 127.0.0.1 >"$log.client" 2>&1 &&
		wait $spid; then
		figures "$name" "$log.client"
		echo "ok - perftest:$name"
	else
		wait $spid
		echo "# $name: client and server output:"
		sed 's/^/#   /' "$log.client" "$log.server"
		echo "not ok - perftest:$name"
		rc=1
	fi
}

# The result row follows the header row that names the columns.
figures() {
	awk -v n="$1" '
		/#bytes/ && /BW average/ { bw = 1; next }
		/#bytes/ && /t_avg/ { lat = 1; next }
		bw && NF >= 4 && $1 ~ /^[0-9]+$/ {
			printf "%s bytes %s\n%s bw_avg_MBps %s\n", n, $1, n, $4; bw = 0 }
		lat && NF >= 6 && $1 ~ /^[0-9]+$/ {
			printf "%s bytes %s\n%s t_typical_us %s\n%s t_avg_us %s\n",
				n, $1, n, $5, n, $6; lat = 0 }
	' "$2" | tee -a "$out" | sed 's/^/# /'
}

for huge in "" --use_hugepages; do
	sfx=${huge:+-huge}
	run ib_write_bw write_bw$sfx -n "$iters" $huge
	run ib_read_bw read_bw$sfx -n "$iters" $huge
	run ib_send_bw send_bw$sfx -n "$iters" $huge
	run ib_write_lat write_lat$sfx -n "$iters" $huge
done
exit $rc
