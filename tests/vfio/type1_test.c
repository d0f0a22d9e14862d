// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO type1 (v2) correctness test, proven by DMA.
 *
 * Drives QEMU's edu device (PCI 1234:11e8) behind the emulated intel-iommu
 * through the legacy container/group uAPI: every mapping is checked by making
 * the device read user memory through the IOMMU (RAM->EDU) and write it back
 * elsewhere (EDU->RAM), then comparing bytes in user memory. Each case also
 * checks the pins (nr_foll_pin_acquired - nr_foll_pin_released, read
 * in-process) and the mm's locked_vm (VmLck, which type1 charges) while mapped
 * and after unmap.
 *
 * With a second edu device in its own IOMMU group (-D BDF2 -G GROUP2), the
 * multi-* cases attach both groups to one container: DMA through both
 * devices, unmap stopping both, and an attach replaying existing mappings.
 *
 * Usage: type1_test -d BDF -g GROUP [-D BDF2 -G GROUP2] [CASE-PREFIX...]
 * Prints "ok - NAME", "not ok - NAME", "skip - NAME: why" and "# " notes.
 * "# expect-dmar-fault 0xIOVA" names the page a deliberately faulting DMA
 * targets, so that a wrapper can tell expected DMAR faults from others;
 * "# allow-dmar-fault 0xIOVA" one whose fault QEMU may not report (a write to
 * a read-only IOMMU entry it has cached is dropped silently).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "pinbal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT)
#endif

#define SZ_4K	0x1000UL
#define SZ_64K	0x10000UL
#define SZ_2M	0x200000UL
#define SZ_4M	0x400000UL
#define SZ_8M	0x800000UL
#define SZ_16M	0x1000000UL
#define SZ_64M	0x4000000UL
#define SZ_512M	0x20000000UL
#define SZ_1G	0x40000000UL

#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((a) - 1))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define RW	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

enum { PASS = 0, FAIL = 1, SKIP = 77 };

/* ------------------------------------------------------------------ */
/* Reporting                                                           */

static char skip_why[256];

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}

static int skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skip_why, sizeof(skip_why), fmt, ap);
	va_end(ap);
	return SKIP;
}

#define EXPECT(cond, fmt, ...) do {					\
	if (!(cond)) {							\
		note("%s:%d: " fmt, __func__, __LINE__, ##__VA_ARGS__);	\
		return FAIL;						\
	}								\
} while (0)

static const char *errname(int err)
{
	const char *s = err ? strerrorname_np(err) : "0";

	return s ? s : "?";
}

/* A call returning 0 or -errno must return exactly -@err. */
#define EXPECT_ERR(call, err) do {					\
	int __r = (call);						\
	EXPECT(__r == -(err), "%s = %s, want %s", #call, errname(-__r),	\
	       errname(err));						\
} while (0)

#define TRY(call) do {							\
	int __r = (call);						\
	if (__r != PASS)						\
		return __r;						\
} while (0)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ */
/* Deterministic patterns                                              */

static uint64_t rng_state;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static void rng_seed(const char *name)
{
	rng_state = 0x7e57c0de;
	while (*name)
		rng_state = rng_state * 131 + (unsigned char)*name++;
}

/* Every fill gets a key never used before: its bytes appear nowhere else. */
static uint32_t new_key(void)
{
	static uint32_t last;

	return ++last;
}

static void pattern_fill(uint8_t *p, size_t len, uint32_t key)
{
	uint64_t x = key, v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i & 7))
			v = splitmix64(&x);
		p[i] = v >> (8 * (i & 7));
	}
}

/* Index of the first byte that differs from pattern @key, or -1. */
static long pattern_mismatch(const uint8_t *p, size_t len, uint32_t key)
{
	uint8_t want[4096];
	size_t i;

	pattern_fill(want, len, key);
	for (i = 0; i < len; i++)
		if (p[i] != want[i])
			return i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Accounting: pins and locked_vm                                      */

static long vmlck_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

struct acct {
	struct pinbal pins;
	long vmlck_kb;
};

static int acct_snap(struct acct *a)
{
	a->vmlck_kb = vmlck_kb();
	EXPECT(!pinbal_read(&a->pins) && a->vmlck_kb >= 0,
	       "cannot read /proc/vmstat or VmLck");
	return PASS;
}

/* Since @a: @pages pages more are pinned and @bytes more are locked. */
static int acct_expect(const struct acct *a, uint64_t pages, uint64_t bytes,
		       const char *when)
{
	long long dpins = pinbal_delta(&a->pins);
	long dkb = vmlck_kb() - a->vmlck_kb;

	EXPECT(dpins == (long long)pages && dkb == (long)(bytes >> 10),
	       "%s: pins %+lld (want %+" PRIu64 "), VmLck %+ld kB (want %+" PRIu64 " kB)",
	       when, dpins, pages, dkb, bytes >> 10);
	return PASS;
}

/* Pinned and charged: type1 pins and charges every page it maps. */
static int acct_expect_mapped(const struct acct *a, uint64_t bytes,
			      const char *when)
{
	return acct_expect(a, bytes / SZ_4K, bytes, when);
}

/* ------------------------------------------------------------------ */
/* Resources released after each case                                  */

static struct { void *p; size_t len; } maps[16];
static int nmaps;
static int fds[16];
static int nfds;

static void *track_map(void *p, size_t len)
{
	if (p == MAP_FAILED)
		return NULL;
	if (nmaps == ARRAY_SIZE(maps)) {
		munmap(p, len);
		return NULL;
	}
	maps[nmaps].p = p;
	maps[nmaps++].len = len;
	return p;
}

static int track_fd(int fd)
{
	if (fd >= 0 && nfds < (int)ARRAY_SIZE(fds))
		fds[nfds++] = fd;
	return fd;
}

static void release_all(void)
{
	while (nmaps) {
		nmaps--;
		munmap(maps[nmaps].p, maps[nmaps].len);
	}
	while (nfds)
		close(fds[--nfds]);
}

/* ------------------------------------------------------------------ */
/* VFIO container, group, device                                       */

static struct {
	int container, group, device;
	volatile uint8_t *bar0;
	size_t bar0_size;
	uint64_t pgsizes;
	struct vfio_iova_range ranges[16];
	unsigned int nranges;
	bool have_dirty;
} vf = { .container = -1, .group = -1, .device = -1 };

/* BAR0 of the edu that edu_*() drive: device A's unless a case switches. */
static volatile uint8_t *edu_bar;

static void parse_iommu_caps(struct vfio_iommu_type1_info *info)
{
	struct vfio_info_cap_header *hdr;
	uint32_t off = info->flags & VFIO_IOMMU_INFO_CAPS ? info->cap_offset : 0;

	for (; off; off = hdr->next) {
		hdr = (void *)((char *)info + off);
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *r = (void *)hdr;

			vf.nranges = MIN(r->nr_iovas, ARRAY_SIZE(vf.ranges));
			memcpy(vf.ranges, r->iova_ranges,
			       vf.nranges * sizeof(vf.ranges[0]));
		} else if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
			vf.have_dirty = true;
		}
	}
}

static int iommu_get_info(void)
{
	struct vfio_iommu_type1_info *info = calloc(1, sizeof(*info));
	unsigned int i;

	EXPECT(info, "out of memory");
	info->argsz = sizeof(*info);
	EXPECT(!ioctl(vf.container, VFIO_IOMMU_GET_INFO, info), "GET_INFO: %m");
	if (info->argsz > sizeof(*info)) {
		uint32_t argsz = info->argsz;

		free(info);
		info = calloc(1, argsz);
		EXPECT(info, "out of memory");
		info->argsz = argsz;
		EXPECT(!ioctl(vf.container, VFIO_IOMMU_GET_INFO, info),
		       "GET_INFO: %m");
	}
	vf.pgsizes = info->iova_pgsizes;
	parse_iommu_caps(info);
	free(info);
	EXPECT(vf.pgsizes & SZ_4K, "IOMMU page sizes 0x%" PRIx64 " lack 4K",
	       vf.pgsizes);
	EXPECT(vf.nranges, "no IOVA range capability");
	note("iommu pgsizes 0x%" PRIx64 ", dirty tracking %s", vf.pgsizes,
	     vf.have_dirty ? "yes" : "no");
	for (i = 0; i < vf.nranges; i++)
		note("iova range 0x%llx-0x%llx", vf.ranges[i].start,
		     vf.ranges[i].end);
	return PASS;
}

static bool iova_valid(uint64_t iova, uint64_t size)
{
	unsigned int i;

	for (i = 0; i < vf.nranges; i++)
		if (iova >= vf.ranges[i].start &&
		    iova + size - 1 <= vf.ranges[i].end)
			return true;
	return false;
}

static uint64_t iova_top(void)
{
	return vf.ranges[vf.nranges - 1].end;
}

static int region_info(int device, uint32_t index, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	EXPECT(!ioctl(device, VFIO_DEVICE_GET_REGION_INFO, ri),
	       "GET_REGION_INFO %u: %m", index);
	return PASS;
}

/* Map @device's BAR0 and let it master. */
static int device_setup(int device, volatile uint8_t **bar0, size_t *bar0_size)
{
	struct vfio_region_info bar, cfg;
	void *p;
	uint16_t cmd;

	TRY(region_info(device, VFIO_PCI_BAR0_REGION_INDEX, &bar));
	EXPECT(bar.flags & VFIO_REGION_INFO_FLAG_MMAP, "BAR0 not mmappable");
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, device,
		 bar.offset);
	EXPECT(p != MAP_FAILED, "mmap BAR0: %m");
	*bar0 = p;
	*bar0_size = bar.size;

	TRY(region_info(device, VFIO_PCI_CONFIG_REGION_INDEX, &cfg));
	EXPECT(pread(device, &cmd, 2, cfg.offset + 4) == 2, "config: %m");
	cmd |= 0x6;	/* memory space, bus master */
	EXPECT(pwrite(device, &cmd, 2, cfg.offset + 4) == 2, "config: %m");
	return PASS;
}

