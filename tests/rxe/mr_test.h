/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rxe MR test's runner and what its cases share.
 *
 * Each case prints one line that tests/guest/run.sh counts:
 *   ok - NAME | not ok - NAME | skip - NAME: why
 * preceded by "# ..." lines saying what went wrong. Around every case the
 * runner checks, in-process, that the pins (nr_foll_pin_acquired -
 * nr_foll_pin_released) and this process's pinned_vm (VmPin) are back to
 * where they were.
 */
#ifndef MR_TEST_H
#define MR_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mr_check.h"
#include "mr_mem.h"
#include "mr_rig.h"
#include "pinbal.h"

#define ACCESS_RW	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)
#define ACCESS_RO	IBV_ACCESS_REMOTE_READ

enum result { RES_PASS, RES_FAIL, RES_SKIP };

struct outcome {
	enum result res;
	char why[256];
};

typedef void case_fn(struct outcome *o, const void *arg);

extern struct mr_rig rig;

/* Mark the case failed (the first reason is kept) or skipped. */
void fail(struct outcome *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void skip(struct outcome *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Run @fn as the case named by @fmt (and the mode prefix). */
void run_case(case_fn *fn, const void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Report the case named by @fmt as skipped without running anything. */
void skip_case(const char *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct pin_mark {
	struct pinbal pins;
	long vm_pinned_kb;
};

int pin_mark(struct pin_mark *m);
/*
 * Since @m, @pins more pages must be pinned and pinned_vm must have grown
 * by @vm_pages pages; on a mismatch, fail @o saying @when.
 */
int expect_pinned(const struct pin_mark *m, long pins, long vm_pages,
		  struct outcome *o, const char *when);

/* Pages an MR of [addr, addr + len) spans: what ib_umem pins. */
long span_pages(uintptr_t addr, size_t len);

/* ibv_reg_mr() on endpoint A's PD; on failure errno is preserved. */
struct ibv_mr *reg_mr(void *addr, size_t len, int access);

/*
 * Register [addr, addr + len), check its pins, run the data test on it,
 * deregister. @edges: other boundaries to sample (e.g. VMA edges).
 */
void check_mr(struct outcome *o, char *addr, size_t len,
	      const uintptr_t *edges, int nedges);

void run_cow_cases(void);
void run_error_cases(void);

#endif
