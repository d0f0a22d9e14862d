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

#if defined(MAX_POSSIBLE_PHYSMEM_BITS)
#define GUP_VEC_PHYSMEM_BITS	MAX_POSSIBLE_PHYSMEM_BITS
#elif defined(MAX_PHYSMEM_BITS)
#define GUP_VEC_PHYSMEM_BITS	MAX_PHYSMEM_BITS
#else
#define GUP_VEC_PHYSMEM_BITS	(BITS_PER_LONG + PAGE_SHIFT)
#endif

/* Every PFN the kernel can see must fit in the PFN field */
static_assert(GUP_VEC_PHYSMEM_BITS - PAGE_SHIFT <= GUP_VEC_PFN_BITS);

/*
 * Host tests (tests/host) set GUP_VEC_MUTATE to a bit mask to check that
 * they catch a one bit change in the encoding. It is 0 in the kernel.
 */
#ifndef GUP_VEC_MUTATE
#define GUP_VEC_MUTATE	0
#endif

static void gup_vec_store(struct gup_vec *vec, unsigned int i, u64 word)
{
	vec->bufs[vec->pos.buf][i] = word ^ GUP_VEC_MUTATE;
}

/* Close the current buffer, ending it if it is not full, and open the next */
static void gup_vec_next_buf(struct gup_vec *vec)
{
	struct gup_vec_pos *pos = &vec->pos;

	if (pos->head < pos->tail)
		gup_vec_store(vec, pos->head, GUP_VEC_END);
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
	word = FIELD_PREP(GUP_VEC_PFN, pos->pfn);
	/*
	 * Callers check room first, so this cannot happen; if it did, lose the
	 * extent (and leak its pins) rather than write past the buffers.
	 */
	if (WARN_ON_ONCE(!gup_vec_fits(vec, cost))) {
		pos->npages = 0;
		return;
	}
	if (pos->tail - pos->head < cost)
		gup_vec_next_buf(vec);
	if (cost == 1) {
		word |= FIELD_PREP(GUP_VEC_ORDER, ilog2(pos->npages));
	} else {
		word |= GUP_VEC_SIZED;
		gup_vec_store(vec, --pos->tail, pos->npages);
	}
	gup_vec_store(vec, pos->head++, word);
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
 * gup_vec_add_nomerge() - Record pinned pages as a new extent
 * @vec: The gup_vec
 * @pfn: First PFN of the range
 * @npages: Pages in the range, at least 1 and at most GUP_VEC_MAX_NPAGES
 *
 * Like gup_vec_add() but never merges the range into the pending extent:
 * for pages that must not be joined to the previous ones, e.g. P2PDMA pages
 * of another pgmap. Later ranges may merge into this one. Called with
 * interrupts disabled by the GUP-fast walker: does not sleep.
 *
 * Return: true if the range was recorded, false if there was no room or the
 * range is invalid; then @vec is unchanged.
 */
bool gup_vec_add_nomerge(struct gup_vec *vec, unsigned long pfn,
			 unsigned long npages)
{
	struct gup_vec_pos *pos = &vec->pos;
	unsigned long last;

	if (WARN_ON_ONCE(!npages || npages > GUP_VEC_MAX_NPAGES ||
			 check_add_overflow(pfn, npages - 1, &last) ||
			 !FIELD_FIT(GUP_VEC_PFN, last)))
		return false;
	if (!gup_vec_fits_after_pending(vec, gup_vec_cost(pfn, npages)))
		return false;
	if (pos->npages)
		gup_vec_encode(vec);
	pos->pfn = pfn;
	pos->npages = npages;
	pos->nr_pages += npages;
	pos->nr_extents++;
	return true;
}
EXPORT_SYMBOL_GPL(gup_vec_add_nomerge);

/**
 * gup_vec_finish() - Encode the pending extent and end the last buffer
 * @vec: The gup_vec
 *
 * After this the buffers describe themselves, see gup_vec_iter_init_bufs().
 * Adding may go on afterwards; the next extent will not merge into the last
 * one.
 *
 * Return: how many buffers, from the first, hold the encoding.
 */
unsigned int gup_vec_finish(struct gup_vec *vec)
{
	struct gup_vec_pos *pos = &vec->pos;

	if (!vec->nr_bufs)
		return 0;
	if (pos->npages)
		gup_vec_encode(vec);
	if (pos->head < pos->tail)
		gup_vec_store(vec, pos->head, GUP_VEC_END);
	return pos->buf + 1;
}
EXPORT_SYMBOL_GPL(gup_vec_finish);

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

	pfn = FIELD_GET(GUP_VEC_PFN, word);
	if (check_add_overflow(pfn, npages - 1, &last) ||
	    !FIELD_FIT(GUP_VEC_PFN, last) ||
	    (!(word & GUP_VEC_SIZED) && !IS_ALIGNED(pfn, npages)))
		return gup_vec_corrupt(iter);
	iter->pfn = pfn;
	iter->npages = npages;
	return true;
}

