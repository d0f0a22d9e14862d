// SPDX-License-Identifier: GPL-2.0
/*
 * bench_reg_mr: ibv_reg_mr() / ibv_dereg_mr() latency on an RDMA device
 * (rxe0 in the lab guest), by memory kind and MR size.
 *
 * For each kind, the largest size asked for is mapped once and pre-faulted
 * (write touch), so what is timed is registration, not first touch. Then, for
 * each size (the MR is always [base, base + size)):
 *   1. the backing of the MR range is verified (smaps totals and the
 *      kpageflags of every leaf, or of sampled 4K pages): a mismatch aborts
 *      the cell loudly and makes the exit status 1;
 *   2. WARMUP + RUNS reg/dereg pairs, each call timed with CLOCK_MONOTONIC;
 *      the pin balance (nr_foll_pin_acquired - released) must be unchanged;
 *   3. one more registration moves data through the MR: RDMA WRITE and READ
 *      of sampled pages on a looped-back RC QP pair (GID index -g), checked
 *      byte for byte against what the CPU sees, with exactly size/4K pages
 *      pinned while registered and none after; the backing is checked again.
 * A cell prints its CSV lines only if all of that passed:
 *   kind,size,op,n,min_us,median_us,max_us
 *
 * Usage: bench_reg_mr [-d DEV] [-g GID] [-k KINDS] [-s SIZES] [-n RUNS]
 *                     [-w WARMUP]
 *   KINDS  comma list of thp,4k,memfd,huge2m,memfd2m,huge1g (default all)
 *   SIZES  comma list of byte counts with optional K/M/G, multiples of 4K
 * Needs root (PFNs in /proc/self/pagemap, vm/stat_refresh) and enough
 * RLIMIT_MEMLOCK; the hugetlb kinds need their pools reserved.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include <linux/kernel-page-flags.h>
#include "pinbal.h"

#define SZ_4K		(4096UL)
#define SZ_2M		(2UL << 20)
#define SZ_1G		(1UL << 30)
#define HUGE_SHIFT_FLAG(shift)	((unsigned int)(shift) << MAP_HUGE_SHIFT)

#define MAX_SIZES	32
#define MAX_KINDS	8
#define MAX_SAMPLED_4K	4096	/* 4K pages whose flags are read per cell */
#define XFER_LEN	(2 * SZ_4K) /* each sample straddles a 4K boundary */
#define XFER_SAMPLES	16
#define CQ_TIMEOUT_NS	(10LL * 1000 * 1000 * 1000)
#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

enum backing {
	BACK_4K,	/* order-0 pages only */
	BACK_THP,	/* PMD-mapped transparent huge pages */
	BACK_HUGETLB,	/* hugetlb pages of kind->leaf bytes */
};

struct kind {
	const char *name;
	enum backing backing;
	size_t leaf;		/* bytes per leaf the MR must be backed by */
	bool memfd;		/* MAP_SHARED of a memfd instead of anonymous */
	unsigned int flags;	/* extra mmap() or memfd_create() flags */
	int advice;		/* madvise() advice, or -1 */
};

static const struct kind kinds[] = {	/* in the default order: THP first */
	{ "thp", BACK_THP, SZ_2M, false, 0, MADV_HUGEPAGE },
	{ "4k", BACK_4K, SZ_4K, false, 0, MADV_NOHUGEPAGE },
	{ "memfd", BACK_4K, SZ_4K, true, 0, MADV_NOHUGEPAGE },
	{ "huge2m", BACK_HUGETLB, SZ_2M, false,
	  MAP_HUGETLB | HUGE_SHIFT_FLAG(21), -1 },
	{ "memfd2m", BACK_HUGETLB, SZ_2M, true,
	  MFD_HUGETLB | HUGE_SHIFT_FLAG(21), -1 },
	{ "huge1g", BACK_HUGETLB, SZ_1G, false,
	  MAP_HUGETLB | HUGE_SHIFT_FLAG(30), -1 },
};

struct region {
	const struct kind *kind;
	char *base;
	size_t len;
};

struct cell {
	const struct region *rg;
	size_t size;
	char label[64];		/* "kind size" for messages */
};

