#!/usr/bin/env python3
"""Fill the format-patch cover letter: subject and blurb from the repo's
series.d/cover-letter.txt (first line = subject), then the latest measured
bench table (build/bench/bench.md), or a line saying none was measured."""
import sys

cover, blurb_path, bench_path = sys.argv[1:4]
text = open(cover).read()
blurb = open(blurb_path).read().rstrip("\n").split("\n")
subject, body = blurb[0], "\n".join(blurb[1:]).strip("\n")
try:
    bench = open(bench_path).read().rstrip("\n")
except OSError:
    bench = "(no `make bench` result in build/bench/bench.md when this was generated)"
body += "\n\nMeasured with `make bench` (QEMU TCG guests: not hardware timings):\n\n" + bench
text = text.replace("*** SUBJECT HERE ***", subject)
text = text.replace("*** BLURB HERE ***", body)
open(cover, "w").write(text)
