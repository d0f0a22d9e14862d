#!/bin/sh
# rxe0 exists on veth0 and its port is ACTIVE.
rdma link show rxe0/1 || exit 1
rdma link show rxe0/1 | grep -q 'state ACTIVE' || { echo "rxe0 not ACTIVE"; exit 1; }
ibv_devinfo -d rxe0 | grep -q PORT_ACTIVE || exit 1
