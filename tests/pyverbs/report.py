#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the verbose unittest log of rdma-core's pyverbs suite into
"ok - " / "not ok - " / "skip - " lines, judged against the outcomes stock
7.3 is known to have (expected-stock.txt).

  report.py EXPECTED LOG     check LOG against EXPECTED
  report.py --record LOG     print LOG's total and non-passing tests in
                             EXPECTED's format

Each test is reported once, as pyverbs:<id> with the leading "tests." of its
unittest id dropped. A test is "not ok" when it fails or errors and stock
does not, or when stock passes it and it now skips. Besides the per-test
lines, the log itself is checked: the number of tests run must equal the
expected total, and every result unittest lists in its summary must have
been parsed from the verbose lines.
"""
import re
import sys

PASS, FAIL, ERROR, SKIP = 'PASS', 'FAIL', 'ERROR', 'SKIP'
NOT_PASSING = (FAIL, ERROR, SKIP)

# "name (id)" optionally followed by the docstring's first line on its own
# line, then " ... STATUS" (see unittest.runner.TextTestResult).
RESULT_RE = re.compile(
    r'^(\w+) \(([\w.]+)\)(?:\n[^\n]*?)? \.\.\. '
    r'(ok|FAIL|ERROR|skipped (\'.*\'|".*")|expected failure|unexpected success)$',
    re.M)
SUMMARY_RE = re.compile(r'^(FAIL|ERROR): (\w+) \(([\w.]+)\)$', re.M)
RAN_RE = re.compile(r'^Ran (\d+) tests? in ', re.M)
SEPARATOR = '-' * 70
FIXTURES = ('setUpClass', 'tearDownClass', 'setUpModule', 'tearDownModule')


def short_id(name, paren):
    """unittest id of a result, without the suite's package name."""
    tid = paren if paren.endswith('.' + name) else f'{paren}.{name}'
    return tid.removeprefix('tests.')


def outcome_of(status):
    if status == 'ok':
        return PASS, ''
    if status.startswith('skipped '):
        return SKIP, status[len('skipped '):][1:-1]
    if status in (FAIL, ERROR):
        return status, ''
    # The suite uses neither expectedFailure nor subtests: treat any such
    # status as something to look at.
    return ERROR, status


def parse_results(log):
    """{id: (outcome, detail)} from the verbose per-test lines."""
    results = {}
    for m in RESULT_RE.finditer(log):
        results[short_id(m[1], m[2])] = outcome_of(m[3])
    return results


def error_lines(log):
    """{id: last line of its traceback} from unittest's closing summary."""
    lines = {}
    for m in SUMMARY_RE.finditer(log):
        block = log[m.end():].split('\n' + '=' * 70, 1)[0]
        block = block.split('\n' + SEPARATOR + '\nRan ', 1)[0]
        last = [l for l in block.splitlines() if l.strip() and l != SEPARATOR]
        lines[short_id(m[2], m[3])] = last[-1].strip() if last else m[1]
    return lines


def tests_run(log):
    m = RAN_RE.search(log)
    return int(m[1]) if m else None


def read_expected(path):
    """(total, {id: (outcome, note)}) from EXPECTED; '#' starts a comment."""
    total, expected = None, {}
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            words = line.split(None, 2)
            if words[0] == 'total':
                total = int(words[1])
            else:
                expected[words[0]] = (words[1], words[2] if len(words) > 2 else '')
    return total, expected


def judge(tid, got, detail, want, note):
    """One result line for test TID."""
    name = f'pyverbs:{tid}'
    if got == SKIP and want == SKIP:
        return f'skip - {name}: {detail}'
    if got == PASS:
        if want in (FAIL, ERROR):
            return f'ok - {name} (passes; stock has {want}: {note})'
        return f'ok - {name}'
    if got == want:
        return f'ok - {name} (expected {got} on stock: {note})'
    if got == SKIP:
        return f'not ok - {name} (skipped, stock has {want or PASS}: {detail})'
    what = f'{got}: {detail}' if detail else got
    return f'not ok - {name} ({what}; stock has {want or PASS})'


def check_log(results, errors, ran, total):
    """Lines for the log as a whole: counts and parse consistency."""
    lines = []
    tests = [t for t in results if t.rsplit('.', 1)[-1] not in FIXTURES]
    if ran is None:
        lines.append('not ok - pyverbs:suite (no "Ran N tests" line: it did not finish)')
    elif ran != total:
        lines.append(f'not ok - pyverbs:suite (ran {ran} tests, stock runs {total})')
    elif len(tests) != ran:
        lines.append(f'not ok - pyverbs:suite (parsed {len(tests)} results of {ran})')
    else:
        lines.append(f'ok - pyverbs:suite (ran {ran} tests, as stock does)')
    unparsed = sorted(t for t in errors if t not in results)
    for tid in unparsed:
        lines.append(f'not ok - pyverbs:{tid} (in the summary only: {errors[tid]})')
    return lines


def check(expected_path, log):
    total, expected = read_expected(expected_path)
    results = parse_results(log)
    errors = error_lines(log)
    bad = False
    for tid, (got, detail) in results.items():
        want, note = expected.get(tid, (None, ''))
        line = judge(tid, got, errors.get(tid, detail), want, note)
        bad |= line.startswith('not ok')
        print(line)
    for line in check_log(results, errors, tests_run(log), total):
        bad |= line.startswith('not ok')
        print(line)
    return 1 if bad else 0


def record(log):
    results = parse_results(log)
    print(f'total {tests_run(log)}')
    for tid in sorted(results):
        got, _ = results[tid]
        if got in NOT_PASSING:
            print(f'{tid} {got}')
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == '--record':
        with open(argv[2]) as f:
            return record(f.read())
    if len(argv) == 3:
        with open(argv[2]) as f:
            return check(argv[1], f.read())
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