static int vfio_setup(const char *bdf, const char *group)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];

	vf.container = open("/dev/vfio/vfio", O_RDWR);
	EXPECT(vf.container >= 0, "/dev/vfio/vfio: %m");
	EXPECT(ioctl(vf.container, VFIO_GET_API_VERSION) == VFIO_API_VERSION,
	       "VFIO API version");
	EXPECT(ioctl(vf.container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0,
	       "no VFIO_TYPE1v2_IOMMU");
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	vf.group = open(path, O_RDWR);
	EXPECT(vf.group >= 0, "%s: %m", path);
	EXPECT(!ioctl(vf.group, VFIO_GROUP_GET_STATUS, &st), "GROUP_GET_STATUS: %m");
	EXPECT(st.flags & VFIO_GROUP_FLAGS_VIABLE, "group %s not viable", group);
	EXPECT(!ioctl(vf.group, VFIO_GROUP_SET_CONTAINER, &vf.container),
	       "GROUP_SET_CONTAINER: %m");
	EXPECT(!ioctl(vf.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
	       "SET_IOMMU: %m");
	vf.device = ioctl(vf.group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	EXPECT(vf.device >= 0, "GET_DEVICE_FD %s: %m", bdf);
	TRY(iommu_get_info());
	TRY(device_setup(vf.device, &vf.bar0, &vf.bar0_size));
	edu_bar = vf.bar0;
	return PASS;
}

static int dma_map(uint64_t iova, const void *va, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = flags,
		.vaddr = (uintptr_t)va, .iova = iova, .size = size,
	};

	return ioctl(vf.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
}

/* Unmap; on success *@unmapped is the size type1 reports. */
static int dma_unmap(uint64_t iova, uint64_t size, uint32_t flags,
		     uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = size,
	};

	if (ioctl(vf.container, VFIO_IOMMU_UNMAP_DMA, &u))
		return -errno;
	if (unmapped)
		*unmapped = u.size;
	return 0;
}

static int expect_unmap(uint64_t iova, uint64_t size, uint64_t want)
{
	uint64_t got = ~0ULL;

	EXPECT_ERR(dma_unmap(iova, size, 0, &got), 0);
	EXPECT(got == want, "unmap 0x%" PRIx64 "+0x%" PRIx64 " unmapped 0x%"
	       PRIx64 ", want 0x%" PRIx64, iova, size, got, want);
	return PASS;
}

/* ------------------------------------------------------------------ */
/* edu DMA                                                             */

#define EDU_ID		0x00
#define EDU_LIVENESS	0x04
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000
/*
 * QEMU 7.2's edu aborts the whole VM on a transfer ending exactly at the end
 * of its 4 KiB buffer: transfers stay inside [0x40000, 0x40fff).
 */
#define EDU_MAX_LEN	4095
#define EDU_TIMEOUT_MS	10000

static bool edu_wedged;

static uint32_t edu_r32(unsigned int reg)
{
	return *(volatile uint32_t *)(edu_bar + reg);
}

static void edu_w32(unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(edu_bar + reg) = v;
}

static uint64_t edu_r64(unsigned int reg)
{
	return *(volatile uint64_t *)(edu_bar + reg);
}

static void edu_w64(unsigned int reg, uint64_t v)
{
	*(volatile uint64_t *)(edu_bar + reg) = v;
}

static int edu_check(void)
{
	EXPECT(edu_r32(EDU_ID) == 0x010000ed, "edu id 0x%x", edu_r32(EDU_ID));
	edu_w32(EDU_LIVENESS, 0x12345678);
	EXPECT(edu_r32(EDU_LIVENESS) == ~0x12345678U, "edu liveness check");
	EXPECT(!(edu_r64(EDU_DMA_CMD) & EDU_CMD_START), "edu DMA busy");
	return PASS;
}

/* One transfer; the edu side is always its buffer's first @len bytes. */
static int edu_dma(uint64_t src, uint64_t dst, uint32_t len, uint32_t cmd)
{
	double deadline = now_ms() + EDU_TIMEOUT_MS;

	EXPECT(!edu_wedged, "edu timed out earlier");
	EXPECT(len && len <= EDU_MAX_LEN, "bad edu transfer length %u", len);
	edu_w64(EDU_DMA_SRC, src);
	edu_w64(EDU_DMA_DST, dst);
	edu_w64(EDU_DMA_CNT, len);
	edu_w64(EDU_DMA_CMD, cmd | EDU_CMD_START);
	while (edu_r64(EDU_DMA_CMD) & EDU_CMD_START) {
		if (now_ms() > deadline) {
			edu_wedged = true;
			EXPECT(0, "edu DMA did not complete");
		}
		usleep(2000);
	}
	return PASS;
}

/* Device reads @len bytes at @iova into its buffer. */
static int edu_from_ram(uint64_t iova, uint32_t len)
{
	return edu_dma(iova, EDU_BUF, len, 0);
}

/* Device writes its buffer's first @len bytes at @iova. */
static int edu_to_ram(uint64_t iova, uint32_t len)
{
	return edu_dma(EDU_BUF, iova, len, EDU_CMD_TO_RAM);
}

/* ------------------------------------------------------------------ */
/* Checking a mapping by DMA                                           */

struct region {
	uint8_t *va;
	uint64_t iova;
	size_t size;
};

struct window {
	size_t off;
	uint32_t len;
};

#define CANARY 64

/*
 * The device copies @len bytes from @src+@soff to @dst+@doff through the
 * IOMMU. Fresh patterns go to both ends first: the destination must end up
 * holding the source's pattern (so the read hit the right page, and so did
 * the write), and the bytes around it must be untouched.
 */
static int dma_copy_check(const struct region *src, size_t soff,
			  const struct region *dst, size_t doff, uint32_t len)
{
	size_t before = MIN(CANARY, doff);
	size_t after = MIN(CANARY, dst->size - doff - len);
	uint8_t *d = dst->va + doff, saved[2 * CANARY];
	uint32_t skey = new_key();
	long bad;

	pattern_fill(src->va + soff, len, skey);
	TRY(edu_from_ram(src->iova + soff, len));
	pattern_fill(d, len, new_key());
	memcpy(saved, d - before, before);
	memcpy(saved + before, d + len, after);
	TRY(edu_to_ram(dst->iova + doff, len));
	bad = pattern_mismatch(d, len, skey);
	EXPECT(bad < 0, "copy iova 0x%" PRIx64 " -> 0x%" PRIx64 " (%u bytes): "
	       "byte %ld differs", src->iova + soff, dst->iova + doff, len, bad);
	EXPECT(!memcmp(saved, d - before, before) &&
	       !memcmp(saved + before, d + len, after),
	       "DMA to iova 0x%" PRIx64 " wrote outside its %u bytes",
	       dst->iova + doff, len);
	return PASS;
}

/*
 * intel-iommu's fault handler spends 3 of its rate limit's 10 messages per
 * 5 s on each fault: faults closer than 5/3 s apart may go unlogged.
 */
#define FAULT_SPACING_MS 2000

static void space_faults(void)
{
	static double last = -FAULT_SPACING_MS;
	double wait = last + FAULT_SPACING_MS - now_ms();

	if (wait > 0)
		usleep(wait * 1000);
	last = now_ms();
}

/*
 * A write to @iova, not mapped writable, must not reach @va. The edu buffer
 * holds an earlier pattern, different from the fresh one put at @va. The
 * write stays inside one page, so it faults once, at that page.
 */
static int expect_no_landing_at(uint8_t *va, uint64_t iova, uint32_t len,
				const char *fault)
{
	uint32_t key = new_key();

	EXPECT((iova & (SZ_4K - 1)) + len <= SZ_4K, "write crosses a page");
	note("%s-dmar-fault 0x%" PRIx64, fault, iova & ~(SZ_4K - 1));
	pattern_fill(va, len, key);
	space_faults();
	TRY(edu_to_ram(iova, len));
	EXPECT(pattern_mismatch(va, len, key) < 0,
	       "DMA to unmapped iova 0x%" PRIx64 " landed in user memory", iova);
	return PASS;
}

static int expect_no_landing(uint8_t *va, uint64_t iova, uint32_t len)
{
	return expect_no_landing_at(va, iova, len, "expect");
}

#define MAX_WINDOWS 10
#define MIN_WINDOW 64	/* long enough that a wrong page cannot match by chance */

static int add_window(struct window *w, int n, size_t size, size_t off)
{
	int i;

	if (n == MAX_WINDOWS || off + MIN_WINDOW > size)
		return n;
	for (i = 0; i < n; i++)
		if (w[i].off == off)
			return n;
	w[n].off = off;
	w[n].len = MIN(EDU_MAX_LEN, size - off);
	return n + 1;
}

/* A window straddling offset @edge, if the region has one there. */
static int add_edge(struct window *w, int n, size_t size, size_t edge)
{
	if (edge < 2048 || edge + 2048 > size)
		return n;
	return add_window(w, n, size, edge - 2048);
}

/* First offset in (0, size) where @addr + offset is a multiple of @align. */
static size_t next_boundary(uint64_t addr, size_t align)
{
	return ALIGN_UP(addr + 1, align) - addr;
}

/*
 * Windows to DMA through: the first page, the given edges, 4K/2M/1G
 * boundaries of the user address and of the IOVA, two strided offsets,
 * one random offset, and the region's last bytes.
 */
static int pick_windows(const struct region *r, const size_t *edges,
			int nedges, struct window *w)
{
	static const size_t aligns[] = { SZ_4K, SZ_2M, SZ_1G };
	size_t size = r->size;
	unsigned int i;
	int n = 0;

	n = add_window(w, n, size, 0);
	for (i = 0; i < (unsigned int)nedges; i++)
		n = add_edge(w, n, size, edges[i]);
	for (i = 0; i < ARRAY_SIZE(aligns); i++) {
		n = add_edge(w, n, size, next_boundary((uintptr_t)r->va, aligns[i]));
		n = add_edge(w, n, size, next_boundary(r->iova, aligns[i]));
	}
	n = add_window(w, n, size, (size / 3 & ~(SZ_4K - 1)) + rng() % SZ_4K);
	n = add_window(w, n, size, (size / 3 * 2 & ~(SZ_4K - 1)) + rng() % SZ_4K);
	n = add_window(w, n, size, rng() % (size - MIN_WINDOW));
	if (n == MAX_WINDOWS)
		n--;
	return add_window(w, n, size, size - MIN(size, EDU_MAX_LEN));
}

/*
 * The device reads each window and writes what it read into the next one,
 * so every window is both read and written through the IOMMU.
 */
static int region_dma_check(const struct region *r, const size_t *edges,
			    int nedges, struct window *first)
{
	struct window w[MAX_WINDOWS];
	int n = pick_windows(r, edges, nedges, w), i;

	EXPECT(n >= 2, "region too small to sample");
	for (i = 0; i < n; i++) {
		const struct window *s = &w[i], *d = &w[(i + 1) % n];

		TRY(dma_copy_check(r, s->off, r, d->off, MIN(s->len, d->len)));
	}
	*first = w[0];
	return PASS;
}

/*
 * Map @r, check pins and locked_vm, DMA through it, unmap it, check both
 * are back, and check a DMA to its first window no longer lands.
 */
static int map_dma_unmap(const struct region *r, const size_t *edges, int nedges)
{
	struct window first;
	struct acct a;
	double t0, t1, t2, t3;

	TRY(acct_snap(&a));
	t0 = now_ms();
	EXPECT_ERR(dma_map(r->iova, r->va, r->size, RW), 0);
	t1 = now_ms();
	TRY(acct_expect_mapped(&a, r->size, "mapped"));
	TRY(region_dma_check(r, edges, nedges, &first));
	t2 = now_ms();
	TRY(expect_unmap(r->iova, r->size, r->size));
	t3 = now_ms();
	TRY(acct_expect(&a, 0, 0, "after unmap"));
	TRY(expect_no_landing(r->va + first.off, r->iova + first.off, first.len));
	note("map %.1f ms, DMA checks %.0f ms, unmap %.1f ms (size 0x%zx iova 0x%"
	     PRIx64 ")", t1 - t0, t2 - t1, t3 - t2, r->size, r->iova);
	return PASS;
}

/* ------------------------------------------------------------------ */
/* Backing memory                                                      */

enum backing {
	ANON_4K,
	ANON_THP,
	HUGETLB_2M,
	HUGETLB_1G,
	MEMFD,
};

static const struct {
	const char *name;
	size_t page;
} backings[] = {
	[ANON_4K]	= { "anon4k", SZ_4K },
	[ANON_THP]	= { "thp", SZ_2M },
	[HUGETLB_2M]	= { "hugetlb2m", SZ_2M },
	[HUGETLB_1G]	= { "hugetlb1g", SZ_1G },
	[MEMFD]		= { "memfd", SZ_4K },
};

static long read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void write_str(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

/* AnonHugePages of the VMA that starts at @p and is exactly @len long. */
static long anon_huge_kb(const void *p, size_t len)
{
	unsigned long start, end;
	bool in = false;
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start == (uintptr_t)p && end == (uintptr_t)p + len;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static bool thp_disabled(void)
{
	char s[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (!fgets(s, sizeof(s), f))
			s[0] = 0;
		fclose(f);
	}
	return !f || strstr(s, "[never]");
}

/* Anonymous private memory at a multiple of @align. */
static uint8_t *anon_aligned(size_t len, size_t align, int advice)
{
	uint8_t *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)ALIGN_UP((uintptr_t)p, align);
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + align - a);
	if (advice >= 0 && madvise(a, len, advice)) {
		munmap(a, len);
		return NULL;
	}
	return track_map(a, len);
}

/* 2M-aligned anonymous memory, populated with THPs; verified in smaps. */
static uint8_t *thp_alloc(size_t len)
{
	uint8_t *p;
	long kb;

	if (thp_disabled()) {
		skip("THP disabled in /sys/kernel/mm/transparent_hugepage/enabled");
		return NULL;
	}
	write_str("/proc/sys/vm/compact_memory", "1\n");
	p = anon_aligned(len, SZ_2M, MADV_HUGEPAGE);
	if (!p || madvise(p, len, MADV_POPULATE_WRITE)) {
		skip("cannot populate %zu MiB of THP memory: %m", len >> 20);
		return NULL;
	}
	kb = anon_huge_kb(p, len);
	if (kb != (long)(len >> 10)) {
		skip("only %ld of %zu kB backed by THPs (fragmented memory?)",
		     kb, len >> 10);
		return NULL;
	}
	return p;
}

static uint8_t *hugetlb_alloc(size_t len, size_t page)
{
	const char *pool = page == SZ_1G ?
		"/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages" :
		"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
	int size_flag = page == SZ_1G ? MAP_HUGE_1GB : MAP_HUGE_2MB;
	long free_pages = read_long(pool);
	uint8_t *p;

	if (free_pages < (long)(len / page)) {
		skip("needs %zu free %zu MiB hugetlb pages, %ld free (boot with hugepagesz=/hugepages=)",
		     len / page, page >> 20, free_pages);
		return NULL;
	}
	p = track_map(mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | size_flag,
			   -1, 0), len);
	if (!p)
		skip("hugetlb mmap of %zu MiB failed: %m", len >> 20);
	return p;
}

