/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Runs mm/gup_vec.c and the reference (ref.h) side by side and compares
 * them. Shared by the unit tests and the fuzzer, which define EXPECT().
 *
 * A struct h is a gup_vec and its reference model over the same number of
 * buffers. Every operation is done to both; h_check() compares what the
 * iterator yields with the model, h_finish() compares the buffers word by
 * word with the reference image and reads them back with the reference
 * decoder. The sg part compares gup_vec_append_sg(), built on the real
 * sg_append_table_next(), with the real sg_alloc_append_table_from_pages()
 * slot by slot, chain links included.
 */
#ifndef _HARNESS_H
#define _HARNESS_H

#include "ref.h"

#define H_MAX_BUFS	64
#define H_MAX_SAVES	8

#ifdef SHIM_CLASSIC_SPARSEMEM
#define CLASSIC	true
#else
#define CLASSIC	false
#endif

/* Warnings of the page array code itself, see h_sg() */
static unsigned long sg_upstream_warnings;

struct h_save {
	struct gup_vec_pos pos;
	struct ref_vec ref;
	unsigned long free;	/* gup_vec_free() at the save */
};

struct h {
	struct gup_vec vec;
	struct ref_vec ref;
	u64 **bufs;
	unsigned int nr_bufs;
	struct h_save saves[H_MAX_SAVES];
	unsigned int nr_saves;
};

/* Buffers start full of junk that decodes as valid words */
static void h_init(struct h *h, unsigned int nr_bufs, u64 junk)
{
	unsigned int b, i;

	memset(h, 0, sizeof(*h));
	h->nr_bufs = nr_bufs;
	h->bufs = calloc(nr_bufs + 1, sizeof(*h->bufs));
	for (b = 0; b < nr_bufs; b++) {
		h->bufs[b] = aligned_alloc(SZ_4K, SZ_4K);
		for (i = 0; i < REF_WORDS; i++)
			h->bufs[b][i] = junk + i;
	}
	gup_vec_init(&h->vec, h->bufs, nr_bufs);
	ref_init(&h->ref, nr_bufs);
}

static void h_destroy(struct h *h)
{
	unsigned int b;

	for (b = 0; b < h->nr_bufs; b++)
		free(h->bufs[b]);
	free(h->bufs);
	while (h->nr_saves)
		ref_free(&h->saves[--h->nr_saves].ref);
	ref_free(&h->ref);
}

/*
 * Cut a range so that its struct pages are contiguous (one section on
 * classic sparsemem) and in one pgmap: the gup_vec_add() contract, which
 * the pin walker meets by adding folio by folio.
 */
static unsigned long clamp_range(unsigned long pfn, unsigned long npages)
{
	unsigned long room;

	if (CLASSIC) {
		room = REF_SECTION - pfn % REF_SECTION;
		npages = min(npages, room);
	}
	if (shim_pgmap_shift) {
		room = (1ul << shim_pgmap_shift) -
		       (pfn & ((1ul << shim_pgmap_shift) - 1));
		npages = min(npages, room);
	}
	return npages;
}

static bool pos_eq(const struct gup_vec_pos *a, const struct gup_vec_pos *b)
{
	return a->buf == b->buf && a->head == b->head && a->tail == b->tail &&
	       a->pfn == b->pfn && a->npages == b->npages &&
	       a->nr_pages == b->nr_pages && a->nr_extents == b->nr_extents &&
	       a->nr_adjacent == b->nr_adjacent;
}

/* The model's extents that start where the one before ends */
static unsigned long ref_nr_adjacent(const struct ref_vec *r)
{
	unsigned long i, n = 0;

	for (i = 1; i < r->nr; i++)
		n += r->ext[i].pfn == r->ext[i - 1].pfn + r->ext[i - 1].npages;
	return n;
}

