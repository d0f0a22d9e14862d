// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the packed pin: pin_user_pages_vec() and
 * pin_user_pages_vec_remote().
 *
 * Each case maps memory into the test thread's own mm (kunit_vm_mmap()
 * attaches one) and pins it twice: with pin_user_pages_fast() into a page
 * array, the reference, and with the packed pin. This file compresses the
 * reference pages into extents itself (gvk_exts_add()), independently of
 * mm/gup_vec.c, by the rule include/linux/gup_vec.h documents: runs of
 * consecutive PFNs, a zero page on its own. The packed pin must return what
 * pin_user_pages_fast() returns, produce exactly those extents and take one
 * pin per page, as the reference does.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/bitfield.h>
#include <linux/fs.h>
#include <linux/gup_vec.h>
#include <linux/highmem.h>
#include <linux/huge_mm.h>
#include <linux/hugetlb.h>
#include <linux/memfd.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/page-isolation.h>
#include <linux/scatterlist.h>
#include <linux/shmem_fs.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/uaccess.h>
#include <uapi/linux/memfd.h>

#include "../internal.h"

/* Backings */

enum gvk_kind {
	GVK_ANON,		/* private anonymous, MADV_NOHUGEPAGE */
	GVK_THP,		/* private anonymous, MADV_HUGEPAGE */
	GVK_HUGETLB_PMD,	/* private hugetlb, PMD-sized pages */
	GVK_HUGETLB_PUD,	/* private hugetlb, PUD-sized pages */
	GVK_MEMFD,		/* shared memfd */
	GVK_MEMFD_HUGETLB,	/* shared memfd of PMD-sized hugetlb pages */
	GVK_SHMEM,		/* shared shmem file */
};

struct gvk_backing {
	const char *desc;
	enum gvk_kind kind;
};

static const struct gvk_backing gvk_backings[] = {
	{ "anon_4k", GVK_ANON },
	{ "anon_thp", GVK_THP },
	{ "hugetlb_2m", GVK_HUGETLB_PMD },
	{ "hugetlb_1g", GVK_HUGETLB_PUD },
	{ "memfd", GVK_MEMFD },
	{ "memfd_hugetlb_2m", GVK_MEMFD_HUGETLB },
	{ "shmem", GVK_SHMEM },
};

/* The page table leaves that map @kind */
static unsigned long gvk_leaf_size(enum gvk_kind kind)
{
	switch (kind) {
	case GVK_THP:
	case GVK_HUGETLB_PMD:
	case GVK_MEMFD_HUGETLB:
		return PMD_SIZE;
	case GVK_HUGETLB_PUD:
		return PUD_SIZE;
	default:
		return PAGE_SIZE;
	}
}

static bool gvk_is_hugetlb(enum gvk_kind kind)
{
	return kind == GVK_HUGETLB_PMD || kind == GVK_HUGETLB_PUD ||
	       kind == GVK_MEMFD_HUGETLB;
}

/* What most cases map: several page tables or huge leaves */
static unsigned long gvk_size(enum gvk_kind kind)
{
	if (kind == GVK_HUGETLB_PUD)
		return PUD_SIZE;
	if (gvk_leaf_size(kind) == PMD_SIZE)
		return 8 * PMD_SIZE;
	return 4 * PMD_SIZE;
}

#define GVK_RW		(PROT_READ | PROT_WRITE)

/* A range that starts and ends inside a page table or a huge leaf */
#define GVK_HEAD_PAGES	17
#define GVK_TAIL_PAGES	29
#define GVK_HEAD_BYTES	(GVK_HEAD_PAGES * PAGE_SIZE)

/* The pages of that range in @len bytes */
static unsigned long gvk_inner_pages(unsigned long len)
{
	return (len >> PAGE_SHIFT) - GVK_HEAD_PAGES - GVK_TAIL_PAGES;
}

static const void *gvk_next_backing(const void *prev, char *desc, bool huge)
{
	size_t i = prev ? (const struct gvk_backing *)prev - gvk_backings + 1 : 0;

	for (; i < ARRAY_SIZE(gvk_backings); i++) {
		if ((gvk_leaf_size(gvk_backings[i].kind) > PAGE_SIZE) == huge) {
			strscpy(desc, gvk_backings[i].desc, KUNIT_PARAM_DESC_SIZE);
			return &gvk_backings[i];
		}
	}
	return NULL;
}

KUNIT_ARRAY_PARAM_DESC(gvk_backing, gvk_backings, desc);

static const void *gvk_pte_backing_gen_params(struct kunit *test,
					      const void *prev, char *desc)
{
	return gvk_next_backing(prev, desc, false);
}

static const void *gvk_leaf_backing_gen_params(struct kunit *test,
					       const void *prev, char *desc)
{
	return gvk_next_backing(prev, desc, true);
}

/* Skip unless @nr hugetlb pages of @size are free */
static void gvk_require_hugetlb(struct kunit *test, unsigned long size,
				unsigned long nr)
{
	unsigned long avail = 0;
#ifdef CONFIG_HUGETLB_PAGE
	struct hstate *h = size_to_hstate(size);

	if (h) {
		unsigned long free = READ_ONCE(h->free_huge_pages);
		unsigned long resv = READ_ONCE(h->resv_huge_pages);

		avail = free > resv ? free - resv : 0;
	}
#endif
	if (avail < nr)
		kunit_skip(test, "%lu free hugetlb pages of %lu KiB, need %lu",
			   avail, size / SZ_1K, nr);
}

/* The file @kind maps, NULL for anonymous memory */
static struct file *gvk_file(enum gvk_kind kind, unsigned long len)
{
	const vma_flags_t noreserve = mk_vma_flags(VMA_NORESERVE_BIT);
	const char *memfd = "memfd:gup_vec_kunit";
	struct file *file;
	int err;

	switch (kind) {
	case GVK_HUGETLB_PMD:
		return hugetlb_file_setup(HUGETLB_ANON_FILE, len, noreserve,
					  HUGETLB_ANONHUGE_INODE, PMD_SHIFT);
	case GVK_HUGETLB_PUD:
		return hugetlb_file_setup(HUGETLB_ANON_FILE, len, noreserve,
					  HUGETLB_ANONHUGE_INODE, PUD_SHIFT);
	case GVK_SHMEM:
		return shmem_file_setup("gup_vec_kunit", len, noreserve);
	case GVK_MEMFD:
		file = memfd_alloc_file(memfd, 0);
		break;
	case GVK_MEMFD_HUGETLB:
		file = memfd_alloc_file(memfd, MFD_HUGETLB |
					PMD_SHIFT << MFD_HUGE_SHIFT);
		break;
	default:
		return NULL;
	}
	if (IS_ERR(file))
		return file;
	/* ftruncate() */
	err = vfs_truncate(&file->f_path, len);
	if (err) {
		fput(file);
		return ERR_PTR(err);
	}
	return file;
}

/*
 * Address space reserved PROT_NONE, so that cases can map neighbours into it
 * with MAP_FIXED at the alignment they need. The cases unmap it themselves:
 * KUnit releases resources from another thread, without the mm.
 */
struct gvk_area {
	unsigned long resv;
	unsigned long resv_len;
	unsigned long addr;	/* aligned start */
};

static bool gvk_mmap_failed(unsigned long addr)
{
	return !addr || IS_ERR_VALUE(addr);
}

static void gvk_reserve(struct kunit *test, struct gvk_area *area,
			unsigned long len, unsigned long align)
{
	area->resv_len = len + align;
	area->resv = kunit_vm_mmap(test, NULL, 0, area->resv_len, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				   0);
	KUNIT_ASSERT_FALSE_MSG(test, gvk_mmap_failed(area->resv),
			       "reserving %lu bytes: %ld", area->resv_len,
			       (long)area->resv);
	area->addr = ALIGN(area->resv, align);
}

static void gvk_unmap(struct kunit *test, struct gvk_area *area)
{
	KUNIT_EXPECT_EQ(test, vm_munmap(area->resv, area->resv_len), 0);
}

/* Map @len bytes of @kind at @addr, inside a gvk_area */
static void gvk_map(struct kunit *test, enum gvk_kind kind, unsigned long addr,
		    unsigned long len, unsigned long prot)
{
	unsigned long flags = MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS;
	unsigned long leaf = gvk_leaf_size(kind);
	struct file *file;
	unsigned long ret;
	int advice;

	KUNIT_ASSERT_TRUE(test, IS_ALIGNED(addr | len, leaf));
	if (gvk_is_hugetlb(kind))
		gvk_require_hugetlb(test, leaf, len / leaf);
	file = gvk_file(kind, len);
	if (IS_ERR(file))
		kunit_skip(test, "cannot create the file to map: %ld",
			   PTR_ERR(file));
	if (file)
		flags = MAP_FIXED | (kind == GVK_HUGETLB_PMD ||
				     kind == GVK_HUGETLB_PUD ?
				     MAP_PRIVATE : MAP_SHARED);
	ret = kunit_vm_mmap(test, file, addr, len, prot, flags, 0);
	if (file)
		fput(file);
	KUNIT_ASSERT_EQ_MSG(test, ret, addr, "mmap: %ld", (long)ret);

	if (kind != GVK_ANON && kind != GVK_THP)
		return;
	advice = kind == GVK_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;
	if (do_madvise(current->mm, addr, len, advice)) {
		if (kind == GVK_THP)
			kunit_skip(test, "MADV_HUGEPAGE failed: no THP");
		/* Without THP, 4K pages it is */
		KUNIT_ASSERT_FALSE(test,
				   IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE));
	}
}

/* Fault in, as MAP_POPULATE does: for writing if the mapping is private */
static void gvk_populate(struct kunit *test, unsigned long addr,
			 unsigned long len)
{
	KUNIT_ASSERT_EQ_MSG(test, __mm_populate(addr, len, 0), 0,
			    "populating %#lx+%#lx", addr, len);
}

/* An area of @len bytes of @kind, aligned to PMD_SIZE and to its leaves */
static unsigned long gvk_setup(struct kunit *test, struct gvk_area *area,
			       enum gvk_kind kind, unsigned long len,
			       unsigned long prot, bool populate)
{
	gvk_reserve(test, area, len, max(gvk_leaf_size(kind), PMD_SIZE));
	gvk_map(test, kind, area->addr, len, prot);
	if (populate)
		gvk_populate(test, area->addr, len);
	return area->addr;
}

/* Extents, as this file computes and compares them */

struct gvk_ext {
	unsigned long pfn;
	unsigned long npages;
};

struct gvk_exts {
	struct gvk_ext *ext;
	unsigned long nr;
	unsigned long max;
};

KUNIT_DEFINE_ACTION_WRAPPER(gvk_kvfree, kvfree, const void *);

/* A kvcalloc() that KUnit frees */
static void *gvk_kvcalloc(struct kunit *test, unsigned long n, size_t size)
{
	void *p = kvcalloc(n, size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gvk_kvfree, p),
			0);
	return p;
}

static struct gvk_exts *gvk_exts_alloc(struct kunit *test, unsigned long max)
{
	struct gvk_exts *exts = kunit_kzalloc(test, sizeof(*exts), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, exts);
	exts->ext = gvk_kvcalloc(test, max, sizeof(*exts->ext));
	exts->max = max;
	return exts;
}

#if defined(CONFIG_SPARSEMEM) && !defined(CONFIG_SPARSEMEM_VMEMMAP)
#define GVK_SECTION_PAGES	PAGES_PER_SECTION
#else
#define GVK_SECTION_PAGES	0
#endif

