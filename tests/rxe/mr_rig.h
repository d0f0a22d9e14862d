/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verbs side of the rxe MR test: two RC QPs connected to each other,
 * on one rxe device (looped back) or on two (across a veth pair).
 *
 * Endpoint A owns the MR under test. Endpoint B is the peer: it drives
 * RDMA WRITE and READ against A's MR and exchanges SENDs with A, using its
 * own buffer ("peer buffer") as the other end of every transfer.
 */
#ifndef MR_RIG_H
#define MR_RIG_H

#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>

/* A piece of the MR under test and where it lands in the peer buffer. */
struct chunk {
	uint64_t off;		/* from the start of the MR under test */
	uint32_t len;
	uint32_t peer_off;	/* into the peer buffer */
};

struct mr_ep {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_comp_channel *chan;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	union ibv_gid gid;
	enum ibv_mtu mtu;
	int max_sge;
};

struct mr_rig {
	struct mr_ep a;
	struct mr_ep b;
	int gid_index;
	char *peer_buf;
	size_t peer_len;
	struct ibv_mr *peer_mr;
};

int rig_open(struct mr_rig *rig, const char *dev_a, const char *dev_b,
	     int gid_index, size_t peer_len);
void rig_close(struct mr_rig *rig);
/* Replace both QPs with fresh connected ones (after a failed transfer). */
int rig_reconnect(struct mr_rig *rig);

/* B reads (IBV_WR_RDMA_READ) or writes (IBV_WR_RDMA_WRITE) each chunk of A's @mr. */
int rig_rdma(struct mr_rig *rig, enum ibv_wr_opcode op, const struct ibv_mr *mr,
	     const struct chunk *c, int n);
/* B sends the chunks' peer bytes; A receives them into the chunks of @mr. */
int rig_send_to_mr(struct mr_rig *rig, const struct ibv_mr *mr,
		   const struct chunk *c, int n);
/* A sends the chunks of @mr; B receives them into the peer buffer. */
int rig_send_from_mr(struct mr_rig *rig, const struct ibv_mr *mr,
		     const struct chunk *c, int n);

#endif
