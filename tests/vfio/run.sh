#!/bin/sh
# Guest test (tests/guest/run.sh): VFIO type1 correctness through QEMU's edu
# device. Binds edu to vfio-pci, runs vfio_type1_test (on the first edu, with
# a second one, if the guest has it, for the cases with two groups in one
# container: run-guest.sh --edu 2), then checks that the
# DMAR faults logged meanwhile are those the program caused on purpose: it
# prints "# expect-dmar-fault 0xIOVA" for each fault that must be logged and
# "# allow-dmar-fault 0xIOVA" for one that may be.
# Usage: run.sh [CASE-PREFIX...]
tests=${LAB_TESTS:-$(cd "$(dirname "$0")/.." && pwd)}
build=${LAB_BUILD:?LAB_BUILD not set}
ids=$(sh "$tests/vfio/bind.sh" -a)
rc=$?
[ $rc = 0 ] || { echo "$ids"; exit $rc; }
first=$(echo "$ids" | sed -n 1p) second=$(echo "$ids" | sed -n 2p)
bdf=${first% *} group=${first#* }
dev_b=
[ -n "$second" ] && dev_b="-D ${second% *} -G ${second#* }"
echo "# edu devices (BDF group):" $ids

log=/tmp/vfio-type1.$$
marker="vfio-type1-test start $$"
echo "$marker" >/dev/kmsg
"$build/vfio_type1_test" -d "$bdf" -g "$group" $dev_b "$@" >"$log" 2>&1
rc=$?
cat "$log"

# Page addresses of the faults logged since the marker, and of those expected.
page() { while read -r a; do printf '0x%x\n' $((a & ~0xfff)); done; }
dmesg | sed -n "/$marker/,\$p" >"$log.kmsg"
grep -o 'fault addr 0x[0-9a-f]*' "$log.kmsg" | awk '{print $3}' | page | sort -u >"$log.seen"
awk '/^# expect-dmar-fault /{print $3}' "$log" | page | sort -u >"$log.want"
awk '/^# (expect|allow)-dmar-fault /{print $3}' "$log" | page | sort -u >"$log.allow"
unexpected=$(comm -23 "$log.seen" "$log.allow")
missing=$(comm -13 "$log.seen" "$log.want")
if [ -z "$unexpected" ]; then
	echo "ok - dmar-no-unexpected-faults"
else
	echo "# DMAR faults nobody asked for:" $unexpected
	echo "not ok - dmar-no-unexpected-faults"
fi
if [ -z "$missing" ]; then
	echo "# $(wc -l <"$log.want") pages expected to fault, all logged"
	echo "ok - dmar-expected-faults-logged"
elif grep -q 'dmar_fault.*callbacks suppressed' "$log.kmsg"; then
	echo "skip - dmar-expected-faults-logged: the kernel rate-limited DMAR messages"
else
	echo "# expected DMAR faults not logged:" $missing
	echo "not ok - dmar-expected-faults-logged"
fi
exit $rc
