// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of mm/gup_vec.c, which is included here as is, against the
 * independent reference in ref.h. Every check is counted; the last line is
 * "N passed, M failed" and the exit status is non-zero if M is.
 *
 * Usage: gup_vec_test [seed]
 */
#include "../../mm/gup_vec.c"

static unsigned long passed, failed;

static void expect(bool ok, const char *file, int line, const char *what)
{
	if (ok) {
		passed++;
		return;
	}
	if (failed++ < 25)
		fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
}

#define EXPECT(cond)	expect(!!(cond), __FILE__, __LINE__, #cond)

#include "harness.h"

static u64 rng_state = 0x9e3779b97f4a7c15ull;

static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned long rnd_below(unsigned long n)
{
	return n ? rnd() % n : 0;
}

/*
 * A random valid range, often adjacent to the last extent, often aligned,
 * sometimes a zero page or at a section or pgmap boundary. Like the pin
 * walker, asks for nomerge where the pgmap changes.
 */
static void rnd_range(const struct h *h, unsigned long *pfn,
		      unsigned long *npages, bool *nomerge, unsigned long span)
{
	const struct ref_ext *last = h->ref.nr ? &h->ref.ext[h->ref.nr - 1] : NULL;
	unsigned int order;

	switch (rnd_below(9)) {
	case 0:
	case 1:
	case 2:
		*pfn = last ? last->pfn + last->npages : rnd_below(span);
		*npages = rnd_below(4) ? 1 : 1 + rnd_below(40);
		break;
	case 3:
		*pfn = rnd_below(span);
		*npages = 1 + rnd_below(3);
		break;
	case 4:
		order = rnd_below(4) ? 9 : rnd_below(19);
		*pfn = ALIGN_DOWN(rnd_below(span << 4), 1ul << order);
		*npages = 1ul << order;
		break;
	case 5:
		*pfn = shim_zero_pfn + rnd_below(shim_zero_npages + 1) - 1;
		*npages = 1;
		break;
	case 6:
		*pfn = ALIGN(1 + rnd_below(span), REF_SECTION) - rnd_below(3);
		*npages = 1 + rnd_below(3);
		break;
	case 7:
		*pfn = REF_PFN_LIMIT - 1 - rnd_below(1 << 20);
		*npages = 1 + rnd_below(8);
		break;
	default:
		*pfn = rnd_below(span);
		*npages = 1 + rnd_below(1500);
		break;
	}
	if (*pfn >= REF_PFN_LIMIT)
		*pfn = REF_PFN_LIMIT - 1 - rnd_below(3);
	*npages = clamp_range(*pfn, *npages);
	if (*pfn + *npages > REF_PFN_LIMIT)
		*npages = REF_PFN_LIMIT - *pfn;
	*nomerge = !rnd_below(12);
	if (last && shim_pgmap_of(*pfn) != shim_pgmap_of(*pfn - 1))
		*nomerge = true;
}

static void test_layout(void)
{
	struct h h;

	h_init(&h, 1, 0);
	EXPECT(h_add(&h, 0x1234, 1, false));
	EXPECT(h_add(&h, 0x200, 512, false));
	EXPECT(h_add(&h, 0x401, 512, false));
	EXPECT(h_add(&h, 5, 3, false));
	EXPECT(h_add(&h, (1ul << 52) - 1, 1, false));
	EXPECT(!h_add(&h, 1ul << 52, 1, false));
	h_finish(&h);
	EXPECT(h.bufs[0][0] == 0x0000000000001234ull);
	EXPECT(h.bufs[0][1] == 0x0090000000000200ull);
	EXPECT(h.bufs[0][2] == 0x0400000000000401ull);
	EXPECT(h.bufs[0][511] == 512);
	EXPECT(h.bufs[0][3] == 0x0400000000000005ull);
	EXPECT(h.bufs[0][510] == 3);
	EXPECT(h.bufs[0][4] == 0x000fffffffffffffull);
	EXPECT(h.bufs[0][5] == 0xffffffffffffffffull);
	EXPECT(gup_vec_nr_extents(&h.vec) == 5);
	EXPECT(gup_vec_nr_pages(&h.vec) == 1 + 512 + 512 + 3 + 1);
	h_destroy(&h);

	/* A 1G leaf: one word (larger than a section of the classic shim) */
	if (!CLASSIC) {
		h_init(&h, 1, 0);
		EXPECT(h_add(&h, 0x40000, 262144, false));
		h_finish(&h);
		EXPECT(h.bufs[0][0] == 0x0120000000040000ull);
		h_destroy(&h);
	}
}

