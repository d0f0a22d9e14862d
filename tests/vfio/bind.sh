#!/bin/sh
# Bind every QEMU edu device (PCI 1234:11e8) to vfio-pci and print "BDF GROUP"
# of the first one; with -a, one such line for each, in PCI address order.
# Exit 77 if the machine has no edu device, 1 if binding fails.
all=0
[ "${1:-}" = -a ] && all=1
bind_dev() {
	dev=$1
	bdf=${dev##*/}
	[ -e "$dev/iommu_group" ] || { echo "$bdf has no IOMMU group (intel_iommu=on?)" >&2; return 1; }
	echo vfio-pci >"$dev/driver_override" || return 1
	if [ -e "$dev/driver" ] && [ "$(basename "$(readlink "$dev/driver")")" != vfio-pci ]; then
		echo "$bdf" >"$dev/driver/unbind" || return 1
	fi
	[ -e "$dev/driver" ] || echo "$bdf" >/sys/bus/pci/drivers_probe
	driver=$(basename "$(readlink "$dev/driver" 2>/dev/null)")
	[ "$driver" = vfio-pci ] || { echo "$bdf bound to '$driver', not vfio-pci" >&2; return 1; }
	group=$(basename "$(readlink "$dev/iommu_group")")
	[ -c "/dev/vfio/$group" ] || { echo "no /dev/vfio/$group" >&2; return 1; }
	echo "$bdf $group"
}
ids=
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
		id=$(bind_dev "$d") || exit 1
		ids="$ids$id
"
	fi
done
[ -n "$ids" ] || { echo "no edu device (PCI 1234:11e8)"; exit 77; }
if [ $all = 1 ]; then
	printf '%s' "$ids"
else
	printf '%s' "$ids" | head -n 1
fi