/*
 * Whether a run that ends before @end may take @pfn on, by the rule of
 * include/linux/gup_vec.h: consecutive PFNs, no zero page on either side
 * of the join and, when the memmap is not virtually contiguous, no section
 * boundary.
 */
static bool gvk_joins(unsigned long end, unsigned long pfn)
{
	if (pfn != end || is_zero_pfn(pfn) || is_zero_pfn(pfn - 1))
		return false;
	return !GVK_SECTION_PAGES || !IS_ALIGNED(pfn, GVK_SECTION_PAGES);
}

/* Append an extent, joined to the last one if @join and the rule allow */
static void gvk_exts_add(struct kunit *test, struct gvk_exts *exts,
			 unsigned long pfn, unsigned long npages, bool join)
{
	struct gvk_ext *last = exts->nr ? &exts->ext[exts->nr - 1] : NULL;

	if (join && last && gvk_joins(last->pfn + last->npages, pfn) &&
	    last->npages + npages <= GUP_VEC_MAX_NPAGES) {
		last->npages += npages;
		return;
	}
	KUNIT_ASSERT_LT(test, exts->nr, exts->max);
	exts->ext[exts->nr++] = (struct gvk_ext){ pfn, npages };
}

/* Append the extents of a page array, as one call would record them */
static void gvk_exts_from_pages(struct kunit *test, struct gvk_exts *exts,
				struct page **pages, unsigned long nr_pages)
{
	unsigned long i;

	for (i = 0; i < nr_pages; i++)
		gvk_exts_add(test, exts, page_to_pfn(pages[i]), 1, i);
}

static void gvk_expect_exts_eq(struct kunit *test, const struct gvk_exts *got,
			       const struct gvk_exts *want, const char *what)
{
	unsigned long i;

	KUNIT_EXPECT_EQ_MSG(test, got->nr, want->nr, "%s: number of extents",
			    what);
	for (i = 0; i < min(got->nr, want->nr); i++) {
		const struct gvk_ext *g = &got->ext[i], *w = &want->ext[i];

		if (g->pfn != w->pfn || g->npages != w->npages) {
			KUNIT_FAIL(test, "%s: extent %lu is (%#lx, %lu), want (%#lx, %lu)",
				   what, i, g->pfn, g->npages, w->pfn,
				   w->npages);
			return;
		}
	}
}

/*
 * The two flavours under test, each with its reference: pin_user_pages_vec()
 * and pin_user_pages_fast(), pin_user_pages_vec_remote() and
 * pin_user_pages_remote() on the test thread's own mm.
 */
struct gvk_flavour {
	const char *name;
	long (*pin)(unsigned long start, unsigned long nr_pages,
		    unsigned int gup_flags, struct gup_vec *vec);
	long (*ref)(unsigned long start, unsigned long nr_pages,
		    unsigned int gup_flags, struct page **pages);
};

static long gvk_ref_fast(unsigned long start, unsigned long nr_pages,
			 unsigned int gup_flags, struct page **pages)
{
	/*
	 * For no pages, pin_user_pages_fast() walks GUP-fast from @start to
	 * @start, which its do-while walkers take for at least one page: it
	 * pins and records pages it was not asked for. 0 is the answer.
	 */
	if (!nr_pages)
		return 0;
	return pin_user_pages_fast(start, nr_pages, gup_flags, pages);
}

static long gvk_ref_remote(unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages)
{
	struct mm_struct *mm = current->mm;
	int locked = 1;
	long ret;

	mmap_read_lock(mm);
	ret = pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				    &locked);
	if (locked)
		mmap_read_unlock(mm);
	return ret;
}

static long gvk_pin_remote(unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct gup_vec *vec)
{
	struct mm_struct *mm = current->mm;
	int locked = 1;
	long ret;

	mmap_read_lock(mm);
	ret = pin_user_pages_vec_remote(mm, start, nr_pages, gup_flags, vec,
					&locked);
	if (locked)
		mmap_read_unlock(mm);
	return ret;
}

static const struct gvk_flavour gvk_flavours[] = {
	{ "pin_user_pages_vec", pin_user_pages_vec, gvk_ref_fast },
	{ "pin_user_pages_vec_remote", gvk_pin_remote, gvk_ref_remote },
	{}
};

#define GVK_FAST	(&gvk_flavours[0])

/* The reference pins, dropped by gvk_ref_release() or at the end */
struct gvk_ref {
	struct page **pages;
	long nr_pinned;
};

static void gvk_ref_unpin(void *data)
{
	struct gvk_ref *ref = data;

	if (ref->nr_pinned > 0)
		unpin_user_pages(ref->pages, ref->nr_pinned);
	ref->nr_pinned = 0;
}

static struct gvk_ref *gvk_ref_pin(struct kunit *test,
				   const struct gvk_flavour *fl,
				   unsigned long start, unsigned long nr_pages,
				   unsigned int gup_flags)
{
	struct gvk_ref *ref = kunit_kzalloc(test, sizeof(*ref), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ref);
	ref->pages = gvk_kvcalloc(test, nr_pages, sizeof(*ref->pages));
	ref->nr_pinned = fl->ref(start, nr_pages, gup_flags, ref->pages);
	KUNIT_ASSERT_EQ(test,
			kunit_add_action_or_reset(test, gvk_ref_unpin, ref), 0);
	return ref;
}

static void gvk_ref_release(struct kunit *test, struct gvk_ref *ref)
{
	kunit_release_action(test, gvk_ref_unpin, ref);
}

static bool gvk_ref_has_zero_page(const struct gvk_ref *ref)
{
	long i;

	for (i = 0; i < ref->nr_pinned; i++)
		if (is_zero_page(ref->pages[i]))
			return true;
	return false;
}

/* Skip if THP allocation fell back to small folios */
static void gvk_require_thp(struct kunit *test, struct gvk_ref *ref)
{
	long i;

	for (i = 0; i < ref->nr_pinned; i++) {
		if (folio_order(page_folio(ref->pages[i])) == PMD_ORDER)
			continue;
		gvk_ref_release(test, ref);
		kunit_skip(test, "page %ld of the range is not in a PMD-sized THP",
			   i);
	}
}

/* The packed pin under test */

struct gvk_vec {
	struct gup_vec vec;
	u64 **bufs;
	unsigned int nr_bufs;
};

static void gvk_vec_unpin(void *data)
{
	struct gvk_vec *v = data;

	gup_vec_unpin(&v->vec, false);
}

/* Buffers for any @nr_pages pages in one call: a word a page, and slack */
static unsigned int gvk_bufs_for(unsigned long nr_pages)
{
	return DIV_ROUND_UP(nr_pages + 4, GUP_VEC_WORDS - 1);
}

/* An empty gup_vec over @nr_bufs poisoned buffers, unpinned at the end */
static struct gvk_vec *gvk_vec_alloc(struct kunit *test, unsigned int nr_bufs)
{
	struct gvk_vec *v = kunit_kzalloc(test, sizeof(*v), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, v);
	v->bufs = kunit_kcalloc(test, nr_bufs, sizeof(*v->bufs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, v->bufs);
	for (i = 0; i < nr_bufs; i++) {
		v->bufs[i] = kunit_kmalloc(test, SZ_4K, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, v->bufs[i]);
		memset(v->bufs[i], 0xa5, SZ_4K);
	}
	v->nr_bufs = nr_bufs;
	gup_vec_init(&v->vec, v->bufs, nr_bufs);
	KUNIT_ASSERT_EQ(test,
			kunit_add_action_or_reset(test, gvk_vec_unpin, v), 0);
	return v;
}

/*
 * Append the extents @v holds to @out, decoding them twice: through the
 * gup_vec and from the buffers alone, as a consumer that was only handed
 * the buffers does. Both must agree with the vec's counters.
 */
static void gvk_vec_exts(struct kunit *test, struct gvk_vec *v,
			 struct gvk_exts *out)
{
	unsigned int used = gup_vec_finish(&v->vec);
	unsigned long nr = 0, pages = 0;
	struct gup_vec_iter it, bufs_it;

	KUNIT_ASSERT_LE(test, used, v->nr_bufs);
	gup_vec_iter_init(&it, &v->vec);
	gup_vec_iter_init_bufs(&bufs_it, v->bufs, used);
	while (gup_vec_iter_next(&it)) {
		if (!gup_vec_iter_next(&bufs_it) || bufs_it.pfn != it.pfn ||
		    bufs_it.npages != it.npages) {
			KUNIT_FAIL(test, "extent %lu decodes differently from the buffers alone",
				   nr);
			return;
		}
		gvk_exts_add(test, out, it.pfn, it.npages, false);
		nr++;
		pages += it.npages;
	}
	KUNIT_EXPECT_FALSE_MSG(test, gup_vec_iter_next(&bufs_it),
			       "the buffers hold more extents than the vec");
	KUNIT_EXPECT_EQ(test, nr, gup_vec_nr_extents(&v->vec));
	KUNIT_EXPECT_EQ(test, pages, gup_vec_nr_pages(&v->vec));
}

/*
 * Pin counts. A pin of a page adds GUP_PIN_COUNTING_BIAS to the refcount of
 * a small folio, and 1 to both refcount and _pincount of a large one. The
 * zero page takes no pin. A folio counts once per consecutive run of its
 * pages: the ranges the cases pin map no folio twice, except the zero pages.
 */

struct gvk_folio {
	struct folio *folio;
	unsigned long nr;	/* pages of the range in the folio */
};

struct gvk_pins {
	struct gvk_folio *f;
	unsigned long nr;
};

struct gvk_count {
	int refs;
	int pins;
};

static struct gvk_pins *gvk_pins_of(struct kunit *test,
				    const struct gvk_ref *ref)
{
	struct gvk_pins *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	long i;

	KUNIT_ASSERT_NOT_NULL(test, p);
	p->f = gvk_kvcalloc(test, max(ref->nr_pinned, 1L), sizeof(*p->f));
	for (i = 0; i < ref->nr_pinned; i++) {
		struct folio *folio = page_folio(ref->pages[i]);

		if (is_zero_folio(folio))
			continue;
		if (p->nr && p->f[p->nr - 1].folio == folio)
			p->f[p->nr - 1].nr++;
		else
			p->f[p->nr++] = (struct gvk_folio){ folio, 1 };
	}
	return p;
}

static struct gvk_count *gvk_pins_read(struct kunit *test,
				       const struct gvk_pins *p)
{
	struct gvk_count *c = gvk_kvcalloc(test, max(p->nr, 1UL), sizeof(*c));
	unsigned long i;

	/* Count no reference that a per-CPU LRU batch holds for a while */
	lru_add_drain_all();
	for (i = 0; i < p->nr; i++) {
		struct folio *folio = p->f[i].folio;

		c[i].refs = folio_ref_count(folio);
		if (folio_has_pincount(folio))
			c[i].pins = atomic_read(&folio->_pincount);
	}
	return c;
}

/* Expect @now to be @then plus @times pins of each page */
static void gvk_pins_expect(struct kunit *test, const struct gvk_pins *p,
			    const struct gvk_count *then,
			    const struct gvk_count *now, int times)
{
	unsigned long i;

	for (i = 0; i < p->nr; i++) {
		struct folio *folio = p->f[i].folio;
		int nr = p->f[i].nr * times;
		int refs = nr, pins = nr;

		if (!folio_has_pincount(folio)) {
			refs = nr * GUP_PIN_COUNTING_BIAS;
			pins = 0;
		}
		if (now[i].refs - then[i].refs == refs &&
		    now[i].pins - then[i].pins == pins)
			continue;
		KUNIT_FAIL(test,
			   "folio of pfn %#lx, order %u, %lu pages in range: refcount %d -> %d, pincount %d -> %d, want %d pins a page more",
			   folio_pfn(folio), folio_order(folio), p->f[i].nr,
			   then[i].refs, now[i].refs, then[i].pins,
			   now[i].pins, times);
		return;
	}
}

/*
 * After gup_vec_unpin(..., true) of the pages of @ref, which still holds
 * them: every folio is dirty, and the zero page was not dirtied.
 */
static void gvk_expect_dirtied(struct kunit *test, const struct gvk_ref *ref)
{
	long i;

	for (i = 0; i < ref->nr_pinned; i++) {
		struct folio *folio = page_folio(ref->pages[i]);

		if (folio_test_dirty(folio) == !is_zero_folio(folio))
			continue;
		KUNIT_FAIL(test, "pfn %#lx%s: dirty %d after an unpin with make_dirty",
			   page_to_pfn(ref->pages[i]),
			   is_zero_folio(folio) ? " (zero page)" : "",
			   folio_test_dirty(folio));
		return;
	}
}

/* Every other unpin of gvk_expect_as_ref() dirties: both of its paths */
static unsigned int gvk_unpins;

/*
 * Expect the pins of @v to be those of @ref, which pinned the same range:
 * the same extents, and one pin a page that gup_vec_unpin() drops. If
 * @before is given, the counts must be back to it after the unpin.
 */
static void gvk_expect_as_ref(struct kunit *test, struct gvk_vec *v,
			      const struct gvk_ref *ref,
			      const struct gvk_pins *pins,
			      const struct gvk_count *before)
{
	struct gvk_exts *got = gvk_exts_alloc(test, ref->nr_pinned);
	struct gvk_exts *want = gvk_exts_alloc(test, ref->nr_pinned);
	struct gvk_count *held, *after;
	bool dirty;

	gvk_exts_from_pages(test, want, ref->pages, ref->nr_pinned);
	gvk_vec_exts(test, v, got);
	gvk_expect_exts_eq(test, got, want, "extents");

	held = gvk_pins_read(test, pins);
	dirty = gvk_unpins++ & 1;
	KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, dirty), ref->nr_pinned);
	KUNIT_EXPECT_EQ(test, gup_vec_nr_pages(&v->vec), 0);
	if (dirty)
		gvk_expect_dirtied(test, ref);
	after = gvk_pins_read(test, pins);
	gvk_pins_expect(test, pins, after, held, 1);
	if (before)
		gvk_pins_expect(test, pins, before, after, 0);
}

