#!/bin/bash
# build-userspace.sh TREE VARIANT
# Builds the userspace programs the guest runs into build/TREE/ (the guest
# sees this machine's root, so they run there unchanged): pinbal, the
# project's test programs and benchmarks, and the mm selftests of TREE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tree=$1 variant=$2
repo=$(cd "$here/.." && pwd)
src=$LAB_CACHE/work/$tree
obj=$src/o-$variant
out=$repo/build/$tree
mkdir -p "$out"
lab_say userspace "test programs -> $out"
make -s -C "$repo/tests" OUT="$out"
make -s -C "$repo/tools" OUT="$out"
# cow and gup_longterm leave out their io_uring fixed-buffer cases (a
# FOLL_LONGTERM pin user) when built without liburing: require it.
[ -f /usr/include/liburing.h ] || lab_die "liburing-dev is missing (lab/install-deps.sh)"
mmsrc=$src/tools/testing/selftests/mm
if [ ! -f "$out/mm/.built" ] || [ "$mmsrc/gup_test.c" -nt "$out/mm/.built" ] ||
	! grep -qs LOCAL_CONFIG_HAVE_LIBURING "$mmsrc/local_config.h_gen"; then
	rm -f "$mmsrc/local_config.mk" "$mmsrc/local_config.h_gen"
	lab_say userspace "mm selftests of $tree"
	make -s -C "$src" O="o-$variant" headers >/dev/null
	mkdir -p "$out/mm"
	make -s -k -C "$mmsrc" OUTPUT="$out/mm" \
		KHDR_INCLUDES="-isystem $obj/usr/include" \
		"$out/mm/gup_test" "$out/mm/gup_longterm" "$out/mm/cow" >"$out/mm/build.log" 2>&1 ||
		{ tail -20 "$out/mm/build.log"; lab_die "mm selftests did not build"; }
	touch "$out/mm/.built"
fi
