// SPDX-License-Identifier: GPL-2.0
/*
 * bench_vfio: VFIO type1 MAP_DMA / UNMAP_DMA and iommufd IOAS_MAP /
 * IOAS_UNMAP latency, by memory kind and mapping size, through QEMU's edu
 * device (PCI 1234:11e8) behind the emulated intel-iommu. Binds nothing:
 * tests/vfio/bind.sh binds edu to vfio-pci first and names BDF and GROUP.
 *
 * Two phases, because a device attached to iommufd through its cdev cannot
 * be in a type1 container at the same time:
 *   1. type1: container + group + device; ops type1_map, type1_unmap;
 *   2. iommufd: /dev/iommu, one IOAS, and edu bound through its VFIO cdev
 *      (/dev/vfio/devices/vfioN) and attached to the IOAS, so the IOAS has
 *      an IOMMU domain; ops ioas_map, ioas_unmap, and for memfd2m also
 *      ioas_map_file, ioas_unmap_file (IOMMU_IOAS_MAP_FILE of the memfd).
 *      If the device cannot be attached, the IOAS is measured without it
 *      and a '#' line on stderr says so: no domain, so no IOMMU mapping.
 * Per kind, the largest size asked for is mapped once and populated
 * (MADV_POPULATE_WRITE), so what is timed is only the ioctl, and both
 * phases run on it, so that type1 and iommufd map the same physical layout
 * (stderr says how many physically contiguous runs it is: a hugetlb
 * pool's pages come in the order earlier kinds freed them). Then, in each
 * phase, for each size (the mapping is always [base, base + size) at IOVA 4 GiB):
 *   1. the backing is verified (smaps totals and the kpageflags of every
 *      leaf, or of sampled 4K pages): a mismatch aborts the cell loudly;
 *   2. one untimed map checks the pins it takes (exactly size/4K: type1
 *      and iommufd alike pin every page they map into an IOMMU domain)
 *      and, with the device attached, moves bytes by DMA: edu reads a
 *      pattern near the region's end through the IOMMU and writes it at
 *      its start, and the CPU checks it there; the unmap must give back
 *      every pin and report the whole size unmapped;
 *   3. WARMUP + RUNS map/unmap pairs, each ioctl timed with
 *      CLOCK_MONOTONIC; the pin balance (nr_foll_pin_acquired -
 *      nr_foll_pin_released, exact, read in-process) must be unchanged.
 * A cell prints its CSV lines only if all of that passed:
 *   kind,size,op,n,min_us,median_us,max_us
 *
 * Usage: bench_vfio -d BDF -g GROUP [-k KINDS] [-s SIZES] [-n RUNS]
 *                   [-w WARMUP]
 *   KINDS  comma list of thp,4k,huge2m,memfd2m,huge1g (default all)
 *   SIZES  comma list of byte counts with optional K/M/G, multiples of 4K
 *          (default 4K,2M,64M,512M, and 1G too for huge1g)
 * Needs root (PFNs in /proc/self/pagemap, vm/stat_refresh); the hugetlb
 * kinds need their pools reserved. Exit status 1 if any cell failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/vfio.h>
#include "bench_backing.h"
#include "pinbal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * iommufd and the VFIO device cdev (Linux 6.6; IOMMU_IOAS_MAP_FILE 6.13):
 * the host's linux-libc-dev predates them, so what this program uses is
 * copied here from include/uapi/linux/{iommufd,vfio}.h, under local names.
 */
#define UFD_TYPE		(';')
#define UFD_IOAS_ALLOC		_IO(UFD_TYPE, 0x81)
#define UFD_IOAS_MAP		_IO(UFD_TYPE, 0x85)
#define UFD_IOAS_UNMAP		_IO(UFD_TYPE, 0x86)
#define UFD_IOAS_MAP_FILE	_IO(UFD_TYPE, 0x8f)
#define UFD_MAP_FIXED_IOVA	(1 << 0)
#define UFD_MAP_WRITEABLE	(1 << 1)
#define UFD_MAP_READABLE	(1 << 2)

struct ufd_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

struct ufd_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

struct ufd_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};