/* Expect every folio of @ref to be pinned by @ref alone */
static void gvk_expect_only_ref_pins(struct kunit *test,
				     const struct gvk_ref *ref)
{
	const struct gvk_pins *pins = gvk_pins_of(test, ref);
	struct gvk_count *now = gvk_pins_read(test, pins);
	unsigned long i;

	for (i = 0; i < pins->nr; i++) {
		struct folio *folio = pins->f[i].folio;
		unsigned long nr = pins->f[i].nr;
		bool ok;

		if (folio_has_pincount(folio))
			ok = now[i].pins == nr;
		else
			ok = now[i].refs / GUP_PIN_COUNTING_BIAS == nr;
		if (!ok) {
			KUNIT_FAIL(test,
				   "folio of pfn %#lx: refcount %d, pincount %d with %lu pages pinned once",
				   folio_pfn(folio), now[i].refs, now[i].pins,
				   nr);
			return;
		}
	}
}

/*
 * Pin a range with @fl's reference first, then with its packed pin into
 * enough buffers for one call: expect the same result, extents and pins.
 * Returns the reference's result.
 */
static long gvk_check(struct kunit *test, const struct gvk_flavour *fl,
		      unsigned long start, unsigned long nr_pages,
		      unsigned int gup_flags)
{
	struct gvk_ref *ref = gvk_ref_pin(test, fl, start, nr_pages, gup_flags);
	struct gvk_vec *v = gvk_vec_alloc(test, gvk_bufs_for(nr_pages));
	struct gvk_pins *pins = gvk_pins_of(test, ref);
	struct gvk_count *before = gvk_pins_read(test, pins);
	long want = ref->nr_pinned;
	long ret;

	ret = fl->pin(start, nr_pages, gup_flags, &v->vec);
	KUNIT_EXPECT_EQ_MSG(test, ret, want, "%s of %lu pages at %#lx",
			    fl->name, nr_pages, start);
	if (ret == want && ret > 0)
		gvk_expect_as_ref(test, v, ref, pins, before);
	else if (ret <= 0)
		KUNIT_EXPECT_EQ(test, gup_vec_nr_pages(&v->vec), 0);
	gvk_ref_release(test, ref);
	return want;
}

/*
 * Chained calls: a caller whose output is bounded pins a range in as many
 * calls as it takes, unpinning and resetting the vec in between.
 */
struct gvk_walk {
	struct gvk_exts *raw;		/* every call's extents in turn */
	struct gvk_exts *merged;	/* the same, joined across calls */
	unsigned long *ends;		/* page index where each call ended */
	unsigned int nr_calls;
};

/* Each call must pin something and, if short, stop on a PMD boundary */
static struct gvk_walk *gvk_walk(struct kunit *test,
				 const struct gvk_flavour *fl,
				 unsigned long start, unsigned long nr_pages,
				 unsigned int gup_flags, unsigned int nr_bufs)
{
	unsigned long max_calls = nr_pages / (PMD_SIZE >> PAGE_SHIFT) + 2;
	struct gvk_walk *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	struct gvk_vec *v = gvk_vec_alloc(test, nr_bufs);
	unsigned long done = 0, i, from, addr;
	long ret;

	KUNIT_ASSERT_NOT_NULL(test, w);
	w->raw = gvk_exts_alloc(test, nr_pages);
	w->merged = gvk_exts_alloc(test, nr_pages);
	w->ends = gvk_kvcalloc(test, max_calls, sizeof(*w->ends));
	while (done < nr_pages) {
		KUNIT_ASSERT_LT_MSG(test, w->nr_calls, max_calls,
				    "%s: too many calls", fl->name);
		addr = start + done * PAGE_SIZE;
		ret = fl->pin(addr, nr_pages - done, gup_flags, &v->vec);
		KUNIT_ASSERT_GT_MSG(test, ret, 0, "%s call %u at %#lx, %u buffers",
				    fl->name, w->nr_calls, addr, nr_bufs);
		KUNIT_ASSERT_LE(test, ret, (long)(nr_pages - done));
		done += ret;
		addr = start + done * PAGE_SIZE;
		KUNIT_EXPECT_TRUE_MSG(test, done == nr_pages ||
				      IS_ALIGNED(addr & PAGE_MASK, PMD_SIZE),
				      "%s call %u stopped at %#lx, %u buffers",
				      fl->name, w->nr_calls, addr, nr_bufs);

		from = w->raw->nr;
		gvk_vec_exts(test, v, w->raw);
		for (i = from; i < w->raw->nr; i++)
			gvk_exts_add(test, w->merged, w->raw->ext[i].pfn,
				     w->raw->ext[i].npages, true);
		KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, false), ret);
		w->ends[w->nr_calls++] = done;
	}
	return w;
}

/*
 * Each call recorded the reference's extents of the pages it pinned, and
 * all of them joined are the reference's extents of the whole range.
 */
static void gvk_walk_expect(struct kunit *test, const struct gvk_walk *w,
			    const struct gvk_ref *ref, const char *what)
{
	struct gvk_exts *raw = gvk_exts_alloc(test, ref->nr_pinned);
	struct gvk_exts *merged = gvk_exts_alloc(test, ref->nr_pinned);
	unsigned long from = 0;
	unsigned int c;

	KUNIT_ASSERT_GT(test, w->nr_calls, 0);
	KUNIT_ASSERT_EQ(test, w->ends[w->nr_calls - 1], ref->nr_pinned);
	for (c = 0; c < w->nr_calls; from = w->ends[c++])
		gvk_exts_from_pages(test, raw, ref->pages + from,
				    w->ends[c] - from);
	gvk_exts_from_pages(test, merged, ref->pages, ref->nr_pinned);
	gvk_expect_exts_eq(test, w->raw, raw, what);
	gvk_expect_exts_eq(test, w->merged, merged, what);
}

/*
 * One buffer holds the worst case of one page table of 4K pages and never
 * of two: every call ends on the first PMD boundary after its start, or at
 * the end of the range if less than a table is left after that boundary
 * and its worst case fits what the buffer has left.
 */
static void gvk_expect_one_table_a_call(struct kunit *test,
					const struct gvk_walk *w,
					unsigned long start,
					unsigned long nr_pages)
{
	const unsigned long table = PMD_SIZE >> PAGE_SHIFT;
	const unsigned long first = start >> PAGE_SHIFT;
	unsigned long from = 0, boundary;
	unsigned int c;

	for (c = 0; c < w->nr_calls; from = w->ends[c++]) {
		boundary = ALIGN(first + from + 1, table) - first;
		boundary = min(boundary, nr_pages);
		KUNIT_EXPECT_TRUE_MSG(test, w->ends[c] == boundary ||
				      (w->ends[c] == nr_pages &&
				       nr_pages - boundary < table),
				      "call %u from page %lu ended at page %lu",
				      c, from, w->ends[c]);
	}
}

/*
 * Huge leaves come out whole: an aligned range of them in one buffer as
 * extents of whole leaves, and one leaf as one word followed by the end.
 */
static void gvk_check_leaves(struct kunit *test, enum gvk_kind kind,
			     unsigned long addr, unsigned long len)
{
	unsigned long leaf_pages = gvk_leaf_size(kind) >> PAGE_SHIFT;
	unsigned long nr_pages = len >> PAGE_SHIFT;
	struct gvk_vec *v = gvk_vec_alloc(test, 1);
	struct gup_vec_iter it;
	struct gvk_ref *ref;
	u64 word;

	ref = gvk_ref_pin(test, GVK_FAST, addr, nr_pages, FOLL_WRITE);
	KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr_pages);
	if (kind == GVK_THP)
		gvk_require_thp(test, ref);

	KUNIT_ASSERT_EQ(test, pin_user_pages_vec(addr, nr_pages, FOLL_WRITE,
						 &v->vec), (long)nr_pages);
	gup_vec_for_each_extent(&it, &v->vec) {
		KUNIT_EXPECT_TRUE_MSG(test, IS_ALIGNED(it.pfn | it.npages,
						       leaf_pages),
				      "extent (%#lx, %lu) is not whole leaves",
				      it.pfn, it.npages);
	}
	KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, false), nr_pages);

	word = FIELD_PREP(GUP_VEC_PFN, page_to_pfn(ref->pages[0])) |
	       FIELD_PREP(GUP_VEC_ORDER, ilog2(leaf_pages));
	KUNIT_ASSERT_EQ(test, pin_user_pages_vec(addr, leaf_pages, FOLL_WRITE,
						 &v->vec), (long)leaf_pages);
	KUNIT_EXPECT_EQ(test, gup_vec_nr_extents(&v->vec), 1);
	KUNIT_EXPECT_EQ(test, v->bufs[0][0], word);
	KUNIT_EXPECT_EQ(test, v->bufs[0][1], GUP_VEC_END);
	KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, false), leaf_pages);
	gvk_ref_release(test, ref);
}

