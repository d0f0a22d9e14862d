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
 *
 * --mem-report (-M) measures memory instead of time: for each kind and size
 * (default 1G), MEM_REPS times, the kernel memory one registration holds,
 * as /proc/meminfo deltas between before ibv_reg_mr and after it (per-CPU
 * counters folded by vm/stat_refresh first): SUnreclaim + VmallocUsed is
 * what the MR holds in kmalloc/vmalloc (kmalloc_large pages count in
 * SUnreclaim), MemFree's drop also counts pages taken straight from the page
 * allocator (scatterlist chunks), and both are scaled to one registered GiB.
 * After deregistration SUnreclaim + VmallocUsed must be back within
 * MEM_NOISE_KB. Exactly size/4K pages must be pinned while registered.
 *   mem,kind,size,reps,held_kib,sunreclaim_kib,vmalloc_kib,slab_kib,
 *   memfree_drop_kib,held_kib_per_gib,memfree_kib_per_gib,residual_kib
 * (medians over the reps; memory figures, not timing).
 *
 * --max-mr (-X) probes the largest MR of each kind: sizes (default
 * 512M,1G,1536M,2G,3G,4G) are tried in order, each on a fresh mapping, until
 * one does not fit in free memory or its registration fails; a registration
 * that succeeds moves data (the sampled RDMA WRITE/READ checks) and must pin
 * exactly size/4K pages. /dev/kmsg is read after every ibv_reg_mr for
 * "WARNING:" records.
 *   maxmr,kind,size,result,errno,kernel_warn,reg_ms_qemu_tcg
 *   maxmr_largest,kind,largest_ok,stopped_at,why
 * (result: ok, fail (ibv_reg_mr failed), nomem (no room to map it; not a
 * registration failure), backing (not backed as the kind says).)
 * Either mode checks at the end that the pin balance is what it was at the
 * start, exactly.
 *
 * Usage: bench_reg_mr [-d DEV] [-g GID] [-k KINDS] [-s SIZES] [-n RUNS]
 *                     [-w WARMUP] [--mem-report] [--max-mr]
 *   KINDS  comma list of thp,4k,memfd,4k-scattered,memfd-scattered,huge2m,
 *          memfd2m,huge1g (default all)
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
#include "bench_backing.h"
#include "pinbal.h"


#define MAX_SIZES	32
#define MAX_KINDS	8
#define XFER_LEN	(2 * SZ_4K) /* each sample straddles a 4K boundary */
#define XFER_SAMPLES	16
#define CQ_TIMEOUT_NS	(10LL * 1000 * 1000 * 1000)
#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)
#define MEM_REPS	3	/* registrations measured per --mem-report cell */
#define MEM_NOISE_KB	256	/* what dereg may leave behind, in KiB */
#define MEM_MARGIN	(256UL << 20) /* room a 4K/THP/shmem probe leaves free */

static const struct kind kinds[] = {	/* in the default order: THP first */
	{ "thp", BACK_THP, SZ_2M, false, 0, MADV_HUGEPAGE, false },
	{ "4k", BACK_4K, SZ_4K, false, 0, MADV_NOHUGEPAGE, false },
	{ "memfd", BACK_4K, SZ_4K, true, 0, MADV_NOHUGEPAGE, false },
	{ "4k-scattered", BACK_4K, SZ_4K, false, 0, MADV_NOHUGEPAGE, true },
	{ "memfd-scattered", BACK_4K, SZ_4K, true, 0, MADV_NOHUGEPAGE, true },
	{ "huge2m", BACK_HUGETLB, SZ_2M, false,
	  MAP_HUGETLB | HUGE_SHIFT_FLAG(21), -1, false },
	{ "memfd2m", BACK_HUGETLB, SZ_2M, true,
	  MFD_HUGETLB | HUGE_SHIFT_FLAG(21), -1, false },
	{ "huge1g", BACK_HUGETLB, SZ_1G, false,
	  MAP_HUGETLB | HUGE_SHIFT_FLAG(30), -1, false },
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
	bool mem_report;	/* --mem-report instead of timing */
	bool max_mr;		/* --max-mr instead of timing */
};


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

/*
 * Fault in a scattered kind's pages one by one in turn with those of a
 * second mapping of the same kind, then free the second: whichever way the
 * allocator hands out consecutive pages, neighbours in the region are then
 * not neighbours in physical memory (the cell's check aborts if any are), as in
 * a long-running system, and each page is an extent and an sg entry.
 * Needs twice the region's memory while it runs.
 */
