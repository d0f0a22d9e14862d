/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory for the rxe MR test: the backings an MR is registered on, how to
 * map them at a chosen alignment, and how to check what really backs them.
 */
#ifndef MR_MEM_H
#define MR_MEM_H

#include <stdbool.h>
#include <stddef.h>

#define SZ_4K	(4096UL)
#define SZ_2M	(2UL << 20)
#define SZ_1G	(1UL << 30)

enum backing {
	BK_ANON,		/* private anonymous, MADV_NOHUGEPAGE */
	BK_THP,			/* private anonymous, MADV_HUGEPAGE, 2M-aligned */
	BK_HUGETLB_2M,		/* MAP_HUGETLB | MAP_HUGE_2MB */
	BK_HUGETLB_1G,		/* MAP_HUGETLB | MAP_HUGE_1GB */
	BK_MEMFD,		/* memfd_create(), MAP_SHARED */
	BK_MEMFD_HUGETLB,	/* memfd_create(MFD_HUGETLB | MFD_HUGE_2MB) */
	BK_SHMEM,		/* MAP_SHARED | MAP_ANONYMOUS */
	BK_TMPFS,		/* a file on /tmp (tmpfs), MAP_SHARED */
	BK_COUNT
};

struct region {
	enum backing backing;
	char *addr;
	size_t len;
};

const char *backing_name(enum backing b);
/* Size of the leaves the backing is made of (4K for the page cache ones). */
size_t backing_leaf(enum backing b);
bool backing_is_shared(enum backing b);
/*
 * Largest size up to @want (a multiple of the leaf) that the backing can
 * provide now, or 0 with the reason in @why.
 */
size_t backing_fit(enum backing b, size_t want, char *why, size_t whylen);

/*
 * Map @len bytes of @b, populated for writing. At @fixed (MAP_FIXED) when
 * not NULL, else at an address aligned to max(leaf, 2M).
 */
int region_map(struct region *r, enum backing b, size_t len, char *fixed);
void region_unmap(struct region *r);
/* Check that the backing really is what it says (THP: AnonHugePages). */
int region_check(const struct region *r, char *why, size_t whylen);

/* Reserve @len bytes of address space aligned to @align (PROT_NONE). */
char *reserve_va(size_t len, size_t align);

/* pinned_vm of this process, in KiB (VmPin), or -1. */
long vm_pinned_kb(void);
/* Free pages in the hugetlb pool of @size bytes, or -1 if it has none. */
long hugetlb_free(size_t size);

#endif