/* Cases */

/*
 * A populated range, whole and from inside a page table or a leaf to inside
 * another, pins as the reference does.
 */
static void gvk_test_extents(struct kunit *test)
{
	const struct gvk_backing *b = test->param_value;
	unsigned long len = gvk_size(b->kind);
	unsigned long nr_pages = len >> PAGE_SHIFT;
	unsigned long inner = gvk_inner_pages(len);
	const struct gvk_flavour *fl;
	struct gvk_area area;
	unsigned long addr;

	addr = gvk_setup(test, &area, b->kind, len, GVK_RW, true);
	if (gvk_leaf_size(b->kind) > PAGE_SIZE)
		gvk_check_leaves(test, b->kind, addr, len);
	for (fl = gvk_flavours; fl->pin; fl++) {
		KUNIT_EXPECT_EQ(test, gvk_check(test, fl, addr, nr_pages,
						FOLL_WRITE), (long)nr_pages);
		KUNIT_EXPECT_EQ(test, gvk_check(test, fl, addr + GVK_HEAD_BYTES,
						inner, FOLL_WRITE),
				(long)inner);
	}
	gvk_unmap(test, &area);
}

/*
 * Unpopulated memory: the packed pin faults it in on its slow path, one
 * buffer a call, before the reference sees it.
 */
static void gvk_test_fault_in(struct kunit *test)
{
	const struct gvk_backing *b = test->param_value;
	unsigned long len = gvk_size(b->kind);
	unsigned long nr = gvk_inner_pages(len);
	const struct gvk_flavour *fl;
	struct gvk_area area;
	struct gvk_walk *w;
	struct gvk_ref *ref;
	unsigned long start;

	for (fl = gvk_flavours; fl->pin; fl++) {
		start = gvk_setup(test, &area, b->kind, len, GVK_RW, false) +
			GVK_HEAD_BYTES;
		w = gvk_walk(test, fl, start, nr, FOLL_WRITE, 1);
		ref = gvk_ref_pin(test, GVK_FAST, start, nr, FOLL_WRITE);
		KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
		gvk_walk_expect(test, w, ref, fl->name);
		gvk_expect_only_ref_pins(test, ref);
		gvk_ref_release(test, ref);
		gvk_unmap(test, &area);
	}
}

/* One, two, three or eight buffers: chained calls record the same */
static void gvk_test_output_sizes(struct kunit *test)
{
	static const unsigned int nr_bufs[] = { 1, 2, 3, 8 };
	const struct gvk_backing *b = test->param_value;
	unsigned long len = gvk_size(b->kind);
	unsigned long nr = gvk_inner_pages(len);
	const struct gvk_flavour *fl;
	struct gvk_area area;
	unsigned long start;
	struct gvk_ref *ref;
	struct gvk_walk *w;
	unsigned int i;

	start = gvk_setup(test, &area, b->kind, len, GVK_RW, true) +
		GVK_HEAD_BYTES;
	ref = gvk_ref_pin(test, GVK_FAST, start, nr, FOLL_WRITE);
	KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
	for (i = 0; i < ARRAY_SIZE(nr_bufs); i++) {
		for (fl = gvk_flavours; fl->pin; fl++) {
			w = gvk_walk(test, fl, start, nr, FOLL_WRITE, nr_bufs[i]);
			gvk_walk_expect(test, w, ref, fl->name);
			if (nr_bufs[i] == 1 &&
			    gvk_leaf_size(b->kind) == PAGE_SIZE)
				gvk_expect_one_table_a_call(test, w, start, nr);
		}
	}
	gvk_expect_only_ref_pins(test, ref);
	gvk_ref_release(test, ref);
	gvk_unmap(test, &area);
}

/*
 * The stop rule on 4K pages. A buffer of GUP_VEC_WORDS words holds one
 * page table and no more, so a range that starts 100 pages into a table
 * and covers three tables takes one call for that table's 412 pages, then
 * one a table; the last, partial, table may join the one before it.
 */
static void gvk_test_stop_rule(struct kunit *test)
{
	const struct gvk_backing *b = test->param_value;
	const unsigned long table = PMD_SIZE >> PAGE_SHIFT;
	unsigned long start, nr = 3 * table;
	const struct gvk_flavour *fl;
	struct gvk_area area;
	struct gvk_ref *ref;
	struct gvk_walk *w;

	start = gvk_setup(test, &area, b->kind, 4 * PMD_SIZE, GVK_RW, true) +
		100 * PAGE_SIZE;
	ref = gvk_ref_pin(test, GVK_FAST, start, nr, FOLL_WRITE);
	KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
	for (fl = gvk_flavours; fl->pin; fl++) {
		w = gvk_walk(test, fl, start, nr, FOLL_WRITE, 1);
		KUNIT_EXPECT_EQ_MSG(test, w->ends[0], table - 100, "%s",
				    fl->name);
		KUNIT_EXPECT_GE_MSG(test, w->nr_calls, 3, "%s", fl->name);
		gvk_expect_one_table_a_call(test, w, start, nr);
		gvk_walk_expect(test, w, ref, fl->name);
	}
	gvk_expect_only_ref_pins(test, ref);
	gvk_ref_release(test, ref);
	gvk_unmap(test, &area);
}

/* Hundreds of MiB of huge leaves fit one buffer, in one call */
static void gvk_test_one_buffer_huge(struct kunit *test)
{
	const struct gvk_backing *b = test->param_value;
	unsigned long leaf = gvk_leaf_size(b->kind);
	unsigned long len = leaf == PMD_SIZE ? 32 * leaf : leaf;
	unsigned long nr_pages, start, nr;
	const struct gvk_flavour *fl;
	struct gvk_area area;
	struct gvk_ref *ref;
	struct gvk_walk *w;
	unsigned int i;

	if (b->kind == GVK_THP)
		len = 128 * leaf;
	nr_pages = len >> PAGE_SHIFT;
	gvk_setup(test, &area, b->kind, len, GVK_RW, true);
	for (i = 0; i < 2; i++) {
		/* The whole range, then from inside a leaf to inside one */
		start = area.addr + i * GVK_HEAD_BYTES;
		nr = nr_pages - i * (GVK_HEAD_PAGES + GVK_TAIL_PAGES);
		ref = gvk_ref_pin(test, GVK_FAST, start, nr, FOLL_WRITE);
		KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
		if (b->kind == GVK_THP)
			gvk_require_thp(test, ref);
		for (fl = gvk_flavours; fl->pin; fl++) {
			w = gvk_walk(test, fl, start, nr, FOLL_WRITE, 1);
			KUNIT_EXPECT_EQ_MSG(test, w->nr_calls, 1, "%s",
					    fl->name);
			gvk_walk_expect(test, w, ref, fl->name);
		}
		gvk_ref_release(test, ref);
	}
	gvk_unmap(test, &area);
}

/*
 * Appending to a nearly full vec: two words left in the only buffer, the
 * rest taken by zero pages (a word each). A call pins as far as a PMD
 * boundary, or the end of the range, and no further; on huge leaves that
 * is exactly the first leaf of the range, from the range's start to the
 * leaf's end, never split: that leaf and the next one's worst case do not
 * fit. After that nothing fits: the next call fails with -ENOSPC, as a
 * call that pins nothing must fail.
 */
static void gvk_test_nearly_full(struct kunit *test)
{
	static const unsigned long heads[] = { 0, GVK_HEAD_PAGES };
	const struct gvk_backing *b = test->param_value;
	const unsigned long fill = GUP_VEC_WORDS - 2;
	unsigned long leaf_pages = gvk_leaf_size(b->kind) >> PAGE_SHIFT;
	unsigned long len = gvk_size(b->kind);
	unsigned long start, nr, addr, end;
	struct gvk_area zero_area, area;
	struct gvk_exts *got, *want;
	const struct gvk_flavour *fl;
	struct gvk_ref *zero, *ref;
	struct gvk_vec *v;
	unsigned int i;
	long ret;

	addr = gvk_setup(test, &zero_area, GVK_ANON, PMD_SIZE, PROT_READ, true);
	zero = gvk_ref_pin(test, GVK_FAST, addr, fill, 0);
	KUNIT_ASSERT_EQ(test, zero->nr_pinned, (long)fill);
	KUNIT_ASSERT_TRUE(test, is_zero_page(zero->pages[0]));
	gvk_setup(test, &area, b->kind, len, GVK_RW, true);

	for (i = 0; i < ARRAY_SIZE(heads); i++) {
		start = area.addr + heads[i] * PAGE_SIZE;
		nr = (len >> PAGE_SHIFT) - heads[i];
		ref = gvk_ref_pin(test, GVK_FAST, start, nr, FOLL_WRITE);
		KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
		if (b->kind == GVK_THP)
			gvk_require_thp(test, ref);

		for (fl = gvk_flavours; fl->pin; fl++) {
			v = gvk_vec_alloc(test, 1);
			KUNIT_ASSERT_EQ(test, fl->pin(addr, fill, 0, &v->vec),
					(long)fill);
			KUNIT_EXPECT_EQ(test, gup_vec_nr_extents(&v->vec), fill);

			ret = fl->pin(start, nr, FOLL_WRITE, &v->vec);
			if (leaf_pages > 1)
				KUNIT_EXPECT_EQ_MSG(test, ret,
						    (long)min(nr, leaf_pages - heads[i]),
						    "%s from %lu pages into a leaf",
						    fl->name, heads[i]);
			if (ret <= 0) {
				KUNIT_EXPECT_EQ_MSG(test, ret, -ENOSPC, "%s",
						    fl->name);
				ret = 0;
			} else if (ret < nr) {
				end = start + ret * PAGE_SIZE;
				KUNIT_EXPECT_TRUE_MSG(test,
						      IS_ALIGNED(end, PMD_SIZE),
						      "%s from %lu pages into a table stopped at %#lx, %ld pages",
						      fl->name, heads[i], end, ret);
				KUNIT_EXPECT_EQ_MSG(test,
						    fl->pin(end, nr - ret,
							    FOLL_WRITE, &v->vec),
						    -ENOSPC, "%s on a full vec",
						    fl->name);
			}

			got = gvk_exts_alloc(test, fill + ret);
			want = gvk_exts_alloc(test, fill + ret);
			gvk_exts_from_pages(test, want, zero->pages, fill);
			gvk_exts_from_pages(test, want, ref->pages, ret);
			gvk_vec_exts(test, v, got);
			gvk_expect_exts_eq(test, got, want, fl->name);
			KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, false),
					fill + ret);
		}
		gvk_ref_release(test, ref);
	}
	gvk_ref_release(test, zero);
	gvk_unmap(test, &area);
	gvk_unmap(test, &zero_area);
}

struct gvk_piece {
	enum gvk_kind kind;
	unsigned long len;
};