static bool fault_in_scattered(struct region *rg)
{
	char *other = map_kind(rg->kind, rg->len);
	size_t off;

	if (!other) {
		fprintf(stderr, "bench_reg_mr: %s: cannot map %zu bytes: %s\n",
			rg->kind->name, rg->len, strerror(errno));
		return false;
	}
	if (rg->kind->advice >= 0 && madvise(other, rg->len, rg->kind->advice)) {
		fprintf(stderr, "bench_reg_mr: %s: madvise: %s\n",
			rg->kind->name, strerror(errno));
		munmap(other, rg->len);
		return false;
	}
	for (off = 0; off < rg->len; off += SZ_4K) {
		((volatile char *)rg->base)[off] = 1;
		((volatile char *)other)[off] = 1;
	}
	munmap(other, rg->len);
	return true;
}

static bool region_map_once(struct region *rg, const struct kind *k, size_t len)
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
	if (k->scattered)
		return fault_in_scattered(rg);
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

/*
 * Map and fault in a region. A scattered kind is faulted in again, up to
 * SCATTER_TRIES times, while some page follows its neighbour physically:
 * with two vCPUs the task can move between CPUs (and per-CPU page lists)
 * during the fault-in, and a pair can end up adjacent (seen once: 1 of
 * 4096 pages, in a 2-vCPU make bench boot). The cell's backing check
 * still refuses what this leaves.
 */
#define SCATTER_TRIES	4

static bool region_map(struct region *rg, const struct kind *k, size_t len)
{
	const char *why;
	int try;

	for (try = 1; ; try++) {
		if (!region_map_once(rg, k, len))
			return false;
		if (!k->scattered || try == SCATTER_TRIES ||
		    backing_adjacent_pages(rg->base, rg->len, &why) <= 0)
			return true;
		region_unmap(rg);
	}
}

/* ---- backing verification: bench_backing.c ------------------------- */

static bool check_backing(const struct cell *c)
{
	const struct backing_cell bc = {
		c->rg->kind, c->rg->base, c->size, c->label
	};

	return backing_check(&bc);
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

/* ---- --mem-report and --max-mr --------------------------------------- */

struct meminfo {
	long long slab_kb, sunreclaim_kb, vmalloc_kb, free_kb, avail_kb;
};

/* /proc/meminfo, after folding the per-CPU vmstat deltas into it. */
static bool meminfo_read(struct meminfo *m)
{
	char line[256], name[64];
	long long kb;
	FILE *f;

	f = fopen("/proc/sys/vm/stat_refresh", "w");
	if (!f)
		return false;
	fputs("1\n", f);
	if (fclose(f))
		return false;
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return false;
	memset(m, 0xff, sizeof(*m));	/* all -1 */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %lld", name, &kb) != 2)
			continue;
		if (!strcmp(name, "Slab"))
			m->slab_kb = kb;
		else if (!strcmp(name, "SUnreclaim"))
			m->sunreclaim_kb = kb;
		else if (!strcmp(name, "VmallocUsed"))
			m->vmalloc_kb = kb;
		else if (!strcmp(name, "MemFree"))
			m->free_kb = kb;
		else if (!strcmp(name, "MemAvailable"))
			m->avail_kb = kb;
	}
	fclose(f);
	return m->slab_kb >= 0 && m->sunreclaim_kb >= 0 && m->vmalloc_kb >= 0 &&
	       m->free_kb >= 0 && m->avail_kb >= 0;
}