static uint8_t *memfd_alloc(size_t len, int *fdp)
{
	int fd = track_fd(memfd_create("type1_test", MFD_CLOEXEC));
	uint8_t *p;

	if (fdp)
		*fdp = fd;
	if (fd < 0 || ftruncate(fd, len)) {
		skip("memfd: %m");
		return NULL;
	}
	p = track_map(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
		      len);
	if (!p)
		skip("memfd mmap: %m");
	return p;
}

/* @len bytes of @b; NULL with skip_why set if the lab cannot provide it. */
static uint8_t *backing_alloc(enum backing b, size_t len)
{
	uint8_t *p = NULL;

	switch (b) {
	case ANON_4K:
		p = anon_aligned(len, SZ_4K, MADV_NOHUGEPAGE);
		if (!p)
			skip("anonymous mmap: %m");
		break;
	case ANON_THP:
		p = thp_alloc(len);
		break;
	case HUGETLB_2M:
	case HUGETLB_1G:
		p = hugetlb_alloc(len, backings[b].page);
		break;
	case MEMFD:
		p = memfd_alloc(len, NULL);
		break;
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* Cases: map, DMA, unmap per backing                                  */

enum iova_pick { IOVA_FIXED, IOVA_TOP };

static const struct region_spec {
	const char *name;
	size_t size;
	size_t voff;		/* from the start of the backing... */
	bool voff_from_page_end; /* ...or from the end of its first page */
	enum iova_pick pick;
	uint64_t iova;
} region_specs[] = {
	/* The last 4K of a huge page, low IOVA. */
	{ "4K", SZ_4K, SZ_4K, true, IOVA_FIXED, 0x7ff000 },
	/* From the 2nd subpage across a huge page boundary, above 4 GiB. */
	{ "2M+4K", SZ_2M + SZ_4K, SZ_4K, false, IOVA_FIXED, 0x100001000ULL },
	/* IOVA not congruent with the address: no IOMMU superpages. */
	{ "64M", SZ_64M, 0, false, IOVA_FIXED, 0x80001000ULL },
	/* At the top of the IOVA space. */
	{ "512M", SZ_512M, 0, false, IOVA_TOP, 0 },
};

struct region_case {
	enum backing backing;
	const struct region_spec *spec;
};

static int region_case(const void *arg)
{
	const struct region_case *c = arg;
	const struct region_spec *s = c->spec;
	size_t page = backings[c->backing].page;
	size_t voff = s->voff_from_page_end ? page - s->voff : s->voff;
	struct region r = { .size = s->size, .iova = s->iova };
	uint8_t *base;

	if (s->pick == IOVA_TOP)
		r.iova = (iova_top() + 1 - s->size) & ~(SZ_2M - 1);
	if (!iova_valid(r.iova, r.size))
		return skip("IOVA 0x%" PRIx64 "+0x%zx outside the IOMMU's ranges",
			    r.iova, r.size);
	base = backing_alloc(c->backing, ALIGN_UP(voff + s->size, page));
	if (!base)
		return SKIP;
	r.va = base + voff;
	return map_dma_unmap(&r, NULL, 0);
}

/*
 * One mapping across four VMAs: THP, 4K anonymous, hugetlb 2M, memfd.
 * Windows straddle each seam.
 */
static int mixed_case(const void *arg)
{
	static const size_t seams[] = { SZ_2M, 2 * SZ_2M, 3 * SZ_2M };
	size_t len = 3 * SZ_2M + 2 * SZ_4K;
	struct region r = { .size = len, .iova = 0x200000000ULL };
	int prot = PROT_READ | PROT_WRITE;
	int anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	uint8_t *p;
	int fd;

	(void)arg;
	if (read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") < 1)
		return skip("needs one free 2 MiB hugetlb page");
	p = anon_aligned(len, SZ_2M, -1);
	fd = track_fd(memfd_create("type1_mixed", MFD_CLOEXEC));
	EXPECT(p && fd >= 0 && !ftruncate(fd, 2 * SZ_4K), "setup: %m");
	EXPECT(!madvise(p, SZ_2M, MADV_HUGEPAGE) &&
	       !madvise(p, SZ_2M, MADV_POPULATE_WRITE) &&
	       !madvise(p + SZ_2M, SZ_2M, MADV_NOHUGEPAGE), "madvise: %m");
	EXPECT(mmap(p + 2 * SZ_2M, SZ_2M, prot, anon | MAP_HUGETLB | MAP_HUGE_2MB,
		    -1, 0) != MAP_FAILED, "hugetlb mmap: %m");
	EXPECT(mmap(p + 3 * SZ_2M, 2 * SZ_4K, prot, MAP_SHARED | MAP_FIXED, fd,
		    0) != MAP_FAILED, "memfd mmap: %m");
	note("THP part: AnonHugePages %ld kB", anon_huge_kb(p, SZ_2M));
	r.va = p;
	return map_dma_unmap(&r, seams, ARRAY_SIZE(seams));
}

/* ------------------------------------------------------------------ */
/* Cases: bad map arguments                                            */

/* A scratch buffer for argument checks: 64K of 4K anonymous memory. */
static uint8_t *scratch(void)
{
	uint8_t *p = anon_aligned(SZ_64K, SZ_4K, MADV_NOHUGEPAGE);

	if (p)
		memset(p, 0x5a, SZ_64K);
	return p;
}

enum va_kind { VA_SCRATCH, VA_HOLE, VA_PROT_NONE, VA_READ_ONLY, VA_TOP };
enum iova_kind { IOVA_OK, IOVA_MSI, IOVA_PAST_END, IOVA_LAST_PAGE };

static const struct bad_map {
	const char *name;
	enum va_kind va;
	size_t va_off;
	enum iova_kind iova;
	uint64_t iova_off;
	uint64_t size;
	uint32_t flags;
	int err;
} bad_maps[] = {
	{ "zero-size", VA_SCRATCH, 0, IOVA_OK, 0, 0, RW, EINVAL },
	{ "unaligned-size", VA_SCRATCH, 0, IOVA_OK, 0, SZ_4K + 1, RW, EINVAL },
	{ "unaligned-iova", VA_SCRATCH, 0, IOVA_OK, 1, SZ_4K, RW, EINVAL },
	{ "unaligned-vaddr", VA_SCRATCH, 1, IOVA_OK, 0, SZ_4K, RW, EINVAL },
	{ "no-prot", VA_SCRATCH, 0, IOVA_OK, 0, SZ_4K, 0, EINVAL },
	{ "unknown-flag", VA_SCRATCH, 0, IOVA_OK, 0, SZ_4K, RW | 8, EINVAL },
	{ "vaddr-flag-with-prot", VA_SCRATCH, 0, IOVA_OK, 0, SZ_4K,
	  VFIO_DMA_MAP_FLAG_VADDR | VFIO_DMA_MAP_FLAG_READ, EINVAL },
	{ "vaddr-flag-unmapped-iova", VA_SCRATCH, 0, IOVA_OK, 0, SZ_4K,
	  VFIO_DMA_MAP_FLAG_VADDR, ENOENT },
	{ "iova-wraps", VA_SCRATCH, 0, IOVA_LAST_PAGE, 0, 2 * SZ_4K, RW, EOVERFLOW },
	{ "vaddr-wraps", VA_TOP, 0, IOVA_OK, 0, 2 * SZ_4K, RW, EOVERFLOW },
	{ "msi-window", VA_SCRATCH, 0, IOVA_MSI, 0, SZ_4K, RW, EINVAL },
	{ "past-iova-end", VA_SCRATCH, 0, IOVA_PAST_END, 0, SZ_4K, RW, EINVAL },
	{ "unmapped-vaddr", VA_HOLE, 0, IOVA_OK, 0, SZ_4K, RW, EFAULT },
	{ "prot-none-vaddr", VA_PROT_NONE, 0, IOVA_OK, 0, SZ_4K, RW, EFAULT },
	{ "read-only-vaddr-writable-map", VA_READ_ONLY, 0, IOVA_OK, 0, SZ_4K, RW, EFAULT },
};

#define IOVA_SCRATCH	0x10000000ULL
#define IOVA_MSI_BASE	0xfee00000ULL

static uint8_t *bad_map_va(enum va_kind kind)
{
	uint8_t *p;

	switch (kind) {
	case VA_SCRATCH:
		return scratch();
	case VA_HOLE:
		p = mmap(NULL, SZ_64K, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED)
			munmap(p, SZ_64K);
		return p == MAP_FAILED ? NULL : p;
	case VA_PROT_NONE:
		return track_map(mmap(NULL, SZ_64K, PROT_NONE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), SZ_64K);
	case VA_READ_ONLY:
		p = scratch();
		return p && !mprotect(p, SZ_64K, PROT_READ) ? p : NULL;
	case VA_TOP:
		return (uint8_t *)(~0UL & ~(SZ_4K - 1));
	}
	return NULL;
}

static int bad_map_case(const void *arg)
{
	const struct bad_map *b = arg;
	uint8_t *va = bad_map_va(b->va);
	uint64_t iova = IOVA_SCRATCH;

	EXPECT(va, "setup: %m");
	switch (b->iova) {
	case IOVA_OK:
		break;
	case IOVA_MSI:
		if (iova_valid(IOVA_MSI_BASE, SZ_4K))
			return skip("0x%llx is mappable here", IOVA_MSI_BASE);
		iova = IOVA_MSI_BASE;
		break;
	case IOVA_PAST_END:
		if (iova_top() == ~0ULL)
			return skip("the IOVA space has no end");
		iova = iova_top() + 1;
		break;
	case IOVA_LAST_PAGE:
		iova = ~0ULL & ~(SZ_4K - 1);
		break;
	}
	EXPECT_ERR(dma_map(iova + b->iova_off, va + b->va_off, b->size, b->flags),
		   b->err);
	return PASS;
}

/* ------------------------------------------------------------------ */
/* Cases: bad unmap arguments, against a live 2M mapping                */

static const struct bad_unmap {
	const char *name;
	uint64_t iova_off;
	uint64_t size;
	uint32_t flags;
	bool with_bitmap;
	int err;
} bad_unmaps[] = {
	{ "zero-size", 0, 0, 0, false, EINVAL },
	{ "iova-wraps", 0, 0, 0, false, EOVERFLOW },	/* last page + 8K */
	{ "unaligned-iova", 1, SZ_2M, 0, false, EINVAL },
	{ "unaligned-size", 0, SZ_2M + 1, 0, false, EINVAL },
	{ "unknown-flag", 0, SZ_2M, 8, false, EINVAL },
	{ "all-with-range", 0, SZ_2M, VFIO_DMA_UNMAP_FLAG_ALL, false, EINVAL },
	{ "all-with-bitmap", 0, SZ_2M, VFIO_DMA_UNMAP_FLAG_ALL |
	  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, true, EINVAL },
	{ "bitmap-not-tracking", 0, SZ_2M, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
	  true, EINVAL },
	/* type1 v2: an unmap must not bisect a mapping. */
	{ "partial-head", 0, SZ_4K, 0, false, EINVAL },
	{ "partial-tail", SZ_2M - SZ_4K, SZ_4K, 0, false, EINVAL },
	{ "partial-middle", SZ_4K, SZ_64K, 0, false, EINVAL },
	{ "overlaps-start", -SZ_2M, SZ_2M + SZ_4K, 0, false, EINVAL },
	{ "overlaps-end", SZ_4K, SZ_4M, 0, false, EINVAL },
};

struct unmap_with_bitmap {
	struct vfio_iommu_type1_dma_unmap u;
	struct vfio_bitmap bm;
};

static int unmap_bitmap(uint64_t iova, uint64_t size, uint32_t flags,
			uint64_t *bits, size_t bits_bytes, uint64_t *unmapped)
{
	struct unmap_with_bitmap a = {
		.u = { .argsz = sizeof(a), .flags = flags, .iova = iova, .size = size },
		.bm = { .pgsize = SZ_4K, .size = bits_bytes, .data = (void *)bits },
	};

	if (ioctl(vf.container, VFIO_IOMMU_UNMAP_DMA, &a))
		return -errno;
	*unmapped = a.u.size;
	return 0;
}

/*
 * The failed unmap leaves the mapping whole: pinned, charged, and reachable
 * by DMA at both ends. THP-backed at a 2M-aligned IOVA, it may be one IOMMU
 * superpage.
 */
static int bad_unmap_case(const void *arg)
{
	const struct bad_unmap *b = arg;
	uint64_t iova = 0x40000000ULL, bits[8] = { 0 }, got;
	uint8_t *p = anon_aligned(SZ_2M, SZ_2M, MADV_HUGEPAGE);
	struct region r = { p, iova, SZ_2M };
	struct acct a;
	int ret;

	EXPECT(p, "setup: %m");
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(iova, p, SZ_2M, RW), 0);
	if (b->err == EOVERFLOW)
		ret = dma_unmap(~0ULL & ~(SZ_4K - 1), 2 * SZ_4K, 0, &got);
	else if (b->with_bitmap)
		ret = unmap_bitmap(iova + b->iova_off, b->size, b->flags, bits,
				   sizeof(bits), &got);
	else
		ret = dma_unmap(iova + b->iova_off, b->size, b->flags, &got);
	EXPECT(ret == -b->err, "unmap = %s, want %s", errname(-ret),
	       errname(b->err));
	TRY(acct_expect_mapped(&a, SZ_2M, "after the failed unmap"));
	TRY(dma_copy_check(&r, 100, &r, SZ_2M - 4000, 3900));
	TRY(expect_unmap(iova, SZ_2M, SZ_2M));
	return acct_expect(&a, 0, 0, "after unmap");
}

/* ------------------------------------------------------------------ */
/* Cases: map semantics                                                */

/* A mapping whose tail is not mapped: EFAULT, and nothing stays behind. */
static int partial_vaddr_case(const void *arg)
{
	uint64_t iova = 0x40000000ULL;
	uint8_t *p = anon_aligned(SZ_4M, SZ_2M, MADV_HUGEPAGE);
	struct acct a;

	(void)arg;
	EXPECT(p && !madvise(p, SZ_2M, MADV_POPULATE_WRITE), "setup: %m");
	EXPECT(!munmap(p + SZ_2M, SZ_2M), "munmap: %m");
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(iova, p, SZ_4M, RW), EFAULT);
	TRY(acct_expect(&a, 0, 0, "after the failed map"));
	TRY(expect_no_landing(p, iova, EDU_MAX_LEN));
	EXPECT_ERR(dma_map(iova, p, SZ_2M, RW), 0);
	return expect_unmap(iova, SZ_2M, SZ_2M);
}

/* Overlapping maps fail with EEXIST; adjacent ones succeed. */
static int overlap_case(const void *arg)
{
	static const struct { int64_t off; uint64_t size; } clash[] = {
		{ 0, SZ_2M }, { SZ_4K, SZ_2M }, { -SZ_4K, 2 * SZ_4K },
		{ SZ_2M - SZ_4K, SZ_4K }, { -SZ_2M, SZ_4M + SZ_2M }, { SZ_64K, SZ_4K },
	};
	uint64_t iova = 0x40000000ULL;
	uint8_t *p = scratch(), *q = anon_aligned(SZ_4M + SZ_2M, SZ_2M, MADV_HUGEPAGE);
	unsigned int i;

	(void)arg;
	EXPECT(p && q, "setup: %m");
	EXPECT_ERR(dma_map(iova, q, SZ_2M, RW), 0);
	for (i = 0; i < ARRAY_SIZE(clash); i++) {
		int ret = dma_map(iova + clash[i].off, q, clash[i].size, RW);

		EXPECT(ret == -EEXIST, "map 0x%" PRIx64 "+0x%" PRIx64 " = %d, want EEXIST",
		       iova + clash[i].off, clash[i].size, ret);
	}
	EXPECT_ERR(dma_map(iova - SZ_4K, p, SZ_4K, RW), 0);
	EXPECT_ERR(dma_map(iova + SZ_2M, p + SZ_4K, SZ_4K, RW), 0);
	return expect_unmap(iova - SZ_4K, SZ_2M + 2 * SZ_4K, SZ_2M + 2 * SZ_4K);
}

/* The same memory at two IOVAs is pinned and charged twice. */
static int alias_case(const void *arg)
{
	uint8_t *p = anon_aligned(SZ_2M, SZ_2M, MADV_HUGEPAGE);
	struct region r1 = { p, 0x40000000ULL, SZ_2M };
	struct region r2 = { p, 0x1000000000ULL + SZ_4K, SZ_2M };
	struct acct a;

	(void)arg;
	EXPECT(p && !madvise(p, SZ_2M, MADV_POPULATE_WRITE), "setup: %m");
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(r1.iova, p, SZ_2M, RW), 0);
	EXPECT_ERR(dma_map(r2.iova, p, SZ_2M, RW), 0);
	TRY(acct_expect_mapped(&a, 2 * SZ_2M, "mapped twice"));
	TRY(dma_copy_check(&r1, 100, &r2, SZ_2M - 5000, 4000));
	TRY(expect_unmap(r1.iova, SZ_2M, SZ_2M));
	TRY(acct_expect_mapped(&a, SZ_2M, "one alias unmapped"));
	TRY(dma_copy_check(&r2, SZ_4K, &r2, SZ_64K + 7, 4000));
	TRY(expect_unmap(r2.iova, SZ_2M, SZ_2M));
	return acct_expect(&a, 0, 0, "after unmap");
}