static void test_merge(void)
{
	unsigned long i;
	struct h h;

	h_init(&h, 2, 0);
	for (i = 10; i < 14; i++)
		EXPECT(h_add(&h, i, 1, false));
	EXPECT(gup_vec_nr_extents(&h.vec) == 1);
	for (i = 16; i < 24; i++)
		EXPECT(h_add(&h, i, 1, false));
	EXPECT(gup_vec_nr_extents(&h.vec) == 2);
	EXPECT(h_add(&h, 0x100, 256, false));
	EXPECT(h_add(&h, 0x200, 256, false));
	EXPECT(h_add(&h, 0x300, 256, false));
	EXPECT(gup_vec_nr_extents(&h.vec) == 3);
	h_finish(&h);
	/* 10..13 is not aligned: sized; 16..23 is; 0x100..0x3ff is not */
	EXPECT(h.bufs[0][0] == (10 | REF_SIZED) && h.bufs[0][511] == 4);
	EXPECT(h.bufs[0][1] == (16 | 3ull << 52));
	EXPECT(h.bufs[0][2] == (0x100 | REF_SIZED) && h.bufs[0][510] == 768);
	h_destroy(&h);

	/* Zero pages never merge, on either side, nor with each other */
	h_init(&h, 1, 0);
	for (i = shim_zero_pfn - 1; i < shim_zero_pfn + 3; i++)
		EXPECT(h_add(&h, i, 1, false));
	EXPECT(gup_vec_nr_extents(&h.vec) == 3);
	shim_zero_npages = 4;
	for (i = shim_zero_pfn; i < shim_zero_pfn + 5; i++)
		EXPECT(h_add(&h, i, 1, false));
	EXPECT(gup_vec_nr_extents(&h.vec) == 8);
	shim_zero_npages = 1;
	h_check(&h);
	h_destroy(&h);

	/* nomerge starts an extent that later ranges grow */
	h_init(&h, 1, 0);
	EXPECT(h_add(&h, 100, 1, false));
	EXPECT(h_add(&h, 101, 1, true));
	EXPECT(h_add(&h, 102, 1, false));
	EXPECT(gup_vec_nr_extents(&h.vec) == 2);
	h_check(&h);
	h_destroy(&h);

	/* Section boundaries split extents only on classic sparsemem */
	h_init(&h, 1, 0);
	EXPECT(h_add(&h, REF_SECTION - 1, 1, false));
	EXPECT(h_add(&h, REF_SECTION, 1, false));
	EXPECT(gup_vec_nr_extents(&h.vec) == (CLASSIC ? 2 : 1));
	h_finish(&h);
	h_destroy(&h);

	/* The longest extent, then one page more (a range too big for a section) */
	if (!CLASSIC) {
		h_init(&h, 1, 0);
		EXPECT(h_add(&h, 0, REF_MAX_NPAGES - 1, false));
		EXPECT(h_add(&h, REF_MAX_NPAGES - 1, 1, false));
		EXPECT(h_add(&h, REF_MAX_NPAGES, 1, false));
		EXPECT(gup_vec_nr_extents(&h.vec) == 2);
		h_finish(&h);
		h_destroy(&h);
	}

	/* Invalid ranges warn and change nothing */
	h_init(&h, 1, 0);
	EXPECT(h_add(&h, 7, 1, false));
	EXPECT(!h_add(&h, 8, 0, false));
	EXPECT(!h_add(&h, 8, REF_MAX_NPAGES + 1, false));
	EXPECT(!h_add(&h, REF_PFN_LIMIT, 1, true));
	EXPECT(!h_add(&h, ~0ul - 1, 4, false));
	EXPECT(h_add(&h, 8, 1, false));
	EXPECT(gup_vec_nr_extents(&h.vec) == 1);
	h_finish(&h);
	h_destroy(&h);
}

