/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Data checks for the rxe MR test: which bytes of an MR are sampled, the
 * patterns written there, and the transfers that must carry them.
 *
 * Every byte's pattern depends on its offset in the MR and on a phase that
 * is new for every transfer, so data from a wrong page, or left over from an
 * earlier transfer, never matches.
 */
#ifndef MR_CHECK_H
#define MR_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "mr_rig.h"

struct plan {
	struct chunk *c;
	int n;
	uint32_t peer_bytes;
};

/*
 * Sample the MR [start, start + len): 64 bytes at the start and end of the
 * first and last page, of the pages on both sides of every 2M edge near
 * either end and of every 1G edge, of the pages on both sides of each of
 * the @nedges addresses in @edges, of strided pages and of random pages.
 */
int plan_build(struct plan *p, uintptr_t start, size_t len,
	       const uintptr_t *edges, int nedges);
void plan_free(struct plan *p);

/* A new phase, never 0: phase 0 is all zeros. */
unsigned int pattern_phase(void);
/* The CPU writes the pattern of @phase into the sampled bytes of the MR at @base. */
void plan_fill_mr(const struct plan *p, char *base, unsigned int phase);
int plan_expect_mr(const struct plan *p, const char *base, unsigned int phase,
		   const char *what);

/* RDMA READ the samples out of @mr: they must hold @phase. */
int mr_read_expect(struct mr_rig *rig, const struct ibv_mr *mr,
		   const struct plan *p, unsigned int phase, const char *what);
/* RDMA WRITE @phase into the samples of @mr; the CPU must see it. */
int mr_write_expect(struct mr_rig *rig, const struct ibv_mr *mr,
		    const struct plan *p, unsigned int phase, const char *what);

/*
 * The data test of a registered MR: RDMA WRITE into it, RDMA READ out of
 * it, SEND into it, SEND out of it; only the two that read it when
 * @read_only.
 */
int mr_verify(struct mr_rig *rig, const struct ibv_mr *mr, const struct plan *p,
	      bool read_only);

#endif