struct loopback {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp[2];	/* qp[0] posts, qp[1] is its responder */
	char *buf;		/* local side of every transfer */
	struct ibv_mr *buf_mr;
};

struct options {
	const char *dev;
	int gid_index;
	const struct kind *kinds[MAX_KINDS];
	int nkinds;
	size_t sizes[MAX_SIZES];
	int nsizes;
	int runs;
	int warmup;
};

static int pagemap_fd = -1, kpageflags_fd = -1;

/* ---- helpers -------------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}

static void format_size(char *buf, size_t len, size_t size)
{
	if (size >= SZ_1G && !(size % SZ_1G))
		snprintf(buf, len, "%zuG", size / SZ_1G);
	else if (size >= (1UL << 20) && !(size % (1UL << 20)))
		snprintf(buf, len, "%zuM", size >> 20);
	else
		snprintf(buf, len, "%zuK", size >> 10);
}

/* A cell failed: say which and why, loudly, on stderr. */
static bool cell_abort(const struct cell *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool cell_abort(const struct cell *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_reg_mr: ABORT cell %s: ", c->label);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

/* splitmix64: the expected content of every 8-byte word of a transfer. */
static uint64_t pattern_word(uint64_t seed, uint64_t offset)
{
	uint64_t z = seed + offset * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void pattern_fill(void *buf, size_t len, uint64_t seed, size_t offset)
{
	uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = pattern_word(seed, offset + i * 8);
}

/* Byte offset of the first word that differs, or -1 if all match. */
static long pattern_mismatch(const void *buf, size_t len, uint64_t seed,
			     size_t offset)
{
	const uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != pattern_word(seed, offset + i * 8))
			return (long)(i * 8);
	return -1;
}

/* ---- memory --------------------------------------------------------- */

/*
 * A mapping of @len bytes of kind @k. Hugetlb mappings are aligned by the
 * kernel; private anonymous ones are aligned to 2M here, for THP.
 */
static char *map_kind(const struct kind *k, size_t len)
{
	char *p, *aligned;
	int fd;

	if (k->memfd) {
		fd = memfd_create("bench_reg_mr", MFD_CLOEXEC | k->flags);
		if (fd < 0)
			return NULL;
		p = ftruncate(fd, len) ? MAP_FAILED :
		    mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		return p == MAP_FAILED ? NULL : p;
	}
	if (k->backing == BACK_HUGETLB) {	/* the kernel aligns these */
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | k->flags, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	p = mmap(NULL, len + SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | k->flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	aligned = (char *)round_up((uintptr_t)p, SZ_2M);
	if (aligned > p)
		munmap(p, aligned - p);
	if (p + SZ_2M > aligned)
		munmap(aligned + len, p + SZ_2M - aligned);
	return aligned;
}

static bool region_map(struct region *rg, const struct kind *k, size_t len)
{
	size_t off;

	rg->kind = k;
	rg->len = round_up(len, k->leaf);
	rg->base = map_kind(k, rg->len);
	if (!rg->base) {
		fprintf(stderr, "bench_reg_mr: %s: cannot map %zu bytes: %s\n",
			k->name, rg->len, strerror(errno));
		return false;
	}
	if (k->advice >= 0 && madvise(rg->base, rg->len, k->advice)) {
		fprintf(stderr, "bench_reg_mr: %s: madvise: %s\n", k->name,
			strerror(errno));
		return false;
	}
	for (off = 0; off < rg->len; off += SZ_4K)	/* pre-fault */
		((volatile char *)rg->base)[off] = 1;
	return true;
}

static void region_unmap(struct region *rg)
{
	if (rg->base)
		munmap(rg->base, rg->len);
	rg->base = NULL;
}

/* ---- backing verification ------------------------------------------- */

struct smaps_vma {
	uintptr_t start, end;
	unsigned long kernel_page_kb, rss_kb, anon_huge_kb, shmem_pmd_kb,
		file_pmd_kb, hugetlb_kb;
};

static void smaps_field(struct smaps_vma *v, const char *name,
			unsigned long kb)
{
	if (!strcmp(name, "KernelPageSize"))
		v->kernel_page_kb = kb;
	else if (!strcmp(name, "Rss"))
		v->rss_kb = kb;
	else if (!strcmp(name, "AnonHugePages"))
		v->anon_huge_kb = kb;
	else if (!strcmp(name, "ShmemPmdMapped"))
		v->shmem_pmd_kb = kb;
	else if (!strcmp(name, "FilePmdMapped"))
		v->file_pmd_kb = kb;
	else if (!strcmp(name, "Shared_Hugetlb") ||
		 !strcmp(name, "Private_Hugetlb"))
		v->hugetlb_kb += kb;
}

/* The smaps entry of the VMA that contains @addr. */
static bool smaps_find(uintptr_t addr, struct smaps_vma *v)
{
	char line[512], name[64];
	unsigned long start, end, kb;
	bool in = false, found = false;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			if (in)
				break;
			in = addr >= start && addr < end;
			if (in) {
				memset(v, 0, sizeof(*v));
				v->start = start;
				v->end = end;
				found = true;
			}
		} else if (in && sscanf(line, "%63[^:]: %lu kB", name, &kb) == 2) {
			smaps_field(v, name, kb);
		}
	}
	fclose(f);
	return found;
}

static bool check_smaps(const struct cell *c, const char *base, size_t size)
{
	const struct kind *k = c->rg->kind;
	unsigned long need_kb = round_up(size, k->leaf) / 1024;
	struct smaps_vma v;

	if (!smaps_find((uintptr_t)base, &v))
		return cell_abort(c, "no VMA in /proc/self/smaps");
	if ((uintptr_t)base + size > v.end)
		return cell_abort(c, "MR spans more than one VMA");
	if (v.kernel_page_kb * 1024 != (k->backing == BACK_HUGETLB ? k->leaf : SZ_4K))
		return cell_abort(c, "smaps KernelPageSize %lu kB", v.kernel_page_kb);
	switch (k->backing) {
	case BACK_4K:
		if (v.anon_huge_kb || v.shmem_pmd_kb || v.file_pmd_kb)
			return cell_abort(c, "smaps shows PMD mappings (AnonHugePages %lu ShmemPmdMapped %lu FilePmdMapped %lu kB)",
					  v.anon_huge_kb, v.shmem_pmd_kb, v.file_pmd_kb);
		if (v.rss_kb < size / 1024)
			return cell_abort(c, "smaps Rss %lu kB: not all faulted in", v.rss_kb);
		break;
	case BACK_THP:
		if (v.anon_huge_kb < need_kb)
			return cell_abort(c, "smaps AnonHugePages %lu kB < %lu kB",
					  v.anon_huge_kb, need_kb);
		break;
	case BACK_HUGETLB:
		if (v.hugetlb_kb < need_kb)
			return cell_abort(c, "smaps *_Hugetlb %lu kB < %lu kB",
					  v.hugetlb_kb, need_kb);
		break;
	}
	return true;
}

/* PFN and kpageflags of the page mapped at @addr. */
static bool page_info(const void *addr, uint64_t *pfn, uint64_t *flags)
{
	uint64_t ent;
	off_t off = (uintptr_t)addr / SZ_4K * sizeof(ent);

	if (pread(pagemap_fd, &ent, sizeof(ent), off) != sizeof(ent))
		return false;
	if (!(ent & (1ULL << 63)))		/* not present */
		return false;
	*pfn = ent & ((1ULL << 55) - 1);
	if (!*pfn)				/* PFNs hidden: not root */
		return false;
	return pread(kpageflags_fd, flags, sizeof(*flags),
		     *pfn * sizeof(*flags)) == sizeof(*flags);
}

#define KPF(bit) (1ULL << KPF_##bit)

static bool check_small_page(const struct cell *c, const char *addr)
{
	uint64_t pfn, flags;

	if (!page_info(addr, &pfn, &flags))
		return cell_abort(c, "no PFN for %p (not present, or not root)", addr);
	if (flags & (KPF(COMPOUND_HEAD) | KPF(COMPOUND_TAIL) | KPF(THP) | KPF(HUGE)))
		return cell_abort(c, "page at %p (pfn %#" PRIx64 ") is part of a large folio, kpageflags %#" PRIx64,
				  addr, pfn, flags);
	return true;
}

/*
 * The leaf at @head: its first and last 4K pages are the head and a tail of
 * one compound page of the right type, physically contiguous and aligned.
 */
static bool check_leaf(const struct cell *c, const char *head)
{
	const struct kind *k = c->rg->kind;
	uint64_t type = k->backing == BACK_THP ? KPF(THP) : KPF(HUGE);
	uint64_t nr = k->leaf / SZ_4K, pfn, last_pfn, flags, last_flags;

	if (!page_info(head, &pfn, &flags) ||
	    !page_info(head + k->leaf - SZ_4K, &last_pfn, &last_flags))
		return cell_abort(c, "no PFN for the leaf at %p (not present, or not root)", head);
	if (!(flags & type) || !(flags & KPF(COMPOUND_HEAD)) ||
	    !(last_flags & type) || !(last_flags & KPF(COMPOUND_TAIL)))
		return cell_abort(c, "leaf at %p is not one %zu kB %s page: kpageflags head %#" PRIx64 " last %#" PRIx64,
				  head, k->leaf >> 10,
				  k->backing == BACK_THP ? "THP" : "hugetlb",
				  flags, last_flags);
	if (pfn % nr || last_pfn != pfn + nr - 1)
		return cell_abort(c, "leaf at %p: pfn %#" PRIx64 "..%#" PRIx64 " not an aligned %zu kB run",
				  head, pfn, last_pfn, k->leaf >> 10);
	return true;
}

static bool check_pages(const struct cell *c, const char *base, size_t size)
{
	const struct kind *k = c->rg->kind;
	size_t off, stride;

	if (k->backing != BACK_4K) {
		for (off = 0; off < size; off += k->leaf)
			if (!check_leaf(c, base + off))
				return false;
		return true;
	}
	stride = round_up(size / SZ_4K, MAX_SAMPLED_4K) / MAX_SAMPLED_4K * SZ_4K;
	for (off = 0; off < size; off += stride)
		if (!check_small_page(c, base + off))
			return false;
	return check_small_page(c, base + size - SZ_4K);
}

static bool check_backing(const struct cell *c)
{
	return check_smaps(c, c->rg->base, c->size) &&
	       check_pages(c, c->rg->base, c->size);
}

/* ---- RDMA loopback -------------------------------------------------- */

static struct ibv_context *open_device(const char *name)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	int i, n;

	list = ibv_get_device_list(&n);
	if (!list)
		return NULL;
	errno = ENODEV;
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	return ctx;
}

static struct ibv_qp *create_qp(struct loopback *lb)
{
	struct ibv_qp_init_attr init = {
		.send_cq = lb->cq,
		.recv_cq = lb->cq,
		.cap = { .max_send_wr = 4, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 1,
	};
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_INIT,
		.port_num = 1,
		.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
	};
	struct ibv_qp *qp = ibv_create_qp(lb->pd, &init);

	if (qp && ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
				IBV_QP_PORT | IBV_QP_ACCESS_FLAGS)) {
		ibv_destroy_qp(qp);
		return NULL;
	}
	return qp;
}

