/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packed pin: pinned user memory recorded as PFN extents.
 *
 * pin_user_pages_vec() records what it pins as extents, runs of physically
 * contiguous pages, in a struct gup_vec instead of filling one struct page
 * pointer per page. A 4K page, a 2M leaf and a 1G leaf each take 8 bytes;
 * any other run takes 16.
 *
 * Layout. The output is a caller-supplied array of buffers of SZ_4K bytes,
 * GUP_VEC_WORDS u64 words each, whatever PAGE_SIZE is. In a buffer, PFN
 * words grow up from word 0 and size words grow down from the last word;
 * the buffer is full when they meet. A PFN word is:
 *
 *   63      59   58   57    52 51                              0
 *  [ reserved | SIZED | ORDER |              PFN               ]
 *
 * With SIZED clear the extent is 2^ORDER pages from PFN, and PFN is aligned
 * to 2^ORDER. With SIZED set ORDER is 0 and the extent's length in pages is
 * the next unread size word, a u64, counting down from the end of the same
 * buffer. Reserved bits are 0. GUP_VEC_END, all ones, follows the last PFN
 * word of a buffer that is not full. Extents are stored in the order they
 * were added. An extent's PFN word and size word are always in the same
 * buffer, so a buffer left with one free word ahead of a SIZED extent is
 * closed with GUP_VEC_END and that word is lost.
 *
 * An extent is encoded with one word when it is a naturally aligned power of
 * two, else with two. The format describes itself: given the buffers and how
 * many of them gup_vec_finish() used, gup_vec_for_each_extent_bufs() decodes
 * them with no struct gup_vec at hand.
 *
 * Vocabulary. An extent is (pfn, npages); its end, pfn + npages, is
 * exclusive. The pending extent is the last one added. It is kept unencoded
 * in struct gup_vec so that the next add can grow it, and is encoded when an
 * add cannot merge into it or by gup_vec_finish(). Room is counted in words.
 *
 * Merging. gup_vec_add() grows the pending extent when the new range starts
 * at its end, when neither side of the join is a zero page (is_zero_pfn()),
 * and when the struct pages stay contiguous across the join: with SPARSEMEM
 * and no VMEMMAP the memmap is contiguous only within a memory section, so
 * there an extent never crosses a section boundary, as page_range_contiguous()
 * requires. Runs may span folios. A range given to gup_vec_add() must have
 * contiguous struct pages and one dev_pagemap, as a folio does. The caller
 * keeps pages of different dev_pagemaps apart, e.g. P2PDMA pages of another
 * provider (!zone_device_pages_have_same_pgmap()), with gup_vec_add_nomerge().
 *
 * What a caller may rely on:
 *  - extents come out in the order they were added and their page counts
 *    add up to gup_vec_nr_pages();
 *  - the pages of an extent are pfn_to_page(pfn) + i for i < npages:
 *    page_range_contiguous() holds for every extent;
 *  - an extent has at most GUP_VEC_MAX_NPAGES pages, so its page count fits
 *    an unsigned int and its length in bytes fits a size_t, and all its
 *    PFNs fit in GUP_VEC_PFN;
 *  - a zero page is an extent of its own. Pinning does not take a reference
 *    on it (try_grab_folio() skips it) and unpinning does not drop one
 *    (gup_put_folio() skips it), but it is recorded and counted like any
 *    other page, as pin_user_pages() does;
 *  - nothing else: two extents in a row may be contiguous, e.g. around a
 *    zero page or a section boundary, after gup_vec_add_nomerge(), or
 *    across two pin calls (each ends with gup_vec_finish()).
 *    gup_vec_nr_adjacent() counts such extents, so that a reader can tell
 *    that there are none without decoding.
 *
 * Room. An add is all or nothing: gup_vec_add() returns false and changes
 * nothing when the result could not be stored. The pending extent always has
 * room kept for it, so gup_vec_finish() cannot fail. Before walking a page
 * table the walker asks gup_vec_has_room() whether the worst case of that
 * table fits: an add of one page may need one word and an add of more pages
 * two, whatever merging does. The bound is
 *
 *	cost(pending) + nr_entries <= free words in the current buffer
 *				     + (GUP_VEC_WORDS - 1) * unused buffers
 *
 * An extent made of one add of one page takes one word; any other extent
 * takes at most two and is made of adds counted at least two. Growing the
 * pending extent takes at most one word more than it has now, and an add
 * counted at least once. Closing a buffer wastes at most one word, hence
 * GUP_VEC_WORDS - 1 for each buffer not yet used.
 *
 * Context. gup_vec_has_room(), gup_vec_add(), gup_vec_add_nomerge(),
 * gup_vec_save() and gup_vec_restore() do not sleep, allocate or make
 * indirect calls: the GUP-fast walker calls them with interrupts disabled.
 * Buffers must therefore be directly mapped kernel memory (kmalloc() or
 * __get_free_page() without __GFP_HIGHMEM), 8-byte aligned. A gup_vec has no
 * lock: it has one user at a time.
 */