/*
 * A read-only mapping of read-only memory: the device reads it, and its
 * writes fault without landing.
 */
static int read_only_case(const void *arg)
{
	uint8_t *p = anon_aligned(SZ_2M, SZ_2M, MADV_HUGEPAGE), *s = scratch();
	struct region ro = { p, 0x40000000ULL, SZ_2M };
	struct region rw = { s, 0x50000000ULL, SZ_64K };
	uint32_t key = new_key();
	struct acct a;

	(void)arg;
	EXPECT(p && s && !madvise(p, SZ_2M, MADV_POPULATE_WRITE), "setup: %m");
	pattern_fill(p + SZ_4K, 3000, key);
	EXPECT(!mprotect(p, SZ_2M, PROT_READ), "mprotect: %m");
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(ro.iova, p, SZ_2M, VFIO_DMA_MAP_FLAG_READ), 0);
	EXPECT_ERR(dma_map(rw.iova, s, SZ_64K, RW), 0);
	TRY(acct_expect_mapped(&a, SZ_2M + SZ_64K, "mapped"));
	TRY(edu_from_ram(ro.iova + SZ_4K, 3000));
	TRY(edu_to_ram(rw.iova + 10, 3000));
	EXPECT(pattern_mismatch(s + 10, 3000, key) < 0,
	       "device read of the read-only mapping returned other bytes");
	TRY(dma_copy_check(&rw, 5000, &rw, 9000, 2000));
	EXPECT(!mprotect(p, SZ_2M, PROT_READ | PROT_WRITE), "mprotect: %m");
	TRY(expect_no_landing_at(p + SZ_64K, ro.iova + SZ_64K, 2000, "allow"));
	TRY(expect_unmap(ro.iova, SZ_2M, SZ_2M));
	TRY(expect_unmap(rw.iova, SZ_64K, SZ_64K));
	return acct_expect(&a, 0, 0, "after unmap");
}