/* INIT -> RTR -> RTS, with QP @peer_qpn on the same port and GID as remote. */
static int connect_qp(struct ibv_qp *qp, uint32_t peer_qpn, int gid_index,
		      const union ibv_gid *gid, enum ibv_mtu mtu)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = mtu,
		.dest_qp_num = peer_qpn,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.grh = { .dgid = *gid, .sgid_index = gid_index,
				 .hop_limit = 1 },
			.port_num = 1,
		},
	};

	if (ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_AV |
			  IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		return -1;
	memset(&attr, 0, sizeof(attr));
	attr.qp_state = IBV_QPS_RTS;
	attr.timeout = 14;
	attr.retry_cnt = 7;
	attr.rnr_retry = 7;
	attr.max_rd_atomic = 1;
	return ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

static bool loopback_open(struct loopback *lb, const char *dev, int gid_index)
{
	struct ibv_port_attr port;
	union ibv_gid gid;
	const char *step;

	step = "open device";
	lb->ctx = open_device(dev);
	if (!lb->ctx)
		goto fail;
	step = "query port/GID";
	if (ibv_query_port(lb->ctx, 1, &port) ||
	    ibv_query_gid(lb->ctx, 1, gid_index, &gid))
		goto fail;
	step = "PD/CQ/QPs";
	lb->pd = ibv_alloc_pd(lb->ctx);
	lb->cq = lb->pd ? ibv_create_cq(lb->ctx, 8, NULL, NULL, 0) : NULL;
	lb->qp[0] = lb->cq ? create_qp(lb) : NULL;
	lb->qp[1] = lb->qp[0] ? create_qp(lb) : NULL;
	if (!lb->qp[1])
		goto fail;
	step = "connect QPs";
	if (connect_qp(lb->qp[0], lb->qp[1]->qp_num, gid_index, &gid, port.active_mtu) ||
	    connect_qp(lb->qp[1], lb->qp[0]->qp_num, gid_index, &gid, port.active_mtu))
		goto fail;
	step = "local buffer";
	lb->buf = aligned_alloc(SZ_4K, XFER_LEN);
	lb->buf_mr = lb->buf ? ibv_reg_mr(lb->pd, lb->buf, XFER_LEN, MR_ACCESS) : NULL;
	if (!lb->buf_mr)
		goto fail;
	return true;
fail:
	fprintf(stderr, "bench_reg_mr: %s (GID index %d): %s failed: %s\n", dev,
		gid_index, step, strerror(errno));
	return false;
}

/* Post one RDMA op between the local buffer and @remote, wait for it. */
static bool rdma_op(struct loopback *lb, enum ibv_wr_opcode op,
		    struct ibv_mr *mr, const char *remote, size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)lb->buf, .length = len, .lkey = lb->buf_mr->lkey,
	};
	struct ibv_send_wr wr = {
		.sg_list = &sge, .num_sge = 1, .opcode = op,
		.wr.rdma = { .remote_addr = (uintptr_t)remote, .rkey = mr->rkey },
	}, *bad;
	int64_t deadline = now_ns() + CQ_TIMEOUT_NS;
	struct ibv_wc wc;
	int n;

	if (ibv_post_send(lb->qp[0], &wr, &bad))
		return false;
	while (!(n = ibv_poll_cq(lb->cq, 1, &wc)) && now_ns() < deadline)
		;
	if (n == 1 && wc.status != IBV_WC_SUCCESS)
		fprintf(stderr, "bench_reg_mr: %s: %s\n",
			op == IBV_WR_RDMA_WRITE ? "RDMA WRITE" : "RDMA READ",
			ibv_wc_status_str(wc.status));
	return n == 1 && wc.status == IBV_WC_SUCCESS;
}

