/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thin userspace stand-in for the kernel headers that mm/gup_vec.c and the
 * first part of lib/scatterlist.c use. It is force-included (-include) before
 * every file; the <linux/...> headers those files include are empty stubs
 * made by the Makefile, except linux/scatterlist.h, which is the real one.
 *
 * Memory model: a struct page is never dereferenced. pfn_to_page() maps a
 * PFN to a fake address in a fake memmap. By default the memmap is virtually
 * contiguous (SPARSEMEM_VMEMMAP). With SHIM_CLASSIC_SPARSEMEM each memory
 * section of SHIM_SECTION_PAGES pages has its own memmap block with a gap
 * after it (SPARSEMEM without VMEMMAP), so struct pages are contiguous only
 * within a section, as on such kernels.
 *
 * Warnings are counted, not fatal: tests read shim_warnings.
 */
#ifndef _SHIM_H
#define _SHIM_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef unsigned int gfp_t;
typedef u64 phys_addr_t;
typedef u64 dma_addr_t;

struct phys_vec {
	phys_addr_t paddr;
	size_t len;
};

struct mm_struct;

#define GFP_KERNEL		0u
#undef __always_inline
#define __always_inline		inline __attribute__((__always_inline__))
#define __force
#define __must_check
#define __maybe_unused		__attribute__((__unused__))
#define __uninitialized
#define noinline		__attribute__((__noinline__))
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)

/* linux/kconfig.h */
#define __ARG_PLACEHOLDER_1	0,
#define __take_second_arg(__ignored, val, ...) val
#define __is_defined(x)		___is_defined(x)
#define ___is_defined(val)	____is_defined(__ARG_PLACEHOLDER_##val)
#define ____is_defined(arg1_or_junk) __take_second_arg(arg1_or_junk 1, 0)
#define IS_ENABLED(option)	__is_defined(option)

#define CONFIG_GUP_VEC		1
#define CONFIG_DEBUG_SG		1
#define CONFIG_SPARSEMEM	1
#ifndef SHIM_CLASSIC_SPARSEMEM
#define CONFIG_SPARSEMEM_VMEMMAP 1
#endif

#define BITS_PER_LONG		(__SIZEOF_LONG__ * 8)
#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define PAGE_MASK		(~(PAGE_SIZE - 1))
#define SZ_4K			0x00001000
#define U64_MAX			((u64)~0ULL)
#define MAX_POSSIBLE_PHYSMEM_BITS 52

/* linux/bits.h, linux/bitfield.h */
#define BIT_ULL(n)		(1ULL << (n))
#define GENMASK_ULL(h, l)	((~0ULL >> (63 - (h))) & (~0ULL << (l)))
#define __bf_shf(mask)		__builtin_ctzll(mask)
#define FIELD_PREP(mask, val)	\
	((((typeof(mask))(val)) << __bf_shf(mask)) & (mask))
#define FIELD_GET(mask, reg)	\
	((typeof(mask))(((reg) & (mask)) >> __bf_shf(mask)))
#define FIELD_MAX(mask)		((typeof(mask))((mask) >> __bf_shf(mask)))
#define FIELD_FIT(mask, val)	\
	(!((((typeof(mask))(val)) << __bf_shf(mask)) & ~(mask)))

/* linux/build_bug.h */
#define static_assert(expr, ...) _Static_assert(expr, #expr)
#define BUILD_BUG_ON(cond)	_Static_assert(!(cond), #cond)

/* linux/minmax.h, linux/math.h, linux/align.h, linux/log2.h */
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define min(a, b)		({ typeof(a) _a = (a); typeof(b) _b = (b); \
				   _a < _b ? _a : _b; })
#define max(a, b)		({ typeof(a) _a = (a); typeof(b) _b = (b); \
				   _a > _b ? _a : _b; })
#define min_t(t, a, b)		min((t)(a), (t)(b))
#define max_t(t, a, b)		max((t)(a), (t)(b))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define ALIGN(x, a)		(((x) + ((typeof(x))(a) - 1)) & ~((typeof(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((typeof(x))(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((typeof(x))(a) - 1)) == 0)
#define PAGE_ALIGN(x)		ALIGN(x, PAGE_SIZE)
#define offset_in_page(p)	((unsigned long)(p) & ~PAGE_MASK)
#define ilog2(n)		((int)(63 - __builtin_clzll((unsigned long long)(n))))

