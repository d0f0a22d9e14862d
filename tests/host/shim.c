// SPDX-License-Identifier: GPL-2.0
/* State behind shim/shim.h */

#include <linux/gup_vec.h>

unsigned long shim_warnings;
bool shim_quiet;
unsigned long shim_zero_pfn = 0x7777;
unsigned long shim_zero_npages = 1;
unsigned int shim_pgmap_shift;
long shim_fail_alloc;

/* Extents gup_vec_unpin_iter() unpinned, for the tests to check */
struct shim_unpin_call *shim_unpins;
unsigned long shim_nr_unpins, shim_unpins_cap;

void shim_unpin(unsigned long pfn, unsigned long npages, bool make_dirty)
{
	if (shim_nr_unpins == shim_unpins_cap) {
		shim_unpins_cap = shim_unpins_cap ? 2 * shim_unpins_cap : 256;
		shim_unpins = realloc(shim_unpins,
				      shim_unpins_cap * sizeof(*shim_unpins));
	}
	shim_unpins[shim_nr_unpins].pfn = pfn;
	shim_unpins[shim_nr_unpins].npages = npages;
	shim_unpins[shim_nr_unpins].dirty = make_dirty;
	shim_nr_unpins++;
}

/*
 * mm/gup.c's gup_vec_unpin_iter(): each extent left is one call, whose pages
 * must have contiguous struct pages.
 */
unsigned long gup_vec_unpin_iter(struct gup_vec_iter *iter, bool make_dirty)
{
	unsigned long nr = 0;

	while (gup_vec_iter_next(iter)) {
		VM_WARN_ON_ONCE(!page_range_contiguous(pfn_to_page(iter->pfn),
						       iter->npages));
		shim_unpin(iter->pfn, iter->npages, make_dirty);
		nr += iter->npages;
	}
	return nr;
}
