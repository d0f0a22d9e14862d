// SPDX-License-Identifier: GPL-2.0
/*
 * rxe memory-registration correctness test.
 *
 * Registers user memory of every backing (4K anonymous, THP, hugetlb 2M and
 * 1G, memfd, hugetlb memfd, shared anonymous, a tmpfs file) and size on an
 * rxe device, moves data through the MR with RDMA WRITE, RDMA READ and
 * SEND/RECV from a second QP (same device looped back, or a second rxe
 * device across a veth pair), checks sampled bytes, and checks that pins
 * and pinned_vm come back after deregistration. Also: MRs spanning VMAs of
 * different backings, many small MRs, fork and COW, and every bad input
 * with stock 7.3's errno (mr_errors.c, mr_cow.c).
 *
 * Usage: rxe_mr [--dev-a rxe0] [--dev-b rxe1] [--gid 0] [--max 1G] [--max-shared 256M]
 *               [--big-mr SIZE [--big-backing thp] [--expect-big-mr-fail]]
 *               [--prefix NAME:] [--only SUBSTRING]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mr_test.h"

#define PEER_BYTES	(1UL << 20)
#define SMALL_MRS	1000
#define SMALL_SEED	0x51a11ULL

struct mr_rig rig;

static struct {
	const char *dev_a;
	const char *dev_b;
	const char *prefix;
	const char *only;
	int gid;
	size_t max;		/* region per private backing */
	size_t max_shared;	/* region per shared (file or shmem) backing */
	size_t big;
	enum backing big_backing;
	bool expect_big_fail;
} opt = {
	.dev_a = "rxe0",
	.prefix = "",
	.max = SZ_1G,
	.max_shared = 256UL << 20,
	.big_backing = BK_THP,
};

static int failures;

static void set_why(struct outcome *o, enum result res, const char *fmt, va_list ap)
{
	o->res = res;
	vsnprintf(o->why, sizeof(o->why), fmt, ap);
}

void fail(struct outcome *o, const char *fmt, ...)
{
	va_list ap;

	if (o->res == RES_FAIL)
		return;
	va_start(ap, fmt);
	set_why(o, RES_FAIL, fmt, ap);
	va_end(ap);
}

void skip(struct outcome *o, const char *fmt, ...)
{
	va_list ap;

	if (o->res != RES_PASS)
		return;
	va_start(ap, fmt);
	set_why(o, RES_SKIP, fmt, ap);
	va_end(ap);
}

static void print_result(const char *name, const struct outcome *o)
{
	switch (o->res) {
	case RES_PASS:
		printf("ok - %s%s\n", opt.prefix, name);
		break;
	case RES_SKIP:
		printf("skip - %s%s: %s\n", opt.prefix, name, o->why);
		break;
	case RES_FAIL:
		printf("# %s%s: %s\n", opt.prefix, name, o->why);
		printf("not ok - %s%s\n", opt.prefix, name);
		failures++;
		break;
	}
}

/* Format a case name; false if --only leaves the case out. */
static bool case_name(char *name, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(name, len, fmt, ap);
	return !opt.only || strstr(name, opt.only);
}

