#!/bin/bash
# make-series.sh: emit the series as `git format-patch` output.
#
# Builds a scratch git repo of the pristine tree, applies `series` commit by
# commit (lab/apply-series.sh --commit), writes build/series/*.patch with a
# cover letter holding the latest bench table (build/bench/bench.md), and
# runs the tree's scripts/checkpatch.pl --strict on every patch.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
repo=$(cd "$here/.." && pwd)
: "${LAB_CACHE:?}"
git_tree=$LAB_CACHE/series-git
out=$repo/build/series
export GIT_AUTHOR_NAME="Packed Pin Lab" GIT_AUTHOR_EMAIL="lab@packed-pin.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"

stamp=$git_tree.version
if [ ! -d "$git_tree/.git" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$(cat "$LAB_CACHE/src/pristine/.lab-version")" ]; then
	lab_say series "scratch git repo of the pristine tree (once)"
	rm -rf "$git_tree"
	mkdir -p "$git_tree"
	rsync -a --exclude=/.lab-version "$LAB_CACHE/src/pristine/" "$git_tree/"
	git -C "$git_tree" init -q
	git -C "$git_tree" add -A -f
	git -C "$git_tree" commit -q -m "Linux $(make -s -C "$git_tree" kernelversion) ($KERNEL_PKG $KERNEL_VERSION)"
	git -C "$git_tree" tag base
	cp "$LAB_CACHE/src/pristine/.lab-version" "$stamp"
fi
git -C "$git_tree" checkout -q -f base
git -C "$git_tree" clean -q -fdx
git -C "$git_tree" checkout -q -B series
"$here/apply-series.sh" "$git_tree" --commit

n=$(git -C "$git_tree" rev-list --count base..series)
[ "$n" -gt 0 ] || lab_die "series is empty"
rm -rf "$out"
mkdir -p "$out"
git -C "$git_tree" format-patch -q --signoff --cover-letter -o "$out" base..series
cover=$(ls "$out"/0000-cover-letter.patch)
python3 "$here/cover-letter.py" "$cover" "$repo/series.d/cover-letter.txt" \
	"$repo/build/bench/bench.md"
lab_say series "$n patches in $out"
# checkpatch asks whether MAINTAINERS needs updating whenever a patch adds a
# file. The answer is no when that is all it says and get_maintainer.pl
# already names a maintainer list for every file the patch creates: print
# those files.
maintainers_cover() { # PATCH
	local f files
	[ "$(grep -c '^\(WARNING\|ERROR\|CHECK\)' "$1.checkpatch")" = 1 ] || return 1
	grep -q 'does MAINTAINERS need updating' "$1.checkpatch" || return 1
	files=$(sed -n 's/^ create mode [0-9]* //p' "$1")
	[ -n "$files" ] || return 1
	for f in $files; do
		(cd "$git_tree" && scripts/get_maintainer.pl --no-git --no-rolestats -f "$f" 2>/dev/null) |
			grep -q '@' || return 1
	done
	echo $files
}

# checkpatch runs scripts/spdxcheck.py with the python3 on PATH, which
# needs ply and GitPython: Debian's python3 has them (python3-ply,
# python3-git from install-deps), a pyenv one may not.
export PATH=/usr/bin:$PATH
fail=0
for p in "$out"/*.patch; do
	case "$p" in *0000-cover-letter.patch) continue ;; esac
	if "$git_tree/scripts/checkpatch.pl" --strict -q "$p" >"$p.checkpatch" 2>&1 &&
	   ! grep -q '^Traceback' "$p.checkpatch"; then
		lab_say series "checkpatch --strict clean: $(basename "$p")"
	elif covered=$(maintainers_cover "$p"); then
		lab_say series "checkpatch --strict clean but for its MAINTAINERS question:" \
			"$(basename "$p") adds $covered, which existing MAINTAINERS entries cover"
	else
		lab_say series "checkpatch --strict: $(basename "$p")"
		sed 's/^/    /' "$p.checkpatch"
		fail=1
	fi
done
exit $fail