static inline bool is_power_of_2(unsigned long n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* linux/overflow.h */
#define check_add_overflow(a, b, d) __builtin_add_overflow(a, b, d)

static inline size_t size_add(size_t a, size_t b)
{
	size_t r;

	return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

/* linux/pfn.h */
#define PFN_PHYS(x)		((phys_addr_t)(x) << PAGE_SHIFT)

/* linux/export.h */
#define EXPORT_SYMBOL(sym)	extern int shim_export_dummy
#define EXPORT_SYMBOL_GPL(sym)	extern int shim_export_dummy

/* linux/bug.h, linux/mmdebug.h: warnings are counted */
extern unsigned long shim_warnings;
extern bool shim_quiet;

static inline int shim_warn(int cond, const char *file, int line,
			    const char *what)
{
	if (cond) {
		shim_warnings++;
		if (!shim_quiet)
			fprintf(stderr, "WARNING: %s:%d: %.60s\n", file, line,
				what);
	}
	return cond;
}

#define WARN_ON(cond)		shim_warn(!!(cond), __FILE__, __LINE__, #cond)
#define WARN_ON_ONCE(cond)	WARN_ON(cond)
#define WARN_ONCE(cond, ...)	WARN_ON(cond)
#define VM_WARN_ON_ONCE(cond)	((void)WARN_ON(cond))
#define BUG_ON(cond)		do { if (cond) abort(); } while (0)

/* linux/err.h */
#define MAX_ERRNO		4095
#define IS_ERR_VALUE(x)		((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static inline bool IS_ERR(const void *ptr) { return IS_ERR_VALUE(ptr); }

/* Memory: the memmap */
struct page {
	unsigned long flags;
	unsigned long pad[7];
};

struct folio {
	struct page page;
};

#define SHIM_MEMMAP_BASE	(1UL << 44)
#ifdef SHIM_CLASSIC_SPARSEMEM
#define SHIM_SECTION_PAGES	1024UL
#define PAGES_PER_SECTION	SHIM_SECTION_PAGES
/* Each section's memmap, then a gap: not contiguous across sections */
#define SHIM_SECTION_STRIDE	((SHIM_SECTION_PAGES + 3) * sizeof(struct page))

static inline struct page *pfn_to_page(unsigned long pfn)
{
	return (struct page *)(SHIM_MEMMAP_BASE +
			       pfn / SHIM_SECTION_PAGES * SHIM_SECTION_STRIDE +
			       pfn % SHIM_SECTION_PAGES * sizeof(struct page));
}

static inline unsigned long page_to_pfn(const struct page *page)
{
	unsigned long off = (unsigned long)page - SHIM_MEMMAP_BASE;

	return off / SHIM_SECTION_STRIDE * SHIM_SECTION_PAGES +
	       off % SHIM_SECTION_STRIDE / sizeof(struct page);
}

/* mm/util.c */
static inline bool page_range_contiguous(const struct page *page,
					 unsigned long nr_pages)
{
	const unsigned long start_pfn = page_to_pfn(page);
	const unsigned long end_pfn = start_pfn + nr_pages;
	unsigned long pfn;

	for (pfn = ALIGN(start_pfn, PAGES_PER_SECTION);
	     pfn < end_pfn; pfn += PAGES_PER_SECTION)
		if (unlikely((unsigned long)page + (pfn - start_pfn) * sizeof(*page) !=
			     (unsigned long)pfn_to_page(pfn)))
			return false;
	return true;
}
#else
static inline struct page *pfn_to_page(unsigned long pfn)
{
	return (struct page *)(SHIM_MEMMAP_BASE + pfn * sizeof(struct page));
}

static inline unsigned long page_to_pfn(const struct page *page)
{
	return ((unsigned long)page - SHIM_MEMMAP_BASE) / sizeof(struct page);
}

static inline bool page_range_contiguous(const struct page *page,
					 unsigned long nr_pages)
{
	return true;
}
#endif

#define page_to_phys(page)	PFN_PHYS(page_to_pfn(page))
#define page_address(page)	((void *)PFN_PHYS(page_to_pfn(page)))
#define virt_to_page(addr)	pfn_to_page((unsigned long)(addr) >> PAGE_SHIFT)
#define virt_addr_valid(addr)	1

/* The zero pages: [shim_zero_pfn, shim_zero_pfn + shim_zero_npages) */
extern unsigned long shim_zero_pfn, shim_zero_npages;

static inline int is_zero_pfn(unsigned long pfn)
{
	return pfn - shim_zero_pfn < shim_zero_npages;
}

/* ZONE_DEVICE: PFNs >> shim_pgmap_shift name the pgmap, 0 is none */
extern unsigned int shim_pgmap_shift;

static inline unsigned long shim_pgmap_of(unsigned long pfn)
{
	return shim_pgmap_shift ? pfn >> shim_pgmap_shift : 0;
}

static inline bool zone_device_pages_have_same_pgmap(const struct page *a,
						     const struct page *b)
{
	return shim_pgmap_of(page_to_pfn(a)) == shim_pgmap_of(page_to_pfn(b));
}

/* mm/gup.c: the extents unpinned are recorded in shim_unpins[] */
struct shim_unpin_call {
	unsigned long pfn, npages;
	bool dirty;
};

extern struct shim_unpin_call *shim_unpins;
extern unsigned long shim_nr_unpins, shim_unpins_cap;
void shim_unpin(unsigned long pfn, unsigned long npages, bool make_dirty);

/* mm/internal.h: unpins what @iter has yet to return, see shim.c */
struct gup_vec_iter;
unsigned long gup_vec_unpin_iter(struct gup_vec_iter *iter, bool make_dirty);

/* Allocation, with failure injection: the Nth allocation from now fails */
extern long shim_fail_alloc;

static inline bool shim_alloc_fails(void)
{
	return shim_fail_alloc > 0 && --shim_fail_alloc == 0;
}

static inline void *kmalloc(size_t size, gfp_t gfp)
{
	return shim_alloc_fails() ? NULL : malloc(size);
}

#define kmalloc_objs(type, n, gfp)	kmalloc(sizeof(type) * (n), gfp)
#define kmalloc_array(n, size, gfp)	kmalloc((n) * (size), gfp)
#define kfree(p)			free(p)

static inline unsigned long __get_free_page(gfp_t gfp)
{
	return (unsigned long)(shim_alloc_fails() ? NULL :
			       aligned_alloc(PAGE_SIZE, PAGE_SIZE));
}

static inline void free_page(unsigned long addr)
{
	free((void *)addr);
}

#define kmemleak_alloc(ptr, size, count, gfp)	do { } while (0)
#define kmemleak_free(ptr)			do { } while (0)

#endif /* _SHIM_H */
