/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory kinds the benchmarks map, and the check that a mapping really is
 * backed as its kind says (smaps, pagemap and kpageflags), before anything
 * is timed on it. Shared by bench_reg_mr.c and bench_vfio.c.
 */
#ifndef BENCH_BACKING_H
#define BENCH_BACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>

#define SZ_4K		(4096UL)
#define SZ_2M		(2UL << 20)
#define SZ_1G		(1UL << 30)
#define HUGE_SHIFT_FLAG(shift)	((unsigned int)(shift) << MAP_HUGE_SHIFT)

enum backing {
	BACK_4K,	/* order-0 pages only */
	BACK_THP,	/* PMD-mapped transparent huge pages */
	BACK_HUGETLB,	/* hugetlb pages of kind->leaf bytes */
};

struct kind {
	const char *name;
	enum backing backing;
	size_t leaf;		/* bytes per leaf the memory must be backed by */
	bool memfd;		/* MAP_SHARED of a memfd instead of anonymous */
	unsigned int flags;	/* extra mmap() or memfd_create() flags */
	int advice;		/* madvise() advice, or -1 */
	bool scattered;		/* BACK_4K faulted in so that no two neighbours
				 * are physically contiguous (see
				 * fault_in_scattered() in bench_reg_mr.c),
				 * and checked so */
};

/* What the check needs of a benchmark cell */
struct backing_cell {
	const struct kind *kind;
	const char *base;	/* the cell's memory: @size bytes from @base */
	size_t size;
	const char *label;	/* "kind size", for messages */
};

/* Open pagemap and kpageflags; @prog names the program in messages. */
bool backing_open(const char *prog);

/*
 * Whether the cell's memory is faulted in, in one VMA, and backed by pages
 * of its kind; if not, say why on stderr ("PROG: ABORT cell LABEL: ...").
 */
bool backing_check(const struct backing_cell *c);
long backing_adjacent_pages(const char *base, size_t size, const char **why);

#endif
