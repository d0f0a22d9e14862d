#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""scatter.py MIB: leave the free 4K pages so that the next anonymous mapping
of MIB MiB is physically scattered, and say what was seen.

Freed 4K pages come back out of the free lists last in, first out. A
mapping faulted in in address order on ascending PFNs (a few long runs, as
in a freshly booted guest) and then freed hands its pages to the next
mapping of that size in descending order: one PFN run a page. Freeing
that one turns the order round again. So this maps MIB MiB (no THP),
faults it in, counts its PFN runs (/proc/self/pagemap, as root) and frees
it, until one such mapping was mostly ascending runs (at most 16 tries);
the next mapping, gup_test's in bench_gup.sh's 4k-scattered kind, should
then be scattered. Prints the runs of each try; exits 3 if no try was
ascending (the layout of the next mapping is then not known), 1 on any
error.

This is a prediction, not a measurement of the next mapping: the per-CPU
lists hold only a few thousand pages, the rest goes back to the buddy
allocator, and another process may allocate in between. Checked in the
lab's 1-vCPU icount guest (256 MiB, a probe mapping in place of gup_test's):
4 of 4 next mappings were about 60000 runs of 65536 pages.
"""
import ctypes
import mmap
import struct
import sys

PAGE = 4096


def fault_in(size):
    m = mmap.mmap(-1, size)
    m.madvise(mmap.MADV_NOHUGEPAGE)
    for i in range(0, size, PAGE):
        m[i] = 1
    return m


def pfn_runs(m, size):
    buf = ctypes.c_char.from_buffer(m)
    addr = ctypes.addressof(buf)
    del buf
    with open('/proc/self/pagemap', 'rb') as f:
        f.seek(addr // PAGE * 8)
        data = f.read(size // PAGE * 8)
    runs, prev = 0, None
    for (entry,) in struct.iter_unpack('<Q', data):
        pfn = entry & ((1 << 55) - 1)
        if not entry >> 63 or not pfn:
            sys.exit('scatter.py: page not present or no PFN in /proc/self/pagemap (not root?)')
        if prev is None or pfn != prev + 1:
            runs += 1
        prev = pfn
    return runs


def main():
    size = int(sys.argv[1]) << 20
    pages = size // PAGE
    seen = []
    for _ in range(16):
        m = fault_in(size)
        runs = pfn_runs(m, size)
        m.close()
        seen.append(str(runs))
        if runs <= pages // 8:
            print(' '.join(seen))
            return
    print(' '.join(seen))
    sys.exit(3)


main()