struct ufd_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define UFD_VFIO_BIND_IOMMUFD		_IO(VFIO_TYPE, VFIO_BASE + 18)
#define UFD_VFIO_ATTACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 19)

struct ufd_vfio_bind {		/* struct vfio_device_bind_iommufd, 6.6 size */
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};

struct ufd_vfio_attach {	/* struct vfio_device_attach_iommufd_pt */
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
	__u32 pasid;
};


#define MAX_SIZES	32
#define MAX_KINDS	8
#define IOVA		0x100000000ULL	/* 4 GiB: 1G-aligned, above the MSI window */
#define DMA_LEN		128	/* bytes edu copies in the DMA check */
#define DMA_FROM_END	256	/* ... from this far before the region's end */

static const struct kind kinds[] = {	/* in the default order: THP first */
	{ "thp", BACK_THP, SZ_2M, false, 0, MADV_HUGEPAGE, false },
	{ "4k", BACK_4K, SZ_4K, false, 0, MADV_NOHUGEPAGE, false },
	{ "huge2m", BACK_HUGETLB, SZ_2M, false,
	  MAP_HUGETLB | HUGE_SHIFT_FLAG(21), -1, false },
	{ "memfd2m", BACK_HUGETLB, SZ_2M, true,
	  MFD_HUGETLB | HUGE_SHIFT_FLAG(21), -1, false },
	{ "huge1g", BACK_HUGETLB, SZ_1G, false,
	  MAP_HUGETLB | HUGE_SHIFT_FLAG(30), -1, false },
};

struct region {
	const struct kind *kind;
	char *base;
	size_t len;
	int fd;			/* the memfd of a memfd kind, else -1 */
};

struct cell {
	const struct region *rg;
	size_t size;
	char label[64];		/* "kind size" for messages */
};

/*
 * One way of mapping and unmapping: the ops it prints and two calls that
 * return 0 or -errno. unmap() stores the size the kernel says it unmapped.
 */
struct mapper {
	const char *map_op, *unmap_op;
	int (*map)(const struct cell *c);
	int (*unmap)(const struct cell *c, uint64_t *unmapped);
	bool memfd_only;	/* only for memfd kinds */
};

struct options {
	const char *bdf, *group;
	const struct kind *kinds[MAX_KINDS];
	int nkinds;
	size_t sizes[MAX_SIZES];
	int nsizes;
	bool default_sizes;
	int runs;
	int warmup;
	const char *only;	/* -m: the one map op to run, or NULL */
};


/* The VFIO objects of the current phase. */
static struct {
	int container, group, device;	/* device: -1 if none attached */
	int iommufd;
	__u32 ioas_id;
	volatile uint8_t *bar0;
	size_t bar0_size;
} vf = { -1, -1, -1, -1, 0, NULL, 0 };