static long long held_kb(const struct meminfo *m)
{
	return m->sunreclaim_kb + m->vmalloc_kb;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static long long median_ll(long long *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_ll);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { M_HELD, M_SUNRECLAIM, M_VMALLOC, M_SLAB, M_FREE, M_RESIDUAL, M_NR };

/* One registration of the cell's MR, measured; @d gets the M_* deltas. */
static bool mem_measure(const struct cell *c, struct ibv_pd *pd, long long *d)
{
	long long want = c->size / SZ_4K, pins;
	struct meminfo m0, m1, m2;
	struct pinbal pb;
	struct ibv_mr *mr;

	if (pinbal_read(&pb) || !meminfo_read(&m0))
		return cell_abort(c, "cannot read the pin balance or /proc/meminfo");
	mr = ibv_reg_mr(pd, c->rg->base, c->size, MR_ACCESS);
	if (!mr)
		return cell_abort(c, "ibv_reg_mr: %s", strerror(errno));
	if (!meminfo_read(&m1))
		return cell_abort(c, "cannot read /proc/meminfo");
	pins = pinbal_delta(&pb);
	if (ibv_dereg_mr(mr))
		return cell_abort(c, "ibv_dereg_mr: %s", strerror(errno));
	if (!meminfo_read(&m2))
		return cell_abort(c, "cannot read /proc/meminfo");
	if (pins != want)
		return cell_abort(c, "%lld pages pinned while registered, want %lld",
				  pins, want);
	pins = pinbal_delta(&pb);
	if (pins)
		return cell_abort(c, "pin balance %+lld after deregistration", pins);
	d[M_HELD] = held_kb(&m1) - held_kb(&m0);
	d[M_SUNRECLAIM] = m1.sunreclaim_kb - m0.sunreclaim_kb;
	d[M_VMALLOC] = m1.vmalloc_kb - m0.vmalloc_kb;
	d[M_SLAB] = m1.slab_kb - m0.slab_kb;
	d[M_FREE] = m0.free_kb - m1.free_kb;
	d[M_RESIDUAL] = held_kb(&m2) - held_kb(&m0);
	return true;
}

static bool mem_cell(const struct cell *c, struct ibv_pd *pd)
{
	long long d[MEM_REPS][M_NR], v[MEM_REPS], med[M_NR];
	double per_gib = (double)SZ_1G / c->size;
	int i, r;

	if (!check_backing(c))
		return false;
	for (r = 0; r < MEM_REPS; r++)
		if (!mem_measure(c, pd, d[r]))
			return false;
	for (i = 0; i < M_NR; i++) {
		for (r = 0; r < MEM_REPS; r++)
			v[r] = d[r][i];
		med[i] = median_ll(v, MEM_REPS);
	}
	if (med[M_RESIDUAL] > MEM_NOISE_KB || med[M_RESIDUAL] < -MEM_NOISE_KB)
		return cell_abort(c, "SUnreclaim + VmallocUsed %+lld kB after deregistration (noise: %d kB)",
				  med[M_RESIDUAL], MEM_NOISE_KB);
	if (!check_backing(c))
		return false;
	printf("mem,%s,%zu,%d,%lld,%lld,%lld,%lld,%lld,%.0f,%.0f,%lld\n",
	       c->rg->kind->name, c->size, MEM_REPS, med[M_HELD],
	       med[M_SUNRECLAIM], med[M_VMALLOC], med[M_SLAB], med[M_FREE],
	       med[M_HELD] * per_gib, med[M_FREE] * per_gib, med[M_RESIDUAL]);
	fflush(stdout);
	return true;
}

/* Every size of one kind, on one region as large as the largest. */
static int mem_kind(const struct kind *k, struct ibv_pd *pd,
		    const struct options *o)
{
	struct region rg = { 0 };
	struct cell c = { .rg = &rg };
	size_t max = 0;
	int i, failed = 0;
	char sz[24];

	for (i = 0; i < o->nsizes; i++)
		max = o->sizes[i] > max ? o->sizes[i] : max;
	if (!region_map(&rg, k, max)) {
		region_unmap(&rg);
		fprintf(stderr, "bench_reg_mr: ABORT kind %s: no memory to test\n", k->name);
		return o->nsizes;
	}
	for (i = 0; i < o->nsizes; i++) {
		c.size = o->sizes[i];
		format_size(sz, sizeof(sz), c.size);
		snprintf(c.label, sizeof(c.label), "%s %s", k->name, sz);
		if (!mem_cell(&c, pd))
			failed++;
	}
	region_unmap(&rg);
	return failed;
}

/* Free pages of @k's hugetlb size, or -1. */
static long hugetlb_free(const struct kind *k)
{
	char path[96];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages",
		 k->leaf >> 10);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* Whether a region of @size bytes of @k can be faulted in without the OOM killer. */
static bool mem_fits(const struct kind *k, size_t size)
{
	struct meminfo m;

	if (k->backing == BACK_HUGETLB)
		return hugetlb_free(k) >= (long)(round_up(size, k->leaf) / k->leaf);
	return meminfo_read(&m) &&
	       (size_t)m.avail_kb * 1024 >= round_up(size, SZ_2M) + MEM_MARGIN;
}

/*
 * Kernel log records since the last call that hold "WARNING:" (each is
 * echoed to stderr). @fd is /dev/kmsg opened non-blocking at its end.
 */
static int kmsg_warnings(int fd)
{
	char rec[8192];
	ssize_t n;
	int warns = 0;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (n <= 0)
			return warns;
		rec[n] = 0;
		if (strstr(rec, "WARNING:")) {
			warns++;
			fprintf(stderr, "bench_reg_mr: kernel: %s", strchr(rec, ';') ?
				strchr(rec, ';') + 1 : rec);
		}
	}
}