/*
 * WRITE a pattern over another one at @off and check the CPU sees it there;
 * then write a third with the CPU and check a READ brings it back. Seeds are
 * never reused, so what an earlier cell left in memory cannot pass for it.
 */
static bool transfer_check(const struct cell *c, struct loopback *lb,
			   struct ibv_mr *mr, size_t off, size_t len)
{
	static uint64_t next_seed = 1;
	uint64_t seed = next_seed;
	char *at = c->rg->base + off;
	long bad;

	next_seed += 3;
	pattern_fill(at, len, seed + 2, off);
	pattern_fill(lb->buf, len, seed, off);
	if (!rdma_op(lb, IBV_WR_RDMA_WRITE, mr, at, len))
		return cell_abort(c, "RDMA WRITE of %zu bytes at +%#zx failed", len, off);
	bad = pattern_mismatch(at, len, seed, off);
	if (bad >= 0)
		return cell_abort(c, "RDMA WRITE at +%#zx: memory differs at +%#zx",
				  off, off + bad);
	pattern_fill(at, len, seed + 1, off);
	memset(lb->buf, 0, len);
	if (!rdma_op(lb, IBV_WR_RDMA_READ, mr, at, len))
		return cell_abort(c, "RDMA READ of %zu bytes at +%#zx failed", len, off);
	bad = pattern_mismatch(lb->buf, len, seed + 1, off);
	if (bad >= 0)
		return cell_abort(c, "RDMA READ at +%#zx: data differs at +%#zx",
				  off, off + bad);
	return true;
}