static bool h_add(struct h *h, unsigned long pfn, unsigned long npages,
		  bool nomerge)
{
	unsigned long warnings = shim_warnings;
	struct gup_vec_pos before = h->vec.pos;
	unsigned long budget = npages == 1 ? 1 : 2;
	unsigned long free = gup_vec_free(&h->vec);
	bool want, got, room;

	/* Budget of one add: 1 for a page, 2 for more */
	room = gup_vec_has_room(&h->vec, budget);
	EXPECT(room == (budget <= free));
	want = ref_add(&h->ref, pfn, npages, nomerge);
	if (nomerge)
		got = gup_vec_add_nomerge(&h->vec, pfn, npages);
	else
		got = gup_vec_add(&h->vec, pfn, npages);
	EXPECT(got == want);
	if (room && ref_valid(pfn, npages))
		EXPECT(got);
	if (!got)
		EXPECT(pos_eq(&before, &h->vec.pos));
	/*
	 * What GUP's room credit relies on: an add spends its budget at most,
	 * and the room never grows more than one past a save point's, so a
	 * rewind to it cannot leave a credit over the room.
	 */
	EXPECT(gup_vec_free(&h->vec) + budget >= free);
	for (unsigned int i = 0; i < h->nr_saves; i++)
		EXPECT(gup_vec_free(&h->vec) <= h->saves[i].free + 1);
	EXPECT((shim_warnings != warnings) == !ref_valid(pfn, npages));
	EXPECT(gup_vec_nr_pages(&h->vec) == h->ref.nr_pages);
	EXPECT(gup_vec_nr_extents(&h->vec) == h->ref.nr);
	EXPECT(gup_vec_nr_adjacent(&h->vec) == ref_nr_adjacent(&h->ref));
	return got;
}

static void h_save(struct h *h)
{
	struct h_save *s;

	if (h->nr_saves == H_MAX_SAVES)
		return;
	s = &h->saves[h->nr_saves++];
	memset(&s->ref, 0, sizeof(s->ref));
	gup_vec_save(&h->vec, &s->pos);
	s->free = gup_vec_free(&h->vec);
	ref_copy(&s->ref, &h->ref);
}

static void h_restore(struct h *h)
{
	struct h_save *s;

	if (!h->nr_saves)
		return;
	s = &h->saves[--h->nr_saves];
	gup_vec_restore(&h->vec, &s->pos);
	ref_free(&h->ref);
	h->ref = s->ref;
	EXPECT(gup_vec_nr_pages(&h->vec) == h->ref.nr_pages);
	EXPECT(gup_vec_nr_extents(&h->vec) == h->ref.nr);
	EXPECT(gup_vec_nr_adjacent(&h->vec) == ref_nr_adjacent(&h->ref));
}

/* The iterator over the live vec yields the model's extents */
static void h_check(struct h *h)
{
	struct gup_vec_iter iter;
	unsigned long i = 0;
	bool same = true;

	gup_vec_for_each_extent(&iter, &h->vec) {
		struct phys_vec pv = gup_vec_iter_phys(&iter);

		if (i >= h->ref.nr || iter.pfn != h->ref.ext[i].pfn ||
		    iter.npages != h->ref.ext[i].npages ||
		    pv.paddr != (u64)iter.pfn << 12 ||
		    pv.len != iter.npages << 12 ||
		    !page_range_contiguous(pfn_to_page(iter.pfn), iter.npages))
			same = false;
		i++;
	}
	EXPECT(same);
	EXPECT(i == h->ref.nr);
}