enum probe { PROBE_OK, PROBE_FAIL, PROBE_NOMEM, PROBE_BACKING, PROBE_BROKEN };

static const char *const probe_names[] = {
	"ok", "fail", "nomem", "backing", "broken",
};

/* Register c->size bytes once; PROBE_BROKEN if it registered but misbehaved. */
static enum probe probe_one(const struct cell *c, struct loopback *lb, int kmsg,
			    int *err, int *warns, double *reg_ms)
{
	long long want = c->size / SZ_4K, d;
	struct pinbal pb;
	struct ibv_mr *mr;
	int64_t t0;
	bool ok;

	if (pinbal_read(&pb)) {
		cell_abort(c, "cannot read the pin balance");
		return PROBE_BROKEN;
	}
	kmsg_warnings(kmsg);
	t0 = now_ns();
	mr = ibv_reg_mr(lb->pd, c->rg->base, c->size, MR_ACCESS);
	*err = mr ? 0 : errno;
	*reg_ms = (now_ns() - t0) / 1e6;
	*warns = kmsg_warnings(kmsg);
	if (!mr) {
		d = pinbal_delta(&pb);
		if (d) {
			cell_abort(c, "pin balance %+lld after a failed ibv_reg_mr", d);
			return PROBE_BROKEN;
		}
		return PROBE_FAIL;
	}
	d = pinbal_delta(&pb);
	ok = d == want ? true :
	     cell_abort(c, "%lld pages pinned while registered, want %lld", d, want);
	ok = ok && transfers_check(c, lb, mr);
	if (ibv_dereg_mr(mr))
		ok = cell_abort(c, "ibv_dereg_mr: %s", strerror(errno));
	d = pinbal_delta(&pb);
	if (ok && d)
		ok = cell_abort(c, "pin balance %+lld after deregistration", d);
	return ok ? PROBE_OK : PROBE_BROKEN;
}

/* Sizes in order until one does not map or does not register. */
static int max_mr_kind(const struct kind *k, struct loopback *lb, int kmsg,
		       const struct options *o)
{
	struct region rg = { 0 };
	struct cell c = { .rg = &rg };
	enum probe res = PROBE_OK;
	size_t largest = 0;
	double reg_ms;
	int i, err, warns;
	char sz[24], big[24];

	for (i = 0; i < o->nsizes && res == PROBE_OK; i++) {
		c.size = o->sizes[i];
		format_size(sz, sizeof(sz), c.size);
		snprintf(c.label, sizeof(c.label), "%s %s", k->name, sz);
		err = warns = 0;
		reg_ms = 0;
		if (!mem_fits(k, c.size) || !region_map(&rg, k, c.size))
			res = PROBE_NOMEM;
		else if (!check_backing(&c))
			res = PROBE_BACKING;
		else
			res = probe_one(&c, lb, kmsg, &err, &warns, &reg_ms);
		region_unmap(&rg);
		printf("maxmr,%s,%zu,%s,%s,%d,%.1f\n", k->name, c.size,
		       probe_names[res], err ? strerrorname_np(err) : "-", warns,
		       reg_ms);
		fflush(stdout);
		if (res == PROBE_OK)
			largest = c.size;
	}
	format_size(big, sizeof(big), largest);
	printf("maxmr_largest,%s,%s,%s,%s\n", k->name, largest ? big : "none",
	       res == PROBE_OK ? "-" : sz,
	       res == PROBE_OK ? "all sizes registered" : probe_names[res]);
	fflush(stdout);
	return res == PROBE_BROKEN || res == PROBE_BACKING;
}