#ifndef _LINUX_GUP_VEC_H
#define _LINUX_GUP_VEC_H

#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/limits.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pfn.h>
#include <linux/sizes.h>
#include <linux/types.h>

struct sg_append_table;

#define GUP_VEC_WORDS		(SZ_4K / sizeof(u64))

#define GUP_VEC_PFN_BITS	52
#define GUP_VEC_PFN		GENMASK_ULL(GUP_VEC_PFN_BITS - 1, 0)
#define GUP_VEC_ORDER		GENMASK_ULL(57, GUP_VEC_PFN_BITS)
#define GUP_VEC_SIZED		BIT_ULL(58)
#define GUP_VEC_RESERVED	GENMASK_ULL(63, 59)
#define GUP_VEC_END		U64_MAX

/* The longest extent: its page count fits an unsigned int, its bytes a size_t */
#define GUP_VEC_MAX_NPAGES \
	((unsigned long)MIN(SIZE_MAX >> PAGE_SHIFT, UINT_MAX))

/**
 * struct gup_vec_pos - Everything a gup_vec records, saved and restored whole
 * @buf: Index of the buffer being filled
 * @head: Index of the next PFN word in that buffer
 * @tail: Index of the last size word written in that buffer, GUP_VEC_WORDS
 *        if none
 * @pfn: First PFN of the pending extent; with none pending, the end of the
 *       last extent encoded (0 if none was)
 * @npages: Pages in the pending extent, 0 if there is none
 * @nr_pages: Pages recorded, the pending extent included
 * @nr_extents: Extents recorded, the pending extent included
 * @nr_adjacent: Extents recorded that start where the one before ends,
 *               across gup_vec_finish() too
 */
struct gup_vec_pos {
	unsigned int buf;
	unsigned int head;
	unsigned int tail;
	unsigned long pfn;
	unsigned long npages;
	unsigned long nr_pages;
	unsigned long nr_extents;
	unsigned long nr_adjacent;
};

/**
 * struct gup_vec - Output of a packed pin
 * @bufs: The caller's buffers, SZ_4K bytes each
 * @nr_bufs: Number of buffers
 * @pos: Where the encoding is, see struct gup_vec_pos
 */
struct gup_vec {
	u64 **bufs;
	unsigned int nr_bufs;
	struct gup_vec_pos pos;
};

/**
 * struct gup_vec_iter - Cursor over the extents of a gup_vec
 * @bufs: Buffers being decoded
 * @nr_bufs: Number of buffers to decode
 * @buf: Index of the buffer being decoded
 * @head: Index of its next PFN word
 * @tail: Index of its last size word read
 * @stop: Where the PFN words of the last buffer end, if known
 * @pending_pfn: First PFN of the extent not yet encoded
 * @pending_npages: Its pages, 0 if none or already returned
 * @pfn: First PFN of the current extent
 * @npages: Pages in the current extent
 */
struct gup_vec_iter {
	u64 * const *bufs;
	unsigned int nr_bufs;
	unsigned int buf;
	unsigned int head;
	unsigned int tail;
	unsigned int stop;
	unsigned long pending_pfn;
	unsigned long pending_npages;
	unsigned long pfn;
	unsigned long npages;
};

