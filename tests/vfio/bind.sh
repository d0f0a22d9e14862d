#!/bin/sh
# Bind QEMU's edu device (PCI 1234:11e8) to vfio-pci and print "BDF GROUP".
# Exit 77 if the machine has no edu device, 1 if binding fails.
dev=
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
		dev=$d
		break
	fi
done
[ -n "$dev" ] || { echo "no edu device (PCI 1234:11e8)"; exit 77; }
bdf=${dev##*/}
[ -e "$dev/iommu_group" ] || { echo "$bdf has no IOMMU group (intel_iommu=on?)" >&2; exit 1; }
echo vfio-pci >"$dev/driver_override" || exit 1
if [ -e "$dev/driver" ] && [ "$(basename "$(readlink "$dev/driver")")" != vfio-pci ]; then
	echo "$bdf" >"$dev/driver/unbind" || exit 1
fi
[ -e "$dev/driver" ] || echo "$bdf" >/sys/bus/pci/drivers_probe
driver=$(basename "$(readlink "$dev/driver" 2>/dev/null)")
[ "$driver" = vfio-pci ] || { echo "$bdf bound to '$driver', not vfio-pci" >&2; exit 1; }
group=$(basename "$(readlink "$dev/iommu_group")")
[ -c "/dev/vfio/$group" ] || { echo "no /dev/vfio/$group" >&2; exit 1; }
echo "$bdf $group"
