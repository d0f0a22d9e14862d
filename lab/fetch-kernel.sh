#!/bin/bash
# Fetch and unpack the pinned Debian kernel source into $LAB_CACHE/src/pristine.
# Uses an apt source list that names only the pinned suite, so the machine's
# own sources are untouched. Idempotent.
set -euo pipefail
: "${LAB_CACHE:?}" "${KERNEL_PKG:?}" "${KERNEL_VERSION:?}" "${KERNEL_SUITE:?}" "${KERNEL_MIRROR:?}"
dst=$LAB_CACHE/src/pristine
stamp=$dst/.lab-version
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$KERNEL_PKG=$KERNEL_VERSION" ]; then
	exit 0
fi
apt_dir=$LAB_CACHE/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/deb"
echo "deb $KERNEL_MIRROR $KERNEL_SUITE main" >"$apt_dir/sources.list"
APT=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$apt_dir/lists" -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
echo "lab: apt-get update ($KERNEL_SUITE only)"
apt-get "${APT[@]}" update -qq
offered=$(apt-cache "${APT[@]}" madison "$KERNEL_PKG" | awk -F'|' '{gsub(/ /,"",$2); print $2}')
if ! grep -qxF "$KERNEL_VERSION" <<<"$offered"; then
	echo "lab: $KERNEL_PKG=$KERNEL_VERSION is no longer offered by $KERNEL_SUITE." >&2
	echo "lab: offered versions: $(echo $offered)" >&2
	apt-cache "${APT[@]}" search '^linux-source-7\.3' >&2 || true
	echo "lab: move the pin in lab/versions.mk and rebase the series." >&2
	exit 1
fi
deb=$(ls "$apt_dir/deb/${KERNEL_PKG}_"*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	(cd "$apt_dir/deb" && apt-get "${APT[@]}" download -qq "$KERNEL_PKG=$KERNEL_VERSION")
	deb=$(ls "$apt_dir/deb/${KERNEL_PKG}_"*.deb | head -1)
fi
echo "lab: unpacking $(basename "$deb")"
rm -rf "$LAB_CACHE/src/deb" "$dst"
mkdir -p "$LAB_CACHE/src"
dpkg -x "$deb" "$LAB_CACHE/src/deb"
mkdir -p "$dst"
tar -xf "$LAB_CACHE/src/deb/usr/src/$KERNEL_PKG.tar.xz" -C "$dst" --strip-components=1
rm -rf "$LAB_CACHE/src/deb"
echo "$KERNEL_PKG=$KERNEL_VERSION" >"$stamp"
echo "lab: pristine tree at $dst ($(make -s -C "$dst" kernelversion))"
