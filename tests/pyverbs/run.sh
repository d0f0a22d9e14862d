#!/bin/sh
# rdma-core's own pyverbs suite (python3-pyverbs) on rxe0, judged against
# what stock 7.3 does (expected-stock.txt): one "ok - pyverbs:<id>" /
# "not ok - ..." / "skip - ...: why" line per test, plus pyverbs:suite for
# the number of tests run. The ODP hugetlb tests need 2M pages reserved
# (run-guest.sh --huge2m), or they skip and count as not ok.
#
#   run.sh            check against expected-stock.txt
#   run.sh --record   print a new expected set (the comments are by hand)
# The raw unittest log is kept in $LAB_OUT/pyverbs.log. Then (not with
# --record) our own test_hugepage_mr.py runs; every test of it must pass.
here=$(cd "$(dirname "$0")" && pwd)
suite=/usr/share/doc/rdma-core/tests
[ -f "$suite/run_tests.py" ] || { echo "python3-pyverbs is not installed ($suite)"; exit 77; }
rdma link show rxe0/1 >/dev/null 2>&1 || { echo "no rxe0 device"; exit 1; }

work=$(mktemp -d /tmp/pyverbs.XXXXXX) || exit 1
cp -r "$suite" "$work/tests" && gunzip "$work/tests"/*.gz || exit 1
log=${LAB_OUT:-$work}/pyverbs.log
# unittest writes its verbose report to stderr; keep the suite's own stdout
# out of it so that no result line is split.
(cd "$work" && python3 tests/run_tests.py --dev rxe0 --gid 0 -v \
	>"$work/stdout.txt" 2>"$log")
tail -n 3 "$log"
if [ "${1:-}" = --record ]; then
	python3 "$here/report.py" --record "$log"
	rc=$?
	rm -rf "$work"
	exit $rc
fi
python3 "$here/report.py" "$here/expected-stock.txt" "$log"
rc=$?

# Our own test_hugepage_mr.py (user MRs over 2M hugetlb, THP and 1G hugetlb;
# the suite has none outside ODP), run after the suite from the same copy
# (it imports tests.base and tests.utils) so that the suite's count stays
# stock's. Every one of its tests must pass, on stock as on patched: a skip
# (no hugetlb pages reserved) is "not ok". Log: $LAB_OUT/pyverbs-hugepage.log.
hlog=${LAB_OUT:-$work}/pyverbs-hugepage.log
cp "$here/test_hugepage_mr.py" "$work/tests/" || exit 1
(cd "$work" && python3 tests/run_tests.py --dev rxe0 --gid 0 -v tests.test_hugepage_mr \
	>"$work/stdout-hugepage.txt" 2>"$hlog")
tail -n 3 "$hlog"
python3 - "$here" "$hlog" "$(grep -c '^    def test_' "$here/test_hugepage_mr.py")" <<'EOF' || rc=1
import sys
sys.path.insert(0, sys.argv[1])
import report
log = open(sys.argv[2]).read()
results, errors = report.parse_results(log), report.error_lines(log)
ran, want, bad = report.tests_run(log), int(sys.argv[3]), 0
for tid, (got, detail) in sorted(results.items()):
    if got == report.PASS:
        print(f'ok - pyverbs:{tid}')
    else:
        bad = 1
        print(f'not ok - pyverbs:{tid} ({got}: {errors.get(tid, detail)})')
if ran != want or len(results) != want:
    bad = 1
    print(f'not ok - pyverbs:test_hugepage_mr (ran {ran} of its {want} tests, '
          f'parsed {len(results)})')
sys.exit(bad)
EOF
rm -rf "$work"
exit $rc
