// SPDX-License-Identifier: GPL-2.0
/*
 * Two connected RC QPs for the rxe MR test: see mr_rig.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mr_rig.h"

#define PORT		1
#define QUEUE_DEPTH	512
#define CQ_DEPTH	(2 * QUEUE_DEPTH)
#define RDMA_BATCH	64	/* WRs per post; only the last one is signaled */
#define RECV_ROUND	64	/* RECV WRs posted before the matching SENDs */
#define MAX_SGE		16
#define CQ_TIMEOUT_MS	30000

static struct ibv_context *open_device(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	if (!list) {
		fprintf(stderr, "# ibv_get_device_list: %s\n", strerror(errno));
		return NULL;
	}
	for (i = 0; list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!ctx)
		fprintf(stderr, "# cannot open RDMA device %s\n", name);
	return ctx;
}

static int ep_open(struct mr_ep *ep, const char *dev, int gid_index)
{
	struct ibv_device_attr dattr;
	struct ibv_port_attr pattr;

	ep->ctx = open_device(dev);
	if (!ep->ctx)
		return -1;
	if (ibv_query_device(ep->ctx, &dattr) ||
	    ibv_query_port(ep->ctx, PORT, &pattr) ||
	    ibv_query_gid(ep->ctx, PORT, gid_index, &ep->gid)) {
		fprintf(stderr, "# %s: query failed: %s\n", dev, strerror(errno));
		return -1;
	}
	if (pattr.state != IBV_PORT_ACTIVE) {
		fprintf(stderr, "# %s: port %d not active\n", dev, PORT);
		return -1;
	}
	ep->mtu = pattr.active_mtu;
	ep->max_sge = dattr.max_sge < MAX_SGE ? dattr.max_sge : MAX_SGE;
	ep->pd = ibv_alloc_pd(ep->ctx);
	ep->chan = ibv_create_comp_channel(ep->ctx);
	if (!ep->pd || !ep->chan) {
		fprintf(stderr, "# %s: PD/channel: %s\n", dev, strerror(errno));
		return -1;
	}
	return 0;
}

