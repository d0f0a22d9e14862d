#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""ktap.py MANIFEST

Turn the kselftest TAP output of mm selftest runs into
"ok - mm:NAME:<test>" / "not ok - ..." / "skip - ...: why" lines. Each
MANIFEST line names one run: "NAME<tab>EXIT_STATUS<tab>SINGLE<tab>OUTPUT"
(one file of output per run; one Python start for all of them, which under
TCG matters).

  ok N desc                 ok
  ok N desc # XFAIL why     ok, with the note (a known, accepted failure)
  ok N # XFAIL desc         (kselftest.h puts the name after the directive
  ok N # SKIP desc           when the test names itself; the reason is then
                             the last "# " message printed since its [RUN])
  ok N # XPASS desc         not ok: an expected failure that passed
  not ok N ...              not ok
  Bail out! / 1..0 # SKIP   not ok / skip for the program as a whole

With SINGLE 1 (a program that reports one result, such as gup_test's
"ioctl status 0"), the result is named mm:NAME and its text becomes a note.

The run itself is "not ok - mm:NAME" when the program exited non-zero (and
not with kselftest's skip code 4), when it printed no result, or when the
number of results differs from its plan; a GUP benchmark that reports
"truncated" (fewer pages than asked for) is also not ok.
"""
import re
import sys

KSFT_SKIP = 4
RESULT_RE = re.compile(r'^(not ok|ok) (\d+)(?: (.*))?$')
DIRECTIVE_RE = re.compile(r'(?:^| )# (SKIP|XFAIL|XPASS|error)(?: (.*))?$')
PLAN_RE = re.compile(r'^1\.\.(\d+)(?: # SKIP ?(.*))?$')


def split_result(rest):
    """(desc, directive, text after the directive) of a result line."""
    m = DIRECTIVE_RE.search(rest)
    if not m:
        return rest.split(' #  ', 1)[0].strip(), '', ''
    return rest[:m.start()].strip(), m[1], (m[2] or '').strip()


def result_line(prefix, tap, rest, message, single):
    desc, directive, text = split_result(rest)
    if not desc:
        desc, text = text, ''
    if single and desc:
        desc, text = '', text or desc
    why = text or message or 'no reason given'
    name = f'{prefix}:{desc}' if desc else prefix
    if tap == 'not ok':
        return f'not ok - {name}' + (f' ({why})' if message or text else '')
    if directive == 'SKIP':
        return f'skip - {name}: {why}'
    if directive == 'XFAIL':
        return f'ok - {name} (XFAIL: {why})'
    if directive == 'XPASS':
        return f'not ok - {name} (XPASS: expected to fail, passed)'
    if directive == 'error':
        return f'not ok - {name} (error: {why})'
    return f'ok - {name}'


def convert(prefix, lines, single):
    """Result lines for PREFIX's output, and what the run itself needs."""
    out, plan, message, truncated, bail = [], None, '', False, ''
    for line in lines:
        line = line.rstrip('\n')
        if line.startswith('# '):
            text = line[2:].strip()
            if text.startswith('[RUN]'):
                message = ''
            elif not text.startswith(('[INFO]', 'Totals:')):
                message = text
            truncated |= 'truncated' in text.lower()
            continue
        m = PLAN_RE.match(line)
        if m:
            plan = int(m[1])
            if plan == 0:
                out.append(f'skip - {prefix}: {m[2] or "no reason given"}')
            continue
        if line.startswith('Bail out!'):
            bail = line[len('Bail out!'):].strip()
            continue
        m = RESULT_RE.match(line)
        if m:
            out.append(result_line(prefix, m[1], m[3] or '', message, single))
            message = ''
    return out, plan, truncated, bail


def run_verdict(prefix, status, results, plan, truncated, bail):
    """The line for the program run as a whole, or None if all is well."""
    if bail:
        return f'not ok - {prefix} (bail out: {bail})'
    if truncated:
        return f'not ok - {prefix} (GUP returned fewer pages than asked for)'
    if plan == 0 and status == KSFT_SKIP:
        return None
    if status not in (0, KSFT_SKIP):
        return f'not ok - {prefix} (exit status {status})'
    if not results:
        return f'not ok - {prefix} (printed no result)'
    if plan is not None and plan != len(results):
        return f'not ok - {prefix} (planned {plan} tests, reported {len(results)})'
    return None


def convert_run(name, status, single, output):
    """Lines for one program run; True as well if any is not ok."""
    prefix = f'mm:{name}'
    with open(output, errors='replace') as f:
        results, plan, truncated, bail = convert(prefix, f, single)
    verdict = run_verdict(prefix, status, results, plan, truncated, bail)
    lines = results + ([verdict] if verdict else [])
    return lines, any(l.startswith('not ok') for l in lines)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    bad = False
    with open(argv[1]) as manifest:
        for entry in manifest:
            name, status, single, output = entry.rstrip('\n').split('\t')
            lines, failed = convert_run(name, int(status), single == '1', output)
            print('\n'.join(lines))
            bad |= failed
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