/*
 * Pin entry points, implemented in mm/gup.c. Like pin_user_pages_fast() and
 * pin_user_pages_remote(), but the pages are recorded in @vec. They return
 * the number of pages pinned, or -errno if none was (or 0, as
 * pin_user_pages_remote() may with FOLL_NOWAIT).
 */
#ifdef CONFIG_GUP_VEC
long pin_user_pages_vec(unsigned long start, unsigned long nr_pages,
			unsigned int gup_flags, struct gup_vec *vec);
long pin_user_pages_vec_remote(struct mm_struct *mm, unsigned long start,
			       unsigned long nr_pages, unsigned int gup_flags,
			       struct gup_vec *vec, int *locked);
#else
static inline long pin_user_pages_vec(unsigned long start,
				      unsigned long nr_pages,
				      unsigned int gup_flags,
				      struct gup_vec *vec)
{
	return -EOPNOTSUPP;
}

static inline long pin_user_pages_vec_remote(struct mm_struct *mm,
					     unsigned long start,
					     unsigned long nr_pages,
					     unsigned int gup_flags,
					     struct gup_vec *vec, int *locked)
{
	return -EOPNOTSUPP;
}
#endif

/*
 * The format, implemented in mm/gup_vec.c. gup_vec_add_nomerge(),
 * gup_vec_finish() and gup_vec_iter_next() are inline for the common cases
 * (one-word extents inside a buffer, the first extent of a call, the end of
 * an iteration with nothing pending) and call their out-of-line halves for
 * the rest.
 */
#ifdef CONFIG_GUP_VEC
bool __gup_vec_add_nomerge(struct gup_vec *vec, unsigned long pfn,
			   unsigned long npages);
unsigned int __gup_vec_finish(struct gup_vec *vec);
bool __gup_vec_iter_next(struct gup_vec_iter *iter);
unsigned long gup_vec_unpin(struct gup_vec *vec, bool make_dirty);
int gup_vec_append_sg(const struct gup_vec *vec,
		      struct sg_append_table *sgt_append,
		      unsigned int max_segment, unsigned long left_pages,
		      gfp_t gfp_mask);
#else
static inline bool gup_vec_add_nomerge(struct gup_vec *vec,
				       unsigned long pfn,
				       unsigned long npages)
{
	return false;
}

static inline unsigned int gup_vec_finish(struct gup_vec *vec)
{
	return 0;
}

static inline bool gup_vec_iter_next(struct gup_vec_iter *iter)
{
	return false;
}

static inline unsigned long gup_vec_unpin(struct gup_vec *vec,
					  bool make_dirty)
{
	return 0;
}

static inline int gup_vec_append_sg(const struct gup_vec *vec,
				    struct sg_append_table *sgt_append,
				    unsigned int max_segment,
				    unsigned long left_pages, gfp_t gfp_mask)
{
	return -EOPNOTSUPP;
}
#endif

/**
 * gup_vec_reset() - Forget what a gup_vec recorded, keeping its buffers
 * @vec: The gup_vec
 *
 * This drops no pins: see gup_vec_unpin().
 */
static inline void gup_vec_reset(struct gup_vec *vec)
{
	vec->pos = (struct gup_vec_pos) {
		.tail = vec->nr_bufs ? GUP_VEC_WORDS : 0,
	};
}

/**
 * gup_vec_init() - Set up an empty gup_vec over buffers
 * @vec: The gup_vec
 * @bufs: @nr_bufs pointers to buffers of SZ_4K bytes, see the top of this
 *        file
 * @nr_bufs: Number of buffers
 */
static inline void gup_vec_init(struct gup_vec *vec, u64 **bufs,
				unsigned int nr_bufs)
{
	vec->bufs = bufs;
	vec->nr_bufs = nr_bufs;
	gup_vec_reset(vec);
}

/* Pages recorded, the pending extent included */
static inline unsigned long gup_vec_nr_pages(const struct gup_vec *vec)
{
	return vec->pos.nr_pages;
}

