# SPDX-License-Identifier: GPL-2.0
"""
RC traffic through user MRs over huge pages: 2M hugetlb (MAP_HUGETLB),
THP (MADV_HUGEPAGE) and one 1G hugetlb page, on the device run_tests.py is
given (rxe0 in the lab). rdma-core's own suite only registers hugetlb memory
through ODP (which rxe rejects with IB_ACCESS_HUGETLB).

Each MR starts inside a huge page, at an offset that is not 4K aligned, and
(except on the single 1G page) runs across huge page boundaries. RDMA WRITE,
RDMA READ and SEND/RECV then move data between two RC QPs, through
scatter/gather lists whose elements straddle the 4K and huge page
boundaries, and every byte is checked from the CPU's side, including guard
bytes either side of each target that must stay as they were.

Runs as part of the suite's package (tests.base, tests.utils): copy it next
to them, e.g. tests/pyverbs/run.sh copies it into its copy of the suite.
"""
import ctypes
import os
import random
import unittest

from pyverbs.mr import MR
from pyverbs.qp import QPAttr, QPCap
from pyverbs.wr import SGE, SendWR, RecvWR
import pyverbs.enums as e

from tests.base import RCResources, RDMATestCase
import tests.utils as u

SZ_4K = 0x1000
SZ_2M = 0x200000
SZ_1G = 0x40000000
PROT_READ, PROT_WRITE = 0x1, 0x2
MAP_PRIVATE, MAP_ANONYMOUS, MAP_HUGETLB = 0x02, 0x20, 0x40000
MAP_HUGE_SHIFT = 26
MADV_HUGEPAGE = 14
MAP_FAILED = ctypes.c_void_p(-1).value
ACCESS = e.IBV_ACCESS_LOCAL_WRITE | e.IBV_ACCESS_REMOTE_WRITE | \
    e.IBV_ACCESS_REMOTE_READ
GUARD = 64      # bytes either side of a target that must not change

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long)
libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def hugetlb_free(size):
    path = f'/sys/kernel/mm/hugepages/hugepages-{size >> 10}kB/free_hugepages'
    try:
        with open(path) as f:
            return int(f.read())
    except OSError:
        return 0


def smaps_field(addr, field):
    """kB of FIELD in the /proc/self/smaps entry of the VMA holding ADDR."""
    inside = False
    with open('/proc/self/smaps') as f:
        for line in f:
            head = line.split()[0]
            if '-' in head and not head.endswith(':'):
                start, end = (int(x, 16) for x in head.split('-'))
                inside = start <= addr < end
            elif inside and line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


class Region:
    """
    LENGTH bytes of pre-faulted anonymous memory aligned to its huge page
    size: 'huge2m' and 'huge1g' (hugetlb) or 'thp' (checked to be backed by
    PMD-mapped THPs). Raises SkipTest when the backing cannot be had.
    """
    def __init__(self, kind, length):
        self.kind, self.length = kind, length
        self.addr = self.map_len = None
        if kind == 'thp':
            self.page = SZ_2M
            self.map_len = length + SZ_2M
            base = self._mmap(self.map_len, MAP_PRIVATE | MAP_ANONYMOUS)
            self.addr = (base + SZ_2M - 1) & ~(SZ_2M - 1)
            self.map_base = base
            if libc.madvise(self.addr, length, MADV_HUGEPAGE):
                raise OSError(ctypes.get_errno(), 'madvise(MADV_HUGEPAGE)')
        else:
            self.page = SZ_2M if kind == 'huge2m' else SZ_1G
            need = length // self.page
            if hugetlb_free(self.page) < need:
                raise unittest.SkipTest(f'{kind}: {need} free hugetlb pages of '
                                        f'{self.page >> 10} kB needed (reserve them)')
            shift = self.page.bit_length() - 1
            self.map_len = length
            self.addr = self.map_base = self._mmap(
                length, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
                (shift << MAP_HUGE_SHIFT))
        for off in range(0, length, self.page):     # pre-fault
            ctypes.memset(self.addr + off, 0xa5, 1)
        if kind == 'thp':
            huge = smaps_field(self.addr, 'AnonHugePages')
            if huge * 1024 < length:
                raise AssertionError(f'thp: only {huge} kB of {length >> 10} kB '
                                     'are PMD-mapped THPs')

    @staticmethod
    def _mmap(length, flags):
        addr = libc.mmap(None, length, PROT_READ | PROT_WRITE, flags, -1, 0)
        if addr in (None, MAP_FAILED):
            err = ctypes.get_errno()
            raise unittest.SkipTest(f'mmap of {length} bytes, flags {flags:#x}: '
                                    f'{os.strerror(err)}')
        return addr

    def close(self):
        if self.map_base is not None:
            libc.munmap(self.map_base, self.map_len)
            self.map_base = None

    def fill(self, off, length, seed):
        data = random.Random(seed).randbytes(length)
        ctypes.memmove(self.addr + off, data, length)
        return data

    def read(self, off, length):
        return ctypes.string_at(self.addr + off, length)