void run_case(case_fn *fn, const void *arg, const char *fmt, ...)
{
	struct outcome o = { .res = RES_PASS };
	struct pin_mark m;
	char name[128];
	va_list ap;
	bool run;

	va_start(ap, fmt);
	run = case_name(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (!run)
		return;
	if (pin_mark(&m)) {
		fail(&o, "cannot read the pin counters");
	} else {
		fn(&o, arg);
		expect_pinned(&m, 0, 0, &o, "at the end of the case");
	}
	print_result(name, &o);
}

void skip_case(const char *why, const char *fmt, ...)
{
	struct outcome o = { .res = RES_SKIP };
	char name[128];
	va_list ap;
	bool run;

	va_start(ap, fmt);
	run = case_name(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (!run)
		return;
	snprintf(o.why, sizeof(o.why), "%s", why);
	print_result(name, &o);
}

/*
 * Others' pins (virtio-9p I/O) come and go: mark when two reads agree, so
 * that one in flight now is not taken as the baseline.
 */
int pin_mark(struct pin_mark *m)
{
	struct pinbal again;
	int try;

	m->vm_pinned_kb = vm_pinned_kb();
	if (pinbal_read(&m->pins) || m->vm_pinned_kb < 0)
		return -1;
	for (try = 0; try < 10; try++) {
		usleep(try ? 20000 : 1000);
		if (pinbal_read(&again))
			return -1;
		if (again.acquired - again.released == m->pins.acquired - m->pins.released)
			return 0;
		m->pins = again;
	}
	return 0;
}

int expect_pinned(const struct pin_mark *m, long pins, long vm_pages,
		  struct outcome *o, const char *when)
{
	long long got_pins = 0;
	long got_kb = 0;
	int try;

	/* Give others' pins in flight time to go. */
	for (try = 0; try < 10; try++) {
		got_pins = pinbal_delta(&m->pins);
		got_kb = vm_pinned_kb() - m->vm_pinned_kb;
		if (got_pins == pins && got_kb == vm_pages * 4)
			return 0;
		usleep(20000);
	}
	fail(o, "%s: %lld pins and %ld kB more pinned_vm, want %ld and %ld kB",
	     when, got_pins, got_kb, pins, vm_pages * 4);
	return -1;
}

long span_pages(uintptr_t addr, size_t len)
{
	uintptr_t first = addr & ~(SZ_4K - 1);
	uintptr_t end = (addr + len + SZ_4K - 1) & ~(SZ_4K - 1);

	return (end - first) / SZ_4K;
}

struct ibv_mr *reg_mr(void *addr, size_t len, int access)
{
	struct ibv_mr *mr;

	errno = 0;
	mr = ibv_reg_mr(rig.a.pd, addr, len, access);
	return mr;
}

void check_mr(struct outcome *o, char *addr, size_t len,
	      const uintptr_t *edges, int nedges)
{
	long pages = span_pages((uintptr_t)addr, len);
	struct pin_mark m;
	struct ibv_mr *mr;
	struct plan p;

	if (pin_mark(&m) || plan_build(&p, (uintptr_t)addr, len, edges, nedges)) {
		fail(o, "setup failed");
		return;
	}
	mr = reg_mr(addr, len, ACCESS_RW);
	if (!mr) {
		fail(o, "ibv_reg_mr of %zu bytes: %s", len, strerror(errno));
	} else {
		expect_pinned(&m, pages, pages, o, "registered");
		if (mr_verify(&rig, mr, &p, false))
			fail(o, "data test failed");
		if (ibv_dereg_mr(mr))
			fail(o, "ibv_dereg_mr: %s", strerror(errno));
	}
	plan_free(&p);
}

static void size_name(char *buf, size_t buflen, size_t len)
{
	if (len % SZ_1G == 0)
		snprintf(buf, buflen, "%zuG", len / SZ_1G);
	else if (len % (1UL << 20) == 0)
		snprintf(buf, buflen, "%zuM", len >> 20);
	else if (len % 1024 == 0)
		snprintf(buf, buflen, "%zuK", len >> 10);
	else
		snprintf(buf, buflen, "%zuB", len);
}

/* ---- One backing, MRs of several sizes and offsets inside it ---- */

struct variant {
	char name[32];
	size_t off;
	size_t len;
};

/* backing_variants() adds at most 11 */
#define MAX_VARIANTS	12

struct variant_arg {
	const struct region *r;
	const struct variant *v;
};

static void case_variant(struct outcome *o, const void *arg)
{
	const struct variant_arg *a = arg;

	check_mr(o, a->r->addr + a->v->off, a->v->len, NULL, 0);
}

static int add_variant(struct variant *v, int n, size_t region, const char *name,
		       size_t off, size_t len)
{
	if (len == 0 || off + len > region)
		return n;
	if (n >= MAX_VARIANTS) {
		fprintf(stderr, "mr_test: more than %d variants\n", MAX_VARIANTS);
		abort();
	}
	snprintf(v[n].name, sizeof(v[n].name), "%s", name);
	v[n].off = off;
	v[n].len = len;
	return n + 1;
}

/*
 * The MRs registered on a region of @region bytes of @b: 4K; two, four and
 * five pages from the start; two pages across a page boundary (32 bytes) and
 * across a leaf boundary (the last page of one leaf, the first of the next); one 2M leaf;
 * starting 4K into a leaf and ending 4K before a leaf boundary; starting
 * and ending mid-page; 64M; the whole region.
 */
static int backing_variants(enum backing b, size_t region, struct variant *v)
{
	size_t leaf = backing_leaf(b);
	size_t span = leaf < SZ_2M ? 2 * SZ_2M : leaf == SZ_2M ? 2 * leaf : leaf;
	char all[32], size[24];
	int n = 0;

	n = add_variant(v, n, region, "4K", 0, SZ_4K);
	/* rxe keeps tables of up to four entries in the MR, allocates five */
	n = add_variant(v, n, region, "8K", 0, 2 * SZ_4K);
	n = add_variant(v, n, region, "16K", 0, 4 * SZ_4K);
	n = add_variant(v, n, region, "20K", 0, 5 * SZ_4K);
	n = add_variant(v, n, region, "straddle", SZ_4K - 0x10, 0x20);
	if (leaf > SZ_4K)
		n = add_variant(v, n, region, "two-leaves", leaf - SZ_4K, 2 * SZ_4K);
	n = add_variant(v, n, region, "2M", 0, SZ_2M);
	n = add_variant(v, n, region, "inside-leaf", SZ_4K, span - 2 * SZ_4K);
	if (region >= 2 * SZ_2M)
		n = add_variant(v, n, region, "subpage", 3 * SZ_4K + 0x10, SZ_2M + 0x100);
	if (region > 64UL << 20)
		n = add_variant(v, n, region, "64M", 0, 64UL << 20);
	if (region > SZ_2M) {
		size_name(size, sizeof(size), region);
		snprintf(all, sizeof(all), "all-%s", size);
		n = add_variant(v, n, region, all, 0, region);
	}
	return n;
}

struct backing_arg {
	struct region *r;
	enum backing b;
	size_t len;
};

static void case_backing(struct outcome *o, const void *arg)
{
	const struct backing_arg *a = arg;
	char why[200];

	if (region_map(a->r, a->b, a->len, NULL)) {
		fail(o, "cannot map %zu bytes", a->len);
		return;
	}
	if (region_check(a->r, why, sizeof(why)))
		fail(o, "%s", why);
}

static void run_backing(enum backing b)
{
	struct region r = { 0 };
	struct backing_arg barg = { &r, b, 0 };
	struct variant v[MAX_VARIANTS];
	char why[160] = "";
	int n, i;

	barg.len = backing_fit(b, backing_is_shared(b) ? opt.max_shared : opt.max,
			       why, sizeof(why));
	if (!barg.len) {
		skip_case(why, "%s-backing", backing_name(b));
		return;
	}
	run_case(case_backing, &barg, "%s-backing", backing_name(b));
	if (!r.addr)
		return;
	n = backing_variants(b, r.len, v);
	for (i = 0; i < n; i++) {
		struct variant_arg va = { &r, &v[i] };

		run_case(case_variant, &va, "%s-%s", backing_name(b), v[i].name);
	}
	region_unmap(&r);
}

/* ---- One MR across adjacent VMAs of different backings ---- */

static void case_multi_vma(struct outcome *o, const void *arg)
{
	static const struct { enum backing b; size_t len; } parts[] = {
		{ BK_ANON, SZ_2M },
		{ BK_THP, 2 * SZ_2M },
		{ BK_HUGETLB_2M, SZ_2M },
		{ BK_SHMEM, SZ_2M },
	};
	const int nparts = sizeof(parts) / sizeof(parts[0]);
	uintptr_t edges[4];
	size_t total = 0, off = 0;
	char why[200] = "";
	struct region r;
	char *base;
	int i;

	(void)arg;
	for (i = 0; i < nparts; i++)
		total += parts[i].len;
	if (hugetlb_free(SZ_2M) < 1) {
		skip(o, "no free 2M hugetlb page");
		return;
	}
	base = reserve_va(total, SZ_2M);
	if (!base) {
		fail(o, "cannot reserve %zu bytes of address space", total);
		return;
	}
	for (i = 0; i < nparts && o->res == RES_PASS; i++, off += r.len) {
		if (region_map(&r, parts[i].b, parts[i].len, base + off))
			fail(o, "cannot map %s at +%zuM", backing_name(parts[i].b), off >> 20);
		else if (region_check(&r, why, sizeof(why)))
			fail(o, "%s at +%zuM: %s", backing_name(parts[i].b), off >> 20, why);
		edges[i] = (uintptr_t)base + off;
	}
	/* From 4K past the middle of the first part to 4K before the middle of the last. */
	if (o->res == RES_PASS)
		check_mr(o, base + SZ_2M / 2 + SZ_4K, total - SZ_2M / 2 - SZ_2M / 2 - 2 * SZ_4K,
			 edges + 1, nparts - 1);
	munmap(base, total);
}

/* ---- Many small MRs at once ---- */

static uint64_t next_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

static int verify_small(struct ibv_mr *mr)
{
	struct plan p;
	int ret;

	if (plan_build(&p, (uintptr_t)mr->addr, mr->length, NULL, 0))
		return -1;
	ret = mr_verify(&rig, mr, &p, false);
	plan_free(&p);
	return ret;
}

/* Deregister every MR of @mrs[] whose index has parity @odd. */
static void dereg_parity(struct outcome *o, struct ibv_mr **mrs, int n, int odd)
{
	int i;

	for (i = odd; i < n; i += 2) {
		if (mrs[i] && ibv_dereg_mr(mrs[i]))
			fail(o, "ibv_dereg_mr #%d: %s", i, strerror(errno));
		mrs[i] = NULL;
	}
}

/*
 * Pages of @len bytes at @addr of which one directly follows its
 * neighbour in physical memory (pagemap; the guest runs as root), or -1.
 */
static long adjacent_pages(const char *addr, size_t len)
{
	uint64_t ent, prev = 0;
	long adjacent = 0;
	size_t i;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	for (i = 0; i < len / SZ_4K; i++) {
		off_t off = ((uintptr_t)addr / SZ_4K + i) * sizeof(ent);

		/* Bit 63: present; bits 0-54: the PFN (0 unless root) */
		if (pread(fd, &ent, sizeof(ent), off) != sizeof(ent) ||
		    !(ent >> 63) || !(ent & ((1ULL << 55) - 1))) {
			close(fd);
			return -1;
		}
		ent &= (1ULL << 55) - 1;
		adjacent += i && ent == prev + 1;
		prev = ent;
	}
	close(fd);
	return adjacent;
}

#define SCATTER_PAGES	8
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define SCATTER_TRIES	5

/*
 * MRs of 2, 4 and 5 pages of 4K memory in which no page follows its
 * neighbour physically: one rxe table entry a page, so the 2- and 4-entry
 * MRs keep their tables in the MR and the 5-entry one allocates. The pages
 * are faulted in alternately with those of a second mapping, again while
 * some pair ends up adjacent.
 */
static void case_scattered_small(struct outcome *o, const void *arg)
{
	static const int npages[] = { 2, 4, 5 };
	const int most = npages[ARRAY_SIZE(npages) - 1];
	const size_t len = SCATTER_PAGES * SZ_4K;
	struct region r = { 0 }, other = { 0 };
	long adjacent = 1;	/* until pagemap says */
	int try, i;
	size_t off;

	(void)arg;
	for (try = 0; try < SCATTER_TRIES && adjacent > 0; try++) {
		if (try)
			region_unmap(&r);
		r.addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		other.addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		r.len = other.len = len;
		if (r.addr == MAP_FAILED || other.addr == MAP_FAILED) {
			fail(o, "mmap: %s", strerror(errno));
			if (r.addr != MAP_FAILED)
				region_unmap(&r);
			if (other.addr != MAP_FAILED)
				region_unmap(&other);
			return;
		}
		madvise(r.addr, len, MADV_NOHUGEPAGE);
		madvise(other.addr, len, MADV_NOHUGEPAGE);
		for (off = 0; off < len; off += SZ_4K) {
			((volatile char *)r.addr)[off] = 1;
			((volatile char *)other.addr)[off] = 1;
		}
		region_unmap(&other);
		/* Of the pages the MRs use: the last MR is the longest */
		adjacent = adjacent_pages(r.addr, most * SZ_4K);
	}
	if (adjacent < 0)
		fail(o, "pagemap gives no PFNs");
	else if (adjacent)
		skip(o, "%ld pairs of the first %d pages still adjacent after %d tries",
		     adjacent, most, SCATTER_TRIES);
	for (i = 0; i < (int)ARRAY_SIZE(npages) && o->res == RES_PASS; i++)
		check_mr(o, r.addr, npages[i] * SZ_4K, NULL, 0);
	region_unmap(&r);
}

static void case_many_small(struct outcome *o, const void *arg)
{
	size_t len[SMALL_MRS], total = 0, off = 0;
	long pages = 0, even_pages = 0;
	struct ibv_mr **mrs;
	uint64_t seed = SMALL_SEED;
	struct pin_mark m;
	struct region r;
	int i;

	(void)arg;
	for (i = 0; i < SMALL_MRS; i++) {
		len[i] = SZ_4K * (1 + next_rand(&seed) % 16);
		total += len[i];
		pages += len[i] / SZ_4K;
		even_pages += i % 2 ? 0 : len[i] / SZ_4K;
	}
	mrs = calloc(SMALL_MRS, sizeof(*mrs));
	if (!mrs || pin_mark(&m) || region_map(&r, BK_ANON, total, NULL)) {
		fail(o, "setup failed");
		free(mrs);
		return;
	}
	for (i = 0; i < SMALL_MRS && o->res == RES_PASS; off += len[i], i++) {
		mrs[i] = reg_mr(r.addr + off, len[i], ACCESS_RW);
		if (!mrs[i])
			fail(o, "ibv_reg_mr #%d of %zu bytes: %s", i, len[i], strerror(errno));
	}
	if (o->res == RES_PASS)
		expect_pinned(&m, pages, pages, o, "all registered");
	for (i = 0; i < SMALL_MRS && o->res == RES_PASS; i += 97)
		if (verify_small(mrs[i]))
			fail(o, "data test of MR #%d failed", i);
	dereg_parity(o, mrs, SMALL_MRS, 1);
	if (o->res == RES_PASS)
		expect_pinned(&m, even_pages, even_pages, o, "odd ones deregistered");
	for (i = 0; i < SMALL_MRS && o->res == RES_PASS; i += 2 * 61)
		if (verify_small(mrs[i]))
			fail(o, "data test of MR #%d after its neighbours went failed", i);
	dereg_parity(o, mrs, SMALL_MRS, 0);
	free(mrs);
	region_unmap(&r);
}

/* ---- An MR bigger than stock rxe can map ---- */

static void case_big_mr(struct outcome *o, const void *arg)
{
	struct pin_mark m;
	struct ibv_mr *mr;
	struct region r;
	char why[200] = "";
	size_t fit;

	(void)arg;
	fit = backing_fit(opt.big_backing, opt.big, why, sizeof(why));
	if (fit < opt.big) {
		skip(o, "%s: only %zu MiB available %s", backing_name(opt.big_backing),
		     fit >> 20, why);
		return;
	}
	if (region_map(&r, opt.big_backing, opt.big, NULL)) {
		fail(o, "cannot map %zu MiB of %s", opt.big >> 20, backing_name(opt.big_backing));
		return;
	}
	if (region_check(&r, why, sizeof(why)))
		fail(o, "%s", why);
	if (!opt.expect_big_fail) {
		check_mr(o, r.addr, r.len, NULL, 0);
	} else if (!pin_mark(&m)) {
		/* Stock 7.3: one kmalloc of 16 bytes per page in __alloc_mr_page_info. */
		mr = reg_mr(r.addr, r.len, ACCESS_RW);
		if (mr) {
			fail(o, "registered, but --expect-big-mr-fail said stock fails");
			ibv_dereg_mr(mr);
		} else if (errno != ENOMEM) {
			fail(o, "failed with %s, stock fails with ENOMEM", strerrorname_np(errno));
		}
		expect_pinned(&m, 0, 0, o, "after the failed registration");
	}
	region_unmap(&r);
}

/* ---- Options and main ---- */

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'T': case 't': v <<= 10; /* fall through */
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; end++; break;
	case '\0': break;
	default: v = 0;
	}
	if (*end || !v) {
		fprintf(stderr, "bad size '%s'\n", s);
		exit(2);
	}
	return v;
}