static int ep_create_qp(struct mr_ep *ep)
{
	struct ibv_qp_init_attr init = {
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = QUEUE_DEPTH,
			.max_recv_wr = QUEUE_DEPTH,
			.max_send_sge = ep->max_sge,
			.max_recv_sge = ep->max_sge,
		},
	};

	ep->cq = ibv_create_cq(ep->ctx, CQ_DEPTH, NULL, ep->chan, 0);
	if (!ep->cq) {
		fprintf(stderr, "# ibv_create_cq: %s\n", strerror(errno));
		return -1;
	}
	init.send_cq = init.recv_cq = ep->cq;
	ep->qp = ibv_create_qp(ep->pd, &init);
	if (!ep->qp) {
		fprintf(stderr, "# ibv_create_qp: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void ep_destroy_qp(struct mr_ep *ep)
{
	if (ep->qp)
		ibv_destroy_qp(ep->qp);
	if (ep->cq)
		ibv_destroy_cq(ep->cq);
	ep->qp = NULL;
	ep->cq = NULL;
}

static int ep_connect(struct mr_ep *ep, const struct mr_ep *peer, int gid_index)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = PORT,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ,
	};

	if (ibv_modify_qp(ep->qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		goto fail;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = ep->mtu < peer->mtu ? ep->mtu : peer->mtu;
	a.dest_qp_num = peer->qp->qp_num;
	a.max_dest_rd_atomic = 16;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = peer->gid;
	a.ah_attr.grh.sgid_index = gid_index;
	a.ah_attr.grh.hop_limit = 1;
	a.ah_attr.port_num = PORT;
	if (ibv_modify_qp(ep->qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		goto fail;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 16;
	if (ibv_modify_qp(ep->qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			  IBV_QP_MAX_QP_RD_ATOMIC))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "# ibv_modify_qp: %s\n", strerror(errno));
	return -1;
}

static int rig_connect(struct mr_rig *rig)
{
	if (ep_create_qp(&rig->a) || ep_create_qp(&rig->b))
		return -1;
	if (ep_connect(&rig->a, &rig->b, rig->gid_index) ||
	    ep_connect(&rig->b, &rig->a, rig->gid_index))
		return -1;
	return 0;
}

int rig_reconnect(struct mr_rig *rig)
{
	ep_destroy_qp(&rig->a);
	ep_destroy_qp(&rig->b);
	return rig_connect(rig);
}

int rig_open(struct mr_rig *rig, const char *dev_a, const char *dev_b,
	     int gid_index, size_t peer_len)
{
	memset(rig, 0, sizeof(*rig));
	rig->gid_index = gid_index;
	if (ep_open(&rig->a, dev_a, gid_index) ||
	    ep_open(&rig->b, dev_b, gid_index))
		return -1;
	rig->peer_len = peer_len;
	rig->peer_buf = mmap(NULL, peer_len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rig->peer_buf == MAP_FAILED) {
		rig->peer_buf = NULL;
		return -1;
	}
	rig->peer_mr = ibv_reg_mr(rig->b.pd, rig->peer_buf, peer_len,
				  IBV_ACCESS_LOCAL_WRITE);
	if (!rig->peer_mr) {
		fprintf(stderr, "# peer ibv_reg_mr: %s\n", strerror(errno));
		return -1;
	}
	return rig_connect(rig);
}

static void ep_close(struct mr_ep *ep)
{
	ep_destroy_qp(ep);
	if (ep->pd)
		ibv_dealloc_pd(ep->pd);
	if (ep->chan)
		ibv_destroy_comp_channel(ep->chan);
	if (ep->ctx)
		ibv_close_device(ep->ctx);
}

void rig_close(struct mr_rig *rig)
{
	ep_destroy_qp(&rig->a);
	ep_destroy_qp(&rig->b);
	if (rig->peer_mr)
		ibv_dereg_mr(rig->peer_mr);
	if (rig->peer_buf)
		munmap(rig->peer_buf, rig->peer_len);
	ep_close(&rig->a);
	ep_close(&rig->b);
}

/* Sleep on the completion channel until the CQ may hold something. */
static int ep_wait_event(struct mr_ep *ep)
{
	struct pollfd pfd = { .fd = ep->chan->fd, .events = POLLIN };
	struct ibv_cq *cq;
	void *cq_ctx;
	int r;

	r = poll(&pfd, 1, CQ_TIMEOUT_MS);
	if (r <= 0) {
		fprintf(stderr, "# no completion within %d ms\n", CQ_TIMEOUT_MS);
		return -1;
	}
	if (ibv_get_cq_event(ep->chan, &cq, &cq_ctx))
		return -1;
	ibv_ack_cq_events(cq, 1);
	return 0;
}

/* Reap @n successful completions from @ep's CQ. */
static int ep_reap(struct mr_ep *ep, int n)
{
	struct ibv_wc wc[16];
	bool armed = false;
	int got, i;

	while (n > 0) {
		got = ibv_poll_cq(ep->cq, n < 16 ? n : 16, wc);
		if (got < 0)
			return -1;
		for (i = 0; i < got; i++) {
			if (wc[i].status != IBV_WC_SUCCESS) {
				fprintf(stderr, "# completion error: %s (opcode %d, wr %llu)\n",
					ibv_wc_status_str(wc[i].status), wc[i].opcode,
					(unsigned long long)wc[i].wr_id);
				return -1;
			}
		}
		n -= got;
		if (got || n == 0)
			continue;
		if (!armed) {
			if (ibv_req_notify_cq(ep->cq, 0))
				return -1;
			armed = true;
			continue;	/* poll once more: closes the arm race */
		}
		if (ep_wait_event(ep))
			return -1;
		armed = false;
	}
	return 0;
}

static int post_send(struct mr_ep *ep, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad;

	if (ibv_post_send(ep->qp, wr, &bad)) {
		fprintf(stderr, "# ibv_post_send: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int post_recv(struct mr_ep *ep, struct ibv_recv_wr *wr)
{
	struct ibv_recv_wr *bad;

	if (ibv_post_recv(ep->qp, wr, &bad)) {
		fprintf(stderr, "# ibv_post_recv: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static struct ibv_sge peer_sge(const struct mr_rig *rig, uint32_t off, uint32_t len)
{
	return (struct ibv_sge){
		.addr = (uintptr_t)rig->peer_buf + off,
		.length = len,
		.lkey = rig->peer_mr->lkey,
	};
}

static struct ibv_sge mr_sge(const struct ibv_mr *mr, const struct chunk *c)
{
	return (struct ibv_sge){
		.addr = (uintptr_t)mr->addr + c->off,
		.length = c->len,
		.lkey = mr->lkey,
	};
}

int rig_rdma(struct mr_rig *rig, enum ibv_wr_opcode op, const struct ibv_mr *mr,
	     const struct chunk *c, int n)
{
	struct ibv_send_wr wr[RDMA_BATCH];
	struct ibv_sge sge[RDMA_BATCH];
	int done, k, i;

	for (done = 0; done < n; done += k) {
		k = n - done < RDMA_BATCH ? n - done : RDMA_BATCH;
		memset(wr, 0, sizeof(wr));
		for (i = 0; i < k; i++) {
			const struct chunk *ci = &c[done + i];

			sge[i] = peer_sge(rig, ci->peer_off, ci->len);
			wr[i].wr_id = done + i;
			wr[i].sg_list = &sge[i];
			wr[i].num_sge = 1;
			wr[i].opcode = op;
			wr[i].wr.rdma.remote_addr = (uintptr_t)mr->addr + ci->off;
			wr[i].wr.rdma.rkey = mr->rkey;
			wr[i].next = i + 1 < k ? &wr[i + 1] : NULL;
		}
		wr[k - 1].send_flags = IBV_SEND_SIGNALED;
		if (post_send(&rig->b, wr) || ep_reap(&rig->b, 1))
			return -1;
	}
	return 0;
}

/*
 * Split @n chunks into groups of at most @max_sge; group g covers
 * c[first[g]] .. c[first[g + 1] - 1]. Returns the number of groups.
 */
static int group_chunks(int n, int max_sge, int *first, int max_groups)
{
	int g = 0, i;

	for (i = 0; i < n && g < max_groups; i += max_sge)
		first[g++] = i;
	first[g] = i < n ? i : n;
	return g;
}

/* Peer bytes of a group: contiguous, as peer offsets are laid out in order. */
static struct ibv_sge group_peer_sge(const struct mr_rig *rig, const struct chunk *c,
				     int from, int to)
{
	uint32_t start = c[from].peer_off;
	uint32_t end = c[to - 1].peer_off + c[to - 1].len;

	return peer_sge(rig, start, end - start);
}

/*
 * One round of SENDs: the receiver posts one RECV per group, then the sender
 * one SEND per group. With @into_mr, B sends from the peer buffer and A
 * scatters into the chunks of @mr; otherwise A gathers from the chunks and
 * B receives into the peer buffer.
 */
static int send_round(struct mr_rig *rig, const struct ibv_mr *mr,
		      const struct chunk *c, const int *first, int groups,
		      bool into_mr)
{
	struct mr_ep *tx = into_mr ? &rig->b : &rig->a;
	struct mr_ep *rx = into_mr ? &rig->a : &rig->b;
	struct ibv_sge mr_side[RECV_ROUND][MAX_SGE];
	struct ibv_sge peer_side[RECV_ROUND];
	struct ibv_recv_wr rwr[RECV_ROUND];
	struct ibv_send_wr swr[RECV_ROUND];
	int g, i, nsge;

	for (g = 0; g < groups; g++) {
		nsge = 0;
		for (i = first[g]; i < first[g + 1]; i++)
			mr_side[g][nsge++] = mr_sge(mr, &c[i]);
		peer_side[g] = group_peer_sge(rig, c, first[g], first[g + 1]);
		rwr[g] = (struct ibv_recv_wr){
			.wr_id = g,
			.sg_list = into_mr ? mr_side[g] : &peer_side[g],
			.num_sge = into_mr ? nsge : 1,
			.next = g + 1 < groups ? &rwr[g + 1] : NULL,
		};
		swr[g] = (struct ibv_send_wr){
			.wr_id = g,
			.sg_list = into_mr ? &peer_side[g] : mr_side[g],
			.num_sge = into_mr ? 1 : nsge,
			.opcode = IBV_WR_SEND,
			.next = g + 1 < groups ? &swr[g + 1] : NULL,
		};
	}
	swr[groups - 1].send_flags = IBV_SEND_SIGNALED;
	if (post_recv(rx, rwr) || post_send(tx, swr))
		return -1;
	return ep_reap(tx, 1) || ep_reap(rx, groups) ? -1 : 0;
}

static int send_chunks(struct mr_rig *rig, const struct ibv_mr *mr,
		       const struct chunk *c, int n, bool into_mr)
{
	int first[RECV_ROUND + 1];
	int done, groups;

	for (done = 0; done < n; done += first[groups]) {
		groups = group_chunks(n - done, rig->a.max_sge, first, RECV_ROUND);
		if (send_round(rig, mr, c + done, first, groups, into_mr))
			return -1;
	}
	return 0;
}

int rig_send_to_mr(struct mr_rig *rig, const struct ibv_mr *mr,
		   const struct chunk *c, int n)
{
	return send_chunks(rig, mr, c, n, true);
}

int rig_send_from_mr(struct mr_rig *rig, const struct ibv_mr *mr,
		     const struct chunk *c, int n)
{
	return send_chunks(rig, mr, c, n, false);
}