static void test_buffers(void)
{
	unsigned long i;
	struct h h;

	/* A sized extent does not fit the last word: END, next buffer */
	h_init(&h, 2, 0);
	for (i = 0; i < 511; i++)
		EXPECT(h_add(&h, 2 * i, 1, false));
	EXPECT(h_add(&h, 100001, 3, false));
	h_finish(&h);
	EXPECT(h.bufs[0][511] == REF_END);
	EXPECT(h.bufs[1][0] == (100001 | REF_SIZED) && h.bufs[1][511] == 3);
	EXPECT(h.bufs[1][1] == REF_END);
	h_destroy(&h);

	/* Exactly full: no END */
	h_init(&h, 1, 0);
	for (i = 0; i < 510; i++)
		EXPECT(h_add(&h, 2 * i, 1, false));
	EXPECT(h_add(&h, 100001, 3, false));
	EXPECT(!gup_vec_has_room(&h.vec, 1));
	EXPECT(!h_add(&h, 200000, 1, false));
	EXPECT(gup_vec_finish(&h.vec) == 1);
	EXPECT(h.bufs[0][510] == (100001 | REF_SIZED) && h.bufs[0][511] == 3);
	h_destroy(&h);

	/* 512 pages fill one buffer; the 513th does not fit */
	h_init(&h, 1, 0);
	for (i = 0; i < 512; i++)
		EXPECT(h_add(&h, 2 * i, 1, false));
	EXPECT(!h_add(&h, 2 * i, 1, false));
	EXPECT(!h_add(&h, 2 * i, 1, true));
	/* A merge that keeps one word still fits */
	EXPECT(h_add(&h, 2 * 511 + 1, 1, false));
	EXPECT(!h_add(&h, 2 * 511 + 2, 1, false));
	h_finish(&h);
	h_destroy(&h);

	/* No buffers: nothing fits */
	h_init(&h, 0, 0);
	EXPECT(gup_vec_has_room(&h.vec, 0));
	EXPECT(!gup_vec_has_room(&h.vec, 1));
	EXPECT(!h_add(&h, 1, 1, false));
	EXPECT(gup_vec_finish(&h.vec) == 0);
	h_finish(&h);
	h_destroy(&h);
}

/* Add a random range within @budget; returns the budget it used */
static unsigned long adversarial_add(struct h *h, unsigned long budget,
				     bool *ok)
{
	const struct ref_ext *last = h->ref.nr ? &h->ref.ext[h->ref.nr - 1] : NULL;
	unsigned long end = last ? last->pfn + last->npages : 1000;
	unsigned long far = (rnd_below(1ul << 30) | 1) * 4;
	unsigned long pfn, npages = 1;
	bool nomerge = false;

	switch (rnd_below(budget >= 2 ? 8 : 4)) {
	case 0:
		pfn = end;
		break;
	case 1:
		pfn = far + 1;
		break;
	case 2:
		pfn = shim_zero_pfn;
		break;
	case 3:
		pfn = end;
		nomerge = true;
		break;
	case 4:
		pfn = far + 1;
		npages = 3;
		break;
	case 5:
		pfn = end;
		npages = 2 + rnd_below(30);
		break;
	case 6:
		pfn = end;
		npages = 2 + rnd_below(30);
		nomerge = true;
		break;
	default:
		pfn = ALIGN(far, 512);
		npages = 512;
		break;
	}
	npages = clamp_range(pfn, npages);
	if (shim_pgmap_of(pfn) != shim_pgmap_of(pfn - 1))
		nomerge = true;
	*ok = h_add(h, pfn, npages, nomerge);
	return npages == 1 ? 1 : 2;
}