/*
 * A read-only map of partly untouched private memory. A long-term R/O pin
 * must not pin the shared zero page of a COW mapping (the device would miss
 * later writes): GUP unshares it, so every page is pinned and charged, and
 * what the process writes after the map is what the device reads.
 * Every third page is touched before the map.
 */
static int untouched_case(const void *arg)
{
	uint8_t *p = anon_aligned(SZ_2M, SZ_2M, MADV_NOHUGEPAGE), *s = scratch();
	struct region ro = { p, 0x40000000ULL, SZ_2M };
	struct region rw = { s, 0x50000000ULL, SZ_64K };
	size_t i, late = 2 * SZ_4K - 2000, mixed = 3 * SZ_4K - 2000;
	struct acct a;

	(void)arg;
	EXPECT(p && s, "setup: %m");
	for (i = 0; i < SZ_2M / SZ_4K; i += 3)
		pattern_fill(p + i * SZ_4K, SZ_4K, new_key());
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(ro.iova, p, SZ_2M, VFIO_DMA_MAP_FLAG_READ), 0);
	EXPECT_ERR(dma_map(rw.iova, s, SZ_64K, RW), 0);
	TRY(acct_expect_mapped(&a, SZ_2M + SZ_64K, "mapped"));
	pattern_fill(p + late, 4000, new_key());
	TRY(edu_from_ram(ro.iova + late, 4000));
	TRY(edu_to_ram(rw.iova + 10, 4000));
	EXPECT(!memcmp(s + 10, p + late, 4000),
	       "device did not see what was written to untouched pages after the map");
	TRY(edu_from_ram(ro.iova + mixed, 4000));
	TRY(edu_to_ram(rw.iova + 5000, 4000));
	EXPECT(!memcmp(s + 5000, p + mixed, 4000),
	       "device read across a touched/untouched seam returned other bytes");
	TRY(expect_unmap(ro.iova, SZ_2M, SZ_2M));
	TRY(expect_unmap(rw.iova, SZ_64K, SZ_64K));
	return acct_expect(&a, 0, 0, "after unmap");
}

/* One unmap covering several mappings and the gaps between them. */
static int unmap_span_case(const void *arg)
{
	uint64_t base = 0x40000000ULL;
	uint8_t *p = scratch(), *q = thp_alloc(SZ_2M);
	struct acct a;

	(void)arg;
	if (!q)
		return SKIP;
	EXPECT(p, "setup: %m");
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(base + SZ_4K, p, SZ_4K, RW), 0);
	EXPECT_ERR(dma_map(base + SZ_2M, q, SZ_2M, RW), 0);
	EXPECT_ERR(dma_map(base + SZ_64M, p + SZ_4K, SZ_64K - SZ_4K, RW), 0);
	TRY(acct_expect_mapped(&a, SZ_2M + SZ_64K, "mapped"));
	TRY(expect_unmap(base + SZ_512M, SZ_2M, 0));
	TRY(expect_unmap(base, SZ_512M, SZ_2M + SZ_64K));
	TRY(acct_expect(&a, 0, 0, "after unmap"));
	return expect_no_landing(q + SZ_4K, base + SZ_2M + SZ_4K, 1000);
}

/* VFIO_DMA_UNMAP_FLAG_ALL removes everything, from low to high IOVAs. */
static int unmap_all_case(const void *arg)
{
	uint8_t *p = scratch(), *q = anon_aligned(SZ_4M, SZ_2M, MADV_HUGEPAGE);
	uint64_t got = 0;
	struct acct a;

	(void)arg;
	EXPECT(p && q, "setup: %m");
	EXPECT(ioctl(vf.container, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL) > 0,
	       "no VFIO_UNMAP_ALL");
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(0x1000, p, SZ_64K, RW), 0);
	EXPECT_ERR(dma_map(0x100000000ULL, q, SZ_4M, RW), 0);
	EXPECT_ERR(dma_map((iova_top() + 1 - SZ_2M) & ~(SZ_2M - 1), q, SZ_2M, RW), 0);
	TRY(acct_expect_mapped(&a, SZ_64K + SZ_4M + SZ_2M, "mapped"));
	EXPECT_ERR(dma_unmap(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &got), 0);
	EXPECT(got == SZ_64K + SZ_4M + SZ_2M, "unmap-all reported 0x%" PRIx64, got);
	TRY(acct_expect(&a, 0, 0, "after unmap-all"));
	EXPECT_ERR(dma_unmap(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &got), 0);
	EXPECT(!got, "second unmap-all reported 0x%" PRIx64, got);
	return expect_no_landing(q + SZ_2M, 0x100000000ULL + SZ_2M, 500);
}

/* ------------------------------------------------------------------ */
/* Cases: RLIMIT_MEMLOCK                                               */

static int set_cap_ipc_lock(bool on)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	if (on)
		data[0].effective |= 1U << CAP_IPC_LOCK;
	else
		data[0].effective &= ~(1U << CAP_IPC_LOCK);
	return syscall(SYS_capset, &hdr, data);
}

/* RLIMIT_MEMLOCK soft limit at what is locked now plus @extra bytes. */
static int set_memlock_headroom(struct rlimit *saved, size_t extra)
{
	struct rlimit rl;

	EXPECT(!getrlimit(RLIMIT_MEMLOCK, saved), "getrlimit: %m");
	rl = *saved;
	rl.rlim_cur = (vmlck_kb() << 10) + extra;
	EXPECT(!setrlimit(RLIMIT_MEMLOCK, &rl), "setrlimit: %m");
	return PASS;
}

