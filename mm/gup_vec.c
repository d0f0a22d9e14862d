// SPDX-License-Identifier: GPL-2.0
/*
 * Packed pin output: encoder, decoder, unpin and scatterlist building.
 *
 * The format, its vocabulary and what a caller may rely on are described at
 * the top of include/linux/gup_vec.h. The pin walker that fills a gup_vec
 * lives in mm/gup.c.
 */
#include <linux/bitfield.h>
#include <linux/bug.h>
#include <linux/export.h>
#include <linux/gup_vec.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/scatterlist.h>

#include "internal.h"

#if defined(MAX_POSSIBLE_PHYSMEM_BITS)
#define GUP_VEC_PHYSMEM_BITS	MAX_POSSIBLE_PHYSMEM_BITS
#elif defined(MAX_PHYSMEM_BITS)
#define GUP_VEC_PHYSMEM_BITS	MAX_PHYSMEM_BITS
#else
/* FLATMEM without either (e.g. alpha): what a phys_addr_t can address */
#define GUP_VEC_PHYSMEM_BITS	(8 * sizeof(phys_addr_t))
#endif

/* Every PFN the kernel can see must fit in the PFN field */
static_assert(GUP_VEC_PHYSMEM_BITS - PAGE_SHIFT <= GUP_VEC_PFN_BITS);

/* Close the current buffer, ending it if it is not full, and open the next */
static void gup_vec_next_buf(struct gup_vec *vec)
{
	struct gup_vec_pos *pos = &vec->pos;

	if (pos->head < pos->tail)
		__gup_vec_store(vec, pos->head, GUP_VEC_END);
	pos->buf++;
	pos->head = 0;
	pos->tail = GUP_VEC_WORDS;
}

/* Encode the pending extent, for which there is always room */
static void gup_vec_encode(struct gup_vec *vec)
{
	struct gup_vec_pos *pos = &vec->pos;
	unsigned int cost;
	u64 word;

	cost = gup_vec_cost(pos->pfn, pos->npages);
	/*
	 * Callers check room first, so this cannot happen; if it did, lose the
	 * extent (and leak its pins) rather than write past the buffers.
	 */
	if (WARN_ON_ONCE(!gup_vec_fits(vec, cost))) {
		/* Still counted in nr_pages and nr_extents */
		pos->pfn += pos->npages;
		pos->npages = 0;
		return;
	}
	if (pos->tail - pos->head < cost)
		gup_vec_next_buf(vec);
	if (cost == 1) {
		word = gup_vec_word(pos->pfn, pos->npages);
	} else {
		word = FIELD_PREP(GUP_VEC_PFN, pos->pfn) | GUP_VEC_SIZED;
		__gup_vec_store(vec, --pos->tail, pos->npages);
	}
	__gup_vec_store(vec, pos->head++, word);
	/* Where the next extent would be adjacent, see gup_vec_adjacent() */
	pos->pfn += pos->npages;
	pos->npages = 0;
}

/* Whether an extent of @cost words fits once the pending one is encoded */
static bool gup_vec_fits_after_pending(const struct gup_vec *vec,
				       unsigned int cost)
{
	const struct gup_vec_pos *pos = &vec->pos;
	unsigned int room = pos->tail - pos->head;
	unsigned int buf = pos->buf;

	if (pos->npages) {
		unsigned int pending = gup_vec_cost(pos->pfn, pos->npages);

		if (room < pending) {
			buf++;
			room = GUP_VEC_WORDS;
		}
		room -= pending;
	}
	return room >= cost || buf + 1 < vec->nr_bufs;
}

/**
 * __gup_vec_add_nomerge() - gup_vec_add_nomerge(), out of line
 * @vec: The gup_vec
 * @pfn: First PFN of the range
 * @npages: Pages in the range
 *
 * What gup_vec_add_nomerge() does not do inline: opening the next buffer,
 * encoding a pending extent of two words, or one when the new extent takes
 * two, and refusing what cannot be recorded.
 *
 * Return: true if the range was recorded, false if there was no room or the
 * range is invalid; then @vec is unchanged.
 */
bool __gup_vec_add_nomerge(struct gup_vec *vec, unsigned long pfn,
			   unsigned long npages)
{
	struct gup_vec_pos *pos = &vec->pos;

	if (WARN_ON_ONCE(!gup_vec_valid(pfn, npages)))
		return false;
	if (!gup_vec_fits_after_pending(vec, gup_vec_cost(pfn, npages)))
		return false;
	pos->nr_adjacent += gup_vec_adjacent(pos, pfn);
	if (pos->npages)
		gup_vec_encode(vec);
	pos->pfn = pfn;
	pos->npages = npages;
	pos->nr_pages += npages;
	pos->nr_extents++;
	return true;
}
EXPORT_SYMBOL_GPL(__gup_vec_add_nomerge);