/* Extents recorded, the pending extent included */
static inline unsigned long gup_vec_nr_extents(const struct gup_vec *vec)
{
	return vec->pos.nr_extents;
}

/*
 * Extents recorded that start where the one before ends: 0 means no two
 * extents in a row are physically contiguous.
 */
static inline unsigned long gup_vec_nr_adjacent(const struct gup_vec *vec)
{
	return vec->pos.nr_adjacent;
}

/*
 * The extent of a vec that holds exactly one, read off its position with no
 * decoding: pending, or encoded, which leaves pos.pfn at its end (see
 * struct gup_vec_pos). False if @vec holds none or more than one. It says
 * what the position counts, so it would also report an extent the encoder
 * refused to write (the WARN in gup_vec_encode(), which cannot happen).
 */
static inline bool gup_vec_only_extent(const struct gup_vec *vec,
				       unsigned long *pfn,
				       unsigned long *npages)
{
	const struct gup_vec_pos *pos = &vec->pos;

	if (pos->nr_extents != 1)
		return false;
	*npages = pos->nr_pages;
	*pfn = pos->npages ? pos->pfn : pos->pfn - pos->nr_pages;
	return true;
}

/* Whether an extent from @pfn would start where the last one recorded ends */
static inline bool gup_vec_adjacent(const struct gup_vec_pos *pos,
				    unsigned long pfn)
{
	return pos->nr_extents && pfn == pos->pfn + pos->npages;
}

/**
 * gup_vec_save() - Remember where a gup_vec is
 * @vec: The gup_vec
 * @pos: Where to remember it
 *
 * The GUP-fast walker saves the position before a walk so that it can forget
 * the walk with gup_vec_restore() if it races with fork.
 */
static inline void gup_vec_save(const struct gup_vec *vec,
				struct gup_vec_pos *pos)
{
	*pos = vec->pos;
}

/**
 * gup_vec_restore() - Forget what was recorded since gup_vec_save()
 * @vec: The gup_vec
 * @pos: What gup_vec_save() stored, since the last reset of @vec
 *
 * This drops no pins: the caller releases the pages it forgets.
 */
static inline void gup_vec_restore(struct gup_vec *vec,
				   const struct gup_vec_pos *pos)
{
	vec->pos = *pos;
}

/*
 * Words an extent of @npages >= 1 takes: one if it is a naturally aligned
 * power of two, as one page always is. Both tests in one: @npages is a
 * power of two, and @pfn a multiple of it, if neither has a bit set in
 * @npages - 1.
 */
static inline unsigned int gup_vec_cost(unsigned long pfn,
					unsigned long npages)
{
	return (pfn | npages) & (npages - 1) ? 2 : 1;
}

/* Whether an extent of @cost words can be encoded where the vec is */
static inline bool gup_vec_fits(const struct gup_vec *vec, unsigned int cost)
{
	const struct gup_vec_pos *pos = &vec->pos;

	return pos->tail - pos->head >= cost || pos->buf + 1 < vec->nr_bufs;
}

/* Whether an extent can be recorded at all: see GUP_VEC_MAX_NPAGES */
static inline bool gup_vec_valid(unsigned long pfn, unsigned long npages)
{
	unsigned long last;

	return npages && npages <= GUP_VEC_MAX_NPAGES &&
	       !check_add_overflow(pfn, npages - 1, &last) &&
	       FIELD_FIT(GUP_VEC_PFN, last);
}

/* The PFN word of an extent of one word, see gup_vec_cost() */
static __always_inline u64 gup_vec_word(unsigned long pfn,
					unsigned long npages)
{
	return FIELD_PREP(GUP_VEC_PFN, pfn) |
	       FIELD_PREP(GUP_VEC_ORDER, ilog2(npages));
}

/* The one writer of the encoding: every word is stored here */
static inline void __gup_vec_store(struct gup_vec *vec, unsigned int i,
				   u64 word)
{
	vec->bufs[vec->pos.buf][i] = word;
}

