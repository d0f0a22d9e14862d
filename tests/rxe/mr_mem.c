// SPDX-License-Identifier: GPL-2.0
/*
 * Backings for the rxe MR test: see mr_mem.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mr_mem.h"

static const struct {
	const char *name;
	size_t leaf;
	bool shared;
} backings[BK_COUNT] = {
	[BK_ANON]		= { "anon4k",		SZ_4K,	false },
	[BK_THP]		= { "thp",		SZ_2M,	false },
	[BK_HUGETLB_2M]		= { "hugetlb2m",	SZ_2M,	false },
	[BK_HUGETLB_1G]		= { "hugetlb1g",	SZ_1G,	false },
	[BK_MEMFD]		= { "memfd",		SZ_4K,	true },
	[BK_MEMFD_HUGETLB]	= { "memfd-hugetlb",	SZ_2M,	true },
	[BK_SHMEM]		= { "shmem",		SZ_4K,	true },
	[BK_TMPFS]		= { "tmpfs-file",	SZ_4K,	true },
};

const char *backing_name(enum backing b)
{
	return backings[b].name;
}

size_t backing_leaf(enum backing b)
{
	return backings[b].leaf;
}

bool backing_is_shared(enum backing b)
{
	return backings[b].shared;
}

static bool is_hugetlb(enum backing b)
{
	return b == BK_HUGETLB_2M || b == BK_HUGETLB_1G || b == BK_MEMFD_HUGETLB;
}

long hugetlb_free(size_t size)
{
	char path[96];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages", size >> 10);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

size_t backing_fit(enum backing b, size_t want, char *why, size_t whylen)
{
	size_t leaf = backing_leaf(b);
	size_t len = (want + leaf - 1) / leaf * leaf;
	long free_pages;

	if (!is_hugetlb(b))
		return len;
	free_pages = hugetlb_free(leaf);
	if (free_pages <= 0) {
		snprintf(why, whylen, "no free %zuM hugetlb pages reserved", leaf >> 20);
		return 0;
	}
	if (len > (size_t)free_pages * leaf)
		len = (size_t)free_pages * leaf;
	return len;
}

char *reserve_va(size_t len, size_t align)
{
	char *p, *a;

	p = mmap(NULL, len + align, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (a > p)
		munmap(p, a - p);
	if (p + len + align > a + len)
		munmap(a + len, p + len + align - (a + len));
	return a;
}

/* A file to map for the page-cache backings, or -1 for anonymous ones. */
static int backing_fd(enum backing b, size_t len)
{
	char tmpl[] = "/tmp/rxe-mr.XXXXXX";
	int fd;

	switch (b) {
	case BK_MEMFD:
		fd = memfd_create("rxe-mr", MFD_CLOEXEC);
		break;
	case BK_MEMFD_HUGETLB:
		fd = memfd_create("rxe-mr-huge", MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB);
		break;
	case BK_TMPFS:
		fd = mkstemp(tmpl);
		if (fd >= 0)
			unlink(tmpl);
		break;
	default:
		return -1;
	}
	if (fd < 0) {
		fprintf(stderr, "# %s: cannot create the file: %s\n",
			backing_name(b), strerror(errno));
		return -2;
	}
	if (ftruncate(fd, len)) {
		fprintf(stderr, "# %s: ftruncate: %s\n", backing_name(b), strerror(errno));
		close(fd);
		return -2;
	}
	return fd;
}

static int backing_mmap_flags(enum backing b)
{
	switch (b) {
	case BK_ANON:
	case BK_THP:
		return MAP_PRIVATE | MAP_ANONYMOUS;
	case BK_HUGETLB_2M:
		return MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB;
	case BK_HUGETLB_1G:
		return MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB;
	case BK_SHMEM:
		return MAP_SHARED | MAP_ANONYMOUS;
	default:
		return MAP_SHARED;
	}
}

static int map_at(enum backing b, char *addr, size_t len)
{
	int fd = backing_fd(b, len);
	void *p;

	if (fd == -2)
		return -1;
	p = mmap(addr, len, PROT_READ | PROT_WRITE, backing_mmap_flags(b) | MAP_FIXED,
		 fd, 0);
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "# %s: mmap %zu bytes: %s\n", backing_name(b), len,
			strerror(errno));
		return -1;
	}
	if (b == BK_ANON && madvise(addr, len, MADV_NOHUGEPAGE))
		return -1;
	if (b == BK_THP && madvise(addr, len, MADV_HUGEPAGE))
		return -1;
	if (madvise(addr, len, MADV_POPULATE_WRITE)) {
		fprintf(stderr, "# %s: populate %zu bytes: %s\n", backing_name(b), len,
			strerror(errno));
		return -1;
	}
	return 0;
}