/**
 * __gup_vec_finish() - gup_vec_finish(), out of line
 * @vec: The gup_vec
 *
 * What gup_vec_finish() does not do inline: an empty vec, no pending
 * extent, one of two words, or a buffer too full for it and the end marker.
 *
 * Return: how many buffers, from the first, hold the encoding.
 */
unsigned int __gup_vec_finish(struct gup_vec *vec)
{
	struct gup_vec_pos *pos = &vec->pos;

	if (!vec->nr_bufs)
		return 0;
	if (pos->npages)
		gup_vec_encode(vec);
	if (pos->head < pos->tail)
		__gup_vec_store(vec, pos->head, GUP_VEC_END);
	return pos->buf + 1;
}
EXPORT_SYMBOL_GPL(__gup_vec_finish);

/* Give up on buffers the encoder cannot have written */
static bool gup_vec_corrupt(struct gup_vec_iter *iter)
{
	WARN_ONCE(1, "gup_vec: bad encoding in buffer %u before word %u\n",
		  iter->buf, iter->head);
	iter->nr_bufs = 0;
	iter->pending_npages = 0;
	return false;
}

/* Decode the next extent of the current buffer, false at its end */
static bool gup_vec_decode(struct gup_vec_iter *iter)
{
	const u64 *words = iter->bufs[iter->buf];
	unsigned int stop = iter->tail;
	unsigned long pfn, last;
	unsigned int order;
	u64 word, npages;
	u64 pfn_bits;

	if (iter->buf + 1 == iter->nr_bufs)
		stop = min(stop, iter->stop);
	if (iter->head >= stop)
		return false;
	word = words[iter->head];
	if (word == GUP_VEC_END)
		return false;
	iter->head++;
	if (word & GUP_VEC_RESERVED)
		return gup_vec_corrupt(iter);

	order = FIELD_GET(GUP_VEC_ORDER, word);
	if (word & GUP_VEC_SIZED) {
		if (order || iter->head >= iter->tail)
			return gup_vec_corrupt(iter);
		npages = words[--iter->tail];
	} else {
		if (order >= BITS_PER_LONG)
			return gup_vec_corrupt(iter);
		npages = 1UL << order;
	}
	if (!npages || npages > GUP_VEC_MAX_NPAGES)
		return gup_vec_corrupt(iter);

	/* A PFN the kernel cannot hold (32-bit) was never encoded */
	pfn_bits = FIELD_GET(GUP_VEC_PFN, word);
	pfn = pfn_bits;
	if (pfn != pfn_bits)
		return gup_vec_corrupt(iter);
	if (check_add_overflow(pfn, npages - 1, &last) ||
	    !FIELD_FIT(GUP_VEC_PFN, last) ||
	    (!(word & GUP_VEC_SIZED) && !IS_ALIGNED(pfn, npages)))
		return gup_vec_corrupt(iter);
	iter->pfn = pfn;
	iter->npages = npages;
	return true;
}

/**
 * __gup_vec_iter_next() - gup_vec_iter_next(), out of line
 * @iter: Iterator set up by gup_vec_iter_init() or gup_vec_iter_init_bufs()
 *
 * Decodes what gup_vec_iter_next() does not inline: extents of two words,
 * buffer ends but that of the last buffer with nothing pending, the
 * pending extent, and words the encoder cannot have written, which end the
 * iteration with a warning.
 *
 * Return: true if there is an extent, false at the end.
 */
bool __gup_vec_iter_next(struct gup_vec_iter *iter)
{
	for (; iter->buf < iter->nr_bufs; iter->buf++) {
		if (gup_vec_decode(iter))
			return true;
		iter->head = 0;
		iter->tail = GUP_VEC_WORDS;
	}
	if (!iter->pending_npages)
		return false;
	iter->pfn = iter->pending_pfn;
	iter->npages = iter->pending_npages;
	iter->pending_npages = 0;
	return true;
}
EXPORT_SYMBOL_GPL(__gup_vec_iter_next);

/**
 * gup_vec_unpin() - Unpin every page a gup_vec recorded, and reset it
 * @vec: The gup_vec, finished or not
 * @make_dirty: Whether to mark the pages dirty
 *
 * One put per folio, as unpin_user_page_range_dirty_lock() does for each
 * extent, with the pins added to NR_FOLL_PIN_RELEASED once for each run of
 * folios of one node rather than once a folio (gup_vec_unpin_iter()). Zero
 * pages hold no pin and are not dirtied. May sleep if @make_dirty.
 *
 * Return: the number of pages recorded, zero pages included.
 */