#ifdef CONFIG_GUP_VEC
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
static __always_inline bool gup_vec_add_nomerge(struct gup_vec *vec,
						unsigned long pfn,
						unsigned long npages)
{
	struct gup_vec_pos *pos = &vec->pos;

	/*
	 * Inline when the current buffer has room for two words and there is
	 * no pending extent (the first of a call), or the pending extent and
	 * the new one take a word each: then encode the pending one.
	 */
	if (pos->tail - pos->head >= 2 && gup_vec_valid(pfn, npages) &&
	    (!pos->npages || (gup_vec_cost(pos->pfn, pos->npages) == 1 &&
			      gup_vec_cost(pfn, npages) == 1))) {
		pos->nr_adjacent += gup_vec_adjacent(pos, pfn);
		if (pos->npages)
			__gup_vec_store(vec, pos->head++,
					gup_vec_word(pos->pfn, pos->npages));
		pos->pfn = pfn;
		pos->npages = npages;
		pos->nr_pages += npages;
		pos->nr_extents++;
		return true;
	}
	return __gup_vec_add_nomerge(vec, pfn, npages);
}

/**
 * gup_vec_finish() - Encode the pending extent and end the last buffer
 * @vec: The gup_vec
 *
 * After this the buffers describe themselves, see gup_vec_iter_init_bufs().
 * Adding may go on afterwards; the next extent will not merge into the last
 * one. Every pin call ends with it.
 *
 * Return: how many buffers, from the first, hold the encoding.
 */
static __always_inline unsigned int gup_vec_finish(struct gup_vec *vec)
{
	struct gup_vec_pos *pos = &vec->pos;

	/*
	 * Inline when the pending extent takes one word and the buffer has
	 * room for it and the end marker: after one page, or a naturally
	 * aligned run or leaf.
	 */
	if (pos->npages && pos->tail - pos->head >= 2 &&
	    gup_vec_cost(pos->pfn, pos->npages) == 1) {
		__gup_vec_store(vec, pos->head++,
				gup_vec_word(pos->pfn, pos->npages));
		__gup_vec_store(vec, pos->head, GUP_VEC_END);
		/* Where the next extent would be adjacent */
		pos->pfn += pos->npages;
		pos->npages = 0;
		return pos->buf + 1;
	}
	return __gup_vec_finish(vec);
}
#endif

/**
 * gup_vec_free() - How many entries a gup_vec can take
 * @vec: The gup_vec
 *
 * The largest budget gup_vec_has_room() accepts: the free words, less the
 * worst case of the pending extent. Adds within a budget of N take it down
 * by N at most, see the top of this file, so a caller may spend what it
 * returned over several tables without asking again.
 *
 * Return: the budget, 1 per add of one page and 2 per add of more pages.
 */
static inline unsigned long gup_vec_free(const struct gup_vec *vec)
{
	const struct gup_vec_pos *pos = &vec->pos;
	u64 room = pos->tail - pos->head;
	u64 need = 0;

	if (pos->npages)
		need = gup_vec_cost(pos->pfn, pos->npages);
	if (pos->buf + 1 < vec->nr_bufs)
		room += (u64)(GUP_VEC_WORDS - 1) * (vec->nr_bufs - pos->buf - 1);
	return room > need ? min_t(u64, room - need, ULONG_MAX) : 0;
}

/**
 * gup_vec_has_room() - Whether a gup_vec can take a page table's worth
 * @vec: The gup_vec
 * @nr_entries: Budget: 1 per add of one page, 2 per add of more pages
 *
 * A table of N PTEs needs N, a leaf of any size needs 2. Merging never makes
 * the worst case worse, see the top of this file.
 *
 * Return: true if any sequence of gup_vec_add() and gup_vec_add_nomerge()
 * calls within @nr_entries, and then gup_vec_finish(), will succeed.
 */
static inline bool gup_vec_has_room(const struct gup_vec *vec,
				    unsigned long nr_entries)
{
	unsigned int room = vec->pos.tail - vec->pos.head;

	/* The pending extent takes two words at most: the buffer is enough */
	if (room >= 2 && nr_entries <= room - 2)
		return true;
	return nr_entries <= gup_vec_free(vec);
}