/*
 * Without CAP_IPC_LOCK, type1 charges RLIMIT_MEMLOCK: a map one page over
 * fails with ENOMEM and leaves nothing pinned, charged or mapped; a map
 * exactly at the limit succeeds.
 */
static int rlimit_body(uint8_t *p)
{
	uint64_t iova = 0x40000000ULL;
	struct acct a;

	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(iova, p, SZ_2M + SZ_4K, RW), ENOMEM);
	TRY(acct_expect(&a, 0, 0, "after the failed map"));
	TRY(expect_no_landing(p, iova, EDU_MAX_LEN));
	EXPECT_ERR(dma_map(iova, p, SZ_2M, RW), 0);
	TRY(acct_expect_mapped(&a, SZ_2M, "mapped up to the limit"));
	EXPECT_ERR(dma_map(iova + SZ_4M, p + SZ_2M, SZ_4K, RW), ENOMEM);
	TRY(acct_expect_mapped(&a, SZ_2M, "after the failed map"));
	TRY(expect_unmap(iova, SZ_4M + SZ_4K, SZ_2M));
	return acct_expect(&a, 0, 0, "after unmap");
}

/* @body(@p) without CAP_IPC_LOCK, with @extra bytes of RLIMIT_MEMLOCK left */
static int memlock_limited(size_t extra, int (*body)(uint8_t *p), uint8_t *p)
{
	struct rlimit saved;
	int ret;

	EXPECT(!set_cap_ipc_lock(false), "capset: %m");
	ret = set_memlock_headroom(&saved, extra);
	if (ret == PASS) {
		ret = body(p);
		setrlimit(RLIMIT_MEMLOCK, &saved);
	}
	EXPECT(!set_cap_ipc_lock(true), "capset: %m");
	return ret;
}

static int rlimit_case(const void *arg)
{
	uint8_t *p = thp_alloc(SZ_4M);

	(void)arg;
	if (!p)
		return SKIP;
	return memlock_limited(SZ_2M, rlimit_body, p);
}

/* With CAP_IPC_LOCK, type1 maps past RLIMIT_MEMLOCK and still charges it. */
static int rlimit_cap_case(const void *arg)
{
	uint8_t *p = anon_aligned(SZ_4M, SZ_4K, MADV_NOHUGEPAGE);
	uint64_t iova = 0x40000000ULL;
	struct rlimit saved;
	struct acct a;
	int ret;

	(void)arg;
	EXPECT(p, "setup: %m");
	TRY(acct_snap(&a));
	TRY(set_memlock_headroom(&saved, SZ_64K));
	ret = dma_map(iova, p, SZ_4M, RW);
	setrlimit(RLIMIT_MEMLOCK, &saved);
	EXPECT_ERR(ret, 0);
	TRY(acct_expect_mapped(&a, SZ_4M, "mapped past the limit"));
	TRY(expect_unmap(iova, SZ_4M, SZ_4M));
	return acct_expect(&a, 0, 0, "after unmap");
}

/* ------------------------------------------------------------------ */
/* Cases: dirty tracking, vaddr update, PFNMAP                         */

static int dirty_ctl(uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flags };

	return ioctl(vf.container, VFIO_IOMMU_DIRTY_PAGES, &d) ? -errno : 0;
}

static int dirty_get(uint64_t iova, uint64_t size, uint64_t pgsize,
		     uint64_t *bits, size_t bits_bytes)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap d;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} a = {
		.d = { .argsz = sizeof(a), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
		.g = { .iova = iova, .size = size,
		       .bitmap = { .pgsize = pgsize, .size = bits_bytes,
				   .data = (void *)bits } },
	};

	memset(bits, 0, bits_bytes);
	return ioctl(vf.container, VFIO_IOMMU_DIRTY_PAGES, &a) ? -errno : 0;
}

static bool bit_test(const uint64_t *bits, unsigned long i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

/* Bits [@from, @to) all equal @set. */
static int expect_bits(const uint64_t *bits, unsigned long from,
		       unsigned long to, bool set, const char *what)
{
	unsigned long i;

	for (i = from; i < to; i++)
		EXPECT(bit_test(bits, i) == set, "%s: page %lu %s dirty", what, i,
		       set ? "not" : "reported");
	return PASS;
}

/*
 * Stock type1 cannot see which pages a non-mdev device wrote, so while
 * tracking it reports every page of every IOMMU-mapped range dirty, on each
 * query and at unmap; pages outside mappings stay clean.
 */
static int dirty_body(struct region *ra, struct region *rb)
{
	uint64_t bits[32], got, span = rb->iova + rb->size - ra->iova;
	unsigned long npages = span / SZ_4K, b0 = (rb->iova - ra->iova) / SZ_4K;

	EXPECT_ERR(dirty_get(ra->iova, span, SZ_4K, bits, sizeof(bits)), EINVAL);
	EXPECT_ERR(dirty_ctl(VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	EXPECT_ERR(dirty_ctl(VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	EXPECT_ERR(dirty_get(ra->iova, span, SZ_2M, bits, sizeof(bits)), EINVAL);
	EXPECT_ERR(dirty_get(ra->iova + SZ_4K, span - SZ_4K, SZ_4K, bits,
			     sizeof(bits)), EINVAL);
	TRY(dma_copy_check(ra, 3 * SZ_4K + 5, ra, 9 * SZ_4K + 100, 3000));
	EXPECT_ERR(dirty_get(ra->iova, span, SZ_4K, bits, sizeof(bits)), 0);
	TRY(expect_bits(bits, 9, 10, true, "written page"));
	TRY(expect_bits(bits, 0, ra->size / SZ_4K, true, "mapping A"));
	TRY(expect_bits(bits, ra->size / SZ_4K, b0, false, "gap"));
	TRY(expect_bits(bits, b0, npages, true, "mapping B"));
	TRY(expect_bits(bits, npages, sizeof(bits) * 8, false, "past the range"));
	EXPECT_ERR(dirty_get(ra->iova, span, SZ_4K, bits, sizeof(bits)), 0);
	TRY(expect_bits(bits, 0, ra->size / SZ_4K, true, "mapping A, 2nd query"));
	memset(bits, 0, sizeof(bits));
	EXPECT_ERR(unmap_bitmap(ra->iova, ra->size,
				VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, bits,
				sizeof(bits), &got), 0);
	EXPECT(got == ra->size, "unmap with bitmap reported 0x%" PRIx64, got);
	TRY(expect_bits(bits, 0, ra->size / SZ_4K, true, "unmapped A"));
	TRY(expect_bits(bits, ra->size / SZ_4K, sizeof(bits) * 8, false,
			"past unmapped A"));
	EXPECT_ERR(dirty_ctl(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), 0);
	EXPECT_ERR(unmap_bitmap(rb->iova, rb->size,
				VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, bits,
				sizeof(bits), &got), EINVAL);
	return expect_unmap(rb->iova, rb->size, rb->size);
}

static int dirty_case(const void *arg)
{
	uint8_t *p = thp_alloc(SZ_2M), *s = scratch();
	struct region ra = { p, 0x40000000ULL, SZ_2M };
	struct region rb = { s, 0x40000000ULL + SZ_2M + SZ_64K, SZ_64K };
	struct acct a;
	int ret;

	(void)arg;
	if (!vf.have_dirty)
		return skip("no VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION");
	if (!p)
		return SKIP;
	EXPECT(s, "setup: %m");
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(ra.iova, p, ra.size, RW), 0);
	EXPECT_ERR(dma_map(rb.iova, s, rb.size, RW), 0);
	ret = dirty_body(&ra, &rb);
	dirty_ctl(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
	TRY(ret);
	return acct_expect(&a, 0, 0, "after unmap");
}

/*
 * VFIO_UPDATE_VADDR (live update): invalidate the vaddr, drop the old user
 * mapping, map the memfd elsewhere, set the new vaddr. The IOMMU mapping and
 * the pins persist throughout.
 */
static int update_vaddr_case(const void *arg)
{
	size_t len = SZ_2M + SZ_64K;
	uint8_t *p, *q;
	int fd;
	struct region r = { NULL, 0x300000000ULL, len };
	uint64_t got = 0;
	struct acct a;

	(void)arg;
	if (ioctl(vf.container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR) <= 0)
		return skip("no VFIO_UPDATE_VADDR");
	p = memfd_alloc(len, &fd);
	if (!p)
		return SKIP;
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(r.iova, p, len, RW), 0);
	EXPECT_ERR(dma_map(r.iova, p, len, VFIO_DMA_MAP_FLAG_VADDR), EINVAL);
	EXPECT_ERR(dma_unmap(r.iova, len, VFIO_DMA_UNMAP_FLAG_VADDR, &got), 0);
	EXPECT(got == len, "vaddr invalidation reported 0x%" PRIx64, got);
	EXPECT_ERR(dma_unmap(r.iova, len, VFIO_DMA_UNMAP_FLAG_VADDR, &got), EINVAL);
	q = track_map(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
		      len);
	EXPECT(q && !munmap(p, len), "remap: %m");
	r.va = q;
	TRY(acct_expect_mapped(&a, len, "vaddr invalid"));
	TRY(dma_copy_check(&r, SZ_4K, &r, SZ_2M + 100, 3000));
	EXPECT_ERR(dma_map(r.iova, q, SZ_2M, VFIO_DMA_MAP_FLAG_VADDR), EINVAL);
	EXPECT_ERR(dma_map(r.iova, q, len, VFIO_DMA_MAP_FLAG_VADDR), 0);
	TRY(acct_expect_mapped(&a, len, "vaddr updated"));
	TRY(dma_copy_check(&r, SZ_2M - 1000, &r, 7, 2500));
	TRY(expect_unmap(r.iova, len, len));
	return acct_expect(&a, 0, 0, "after unmap");
}

/* BAR0's mmap is VM_PFNMAP: mapped without pins and without charge. */
static int pfnmap_case(const void *arg)
{
	uint64_t iova = 0x60000000ULL;
	struct acct a;

	(void)arg;
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(iova, (void *)vf.bar0, vf.bar0_size, RW), 0);
	TRY(acct_expect(&a, 0, 0, "PFNMAP mapped"));
	TRY(expect_unmap(iova, vf.bar0_size, vf.bar0_size));
	return acct_expect(&a, 0, 0, "after unmap");
}

/*
 * A map that starts with BAR0's VM_PFNMAP run and goes on into anonymous
 * memory one page past RLIMIT_MEMLOCK fails with ENOMEM after BAR0 was
 * mapped: undoing it unmaps BAR0, unpins the anonymous pages, leaves BAR0's
 * PFNs (no struct page) alone and charges nothing. Up to the limit the same
 * map succeeds, charging the anonymous pages only.
 */
static int pfnmap_mixed_body(uint8_t *p)
{
	size_t bar = vf.bar0_size;
	uint64_t iova = 0x60000000ULL;
	struct acct a;

	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(iova, p, bar + SZ_2M + SZ_4K, RW), ENOMEM);
	TRY(acct_expect(&a, 0, 0, "after the failed map"));
	TRY(expect_no_landing(p + bar, iova + bar, EDU_MAX_LEN));
	EXPECT_ERR(dma_map(iova, p, bar + SZ_2M, RW), 0);
	TRY(acct_expect_mapped(&a, SZ_2M, "mapped up to the limit"));
	TRY(expect_unmap(iova, bar + SZ_2M, bar + SZ_2M));
	return acct_expect(&a, 0, 0, "after unmap");
}

static int pfnmap_mixed_case(const void *arg)
{
	size_t bar = vf.bar0_size;
	struct vfio_region_info ri;
	uint8_t *p;
	void *q;

	(void)arg;
	p = anon_aligned(bar + SZ_4M, SZ_4K, MADV_NOHUGEPAGE);
	EXPECT(p, "mmap: %m");
	TRY(region_info(vf.device, VFIO_PCI_BAR0_REGION_INDEX, &ri));
	q = mmap(p, bar, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 vf.device, ri.offset);
	EXPECT(q == p, "mmap BAR0 at %p: %m", (void *)p);
	memset(p + bar, 0x5a, SZ_4M);
	return memlock_limited(SZ_2M, pfnmap_mixed_body, p);
}

/* ------------------------------------------------------------------ */
/* Cases: two IOMMU groups in one container                            */

/*
 * Device B: a second edu, in an IOMMU group of its own, opened at start. A
 * case attaches its group to the container (VFIO_GROUP_SET_CONTAINER): type1
 * gives it a new IOMMU domain and replays every mapping into it
 * (vfio_iommu_replay()), unless a domain already there takes the group too
 * (intel-iommu: both edus behind one IOMMU fit one domain; note_domains()
 * says which happened). run_case() detaches it after the case.
 */
static struct {
	const char *bdf;
	int group, device;
	volatile uint8_t *bar0;
	size_t bar0_size;
	bool attached;
	char why[160];		/* why there is no device B */
} vb = { .group = -1, .device = -1 };

static const char *bdf_a;

static int b_open(const char *bdf, const char *group)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	fd = open(path, O_RDWR);
	EXPECT(fd >= 0, "%s: %m", path);
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		note("group %s: status %m, flags 0x%x: not viable", group, st.flags);
		close(fd);
		return FAIL;
	}
	vb.group = fd;
	vb.bdf = bdf;
	return PASS;
}