/* Neighbouring VMAs of every backing but PUD hugetlb, in one range */
static void gvk_test_neighbours(struct kunit *test)
{
	const unsigned long pmd = PMD_SIZE;
	const struct gvk_piece pieces[] = {
		{ GVK_ANON, pmd },
		{ GVK_THP, 2 * pmd },
		{ GVK_HUGETLB_PMD, 2 * pmd },
		{ GVK_MEMFD, pmd / 2 },
		{ GVK_SHMEM, pmd / 4 },
		{ GVK_ANON, pmd / 4 },
		{ GVK_MEMFD_HUGETLB, pmd },
		{ GVK_ANON, pmd },
	};
	static const unsigned int nr_bufs[] = { 1, 3 };
	unsigned long len = 0, addr, start, nr;
	const struct gvk_flavour *fl;
	struct gvk_area area;
	struct gvk_ref *ref;
	struct gvk_walk *w;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pieces); i++)
		len += pieces[i].len;
	gvk_reserve(test, &area, len, pmd);
	for (i = 0, addr = area.addr; i < ARRAY_SIZE(pieces); i++) {
		gvk_map(test, pieces[i].kind, addr, pieces[i].len, GVK_RW);
		addr += pieces[i].len;
	}
	gvk_populate(test, area.addr, len);

	/* From inside the first VMA to inside the last */
	start = area.addr + pmd / 2 + 3 * PAGE_SIZE;
	nr = (len - pmd) / PAGE_SIZE - 8;
	for (fl = gvk_flavours; fl->pin; fl++)
		KUNIT_EXPECT_EQ(test, gvk_check(test, fl, start, nr, FOLL_WRITE),
				(long)nr);

	ref = gvk_ref_pin(test, GVK_FAST, start, nr, FOLL_WRITE);
	KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
	for (i = 0; i < ARRAY_SIZE(nr_bufs); i++) {
		for (fl = gvk_flavours; fl->pin; fl++) {
			w = gvk_walk(test, fl, start, nr, FOLL_WRITE, nr_bufs[i]);
			gvk_walk_expect(test, w, ref, fl->name);
		}
	}
	gvk_expect_only_ref_pins(test, ref);
	gvk_ref_release(test, ref);
	gvk_unmap(test, &area);
}

/*
 * Read-only pins of the zero page, of the huge zero page, and of 4K memory
 * where every third page was written: a zero page is an extent of its own
 * and holds no pin.
 */
static void gvk_test_zero_page(struct kunit *test)
{
	static const unsigned int gup_flags[] = { 0, FOLL_LONGTERM };
	const unsigned long pmd = PMD_SIZE;
	unsigned long len = 4 * pmd, nr = len >> PAGE_SHIFT, addr;
	const struct gvk_flavour *fl;
	struct gvk_area area;
	struct gvk_ref *ref;
	unsigned int i;

	gvk_reserve(test, &area, len, pmd);
	gvk_map(test, GVK_ANON, area.addr, pmd, PROT_READ);
	gvk_map(test, GVK_THP, area.addr + pmd, 2 * pmd, PROT_READ);
	gvk_populate(test, area.addr, 3 * pmd);
	gvk_map(test, GVK_ANON, area.addr + 3 * pmd, pmd, GVK_RW);
	for (addr = area.addr + 3 * pmd; addr < area.addr + len;
	     addr += 3 * PAGE_SIZE)
		KUNIT_ASSERT_EQ(test, put_user(1, (char __user *)addr), 0);

	ref = gvk_ref_pin(test, GVK_FAST, area.addr, nr, 0);
	KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
	KUNIT_ASSERT_TRUE(test, gvk_ref_has_zero_page(ref));
	gvk_ref_release(test, ref);

	for (i = 0; i < ARRAY_SIZE(gup_flags); i++) {
		for (fl = gvk_flavours; fl->pin; fl++) {
			gvk_check(test, fl, area.addr, nr, gup_flags[i]);
			gvk_check(test, fl, area.addr + 5 * PAGE_SIZE, nr - 9,
				  gup_flags[i]);
		}
	}
	gvk_unmap(test, &area);
}

/* FOLL_LONGTERM pins what the reference pins with FOLL_LONGTERM */
static void gvk_test_longterm(struct kunit *test)
{
	const unsigned int gup_flags = FOLL_WRITE | FOLL_LONGTERM;
	const struct gvk_backing *b = test->param_value;
	unsigned long len = gvk_size(b->kind);
	unsigned long nr = gvk_inner_pages(len);
	const struct gvk_flavour *fl;
	struct gvk_area area;
	unsigned long start;
	struct gvk_ref *ref;
	struct gvk_walk *w;

	for (fl = gvk_flavours; fl->pin; fl++) {
		/* Faulted in by the packed pin, then populated */
		start = gvk_setup(test, &area, b->kind, len, GVK_RW, false) +
			GVK_HEAD_BYTES;
		w = gvk_walk(test, fl, start, nr, gup_flags, gvk_bufs_for(nr));
		ref = gvk_ref_pin(test, fl, start, nr, gup_flags);
		KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
		gvk_walk_expect(test, w, ref, fl->name);
		gvk_ref_release(test, ref);
		KUNIT_EXPECT_EQ(test, gvk_check(test, fl, start, nr, gup_flags),
				(long)nr);
		gvk_unmap(test, &area);
	}
}

/*
 * FOLL_LONGTERM on memory in ZONE_MOVABLE, as pin_user_pages() does it:
 * the pages are migrated out of the zone before they are pinned, with
 * their contents, and the extents are those of the new pages. Needs
 * ZONE_MOVABLE memory (a boot with movablecore=; check.sh has one), where
 * the page allocator puts anonymous and shmem pages first. Without it the
 * case skips.
 */
static bool gvk_have_movable_zone(void)
{
	pg_data_t *pgdat;

	for_each_online_pgdat(pgdat)
		if (populated_zone(&pgdat->node_zones[ZONE_MOVABLE]))
			return true;
	return false;
}

/* Pages @v recorded whose PFN @match accepts (with @arg) */
static unsigned long gvk_vec_count_pages(struct gvk_vec *v,
					 bool (*match)(unsigned long pfn,
						       unsigned long arg),
					 unsigned long arg)
{
	unsigned long i, nr = 0;
	struct gup_vec_iter it;

	gup_vec_finish(&v->vec);
	gup_vec_iter_init(&it, &v->vec);
	while (gup_vec_iter_next(&it))
		for (i = 0; i < it.npages; i++)
			nr += match(it.pfn + i, arg);
	return nr;
}

static bool gvk_pfn_movable(unsigned long pfn, unsigned long unused)
{
	return page_zonenum(pfn_to_page(pfn)) == ZONE_MOVABLE;
}

/* Pages @v recorded that lie in ZONE_MOVABLE */
static unsigned long gvk_vec_movable_pages(struct gvk_vec *v)
{
	return gvk_vec_count_pages(v, gvk_pfn_movable, 0);
}

/* The word written at the start of page @i of a range */
static u32 gvk_stamp(unsigned long i)
{
	return 0x5a000000 ^ i;
}

/* Write its stamp at the start of each of @nr_pages pages from @start */
static void gvk_write_stamps(struct kunit *test, unsigned long start,
			     unsigned long nr_pages)
{
	unsigned long i;

	for (i = 0; i < nr_pages; i++) {
		u32 __user *p = (u32 __user *)(start + i * PAGE_SIZE);

		KUNIT_ASSERT_EQ(test, put_user(gvk_stamp(i), p), 0);
	}
}

/*
 * Every page @v recorded, in order, starts with its stamp: the first with
 * page @first's
 */
static void gvk_expect_stamps_from(struct kunit *test, struct gvk_vec *v,
				   unsigned long first, unsigned long nr_pages)
{
	unsigned long i, n = first;
	struct gup_vec_iter it;
	u32 *p, word;

	gup_vec_iter_init(&it, &v->vec);
	while (gup_vec_iter_next(&it)) {
		for (i = 0; i < it.npages; i++, n++) {
			p = kmap_local_page(pfn_to_page(it.pfn + i));
			word = *p;
			kunmap_local(p);
			KUNIT_ASSERT_EQ_MSG(test, word, gvk_stamp(n),
					    "page %lu lost its contents", n);
		}
	}
	KUNIT_EXPECT_EQ(test, n - first, nr_pages);
}

static void gvk_expect_stamps(struct kunit *test, struct gvk_vec *v,
			      unsigned long nr_pages)
{
	gvk_expect_stamps_from(test, v, 0, nr_pages);
}

/* The index of the first page @v recorded in ZONE_MOVABLE, or ULONG_MAX */
static unsigned long gvk_vec_first_movable(struct gvk_vec *v)
{
	unsigned long i, n = 0;
	struct gup_vec_iter it;

	gup_vec_finish(&v->vec);
	gup_vec_iter_init(&it, &v->vec);
	while (gup_vec_iter_next(&it))
		for (i = 0; i < it.npages; i++, n++)
			if (gvk_pfn_movable(it.pfn + i, 0))
				return n;
	return ULONG_MAX;
}

static const struct gvk_backing gvk_movable_backings[] = {
	{ "anon_4k", GVK_ANON },
	{ "anon_thp", GVK_THP },
	{ "memfd", GVK_MEMFD },
	{ "shmem", GVK_SHMEM },
};

KUNIT_ARRAY_PARAM_DESC(gvk_movable_backing, gvk_movable_backings, desc);

static void gvk_test_longterm_movable(struct kunit *test)
{
	const struct gvk_backing *b = test->param_value;
	unsigned long len = gvk_size(b->kind), nr = len >> PAGE_SHIFT;
	const struct gvk_flavour *fl;
	struct gvk_area area;
	unsigned long start, i;
	struct gvk_vec *v;

	if (!gvk_have_movable_zone())
		kunit_skip(test, "no ZONE_MOVABLE memory: boot with movablecore=");

	for (fl = gvk_flavours; fl->pin; fl++) {
		start = gvk_setup(test, &area, b->kind, len, GVK_RW, true);
		gvk_write_stamps(test, start, nr);
		v = gvk_vec_alloc(test, gvk_bufs_for(nr));

		/* A short-term pin leaves the pages where they are */
		KUNIT_ASSERT_EQ(test, fl->pin(start, nr, FOLL_WRITE, &v->vec),
				(long)nr);
		KUNIT_ASSERT_GT_MSG(test, gvk_vec_movable_pages(v), 0,
				    "%s: no page in ZONE_MOVABLE to migrate",
				    fl->name);
		i = gvk_vec_first_movable(v);
		gup_vec_unpin(&v->vec, false);

		/* One page alone takes the page array walker: the same */
		KUNIT_ASSERT_EQ(test, fl->pin(start + i * PAGE_SIZE, 1,
					      FOLL_WRITE | FOLL_LONGTERM,
					      &v->vec), 1);
		KUNIT_EXPECT_EQ_MSG(test, gvk_vec_movable_pages(v), 0,
				    "%s: FOLL_LONGTERM pinned page %lu in ZONE_MOVABLE",
				    fl->name, i);
		gvk_expect_stamps_from(test, v, i, 1);
		gup_vec_unpin(&v->vec, false);
		/* And the range still has pages to migrate */
		KUNIT_ASSERT_EQ(test, fl->pin(start, nr, FOLL_WRITE, &v->vec),
				(long)nr);
		KUNIT_ASSERT_GT_MSG(test, gvk_vec_movable_pages(v), 0,
				    "%s: no page left in ZONE_MOVABLE to migrate",
				    fl->name);
		gup_vec_unpin(&v->vec, false);

		KUNIT_ASSERT_EQ(test, fl->pin(start, nr,
					      FOLL_WRITE | FOLL_LONGTERM,
					      &v->vec), (long)nr);
		KUNIT_EXPECT_EQ_MSG(test, gvk_vec_movable_pages(v), 0,
				    "%s: FOLL_LONGTERM pinned ZONE_MOVABLE pages",
				    fl->name);
		gvk_expect_stamps(test, v, nr);
		gup_vec_unpin(&v->vec, false);

		/* The pages now mapped are those, as the reference sees */
		gvk_check(test, fl, start, nr, FOLL_WRITE | FOLL_LONGTERM);
		gvk_unmap(test, &area);
	}
}

