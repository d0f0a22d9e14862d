#!/bin/bash
# apply-series.sh TREE [--commit]
#
# Applies `series` to the kernel tree TREE, commit by commit. With --commit,
# TREE is a git repo and each block becomes one commit (for `make series`).
# Patches must apply exactly (no fuzz); a failure names the patch and hunk.
# $LAB_SERIES names another series file (file paths stay repo-relative).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
tree=$1
commit=${2:-}
msg=
# With $LAB_TOUCHED set, list there every file the series touches.
touched() {
	[ -z "${LAB_TOUCHED:-}" ] || printf '%s\n' $1 >>"$LAB_TOUCHED"
}
flush() {
	[ -n "$msg" ] || return 0
	if [ "$commit" = --commit ]; then
		git -C "$tree" add -A -f
		git -C "$tree" commit -q -F "$repo/$msg"
	fi
}
while read -r verb arg rest; do
	case "$verb" in
	'' | '#'*) continue ;;
	commit)
		flush
		msg=$arg
		[ -f "$repo/$msg" ] || { echo "series: no message file $msg" >&2; exit 1; }
		;;
	patch)
		if ! out=$(patch -p1 -F0 -N --dry-run -d "$tree" <"$repo/$arg" 2>&1); then
			echo "series: $arg does not apply to the pinned tree:" >&2
			grep -E 'FAILED|patching file|malformed|Reversed|No file' <<<"$out" >&2
			exit 1
		fi
		patch -p1 -F0 -N -s --no-backup-if-mismatch -d "$tree" <"$repo/$arg"
		touched "$(sed -n 's|^+++ b/\([^\t ]*\).*|\1|p' "$repo/$arg")"
		;;
	new)
		if [ -e "$tree/$arg" ]; then
			echo "series: $arg is listed as new but exists in the tree" >&2
			exit 1
		fi
		mkdir -p "$(dirname "$tree/$arg")"
		cp "$repo/$arg" "$tree/$arg"
		touched "$arg"
		;;
	*)
		echo "series: unknown verb '$verb'" >&2
		exit 1
		;;
	esac
done <"${LAB_SERIES:-$repo/series}"
flush
