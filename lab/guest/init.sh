#!/bin/sh
# Guest init (PID 1): set up the test environment, run $labjob, power off.
# Runs from the host root, mounted read-only over virtio-9p.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /run/out /dev/hugepages /dev/hugepages1G
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /run/out
mount -t hugetlbfs -o pagesize=2M none /dev/hugepages
mount -t hugetlbfs -o pagesize=1G none /dev/hugepages1G 2>/dev/null
hostname labguest
ip link set lo up
ip link add veth0 type veth peer name veth1
ip link set veth0 up
ip link set veth1 up
rdma link add rxe0 type rxe netdev veth0
# rxe0's GID 0 is veth0's IPv6 link-local address: while duplicate address
# detection holds it tentative, QPs to it time out. Every job uses rxe0, so
# wait for it here (up to 10 s), not in each job.
i=0
while ip -6 addr show dev veth0 | grep -q tentative && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt 100 ] || echo "lab: veth0's IPv6 address still tentative after 10 s: rxe0 QPs will time out"
ulimit -l unlimited
ulimit -c 0
export LAB_OUT=/run/out HOME=/tmp TERM=dumb
cd /tmp

if [ "$labjob" = shell ]; then
	echo "lab: interactive shell; results share at /run/out; 'poweroff -f' to quit"
	setsid sh -c 'exec /bin/bash -i </dev/ttyS0 >/dev/ttyS0 2>&1'
else
	echo "lab: job $labjob"
	set --
	while IFS= read -r a; do set -- "$@" "$a"; done </run/out/job.args
	( /bin/sh "$labjob" "$@"; echo $? >/run/out/.job-rc ) 2>&1 | tee /run/out/job.log
	rc=$(cat /run/out/.job-rc 2>/dev/null || echo 1)
	dmesg >/run/out/dmesg.txt
	echo "$rc" >/run/out/rc
	echo "lab: job exit $rc"
fi
sync
poweroff -f