unsigned long gup_vec_unpin(struct gup_vec *vec, bool make_dirty)
{
	struct gup_vec_iter iter;
	unsigned long nr;

	nr = gup_vec_unpin_iter(gup_vec_iter_init(&iter, vec), make_dirty);
	gup_vec_reset(vec);
	return nr;
}
EXPORT_SYMBOL_GPL(gup_vec_unpin);

/*
 * Where the scatterlist stands while extents are appended, kept apart from
 * the table so that, where a first pass is needed, it can count the
 * entries the second will add: sg_alloc_append_table_from_pages() passes
 * that count on to each allocation, and so does gup_vec_append_sg().
 */
struct gup_vec_sg {
	unsigned long max_segment;	/* Bytes in an entry, page aligned */
	unsigned long max_pages;	/* The same in pages */
	unsigned long next_pfn;		/* After the last entry */
	unsigned long len;		/* Bytes in the last entry */
	bool open;			/* There is a last entry */
};

static void gup_vec_sg_start(struct gup_vec_sg *sg,
			     const struct sg_append_table *sgt_append,
			     unsigned int max_segment)
{
	struct scatterlist *prv = sgt_append->prv;

	*sg = (struct gup_vec_sg) {
		.max_segment = max_segment,
		.max_pages = max_segment >> PAGE_SHIFT,
		.open = prv,
	};
	if (prv) {
		sg->len = prv->length;
		sg->next_pfn = (sg_phys(prv) + prv->length) >> PAGE_SHIFT;
	}
}

/*
 * Step over [@pfn, @pfn + @npages) as sg_alloc_append_table_from_pages()
 * takes the same pages: *@merged of them top up the last entry, then the
 * rest is split into entries of max_segment. Return: the new entries.
 * Inline: it is taken twice for each extent where the entries are counted
 * first, and for the first extent only in the single pass.
 */
static __always_inline unsigned long
gup_vec_sg_step(struct gup_vec_sg *sg, unsigned long pfn, unsigned long npages,
		unsigned long *merged)
{
	unsigned long nr = 0, count;

	if (sg->open && pfn == sg->next_pfn && sg->len < sg->max_segment &&
	    zone_device_pages_have_same_pgmap(pfn_to_page(pfn),
					      pfn_to_page(pfn - 1)))
		nr = min(npages, (sg->max_segment - sg->len) >> PAGE_SHIFT);
	*merged = nr;
	sg->len += nr << PAGE_SHIFT;
	sg->next_pfn += nr;
	if (nr == npages)
		return 0;

	npages -= nr;
	sg->open = true;
	sg->next_pfn = pfn + nr + npages;
	if (npages <= sg->max_pages) {
		sg->len = npages << PAGE_SHIFT;
		return 1;
	}
	count = DIV_ROUND_UP(npages, sg->max_pages);
	sg->len = (npages - (count - 1) * sg->max_pages) << PAGE_SHIFT;
	return count;
}

/*
 * Add @count entries for the @npages pages from @pfn on, max_segment an
 * entry; *@left counts the entries still to add, these included. Inline:
 * it is called for each extent.
 */
static __always_inline int
gup_vec_sg_add(struct sg_append_table *sgt_append, const struct gup_vec_sg *sg,
	       unsigned long pfn, unsigned long npages, unsigned long count,
	       unsigned long *left, gfp_t gfp_mask)
{
	struct scatterlist *s;
	unsigned long nr;

	for (; count; count--) {
		nr = min(npages, sg->max_pages);
		s = sg_append_table_next(sgt_append, (*left)--, gfp_mask);
		if (IS_ERR(s))
			return PTR_ERR(s);
		sg_set_page(s, pfn_to_page(pfn), nr << PAGE_SHIFT, 0);
		pfn += nr;
		npages -= nr;
	}
	return 0;
}

/*
 * Whether each extent of @vec takes one entry of at most @max_pages pages,
 * as no extent starts where the one before ends and none can be longer
 * (the longest has at most nr_pages - nr + 1 pages): then the entries
 * still to add are known without a counting pass.
 */
static bool gup_vec_sg_one_each(const struct gup_vec *vec,
				unsigned long max_pages)
{
	unsigned long nr = gup_vec_nr_extents(vec);

	return nr && !gup_vec_nr_adjacent(vec) &&
	       gup_vec_nr_pages(vec) - nr < max_pages;
}

