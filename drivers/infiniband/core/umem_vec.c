// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Pinning the pages of a umem with the packed pin.
 *
 * pin_user_pages_vec() records what it pins as PFN extents (a PTE run, a
 * PMD or PUD leaf) in one 4 KiB buffer per call, and gup_vec_append_sg()
 * builds the scatterlist straight from the extents: no array of struct
 * page pointers is filled and read back, so the work done per call follows
 * the number of extents rather than the number of pages. The scatterlist
 * entries are exactly those sg_alloc_append_table_from_pages() builds for
 * the same pages (only where chunks are chained may differ, as calls end
 * elsewhere), so drivers, ib_umem_find_best_pgsz() and ib_umem_release()
 * see no difference.
 */
#include <linux/gup_vec.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "uverbs.h"

/*
 * Append the pages pinned in @vec to the umem's table. On failure the
 * table's entries are as they were and the pins of @vec are dropped, as the
 * caller of sg_alloc_append_table_from_pages() drops those of its page
 * array.
 */
static int ib_umem_append_vec(struct ib_umem *umem, struct gup_vec *vec,
			      unsigned long left_pages)
{
	int ret;

	ret = gup_vec_append_sg(vec, &umem->sgt_append,
				ib_dma_max_seg_size(umem->ibdev), left_pages,
				GFP_KERNEL);
	if (ret)
		gup_vec_unpin(vec, false);
	return ret;
}

/**
 * ib_umem_pin_pages_vec() - Pin user pages into a umem's scatterlist
 * @umem: The umem, whose sg append table receives the pages
 * @start: Page aligned user address of the first page
 * @npages: Number of pages to pin
 * @gup_flags: Flags for pin_user_pages_vec()
 *
 * Pins @npages pages from @start as pin_user_pages_fast() would and appends
 * them to @umem->sgt_append as sg_alloc_append_table_from_pages() would,
 * with the device's maximum segment size.
 *
 * Return: 0 on success, else -errno. On failure the table holds the pages
 * pinned by the calls that succeeded, and only those stay pinned: release
 * them as __ib_umem_release() does.
 */
int ib_umem_pin_pages_vec(struct ib_umem *umem, unsigned long start,
			  unsigned long npages, unsigned int gup_flags)
{
	/* gup_vec_init() sets it all: no zeroing by INIT_STACK_ALL_ZERO first */
	struct gup_vec vec __uninitialized;
	long pinned;
	u64 *buf;
	int ret = 0;

	buf = kmalloc(SZ_4K, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	gup_vec_init(&vec, &buf, 1);

	while (npages) {
		cond_resched();
		pinned = pin_user_pages_vec(start, npages, gup_flags, &vec);
		if (pinned < 0) {
			ret = pinned;
			break;
		}
		/* pin_user_pages_vec() fails rather than pin none: no spin */
		if (WARN_ON_ONCE(!pinned)) {
			ret = -EFAULT;
			break;
		}

		start += pinned * PAGE_SIZE;
		npages -= pinned;
		ret = ib_umem_append_vec(umem, &vec, npages);
		if (ret || !npages)
			break;
		gup_vec_reset(&vec);
	}

	kfree(buf);
	return ret;
}