class HugeMRRC(RCResources):
    """An RC QP whose one MR covers [mr_off, mr_off + mr_len) of a Region."""
    def __init__(self, dev_name, ib_port, gid_index, region, mr_off, mr_len):
        self.region, self.mr_off, self.mr_len = region, mr_off, mr_len
        super().__init__(dev_name=dev_name, ib_port=ib_port,
                         gid_index=gid_index, msg_size=mr_len)

    @property
    def base(self):
        return self.region.addr + self.mr_off

    def create_mr(self):
        self.mr = MR(self.pd, self.mr_len, ACCESS, address=self.base)

    def create_qp_cap(self):
        return QPCap(max_send_wr=4, max_recv_wr=4, max_send_sge=4,
                     max_recv_sge=4)

    def create_qp_attr(self):
        attr = QPAttr(port_num=self.ib_port)
        attr.qp_access_flags = ACCESS
        return attr


class HugepageMRTest(RDMATestCase):
    def setUp(self):
        super().setUp()
        self.regions = []
        self.seed = 1

    def tearDown(self):
        for player in (self.client, self.server):
            if player is not None:
                player.ctx.close()      # closes the MR before its memory goes
        for rg in self.regions:
            rg.close()
        super().tearDown()

    def create_players(self, kind, region_len, mrs, shared=False):
        """MRS: (offset in the region, length) of the client's and server's MR."""
        players = []
        for mr_off, mr_len in mrs:
            if not shared or not self.regions:
                self.regions.append(Region(kind, region_len))
            players.append(HugeMRRC(**self.dev_info, region=self.regions[-1],
                                    mr_off=mr_off, mr_len=mr_len))
        self.client, self.server = players
        self.client.pre_run(self.server.psns, self.server.qps_num)
        self.server.pre_run(self.client.psns, self.client.qps_num)

    # --- helpers: offsets are MR offsets (from player.base) ---

    def sgl(self, player, pieces):
        return [SGE(player.base + off, length, player.mr.lkey)
                for off, length in pieces]

    def fill(self, player, pieces):
        out = []
        for off, length in pieces:
            out.append(player.region.fill(player.mr_off + off, length, self.seed))
            self.seed += 1
        return b''.join(out)

    def snapshot(self, player, pieces):
        """The guard bytes around each piece, to check they stay."""
        rg, snaps = player.region, []
        for off, length in pieces:
            lo = max(0, player.mr_off + off - GUARD)
            hi = min(rg.length, player.mr_off + off + length + GUARD)
            snaps.append((lo, rg.read(lo, player.mr_off + off - lo),
                          player.mr_off + off + length,
                          rg.read(player.mr_off + off + length,
                                  hi - player.mr_off - off - length)))
        return snaps

    def check(self, player, pieces, want, snaps, what):
        got = b''.join(player.region.read(player.mr_off + off, length)
                       for off, length in pieces)
        if got != want:
            bad = next(i for i in range(len(want)) if got[i] != want[i])
            self.fail(f'{what}: data differs at byte {bad} of {len(want)} '
                      f'(pieces {[(hex(o), hex(n)) for o, n in pieces]})')
        for lo, before, hi, after in snaps:
            self.assertEqual(player.region.read(lo, len(before)), before,
                             f'{what}: bytes before +{lo:#x} changed')
            self.assertEqual(player.region.read(hi, len(after)), after,
                             f'{what}: bytes after +{hi:#x} changed')

    def post_and_poll(self, player, wr):
        player.qp.post_send(wr)
        u.poll_cq(player.cq)

    def rdma(self, opcode, local, remote_off):
        """One RDMA op from the client's pieces LOCAL at server MR offset."""
        c, s = self.client, self.server
        wr = SendWR(opcode=opcode, num_sge=len(local), sg=self.sgl(c, local),
                    send_flags=e.IBV_SEND_SIGNALED)
        wr.set_wr_rdma(int(s.mr.rkey), s.base + remote_off)
        self.post_and_poll(c, wr)

    def write_read_send(self, local, remote, recv):
        """
        LOCAL: client pieces; REMOTE: server MR offset of the RDMA target
        (as long as LOCAL); RECV: server pieces the SEND lands in.
        """
        c, s = self.client, self.server
        length = sum(n for _, n in local)
        target = [(remote, length)]
        # RDMA WRITE: client pieces -> one server range.
        want = self.fill(c, local)
        self.fill(s, target)
        snaps = self.snapshot(s, target)
        self.rdma(e.IBV_WR_RDMA_WRITE, local, remote)
        self.check(s, target, want, snaps, 'RDMA WRITE')
        # RDMA READ: one server range -> client pieces.
        want = self.fill(s, target)
        self.fill(c, local)
        snaps = self.snapshot(c, local)
        self.rdma(e.IBV_WR_RDMA_READ, local, remote)
        self.check(c, local, want, snaps, 'RDMA READ')
        # SEND/RECV: client pieces -> server pieces.
        self.assertEqual(sum(n for _, n in recv), length)
        want = self.fill(c, local)
        self.fill(s, recv)
        snaps = self.snapshot(s, recv)
        s.qp.post_recv(RecvWR(num_sge=len(recv), sg=self.sgl(s, recv)))
        wr = SendWR(opcode=e.IBV_WR_SEND, num_sge=len(local),
                    sg=self.sgl(c, local), send_flags=e.IBV_SEND_SIGNALED)
        self.post_and_poll(c, wr)
        wc = u.poll_cq(s.cq)[0]
        self.assertEqual(wc.byte_len, length, 'SEND: received length')
        self.check(s, recv, want, snaps, 'SEND')

    def crossing(self, kind):
        """
        The MR starts 0x1234 bytes short of a 4K boundary in the first half
        of the first huge page and ends inside the third, so both huge page
        boundaries lie inside it; transfers straddle them and 4K ones.
        """
        mr = (SZ_2M // 2 - 0x1234, 2 * SZ_2M - 0x4321)
        self.create_players(kind, 3 * SZ_2M, (mr, mr))
        b1 = SZ_2M - mr[0]                      # MR offset of 2M boundary 1
        b2 = b1 + SZ_2M                         # and 2
        # Both ends of the MR, to a few bytes either side of a boundary.
        self.write_read_send(local=[(0, 100), (mr[1] - 100, 100)],
                             remote=b1 - 100, recv=[(b2 - 150, 200)])
        # 2M + 128K across both boundaries, received in two pieces.
        length = SZ_2M + 0x20011
        self.write_read_send(local=[(b1 - 0x10003, length)],
                             remote=b1 - 0x8001,
                             recv=[(b1 - 0x10007, SZ_2M + 0x10007),
                                   (b2 + 0x777, length - SZ_2M - 0x10007)])

    def scattered(self, kind):
        """Several SGEs, each straddling a 2M or 4K boundary."""
        mr = (SZ_2M - 0x10abc, SZ_2M + 0x30000)
        self.create_players(kind, 3 * SZ_2M, (mr, mr))
        b1 = SZ_2M - mr[0]
        b2 = b1 + SZ_2M
        local = [(b1 - 5, 10), (b1 + SZ_4K - 7, SZ_4K + 14),
                 (b1 - 0x8000, 0x7000), (b2 - 0x1803, 0x3000)]
        length = sum(n for _, n in local)
        self.write_read_send(local=local, remote=b1 - length // 2,
                             recv=[(b1 - 1, 2), (0, length - 2 - 9),
                                   (b2 - 4, 9)])

    def test_huge2m_crossing(self):
        self.crossing('huge2m')

    def test_huge2m_scattered(self):
        self.scattered('huge2m')

    def test_thp_crossing(self):
        self.crossing('thp')

    def test_thp_scattered(self):
        self.scattered('thp')

    def test_huge1g_inside(self):
        # Both MRs on one 1G page (the lab reserves one): the client's starts
        # 0x31ff into it, the server's ends at its end; neither is aligned.
        client = (0x31ff, 3 * SZ_2M)
        server = (SZ_1G - 3 * SZ_2M - 0x1ff, 3 * SZ_2M + 0x1ff)
        self.create_players('huge1g', SZ_1G, (client, server), shared=True)
        length = 0x20f + SZ_2M + 9
        end = server[1]
        self.write_read_send(local=[(0, 0x20f), (client[1] - SZ_2M - 9, SZ_2M + 9)],
                             remote=end - length,
                             recv=[(end - 0x300, 0x300), (0xfff, length - 0x300)])