/* --mem-report or --max-mr over every kind, pin balance checked at the end. */
static int mem_main(struct loopback *lb, const struct options *o)
{
	struct pinbal pb;
	long long d;
	int i, kmsg = -1, failed = 0;

	if (pinbal_read(&pb)) {
		fprintf(stderr, "bench_reg_mr: cannot read the pin balance\n");
		return 1;
	}
	if (o->mem_report) {
		printf("# kernel memory held by one registered MR (KiB; memory figures, not timing)\n");
		printf("mem,kind,size,reps,held_kib,sunreclaim_kib,vmalloc_kib,slab_kib,memfree_drop_kib,held_kib_per_gib,memfree_kib_per_gib,residual_kib\n");
		for (i = 0; i < o->nkinds; i++)
			failed += mem_kind(o->kinds[i], lb->pd, o);
	} else {
		kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
		if (kmsg < 0 || lseek(kmsg, 0, SEEK_END) < 0) {
			perror("bench_reg_mr: /dev/kmsg");
			return 1;
		}
		printf("# largest MR per kind; reg_ms is QEMU TCG time, not hardware timing\n");
		printf("maxmr,kind,size,result,errno,kernel_warn,reg_ms_qemu_tcg\n");
		for (i = 0; i < o->nkinds; i++)
			failed += max_mr_kind(o->kinds[i], lb, kmsg, o);
		close(kmsg);
	}
	d = pinbal_delta(&pb);
	if (d) {
		fprintf(stderr, "bench_reg_mr: ABORT: pin balance %+lld at the end\n", d);
		failed++;
	} else {
		fprintf(stderr, "bench_reg_mr: pin balance exact at the end\n");
	}
	if (failed)
		fprintf(stderr, "bench_reg_mr: %d cell(s) ABORTED\n", failed);
	return failed ? 1 : 0;
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
		"                    [-M|--mem-report] [-X|--max-mr]\n"
		"  KINDS: comma list of thp,4k,memfd,4k-scattered,memfd-scattered,huge2m,\n"
		"         memfd2m,huge1g (default: all)\n"
		"  SIZES: comma list, K/M/G suffixes, multiples of 4K (default 4K,64K,1M,16M,256M,512M,1G;\n"
		"         --mem-report: 1G; --max-mr: 512M,1G,1536M,2G,3G,4G)\n"
		"  output: kind,size,op,n,min_us,median_us,max_us\n"
		"  --mem-report: kernel memory one MR holds (see the source for the columns)\n"
		"  --max-mr: the largest MR of each kind that registers\n");
	exit(2);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "mem-report", no_argument, NULL, 'M' },
		{ "max-mr", no_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	char timing[] = "4K,64K,1M,16M,256M,512M,1G", mem[] = "1G",
	     probe[] = "512M,1G,1536M,2G,3G,4G";
	size_t i;
	int opt;

	*o = (struct options){ .dev = "rxe0", .runs = 20, .warmup = 3 };
	while ((opt = getopt_long(argc, argv, "d:g:k:s:n:w:MX", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'M': o->mem_report = true; break;
		case 'X': o->max_mr = true; break;
		case 'd': o->dev = optarg; break;
		case 'g': o->gid_index = atoi(optarg); break;
		case 'k': if (!parse_list(optarg, o, false)) usage(); break;
		case 's': if (!parse_list(optarg, o, true)) usage(); break;
		case 'n': o->runs = atoi(optarg); break;
		case 'w': o->warmup = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || o->runs < 1 || o->warmup < 0 ||
	    (o->mem_report && o->max_mr))
		usage();
	if (!o->nsizes)
		parse_list(o->mem_report ? mem : o->max_mr ? probe : timing, o, true);
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
	if (!backing_open("bench_reg_mr"))
		return 1;
	s.reg_us = calloc(o.runs, sizeof(double));
	s.dereg_us = calloc(o.runs, sizeof(double));
	if (!s.reg_us || !s.dereg_us || !loopback_open(&lb, o.dev, o.gid_index))
		return 1;
	if (o.mem_report || o.max_mr)
		return mem_main(&lb, &o);
	printf("kind,size,op,n,min_us,median_us,max_us\n");
	for (i = 0; i < o.nkinds; i++)
		failed += run_kind(o.kinds[i], &lb, &o, &s);
	if (failed)
		fprintf(stderr, "bench_reg_mr: %d cell(s) ABORTED\n", failed);
	return failed ? 1 : 0;
}