static void test_has_room(void)
{
	unsigned long it, warnings = shim_warnings;

	for (it = 0; it < 3000; it++) {
		unsigned int nr_bufs = 1 + rnd_below(3);
		unsigned long n, budget, prefix, i;
		bool all = true, ok;
		struct h h;

		h_init(&h, nr_bufs, rnd());
		prefix = rnd_below(nr_bufs * 560);
		for (i = 0; i < prefix; i++) {
			unsigned long pfn, npages;
			bool nomerge;

			rnd_range(&h, &pfn, &npages, &nomerge, 1ul << 24);
			if (!h_add(&h, pfn, npages, nomerge))
				break;
		}
		n = rnd_below(4) ? rnd_below(40) : rnd_below(1200);
		EXPECT(!gup_vec_has_room(&h.vec, ~0ul));
		if (gup_vec_has_room(&h.vec, n + 1))
			EXPECT(gup_vec_has_room(&h.vec, n));

		if (gup_vec_has_room(&h.vec, n)) {
			bool last_buf = h.vec.pos.buf + 1 == nr_bufs;
			bool tight = !gup_vec_has_room(&h.vec, n + 1);

			h_save(&h);
			for (budget = n; budget; ) {
				budget -= adversarial_add(&h, budget, &ok);
				all &= ok;
			}
			EXPECT(all);
			h_restore(&h);

			/* In the last buffer the bound is exact */
			if (last_buf && tight) {
				for (i = 0, all = true; i <= n; i++)
					all &= h_add(&h, (i + 1) * 4 + 1000000, 1,
						     false);
				EXPECT(!all);
			}
		}
		h_finish(&h);
		h_destroy(&h);
	}
	EXPECT(shim_warnings == warnings);
}

static void test_random(void)
{
	unsigned long it;

	for (it = 0; it < 2000; it++) {
		unsigned int nr_bufs = rnd_below(6);
		unsigned long ops = rnd_below(3000), i;
		struct h h;

		shim_pgmap_shift = rnd_below(3) ? 0 : 8;
		h_init(&h, nr_bufs, rnd_below(2) ? 0 : rnd());
		for (i = 0; i < ops; i++) {
			unsigned long pfn, npages;
			bool nomerge;

			switch (rnd_below(100)) {
			case 0:
				h_save(&h);
				break;
			case 1:
				h_restore(&h);
				h_check(&h);
				break;
			case 2:
				h_finish(&h);
				break;
			case 3:
				h_check(&h);
				break;
			case 4:	/* invalid */
				if (rnd_below(2))
					EXPECT(!h_add(&h, REF_PFN_LIMIT - rnd_below(2),
						      2 + rnd_below(9), false));
				else
					EXPECT(!h_add(&h, rnd_below(99), 0, false));
				break;
			default:
				rnd_range(&h, &pfn, &npages, &nomerge, 1ul << 16);
				h_add(&h, pfn, npages, nomerge);
				break;
			}
		}
		h_check(&h);
		h_finish(&h);
		h_destroy(&h);
	}
	shim_pgmap_shift = 0;
}

static void test_restore(void)
{
	struct gup_vec_pos pos;
	unsigned long i;
	struct h h;

	h_init(&h, 3, 0);
	for (i = 0; i < 300; i++)
		EXPECT(h_add(&h, 3 * i, 1, false));
	EXPECT(h_add(&h, 900, 2, false));
	h_save(&h);
	gup_vec_save(&h.vec, &pos);
	/* Grow the pending extent, spill into the next buffer, finish */
	EXPECT(h_add(&h, 902, 5, false));
	for (i = 0; i < 500; i++)
		EXPECT(h_add(&h, 5000 + 7 * i, clamp_range(5000 + 7 * i, 3),
			     false));
	h_finish(&h);
	EXPECT(h.vec.pos.buf == 2);
	h_restore(&h);
	EXPECT(pos_eq(&h.vec.pos, &pos));
	h_check(&h);
	/* The pending extent merges again after the restore */
	EXPECT(h_add(&h, 902, 2, false));
	for (i = 0; i < 400; i++)
		EXPECT(h_add(&h, 90000 + 2 * i, 1, false));
	h_finish(&h);
	h_destroy(&h);
}

/*
 * Pinning call after call into one vec, and reading each call's extents
 * from the position saved before it, yields every extent exactly once.
 */
static void test_iter_from(void)
{
	struct { struct gup_vec_pos pos; unsigned long first; } saves[64];
	unsigned int round, nr, s;

	for (round = 0; round < 200; round++) {
		struct h h;

		h_init(&h, 1 + rnd_below(4), rnd());
		nr = 0;
		while (nr < ARRAY_SIZE(saves)) {
			unsigned long pfn, npages, i, n;
			bool nomerge, full = false;

			gup_vec_save(&h.vec, &saves[nr].pos);
			saves[nr].first = h.ref.nr;
			nr++;
			n = 1 + rnd_below(rnd_below(4) ? 8 : 300);
			for (i = 0; i < n && !full; i++) {
				rnd_range(&h, &pfn, &npages, &nomerge, 1 << 16);
				full = !h_add(&h, pfn, npages, nomerge);
			}
			/* The last call is read before it is finished */
			if (full || !rnd_below(20))
				break;
			h_finish(&h);
		}
		for (s = 0; s < nr; s++) {
			struct gup_vec_iter iter;
			unsigned long i = saves[s].first;
			bool same = true;

			gup_vec_iter_init_from(&iter, &h.vec, &saves[s].pos);
			while (gup_vec_iter_next(&iter)) {
				if (i >= h.ref.nr ||
				    iter.pfn != h.ref.ext[i].pfn ||
				    iter.npages != h.ref.ext[i].npages)
					same = false;
				i++;
			}
			EXPECT(same);
			EXPECT(i == h.ref.nr);
		}
		h_destroy(&h);
	}
}

