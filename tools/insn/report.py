#!/usr/bin/env python3
"""Instructions per function in calls stepped by step.py.

  report.py VMLINUX PCS [CALL]                   per function, one call
  report.py VMLINUX_A PCS_A VMLINUX_B PCS_B [CALL]  A against B, what differs
  report.py --annotate FUNC VMLINUX PCS [CALL]   objdump of FUNC with counts

CALL is the index of the stepped call (default -1, the last). A count is
exact: every instruction executed once counts 1, a rep-prefixed one once
per iteration, as QEMU's icount does.
"""
import bisect
import collections
import subprocess
import sys


def symbols(vmlinux):
    out = subprocess.run(["nm", "-n", vmlinux], capture_output=True,
                         text=True, check=True).stdout
    addrs, names = [], []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "tTwW":
            addrs.append(int(f[0], 16))
            names.append(f[2])
    return addrs, names


def calls(path):
    res, cur = [], []
    with open(path) as f:
        for line in f:
            if line.startswith("END"):
                res.append(cur)
                cur = []
            else:
                cur.append(int(line, 16))
    if not res:
        sys.exit(f"{path}: no complete call")
    return res


def per_function(pcs, syms):
    addrs, names = syms
    c = collections.Counter()
    for pc in pcs:
        c[names[bisect.bisect_right(addrs, pc) - 1]] += 1
    return c


def annotate(func, vmlinux, pcs):
    addrs, names = symbols(vmlinux)
    i = names.index(func)
    c = collections.Counter(pcs)
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn",
                          "--start-address=%#x" % addrs[i],
                          "--stop-address=%#x" % addrs[i + 1], vmlinux],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        try:
            pc = int(line.strip().split(":")[0], 16)
        except ValueError:
            continue
        print(f"{c.get(pc, 0):6d} {line.strip()}")


def main(argv):
    if argv and argv[0] == "--annotate":
        func, vm, path = argv[1:4]
        idx = int(argv[4]) if len(argv) > 4 else -1
        annotate(func, vm, calls(path)[idx])
        return
    if len(argv) in (2, 3):
        idx = int(argv[2]) if len(argv) > 2 else -1
        pcs = calls(argv[1])[idx]
        print(f"total {len(pcs)}")
        for name, n in per_function(pcs, symbols(argv[0])).most_common():
            print(f"{n:8d} {name}")
        return
    if len(argv) not in (4, 5):
        sys.exit(__doc__)
    idx = int(argv[4]) if len(argv) > 4 else -1
    a = per_function(calls(argv[1])[idx], symbols(argv[0]))
    b = per_function(calls(argv[3])[idx], symbols(argv[2]))
    print(f"total {sum(a.values())} {sum(b.values())} "
          f"{sum(b.values()) - sum(a.values()):+d}")
    for name in sorted(set(a) | set(b), key=lambda k: -abs(b[k] - a[k])):
        if a[name] != b[name]:
            print(f"{name:45s} {a[name]:8d} {b[name]:8d} {b[name] - a[name]:+8d}")


if __name__ == "__main__":
    main(sys.argv[1:])