/* ---- helpers -------------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}

static void format_size(char *buf, size_t len, size_t size)
{
	if (size >= SZ_1G && !(size % SZ_1G))
		snprintf(buf, len, "%zuG", size / SZ_1G);
	else if (size >= (1UL << 20) && !(size % (1UL << 20)))
		snprintf(buf, len, "%zuM", size >> 20);
	else
		snprintf(buf, len, "%zuK", size >> 10);
}

/* A cell failed: say which and why, loudly, on stderr. */
static bool cell_abort(const struct cell *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool cell_abort(const struct cell *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_vfio: ABORT cell %s: ", c->label);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

/* Setup failed: say what, with errno. */
static bool fail(const char *what)
{
	fprintf(stderr, "bench_vfio: %s: %s\n", what, strerror(errno));
	return false;
}

/* splitmix64: the expected content of every 8-byte word of a DMA check. */
static uint64_t pattern_word(uint64_t seed, uint64_t i)
{
	uint64_t z = seed + i * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void pattern_fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = pattern_word(seed, i);
}

static bool pattern_ok(const void *buf, size_t len, uint64_t seed)
{
	const uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != pattern_word(seed, i))
			return false;
	return true;
}

/* ---- memory --------------------------------------------------------- */

/*
 * A mapping of @len bytes of kind @k (a memfd kind keeps its fd in @fd, for
 * IOMMU_IOAS_MAP_FILE). Hugetlb mappings are aligned by the kernel; private
 * anonymous ones are aligned to 2M here, for THP.
 */
static char *map_kind(const struct kind *k, size_t len, int *fd)
{
	char *p, *aligned;

	*fd = -1;
	if (k->memfd) {
		*fd = memfd_create("bench_vfio", MFD_CLOEXEC | k->flags);
		if (*fd < 0)
			return NULL;
		p = ftruncate(*fd, len) ? MAP_FAILED :
		    mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	if (k->backing == BACK_HUGETLB) {	/* the kernel aligns these */
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | k->flags, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	p = mmap(NULL, len + SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | k->flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	aligned = (char *)round_up((uintptr_t)p, SZ_2M);
	if (aligned > p)
		munmap(p, aligned - p);
	if (p + SZ_2M > aligned)
		munmap(aligned + len, p + SZ_2M - aligned);
	return aligned;
}

static bool region_map(struct region *rg, const struct kind *k, size_t len)
{
	rg->kind = k;
	rg->len = round_up(len, k->leaf);
	rg->base = map_kind(k, rg->len, &rg->fd);
	if (!rg->base) {
		fprintf(stderr, "bench_vfio: %s: cannot map %zu bytes: %s\n",
			k->name, rg->len, strerror(errno));
		return false;
	}
	if (k->advice >= 0 && madvise(rg->base, rg->len, k->advice)) {
		fprintf(stderr, "bench_vfio: %s: madvise: %s\n", k->name,
			strerror(errno));
		return false;
	}
	if (madvise(rg->base, rg->len, MADV_POPULATE_WRITE)) {
		fprintf(stderr, "bench_vfio: %s: MADV_POPULATE_WRITE: %s\n",
			k->name, strerror(errno));
		return false;
	}
	return true;
}

static void region_unmap(struct region *rg)
{
	if (rg->base)
		munmap(rg->base, rg->len);
	if (rg->fd >= 0)
		close(rg->fd);
	rg->base = NULL;
	rg->fd = -1;
}

/* ---- backing verification: bench_backing.c ------------------------- */

static bool check_backing(const struct cell *c)
{
	const struct backing_cell bc = {
		c->rg->kind, c->rg->base, c->size, c->label
	};

	return backing_check(&bc);
}

/* ---- edu DMA (as in tests/vfio/type1_test.c) ------------------------ */

#define EDU_ID		0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000	/* the device's 4K buffer, in its DMA space */
#define EDU_TIMEOUT_NS	(10LL * 1000 * 1000 * 1000)

static uint64_t edu_r64(unsigned int reg)
{
	return *(volatile uint64_t *)(vf.bar0 + reg);
}

static void edu_w64(unsigned int reg, uint64_t v)
{
	*(volatile uint64_t *)(vf.bar0 + reg) = v;
}

/* One transfer between the edu buffer and @iova; false if it never ends. */
static bool edu_dma(uint64_t src, uint64_t dst, uint32_t len, uint32_t cmd)
{
	int64_t deadline = now_ns() + EDU_TIMEOUT_NS;

	edu_w64(EDU_DMA_SRC, src);
	edu_w64(EDU_DMA_DST, dst);
	edu_w64(EDU_DMA_CNT, len);
	edu_w64(EDU_DMA_CMD, cmd | EDU_CMD_START);
	while (edu_r64(EDU_DMA_CMD) & EDU_CMD_START) {
		if (now_ns() > deadline)
			return false;
		usleep(1000);
	}
	return true;
}

/*
 * Map BAR0 and enable memory space and bus mastering: what edu DMA needs.
 * The caller has the device fd in vf.device.
 */
static bool device_setup(void)
{
	struct vfio_region_info bar = { .argsz = sizeof(bar),
					.index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg),
					.index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd;
	void *p;

	if (ioctl(vf.device, VFIO_DEVICE_GET_REGION_INFO, &bar) ||
	    ioctl(vf.device, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		return fail("VFIO_DEVICE_GET_REGION_INFO");
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, vf.device,
		 bar.offset);
	if (p == MAP_FAILED)
		return fail("mmap of edu BAR0");
	vf.bar0 = p;
	vf.bar0_size = bar.size;
	if (pread(vf.device, &cmd, 2, cfg.offset + 4) != 2)
		return fail("PCI command register");
	cmd |= 0x6;	/* memory space, bus master */
	if (pwrite(vf.device, &cmd, 2, cfg.offset + 4) != 2)
		return fail("PCI command register");
	if (*(volatile uint32_t *)(vf.bar0 + EDU_ID) != 0x010000ed) {
		fprintf(stderr, "bench_vfio: BAR0 is not edu's (id %#x)\n",
			*(volatile uint32_t *)(vf.bar0 + EDU_ID));
		return false;
	}
	return true;
}

static void device_close(void)
{
	if (vf.bar0)
		munmap((void *)vf.bar0, vf.bar0_size);
	vf.bar0 = NULL;
	if (vf.device >= 0)
		close(vf.device);
	vf.device = -1;
}

/*
 * With the region mapped at IOVA: edu reads DMA_LEN bytes DMA_FROM_END
 * before the end of the mapping into its buffer, then writes them at the
 * start; the CPU must find them there. Seeds are never reused, so what an
 * earlier cell left in memory cannot pass for it.
 */
static bool dma_check(const struct cell *c)
{
	static uint64_t next_seed = 1;
	uint64_t seed = next_seed;
	size_t from = c->size - DMA_FROM_END;
	char *src = c->rg->base + from, *dst = c->rg->base;

	next_seed += 2;
	pattern_fill(src, DMA_LEN, seed);
	pattern_fill(dst, DMA_LEN, seed + 1);
	if (!edu_dma(IOVA + from, EDU_BUF, DMA_LEN, 0) ||
	    !edu_dma(EDU_BUF, IOVA, DMA_LEN, EDU_CMD_TO_RAM))
		return cell_abort(c, "edu DMA did not complete");
	if (!pattern_ok(dst, DMA_LEN, seed))
		return cell_abort(c, "edu DMA from IOVA %#llx to %#llx: the bytes at the region's start are not those at +%#zx",
				  IOVA + from, IOVA, from);
	return true;
}

/* ---- type1 ---------------------------------------------------------- */

static int type1_map(const struct cell *c)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)c->rg->base, .iova = IOVA, .size = c->size,
	};

	return ioctl(vf.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
}

static int type1_unmap(const struct cell *c, uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = IOVA, .size = c->size,
	};

	if (ioctl(vf.container, VFIO_IOMMU_UNMAP_DMA, &u))
		return -errno;
	*unmapped = u.size;
	return 0;
}

static const struct mapper type1_mappers[] = {
	{ "type1_map", "type1_unmap", type1_map, type1_unmap, false },
};

static bool type1_open(const char *bdf, const char *group)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];

	vf.container = open("/dev/vfio/vfio", O_RDWR);
	if (vf.container < 0)
		return fail("/dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	vf.group = open(path, O_RDWR);
	if (vf.group < 0)
		return fail(path);
	if (ioctl(vf.group, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		fprintf(stderr, "bench_vfio: group %s not viable\n", group);
		return false;
	}
	if (ioctl(vf.group, VFIO_GROUP_SET_CONTAINER, &vf.container))
		return fail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(vf.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return fail("VFIO_SET_IOMMU type1v2");
	vf.device = ioctl(vf.group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (vf.device < 0)
		return fail("VFIO_GROUP_GET_DEVICE_FD");
	return device_setup();
}

static void type1_close(void)
{
	device_close();
	if (vf.group >= 0)
		close(vf.group);
	if (vf.container >= 0)
		close(vf.container);
	vf.group = vf.container = -1;
}

/* ---- iommufd -------------------------------------------------------- */

static int ioas_map(const struct cell *c)
{
	struct ufd_ioas_map m = {
		.size = sizeof(m),
		.flags = UFD_MAP_FIXED_IOVA | UFD_MAP_WRITEABLE | UFD_MAP_READABLE,
		.ioas_id = vf.ioas_id, .user_va = (uintptr_t)c->rg->base,
		.length = c->size, .iova = IOVA,
	};

	return ioctl(vf.iommufd, UFD_IOAS_MAP, &m) ? -errno : 0;
}

static int ioas_map_file(const struct cell *c)
{
	struct ufd_ioas_map_file m = {
		.size = sizeof(m),
		.flags = UFD_MAP_FIXED_IOVA | UFD_MAP_WRITEABLE | UFD_MAP_READABLE,
		.ioas_id = vf.ioas_id, .fd = c->rg->fd, .start = 0,
		.length = c->size, .iova = IOVA,
	};

	return ioctl(vf.iommufd, UFD_IOAS_MAP_FILE, &m) ? -errno : 0;
}

static int ioas_unmap(const struct cell *c, uint64_t *unmapped)
{
	struct ufd_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = vf.ioas_id, .iova = IOVA,
		.length = c->size,
	};

	if (ioctl(vf.iommufd, UFD_IOAS_UNMAP, &u))
		return -errno;
	*unmapped = u.length;
	return 0;
}

static const struct mapper ioas_mappers[] = {
	{ "ioas_map", "ioas_unmap", ioas_map, ioas_unmap, false },
	{ "ioas_map_file", "ioas_unmap_file", ioas_map_file, ioas_unmap, true },
};

/* /dev/vfio/devices/vfioN of PCI device @bdf, or false. */
static bool vfio_cdev(const char *bdf, char *path, size_t len)
{
	char pat[128];
	glob_t g;
	bool ok;

	snprintf(pat, sizeof(pat), "/sys/bus/pci/devices/%s/vfio-dev/vfio*", bdf);
	ok = !glob(pat, 0, NULL, &g) && g.gl_pathc == 1;
	if (ok)
		snprintf(path, len, "/dev/vfio/devices/%s",
			 strrchr(g.gl_pathv[0], '/') + 1);
	globfree(&g);
	return ok;
}

/*
 * Attach edu to the IOAS through its cdev, so that the IOAS has an IOMMU
 * domain to map into. False, with the reason on stderr, if it cannot be.
 */
static bool ioas_attach(const char *bdf)
{
	struct ufd_vfio_bind bind = { .argsz = sizeof(bind), .iommufd = vf.iommufd };
	struct ufd_vfio_attach at = { .argsz = sizeof(at), .pt_id = vf.ioas_id };
	char path[96];

	if (!vfio_cdev(bdf, path, sizeof(path))) {
		fprintf(stderr, "bench_vfio: %s has no VFIO cdev (CONFIG_VFIO_DEVICE_CDEV?)\n", bdf);
		return false;
	}
	vf.device = open(path, O_RDWR);
	if (vf.device < 0)
		return fail(path);
	if (ioctl(vf.device, UFD_VFIO_BIND_IOMMUFD, &bind))
		return fail("VFIO_DEVICE_BIND_IOMMUFD");
	if (ioctl(vf.device, UFD_VFIO_ATTACH_IOMMUFD_PT, &at))
		return fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	fprintf(stderr, "# bench_vfio: iommufd: %s (devid %u) attached to IOAS %u, hwpt %u\n",
		path, bind.out_devid, vf.ioas_id, at.pt_id);
	return device_setup();
}

static bool ioas_open(const char *bdf)
{
	struct ufd_ioas_alloc a = { .size = sizeof(a) };

	vf.iommufd = open("/dev/iommu", O_RDWR);
	if (vf.iommufd < 0)
		return fail("/dev/iommu");
	if (ioctl(vf.iommufd, UFD_IOAS_ALLOC, &a))
		return fail("IOMMU_IOAS_ALLOC");
	vf.ioas_id = a.out_ioas_id;
	if (!ioas_attach(bdf)) {
		device_close();
		fprintf(stderr, "# bench_vfio: iommufd: NO device attached: the IOAS has no IOMMU domain, ioas_* time IOAS bookkeeping without pinning or IOMMU mapping\n");
	}
	return true;
}

static void ioas_close(void)
{
	device_close();
	if (vf.iommufd >= 0)
		close(vf.iommufd);
	vf.iommufd = -1;
}

/* ---- one cell ------------------------------------------------------- */

struct samples {
	double *map_us, *unmap_us;
};

static bool unmap_checked(const struct cell *c, const struct mapper *m)
{
	uint64_t unmapped = 0;
	int r = m->unmap(c, &unmapped);

	if (r)
		return cell_abort(c, "%s: %s", m->unmap_op, strerror(-r));
	if (unmapped != c->size)
		return cell_abort(c, "%s unmapped %#" PRIx64 " bytes, want %#zx",
				  m->unmap_op, unmapped, c->size);
	return true;
}

/*
 * One untimed map: the pins it takes (into an IOMMU domain, type1 and
 * iommufd alike pin every 4K page, from a memfd too; without a device
 * attached, an IOAS has no domain and what it pins is only reported), a DMA
 * through it when a device is attached, then the unmap gives every pin back.
 */
static bool verify_map(const struct cell *c, const struct mapper *m)
{
	long long want = c->size / SZ_4K, d;
	struct pinbal pb;
	bool ok = true;
	int r;

	if (pinbal_read(&pb))
		return cell_abort(c, "cannot read the pin balance");
	r = m->map(c);
	if (r)
		return cell_abort(c, "%s: %s", m->map_op, strerror(-r));
	d = pinbal_delta(&pb);
	if (vf.device >= 0 && d != want)
		ok = cell_abort(c, "%s: %lld pages pinned while mapped, want %lld",
				m->map_op, d, want);
	else if (vf.device < 0)
		fprintf(stderr, "# bench_vfio: %s %s without a domain: %lld pins while mapped (%lld pages)\n",
			c->label, m->map_op, d, want);
	if (ok && vf.device >= 0)
		ok = dma_check(c);
	if (!unmap_checked(c, m))
		return false;
	d = pinbal_delta(&pb);
	if (ok && d)
		return cell_abort(c, "pin balance %+lld after %s", d, m->unmap_op);
	return ok;
}

static bool time_map_unmap(const struct cell *c, const struct mapper *m,
			   const struct options *o, struct samples *s)
{
	int64_t t0, t1, t2;
	uint64_t unmapped;
	int i, r;

	for (i = 0; i < o->warmup + o->runs; i++) {
		t0 = now_ns();
		r = m->map(c);
		t1 = now_ns();
		if (r)
			return cell_abort(c, "%s: %s", m->map_op, strerror(-r));
		r = m->unmap(c, &unmapped);
		t2 = now_ns();
		if (r)
			return cell_abort(c, "%s: %s", m->unmap_op, strerror(-r));
		if (unmapped != c->size)
			return cell_abort(c, "%s unmapped %#" PRIx64 " bytes, want %#zx",
					  m->unmap_op, unmapped, c->size);
		if (i >= o->warmup) {
			s->map_us[i - o->warmup] = (t1 - t0) / 1000.0;
			s->unmap_us[i - o->warmup] = (t2 - t1) / 1000.0;
		}
	}
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void print_stats(const struct cell *c, const char *op, double *v, int n)
{
	double median;

	qsort(v, n, sizeof(*v), cmp_double);
	median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	printf("%s,%zu,%s,%d,%.3f,%.3f,%.3f\n", c->rg->kind->name, c->size, op,
	       n, v[0], median, v[n - 1]);
}

static bool run_cell(const struct cell *c, const struct mapper *m,
		     const struct options *o, struct samples *s)
{
	struct pinbal pb;
	long long d;

	if (!check_backing(c) || !verify_map(c, m))
		return false;
	if (pinbal_read(&pb))
		return cell_abort(c, "cannot read the pin balance");
	if (!time_map_unmap(c, m, o, s))
		return false;
	d = pinbal_delta(&pb);
	if (d)
		return cell_abort(c, "pin balance %+lld after %d %s/%s pairs", d,
				  o->warmup + o->runs, m->map_op, m->unmap_op);
	if (!check_backing(c))
		return false;
	print_stats(c, m->map_op, s->map_us, o->runs);
	print_stats(c, m->unmap_op, s->unmap_us, o->runs);
	fflush(stdout);
	return true;
}

/* The sizes of kind @k: by default 1G only where the leaf is 1G. */
static int kind_sizes(const struct kind *k, const struct options *o,
		      size_t *sizes)
{
	int i, n = 0;

	for (i = 0; i < o->nsizes; i++)
		sizes[n++] = o->sizes[i];
	if (o->default_sizes && k->leaf == SZ_1G)
		sizes[n++] = SZ_1G;
	return n;
}

/* Whether @m runs on kind @k: memfd-only mappers need a memfd, and -m */
static bool mapper_applies(const struct kind *k, const struct mapper *m,
			   const struct options *o)
{
	return (!m->memfd_only || k->memfd) &&
	       (!o->only || !strcmp(o->only, m->map_op));
}

/* How many of @mappers run on kind @k, for each size */
static int mappers_applying(const struct kind *k, const struct mapper *mappers,
			    int nmappers, const struct options *o)
{
	int j, n = 0;

	for (j = 0; j < nmappers; j++)
		n += mapper_applies(k, &mappers[j], o);
	return n;
}

/*
 * Run the cells of one kind's @mappers on @c's region, one per size of
 * @sizes; the number that failed.
 */
static int run_cells(struct cell *c, const size_t *sizes, int n,
		     const struct mapper *mappers, int nmappers,
		     const struct options *o, struct samples *s)
{
	const struct kind *k = c->rg->kind;
	int i, j, failed = 0;
	int64_t t0;
	char sz[24];

	for (i = 0; i < n; i++) {
		c->size = sizes[i];
		format_size(sz, sizeof(sz), c->size);
		snprintf(c->label, sizeof(c->label), "%s %s", k->name, sz);
		for (j = 0; j < nmappers; j++) {
			if (!mapper_applies(k, &mappers[j], o))
				continue;
			t0 = now_ns();
			if (run_cell(c, &mappers[j], o, s))
				fprintf(stderr, "bench_vfio: %s %s: ok (%.1f s)\n",
					c->label, mappers[j].map_op,
					(now_ns() - t0) / 1e9);
			else
				failed++;
		}
	}
	return failed;
}


/*
 * One kind: its region is mapped once, and the type1 cells and then the
 * iommufd ones time that same memory, so that both map the same layout (a
 * hugetlb pool's free list is LIFO: each region allocated and freed in
 * order reverses the order the next one gets its pages in, ascending PFNs
 * and a few runs to map, or descending and one run a page). The number of
 * cells that failed; -1 if type1 or iommufd could not be set up.
 */
static int run_kind(const struct kind *k, const struct options *o,
		    struct samples *s)
{
	struct region rg = { .fd = -1 };
	struct cell c = { .rg = &rg };
	size_t sizes[MAX_SIZES + 1], max = 0;
	int i, n, failed = 0;
	int64_t t0 = now_ns();
	const char *why = NULL;
	long adjacent;
	char sz[24];

	n = kind_sizes(k, o, sizes);
	for (i = 0; i < n; i++)
		max = sizes[i] > max ? sizes[i] : max;
	if (!region_map(&rg, k, max)) {
		region_unmap(&rg);
		fprintf(stderr, "bench_vfio: ABORT kind %s: no memory to test\n", k->name);
		return n * (mappers_applying(k, type1_mappers, 1, o) +
			    mappers_applying(k, ioas_mappers, 2, o));
	}
	format_size(sz, sizeof(sz), rg.len);
	fprintf(stderr, "bench_vfio: %s: %s mapped and faulted in (MADV_POPULATE_WRITE) in %.1f ms\n",
		k->name, sz, (now_ns() - t0) / 1e6);
	/* The layout all of the kind's cells time */
	adjacent = backing_adjacent_pages(rg.base, rg.len, &why);
	if (adjacent >= 0)
		fprintf(stderr, "bench_vfio: %s: %s is %zu physically contiguous run(s)\n",
			k->name, sz, rg.len / SZ_4K - adjacent);
	else
		fprintf(stderr, "bench_vfio: %s: pagemap: %s\n", k->name, why);

	if (mappers_applying(k, type1_mappers, 1, o)) {
		if (!type1_open(o->bdf, o->group)) {
			fprintf(stderr, "bench_vfio: ABORT: no type1 container with %s\n", o->bdf);
			type1_close();
			failed = -1;
			goto out;
		}
		failed += run_cells(&c, sizes, n, type1_mappers, 1, o, s);
		type1_close();
	}
	if (mappers_applying(k, ioas_mappers, 2, o)) {
		/* The device through its cdev */
		if (!ioas_open(o->bdf)) {
			fprintf(stderr, "bench_vfio: ABORT: no iommufd IOAS\n");
			ioas_close();
			failed = -1;
			goto out;
		}
		failed += run_cells(&c, sizes, n, ioas_mappers, 2, o, s);
		ioas_close();
	}
out:
	region_unmap(&rg);
	return failed;
}

/* ---- options -------------------------------------------------------- */

static const struct kind *find_kind(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	return NULL;
}

static bool parse_size(const char *s, size_t *size)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': v <<= 10; /* fall through */
	case 'M': v <<= 10; /* fall through */
	case 'K': v <<= 10; end++; break;
	}
	*size = v;
	return !*end && v && !(v % SZ_4K) && v >= 2 * DMA_FROM_END;
}

static bool parse_list(char *arg, struct options *o, bool sizes)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (sizes) {
			if (o->nsizes == MAX_SIZES || !parse_size(tok, &o->sizes[o->nsizes]))
				return false;
			o->nsizes++;
		} else {
			if (o->nkinds == MAX_KINDS || !(o->kinds[o->nkinds] = find_kind(tok)))
				return false;
			o->nkinds++;
		}
	}
	return true;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Whether one of the @n mappers from @m maps with @op */
static bool mappers_have_op(const struct mapper *m, size_t n, const char *op)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(op, m[i].map_op))
			return true;
	return false;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_vfio -d BDF -g GROUP [-k KINDS] [-s SIZES] [-n RUNS] [-w WARMUP] [-m MAP_OP]\n"
		"  KINDS: comma list of thp,4k,huge2m,memfd2m,huge1g (default: all)\n"
		"  SIZES: comma list, K/M/G suffixes, multiples of 4K (default 4K,2M,64M,512M; and 1G for huge1g)\n"
		"  MAP_OP: run only this one (type1_map, ioas_map, ioas_map_file), e.g. for tools/insn\n"
		"  output: kind,size,op,n,min_us,median_us,max_us\n");
	exit(2);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	char defaults[] = "4K,2M,64M,512M";
	size_t i;
	int opt;

	*o = (struct options){ .runs = 20, .warmup = 3 };
	while ((opt = getopt(argc, argv, "d:g:k:s:n:w:m:")) != -1) {
		switch (opt) {
		case 'd': o->bdf = optarg; break;
		case 'g': o->group = optarg; break;
		case 'k': if (!parse_list(optarg, o, false)) usage(); break;
		case 's': if (!parse_list(optarg, o, true)) usage(); break;
		case 'n': o->runs = atoi(optarg); break;
		case 'w': o->warmup = atoi(optarg); break;
		case 'm': o->only = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || !o->bdf || !o->group || o->runs < 1 || o->warmup < 0)
		usage();
	if (o->only &&
	    !mappers_have_op(type1_mappers, ARRAY_SIZE(type1_mappers), o->only) &&
	    !mappers_have_op(ioas_mappers, ARRAY_SIZE(ioas_mappers), o->only))
		usage();
	if (!o->nsizes) {
		parse_list(defaults, o, true);
		o->default_sizes = true;
	}
	if (!o->nkinds)
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			o->kinds[o->nkinds++] = &kinds[i];
}

int main(int argc, char **argv)
{
	struct options o;
	struct samples s;
	int i, n, failed = 0;

	parse_options(argc, argv, &o);
	if (!backing_open("bench_vfio"))
		return 1;
	s.map_us = calloc(o.runs, sizeof(double));
	s.unmap_us = calloc(o.runs, sizeof(double));
	if (!s.map_us || !s.unmap_us)
		return 1;
	printf("kind,size,op,n,min_us,median_us,max_us\n");
	fflush(stdout);

	for (i = 0; i < o.nkinds; i++) {
		n = run_kind(o.kinds[i], &o, &s);
		if (n < 0)
			return 1;
		failed += n;
	}

	if (failed)
		fprintf(stderr, "bench_vfio: %d cell(s) ABORTED\n", failed);
	return failed ? 1 : 0;
}
