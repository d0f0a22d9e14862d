#!/bin/sh
# Guest test (tests/guest/run.sh): QEMU's own VFIO type1 usage. A nested QEMU
# (TCG, stopped with -S) takes the edu device with -device vfio-pci, which
# maps all of its hugetlb-backed RAM through type1; its monitor must list the
# device (1234:11e8), and it must quit cleanly (the pin balance around this
# script, kept by tests/guest/run.sh, shows type1 released every pin).
# Needs 128 free 2 MiB hugetlb pages.
tests=${LAB_TESTS:-$(cd "$(dirname "$0")/.." && pwd)}
mem_mb=256
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64"; exit 77; }
free2m=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
[ "$free2m" -ge $((mem_mb / 2)) ] ||
	{ echo "needs $((mem_mb / 2)) free 2 MiB hugetlb pages, $free2m free"; exit 77; }
ids=$(sh "$tests/vfio/bind.sh")
rc=$?
[ $rc = 0 ] || { echo "$ids"; exit $rc; }
bdf=${ids% *}

log=/tmp/qemu-passthrough.$$
start=$(date +%s.%N)
printf 'info pci\nquit\n' | timeout 300 qemu-system-x86_64 -machine q35 -accel tcg \
	-m ${mem_mb}M -object memory-backend-file,id=m0,size=${mem_mb}M,mem-path=/dev/hugepages,prealloc=on,share=on \
	-numa node,memdev=m0 -device vfio-pci,host="$bdf" \
	-S -monitor stdio -nodefaults -display none >"$log" 2>&1
rc=$?
end=$(date +%s.%N)
cat "$log"
echo "# nested QEMU with $bdf passed through: exit $rc after $(echo "$end - $start" | bc) s"
if [ $rc = 0 ] && grep -q 'PCI device 1234:11e8' "$log"; then
	echo "ok - qemu-passthrough-info-pci"
else
	echo "not ok - qemu-passthrough-info-pci"
fi
[ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)" = "$free2m" ] &&
	echo "ok - qemu-passthrough-hugetlb-freed" || echo "not ok - qemu-passthrough-hugetlb-freed"