/*
 * FOLL_LONGTERM refuses pages of a MIGRATE_ISOLATE pageblock, as it refuses
 * MIGRATE_CMA ones: the pin migrates them out first. The vector walker asks
 * once per pageblock of a PTE table (struct gup_pageblock in mm/gup.c), so
 * the case isolates a pageblock that the region enters inside a table, right
 * after a page that may be pinned long term where it is: no page the pin
 * records may lie in the isolated pageblock, and the pages keep their
 * contents. The short-term pins hold the pages in place until the vector pin
 * (isolation ignores them). It skips if no such pageblock can be isolated
 * (one holding unmovable pages cannot). While it runs, an alloc_contig_range()
 * or memory offlining of that pageblock elsewhere fails with -EBUSY.
 */
#ifdef CONFIG_CMA
struct gvk_isolated {
	unsigned long pfn;
};

static void gvk_unisolate(void *data)
{
	struct gvk_isolated *iso = data;

	undo_isolate_page_range(iso->pfn, iso->pfn + pageblock_nr_pages);
}

static bool gvk_pfn_in_block(unsigned long pfn, unsigned long block_pfn)
{
	return pageblock_start_pfn(pfn) == block_pfn;
}

/* Pages @v recorded in the pageblock that starts at @block_pfn */
static unsigned long gvk_vec_pages_in_block(struct gvk_vec *v,
					    unsigned long block_pfn)
{
	return gvk_vec_count_pages(v, gvk_pfn_in_block, block_pfn);
}

/* Whether page @i of @pages enters, inside a table, a pageblock to isolate */
static bool gvk_block_candidate(struct page **pages, unsigned long i)
{
	unsigned long pfn = page_to_pfn(pages[i]);

	return i % PTRS_PER_PTE &&
	       pageblock_start_pfn(pfn) !=
	       pageblock_start_pfn(page_to_pfn(pages[i - 1])) &&
	       folio_is_longterm_pinnable(page_folio(pages[i - 1]));
}

static void gvk_test_longterm_isolated(struct kunit *test)
{
	const unsigned long len = min_t(unsigned long, 4 * PMD_SIZE, SZ_8M);
	const unsigned long nr = len >> PAGE_SHIFT;
	struct gvk_isolated *iso;
	unsigned long start, i;
	struct gvk_area area;
	struct page **pages;
	struct gvk_vec *v;
	int ret = -EBUSY;
	long pinned;

	start = gvk_setup(test, &area, GVK_ANON, len, GVK_RW, true);
	gvk_write_stamps(test, start, nr);
	pages = kunit_kcalloc(test, nr, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	iso = kunit_kzalloc(test, sizeof(*iso), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, iso);
	v = gvk_vec_alloc(test, gvk_bufs_for(nr));

	pinned = pin_user_pages_fast(start, nr, FOLL_WRITE, pages);
	if (pinned != (long)nr) {
		if (pinned > 0)
			unpin_user_pages(pages, pinned);
		KUNIT_FAIL(test, "pin_user_pages_fast: %ld of %lu", pinned, nr);
		return;
	}
	for (i = 1; i < nr && ret; i++) {
		if (!gvk_block_candidate(pages, i))
			continue;
		iso->pfn = pageblock_start_pfn(page_to_pfn(pages[i]));
		ret = start_isolate_page_range(iso->pfn,
					       iso->pfn + pageblock_nr_pages,
					       PB_ISOLATE_MODE_OTHER);
	}
	unpin_user_pages(pages, nr);
	if (ret)
		kunit_skip(test, "no pageblock entered inside a table could be isolated");
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gvk_unisolate, iso),
			0);

	KUNIT_ASSERT_EQ(test, pin_user_pages_vec(start, nr,
						 FOLL_WRITE | FOLL_LONGTERM,
						 &v->vec), (long)nr);
	KUNIT_EXPECT_EQ_MSG(test, gvk_vec_pages_in_block(v, iso->pfn), 0,
			    "FOLL_LONGTERM pinned pages of an isolated pageblock (page %lu entered it)",
			    i - 1);
	gvk_expect_stamps(test, v, nr);
	gup_vec_unpin(&v->vec, false);
	gvk_unmap(test, &area);
}
#else
static void gvk_test_longterm_isolated(struct kunit *test)
{
	kunit_skip(test, "no CONFIG_CMA: no pageblock refuses a long-term pin");
}
#endif

/*
 * GUP-fast pauses a vector walk after 8 PTE tables to bound the time it
 * runs with interrupts off (GUP_FAST_VEC_BUDGET in mm/gup.c), and goes on:
 * a call over several times that, starting and ending inside a table, into
 * output that holds it all, still pins the whole range in one call, with
 * the reference's extents and pins.
 */
static void gvk_test_long_walk(struct kunit *test)
{
	const unsigned long len = 24 * PMD_SIZE;
	unsigned long nr = gvk_inner_pages(len);
	struct gvk_area area;
	unsigned long start;

	if (PMD_SIZE > SZ_2M)
		kunit_skip(test, "24 PMDs of %lu bytes are too much memory",
			   PMD_SIZE);
	start = gvk_setup(test, &area, GVK_ANON, len, GVK_RW, true) +
		GVK_HEAD_BYTES;
	KUNIT_EXPECT_EQ(test, gvk_check(test, GVK_FAST, start, nr, FOLL_WRITE),
			(long)nr);
	gvk_unmap(test, &area);
}

/*
 * A GUP-fast stretch that loses the fork race (write_protect_seq) unpins
 * what it recorded, rewinds the vec to where the stretch began and ends
 * the fast walk; the slow walk pins the rest. The test-only fault point
 * gup_fast_vec_race_at (mm/gup.c) makes the Nth stretch of a vector walk
 * lose it: the first, so that nothing is kept from the fast walk, then the
 * second, so that the first stretch's extents are kept and the rewind
 * lands between stretches (shrinking the pending extent back, if the lost
 * stretch grew it). Either
 * way the call pins the range with the reference's extents and pins, and
 * any pin the rewind dropped twice or not at all shows in the pin counts.
 */
static void gvk_race_off(void *unused)
{
	atomic_set(&gup_fast_vec_race_at, 0);
}

/*
 * NR_FOLL_PIN_ACQUIRED - NR_FOLL_PIN_RELEASED over every node, per-CPU
 * deltas not yet folded included. Read until two reads agree, so that a
 * delta folded between the reads of it and of its node is not missed.
 */
static long gvk_pins_held(void)
{
	long prev, n = LONG_MIN;
	struct pglist_data *pgdat;
	int cpu;

	do {
		prev = n;
		n = 0;
		for_each_online_pgdat(pgdat) {
			n += atomic_long_read(&pgdat->vm_stat[NR_FOLL_PIN_ACQUIRED]) -
			     atomic_long_read(&pgdat->vm_stat[NR_FOLL_PIN_RELEASED]);
			for_each_online_cpu(cpu) {
				struct per_cpu_nodestat *p =
					per_cpu_ptr(pgdat->per_cpu_nodestats, cpu);

				n += p->vm_node_stat_diff[NR_FOLL_PIN_ACQUIRED] -
				     p->vm_node_stat_diff[NR_FOLL_PIN_RELEASED];
			}
		}
	} while (n != prev);
	return n;
}

static void gvk_test_fork_race(struct kunit *test)
{
	const unsigned long len = 24 * PMD_SIZE;
	unsigned long nr = gvk_inner_pages(len);
	struct gvk_area area;
	unsigned long start;
	long held;
	int at, ret;

	/* Only GUP-fast's PTE walker (pte_special()) walks in stretches */
	if (!IS_ENABLED(CONFIG_HAVE_GUP_FAST) ||
	    !IS_ENABLED(CONFIG_ARCH_HAS_PTE_SPECIAL))
		kunit_skip(test, "no GUP-fast PTE walker on this architecture");
	if (PMD_SIZE > SZ_2M)
		kunit_skip(test, "24 PMDs of %lu bytes are too much memory",
			   PMD_SIZE);
	ret = kunit_add_action_or_reset(test, gvk_race_off, NULL);
	KUNIT_ASSERT_EQ(test, ret, 0);

	for (at = 1; at <= 2; at++) {
		start = gvk_setup(test, &area, GVK_ANON, len, GVK_RW, true) +
			GVK_HEAD_BYTES;
		held = gvk_pins_held();
		atomic_set(&gup_fast_vec_race_at, at);
		KUNIT_EXPECT_EQ(test, gvk_check(test, GVK_FAST, start, nr,
						FOLL_WRITE), (long)nr);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&gup_fast_vec_race_at), 0,
				    "stretch %d was never walked", at);
		atomic_set(&gup_fast_vec_race_at, 0);
		/* Every pin counted acquired, the dropped ones released */
		KUNIT_EXPECT_EQ(test, gvk_pins_held(), held);
		gvk_unmap(test, &area);
	}
}

/*
 * pin_user_pages_fast() and pin_user_pages_remote() take an address inside a
 * page, and so do the packed pins: the same pages, the same extents, and a
 * call with room for one table still ends on a PMD boundary.
 */
static void gvk_test_unaligned_start(struct kunit *test)
{
	const unsigned long len = 4 * PMD_SIZE;
	unsigned long nr = gvk_inner_pages(len);
	const struct gvk_flavour *fl;
	struct gvk_area area;
	unsigned long start;
	struct gvk_ref *ref;
	struct gvk_walk *w;

	for (fl = gvk_flavours; fl->pin; fl++) {
		start = gvk_setup(test, &area, GVK_ANON, len, GVK_RW, true) +
			GVK_HEAD_BYTES + 0x10;
		w = gvk_walk(test, fl, start, nr, FOLL_WRITE, 1);
		ref = gvk_ref_pin(test, fl, start, nr, FOLL_WRITE);
		KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
		gvk_walk_expect(test, w, ref, fl->name);
		gvk_ref_release(test, ref);
		gvk_unmap(test, &area);
	}
}

/* Errors and short pins */

#define GVK_HOLE	(~0UL)
#define GVK_ERR_PAGES	16

struct gvk_err_case {
	const char *desc;
	unsigned long prot[2];	/* of two neighbouring areas; or GVK_HOLE */
	unsigned int gup_flags;
	unsigned long nr_pages;	/* from the start of the first, or @skip */
	long want;		/* what the reference returns */
	unsigned long skip;	/* pages into the first area to start at */
};

