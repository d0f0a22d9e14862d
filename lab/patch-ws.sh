#!/bin/bash
# patch-ws.sh PATCH [WS]      make a workspace to edit one patch of the series
# patch-ws.sh --regen PATCH [WS]   write the edited workspace back into PATCH
#
# A patch of the series changes files that earlier patches may have changed
# already (mm/gup.c takes four). To edit it, WS/a gets the files it touches
# as the series leaves them just before it, WS/b the same plus the patch:
# edit WS/b, then --regen rewrites PATCH as diff -u a b, file by file in the
# patch's own order, and checks the result applies with no fuzz to WS/a.
# WS defaults to $LAB_CACHE/ws/<patch name>. Needs the pristine tree
# (make source).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"
: "${LAB_CACHE:=/var/cache/packed-pin}"
regen=
if [ "${1:-}" = --regen ]; then
	regen=1
	shift
fi
patch=${1:?usage: patch-ws.sh [--regen] PATCH [WS]}
patch=${patch#"$repo/"}
[ -f "$repo/$patch" ] || lab_die "no patch $patch"
ws=${2:-$LAB_CACHE/ws/$(basename "$patch" .patch)}
pristine=$LAB_CACHE/src/pristine
[ -d "$pristine" ] || lab_die "no pristine tree: run make source"
files=$(sed -n 's|^+++ b/\([^\t ]*\).*|\1|p' "$repo/$patch")

if [ -n "$regen" ]; then
	[ -d "$ws/a" ] && [ -d "$ws/b" ] || lab_die "no workspace $ws"
	out=$(mktemp)
	for f in $files; do
		(cd "$ws" && diff -u --label "a/$f" --label "b/$f" "a/$f" "b/$f") >>"$out" || true
	done
	patch -p1 -F0 --dry-run -s -d "$ws/a" <"$out" >/dev/null ||
		lab_die "the regenerated patch does not apply to $ws/a"
	mv "$out" "$repo/$patch"
	lab_say patch-ws "$patch rewritten from $ws ($(grep -c '^@@' "$repo/$patch") hunks)"
	exit 0
fi

# The series up to, not including, the line that applies $patch.
cut=$(mktemp)
trap 'rm -rf "$cut" "$ws/full"' EXIT
awk -v p="$patch" '$1 == "patch" && $2 == p { exit } { print }' "$repo/series" >"$cut"
grep -q . "$cut" || lab_die "$patch is not in the series"
rm -rf "$ws"
mkdir -p "$ws/full"
# Only the files touched by the series are copied (the tree is large).
copy_pristine() {
	local t
	for t in "$@"; do
		[ -f "$pristine/$t" ] && [ ! -e "$ws/full/$t" ] || continue
		mkdir -p "$(dirname "$ws/full/$t")"
		cp "$pristine/$t" "$ws/full/$t"
	done
}
for f in $(sed -n 's|^\s*patch\s\+\(\S\+\)|\1|p' "$cut"); do
	copy_pristine $(sed -n 's|^+++ b/\([^\t ]*\).*|\1|p' "$repo/$f")
done
copy_pristine $files
LAB_SERIES=$cut "$here/apply-series.sh" "$ws/full" >/dev/null
for t in $files; do
	mkdir -p "$(dirname "$ws/a/$t")"
	cp "$ws/full/$t" "$ws/a/$t"
done
cp -a "$ws/a" "$ws/b"
patch -p1 -F0 -s --no-backup-if-mismatch -d "$ws/b" <"$repo/$patch"
lab_say patch-ws "edit $ws/b, then: lab/patch-ws.sh --regen $patch"
