// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: any sequence of extents, added, merged, saved, restored
 * and finished over any number of buffers, must encode to exactly the words
 * of the reference image (ref.h) and decode back to the reference extents,
 * both in process and from the buffers alone. With few pages, the sg table
 * built from the vec must match the page array one. Any mismatch aborts.
 *
 * Input: byte 0 picks the number of buffers (0..5), byte 1 the environment
 * (pgmaps, several zero pages), then one operation per byte with its
 * operands in the bytes that follow.
 */
#include "../../mm/gup_vec.c"

static void expect(bool ok, const char *file, int line, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
	abort();
}

#define EXPECT(cond)	expect(!!(cond), __FILE__, __LINE__, #cond)

#include "harness.h"

struct input {
	const u8 *data;
	size_t size;
};

static u64 take(struct input *in, unsigned int bytes)
{
	u64 v = 0;

	while (bytes-- && in->size) {
		v = v << 8 | *in->data++;
		in->size--;
	}
	return v;
}

/* A range from the input: adjacent to the last extent, aligned, or raw */
static void take_range(struct input *in, const struct h *h,
		       unsigned long *pfn, unsigned long *npages)
{
	const struct ref_ext *last = h->ref.nr ? &h->ref.ext[h->ref.nr - 1] : NULL;
	unsigned int kind = take(in, 1);
	unsigned int order;

	switch (kind & 3) {
	case 0:		/* adjacent, or a little before or after */
		*pfn = (last ? last->pfn + last->npages : 0) +
		       (kind >> 2 & 7) - 2;
		*npages = 1 + (kind >> 5);
		break;
	case 1:		/* naturally aligned power of two */
		order = take(in, 1) % 21;
		*pfn = take(in, 3) << order;
		*npages = 1ul << order;
		break;
	case 2:		/* anywhere, any length */
		*pfn = take(in, 7) & (REF_PFN_LIMIT - 1);
		*npages = 1 + take(in, 2);
		break;
	default:	/* raw, valid or not */
		*pfn = take(in, 8);
		*npages = take(in, 4);
		break;
	}
	/* Valid ranges keep the contract: one section, one pgmap */
	if (ref_valid(*pfn, 1) && *npages)
		*npages = clamp_range(*pfn, *npages);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct input in = { data, size };
	unsigned int nr_bufs, env;
	unsigned long pfn, npages;
	struct h h;

	nr_bufs = take(&in, 1) % 6;
	env = take(&in, 1);
	shim_pgmap_shift = env & 1 ? 5 : 0;
	shim_zero_npages = env & 2 ? 4 : 1;
	shim_quiet = true;

	h_init(&h, nr_bufs, env & 4 ? 0 : 0x5a5a5a5a5a5a5a5aull);
	while (in.size) {
		unsigned int op = take(&in, 1);
		bool nomerge;

		switch (op % 8) {
		case 0 ... 3:
			take_range(&in, &h, &pfn, &npages);
			nomerge = op & 8 ||
				  (h.ref.nr && shim_pgmap_of(pfn) !=
					       shim_pgmap_of(pfn - 1));
			h_add(&h, pfn, npages, nomerge);
			break;
		case 4:
			h_save(&h);
			break;
		case 5:
			h_restore(&h);
			h_check(&h);
			break;
		case 6:
			h_finish(&h);
			break;
		default:
			EXPECT(!gup_vec_has_room(&h.vec, op >> 3) ||
			       gup_vec_has_room(&h.vec, (op >> 3) / 2));
			h_check(&h);
			break;
		}
	}
	h_check(&h);
	h_finish(&h);
	if (env & 8 && h.ref.nr_pages < 4096)
		h_sg(&h, NULL, 0, (env >> 4) * PAGE_SIZE + (env & 16 ? 0 : 100),
		     env >> 6, 0);
	h_destroy(&h);
	shim_pgmap_shift = 0;
	shim_zero_npages = 1;
	return 0;
}