int region_map(struct region *r, enum backing b, size_t len, char *fixed)
{
	size_t align = backing_leaf(b) > SZ_2M ? backing_leaf(b) : SZ_2M;
	char *addr = fixed ? fixed : reserve_va(len, align);

	r->backing = b;
	r->addr = NULL;
	r->len = len;
	if (!addr)
		return -1;
	if (map_at(b, addr, len)) {
		if (!fixed)
			munmap(addr, len);
		return -1;
	}
	r->addr = addr;
	return 0;
}

void region_unmap(struct region *r)
{
	if (r->addr)
		munmap(r->addr, r->len);
	r->addr = NULL;
}

/* What /proc/self/smaps says about the VMAs overlapping a range, in KiB. */
struct smaps_sum {
	long rss;
	long anon_huge;
	long shmem_pmd;
	long hugetlb;
	long kernel_page;	/* KernelPageSize; -1 if the VMAs differ */
	int vmas;
	bool spills;		/* a VMA reaches outside the range */
};

static void smaps_add(struct smaps_sum *s, const char *key, long kb)
{
	if (!strcmp(key, "Rss:"))
		s->rss += kb;
	else if (!strcmp(key, "AnonHugePages:"))
		s->anon_huge += kb;
	else if (!strcmp(key, "ShmemPmdMapped:"))
		s->shmem_pmd += kb;
	else if (!strcmp(key, "Private_Hugetlb:") || !strcmp(key, "Shared_Hugetlb:"))
		s->hugetlb += kb;
	else if (!strcmp(key, "KernelPageSize:"))
		s->kernel_page = s->kernel_page == 0 || s->kernel_page == kb ? kb : -1;
}

static int smaps_range(uintptr_t start, uintptr_t end, struct smaps_sum *s)
{
	unsigned long lo, hi;
	bool inside = false;
	char line[256], key[64];
	long kb;
	FILE *f;

	memset(s, 0, sizeof(*s));
	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			inside = lo < end && hi > start;
			if (inside) {
				s->vmas++;
				s->spills |= lo < start || hi > end;
			}
		} else if (inside && sscanf(line, "%63s %ld kB", key, &kb) == 2) {
			smaps_add(s, key, kb);
		}
	}
	fclose(f);
	return 0;
}

/* Bytes of [start, end) covered by whole 2M-aligned units. */
static size_t huge_units_bytes(uintptr_t start, uintptr_t end)
{
	uintptr_t lo = (start + SZ_2M - 1) & ~(SZ_2M - 1);
	uintptr_t hi = end & ~(SZ_2M - 1);

	return hi > lo ? hi - lo : 0;
}

int region_check(const struct region *r, char *why, size_t whylen)
{
	uintptr_t start = (uintptr_t)r->addr, end = start + r->len;
	long want_kb = r->len >> 10;
	struct smaps_sum s;

	if (smaps_range(start, end, &s)) {
		snprintf(why, whylen, "cannot read /proc/self/smaps");
		return -1;
	}
	if (s.spills) {
		snprintf(why, whylen, "a VMA reaches outside the region");
		return -1;
	}
	if (is_hugetlb(r->backing)) {
		if (s.kernel_page != (long)(backing_leaf(r->backing) >> 10) ||
		    s.hugetlb != want_kb) {
			snprintf(why, whylen, "hugetlb: KernelPageSize %ld kB, %ld of %ld kB mapped",
				 s.kernel_page, s.hugetlb, want_kb);
			return -1;
		}
		return 0;
	}
	if (s.rss != want_kb) {
		snprintf(why, whylen, "Rss %ld kB, want %ld kB", s.rss, want_kb);
		return -1;
	}
	if (r->backing == BK_THP) {
		long huge_kb = huge_units_bytes(start, end) >> 10;

		if (s.anon_huge != huge_kb) {
			snprintf(why, whylen, "THP not backing the range: AnonHugePages %ld kB, want %ld kB",
				 s.anon_huge, huge_kb);
			return -1;
		}
		return 0;
	}
	if (s.anon_huge || s.shmem_pmd) {
		snprintf(why, whylen, "want 4K pages, got AnonHugePages %ld kB ShmemPmdMapped %ld kB",
			 s.anon_huge, s.shmem_pmd);
		return -1;
	}
	return 0;
}

long vm_pinned_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}
