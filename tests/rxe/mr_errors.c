// SPDX-License-Identifier: GPL-2.0
/*
 * rxe MR test: bad input. Each registration must fail with exactly stock
 * 7.3's errno and leave nothing pinned and pinned_vm unchanged.
 *
 * Stock's errnos come from __ib_umem_get_va() (drivers/infiniband/core/
 * umem.c): addr + len wrapping, or its PAGE_ALIGN wrapping, EINVAL; no
 * RLIMIT_MEMLOCK and no CAP_IPC_LOCK (!can_do_mlock()) EPERM; zero pages or
 * more than UINT_MAX pages EINVAL; pinned_vm over RLIMIT_MEMLOCK without
 * CAP_IPC_LOCK ENOMEM; and from pin_user_pages_fast(): no VMA, a kernel
 * address, PROT_NONE or a read-only page with write access EFAULT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mr_test.h"

#define ERR_PAGES	16	/* a small region with something wrong in page 8 */
#define KERNEL_ADDR	0xffff888000000000UL

/* ibv_reg_mr() must fail with @want and leave nothing pinned. */
static void expect_reg_error(struct outcome *o, void *addr, size_t len, int access,
			     int want)
{
	struct pin_mark m;
	struct ibv_mr *mr;

	if (pin_mark(&m)) {
		fail(o, "cannot read the pin counters");
		return;
	}
	mr = reg_mr(addr, len, access);
	if (mr) {
		fail(o, "registered %p+%#zx; stock fails with %s", addr, len,
		     strerrorname_np(want));
		ibv_dereg_mr(mr);
	} else if (errno != want) {
		fail(o, "failed with %s; stock fails with %s",
		     strerrorname_np(errno) ?: "?", strerrorname_np(want));
	}
	expect_pinned(&m, 0, 0, o, "after the failed registration");
}

/* Populated 4K anonymous pages to break in the middle. */
static char *map_pages(struct outcome *o, struct region *r)
{
	if (region_map(r, BK_ANON, ERR_PAGES * SZ_4K, NULL)) {
		fail(o, "cannot map %d pages", ERR_PAGES);
		return NULL;
	}
	return r->addr;
}

static void case_len_zero(struct outcome *o, const void *arg)
{
	struct region r;

	(void)arg;
	if (map_pages(o, &r))
		expect_reg_error(o, r.addr, 0, ACCESS_RW, EINVAL);
	region_unmap(&r);
}

/* addr + len wraps past the top of the address space. */
static void case_len_wraps(struct outcome *o, const void *arg)
{
	struct region r;

	(void)arg;
	if (map_pages(o, &r))
		expect_reg_error(o, r.addr, UINTPTR_MAX - (uintptr_t)r.addr + 1 + SZ_4K,
				 ACCESS_RW, EINVAL);
	region_unmap(&r);
}

/* addr + len does not wrap, but rounding it up to a page does. */
static void case_end_page_wraps(struct outcome *o, const void *arg)
{
	struct region r;

	(void)arg;
	if (map_pages(o, &r))
		expect_reg_error(o, r.addr, UINTPTR_MAX - (uintptr_t)r.addr - 100,
				 ACCESS_RW, EINVAL);
	region_unmap(&r);
}

/* More than UINT_MAX pages, without wrapping. */
static void case_too_many_pages(struct outcome *o, const void *arg)
{
	struct region r;

	(void)arg;
	if (map_pages(o, &r))
		expect_reg_error(o, r.addr, (size_t)SZ_4K << 32, ACCESS_RW, EINVAL);
	region_unmap(&r);
}

static void case_low_address(struct outcome *o, const void *arg)
{
	(void)arg;
	expect_reg_error(o, (void *)SZ_4K, SZ_4K, ACCESS_RW, EFAULT);
}

static void case_kernel_address(struct outcome *o, const void *arg)
{
	(void)arg;
	expect_reg_error(o, (void *)KERNEL_ADDR, SZ_4K, ACCESS_RW, EFAULT);
}