static void test_unpin(void)
{
	unsigned long it;

	for (it = 0; it < 300; it++) {
		unsigned long warnings = shim_warnings, i, ops;
		bool dirty = rnd_below(2), same = true;
		struct h h;

		h_init(&h, 1 + rnd_below(3), 0);
		ops = rnd_below(1000);
		for (i = 0; i < ops; i++) {
			unsigned long pfn, npages;
			bool nomerge;

			rnd_range(&h, &pfn, &npages, &nomerge, 1ul << 16);
			h_add(&h, pfn, npages, nomerge);
		}
		if (rnd_below(2))
			h_finish(&h);
		shim_nr_unpins = 0;
		EXPECT(gup_vec_unpin(&h.vec, dirty) == h.ref.nr_pages);
		EXPECT(shim_nr_unpins == h.ref.nr);
		for (i = 0; i < shim_nr_unpins && i < h.ref.nr; i++)
			same &= shim_unpins[i].pfn == h.ref.ext[i].pfn &&
				shim_unpins[i].npages == h.ref.ext[i].npages &&
				shim_unpins[i].dirty == dirty;
		EXPECT(same);
		/* Every range handed to unpin had contiguous struct pages */
		EXPECT(shim_warnings == warnings);
		EXPECT(gup_vec_nr_pages(&h.vec) == 0);
		EXPECT(gup_vec_nr_extents(&h.vec) == 0);
		ref_free(&h.ref);
		ref_init(&h.ref, h.nr_bufs);
		h_check(&h);
		h_destroy(&h);
	}
}

/* Buffers the encoder cannot have written stop the iteration, warning */
static void test_corrupt(void)
{
	static const struct {
		u64 word0, word511;
		unsigned long extents;
	} cases[] = {
		{ 1ull << 59, 0, 0 },			/* reserved bit */
		{ REF_SIZED | 3ull << 52, 4, 0 },	/* sized with an order */
		{ REF_SIZED, 0, 0 },			/* zero size */
		{ REF_SIZED, 1ull << 32, 0 },		/* too long */
		{ 3 | 1ull << 52, 0, 0 },		/* misaligned order */
		{ 32ull << 52, 0, 0 },			/* order too big */
	};
	struct gup_vec_iter iter;
	unsigned long i, n;
	u64 *buf[1];

	buf[0] = aligned_alloc(SZ_4K, SZ_4K);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned long warnings = shim_warnings;

		memset(buf[0], 0xff, SZ_4K);
		buf[0][0] = cases[i].word0;
		buf[0][511] = cases[i].word511;
		n = 0;
		gup_vec_for_each_extent_bufs(&iter, buf, 1)
			n++;
		EXPECT(n == cases[i].extents);
		EXPECT(shim_warnings == warnings + 1);
	}

	/* A sized word in the last free word has no size word */
	for (i = 0; i < REF_WORDS; i++)
		buf[0][i] = 2 * i;
	buf[0][511] = 77 | REF_SIZED;
	n = 0;
	i = shim_warnings;
	gup_vec_for_each_extent_bufs(&iter, buf, 1)
		n++;
	EXPECT(n == 511 && shim_warnings == i + 1);

	/* A full buffer needs no END */
	buf[0][511] = 77;
	n = 0;
	gup_vec_for_each_extent_bufs(&iter, buf, 1)
		n++;
	EXPECT(n == 512 && shim_warnings == i + 1);
	free(buf[0]);
}