static enum backing parse_backing(const char *s)
{
	int b;

	for (b = 0; b < BK_COUNT; b++)
		if (!strcmp(s, backing_name(b)))
			return b;
	fprintf(stderr, "unknown backing '%s'\n", s);
	exit(2);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [options]\n"
		"  --dev-a NAME          device owning the MRs under test (rxe0)\n"
		"  --dev-b NAME          peer device (same as --dev-a: loopback)\n"
		"  --gid N               GID index on both (0)\n"
		"  --max SIZE            largest region per private backing (1G)\n"
		"  --max-shared SIZE     same for the shared ones: memfd, shmem, file (256M)\n"
		"  --big-mr SIZE         also register one MR of SIZE\n"
		"  --big-backing NAME    its backing (thp)\n"
		"  --expect-big-mr-fail  it must fail with ENOMEM (stock 7.3 rxe)\n"
		"  --prefix STR          prepended to every case name\n"
		"  --only STR            run the cases whose name contains STR\n", prog);
	exit(2);
}

static void parse_options(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "dev-a", required_argument, NULL, 'a' },
		{ "dev-b", required_argument, NULL, 'b' },
		{ "gid", required_argument, NULL, 'g' },
		{ "max", required_argument, NULL, 'm' },
		{ "max-shared", required_argument, NULL, 's' },
		{ "big-mr", required_argument, NULL, 'B' },
		{ "big-backing", required_argument, NULL, 'k' },
		{ "expect-big-mr-fail", no_argument, NULL, 'x' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "only", required_argument, NULL, 'o' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'a': opt.dev_a = optarg; break;
		case 'b': opt.dev_b = optarg; break;
		case 'g': opt.gid = atoi(optarg); break;
		case 'm': opt.max = parse_size(optarg); break;
		case 's': opt.max_shared = parse_size(optarg); break;
		case 'B': opt.big = parse_size(optarg); break;
		case 'k': opt.big_backing = parse_backing(optarg); break;
		case 'x': opt.expect_big_fail = true; break;
		case 'p': opt.prefix = optarg; break;
		case 'o': opt.only = optarg; break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc)
		usage(argv[0]);
	if (!opt.dev_b)
		opt.dev_b = opt.dev_a;
}