#if defined(CONFIG_SPARSEMEM) && !defined(CONFIG_SPARSEMEM_VMEMMAP)
/* See page_range_contiguous(): the memmap is contiguous within a section */
static inline bool gup_vec_may_join(unsigned long pfn)
{
	return !IS_ALIGNED(pfn, PAGES_PER_SECTION);
}
#else
static inline bool gup_vec_may_join(unsigned long pfn)
{
	return true;
}
#endif

/* Whether [@pfn, @pfn + @npages) may grow the pending extent */
static inline bool gup_vec_can_merge(const struct gup_vec *vec,
				     unsigned long pfn, unsigned long npages)
{
	const struct gup_vec_pos *pos = &vec->pos;

	return pos->npages && pfn == pos->pfn + pos->npages &&
	       gup_vec_valid(pfn, npages) &&
	       npages <= GUP_VEC_MAX_NPAGES - pos->npages &&
	       !is_zero_pfn(pfn) && !is_zero_pfn(pfn - 1) &&
	       gup_vec_may_join(pfn) &&
	       gup_vec_fits(vec, gup_vec_cost(pos->pfn, pos->npages + npages));
}

/**
 * gup_vec_add() - Record pinned pages
 * @vec: The gup_vec
 * @pfn: First PFN of the range
 * @npages: Pages in the range, at least 1
 *
 * Grows the pending extent if the range merges into it, see the top of this
 * file, else encodes the pending extent and makes the range the new one. The
 * struct pages of the range must be contiguous, as they are in a folio.
 *
 * Return: true if the range was recorded, false if there was no room or the
 * range is invalid; then @vec is unchanged.
 */
static __always_inline bool gup_vec_add(struct gup_vec *vec,
					unsigned long pfn,
					unsigned long npages)
{
	if (!gup_vec_can_merge(vec, pfn, npages))
		return gup_vec_add_nomerge(vec, pfn, npages);
	vec->pos.npages += npages;
	vec->pos.nr_pages += npages;
	return true;
}

/**
 * gup_vec_iter_init() - Start iterating over the extents of a gup_vec
 * @iter: The iterator
 * @vec: The gup_vec, finished or not
 *
 * The pending extent of an unfinished @vec comes last.
 *
 * Return: @iter.
 */
static inline struct gup_vec_iter *
gup_vec_iter_init(struct gup_vec_iter *iter, const struct gup_vec *vec)
{
	*iter = (struct gup_vec_iter) {
		.bufs = vec->bufs,
		.nr_bufs = vec->nr_bufs ? vec->pos.buf + 1 : 0,
		.tail = GUP_VEC_WORDS,
		.stop = vec->pos.head,
		.pending_pfn = vec->pos.pfn,
		.pending_npages = vec->pos.npages,
	};
	return iter;
}

/**
 * gup_vec_iter_init_bufs() - Start iterating over encoded buffers
 * @iter: The iterator
 * @bufs: The buffers
 * @nr_bufs: How many of them hold extents, as gup_vec_finish() returned
 *
 * Return: @iter.
 */
static inline struct gup_vec_iter *
gup_vec_iter_init_bufs(struct gup_vec_iter *iter, u64 * const *bufs,
		       unsigned int nr_bufs)
{
	*iter = (struct gup_vec_iter) {
		.bufs = bufs,
		.nr_bufs = nr_bufs,
		.tail = GUP_VEC_WORDS,
		.stop = GUP_VEC_WORDS,
	};
	return iter;
}

/**
 * gup_vec_iter_init_from() - Iterate over what was recorded since a save
 * @iter: The iterator
 * @vec: The gup_vec
 * @from: What gup_vec_save() stored when @vec had no pending extent (it
 *        was empty or finished), since the last reset of @vec
 *
 * A caller that pins into one gup_vec call after call reads each call's
 * extents with this, without decoding the earlier ones again. The pending
 * extent of an unfinished @vec comes last.
 *
 * Return: @iter.
 */
