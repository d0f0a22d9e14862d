# shellcheck shell=sh
# Sourced by tools/bench_gup.sh and tools/bench/qemu_start.sh.
# stats: "n,min,median,max" of the numbers on stdin, one a line, as the
# CSV columns n,min_us,median_us,max_us that bench-report.py reads.
stats() {
	sort -g | awk '{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%d,%.3f,%.3f,%.3f\n", NR, v[1], m, v[NR] }'
}
