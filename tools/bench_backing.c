// SPDX-License-Identifier: GPL-2.0
/* See bench_backing.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kernel-page-flags.h>
#include "bench_backing.h"

#define MAX_SAMPLED_4K	4096	/* 4K pages whose flags are read per cell */

static const char *prog = "bench";

static size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}
static int pagemap_fd = -1, kpageflags_fd = -1;

bool backing_open(const char *name)
{
	prog = name;
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
	if (pagemap_fd < 0 || kpageflags_fd < 0) {
		fprintf(stderr, "%s: /proc/self/pagemap or /proc/kpageflags: %m\n", prog);
		return false;
	}
	return true;
}

/* A cell failed: say which and why, loudly, on stderr. */
static bool backing_abort(const struct backing_cell *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool backing_abort(const struct backing_cell *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ABORT cell %s: ", prog, c->label);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

struct smaps_vma {
	uintptr_t start, end;
	unsigned long kernel_page_kb, rss_kb, anon_huge_kb, shmem_pmd_kb,
		file_pmd_kb, hugetlb_kb;
};

static void smaps_field(struct smaps_vma *v, const char *name,
			unsigned long kb)
{
	if (!strcmp(name, "KernelPageSize"))
		v->kernel_page_kb = kb;
	else if (!strcmp(name, "Rss"))
		v->rss_kb = kb;
	else if (!strcmp(name, "AnonHugePages"))
		v->anon_huge_kb = kb;
	else if (!strcmp(name, "ShmemPmdMapped"))
		v->shmem_pmd_kb = kb;
	else if (!strcmp(name, "FilePmdMapped"))
		v->file_pmd_kb = kb;
	else if (!strcmp(name, "Shared_Hugetlb") ||
		 !strcmp(name, "Private_Hugetlb"))
		v->hugetlb_kb += kb;
}

/* The smaps entry of the VMA that contains @addr. */
static bool smaps_find(uintptr_t addr, struct smaps_vma *v)
{
	char line[512], name[64];
	unsigned long start, end, kb;
	bool in = false, found = false;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			if (in)
				break;
			in = addr >= start && addr < end;
			if (in) {
				memset(v, 0, sizeof(*v));
				v->start = start;
				v->end = end;
				found = true;
			}
		} else if (in && sscanf(line, "%63[^:]: %lu kB", name, &kb) == 2) {
			smaps_field(v, name, kb);
		}
	}
	fclose(f);
	return found;
}

static bool check_smaps(const struct backing_cell *c, const char *base, size_t size)
{
	const struct kind *k = c->kind;
	unsigned long need_kb = round_up(size, k->leaf) / 1024;
	struct smaps_vma v;

	if (!smaps_find((uintptr_t)base, &v))
		return backing_abort(c, "no VMA in /proc/self/smaps");
	if ((uintptr_t)base + size > v.end)
		return backing_abort(c, "the cell spans more than one VMA");
	if (v.kernel_page_kb * 1024 != (k->backing == BACK_HUGETLB ? k->leaf : SZ_4K))
		return backing_abort(c, "smaps KernelPageSize %lu kB", v.kernel_page_kb);
	switch (k->backing) {
	case BACK_4K:
		if (v.anon_huge_kb || v.shmem_pmd_kb || v.file_pmd_kb)
			return backing_abort(c, "smaps shows PMD mappings (AnonHugePages %lu ShmemPmdMapped %lu FilePmdMapped %lu kB)",
					  v.anon_huge_kb, v.shmem_pmd_kb, v.file_pmd_kb);
		if (v.rss_kb < size / 1024)
			return backing_abort(c, "smaps Rss %lu kB: not all faulted in", v.rss_kb);
		break;
	case BACK_THP:
		if (v.anon_huge_kb < need_kb)
			return backing_abort(c, "smaps AnonHugePages %lu kB < %lu kB",
					  v.anon_huge_kb, need_kb);
		break;
	case BACK_HUGETLB:
		if (v.hugetlb_kb < need_kb)
			return backing_abort(c, "smaps *_Hugetlb %lu kB < %lu kB",
					  v.hugetlb_kb, need_kb);
		break;
	}
	return true;
}

/*
 * The PFN in pagemap entry @ent: false if the page is not present, or if
 * PFNs are hidden (not root).
 */
static bool pagemap_pfn(uint64_t ent, uint64_t *pfn)
{
	if (!(ent & (1ULL << 63)))		/* not present */
		return false;
	*pfn = ent & ((1ULL << 55) - 1);
	return *pfn;				/* 0: PFNs hidden */
}

/* PFN and kpageflags of the page mapped at @addr. */
static bool page_info(const void *addr, uint64_t *pfn, uint64_t *flags)
{
	uint64_t ent;
	off_t off = (uintptr_t)addr / SZ_4K * sizeof(ent);

	if (pread(pagemap_fd, &ent, sizeof(ent), off) != sizeof(ent))
		return false;
	if (!pagemap_pfn(ent, pfn))
		return false;
	return pread(kpageflags_fd, flags, sizeof(*flags),
		     *pfn * sizeof(*flags)) == sizeof(*flags);
}