static inline struct gup_vec_iter *
gup_vec_iter_init_from(struct gup_vec_iter *iter, const struct gup_vec *vec,
		       const struct gup_vec_pos *from)
{
	gup_vec_iter_init(iter, vec);
	/* Nothing recorded then, maybe no buffer yet: read it all */
	if (!from->nr_extents)
		return iter;
	/* An extent pending at @from would come first, grown or not */
	WARN_ON_ONCE(from->npages);
	/* Where the iterator is once it has read every extent before @from */
	iter->buf = from->buf;
	iter->head = from->head;
	iter->tail = from->tail;
	return iter;
}

/* The current extent of @iter as a physical range */
static inline struct phys_vec gup_vec_iter_phys(const struct gup_vec_iter *iter)
{
	return (struct phys_vec) {
		.paddr = PFN_PHYS(iter->pfn),
		.len = (size_t)iter->npages << PAGE_SHIFT,
	};
}

#ifdef CONFIG_GUP_VEC
/**
 * gup_vec_iter_next() - Move to the next extent
 * @iter: Iterator set up by gup_vec_iter_init(), gup_vec_iter_init_from()
 *        or gup_vec_iter_init_bufs()
 *
 * The extent is @iter->pfn and @iter->npages, or gup_vec_iter_phys(@iter).
 * A word the encoder cannot have written ends the iteration with a warning.
 *
 * Return: true if there is an extent, false at the end.
 */
static inline bool gup_vec_iter_next(struct gup_vec_iter *iter)
{
	unsigned int stop, order;
	unsigned long npages;
	u64 word, pfn;

	/*
	 * Inline: a PFN word of a one-word extent that the encoder could have
	 * written, one page first, and the end of the last buffer when no
	 * extent is pending.
	 * Anything else, the end of another buffer included, is decoded, or
	 * refused, out of line.
	 */
	if (iter->buf >= iter->nr_bufs)
		goto out_of_line;
	stop = iter->tail;
	if (iter->buf + 1 == iter->nr_bufs) {
		stop = min(stop, iter->stop);
		if (iter->head >= stop && !iter->pending_npages) {
			/* Where __gup_vec_iter_next() leaves it at the end */
			iter->buf++;
			iter->head = 0;
			iter->tail = GUP_VEC_WORDS;
			return false;
		}
	}
	if (iter->head >= stop)
		goto out_of_line;
	word = iter->bufs[iter->buf][iter->head];
	/* One page, as every extent of scattered memory is: just a PFN */
	if (!(word & ~GUP_VEC_PFN) && (unsigned long)word == word) {
		iter->head++;
		iter->pfn = word;
		iter->npages = 1;
		return true;
	}
	if (word & (GUP_VEC_RESERVED | GUP_VEC_SIZED))
		goto out_of_line;
	order = FIELD_GET(GUP_VEC_ORDER, word);
	if (order > ilog2(GUP_VEC_MAX_NPAGES))
		goto out_of_line;
	npages = 1UL << order;
	pfn = FIELD_GET(GUP_VEC_PFN, word);
	/*
	 * A PFN an unsigned long holds, aligned to the power of two npages,
	 * so pfn + npages - 1 cannot wrap it either.
	 */
	if ((unsigned long)pfn != pfn || !IS_ALIGNED(pfn, npages) ||
	    !FIELD_FIT(GUP_VEC_PFN, pfn + npages - 1))
		goto out_of_line;
	iter->head++;
	iter->pfn = pfn;
	iter->npages = npages;
	return true;

out_of_line:
	return __gup_vec_iter_next(iter);
}
#endif

/* @iter->pfn and @iter->npages are each extent of @vec in turn */
#define gup_vec_for_each_extent(iter, vec)				\
	for (struct gup_vec_iter *__gup_vec_it =			\
		gup_vec_iter_init(iter, vec);				\
	     gup_vec_iter_next(__gup_vec_it);)

/* The same over buffers alone, @nr_bufs as gup_vec_finish() returned */
#define gup_vec_for_each_extent_bufs(iter, bufs, nr_bufs)		\
	for (struct gup_vec_iter *__gup_vec_it =			\
		gup_vec_iter_init_bufs(iter, bufs, nr_bufs);		\
	     gup_vec_iter_next(__gup_vec_it);)

#endif /* _LINUX_GUP_VEC_H */
