#!/bin/bash
# prepare-tree.sh TREE   (called by build-kernel.sh, under its lock)
#
# stock:     $LAB_CACHE/work/stock  = the pristine tree.
# patched*:  $LAB_CACHE/work/TREE   = pristine + the series (`series`, or
#            the file $LAB_SERIES names).
# Only the files the series touches (now or last time) are compared and
# copied, so make rebuilds exactly what changed and a re-prepare takes
# seconds; the object dirs (o-*) inside the trees are kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tree=$1
: "${LAB_CACHE:?}"
pristine=$LAB_CACHE/src/pristine
dst=$LAB_CACHE/work/$tree
base=$(cat "$pristine/.lab-version")
mkdir -p "$dst"

# A fresh copy of the pristine tree into $1, once per base version.
fresh_copy() {
	if [ "$(cat "$1/.lab-base" 2>/dev/null)" != "$base" ]; then
		lab_say prepare "copying the pristine tree to $1"
		rsync -a --delete --exclude='/o-*' --exclude=/.lab-version "$pristine/" "$1/"
		rm -f "$1/.lab-touched"
		echo "$base" >"$1/.lab-base"
	fi
}

fresh_copy "$dst"
if [ "$tree" = stock ]; then
	lab_say prepare "stock tree ready"
	exit 0
fi

# Put back what the series touched last time, then apply it again.
stage=$LAB_CACHE/stage-$tree
fresh_copy "$stage"
old=$(cat "$stage/.lab-touched" 2>/dev/null || true)
for f in $old; do
	if [ -f "$pristine/$f" ]; then
		cp -p "$pristine/$f" "$stage/$f"
	else
		rm -f "$stage/$f"
	fi
done
: >"$stage/.lab-touched"
LAB_TOUCHED=$stage/.lab-touched "$here/apply-series.sh" "$stage"

# Bring $dst to $stage for every file either application touched.
for f in $(printf '%s\n' $old $(cat "$stage/.lab-touched") | sort -u); do
	if [ -f "$stage/$f" ]; then
		if ! cmp -s "$stage/$f" "$dst/$f"; then
			mkdir -p "$(dirname "$dst/$f")"
			cp "$stage/$f" "$dst/$f"
		fi
	else
		rm -f "$dst/$f"
	fi
done
lab_say prepare "$tree tree ready ($(wc -l <"$stage/.lab-touched") files from the series)"
