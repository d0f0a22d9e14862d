#!/bin/sh
# rdma-core's own pyverbs suite (python3-pyverbs) on rxe0, judged against
# what stock 7.3 does (expected-stock.txt): one "ok - pyverbs:<id>" /
# "not ok - ..." / "skip - ...: why" line per test, plus pyverbs:suite for
# the number of tests run. The ODP hugetlb tests need 2M pages reserved
# (run-guest.sh --huge2m), or they skip and count as not ok.
#
#   run.sh            check against expected-stock.txt
#   run.sh --record   print a new expected set (the comments are by hand)
# The raw unittest log is kept in $LAB_OUT/pyverbs.log.
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
else
	python3 "$here/report.py" "$here/expected-stock.txt" "$log"
fi
rc=$?
rm -rf "$work"
exit $rc