/* Sampled transfers: both ends and XFER_SAMPLES - 1 straddling points. */
static bool transfers_check(const struct cell *c, struct loopback *lb,
			    struct ibv_mr *mr)
{
	size_t len = c->size < XFER_LEN ? c->size : XFER_LEN;
	size_t off, i;

	for (i = 0; i <= XFER_SAMPLES; i++) {
		off = c->size / XFER_SAMPLES * i;
		off = off >= SZ_4K ? off - SZ_4K : 0;
		if (off + len > c->size)
			off = c->size - len;
		if (!transfer_check(c, lb, mr, off / SZ_4K * SZ_4K, len))
			return false;
	}
	return true;
}

/* ---- one cell ------------------------------------------------------- */

struct samples {
	double *reg_us, *dereg_us;
};

static bool time_reg_dereg(const struct cell *c, struct loopback *lb,
			   const struct options *o, struct samples *s)
{
	struct ibv_mr *mr;
	int64_t t0, t1, t2;
	int i;

	for (i = 0; i < o->warmup + o->runs; i++) {
		t0 = now_ns();
		mr = ibv_reg_mr(lb->pd, c->rg->base, c->size, MR_ACCESS);
		t1 = now_ns();
		if (!mr)
			return cell_abort(c, "ibv_reg_mr: %s", strerror(errno));
		if (ibv_dereg_mr(mr))
			return cell_abort(c, "ibv_dereg_mr: %s", strerror(errno));
		t2 = now_ns();
		if (i >= o->warmup) {
			s->reg_us[i - o->warmup] = (t1 - t0) / 1000.0;
			s->dereg_us[i - o->warmup] = (t2 - t1) / 1000.0;
		}
	}
	return true;
}