/* Page 8 of the region is unmapped, PROT_NONE, or read-only. */
static void case_broken_page(struct outcome *o, const void *arg)
{
	int how = *(const int *)arg;	/* -1: unmapped, else mprotect() flags */
	char *page;
	struct region r;

	if (!map_pages(o, &r))
		return;
	page = r.addr + ERR_PAGES / 2 * SZ_4K;
	if (how < 0 ? munmap(page, SZ_4K) : mprotect(page, SZ_4K, how))
		fail(o, "cannot break page %d: %s", ERR_PAGES / 2, strerror(errno));
	else
		expect_reg_error(o, r.addr, r.len, ACCESS_RW, EFAULT);
	region_unmap(&r);
}

static int set_cap_ipc_lock(bool on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	const unsigned int bit = 1U << CAP_IPC_LOCK;

	if (syscall(SYS_capget, &hdr, data) || !(data[0].permitted & bit))
		return -1;
	data[0].effective = on ? data[0].effective | bit : data[0].effective & ~bit;
	return syscall(SYS_capset, &hdr, data);
}

struct memlock_arg {
	long headroom_pages;	/* RLIMIT_MEMLOCK = pinned_vm now + this; -1: zero */
	size_t len;		/* then register this much */
	int want;
};

/*
 * Without CAP_IPC_LOCK (root has it, and ib_umem then ignores the limit),
 * under a low RLIMIT_MEMLOCK: an MR within the limit registers, a larger
 * one fails.
 */
static void case_memlock(struct outcome *o, const void *arg)
{
	const struct memlock_arg *a = arg;
	struct rlimit old, lim;
	struct ibv_mr *mr;
	struct region r;

	if (getrlimit(RLIMIT_MEMLOCK, &old) || set_cap_ipc_lock(false)) {
		skip(o, "cannot drop CAP_IPC_LOCK");
		return;
	}
	lim.rlim_max = old.rlim_max;
	lim.rlim_cur = a->headroom_pages < 0 ? 0 :
		vm_pinned_kb() * 1024 + a->headroom_pages * SZ_4K;
	if (setrlimit(RLIMIT_MEMLOCK, &lim)) {
		fail(o, "setrlimit: %s", strerror(errno));
	} else if (map_pages(o, &r)) {
		if (a->headroom_pages > 0) {
			mr = reg_mr(r.addr, a->headroom_pages / 2 * SZ_4K, ACCESS_RW);
			if (!mr)
				fail(o, "an MR within RLIMIT_MEMLOCK failed: %s", strerror(errno));
			else
				ibv_dereg_mr(mr);
		}
		expect_reg_error(o, r.addr, a->len, ACCESS_RW, a->want);
		region_unmap(&r);
	}
	if (setrlimit(RLIMIT_MEMLOCK, &old) || set_cap_ipc_lock(true))
		fail(o, "cannot restore RLIMIT_MEMLOCK and CAP_IPC_LOCK");
}

void run_error_cases(void)
{
	static const int unmapped = -1, prot_none = PROT_NONE, read_only = PROT_READ;
	static const struct memlock_arg over = { ERR_PAGES / 2, ERR_PAGES * SZ_4K, ENOMEM };
	static const struct memlock_arg zero = { -1, SZ_4K, EPERM };

	run_case(case_len_zero, NULL, "err-len-zero");
	run_case(case_len_wraps, NULL, "err-len-wraps");
	run_case(case_end_page_wraps, NULL, "err-end-page-wraps");
	run_case(case_too_many_pages, NULL, "err-too-many-pages");
	run_case(case_low_address, NULL, "err-low-address");
	run_case(case_kernel_address, NULL, "err-kernel-address");
	run_case(case_broken_page, &unmapped, "err-hole");
	run_case(case_broken_page, &prot_none, "err-prot-none-page");
	run_case(case_broken_page, &read_only, "err-read-only-page");
	run_case(case_memlock, &over, "err-memlock-exceeded");
	run_case(case_memlock, &zero, "err-memlock-zero");
}
