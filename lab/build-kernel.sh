#!/bin/bash
# build-kernel.sh TREE {test|bench}
#
# TREE is "stock", or "patched" (pristine + `series`; $LAB_SERIES names
# another series file), or "patched-NAME" for a private patched tree.
# Prepares the tree (lab/prepare-tree.sh) and builds bzImage out of tree,
# both under one lock: two kernel builds never run at once on this lab.
# Each tree lives at $LAB_CACHE/work/TREE and its object dirs are direct
# children (o-test, o-bench), so kbuild uses the relative srctree "..":
# with hash_dir=false ccache then hits across the trees for every file the
# series does not touch.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tree=$1 variant=$2
: "${LAB_CACHE:?}"
src=$LAB_CACHE/work/$tree
obj=$src/o-$variant
repo=$(cd "$here/.." && pwd)

# Two kernel builds never run at once on this 2-core lab: wait for the lock.
mkdir -p "$LAB_CACHE"
exec 9>"$LAB_CACHE/build.lock"
if ! flock -n 9; then
	lab_say "$tree-$variant" "waiting for another kernel build to finish"
	flock 9
fi

"$here/prepare-tree.sh" "$tree" || lab_die "could not prepare the $tree tree"

export CCACHE_DIR=$LAB_CACHE/ccache
export CCACHE_BASEDIR=$LAB_CACHE/work
export CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=file_macro,time_macros,include_file_mtime,include_file_ctime,locale
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-12G}
mkdir -p "$CCACHE_DIR"

mkdir -p "$obj"
frags=("$src/kernel/configs/kvm_guest.config" "$repo/config/lab.config" "$repo/config/$variant.config")
[ "$tree" != stock ] && [ -f "$repo/config/patched-$variant.config" ] &&
	frags+=("$repo/config/patched-$variant.config")
want=$(cat "${frags[@]}" | sha1sum | cut -c1-12)
if [ ! -f "$obj/.config" ] || [ "$(cat "$obj/.lab-config" 2>/dev/null)" != "$want" ]; then
	lab_say "$tree-$variant" "configure"
	make -s -C "$src" O="o-$variant" x86_64_defconfig >/dev/null
	(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O . .config "${frags[@]}" >/dev/null)
	make -s -C "$src" O="o-$variant" olddefconfig >/dev/null
	# Every =y asked for must have stuck (merge_config only warns).
	bad=0
	for f in "${frags[@]:1}"; do
		while IFS= read -r line; do
			case "$line" in
			CONFIG_*=y) grep -qx "$line" "$obj/.config" || { echo "  not set: $line"; bad=1; } ;;
			esac
		done <"$f"
	done
	[ $bad = 0 ] || lab_die "config fragment did not apply (see above)"
	echo "$want" >"$obj/.lab-config"
fi

log=$obj/build.log
lab_say "$tree-$variant" "make bzImage (log: $log)"
ccache -z >/dev/null
(
	while sleep 60; do
		lab_say "$tree-$variant" "building, $(grep -c '^  CC' "$log" 2>/dev/null || echo 0) files compiled"
	done
) 9>&- &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
if ! make -C "$src" O="o-$variant" CC="ccache gcc" -j"$(nproc)" bzImage >"$log" 2>&1; then
	grep -E -B2 -A8 'error:|Error [0-9]' "$log" | head -60 >&2
	lab_die "$tree-$variant: build failed"
fi
kill $ticker 2>/dev/null || true
stats=$(ccache -s 2>/dev/null | grep -E '^\s*(Hits|Misses):' | head -2 | tr -s ' ' | tr '\n' ' ')
lab_say "$tree-$variant" "done: $obj/arch/x86/boot/bzImage; ccache this build: $stats"
echo "$stats" >"$obj/ccache-stats.txt"
