#!/bin/bash
# prepare-tree.sh TREE   (called by build-kernel.sh, under its lock)
#
# stock:     $LAB_CACHE/work/stock   = the pristine tree.
# patched*:  $LAB_CACHE/work/patched = pristine + the series (`series`, or
#            the file $LAB_SERIES names).
# Files are synced by checksum, so only files whose content changed get a new
# mtime and make rebuilds exactly what the series touched; the object dirs
# (o-*) inside the trees are kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tree=$1
: "${LAB_CACHE:?}"
pristine=$LAB_CACHE/src/pristine
dst=$LAB_CACHE/work/$tree
mkdir -p "$dst"
if [ "$tree" = stock ]; then
	rsync -rlc --delete --exclude='/o-*' --exclude=/.lab-version "$pristine/" "$dst/"
	lab_say prepare "stock tree ready"
	exit 0
fi
stage=$LAB_CACHE/stage-$tree
rsync -rlc --delete --exclude=/.lab-version "$pristine/" "$stage/"
"$here/apply-series.sh" "$stage"
rsync -rlc --delete --exclude='/o-*' "$stage/" "$dst/"
lab_say prepare "patched tree ready"