static const struct gvk_err_case gvk_err_cases[] = {
	{ "unmapped", { GVK_HOLE, GVK_HOLE }, FOLL_WRITE, 32, -EFAULT },
	{ "prot_none", { PROT_NONE, PROT_NONE }, 0, 32, -EFAULT },
	{ "hole_then_mapped", { GVK_HOLE, GVK_RW }, FOLL_WRITE, 32, -EFAULT },
	{ "mapped_then_hole", { GVK_RW, GVK_HOLE }, FOLL_WRITE, 32, 16 },
	{ "mapped_then_prot_none", { GVK_RW, PROT_NONE }, 0, 32, 16 },
	{ "write_read_only", { PROT_READ, PROT_READ }, FOLL_WRITE, 32,
	  -EFAULT },
	{ "write_then_read_only", { GVK_RW, PROT_READ }, FOLL_WRITE, 32, 16 },
	{ "read_read_only", { PROT_READ, PROT_READ }, 0, 32, 32 },
	{ "no_pages", { GVK_RW, GVK_RW }, FOLL_WRITE, 0, 0 },
	/* One or two pages take the page array walker (gvk_test_one_page()) */
	{ "one_unmapped", { GVK_HOLE, GVK_RW }, FOLL_WRITE, 1, -EFAULT },
	{ "one_prot_none", { PROT_NONE, GVK_RW }, 0, 1, -EFAULT },
	{ "one_write_read_only", { PROT_READ, GVK_RW }, FOLL_WRITE, 1,
	  -EFAULT },
	{ "one_read_read_only", { PROT_READ, GVK_RW }, 0, 1, 1 },
	/* So do two pages */
	{ "two_unmapped", { GVK_HOLE, GVK_RW }, FOLL_WRITE, 2, -EFAULT },
	{ "two_prot_none", { PROT_NONE, GVK_RW }, 0, 2, -EFAULT },
	{ "two_mapped_then_prot_none", { GVK_RW, PROT_NONE }, 0, 2, 1,
	  GVK_ERR_PAGES - 1 },
	{ "two_write_read_only", { PROT_READ, GVK_RW }, FOLL_WRITE, 2,
	  -EFAULT },
	{ "two_mapped_then_hole", { GVK_RW, GVK_HOLE }, FOLL_WRITE, 2, 1,
	  GVK_ERR_PAGES - 1 },
	{ "two_hole_then_mapped", { GVK_HOLE, GVK_RW }, FOLL_WRITE, 2,
	  -EFAULT, GVK_ERR_PAGES - 1 },
	{ "two_write_then_read_only", { GVK_RW, PROT_READ }, FOLL_WRITE, 2, 1,
	  GVK_ERR_PAGES - 1 },
	{ "two_read_read_only", { PROT_READ, GVK_RW }, 0, 2, 2 },
};

KUNIT_ARRAY_PARAM_DESC(gvk_err, gvk_err_cases, desc);

/*
 * A request of one or two pages (GUP_VEC_SMALL) is pinned through the page
 * array walkers and recorded as the vector walker would have read it off
 * the leaves (gup_vec_add_pinned() in mm/gup.c), into a vector that may
 * already hold extents. At the edges and inside of a leaf or PTE table:
 * faulted in by the call, one page records the page that the reference
 * then pins; once populated, read-only, writable and long term, one page
 * and two pages record what the reference pins, with the same pins (the
 * pair across the first leaf or table boundary included). A read of an
 * untouched page records what the reference does (the zero page, for
 * anonymous memory). Two one-page calls for neighbouring pages into one vec
 * record two extents, adjacent where the pages are: each call ends with
 * gup_vec_finish().
 */
static void gvk_test_one_page(struct kunit *test)
{
	static const unsigned int gup_flags[] = {
		FOLL_WRITE, 0, FOLL_WRITE | FOLL_LONGTERM,
	};
	const struct gvk_backing *b = test->param_value;
	unsigned long len = gvk_size(b->kind), nr = len >> PAGE_SHIFT;
	unsigned long leaf = gvk_leaf_size(b->kind) >> PAGE_SHIFT;
	unsigned long t = max(leaf, PMD_SIZE >> PAGE_SHIFT);
	/* The first leaf or table at its edges and inside, the next, the last */
	const unsigned long at[] = {
		0, 1, t / 2, t - 1, min(t, nr - 2), nr - 1,
	};
	const struct gvk_flavour *fl;
	struct gup_vec_iter it[2];
	struct gvk_area area;
	struct gvk_ref *ref;
	struct gvk_vec *v;
	unsigned long addr;
	unsigned int i, f;
	long held;

	for (fl = gvk_flavours; fl->pin; fl++) {
		addr = gvk_setup(test, &area, b->kind, len, GVK_RW, false);
		v = gvk_vec_alloc(test, 1);
		held = gvk_pins_held();
		KUNIT_EXPECT_EQ(test, gvk_check(test, fl, addr + 2 * PAGE_SIZE, 1,
						0), 1);
		for (i = 0; i < ARRAY_SIZE(at); i++) {
			KUNIT_ASSERT_EQ_MSG(test, fl->pin(addr + at[i] * PAGE_SIZE,
							  1, FOLL_WRITE, &v->vec),
					    1, "%s: page %lu", fl->name, at[i]);
			KUNIT_EXPECT_EQ(test, gup_vec_nr_extents(&v->vec), i + 1);
		}
		/* What each call faulted in is what the reference pins */
		ref = gvk_ref_pin(test, GVK_FAST, addr, nr, FOLL_WRITE);
		KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
		gup_vec_iter_init(&it[0], &v->vec);
		for (i = 0; i < ARRAY_SIZE(at); i++) {
			KUNIT_ASSERT_TRUE(test, gup_vec_iter_next(&it[0]));
			KUNIT_EXPECT_EQ(test, it[0].npages, 1);
			KUNIT_EXPECT_EQ_MSG(test, it[0].pfn,
					    page_to_pfn(ref->pages[at[i]]),
					    "%s: page %lu", fl->name, at[i]);
		}
		gvk_ref_release(test, ref);
		KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, false),
				ARRAY_SIZE(at));
		KUNIT_EXPECT_EQ(test, gvk_pins_held(), held);

		for (f = 0; f < ARRAY_SIZE(gup_flags); f++)
			for (i = 0; i < ARRAY_SIZE(at); i++)
				KUNIT_EXPECT_EQ_MSG(test,
						    gvk_check(test, fl,
							      addr + at[i] * PAGE_SIZE,
							      1, gup_flags[f]),
						    1, "%s: page %lu, flags %#x",
						    fl->name, at[i], gup_flags[f]);
		/* Two pages from each place but the last page */
		for (f = 0; f < ARRAY_SIZE(gup_flags); f++) {
			for (i = 0; i < ARRAY_SIZE(at); i++) {
				if (at[i] + 1 >= nr)
					continue;
				KUNIT_EXPECT_EQ_MSG(test,
						    gvk_check(test, fl,
							      addr + at[i] * PAGE_SIZE,
							      2, gup_flags[f]),
						    2, "%s: pages %lu-%lu, flags %#x",
						    fl->name, at[i], at[i] + 1,
						    gup_flags[f]);
			}
		}

		/* Neighbours: two extents, never merged across the calls */
		KUNIT_ASSERT_EQ(test, fl->pin(addr + PAGE_SIZE, 1, FOLL_WRITE,
					      &v->vec), 1);
		KUNIT_ASSERT_EQ(test, fl->pin(addr + 2 * PAGE_SIZE, 1, FOLL_WRITE,
					      &v->vec), 1);
		KUNIT_EXPECT_EQ(test, gup_vec_nr_extents(&v->vec), 2);
		KUNIT_EXPECT_EQ(test, gup_vec_nr_pages(&v->vec), 2);
		gup_vec_iter_init(&it[0], &v->vec);
		KUNIT_ASSERT_TRUE(test, gup_vec_iter_next(&it[0]));
		it[1] = it[0];
		KUNIT_ASSERT_TRUE(test, gup_vec_iter_next(&it[1]));
		KUNIT_EXPECT_EQ(test, gup_vec_nr_adjacent(&v->vec),
				it[1].pfn == it[0].pfn + 1 ? 1 : 0);
		/* Pages of one leaf (THP may have fallen back to small folios) */
		if (leaf > 2 && folio_test_large(pfn_folio(it[0].pfn)))
			KUNIT_EXPECT_EQ_MSG(test, gup_vec_nr_adjacent(&v->vec), 1,
					    "%s: pages of one leaf", fl->name);
		KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, false), 2);
		KUNIT_EXPECT_EQ(test, gvk_pins_held(), held);
		gvk_unmap(test, &area);
	}
}

/* The packed pin fails, or pins short, as its reference does */
static void gvk_test_errors(struct kunit *test)
{
	const struct gvk_err_case *e = test->param_value;
	const unsigned long piece = GVK_ERR_PAGES * PAGE_SIZE;
	const struct gvk_flavour *fl;
	struct gvk_area area;
	unsigned long addr;
	unsigned int i;

	gvk_reserve(test, &area, 2 * piece, PMD_SIZE);
	for (i = 0; i < ARRAY_SIZE(e->prot); i++) {
		addr = area.addr + i * piece;
		if (e->prot[i] == GVK_HOLE) {
			KUNIT_ASSERT_EQ(test, vm_munmap(addr, piece), 0);
			continue;
		}
		gvk_map(test, GVK_ANON, addr, piece, e->prot[i]);
		if (e->prot[i] != PROT_NONE)
			gvk_populate(test, addr, piece);
	}
	for (fl = gvk_flavours; fl->pin; fl++)
		KUNIT_EXPECT_EQ_MSG(test, gvk_check(test, fl, area.addr +
						    e->skip * PAGE_SIZE,
						    e->nr_pages, e->gup_flags),
				    e->want, "%s reference", fl->name);
	gvk_unmap(test, &area);
}

/* Addresses beyond user space */
static void gvk_test_beyond_user(struct kunit *test)
{
	unsigned long kernel = (unsigned long)test & PAGE_MASK;
	const struct gvk_flavour *fl;

	KUNIT_ASSERT_EQ(test, kunit_attach_mm(), 0);
	for (fl = gvk_flavours; fl->pin; fl++) {
		KUNIT_EXPECT_EQ(test, gvk_check(test, fl, kernel, 1, 0),
				-EFAULT);
		KUNIT_EXPECT_EQ(test, gvk_check(test, fl,
						TASK_SIZE_MAX - PAGE_SIZE, 2,
						0), -EFAULT);
	}
}

/* A vec with no buffers pins nothing and says so */
static void gvk_test_no_room(struct kunit *test)
{
	const unsigned long nr = 8;
	const struct gvk_flavour *fl;
	struct gvk_count *before;
	struct gvk_pins *pins;
	struct gvk_area area;
	struct gvk_ref *ref;
	struct gvk_vec *v;
	unsigned long addr;

	addr = gvk_setup(test, &area, GVK_ANON, PMD_SIZE, GVK_RW, true);
	ref = gvk_ref_pin(test, GVK_FAST, addr, nr, FOLL_WRITE);
	KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
	pins = gvk_pins_of(test, ref);
	before = gvk_pins_read(test, pins);
	v = gvk_vec_alloc(test, 0);
	for (fl = gvk_flavours; fl->pin; fl++) {
		KUNIT_EXPECT_EQ_MSG(test, fl->pin(addr, nr, FOLL_WRITE, &v->vec),
				    -ENOSPC, "%s", fl->name);
		KUNIT_EXPECT_EQ_MSG(test, fl->pin(addr, 1, FOLL_WRITE, &v->vec),
				    -ENOSPC, "%s of one page", fl->name);
	}
	KUNIT_EXPECT_EQ(test, gup_vec_nr_pages(&v->vec), 0);
	gvk_pins_expect(test, pins, before, gvk_pins_read(test, pins), 0);
	gvk_ref_release(test, ref);
	gvk_unmap(test, &area);
}