/**
 * gup_vec_iter_next() - Move to the next extent
 * @iter: Iterator set up by gup_vec_iter_init() or gup_vec_iter_init_bufs()
 *
 * The extent is @iter->pfn and @iter->npages, or gup_vec_iter_phys(@iter).
 * A word the encoder cannot have written ends the iteration with a warning.
 *
 * Return: true if there is an extent, false at the end.
 */
bool gup_vec_iter_next(struct gup_vec_iter *iter)
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
EXPORT_SYMBOL_GPL(gup_vec_iter_next);

/**
 * gup_vec_unpin() - Unpin every page a gup_vec recorded, and reset it
 * @vec: The gup_vec, finished or not
 * @make_dirty: Whether to mark the pages dirty
 *
 * One unpin_user_page_range_dirty_lock() per extent, so one put per folio.
 * Zero pages hold no pin and are not dirtied. May sleep if @make_dirty.
 *
 * Return: the number of pages released.
 */
unsigned long gup_vec_unpin(struct gup_vec *vec, bool make_dirty)
{
	struct gup_vec_iter iter;
	unsigned long nr = 0;

	gup_vec_for_each_extent(&iter, vec) {
		unpin_user_page_range_dirty_lock(pfn_to_page(iter.pfn),
						 iter.npages,
						 make_dirty &&
						 !is_zero_pfn(iter.pfn));
		nr += iter.npages;
	}
	gup_vec_reset(vec);
	return nr;
}
EXPORT_SYMBOL_GPL(gup_vec_unpin);

/*
 * The scatterlist entries the extents will take, counted as the page array
 * code counts them, so that each sg_alloc_append_table_from_page_range() call
 * can pass on how many will follow. The entries themselves are decided there.
 */
struct gup_vec_sg {
	unsigned long max_segment;
	unsigned long next_pfn;	/* After the last entry */
	unsigned long len;	/* Bytes in the last entry */
	bool open;		/* There is a last entry */
};

static void gup_vec_sg_start(struct gup_vec_sg *sg,
			     struct sg_append_table *sgt_append,
			     unsigned int max_segment)
{
	struct scatterlist *prv = sgt_append->prv;

	sg->max_segment = ALIGN_DOWN(max_segment, PAGE_SIZE);
	sg->open = prv;
	if (prv) {
		sg->len = prv->length;
		sg->next_pfn = (sg_phys(prv) + prv->length) / PAGE_SIZE;
	}
}

/* Top up the last entry, then one entry per max_segment */
static unsigned long gup_vec_sg_count(struct gup_vec_sg *sg,
				      unsigned long pfn, unsigned long npages)
{
	unsigned long max_pages = sg->max_segment >> PAGE_SHIFT;
	unsigned long nr = 0, count;

	if (sg->open && pfn == sg->next_pfn && sg->len < sg->max_segment &&
	    zone_device_pages_have_same_pgmap(pfn_to_page(pfn),
					      pfn_to_page(pfn - 1)))
		nr = min(npages, (sg->max_segment - sg->len) / PAGE_SIZE);
	sg->len += nr * PAGE_SIZE;
	sg->next_pfn += nr;
	if (nr == npages)
		return 0;

	npages -= nr;
	count = DIV_ROUND_UP(npages, max_pages);
	sg->open = true;
	sg->len = (npages - (count - 1) * max_pages) * PAGE_SIZE;
	sg->next_pfn = pfn + nr + npages;
	return count;
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
 * with offset 0, the same @max_segment and the same @left_pages.
 *
 * Return: 0 on success, -EINVAL if @max_segment is below PAGE_SIZE, -ENOMEM,
 * or -EOPNOTSUPP on ARCH_NO_SG_CHAIN if the table is not empty or @vec has
 * more than one extent (each extent after the first is an append). On
 * failure part of @vec may have been appended: as after a failed
 * sg_alloc_append_table_from_pages(), call sg_free_append_table().
 */
int gup_vec_append_sg(const struct gup_vec *vec,
		      struct sg_append_table *sgt_append,
		      unsigned int max_segment, unsigned long left_pages,
		      gfp_t gfp_mask)
{
	unsigned long left = left_pages;
	struct gup_vec_iter iter;
	struct gup_vec_sg sg;
	int ret;

	if (WARN_ON(max_segment < PAGE_SIZE))
		return -EINVAL;

	gup_vec_sg_start(&sg, sgt_append, max_segment);
	gup_vec_for_each_extent(&iter, vec)
		left = size_add(left, gup_vec_sg_count(&sg, iter.pfn,
						       iter.npages));

	gup_vec_sg_start(&sg, sgt_append, max_segment);
	gup_vec_for_each_extent(&iter, vec) {
		left -= gup_vec_sg_count(&sg, iter.pfn, iter.npages);
		ret = sg_alloc_append_table_from_page_range(sgt_append,
							    pfn_to_page(iter.pfn),
							    iter.npages,
							    max_segment, left,
							    gfp_mask);
		if (ret)
			return ret;
	}
	if (!left_pages && sgt_append->prv)
		sg_mark_end(sgt_append->prv);
	return 0;
}
EXPORT_SYMBOL_GPL(gup_vec_append_sg);