#define KPF(bit) (1ULL << KPF_##bit)

static bool check_small_page(const struct backing_cell *c, const char *addr)
{
	uint64_t pfn, flags;

	if (!page_info(addr, &pfn, &flags))
		return backing_abort(c, "no PFN for %p (not present, or not root)", addr);
	if (flags & (KPF(COMPOUND_HEAD) | KPF(COMPOUND_TAIL) | KPF(THP) | KPF(HUGE)))
		return backing_abort(c, "page at %p (pfn %#" PRIx64 ") is part of a large folio, kpageflags %#" PRIx64,
				  addr, pfn, flags);
	return true;
}

/*
 * The leaf at @head: its first and last 4K pages are the head and a tail of
 * one compound page of the right type, physically contiguous and aligned.
 */
static bool check_leaf(const struct backing_cell *c, const char *head)
{
	const struct kind *k = c->kind;
	uint64_t type = k->backing == BACK_THP ? KPF(THP) : KPF(HUGE);
	uint64_t nr = k->leaf / SZ_4K, pfn, last_pfn, flags, last_flags;

	if (!page_info(head, &pfn, &flags) ||
	    !page_info(head + k->leaf - SZ_4K, &last_pfn, &last_flags))
		return backing_abort(c, "no PFN for the leaf at %p (not present, or not root)", head);
	if (!(flags & type) || !(flags & KPF(COMPOUND_HEAD)) ||
	    !(last_flags & type) || !(last_flags & KPF(COMPOUND_TAIL)))
		return backing_abort(c, "leaf at %p is not one %zu kB %s page: kpageflags head %#" PRIx64 " last %#" PRIx64,
				  head, k->leaf >> 10,
				  k->backing == BACK_THP ? "THP" : "hugetlb",
				  flags, last_flags);
	if (pfn % nr || last_pfn != pfn + nr - 1)
		return backing_abort(c, "leaf at %p: pfn %#" PRIx64 "..%#" PRIx64 " not an aligned %zu kB run",
				  head, pfn, last_pfn, k->leaf >> 10);
	return true;
}

/*
 * How many pages of [@base, @base + @size) directly follow their neighbour
 * in physical memory, reading every PFN; -1 with *@why set if a PFN cannot
 * be read (not present, or not root).
 */
long backing_adjacent_pages(const char *base, size_t size, const char **why)
{
	size_t npages = size / SZ_4K, i, got;
	uint64_t ent[512], prev = 0, pfn;
	size_t max = sizeof(ent) / sizeof(ent[0]);
	off_t off = (uintptr_t)base / SZ_4K * sizeof(ent[0]);
	long adjacent = 0;

	for (i = 0; i < npages; i += got) {
		size_t want = npages - i < max ? npages - i : max, j;
		ssize_t n = pread(pagemap_fd, ent, want * sizeof(ent[0]),
				  off + i * sizeof(ent[0]));

		if (n <= 0 || n % sizeof(ent[0])) {
			*why = n < 0 ? strerror(errno) : "short pagemap read";
			return -1;
		}
		got = n / sizeof(ent[0]);
		for (j = 0; j < got; j++) {
			if (!pagemap_pfn(ent[j], &pfn)) {
				*why = "no PFN (not present, or not root)";
				return -1;
			}
			adjacent += i + j && pfn == prev + 1;
			prev = pfn;
		}
	}
	return adjacent;
}

/*
 * A scattered cell: no page directly follows its neighbour in physical
 * memory, so that every page is an extent and an sg entry of its own and
 * every run of the cell times the same code. Reads every PFN.
 */
static bool check_scattered(const struct backing_cell *c, const char *base, size_t size)
{
	const char *why = NULL;
	long adjacent = backing_adjacent_pages(base, size, &why);

	if (adjacent < 0)
		return backing_abort(c, "pagemap: %s", why);
	if (adjacent)
		return backing_abort(c, "not scattered: %ld of %zu pages follow their neighbour physically",
				     adjacent, size / SZ_4K);
	return true;
}

static bool check_pages(const struct backing_cell *c, const char *base, size_t size)
{
	const struct kind *k = c->kind;
	size_t off, stride;

	if (k->scattered && !check_scattered(c, base, size))
		return false;

	if (k->backing != BACK_4K) {
		for (off = 0; off < size; off += k->leaf)
			if (!check_leaf(c, base + off))
				return false;
		return true;
	}
	stride = round_up(size / SZ_4K, MAX_SAMPLED_4K) / MAX_SAMPLED_4K * SZ_4K;
	for (off = 0; off < size; off += stride)
		if (!check_small_page(c, base + off))
			return false;
	return check_small_page(c, base + size - SZ_4K);
}

bool backing_check(const struct backing_cell *c)
{
	return check_smaps(c, c->base, c->size) &&
	       check_pages(c, c->base, c->size);
}