/* Register once more, check pins and data, deregister, check pins. */
static bool verify_mr(const struct cell *c, struct loopback *lb)
{
	long long want = c->size / SZ_4K, d;
	struct pinbal pb;
	struct ibv_mr *mr;
	bool ok;

	if (pinbal_read(&pb))
		return cell_abort(c, "cannot read the pin balance");
	mr = ibv_reg_mr(lb->pd, c->rg->base, c->size, MR_ACCESS);
	if (!mr)
		return cell_abort(c, "ibv_reg_mr: %s", strerror(errno));
	d = pinbal_delta(&pb);
	ok = d == want ? true :
	     cell_abort(c, "%lld pages pinned while registered, want %lld", d, want);
	ok = ok && transfers_check(c, lb, mr);
	if (ibv_dereg_mr(mr))
		return cell_abort(c, "ibv_dereg_mr: %s", strerror(errno));
	d = pinbal_delta(&pb);
	if (ok && d)
		return cell_abort(c, "pin balance %+lld after deregistration", d);
	return ok;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void print_stats(const struct cell *c, const char *op, double *v, int n)
{
	double median;

	qsort(v, n, sizeof(*v), cmp_double);
	median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	printf("%s,%zu,%s,%d,%.3f,%.3f,%.3f\n", c->rg->kind->name, c->size, op,
	       n, v[0], median, v[n - 1]);
}

static bool run_cell(const struct cell *c, struct loopback *lb,
		     const struct options *o, struct samples *s)
{
	struct pinbal pb;
	long long d;

	if (!check_backing(c))
		return false;
	if (pinbal_read(&pb))
		return cell_abort(c, "cannot read the pin balance");
	if (!time_reg_dereg(c, lb, o, s))
		return false;
	d = pinbal_delta(&pb);
	if (d)
		return cell_abort(c, "pin balance %+lld after %d reg/dereg pairs",
				  d, o->warmup + o->runs);
	if (!verify_mr(c, lb) || !check_backing(c))
		return false;
	print_stats(c, "reg", s->reg_us, o->runs);
	print_stats(c, "dereg", s->dereg_us, o->runs);
	fflush(stdout);
	return true;
}

/* Every size of one kind, on one region as large as the largest. */
static int run_kind(const struct kind *k, struct loopback *lb,
		    const struct options *o, struct samples *s)
{
	struct region rg = { 0 };
	struct cell c = { .rg = &rg };
	size_t max = 0;
	int i, failed = 0;
	int64_t t0 = now_ns();
	char sz[24];

	for (i = 0; i < o->nsizes; i++)
		max = o->sizes[i] > max ? o->sizes[i] : max;
	if (!region_map(&rg, k, max)) {
		region_unmap(&rg);
		fprintf(stderr, "bench_reg_mr: ABORT kind %s: no memory to test\n", k->name);
		return o->nsizes;
	}
	format_size(sz, sizeof(sz), rg.len);
	fprintf(stderr, "bench_reg_mr: %s: %s mapped and faulted in %.1f ms\n",
		k->name, sz, (now_ns() - t0) / 1e6);
	for (i = 0; i < o->nsizes; i++) {
		c.size = o->sizes[i];
		format_size(sz, sizeof(sz), c.size);
		snprintf(c.label, sizeof(c.label), "%s %s", k->name, sz);
		t0 = now_ns();
		if (run_cell(&c, lb, o, s))
			fprintf(stderr, "bench_reg_mr: %s: ok (%.1f s)\n", c.label,
				(now_ns() - t0) / 1e9);
		else
			failed++;
	}
	region_unmap(&rg);
	return failed;
}

/* ---- options -------------------------------------------------------- */

static const struct kind *find_kind(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	return NULL;
}

static bool parse_size(const char *s, size_t *size)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': v <<= 10; /* fall through */
	case 'M': v <<= 10; /* fall through */
	case 'K': v <<= 10; end++; break;
	}
	*size = v;
	return !*end && v && !(v % SZ_4K);
}

