// SPDX-License-Identifier: GPL-2.0
/*
 * rxe MR test: fork, copy-on-write and the zero page.
 *
 * Linux (since 5.x) copies pinned private anonymous pages into the child
 * at fork, so the parent keeps the pages its MR points at: the child's
 * writes never reach the MR, the parent's always do. MAP_SHARED memory is
 * shared with the child, MR included. A read-only long-term pin of an
 * anonymous page that is COW-shared with a child first unshares it, so the
 * parent's later writes reach the MR. For the same reason a read-only MR
 * on never-written private memory does not pin the shared zero page
 * (gup_must_unshare() is true for it under FOLL_LONGTERM in a COW mapping):
 * it gets zeroed pages of its own, which the parent's writes then reach.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mr_test.h"

#define COW_REGION	(2 * SZ_2M)

/* A child that waits for a byte on @go_fd (if >= 0), writes @phase, exits. */
static pid_t fork_writer(const struct plan *p, char *base, unsigned int phase, int go_fd)
{
	pid_t pid;
	char c;

	fflush(NULL);
	pid = fork();
	if (pid)
		return pid;
	if (go_fd >= 0 && read(go_fd, &c, 1) != 1)
		_exit(1);
	plan_fill_mr(p, base, phase);
	_exit(0);
}

static void reap(struct outcome *o, pid_t pid)
{
	int status;

	if (pid < 0)
		fail(o, "fork: %s", strerror(errno));
	else if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		 WEXITSTATUS(status))
		fail(o, "the child failed");
}

/* Map and check @b, plan its samples; on failure report to @o. */
static int cow_setup(struct outcome *o, enum backing b, struct region *r, struct plan *p)
{
	char why[200] = "";

	if (backing_fit(b, COW_REGION, why, sizeof(why)) < COW_REGION) {
		skip(o, "no room for %zu MiB of %s %s", COW_REGION >> 20, backing_name(b), why);
		return -1;
	}
	if (region_map(r, b, COW_REGION, NULL)) {
		fail(o, "cannot map %s", backing_name(b));
		return -1;
	}
	if (region_check(r, why, sizeof(why)) ||
	    plan_build(p, (uintptr_t)r->addr, r->len, NULL, 0)) {
		fail(o, "%s", why);
		region_unmap(r);
		return -1;
	}
	return 0;
}

static void cow_teardown(struct outcome *o, struct ibv_mr *mr, struct region *r,
			 struct plan *p)
{
	if (mr && ibv_dereg_mr(mr))
		fail(o, "ibv_dereg_mr: %s", strerror(errno));
	plan_free(p);
	region_unmap(r);
}

/* After fork, writes by the parent reach the MR, by the child only if shared. */
static void case_fork_after_reg(struct outcome *o, const void *arg)
{
	enum backing b = *(const enum backing *)arg;
	bool shared = backing_is_shared(b);
	unsigned int parent, child, want;
	struct ibv_mr *mr = NULL;
	struct region r;
	const char *what;
	struct plan p;

	if (cow_setup(o, b, &r, &p))
		return;
	mr = reg_mr(r.addr, r.len, ACCESS_RW);
	if (!mr) {
		fail(o, "ibv_reg_mr: %s", strerror(errno));
		goto out;
	}
	parent = pattern_phase();
	child = pattern_phase();
	plan_fill_mr(&p, r.addr, parent);
	reap(o, fork_writer(&p, r.addr, child, -1));
	want = shared ? child : parent;
	what = shared ? "the child's write must reach a shared MR" :
			"the child's write must not reach a private MR";
	if (plan_expect_mr(&p, r.addr, want, "the parent's view after the child's write") ||
	    mr_read_expect(&rig, mr, &p, want, what)) {
		fail(o, "%s", what);
		goto out;
	}
	want = pattern_phase();
	plan_fill_mr(&p, r.addr, want);
	what = "the parent's write after fork must reach the MR";
	if (mr_read_expect(&rig, mr, &p, want, what))
		fail(o, "%s", what);
	what = "an RDMA WRITE after fork must reach the parent";
	if (o->res == RES_PASS && mr_write_expect(&rig, mr, &p, pattern_phase(), what))
		fail(o, "%s", what);
out:
	cow_teardown(o, mr, &r, &p);
}