static void rnd_prefix(const struct h *h, struct page **prefix,
		       unsigned int *nr)
{
	unsigned long pfn = rnd_below(1 << 16), i;

	*nr = rnd_below(3) ? 0 : rnd_below(40);
	/* Often end right before the vec's first page, to merge into it */
	if (*nr && h->ref.nr && rnd_below(2) && h->ref.ext[0].pfn >= *nr)
		pfn = h->ref.ext[0].pfn - *nr;
	for (i = 0; i < *nr; i++)
		prefix[i] = pfn_to_page(pfn + i);
	*nr = clamp_range(pfn, *nr);
}

static unsigned int rnd_max_segment(void)
{
	static const unsigned int segs[] = {
		0, 100, 4095, 4096, 4097, 8192, 3 * 4096 + 5, 65536,
		65536 + 100, 1 << 20, 1u << 31, UINT_MAX,
	};

	if (rnd_below(4))
		return segs[rnd_below(ARRAY_SIZE(segs))];
	return 4096 + rnd_below(200000);
}

static unsigned int rnd_left(void)
{
	switch (rnd_below(4)) {
	case 0:
		return 0;
	case 1:
		return rnd_below(4);
	case 2:
		return rnd_below(300);
	default:
		return rnd_below(1u << 30);
	}
}

static void test_sg(void)
{
	struct page *prefix[64];
	unsigned long it;

	for (it = 0; it < 1500; it++) {
		unsigned long ops = rnd_below(it % 10 ? 30 : 400), i;
		unsigned int nr_prefix;
		struct h h;

		shim_pgmap_shift = rnd_below(3) ? 0 : 6;
		h_init(&h, 4, 0);
		for (i = 0; i < ops; i++) {
			unsigned long pfn, npages;
			bool nomerge;

			rnd_range(&h, &pfn, &npages, &nomerge, 1ul << 14);
			if (pfn + npages > (1ul << 20))
				continue;
			if (h.ref.nr && !rnd_below(3)) {
				/* Pages right after the last extent */
				pfn = h.ref.ext[h.ref.nr - 1].pfn +
				      h.ref.ext[h.ref.nr - 1].npages;
				npages = clamp_range(pfn, 1 + rnd_below(20));
				nomerge |= shim_pgmap_of(pfn) !=
					   shim_pgmap_of(pfn - 1);
			}
			h_add(&h, pfn, npages, nomerge);
			/* Adds may follow a finish, as across pin calls */
			if (!rnd_below(16))
				h_finish(&h);
		}
		rnd_prefix(&h, prefix, &nr_prefix);
		if (!rnd_below(3))
			h_finish(&h);
		EXPECT(h_sg(&h, prefix, nr_prefix, rnd_max_segment(),
			    rnd_left(), rnd_below(8) ? 0 : 1 + rnd_below(3)));
		h_destroy(&h);
	}

	/*
	 * Many separated extents, as scattered 4K pages are, into an empty
	 * table: the first append's single pass across chunk ends, with an
	 * allocation failing half the time.
	 */
	shim_pgmap_shift = 0;
	for (it = 0; it < 300; it++) {
		unsigned long ops = 100 + rnd_below(400), pfn = 1, i;
		struct h h;

		h_init(&h, 4, 0);
		for (i = 0; i < ops; i++) {
			unsigned long npages;

			pfn += 2 + rnd_below(8);
			npages = clamp_range(pfn, 1 + rnd_below(4));
			h_add(&h, pfn, npages, false);
			pfn += npages;
		}
		if (rnd_below(2))
			h_finish(&h);
		EXPECT(h_sg(&h, NULL, 0, rnd_max_segment() | PAGE_SIZE,
			    rnd_left(), rnd_below(2) ? 0 : 1 + rnd_below(4)));
		h_destroy(&h);
	}

	/* One range, any state before it: a merge, a split, or both */
	for (it = 0; it < 3000; it++) {
		unsigned long pfn = 1 + rnd_below(1 << 16);
		unsigned long npages = 1 + rnd_below(it % 10 ? 40 : 5000);
		unsigned int nr_prefix;
		struct h h;

		shim_pgmap_shift = rnd_below(3) ? 0 : 6;
		h_init(&h, 1, 0);
		npages = clamp_range(pfn, npages);
		h_add(&h, pfn, npages, false);
		/* Pending or encoded: both states of gup_vec_only_extent() */
		if (rnd_below(2))
			h_finish(&h);
		rnd_prefix(&h, prefix, &nr_prefix);
		EXPECT(h_sg(&h, prefix, nr_prefix, rnd_max_segment(),
			    rnd_left(), rnd_below(8) ? 0 : 1 + rnd_below(3)));
		h_destroy(&h);
	}
	shim_pgmap_shift = 0;
}