static bool parse_list(char *arg, struct options *o, bool sizes)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (sizes) {
			if (o->nsizes == MAX_SIZES || !parse_size(tok, &o->sizes[o->nsizes]))
				return false;
			o->nsizes++;
		} else {
			if (o->nkinds == MAX_KINDS || !(o->kinds[o->nkinds] = find_kind(tok)))
				return false;
			o->nkinds++;
		}
	}
	return true;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_reg_mr [-d DEV] [-g GID_INDEX] [-k KINDS] [-s SIZES] [-n RUNS] [-w WARMUP]\n"
		"  KINDS: comma list of thp,4k,memfd,huge2m,memfd2m,huge1g (default: all)\n"
		"  SIZES: comma list, K/M/G suffixes, multiples of 4K (default 4K,64K,1M,16M,256M,512M,1G)\n"
		"  output: kind,size,op,n,min_us,median_us,max_us\n");
	exit(2);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	char defaults[] = "4K,64K,1M,16M,256M,512M,1G";
	size_t i;
	int opt;

	*o = (struct options){ .dev = "rxe0", .runs = 20, .warmup = 3 };
	while ((opt = getopt(argc, argv, "d:g:k:s:n:w:")) != -1) {
		switch (opt) {
		case 'd': o->dev = optarg; break;
		case 'g': o->gid_index = atoi(optarg); break;
		case 'k': if (!parse_list(optarg, o, false)) usage(); break;
		case 's': if (!parse_list(optarg, o, true)) usage(); break;
		case 'n': o->runs = atoi(optarg); break;
		case 'w': o->warmup = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || o->runs < 1 || o->warmup < 0)
		usage();
	if (!o->nsizes)
		parse_list(defaults, o, true);
	if (!o->nkinds)
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			o->kinds[o->nkinds++] = &kinds[i];
}

int main(int argc, char **argv)
{
	struct loopback lb = { 0 };
	struct options o;
	struct samples s;
	int i, failed = 0;

	parse_options(argc, argv, &o);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
	if (pagemap_fd < 0 || kpageflags_fd < 0) {
		perror("bench_reg_mr: /proc/self/pagemap or /proc/kpageflags");
		return 1;
	}
	s.reg_us = calloc(o.runs, sizeof(double));
	s.dereg_us = calloc(o.runs, sizeof(double));
	if (!s.reg_us || !s.dereg_us || !loopback_open(&lb, o.dev, o.gid_index))
		return 1;
	printf("kind,size,op,n,min_us,median_us,max_us\n");
	for (i = 0; i < o.nkinds; i++)
		failed += run_kind(o.kinds[i], &lb, &o, &s);
	if (failed)
		fprintf(stderr, "bench_reg_mr: %d cell(s) ABORTED\n", failed);
	return failed ? 1 : 0;
}