/*
 * A read-only MR on private memory COW-shared with a child: registering
 * unshares it, so the child's writes stay out and the parent's go in.
 */
static void case_fork_before_ro_reg(struct outcome *o, const void *arg)
{
	enum backing b = *(const enum backing *)arg;
	unsigned int parent, want;
	struct ibv_mr *mr = NULL;
	struct pin_mark m;
	struct region r;
	const char *what;
	struct plan p;
	int go[2];
	pid_t pid;

	if (cow_setup(o, b, &r, &p))
		return;
	if (pipe(go)) {
		fail(o, "pipe: %s", strerror(errno));
		goto out;
	}
	parent = pattern_phase();
	plan_fill_mr(&p, r.addr, parent);
	pid = fork_writer(&p, r.addr, pattern_phase(), go[0]);
	if (!pin_mark(&m)) {
		mr = reg_mr(r.addr, r.len, ACCESS_RO);
		if (!mr)
			fail(o, "read-only ibv_reg_mr: %s", strerror(errno));
		else
			expect_pinned(&m, r.len / SZ_4K, r.len / SZ_4K, o, "registered");
	}
	if (write(go[1], "g", 1) != 1)
		fail(o, "cannot start the child");
	close(go[0]);
	close(go[1]);
	reap(o, pid);
	if (!mr || o->res != RES_PASS)
		goto out;
	what = "the child's write must not reach the parent's read-only MR";
	if (mr_read_expect(&rig, mr, &p, parent, what)) {
		fail(o, "%s", what);
		goto out;
	}
	want = pattern_phase();
	plan_fill_mr(&p, r.addr, want);
	what = "the parent's write must reach its read-only MR";
	if (mr_read_expect(&rig, mr, &p, want, what))
		fail(o, "%s", what);
	else if (mr_verify(&rig, mr, &p, true))
		fail(o, "data test failed");
out:
	cow_teardown(o, mr, &r, &p);
}

/* Read-only MR on never-written private 4K memory: own zeroed pages. */
static void check_ro_zero(struct outcome *o, char *buf, size_t len, const struct plan *p)
{
	struct ibv_mr *mr;
	struct pin_mark m;

	if (pin_mark(&m)) {
		fail(o, "cannot read the pin counters");
		return;
	}
	mr = reg_mr(buf, len, ACCESS_RO);
	if (!mr) {
		fail(o, "read-only ibv_reg_mr: %s", strerror(errno));
		return;
	}
	expect_pinned(&m, len / SZ_4K, len / SZ_4K, o, "registered");
	if (mr_read_expect(&rig, mr, p, 0, "RDMA READ of never-written memory"))
		fail(o, "the MR does not read zeros");
	else if (mr_verify(&rig, mr, p, true))
		fail(o, "data test failed: writes do not reach the MR");
	if (ibv_dereg_mr(mr))
		fail(o, "ibv_dereg_mr: %s", strerror(errno));
}

static void case_ro_zero_page(struct outcome *o, const void *arg)
{
	size_t len = COW_REGION;
	struct plan p = { 0 };
	char *buf;

	(void)arg;
	buf = reserve_va(len, SZ_2M);
	if (!buf) {
		fail(o, "cannot reserve address space");
		return;
	}
	if (mmap(buf, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ||
	    madvise(buf, len, MADV_NOHUGEPAGE) ||
	    plan_build(&p, (uintptr_t)buf, len, NULL, 0))
		fail(o, "setup failed");
	else
		check_ro_zero(o, buf, len, &p);
	plan_free(&p);
	munmap(buf, len);
}

void run_cow_cases(void)
{
	static const enum backing after[] = {
		BK_ANON, BK_THP, BK_HUGETLB_2M, BK_SHMEM, BK_MEMFD, BK_MEMFD_HUGETLB,
	};
	static const enum backing before[] = { BK_ANON, BK_THP };
	unsigned int i;

	for (i = 0; i < sizeof(after) / sizeof(after[0]); i++)
		run_case(case_fork_after_reg, &after[i], "fork-after-reg-%s",
			 backing_name(after[i]));
	for (i = 0; i < sizeof(before) / sizeof(before[0]); i++)
		run_case(case_fork_before_ro_reg, &before[i], "fork-before-ro-reg-%s",
			 backing_name(before[i]));
	run_case(case_ro_zero_page, NULL, "ro-zero-page");
}