static void run_big_mr(void)
{
	char size[24];

	if (!opt.big)
		return;
	size_name(size, sizeof(size), opt.big);
	run_case(case_big_mr, NULL, "big-mr-%s-%s%s", size, backing_name(opt.big_backing),
		 opt.expect_big_fail ? "-expect-enomem" : "");
}

int main(int argc, char **argv)
{
	enum backing b;

	parse_options(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# rxe MR test: MRs on %s, peer %s, GID index %d, regions up to %zu MiB (shared %zu MiB)\n",
	       opt.dev_a, opt.dev_b, opt.gid, opt.max >> 20, opt.max_shared >> 20);
	if (rig_open(&rig, opt.dev_a, opt.dev_b, opt.gid, PEER_BYTES)) {
		printf("# cannot connect a QP on %s to one on %s\n", opt.dev_a, opt.dev_b);
		printf("not ok - %ssetup\n", opt.prefix);
		return 1;
	}
	for (b = 0; b < BK_COUNT; b++)
		run_backing(b);
	run_case(case_multi_vma, NULL, "multi-vma");
	run_case(case_many_small, NULL, "many-small");
	run_case(case_scattered_small, NULL, "scattered-small");
	run_cow_cases();
	run_big_mr();
	/*
	 * Last: the RLIMIT_MEMLOCK cases drop and restore CAP_IPC_LOCK, which
	 * gives the process new credentials, and uverbs then refuses write()
	 * commands on the fd opened under the old ones (ib_safe_file_access()).
	 */
	run_error_cases();
	rig_close(&rig);
	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
