// SPDX-License-Identifier: GPL-2.0
/*
 * Sampling, patterns and data checks of the rxe MR test: see mr_check.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr_check.h"
#include "mr_mem.h"

#define SAMPLE_BYTES	64
#define EDGE_WINDOW	(8UL << 20)	/* 2M edges sampled this close to either end */
#define STRIDED_PAGES	32
#define RANDOM_PAGES	32
#define RANDOM_SEED	0x5eed1234abcdULL
#define MAX_PAGES	512

struct page_set {
	uintptr_t page[MAX_PAGES];
	int n;
	uintptr_t start, end;	/* the MR */
};

static void add_page(struct page_set *s, uintptr_t addr)
{
	if (addr < s->start || addr >= s->end || s->n == MAX_PAGES)
		return;
	s->page[s->n++] = addr & ~(SZ_4K - 1);
}

/* The pages on both sides of a boundary. */
static void add_edge(struct page_set *s, uintptr_t edge)
{
	add_page(s, edge - SZ_4K);
	add_page(s, edge);
}

static void add_aligned_edges(struct page_set *s, uintptr_t from, uintptr_t to,
			      size_t align)
{
	uintptr_t e;

	for (e = (from + align) & ~(align - 1); e < to && e < s->end; e += align)
		add_edge(s, e);
}

static uint64_t xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static int cmp_addr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

static void collect_pages(struct page_set *s, const uintptr_t *edges, int nedges)
{
	size_t len = s->end - s->start;
	uint64_t seed = RANDOM_SEED;
	int i;

	add_page(s, s->start);
	add_page(s, s->end - 1);
	add_aligned_edges(s, s->start, s->start + EDGE_WINDOW, SZ_2M);
	if (len > EDGE_WINDOW)
		add_aligned_edges(s, s->end - EDGE_WINDOW, s->end, SZ_2M);
	add_aligned_edges(s, s->start, s->end, SZ_1G);
	for (i = 0; i < nedges; i++)
		add_edge(s, edges[i]);
	for (i = 0; i < STRIDED_PAGES; i++)
		add_page(s, s->start + len / STRIDED_PAGES * i);
	for (i = 0; i < RANDOM_PAGES; i++)
		add_page(s, s->start + xorshift(&seed) % len);
	qsort(s->page, s->n, sizeof(s->page[0]), cmp_addr);
}

/* Append [lo, hi) to the plan, merging it with the last chunk if they touch. */
static void add_chunk(struct plan *p, uintptr_t start, uintptr_t lo, uintptr_t hi)
{
	struct chunk *last = p->n ? &p->c[p->n - 1] : NULL;

	if (last && lo <= start + last->off + last->len) {
		uintptr_t last_end = start + last->off + last->len;

		if (hi > last_end)
			last->len += hi - last_end;
		return;
	}
	p->c[p->n].off = lo - start;
	p->c[p->n].len = hi - lo;
	p->n++;
}

int plan_build(struct plan *p, uintptr_t start, size_t len,
	       const uintptr_t *edges, int nedges)
{
	struct page_set *s = calloc(1, sizeof(*s));
	uint32_t peer = 0;
	int i;

	memset(p, 0, sizeof(*p));
	if (!s)
		return -1;
	s->start = start;
	s->end = start + len;
	collect_pages(s, edges, nedges);
	p->c = calloc(2 * s->n, sizeof(*p->c));
	if (!p->c) {
		free(s);
		return -1;
	}
	for (i = 0; i < s->n; i++) {
		uintptr_t lo = s->page[i] > start ? s->page[i] : start;
		uintptr_t hi = s->page[i] + SZ_4K < s->end ? s->page[i] + SZ_4K : s->end;

		add_chunk(p, start, lo, lo + SAMPLE_BYTES < hi ? lo + SAMPLE_BYTES : hi);
		add_chunk(p, start, hi - SAMPLE_BYTES > lo ? hi - SAMPLE_BYTES : lo, hi);
	}
	for (i = 0; i < p->n; i++) {
		p->c[i].peer_off = peer;
		peer += p->c[i].len;
	}
	p->peer_bytes = peer;
	free(s);
	return 0;
}

void plan_free(struct plan *p)
{
	free(p->c);
	memset(p, 0, sizeof(*p));
}

unsigned int pattern_phase(void)
{
	static unsigned int phase;

	return ++phase;
}

static uint8_t pattern(unsigned int phase, uint64_t off)
{
	uint64_t x = ((uint64_t)phase << 44) ^ (off >> 3);

	if (!phase)
		return 0;
	/* splitmix64 finalizer */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x >> ((off & 7) * 8);
}

static void fill(char *dst, uint64_t off, uint32_t len, unsigned int phase)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		dst[i] = pattern(phase, off + i);
}

/* Index of the first byte of @src that is not the pattern, or -1. */
static long mismatch(const char *src, uint64_t off, uint32_t len, unsigned int phase)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		if ((uint8_t)src[i] != pattern(phase, off + i))
			return i;
	return -1;
}

static int report(const struct plan *p, int bad, int first_bad, long at,
		  const char *src, unsigned int phase, const char *what)
{
	const struct chunk *c = &p->c[first_bad];

	if (!bad)
		return 0;
	fprintf(stderr, "# %s: %d of %d samples wrong; first at MR+0x%llx: got 0x%02x want 0x%02x\n",
		what, bad, p->n, (unsigned long long)(c->off + at),
		(uint8_t)src[at], pattern(phase, c->off + at));
	return -1;
}