/* Page-table root of the domain @bdf is attached to (intel-iommu debugfs). */
static unsigned long long domain_root(const char *bdf)
{
	char path[128], line[256], *at;
	unsigned long long root = 0;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/kernel/debug/iommu/intel/%s/domain_translation_struct", bdf);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f) && (at = strchr(line, '@')))
		root = strtoull(at + 1, NULL, 0);
	fclose(f);
	return root;
}

static void note_domains(void)
{
	unsigned long long ra = domain_root(bdf_a), rb = domain_root(vb.bdf);

	if (!ra || !rb)
		note("cannot tell whether A and B share an IOMMU domain (no intel-iommu debugfs entry)");
	else if (ra == rb)
		note("A and B share one IOMMU domain (page tables at 0x%llx): "
		     "type1 put B's group in A's domain, nothing was replayed", ra);
	else
		note("A and B have IOMMU domains of their own (page tables at 0x%llx, 0x%llx): "
		     "type1 replayed the mappings into B's", ra, rb);
}

/* VFIO_GROUP_SET_CONTAINER for B's group: 0 or -errno. */
static int b_set_container(void)
{
	if (ioctl(vb.group, VFIO_GROUP_SET_CONTAINER, &vf.container))
		return -errno;
	vb.attached = true;
	return 0;
}

/* B's device, once its group is attached: BAR0 mapped, edu answering. */
static int b_open_device(void)
{
	int ret;

	vb.device = ioctl(vb.group, VFIO_GROUP_GET_DEVICE_FD, vb.bdf);
	EXPECT(vb.device >= 0, "GET_DEVICE_FD %s: %m", vb.bdf);
	TRY(device_setup(vb.device, &vb.bar0, &vb.bar0_size));
	edu_bar = vb.bar0;
	ret = edu_check();
	edu_bar = vf.bar0;
	if (ret == PASS)
		note_domains();
	return ret;
}

static int b_attach(void)
{
	EXPECT_ERR(b_set_container(), 0);
	return b_open_device();
}

static int b_detach(void)
{
	if (vb.bar0) {
		munmap((void *)vb.bar0, vb.bar0_size);
		vb.bar0 = NULL;
	}
	if (vb.device >= 0) {
		close(vb.device);
		vb.device = -1;
	}
	if (!vb.attached)
		return PASS;
	vb.attached = false;
	EXPECT(!ioctl(vb.group, VFIO_GROUP_UNSET_CONTAINER),
	       "GROUP_UNSET_CONTAINER: %m");
	return PASS;
}

/*
 * Device @bar copies around a ring of a few windows of @r: its first bytes,
 * offset @edge straddled (if not 0), the first 2M boundary of its address,
 * its last bytes. Fewer than region_dma_check() samples: an edu transfer
 * takes ~100 ms (QEMU TCG, its DMA timer).
 */
static int dma_check_via(volatile uint8_t *bar, const struct region *r,
			 size_t edge)
{
	struct window w[MAX_WINDOWS];
	int n = 0, i, ret = PASS;

	n = add_window(w, n, r->size, 0);
	if (edge)
		n = add_edge(w, n, r->size, edge);
	n = add_edge(w, n, r->size, next_boundary((uintptr_t)r->va, SZ_2M));
	n = add_window(w, n, r->size, r->size - MIN(r->size, EDU_MAX_LEN));
	edu_bar = bar;
	for (i = 0; i < n && ret == PASS; i++)
		ret = dma_copy_check(r, w[i].off, r, w[(i + 1) % n].off,
				     MIN(w[i].len, w[(i + 1) % n].len));
	edu_bar = vf.bar0;
	return ret;
}

static int dma_check_both(const struct region *r, size_t edge)
{
	TRY(dma_check_via(vf.bar0, r, edge));
	return dma_check_via(vb.bar0, r, edge);
}

/* A write by device @bar to @r's page @pg, unmapped, must not land. */
static int no_landing_via(volatile uint8_t *bar, const struct region *r,
			  size_t pg)
{
	size_t off = pg * SZ_4K + 300;
	int ret;

	edu_bar = bar;
	ret = expect_no_landing(r->va + off, r->iova + off, 1000);
	edu_bar = vf.bar0;
	return ret;
}

/* Neither device's writes land in @r (each at a page of its own). */
static int no_landing_both(const struct region *r)
{
	TRY(no_landing_via(vf.bar0, r, 0));
	return no_landing_via(vb.bar0, r, r->size / SZ_4K - 1);
}

static const enum backing multi_backings[] = { ANON_4K, ANON_THP, HUGETLB_2M };

/*
 * Both groups attached, then 16M mapped in two halves: pinned and charged
 * once, however many domains hold it; both devices reach it (across the
 * halves' seam too). Unmapping one half stops both devices there while the
 * other half still works for both; unmapping the other stops both there too.
 * Each backing at an IOVA of its own, so that each expected DMAR fault is
 * at a page of its own.
 */
static int multi_case(const void *arg)
{
	const enum backing *bp = arg;
	enum backing b = *bp;
	uint64_t iova = 0x140000000ULL + (bp - multi_backings) * SZ_1G;
	size_t half = SZ_8M;
	struct region whole, lo, hi;
	struct acct a;
	uint8_t *p;

	if (vb.group < 0)
		return skip("%s", vb.why);
	p = backing_alloc(b, 2 * half);
	if (!p)
		return SKIP;
	whole = (struct region){ p, iova, 2 * half };
	lo = (struct region){ p, whole.iova, half };
	hi = (struct region){ p + half, whole.iova + half, half };
	TRY(b_attach());
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(lo.iova, lo.va, half, RW), 0);
	EXPECT_ERR(dma_map(hi.iova, hi.va, half, RW), 0);
	TRY(acct_expect_mapped(&a, 2 * half, "mapped, two groups attached"));
	TRY(dma_check_both(&whole, half));
	TRY(expect_unmap(lo.iova, half, half));
	TRY(acct_expect_mapped(&a, half, "one half unmapped"));
	TRY(no_landing_via(vf.bar0, &lo, 0));
	TRY(dma_check_both(&hi, 0));	/* meanwhile: faults 2 s apart */
	TRY(no_landing_via(vb.bar0, &lo, half / SZ_4K - 1));
	TRY(expect_unmap(hi.iova, half, half));
	TRY(acct_expect(&a, 0, 0, "both halves unmapped"));
	TRY(no_landing_both(&hi));
	return b_detach();
}

/*
 * Mappings made with A's group alone (4K anonymous, THP, hugetlb 2M), then
 * B's group attached: B reaches all of them, and the attach pins and
 * charges nothing, as the pins A's domain holds are what a replay maps.
 */