/*
 * A vec with one free word could take a page that does not merge, but not
 * a leaf: a request fails with -ENOSPC whatever its size, one page (which
 * takes the page array walker) included, and pins nothing. With two free
 * words one page pins, and so do two (GUP_VEC_SMALL): pages 1 and 2 of a
 * THP merge into a run at an odd PFN, a PFN word and a size word, and two
 * pages that do not merge take a word each. The words are taken by zero
 * pages, one each.
 */
static void gvk_test_one_free_word(struct kunit *test)
{
	const unsigned long fill = GUP_VEC_WORDS - 1;
	struct gvk_area zero_area, area, pair_area;
	unsigned long zero_addr, addr, pair;
	const struct gvk_flavour *fl;
	struct gvk_ref *zero, *ref;
	struct gup_vec_iter it;
	struct gvk_vec *v;
	unsigned int i;
	bool merge;
	long held;

	zero_addr = gvk_setup(test, &zero_area, GVK_ANON, PMD_SIZE, PROT_READ,
			      true);
	zero = gvk_ref_pin(test, GVK_FAST, zero_addr, fill, 0);
	KUNIT_ASSERT_EQ(test, zero->nr_pinned, (long)fill);
	KUNIT_ASSERT_TRUE(test, is_zero_page(zero->pages[0]));
	addr = gvk_setup(test, &area, GVK_ANON, PMD_SIZE, GVK_RW, true);
	/* A THP if there is one; else 4K pages, which may not merge */
	pair = gvk_setup(test, &pair_area, IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) ?
			 GVK_THP : GVK_ANON, PMD_SIZE, GVK_RW, true);
	ref = gvk_ref_pin(test, GVK_FAST, pair, 3, FOLL_WRITE);
	KUNIT_ASSERT_EQ(test, ref->nr_pinned, 3);
	merge = page_to_pfn(ref->pages[2]) == page_to_pfn(ref->pages[1]) + 1;

	for (fl = gvk_flavours; fl->pin; fl++) {
		v = gvk_vec_alloc(test, 1);
		KUNIT_ASSERT_EQ(test, fl->pin(zero_addr, fill, 0, &v->vec),
				(long)fill);
		held = gvk_pins_held();
		KUNIT_EXPECT_EQ_MSG(test, fl->pin(addr, 1, FOLL_WRITE, &v->vec),
				    -ENOSPC, "%s of one page", fl->name);
		KUNIT_EXPECT_EQ_MSG(test, fl->pin(addr, 2, FOLL_WRITE, &v->vec),
				    -ENOSPC, "%s of two pages", fl->name);
		KUNIT_EXPECT_EQ(test, gvk_pins_held(), held);
		KUNIT_EXPECT_EQ(test, gup_vec_nr_extents(&v->vec), fill);
		KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, false), fill);

		KUNIT_ASSERT_EQ(test, fl->pin(zero_addr, fill - 1, 0, &v->vec),
				(long)fill - 1);
		KUNIT_EXPECT_EQ_MSG(test, fl->pin(addr, 1, FOLL_WRITE, &v->vec),
				    1, "%s of one page, two words free",
				    fl->name);
		KUNIT_EXPECT_EQ(test, gup_vec_nr_extents(&v->vec), fill);
		KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, false), fill);

		KUNIT_ASSERT_EQ(test, fl->pin(zero_addr, fill - 1, 0, &v->vec),
				(long)fill - 1);
		KUNIT_EXPECT_EQ_MSG(test, fl->pin(pair + PAGE_SIZE, 2, FOLL_WRITE,
						  &v->vec),
				    2, "%s of two pages, two words free",
				    fl->name);
		KUNIT_EXPECT_EQ(test, gup_vec_nr_pages(&v->vec), fill + 1);
		gup_vec_iter_init(&it, &v->vec);
		for (i = 0; i < fill - 1; i++)
			KUNIT_ASSERT_TRUE(test, gup_vec_iter_next(&it));
		for (i = 1; i < 3; i += it.npages) {
			KUNIT_ASSERT_TRUE(test, gup_vec_iter_next(&it));
			KUNIT_EXPECT_EQ_MSG(test, it.pfn,
					    page_to_pfn(ref->pages[i]),
					    "%s: page %u", fl->name, i);
			KUNIT_EXPECT_EQ(test, it.npages,
					i == 1 && merge ? 2 : 1);
		}
		KUNIT_EXPECT_FALSE(test, gup_vec_iter_next(&it));
		KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, false), fill + 1);
		KUNIT_EXPECT_EQ(test, gvk_pins_held(), held);
	}
	gvk_ref_release(test, ref);
	gvk_ref_release(test, zero);
	gvk_unmap(test, &pair_area);
	gvk_unmap(test, &area);
	gvk_unmap(test, &zero_area);
}

/* Scatterlists */

KUNIT_DEFINE_ACTION_WRAPPER(gvk_sg_free, sg_free_append_table,
			    struct sg_append_table *);

static struct sg_append_table *gvk_sg_alloc(struct kunit *test)
{
	struct sg_append_table *sgt = kunit_kzalloc(test, sizeof(*sgt),
						    GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, sgt);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gvk_sg_free, sgt),
			0);
	return sgt;
}

static void gvk_expect_sg_eq(struct kunit *test, struct sg_append_table *got,
			     struct sg_append_table *want)
{
	struct scatterlist *g = got->sgt.sgl, *w = want->sgt.sgl;
	unsigned int i;

	KUNIT_EXPECT_EQ(test, got->sgt.nents, want->sgt.nents);
	KUNIT_EXPECT_EQ(test, got->sgt.orig_nents, want->sgt.orig_nents);
	KUNIT_EXPECT_EQ(test, got->total_nents, want->total_nents);
	for (i = 0; g && w; i++, g = sg_next(g), w = sg_next(w)) {
		if (sg_page(g) == sg_page(w) && g->offset == w->offset &&
		    g->length == w->length && sg_is_last(g) == sg_is_last(w))
			continue;
		KUNIT_FAIL(test,
			   "sg entry %u: pfn %#lx offset %u length %u last %d, want pfn %#lx offset %u length %u last %d",
			   i, page_to_pfn(sg_page(g)), g->offset, g->length,
			   sg_is_last(g), page_to_pfn(sg_page(w)), w->offset,
			   w->length, sg_is_last(w));
		return;
	}
	KUNIT_EXPECT_TRUE_MSG(test, !g && !w, "%s has more entries",
			      g ? "the vec's table" : "the reference table");
}

/*
 * Append the pages of the reference's range to two sg tables call by call:
 * with gup_vec_append_sg() from what each pin_user_pages_vec() call into
 * @nr_bufs buffers recorded, and with sg_alloc_append_table_from_pages()
 * from the reference's pages of the same call.
 */
static void gvk_check_sg(struct kunit *test, const struct gvk_ref *ref,
			 unsigned long start, unsigned int max_segment,
			 unsigned int nr_bufs)
{
	struct sg_append_table *got = gvk_sg_alloc(test);
	struct sg_append_table *want = gvk_sg_alloc(test);
	struct gvk_vec *v = gvk_vec_alloc(test, nr_bufs);
	unsigned long nr_pages = ref->nr_pinned, done = 0, left;
	long ret;
	int err;

	while (done < nr_pages) {
		ret = pin_user_pages_vec(start + done * PAGE_SIZE,
					 nr_pages - done, FOLL_WRITE, &v->vec);
		KUNIT_ASSERT_GT(test, ret, 0);
		left = nr_pages - done - ret;
		err = gup_vec_append_sg(&v->vec, got, max_segment, left,
					GFP_KERNEL);
		KUNIT_ASSERT_EQ(test, err, 0);
		err = sg_alloc_append_table_from_pages(want, ref->pages + done,
						       ret, 0, ret << PAGE_SHIFT,
						       max_segment, left,
						       GFP_KERNEL);
		KUNIT_ASSERT_EQ(test, err, 0);
		KUNIT_EXPECT_EQ(test, gup_vec_unpin(&v->vec, false), ret);
		done += ret;
	}
	gvk_expect_sg_eq(test, got, want);
	kunit_release_action(test, gvk_sg_free, got);
	kunit_release_action(test, gvk_sg_free, want);
}

/* gup_vec_append_sg() builds what sg_alloc_append_table_from_pages() does */
static void gvk_test_sg(struct kunit *test)
{
	static const unsigned int max_segments[] = { SZ_64K, UINT_MAX };
	const struct gvk_backing *b = test->param_value;
	unsigned long len = gvk_size(b->kind);
	unsigned long nr = gvk_inner_pages(len);
	struct gvk_area area;
	unsigned long start;
	struct gvk_ref *ref;
	unsigned int i;

	start = gvk_setup(test, &area, b->kind, len, GVK_RW, true) +
		GVK_HEAD_BYTES;
	ref = gvk_ref_pin(test, GVK_FAST, start, nr, FOLL_WRITE);
	KUNIT_ASSERT_EQ(test, ref->nr_pinned, (long)nr);
	for (i = 0; i < ARRAY_SIZE(max_segments); i++) {
		gvk_check_sg(test, ref, start, max_segments[i], 1);
		gvk_check_sg(test, ref, start, max_segments[i],
			     gvk_bufs_for(nr));
	}
	gvk_ref_release(test, ref);
	/* One page, the first append of one extent */
	ref = gvk_ref_pin(test, GVK_FAST, start, 1, FOLL_WRITE);
	KUNIT_ASSERT_EQ(test, ref->nr_pinned, 1);
	gvk_check_sg(test, ref, start, SZ_64K, 1);
	gvk_ref_release(test, ref);
	gvk_unmap(test, &area);
}

static struct kunit_case gvk_cases[] = {
	KUNIT_CASE_PARAM(gvk_test_extents, gvk_backing_gen_params),
	KUNIT_CASE_PARAM(gvk_test_fault_in, gvk_backing_gen_params),
	KUNIT_CASE_PARAM(gvk_test_output_sizes, gvk_backing_gen_params),
	KUNIT_CASE_PARAM(gvk_test_stop_rule, gvk_pte_backing_gen_params),
	KUNIT_CASE_PARAM(gvk_test_one_buffer_huge, gvk_leaf_backing_gen_params),
	KUNIT_CASE_PARAM(gvk_test_nearly_full, gvk_backing_gen_params),
	KUNIT_CASE(gvk_test_neighbours),
	KUNIT_CASE(gvk_test_zero_page),
	KUNIT_CASE(gvk_test_long_walk),
	KUNIT_CASE(gvk_test_fork_race),
	KUNIT_CASE(gvk_test_unaligned_start),
	KUNIT_CASE_PARAM(gvk_test_one_page, gvk_backing_gen_params),
	KUNIT_CASE_PARAM(gvk_test_longterm, gvk_backing_gen_params),
	KUNIT_CASE_PARAM(gvk_test_longterm_movable,
			 gvk_movable_backing_gen_params),
	KUNIT_CASE(gvk_test_longterm_isolated),
	KUNIT_CASE_PARAM(gvk_test_errors, gvk_err_gen_params),
	KUNIT_CASE(gvk_test_beyond_user),
	KUNIT_CASE(gvk_test_no_room),
	KUNIT_CASE(gvk_test_one_free_word),
	KUNIT_CASE_PARAM(gvk_test_sg, gvk_backing_gen_params),
	{}
};

static struct kunit_suite gvk_suite = {
	.name = "gup_vec",
	.test_cases = gvk_cases,
};

kunit_test_suite(gvk_suite);

MODULE_DESCRIPTION("KUnit tests for the packed pin");
MODULE_LICENSE("GPL");
