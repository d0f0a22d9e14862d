#!/bin/sh
# The tree's own mm selftests that exercise GUP, built into $LAB_BUILD/mm by
# lab/build-userspace.sh: a gup_test matrix after run_vmtests.sh's
# run_gup_matrix, gup_longterm and cow. Each kselftest result becomes an
# "ok - mm:..." / "not ok - mm:..." / "skip - mm:...: why" line (ktap.py).
#
# The guest needs hugetlb pages of both sizes (run-guest.sh --huge2m 128
# --huge1g 2: cow and gup_longterm take two of each size, gup_test -H up to
# 8 MiB). For cow's swap-out cases this script makes a swap device (a loop
# device over a tmpfs file); gup_longterm runs in a scratch ext4 so that its
# "local tmpfile" cases pin pages of a writeback filesystem, which
# FOLL_LONGTERM must refuse for a writable shared mapping.
mm=${LAB_BUILD:?}/mm
here=$(cd "$(dirname "$0")" && pwd)
scratch=/tmp/mm-scratch
fail=0

for p in gup_test gup_longterm cow; do
	[ -x "$mm/$p" ] || { echo "not ok - mm:$p (not built: run lab/build-userspace.sh)"; fail=1; }
done
[ $fail = 0 ] || exit 1

# run NAME [--single] PROGRAM ARGS...: one kselftest program, converted.
# Its output is appended to $LAB_OUT/mm-<program>.log.
run() {
	name=$1
	shift
	single=
	[ "$1" = --single ] && { single=--single; shift; }
	out=/tmp/mm-run.$$
	"$@" >"$out" 2>&1
	rc=$?
	{ echo "### $name (exit $rc)"; cat "$out"; } >>"${LAB_OUT:-/tmp}/mm-$(basename "$1").log"
	python3 "$here/ktap.py" $single "$name" $rc <"$out"
}

# A swap device for cow's MADV_PAGEOUT cases; without it they skip.
swap_on() {
	truncate -s 256M /tmp/mm-swap.img &&
		swapdev=$(losetup -f --show /tmp/mm-swap.img) &&
		mkswap -q "$swapdev" && swapon "$swapdev" && return 0
	echo "# no swap device: cow's swap-out cases will skip"
	return 1
}

swap_off() {
	[ -n "${swapdev:-}" ] || return 0
	swapoff "$swapdev"
	losetup -d "$swapdev"
	rm -f /tmp/mm-swap.img
}

scratch_on() {
	mkdir -p "$scratch" && truncate -s 64M /tmp/mm-ext4.img &&
		mkfs.ext4 -q -F /tmp/mm-ext4.img && mount -o loop /tmp/mm-ext4.img "$scratch" &&
		return 0
	echo "# no ext4 scratch: gup_longterm's local tmpfile cases run in /tmp"
	scratch=/tmp
	return 1
}

scratch_off() {
	[ "$scratch" = /tmp ] || umount "$scratch"
	rm -f /tmp/mm-ext4.img
}

# After run_vmtests.sh's run_gup_matrix: 4K (-T), THP (-t) and hugetlb (-H)
# memory, private and shared, GUP-fast / GUP / pin-fast / pin / longterm
# pin, write or not, 1, 512 (one 2M page) or 123 (a partial huge page)
# pages per call; 8 MiB each, so four huge pages.
gup_matrix() {
	for huge in -T -t -H; do
		for cmd in -u -U -a -b -L; do
			for write in -w -W; do
				for share in "" -S; do
					for num in 1 512 123; do
						set -- $huge $cmd $write $share -n $num -m 8
						run "gup_test $*" --single "$mm/gup_test" "$@" || fail=1
					done
				done
			done
		done
	done
	# Dump pages 0, 19 and 4096 (run_vmtests.sh), pinned.
	run "gup_test -ct -F 0x1 0 19 0x1000" --single "$mm/gup_test" -m 32 -ct -F 0x1 0 19 0x1000 ||
		fail=1
}

rm -f "${LAB_OUT:-/tmp}"/mm-*.log
[ -e /sys/kernel/debug/gup_test ] || echo "# /sys/kernel/debug/gup_test missing: gup_test will skip"
swap_on
scratch_on
gup_matrix
(cd "$scratch" && run gup_longterm "$mm/gup_longterm") || fail=1
run cow "$mm/cow" || fail=1
scratch_off
swap_off
exit $fail