static bool h_same_extents(const struct ref_ext *a, long na,
			   const struct ref_ext *b, unsigned long nb)
{
	long i;

	if (na < 0 || (unsigned long)na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (a[i].pfn != b[i].pfn || a[i].npages != b[i].npages)
			return false;
	return true;
}

/* Finish; the buffers must hold the reference image and decode back */
static void h_finish(struct h *h)
{
	unsigned long max = h->ref.nr + 1;
	struct ref_ext *got = calloc(max, sizeof(*got));
	struct ref_img img = { 0 };
	struct gup_vec_iter iter;
	unsigned int used, b, i;
	bool same = true;
	long n = 0;

	used = gup_vec_finish(&h->vec);
	h->ref.open = false;
	img.words = calloc(h->nr_bufs + 1, sizeof(*img.words));
	EXPECT(ref_layout(h->ref.ext, h->ref.nr, h->nr_bufs, &img));
	if (!h->nr_bufs)
		img.used = 0;
	EXPECT(used == img.used);
	for (b = 0; b < used && b < img.used; b++) {
		for (i = 0; i < img.head[b]; i++)
			same &= h->bufs[b][i] == img.words[b][i];
		if (img.head[b] < img.tail[b])
			same &= h->bufs[b][img.head[b]] == REF_END;
		for (i = img.tail[b]; i < REF_WORDS; i++)
			same &= h->bufs[b][i] == img.words[b][i];
	}
	EXPECT(same);

	n = ref_decode(h->bufs, used, got, max);
	EXPECT(h_same_extents(got, n, h->ref.ext, h->ref.nr));

	n = 0;
	gup_vec_for_each_extent_bufs(&iter, h->bufs, used) {
		if (n < (long)max) {
			got[n].pfn = iter.pfn;
			got[n].npages = iter.npages;
		}
		n++;
	}
	EXPECT(h_same_extents(got, n, h->ref.ext, h->ref.nr));
	h_check(h);
	free(img.words);
	free(got);
}

/* Pages the vec yields, which the reference must agree with */
static unsigned long vec_pages(const struct gup_vec *vec)
{
	struct gup_vec_iter iter;
	unsigned long n = 0;

	gup_vec_for_each_extent(&iter, vec)
		n += iter.npages;
	return n;
}

/* The model's pages, one struct page pointer each, or NULL if too many */
static struct page **h_pages(const struct ref_ext *ext, unsigned long nr,
			     unsigned long *npages)
{
	unsigned long i, j, n = 0;
	struct page **pages;

	for (i = 0; i < nr; i++)
		n += ext[i].npages;
	*npages = n;
	if (n > (1ul << 20))
		return NULL;
	pages = malloc((n + 1) * sizeof(*pages));
	for (i = 0, n = 0; i < nr; i++)
		for (j = 0; j < ext[i].npages; j++)
			pages[n++] = pfn_to_page(ext[i].pfn + j);
	return pages;
}

/* One slot of an sg table as laid out in memory */
struct sg_slot {
	bool chain;
	unsigned long pfn;
	unsigned long bits;
	unsigned int offset, length;
};

struct sg_dump {
	struct sg_slot *slot;
	unsigned long nr;
	long prv;			/* index of sgt_append->prv */
};

/* Walk every allocated slot, following chain links, as __sg_free_table() */
static void sg_dump(struct sg_append_table *t, struct sg_dump *d)
{
	unsigned long left = t->total_nents;
	struct scatterlist *sg = t->sgt.sgl;

	d->nr = 0;
	d->prv = -1;
	d->slot = calloc(2 * left + 2, sizeof(*d->slot));
	while (sg && left) {
		struct sg_slot *s = &d->slot[d->nr];

		if (sg == t->prv)
			d->prv = d->nr;
		s->bits = sg->page_link & SG_PAGE_LINK_MASK;
		s->chain = sg_is_chain(sg);
		d->nr++;
		if (s->chain) {
			sg = sg_chain_ptr(sg);
			continue;
		}
		s->pfn = sg->page_link & ~SG_PAGE_LINK_MASK ?
			 page_to_pfn(sg_page(sg)) : ~0ul;
		s->offset = sg->offset;
		s->length = sg->length;
		if (--left)
			sg++;
	}
}

static void sg_print(const char *name, struct sg_append_table *t,
		     struct sg_dump *d)
{
	unsigned long i;

	fprintf(stderr, "%s: nents %u orig %u total %u prv %ld slots %lu\n",
		name, t->sgt.nents, t->sgt.orig_nents, t->total_nents, d->prv,
		d->nr);
	for (i = 0; i < d->nr; i++)
		fprintf(stderr, "  %lu: %s pfn %lx len %u off %u bits %lx\n", i,
			d->slot[i].chain ? "chain" : "entry", d->slot[i].pfn,
			d->slot[i].length, d->slot[i].offset, d->slot[i].bits);
}

static bool sg_same(struct sg_append_table *a, struct sg_append_table *b)
{
	struct sg_dump da, db;
	bool same;

	sg_dump(a, &da);
	sg_dump(b, &db);
	same = a->sgt.nents == b->sgt.nents &&
	       a->sgt.orig_nents == b->sgt.orig_nents &&
	       a->total_nents == b->total_nents &&
	       (a->sgt.sgl == NULL) == (b->sgt.sgl == NULL) &&
	       da.nr == db.nr && da.prv == db.prv &&
	       !memcmp(da.slot, db.slot, da.nr * sizeof(*da.slot));
	if (!same && getenv("SG_DEBUG")) {
		unsigned long i;

		for (i = 0; i < da.nr && i < db.nr; i++)
			if (memcmp(&da.slot[i], &db.slot[i], sizeof(da.slot[i])))
				break;
		fprintf(stderr, "first difference at slot %lu\n", i);
		sg_print("page array", a, &da);
		sg_print("gup_vec", b, &db);
	}
	free(da.slot);
	free(db.slot);
	return same;
}

/*
 * Both tables start with the same pages, appended the page array way. As
 * sg_alloc_append_table_from_pages() requires, left_pages counts at least
 * the pages appended later: a smaller hint builds tables that
 * sg_free_append_table() cannot walk.
 */
static void sg_prefix(struct sg_append_table *a, struct sg_append_table *b,
		      struct page **pages, unsigned int n,
		      unsigned int max_segment, unsigned long left_pages)
{
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	if (!n)
		return;
	EXPECT(!sg_alloc_append_table_from_pages(a, pages, n, 0,
						 (unsigned long)n * PAGE_SIZE,
						 max_segment, left_pages,
						 GFP_KERNEL));
	EXPECT(!sg_alloc_append_table_from_pages(b, pages, n, 0,
						 (unsigned long)n * PAGE_SIZE,
						 max_segment, left_pages,
						 GFP_KERNEL));
}

/*
 * gup_vec_append_sg() of the vec against one sg_alloc_append_table_from_pages()
 * of the same pages, after the same prefix, failing the fail_at'th allocation
 * if non-zero. Returns false if the pages were too many to compare.
 */
static bool h_sg(struct h *h, struct page **prefix, unsigned int nr_prefix,
		 unsigned int max_segment, unsigned int left_pages, long fail_at)
{
	struct sg_append_table a, b;
	unsigned long warnings;
	struct page **pages;
	unsigned long n;
	int ra, rb;

	pages = h_pages(h->ref.ext, h->ref.nr, &n);
	if (!pages)
		return false;
	/* If they disagree, keep the tables sound for sg_free_append_table() */
	EXPECT(vec_pages(&h->vec) == n);
	sg_prefix(&a, &b, prefix, nr_prefix, max_segment < PAGE_SIZE ?
		  PAGE_SIZE : max_segment,
		  max(n, vec_pages(&h->vec)) + left_pages + 1);
	warnings = shim_warnings;
	shim_fail_alloc = fail_at;
	ra = n ? sg_alloc_append_table_from_pages(&a, pages, n, 0,
						  n * PAGE_SIZE, max_segment,
						  left_pages, GFP_KERNEL) : 0;
	/* No pages: what gup_vec_append_sg() documents */
	if (!n && max_segment < PAGE_SIZE)
		ra = -EINVAL;
	else if (!n && !left_pages && a.prv)
		sg_mark_end(a.prv);
	/* The page array code warns on entries that cross a memmap gap */
	sg_upstream_warnings += shim_warnings - warnings -
				(n && max_segment < PAGE_SIZE);
	warnings = shim_warnings;
	shim_fail_alloc = fail_at;
	rb = gup_vec_append_sg(&h->vec, &b, max_segment, left_pages,
			       GFP_KERNEL);
	shim_fail_alloc = 0;
	/* Ours only on a max_segment below PAGE_SIZE */
	EXPECT(shim_warnings - warnings == (max_segment < PAGE_SIZE));

	/* Without sg chaining too: both refuse to append to a table */
	EXPECT(ra == rb);
	if (ra != rb && getenv("SG_DEBUG"))
		fprintf(stderr, "ret %d/%d pages %lu extents %lu max %u left %u fail %ld prefix %u\n",
			ra, rb, n, h->ref.nr, max_segment, left_pages,
			fail_at, nr_prefix);
	if (!ra && !rb && !sg_same(&a, &b)) {
		EXPECT(0);
		if (getenv("SG_DEBUG")) {
			unsigned long i;

			for (i = 0; i < h->ref.nr; i++)
				fprintf(stderr, "extent %lu: %lx + %lu\n", i,
					h->ref.ext[i].pfn, h->ref.ext[i].npages);
		}
	}
	/* A failure leaves the table's entries as they were, as upstream's */
	if (ra && rb) {
		EXPECT(!a.prv == !b.prv && a.sgt.nents == b.sgt.nents &&
		       a.sgt.orig_nents == b.sgt.orig_nents &&
		       a.total_nents == b.total_nents);
		if (a.prv && b.prv)
			EXPECT(a.prv->length == b.prv->length);
	}
	sg_free_append_table(&a);
	sg_free_append_table(&b);
	free(pages);
	return true;
}

#endif /* _HARNESS_H */
