/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reference the tests hold mm/gup_vec.c to. It is written from the
 * layout documented at the top of include/linux/gup_vec.h and shares no code
 * with it: the constants are spelled out, the merge rules are restated, and
 * the buffers are built and read back with plain shifts and masks.
 *
 *  ref_add()     the merging model: which extents a sequence of adds makes,
 *                and whether the encoder has room to accept an add
 *  ref_image()   the words the buffers must hold for those extents
 *  ref_decode()  extents read back from buffers, checking every rule
 */
#ifndef _REF_H
#define _REF_H

_Static_assert(sizeof(long) == 8, "the reference assumes a 64-bit host");

#define REF_WORDS	512u		/* u64 words in a 4 KiB buffer */
#define REF_END		0xffffffffffffffffull
#define REF_PFN_LIMIT	(1ull << 52)	/* PFNs are bits 51..0 */
#define REF_ORDER_SHIFT	52		/* ORDER is bits 57..52 */
#define REF_SIZED	(1ull << 58)
#define REF_MAX_NPAGES	0xfffffffful	/* page counts fit an unsigned int */
#define REF_SECTION	1024ul		/* shim's classic sparsemem section */

struct ref_ext {
	unsigned long pfn;
	unsigned long npages;
};

struct ref_vec {
	unsigned int nr_bufs;
	struct ref_ext *ext;
	unsigned long nr, cap;
	bool open;			/* the last extent may still grow */
	unsigned long nr_pages;
};

static inline bool ref_zero(unsigned long pfn)
{
	return pfn >= shim_zero_pfn && pfn < shim_zero_pfn + shim_zero_npages;
}

static inline bool ref_classic(void)
{
#ifdef SHIM_CLASSIC_SPARSEMEM
	return true;
#else
	return false;
#endif
}

/* Words per extent: 1 for a naturally aligned power of two, else 2 */
static inline unsigned int ref_words(const struct ref_ext *e)
{
	if (__builtin_popcountl(e->npages) != 1)
		return 2;
	return e->pfn % e->npages ? 2 : 1;
}

static inline void ref_init(struct ref_vec *r, unsigned int nr_bufs)
{
	memset(r, 0, sizeof(*r));
	r->nr_bufs = nr_bufs;
}

static inline void ref_free(struct ref_vec *r)
{
	free(r->ext);
	r->ext = NULL;
}

static inline void ref_copy(struct ref_vec *dst, const struct ref_vec *src)
{
	ref_free(dst);
	*dst = *src;
	dst->ext = malloc((src->cap ? src->cap : 1) * sizeof(*src->ext));
	if (src->nr)
		memcpy(dst->ext, src->ext, src->nr * sizeof(*src->ext));
}

/*
 * Where the words of extents [0, nr) go, buffer by buffer. Each extent takes
 * its words in the current buffer if they fit, else the current buffer is
 * closed (with END if a word is left) and the next one opened. Returns false
 * if they do not fit in nr_bufs buffers. With img, writes the words.
 */
struct ref_img {
	unsigned int used;		/* buffers holding something */
	unsigned int head[64], tail[64];
	u64 (*words)[REF_WORDS];
};

static inline bool ref_layout(const struct ref_ext *ext, unsigned long nr,
			      unsigned int nr_bufs, struct ref_img *img)
{
	unsigned int b = 0, head = 0, tail = REF_WORDS;
	unsigned long i;

	if (nr_bufs == 0)
		return nr == 0;
	for (i = 0; i < nr; i++) {
		unsigned int w = ref_words(&ext[i]);

		if (tail - head < w) {
			if (img) {
				img->head[b] = head;
				img->tail[b] = tail;
			}
			if (++b == nr_bufs)
				return false;
			head = 0;
			tail = REF_WORDS;
		}
		if (img && w == 1)
			img->words[b][head] = ext[i].pfn |
				(u64)__builtin_ctzl(ext[i].npages) << REF_ORDER_SHIFT;
		if (img && w == 2) {
			img->words[b][head] = ext[i].pfn | REF_SIZED;
			img->words[b][tail - 1] = ext[i].npages;
		}
		head++;
		tail -= w - 1;
	}
	if (img) {
		img->head[b] = head;
		img->tail[b] = tail;
		img->used = b + 1;
	}
	return true;
}

static inline bool ref_fits(const struct ref_vec *r)
{
	return ref_layout(r->ext, r->nr, r->nr_bufs, NULL);
}

static inline bool ref_valid(unsigned long pfn, unsigned long npages)
{
	return npages >= 1 && npages <= REF_MAX_NPAGES &&
	       pfn < REF_PFN_LIMIT && pfn + npages <= REF_PFN_LIMIT;
}

/*
 * The merge rules of the documentation: grow the last extent when it is
 * still open, the range starts at its end, no zero page is on either side,
 * the join is not a section boundary on classic sparsemem, and the result is
 * not too long. An add is accepted if everything, the grown or new last
 * extent included, can then be laid out.
 */
static inline bool ref_add(struct ref_vec *r, unsigned long pfn,
			   unsigned long npages, bool nomerge)
{
	struct ref_ext *last = r->nr ? &r->ext[r->nr - 1] : NULL;

	if (!ref_valid(pfn, npages))
		return false;
	if (!nomerge && r->open && last && last->pfn + last->npages == pfn &&
	    !ref_zero(pfn) && !ref_zero(pfn - 1) &&
	    !(ref_classic() && pfn % REF_SECTION == 0) &&
	    last->npages + npages <= REF_MAX_NPAGES) {
		last->npages += npages;
		if (!ref_fits(r)) {
			last->npages -= npages;
			return false;
		}
		r->nr_pages += npages;
		return true;
	}
	if (r->nr == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->ext = realloc(r->ext, r->cap * sizeof(*r->ext));
	}
	r->ext[r->nr].pfn = pfn;
	r->ext[r->nr].npages = npages;
	r->nr++;
	if (!ref_fits(r)) {
		r->nr--;
		return false;
	}
	r->open = true;
	r->nr_pages += npages;
	return true;
}

/*
 * Read extents back from buffers, checking every rule of the layout.
 * Returns the number of extents, or -1 if anything is off.
 */
static inline long ref_decode(u64 *const *bufs, unsigned int nr_bufs,
			      struct ref_ext *out, unsigned long max)
{
	unsigned long n = 0;
	unsigned int b;

	for (b = 0; b < nr_bufs; b++) {
		const u64 *w = bufs[b];
		unsigned int head = 0, tail = REF_WORDS;

		while (head < tail && w[head] != REF_END) {
			u64 word = w[head++];
			unsigned long pfn = word & (REF_PFN_LIMIT - 1);
			unsigned int order = (word >> REF_ORDER_SHIFT) & 63;
			u64 npages;

			if (word >> 59)
				return -1;
			if (word & REF_SIZED) {
				if (order || head == tail)
					return -1;
				npages = w[--tail];
				if (npages == 0)
					return -1;
			} else {
				if (order > 31)
					return -1;
				npages = 1ull << order;
				if (pfn & (npages - 1))
					return -1;
			}
			if (npages > REF_MAX_NPAGES || n == max ||
			    pfn + npages > REF_PFN_LIMIT)
				return -1;
			out[n].pfn = pfn;
			out[n].npages = npages;
			n++;
		}
	}
	return n;
}

#endif /* _REF_H */