/* ib_umem style: several vecs appended one after the other */
static void test_sg_batches(void)
{
	unsigned long it;

	for (it = 0; it < 300; it++) {
		unsigned int max_segment = rnd_max_segment() | PAGE_SIZE;
		struct sg_append_table a = { 0 }, b = { 0 };
		unsigned long total_a = 0, done_a = 0, i, n;
		unsigned long total_b = 0, done_b = 0;
		struct h h[3];
		int ra = 0, rb = 0;

		for (i = 0; i < 3; i++) {
			unsigned long ops = 1 + rnd_below(60), j;

			h_init(&h[i], 2, 0);
			for (j = 0; j < ops; j++) {
				unsigned long pfn, npages;
				bool nomerge;

				rnd_range(&h[i], &pfn, &npages, &nomerge, 1ul << 12);
				if (!rnd_below(3) && i && !h[i].ref.nr) {
					const struct ref_ext *l = &h[i - 1].ref.ext[h[i - 1].ref.nr - 1];

					pfn = l->pfn + l->npages;
					npages = clamp_range(pfn, npages);
				}
				if (pfn + npages < (1ul << 20))
					h_add(&h[i], pfn, npages, nomerge);
			}
			if (!h[i].ref.nr)
				h_add(&h[i], 1 + i, 1, false);
			/* Hints from what each side appends keep both sound */
			total_a += h[i].ref.nr_pages;
			total_b += vec_pages(&h[i].vec);
		}
		for (i = 0; i < 3 && !ra && !rb; i++) {
			struct page **pages = h_pages(h[i].ref.ext, h[i].ref.nr, &n);

			done_a += n;
			done_b += vec_pages(&h[i].vec);
			ra = sg_alloc_append_table_from_pages(&a, pages, n, 0,
							      n * PAGE_SIZE,
							      max_segment,
							      total_a - done_a,
							      GFP_KERNEL);
			rb = gup_vec_append_sg(&h[i].vec, &b, max_segment,
					       total_b - done_b, GFP_KERNEL);
			free(pages);
		}
		/* Without sg chaining both refuse the second batch */
		EXPECT(ra == rb);
		EXPECT(IS_ENABLED(CONFIG_ARCH_NO_SG_CHAIN) ? rb == -EOPNOTSUPP :
		       !rb);
		if (!ra && !rb)
			EXPECT(sg_same(&a, &b));
		sg_free_append_table(&a);
		sg_free_append_table(&b);
		for (i = 0; i < 3; i++)
			h_destroy(&h[i]);
	}
}

/* One result per test function; the checks inside are counted apart. */
static unsigned int tests_run, tests_failed;
#define RUN(test) do {							\
		unsigned long failed_before = failed;			\
									\
		test();							\
		tests_run++;						\
		if (failed != failed_before)				\
			tests_failed++;					\
		printf("%s - %s\n", failed == failed_before ? "ok" : "not ok", \
		       #test);						\
	} while (0)

int main(int argc, char **argv)
{
	if (argc > 1)
		rng_state = strtoull(argv[1], NULL, 0) | 1;
	shim_quiet = !getenv("SHIM_VERBOSE");

	RUN(test_layout);
	RUN(test_merge);
	RUN(test_buffers);
	RUN(test_has_room);
	RUN(test_random);
	RUN(test_restore);
	RUN(test_iter_from);
	RUN(test_unpin);
	RUN(test_corrupt);
	RUN(test_sg);
	RUN(test_sg_batches);

	printf("%s%s: %lu page array sg warnings (upstream behaviour)\n",
	       CLASSIC ? "classic sparsemem" : "vmemmap",
	       IS_ENABLED(CONFIG_ARCH_NO_SG_CHAIN) ? ", no sg chain" : "",
	       sg_upstream_warnings);
	printf("checks: %lu passed, %lu failed\n", passed, failed);
	printf("%u passed, %u failed\n", tests_run - tests_failed, tests_failed);
	return failed ? 1 : 0;
}