void plan_fill_mr(const struct plan *p, char *base, unsigned int phase)
{
	int i;

	for (i = 0; i < p->n; i++)
		fill(base + p->c[i].off, p->c[i].off, p->c[i].len, phase);
}

int plan_expect_mr(const struct plan *p, const char *base, unsigned int phase,
		   const char *what)
{
	int i, bad = 0, first_bad = 0;
	long at, first_at = 0;

	for (i = 0; i < p->n; i++) {
		at = mismatch(base + p->c[i].off, p->c[i].off, p->c[i].len, phase);
		if (at >= 0 && !bad++) {
			first_bad = i;
			first_at = at;
		}
	}
	return report(p, bad, first_bad, first_at, base + p->c[first_bad].off, phase, what);
}

static void plan_fill_peer(const struct plan *p, char *peer, unsigned int phase)
{
	int i;

	for (i = 0; i < p->n; i++)
		fill(peer + p->c[i].peer_off, p->c[i].off, p->c[i].len, phase);
}

static int plan_expect_peer(const struct plan *p, const char *peer, unsigned int phase,
			    const char *what)
{
	int i, bad = 0, first_bad = 0;
	long at, first_at = 0;

	for (i = 0; i < p->n; i++) {
		at = mismatch(peer + p->c[i].peer_off, p->c[i].off, p->c[i].len, phase);
		if (at >= 0 && !bad++) {
			first_bad = i;
			first_at = at;
		}
	}
	return report(p, bad, first_bad, first_at, peer + p->c[first_bad].peer_off,
		      phase, what);
}

/* A failed transfer leaves the QPs in error: start over with new ones. */
static int transfer_failed(struct mr_rig *rig, const char *what)
{
	fprintf(stderr, "# %s: transfer failed\n", what);
	if (rig_reconnect(rig))
		fprintf(stderr, "# cannot reconnect the QPs\n");
	return -1;
}

static void clear_peer(struct mr_rig *rig, const struct plan *p)
{
	memset(rig->peer_buf, 0xa5, p->peer_bytes);
}

static int check_fits(const struct mr_rig *rig, const struct plan *p)
{
	if (p->peer_bytes > rig->peer_len) {
		fprintf(stderr, "# %u sampled bytes overflow the peer buffer\n", p->peer_bytes);
		return -1;
	}
	return 0;
}

int mr_read_expect(struct mr_rig *rig, const struct ibv_mr *mr,
		   const struct plan *p, unsigned int phase, const char *what)
{
	if (check_fits(rig, p))
		return -1;
	clear_peer(rig, p);
	if (rig_rdma(rig, IBV_WR_RDMA_READ, mr, p->c, p->n))
		return transfer_failed(rig, what);
	return plan_expect_peer(p, rig->peer_buf, phase, what);
}

int mr_write_expect(struct mr_rig *rig, const struct ibv_mr *mr,
		    const struct plan *p, unsigned int phase, const char *what)
{
	if (check_fits(rig, p))
		return -1;
	plan_fill_peer(p, rig->peer_buf, phase);
	if (rig_rdma(rig, IBV_WR_RDMA_WRITE, mr, p->c, p->n))
		return transfer_failed(rig, what);
	return plan_expect_mr(p, mr->addr, phase, what);
}

static int check_rdma_write(struct mr_rig *rig, const struct ibv_mr *mr,
			    const struct plan *p)
{
	plan_fill_mr(p, mr->addr, pattern_phase());
	return mr_write_expect(rig, mr, p, pattern_phase(), "RDMA WRITE into the MR");
}

static int check_rdma_read(struct mr_rig *rig, const struct ibv_mr *mr,
			   const struct plan *p)
{
	unsigned int phase = pattern_phase();

	plan_fill_mr(p, mr->addr, phase);
	return mr_read_expect(rig, mr, p, phase, "RDMA READ out of the MR");
}

static int check_send_into(struct mr_rig *rig, const struct ibv_mr *mr,
			   const struct plan *p)
{
	const char *what = "SEND into the MR";
	unsigned int phase;

	plan_fill_mr(p, mr->addr, pattern_phase());
	phase = pattern_phase();
	plan_fill_peer(p, rig->peer_buf, phase);
	if (rig_send_to_mr(rig, mr, p->c, p->n))
		return transfer_failed(rig, what);
	return plan_expect_mr(p, mr->addr, phase, what);
}

static int check_send_from(struct mr_rig *rig, const struct ibv_mr *mr,
			   const struct plan *p)
{
	const char *what = "SEND out of the MR";
	unsigned int phase = pattern_phase();

	plan_fill_mr(p, mr->addr, phase);
	clear_peer(rig, p);
	if (rig_send_from_mr(rig, mr, p->c, p->n))
		return transfer_failed(rig, what);
	return plan_expect_peer(p, rig->peer_buf, phase, what);
}

int mr_verify(struct mr_rig *rig, const struct ibv_mr *mr, const struct plan *p,
	      bool read_only)
{
	if (check_fits(rig, p))
		return -1;
	if (!read_only && (check_rdma_write(rig, mr, p) || check_send_into(rig, mr, p)))
		return -1;
	return check_rdma_read(rig, mr, p) || check_send_from(rig, mr, p) ? -1 : 0;
}
