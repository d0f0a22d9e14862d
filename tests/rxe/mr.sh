#!/bin/sh
# rxe memory registration (rxe_mr, tests/rxe/mr_*.c): first two QPs on rxe0
# looped back, then rxe0 against rxe1, the two ends of the veth pair, with
# veth1 in network namespace ns1. Run by tests/guest/run.sh (LAB_BUILD).
# One process drives both devices (RDMA netns mode "shared", the default,
# shows rxe1 outside ns1); its traffic goes rxe0 > veth0 > veth1 > rxe1. No
# IP address is needed: RC QPs use GID index 0, the link-local default GID.
#
# Environment (kernel command-line words like MR_BIG=4G reach it via init):
#   MR_MAX        largest region per private backing, looped back (default 1G)
#   MR_MAX_SHARED the same for memfd, shmem and tmpfs backings (default 256M:
#                 under TCG populating and freeing 1 GiB of them takes ~30 s)
#   MR_VETH_MAX   largest region of any backing across the veth pair (64M)
#   MR_BIG        size of the big-MR case, 0 to leave it out (default 1536M)
#   MR_BIG_BACKING  its backing (default thp)
#   MR_KERNEL     stock|patched; default: the tree run.sh was given
#                 (LAB_TREE, from its build directory's name)
#   MR_BIG_ON_STOCK=1  run the big MR on stock too, expecting ENOMEM; stock
#                 also WARNs in the kmalloc, which run.sh counts as a failure
bin=$LAB_BUILD/rxe_mr
max=${MR_MAX:-1G}
max_shared=${MR_MAX_SHARED:-256M}
veth_max=${MR_VETH_MAX:-64M}
big=${MR_BIG:-1536M}
big_backing=${MR_BIG_BACKING:-thp}

MR_KERNEL=${MR_KERNEL:-${LAB_TREE:-stock}}
echo "# kernel: $MR_KERNEL ($(uname -r))"

big_args=
if [ "$big" != 0 ]; then
	big_args="--big-mr $big --big-backing $big_backing"
	if [ "$MR_KERNEL" = stock ]; then
		if [ "${MR_BIG_ON_STOCK:-0}" = 1 ]; then
			big_args="$big_args --expect-big-mr-fail"
		else
			echo "skip - loop:big-mr-$big-$big_backing: stock rxe fails MRs over 1 GiB with ENOMEM" \
				"and a kmalloc WARN in __alloc_mr_page_info (MR_BIG_ON_STOCK=1 runs it)"
			big_args=
		fi
	fi
fi

# Wait up to 20 s for "$@" to succeed.
wait_for() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -ge 40 ] && return 1
		sleep 0.5
	done
}

port_active() {
	ip netns exec ns1 rdma link show "$1/1" | grep -q 'state ACTIVE'
}

no_tentative_addr() {
	! ip -n ns1 -6 addr show dev veth1 | grep -q tentative
}

veth_setup() {
	ip netns add ns1 &&
	ip link set veth1 netns ns1 &&
	ip -n ns1 link set lo up &&
	ip -n ns1 link set veth1 up &&
	ip netns exec ns1 rdma link add rxe1 type rxe netdev veth1 &&
	wait_for port_active rxe1 &&
	wait_for no_tentative_addr
}

veth_teardown() {
	ip netns exec ns1 rdma link delete rxe1 2>/dev/null
	ip -n ns1 link set veth1 netns 1 2>/dev/null
	ip netns delete ns1 2>/dev/null
	ip link set veth1 up 2>/dev/null
}

rc=0
"$bin" --prefix loop: --max "$max" --max-shared "$max_shared" $big_args || rc=1

if ! veth_setup; then
	echo "# veth setup failed:"
	ip -n ns1 -6 addr show 2>&1
	rdma link show 2>&1
	echo "not ok - veth:setup"
	rc=1
elif ! rdma link show rxe1/1 >/dev/null 2>&1; then
	# Exclusive RDMA netns mode would hide rxe1 from this namespace.
	echo "# rxe1 is not visible outside ns1: $(rdma system show)"
	echo "not ok - veth:setup"
	rc=1
else
	"$bin" --dev-a rxe0 --dev-b rxe1 --prefix veth: \
		--max "$veth_max" --max-shared "$veth_max" || rc=1
fi
veth_teardown
exit $rc