/*
 * Append the extents of @vec from @sg on in a single pass, when none starts
 * where the one before ends and none can be longer than an entry: each
 * takes one entry, but the first, which may first top up the table's last
 * entry and then takes at most one. So the entry count that
 * sg_alloc_append_table_from_pages() computes in a first pass is known
 * without one. Inline: the common case, in the one caller.
 */
static __always_inline int
gup_vec_sg_add_one_each(const struct gup_vec *vec,
			struct sg_append_table *sgt_append,
			struct gup_vec_sg *sg, unsigned long left,
			gfp_t gfp_mask)
{
	unsigned long count, merged, pfn, npages;
	/* Set whole before use, unused for one extent: not zeroed up front */
	struct gup_vec_iter iter __uninitialized;
	bool only;
	int ret;

	/* One extent, as a small or huge-page MR often is: no decoding */
	only = gup_vec_only_extent(vec, &pfn, &npages);
	if (!only) {
		gup_vec_iter_init(&iter, vec);
		if (!gup_vec_iter_next(&iter))
			return 0;
		pfn = iter.pfn;
		npages = iter.npages;
	}
	count = gup_vec_sg_step(sg, pfn, npages, &merged);
	left = size_add(left, gup_vec_nr_extents(vec) - 1 + count);
	if (merged)
		sgt_append->prv->length += merged << PAGE_SHIFT;
	ret = gup_vec_sg_add(sgt_append, sg, pfn + merged, npages - merged,
			     count, &left, gfp_mask);
	if (only)
		return ret;

	while (!ret && gup_vec_iter_next(&iter))
		ret = gup_vec_sg_add(sgt_append, sg, iter.pfn, iter.npages, 1,
				     &left, gfp_mask);
	return ret;
}

/* Append the extents of @vec from @sg on, counting their entries first */
static int gup_vec_sg_add_counted(const struct gup_vec *vec,
				  struct sg_append_table *sgt_append,
				  struct gup_vec_sg *sg, unsigned long left,
				  gfp_t gfp_mask)
{
	struct gup_vec_sg counter = *sg;
	unsigned long count, merged;
	struct gup_vec_iter iter;
	int ret;

	gup_vec_for_each_extent(&iter, vec)
		left = size_add(left, gup_vec_sg_step(&counter, iter.pfn,
						      iter.npages, &merged));

	gup_vec_for_each_extent(&iter, vec) {
		count = gup_vec_sg_step(sg, iter.pfn, iter.npages, &merged);
		if (merged)
			sgt_append->prv->length += merged << PAGE_SHIFT;
		ret = gup_vec_sg_add(sgt_append, sg, iter.pfn + merged,
				     iter.npages - merged, count, &left,
				     gfp_mask);
		if (ret)
			return ret;
	}
	return 0;
}

/* Add the next entry, for @npages pages from @pfn; @left counts it */
static __always_inline struct scatterlist *
gup_vec_sg_set_next(struct sg_append_table *sgt_append, unsigned long pfn,
		    unsigned long npages, unsigned long left, gfp_t gfp_mask)
{
	struct scatterlist *s;

	s = sg_append_table_next(sgt_append, left, gfp_mask);
	if (!IS_ERR(s))
		sg_set_page(s, pfn_to_page(pfn), npages << PAGE_SHIFT, 0);
	return s;
}

/*
 * The first append of extents that take one entry each (see
 * gup_vec_sg_one_each()), as those of a small MR of scattered pages do:
 * an entry an extent, with nothing to merge or count, and on failure only
 * the empty table to restore. Out of line, as the iterator's frame would
 * cost the one-extent case.
 */
static noinline int gup_vec_sg_add_first(const struct gup_vec *vec,
					 struct sg_append_table *sgt_append,
					 unsigned long left_pages,
					 gfp_t gfp_mask)
{
	unsigned long left = size_add(left_pages, gup_vec_nr_extents(vec));
	unsigned int nents = sgt_append->sgt.nents;
	/* Set whole by gup_vec_for_each_extent(): not zeroed up front */
	struct gup_vec_iter iter __uninitialized;
	struct scatterlist *s = NULL;

	gup_vec_for_each_extent(&iter, vec) {
		s = gup_vec_sg_set_next(sgt_append, iter.pfn, iter.npages,
					left--, gfp_mask);
		if (IS_ERR(s))
			goto restore;
	}
	/* No entry only if the iterator met a bad word, and warned */
	if (s && !left_pages)
		sg_mark_end(s);
	return 0;

restore:
	sgt_append->prv = NULL;
	/* Equal between appends: each call leaves orig_nents at nents */
	sgt_append->sgt.nents = nents;
	sgt_append->sgt.orig_nents = nents;
	return PTR_ERR(s);
}