static int multi_replay_case(const void *arg)
{
	static const uint64_t iovas[] = {
		0x40001000ULL, 0x140000000ULL, 0x200000000ULL,
	};
	struct region r[ARRAY_SIZE(multi_backings)];
	size_t total = ARRAY_SIZE(r) * SZ_8M;
	struct acct a;
	unsigned int i;

	(void)arg;
	if (vb.group < 0)
		return skip("%s", vb.why);
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		r[i] = (struct region){ backing_alloc(multi_backings[i], SZ_8M),
					iovas[i], SZ_8M };
		if (!r[i].va)
			return SKIP;
	}
	TRY(acct_snap(&a));
	for (i = 0; i < ARRAY_SIZE(r); i++)
		EXPECT_ERR(dma_map(r[i].iova, r[i].va, SZ_8M, RW), 0);
	TRY(acct_expect_mapped(&a, total, "mapped, A's group alone"));
	TRY(b_attach());
	TRY(acct_expect_mapped(&a, total, "B's group attached"));
	for (i = 0; i < ARRAY_SIZE(r); i++)
		TRY(dma_check_via(vb.bar0, &r[i], 0));
	TRY(dma_check_via(vf.bar0, &r[1], 0));
	for (i = 0; i < ARRAY_SIZE(r); i++)
		TRY(expect_unmap(r[i].iova, SZ_8M, SZ_8M));
	TRY(acct_expect(&a, 0, 0, "after unmap"));
	TRY(no_landing_via(vb.bar0, &r[0], 1));
	return b_detach();
}

/*
 * The same attach without CAP_IPC_LOCK and with RLIMIT_MEMLOCK at what is
 * locked already. The mappings are pinned and charged, so whether B gets a
 * replay or joins A's domain there is nothing to charge: the attach
 * succeeds, pins and locked_vm stay put, and B reaches the mapping. A map
 * made meanwhile (charged) fails with ENOMEM: the limit was binding.
 */
static int multi_replay_rlimit_case(const void *arg)
{
	uint8_t *p = anon_aligned(SZ_8M, SZ_4K, MADV_NOHUGEPAGE), *s = scratch();
	struct region r = { p, 0x40000000ULL, SZ_8M };
	int attach = -EPERM, more = -EPERM;
	struct rlimit saved;
	struct acct a;
	int ret;

	(void)arg;
	if (vb.group < 0)
		return skip("%s", vb.why);
	EXPECT(p && s, "setup: %m");
	TRY(acct_snap(&a));
	EXPECT_ERR(dma_map(r.iova, p, SZ_8M, RW), 0);
	TRY(acct_expect_mapped(&a, SZ_8M, "mapped, A's group alone"));
	EXPECT(!set_cap_ipc_lock(false), "capset: %m");
	ret = set_memlock_headroom(&saved, 0);
	if (ret == PASS) {
		note("no CAP_IPC_LOCK, RLIMIT_MEMLOCK %ld kB = VmLck", vmlck_kb());
		attach = b_set_container();
		more = dma_map(0x50000000ULL, s, SZ_4K, RW);
		setrlimit(RLIMIT_MEMLOCK, &saved);
	}
	EXPECT(!set_cap_ipc_lock(true), "capset: %m");
	TRY(ret);
	EXPECT(!attach, "attach under the limit = %s, want 0", errname(-attach));
	EXPECT(more == -ENOMEM, "map past the limit = %s, want ENOMEM",
	       errname(-more));
	TRY(acct_expect_mapped(&a, SZ_8M, "B's group attached under the limit"));
	TRY(b_open_device());
	TRY(dma_check_via(vb.bar0, &r, 0));
	TRY(expect_unmap(r.iova, SZ_8M, SZ_8M));
	TRY(acct_expect(&a, 0, 0, "after unmap"));
	return b_detach();
}

/*
 * A replay that fails to charge, and its unwind: type1 pins (and charges)
 * at attach only mappings made while the container held no IOMMU-backed
 * domain, i.e. emulated-IOMMU (mdev) groups alone.
 */
static int multi_replay_unwind_case(const void *arg)
{
	bool mdev = !access("/sys/class/mdev_bus", F_OK);

	(void)arg;
	if (vb.group < 0)
		return skip("%s", vb.why);
	return skip("a replay pins and charges only mappings made while the "
		    "container had emulated-IOMMU (mdev) groups alone; %s",
		    mdev ? "this program does not drive mdev devices"
		      : "this kernel has no mdev parent (no /sys/class/mdev_bus)");
}

/* ------------------------------------------------------------------ */
/* Runner                                                              */

static char **filters;
static int nfilters;
static int nfailed;

static bool selected(const char *name)
{
	int i;

	for (i = 0; i < nfilters; i++)
		if (!strncmp(name, filters[i], strlen(filters[i])))
			return true;
	return !nfilters;
}

/* Whatever a case leaves mapped is a failure; remove it for the next one. */
static int leftover_mappings(void)
{
	uint64_t left = 0;

	if (dma_unmap(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &left))
		return FAIL;
	EXPECT(!left, "case left 0x%" PRIx64 " bytes mapped", left);
	return PASS;
}

static void run_case(const char *name, int (*fn)(const void *), const void *arg)
{
	struct acct a;
	double t0;
	int ret;

	if (!selected(name))
		return;
	skip_why[0] = 0;
	edu_bar = vf.bar0;
	rng_seed(name);
	t0 = now_ms();
	ret = acct_snap(&a);
	if (ret == PASS)
		ret = fn(arg);
	if (leftover_mappings() != PASS && ret != SKIP)
		ret = FAIL;
	if (b_detach() != PASS)
		ret = FAIL;
	release_all();
	if (ret != SKIP && acct_expect(&a, 0, 0, "after the case") != PASS)
		ret = FAIL;
	note("%s: %.2f s", name, (now_ms() - t0) / 1e3);
	if (ret == PASS) {
		printf("ok - %s\n", name);
	} else if (ret == SKIP) {
		printf("skip - %s: %s\n", name, skip_why[0] ? skip_why : "?");
	} else {
		printf("not ok - %s\n", name);
		nfailed++;
	}
	fflush(stdout);
}

static void run_region_cases(void)
{
	static struct region_case cases[ARRAY_SIZE(backings) * ARRAY_SIZE(region_specs)];
	unsigned int b, s, n = 0;
	char name[64];

	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		for (s = 0; s < ARRAY_SIZE(region_specs); s++, n++) {
			cases[n].backing = b;
			cases[n].spec = &region_specs[s];
			snprintf(name, sizeof(name), "dma-%s-%s", backings[b].name,
				 region_specs[s].name);
			run_case(name, region_case, &cases[n]);
		}
	}
	run_case("dma-mixed-vmas", mixed_case, NULL);
}

static void run_multi_cases(void)
{
	char name[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(multi_backings); i++) {
		snprintf(name, sizeof(name), "multi-%s",
			 backings[multi_backings[i]].name);
		run_case(name, multi_case, &multi_backings[i]);
	}
	run_case("multi-attach-replay", multi_replay_case, NULL);
	run_case("multi-attach-replay-rlimit", multi_replay_rlimit_case, NULL);
	run_case("multi-attach-replay-unwind", multi_replay_unwind_case, NULL);
}

static void run_arg_cases(void)
{
	char name[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad_maps); i++) {
		snprintf(name, sizeof(name), "map-%s", bad_maps[i].name);
		run_case(name, bad_map_case, &bad_maps[i]);
	}
	for (i = 0; i < ARRAY_SIZE(bad_unmaps); i++) {
		snprintf(name, sizeof(name), "unmap-%s", bad_unmaps[i].name);
		run_case(name, bad_unmap_case, &bad_unmaps[i]);
	}
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s -d BDF -g GROUP [-D BDF2 -G GROUP2] [CASE-PREFIX...]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *bdf = NULL, *group = NULL, *bdf_b = NULL, *group_b = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "d:g:D:G:")) != -1) {
		if (opt == 'd')
			bdf = optarg;
		else if (opt == 'g')
			group = optarg;
		else if (opt == 'D')
			bdf_b = optarg;
		else if (opt == 'G')
			group_b = optarg;
		else
			usage(argv[0]);
	}
	if (!bdf || !group || !bdf_b != !group_b)
		usage(argv[0]);
	bdf_a = bdf;
	filters = argv + optind;
	nfilters = argc - optind;

	if (vfio_setup(bdf, group) != PASS || edu_check() != PASS) {
		printf("not ok - setup\n");
		return 1;
	}
	printf("ok - setup\n");
	if (!bdf_b) {
		snprintf(vb.why, sizeof(vb.why), "one edu device: a second one, in a "
			 "group of its own, comes with lab/run-guest.sh --edu 2");
	} else if (!strcmp(group_b, group)) {
		snprintf(vb.why, sizeof(vb.why), "edu %s is in group %s too: "
			 "these cases need two groups", bdf_b, group);
		note("%s", vb.why);
		printf("not ok - setup-b\n");
		nfailed++;
	} else if (b_open(bdf_b, group_b) != PASS) {
		snprintf(vb.why, sizeof(vb.why), "setup of edu %s failed", bdf_b);
		printf("not ok - setup-b\n");
		nfailed++;
	} else {
		note("device A %s (group %s), device B %s (group %s)", bdf, group,
		     bdf_b, group_b);
		printf("ok - setup-b\n");
	}
	run_region_cases();
	run_arg_cases();
	run_case("map-partial-vaddr", partial_vaddr_case, NULL);
	run_case("map-overlap", overlap_case, NULL);
	run_case("map-alias", alias_case, NULL);
	run_case("map-read-only", read_only_case, NULL);
	run_case("map-read-only-untouched", untouched_case, NULL);
	run_case("map-rlimit", rlimit_case, NULL);
	run_case("map-rlimit-cap-ipc-lock", rlimit_cap_case, NULL);
	run_case("map-pfnmap-bar", pfnmap_case, NULL);
	run_case("map-pfnmap-bar-then-rlimit", pfnmap_mixed_case, NULL);
	run_case("unmap-span", unmap_span_case, NULL);
	run_case("unmap-all", unmap_all_case, NULL);
	run_case("dirty-pages", dirty_case, NULL);
	run_case("update-vaddr", update_vaddr_case, NULL);
	run_multi_cases();
	return nfailed ? 1 : 0;
}
