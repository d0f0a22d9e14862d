#!/bin/bash
# run-guest.sh [options] JOB [ARGS...]
#
# Boots a kernel under QEMU on this machine's root (read-only virtio-9p),
# runs JOB (a path readable from the host root) inside the guest through
# lab/guest/init.sh, and leaves results in --out (a writable 9p share).
#
#   --kernel BZIMAGE     kernel to boot (required)
#   --out DIR            results directory (created; job sees it as $LAB_OUT)
#   --mem SIZE           guest memory (default 3G)
#   --smp N              vCPUs (default 2)
#   --icount             instruction-count mode: 1 vCPU, guest time = insns
#   --huge2m N --huge1g N  hugetlb pages reserved on the command line
#   --edu N              edu devices (default 1), each in its own IOMMU group
#   --kunit              let KUnit run at boot (default: kunit.enable=0)
#   --append ARGS        extra kernel command line
#   --timeout SECONDS    kill a hung guest after this long (default 900)
#   --interactive        console on stdio, a shell instead of JOB
# Exit status: the job's, or 124 on time-out, 125 if the guest died early.
# A guest that dies before its job starts is booted again (LAB_BOOT_RETRIES,
# default 1); see boot-retries.txt in --out.
# The body is one { } block, read whole before it runs: editing this file
# while it runs cannot change (or break) the run in progress.
{
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
kernel= out= mem=3G smp=2 icount=0 h2m=0 h1g=0 kunit=0 append= timeout=900 inter=0 edu=1
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--huge2m) h2m=$2; shift 2 ;;
	--huge1g) h1g=$2; shift 2 ;;
	--edu) edu=$2; shift 2 ;;
	--kunit) kunit=1; shift ;;
	--append) append="$append $2"; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--interactive) inter=1; shift ;;
	--) shift; break ;;
	-*) lab_die "run-guest: unknown option $1" ;;
	*) break ;;
	esac
done
job=${1:-}
[ $# -gt 0 ] && shift
[ -f "$kernel" ] || lab_die "run-guest: no kernel '$kernel'"
[ -n "$out" ] || lab_die "run-guest: --out is required"
if [ $inter = 0 ]; then
	[ -n "$job" ] || lab_die "run-guest: no job"
	job=$(realpath "$job")
fi
mkdir -p "$out"
out=$(realpath "$out")
rm -f "$out/rc" "$out/console.log"
args_file=$out/job.args
printf '%s\n' "$@" >"$args_file"

edus=()
for _ in $(seq 1 "$edu"); do edus+=(-device edu,dma_mask=0xffffffffffffffff); done
accel=(-accel tcg,thread=multi -cpu max -smp "$smp")
if [ $icount = 1 ]; then
	accel=(-accel tcg -icount shift=0,sleep=off -cpu max -smp 1)
elif [ "${LAB_ACCEL:-tcg}" = kvm ]; then
	accel=(-accel kvm -cpu host -smp "$smp")
fi
# tsc=reliable: no clocksource watchdog. Under TCG on a loaded host it reads
# vCPU descheduling as TSC skew, marks the TSC unstable and switches to hpet;
# the static key flip that follows stalled RCU for 100 s in the rxe layer's
# perftest run (2026-12-07), failing write_lat and the kernel-log check.
cmdline="console=ttyS0 no_timer_check tsc=reliable intel_iommu=on iommu.strict=1"
cmdline+=" root=/dev/root rootfstype=9p"
cmdline+=" rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose ro"
cmdline+=" init=$here/guest/init.sh panic=-1 oops=panic"
[ "$h1g" != 0 ] && cmdline+=" hugepagesz=1G hugepages=$h1g"
[ "$h2m" != 0 ] && cmdline+=" hugepagesz=2M hugepages=$h2m"
[ $kunit = 0 ] && cmdline+=" kunit.enable=0"
[ $inter = 1 ] && cmdline+=" labjob=shell" || cmdline+=" labjob=$job"
cmdline+=" $append"

qemu=(qemu-system-x86_64 -machine q35 "${accel[@]}" -m "$mem" -no-reboot -nic none
	-device intel-iommu "${edus[@]}"
	-kernel "$kernel"
	-fsdev local,id=r,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=r,mount_tag=/dev/root
	-fsdev local,id=o,path="$out",security_model=none
	-device virtio-9p-pci,fsdev=o,mount_tag=out
	-append "$cmdline")
# Extra QEMU arguments, e.g. a gdbstub for tools/insn/run.sh
# shellcheck disable=SC2206
[ -n "${LAB_QEMU_EXTRA:-}" ] && qemu+=(${LAB_QEMU_EXTRA})
if [ $inter = 1 ]; then
	exec "${qemu[@]}" -nographic
fi
# A guest that dies before init starts the job has produced no test result:
# boot it once more, keep the failed console as boot-fail-N.log and say so
# in boot-retries.txt, which check.sh prints in its summary. Seen here 3
# times in ~80 boots: "Oops: int3" in an interrupt, at an int3 that
# text_poke_bp() had already replaced by the final instruction when the oops
# printed (twice ~2 s into boot at sched_clock_cpu's static key, flipped by
# a late initcall; once mid-job while kprobes were armed): MTTCG does not
# make that cross-modifying code sequence safe. A guest that dies after
# its job started is never retried.
tries=$((1 + ${LAB_BOOT_RETRIES:-1}))
rm -f "$out/boot-retries.txt" "$out"/boot-fail-*.log
for try in $(seq 1 "$tries"); do
	rc=0
	timeout --kill-after=10 "$timeout" "${qemu[@]}" -display none -monitor none \
		-serial file:"$out/console.log" </dev/null >"$out/qemu.log" 2>&1 || rc=$?
	[ -f "$out/rc" ] && break
	grep -qE '^lab: job |KTAP version' "$out/console.log" 2>/dev/null && break
	[ "$try" = "$tries" ] && break
	cp "$out/console.log" "$out/boot-fail-$try.log"
	why=$(grep -m1 -E 'Kernel panic|BUG:|Oops' "$out/console.log" || echo "qemu exit $rc")
	echo "$(basename "$job"): boot $try died before the job started: $why" \
		>>"$out/boot-retries.txt"
	lab_say guest "boot $try died before the job started ($why); booting again" >&2
done
if [ $rc = 124 ] || [ $rc = 137 ]; then
	lab_say guest "TIMEOUT after ${timeout}s: $(basename "$job"); console tail:" >&2
	tail -n 30 "$out/console.log" >&2
	exit 124
fi
if [ ! -f "$out/rc" ]; then
	lab_say guest "guest died before the job finished ($(basename "$job")); console tail:" >&2
	tail -n 30 "$out/console.log" >&2
	cat "$out/qemu.log" >&2
	exit 125
fi
exit "$(cat "$out/rc")"
exit
}