/* The first append of one extent that fits an entry: no decoding */
static int gup_vec_sg_add_only(struct sg_append_table *sgt_append,
			       unsigned long pfn, unsigned long npages,
			       unsigned long left_pages, gfp_t gfp_mask)
{
	struct scatterlist *s;

	s = gup_vec_sg_set_next(sgt_append, pfn, npages,
				size_add(left_pages, 1), gfp_mask);
	if (IS_ERR(s))
		return PTR_ERR(s);
	if (!left_pages)
		sg_mark_end(s);
	return 0;
}

/* Append any extents of @vec, as gup_vec_append_sg() says */
static noinline int gup_vec_sg_append(const struct gup_vec *vec,
				      struct sg_append_table *sgt_append,
				      unsigned int max_segment,
				      unsigned long left_pages,
				      gfp_t gfp_mask)
{
	struct scatterlist *prv = sgt_append->prv;
	unsigned int nents = sgt_append->sgt.nents;
	unsigned int prv_len = prv ? prv->length : 0;
	unsigned long nr = gup_vec_nr_extents(vec);
	struct gup_vec_sg sg;
	int ret;

	if (IS_ENABLED(CONFIG_ARCH_NO_SG_CHAIN) && prv && nr)
		return -EOPNOTSUPP;

	/*
	 * Each allocation is sized by the entries still to add, as that call
	 * counts them: known without a counting pass when each extent takes
	 * one entry (none merges into the entry before).
	 */
	gup_vec_sg_start(&sg, sgt_append, max_segment);
	if (gup_vec_sg_one_each(vec, sg.max_pages))
		ret = gup_vec_sg_add_one_each(vec, sgt_append, &sg, left_pages,
					      gfp_mask);
	else
		ret = gup_vec_sg_add_counted(vec, sgt_append, &sg, left_pages,
					     gfp_mask);
	if (ret)
		goto restore;
	if (!left_pages && sgt_append->prv)
		sg_mark_end(sgt_append->prv);
	return 0;

restore:
	sgt_append->prv = prv;
	if (prv)
		prv->length = prv_len;
	/* Equal between appends: each call leaves orig_nents at nents */
	sgt_append->sgt.nents = nents;
	sgt_append->sgt.orig_nents = nents;
	return ret;
}

/**
 * gup_vec_append_sg() - Append the pages of a gup_vec to an sg table
 * @vec: The gup_vec, finished or not
 * @sgt_append: The sg append table, as for sg_alloc_append_table_from_pages()
 * @max_segment: Maximum size of a scatterlist entry in bytes
 * @left_pages: Pages the caller will append after these
 * @gfp_mask: GFP allocation mask
 *
 * Builds exactly the table, allocations and chaining included, that one
 * sg_alloc_append_table_from_pages() call would build for the same pages
 * with offset 0, the same @max_segment and the same @left_pages. Each
 * extent costs one or more entries (or a merge into the last one), not a
 * page pointer a page.
 *
 * An empty @vec appends nothing (and with no @left_pages marks the end).
 *
 * Return: 0 on success, -EINVAL if @max_segment is below PAGE_SIZE, -ENOMEM,
 * or on ARCH_NO_SG_CHAIN -EOPNOTSUPP if neither the table nor @vec is empty,
 * as that call. On failure the table's entries and last entry are as they
 * were, but chunks allocated on the way stay chained: as after a failed
 * sg_alloc_append_table_from_pages(), the table can then only be freed,
 * with sg_free_append_table().
 */
int gup_vec_append_sg(const struct gup_vec *vec,
		      struct sg_append_table *sgt_append,
		      unsigned int max_segment, unsigned long left_pages,
		      gfp_t gfp_mask)
{
	unsigned long pfn, npages;

	max_segment = ALIGN_DOWN(max_segment, PAGE_SIZE);
	if (WARN_ON(max_segment < PAGE_SIZE))
		return -EINVAL;
	if (!sgt_append->prv) {
		/* One extent has none adjacent: gup_vec_sg_one_each() */
		if (gup_vec_only_extent(vec, &pfn, &npages)) {
			if (npages <= max_segment >> PAGE_SHIFT)
				return gup_vec_sg_add_only(sgt_append, pfn,
							   npages, left_pages,
							   gfp_mask);
		} else if (gup_vec_sg_one_each(vec, max_segment >> PAGE_SHIFT)) {
			return gup_vec_sg_add_first(vec, sgt_append, left_pages,
						    gfp_mask);
		}
	}
	return gup_vec_sg_append(vec, sgt_append, max_segment, left_pages,
				 gfp_mask);
}
EXPORT_SYMBOL_GPL(gup_vec_append_sg);
