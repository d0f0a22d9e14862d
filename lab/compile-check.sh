#!/bin/bash
# compile-check.sh [STEP...]   STEP: mod novec i386 i386pae arm64 bisect (default: all)
#
# The compile matrix reviewers ask of the series (`make compile-check`):
#   mod     x86_64, lab config with VFIO, VFIO_IOMMU_TYPE1, VFIO_PCI,
#           INFINIBAND, ib_uverbs, RDMA_RXE as modules: builds drivers/vfio/
#           and drivers/infiniband/ and runs modpost on those modules against
#           the freshly built series objects plus the stock kernel's exports
#           (every symbol they use must be exported, the series' as _GPL).
#   novec   x86_64, lab config with everything that selects GUP_VEC off:
#           the series' objects build, and nothing built references a
#           symbol that only exists with GUP_VEC=y (checked against mod).
#   i386    ARCH=i386 defconfig + the lab fragment + GUP_VEC_KUNIT_TEST,
#           W=1: 32-bit lengths, a 32-bit PFN (NOHIGHMEM).
#   i386pae the same with HIGHMEM4G and X86_PAE: 64-bit phys_addr_t,
#           36 physical address bits behind a 32-bit unsigned long.
#   arm64   ARCH=arm64 defconfig + the lab fragment + GUP_VEC_KUNIT_TEST,
#           W=1 (needs gcc-aarch64-linux-gnu).
#   bisect  every prefix of `series` applied to a scratch copy of the
#           pristine tree ($LAB_CACHE/work/cc-bisect), the objects the
#           series touched so far built with the x86_64 lab config.
# The first steps build in objdirs o-cc-{mod,novec,i386,...} of the patched
# tree $LAB_CACHE/work/patched, which lab/build-kernel.sh prepares: this
# script only says when that tree is stale against `series`.
#
# Only the objects the series touches are built (targeted kbuild goals),
# not vmlinux. FAIL on any error, and on any warning in a file the series
# touches (with W=1: on a line the series adds or changes; W=1 warnings on
# untouched lines of those files are listed as notes). Every make runs
# under the lab build lock, with build-kernel.sh's ccache settings.
# Goal lists are word-split on purpose.
# shellcheck disable=SC2046,SC2086
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
repo=$(cd "$here/.." && pwd)
: "${LAB_CACHE:=/var/cache/packed-pin}"
export LAB_CACHE
pristine=$LAB_CACHE/src/pristine
# $LAB_CC_TREE checks another prepared tree, e.g. $LAB_CACHE/work/cc-bisect,
# which a bisect run leaves at the whole current series.
patched=${LAB_CC_TREE:-$LAB_CACHE/work/patched}
stock=$LAB_CACHE/work/stock
lock=$LAB_CACHE/build.lock
series=$repo/series
py=

export CCACHE_DIR=$LAB_CACHE/ccache
export CCACHE_BASEDIR=$LAB_CACHE/work
export CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=file_macro,time_macros,include_file_mtime,include_file_ctime,locale
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-12G}
mkdir -p "$CCACHE_DIR"

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(mod novec i386 i386pae arm64 bisect)
declare -A result
t_start=$(date +%s)

say() { lab_say cc "$*"; }

# series_files [N]: the files commits 1..N (all by default) touch.
series_files() {
	local n=${1:-999} k=0 verb arg rest
	while read -r verb arg rest; do
		case "$verb" in
		commit) k=$((k + 1)) ;;
		patch) [ $k -le "$n" ] && sed -n 's|^+++ b/\([^\t ]*\).*|\1|p' "$repo/$arg" ;;
		new) [ $k -le "$n" ] && echo "$arg" ;;
		esac
	done <"$series" | sort -u
}
ncommits=$(grep -c '^commit ' "$series")

# kmake TREE OBJ ARCH ARGS...: one kernel make, under the lab build lock.
kmake() {
	local tree=$1 obj=$2 arch=$3
	shift 3
	local a=()
	case $arch in
	x86_64) a=(CC="ccache gcc") ;;
	i386) a=(ARCH=i386 CC="ccache gcc") ;;
	arm64) a=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- CC="ccache aarch64-linux-gnu-gcc") ;;
	esac
	if ! flock -n "$lock" true; then
		say "waiting for the build lock ($lock)"
	fi
	flock "$lock" make -C "$tree" O="$obj" "${a[@]}" "$@"
}

# configure TREE OBJ ARCH DEFCONFIG FRAGMENT...: defconfig + fragments,
# redone only when they change. Kconfig's own warnings go to OBJ/cc-kconfig.log.
configure() {
	local tree=$1 obj=$2 arch=$3 def=$4
	shift 4
	local o=$tree/$obj
	local want
	want=$( (echo "$arch $def"; cat "$@" "$tree/Kconfig" "$tree/mm/Kconfig") | sha1sum | cut -c1-12)
	mkdir -p "$o"
	if [ -f "$o/.config" ] && [ "$(cat "$o/.cc-config" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	rm -f "$o/.cc-config"
	{
		kmake "$tree" "$obj" "$arch" -s "$def" &&
			(cd "$o" && "$tree/scripts/kconfig/merge_config.sh" -m -O . .config "$@") &&
			kmake "$tree" "$obj" "$arch" -s olddefconfig
	} >"$o/cc-kconfig.log" 2>&1 || {
		tail -20 "$o/cc-kconfig.log"
		return 1
	}
	echo "$want" >"$o/.cc-config"
}

# expect OBJDIR SETTING...: CONFIG_X=y|m must be in .config, CONFIG_X=n must not be set.
expect() {
	local o=$1 bad=0 s
	shift
	for s in "$@"; do
		case "$s" in
		*=n) grep -Eq "^${s%=n}=[ym]" "$o/.config" && { echo "    config: wanted $s, got $(grep -E "^${s%=n}=" "$o/.config")"; bad=1; } ;;
		*) grep -qx "$s" "$o/.config" || { echo "    config: wanted $s, got $(grep -E "^${s%=*}=|^# ${s%=*} is not" "$o/.config" || echo 'nothing')"; bad=1; } ;;
		esac
	done
	return $bad
}

# kconfig_warnings OBJDIR: Kconfig warnings naming a symbol the series adds or selects.
kconfig_warnings() {
	grep -E -A3 'unmet direct dependencies|warning:' "$1/cc-kconfig.log" 2>/dev/null |
		grep -E -B1 -A3 'GUP_VEC|GUP_TEST|VFIO_IOMMU_TYPE1|INFINIBAND_USER_MEM' | head -20
}

# build TREE OBJ ARCH WFLAG TARGET...: make the targets, log to OBJ/cc-build.log.
build() {
	local tree=$1 obj=$2 arch=$3 w=$4
	shift 4
	local log=$tree/$obj/cc-build.log
	say "$obj: make $w $*"
	# shellcheck disable=SC2086
	kmake "$tree" "$obj" "$arch" -j"$(nproc)" $w -k "$@" >"$log" 2>&1
}

# analyze TREE OBJDIR LOG WMODE FILES-LIST RC: PASS/FAIL verdict on a build log.
analyze() {
	python3 "$py" analyze --tree "$1" --objdir "$2" --pristine "$pristine" --log "$3" --wmode "$4" \
		--files "$5" --rc "$6"
}

# targets TREE OBJDIR FILES-LIST: the kbuild goals for the touched files
# that this config builds (notes on the others go to stderr).
targets() {
	python3 "$py" targets --tree "$1" --config "$2/.config" --files "$3"
}

# prune GOAL...: each goal once, none inside a directory goal (kbuild's
# single-target mode trips over drivers/infiniband/ beside drivers/infiniband/core/).
prune() {
	local g d keep
	for g in $(printf '%s\n' "$@" | sort -u); do
		keep=1
		for d in "$@"; do
			case $d in */) [ "$g" != "$d" ] && [ "${g#"$d"}" != "$g" ] && keep=0 ;; esac
		done
		[ $keep = 1 ] && echo "$g"
	done
}

finish() { # STEP VERDICT
	result[$1]=$2
	say "$1: $2"
}

# The patched tree must be `series` applied to the pristine tree.
check_fresh() {
	local tmp f stale=0
	tmp=$(mktemp -d)
	for f in $(series_files); do
		if [ -f "$pristine/$f" ]; then
			mkdir -p "$tmp/$(dirname "$f")"
			cp -p "$pristine/$f" "$tmp/$f"
		fi
	done
	if ! "$here/apply-series.sh" "$tmp" >"$tmp.log" 2>&1; then
		cat "$tmp.log"
		rm -rf "$tmp" "$tmp.log"
		lab_die "the series does not apply to the pristine tree"
	fi
	for f in $(series_files); do
		cmp -s "$tmp/$f" "$patched/$f" || { echo "    stale: $f"; stale=1; }
	done
	rm -rf "$tmp" "$tmp.log"
	if [ $stale = 1 ]; then
		say "WARNING: $patched is not the current series (run lab/build-kernel.sh patched test, or LAB_CC_TREE=$LAB_CACHE/work/cc-bisect after a bisect run); checking it as it is"
	else
		say "$patched matches the series ($(series_files | wc -l) files)"
	fi
}

all_files=$(mktemp)
series_files >"$all_files"

# x86_64 lab fragments, as build-kernel.sh merges them.
x86_frags=("$patched/kernel/configs/kvm_guest.config" "$repo/config/lab.config")

step_mod() {
	local obj=o-cc-mod o=$patched/o-cc-mod frag
	mkdir -p "$o"
	frag=$o/cc-fragment.config
	cat >"$frag" <<-'EOF'
		CONFIG_MODULES=y
		CONFIG_VFIO=m
		CONFIG_VFIO_CONTAINER=y
		CONFIG_VFIO_PCI=m
		CONFIG_VFIO_PCI_CORE=m
		CONFIG_INFINIBAND=m
		CONFIG_INFINIBAND_USER_ACCESS=m
		CONFIG_RDMA_RXE=m
		CONFIG_GUP_VEC_KUNIT_TEST=n
	EOF
	configure "$patched" $obj x86_64 x86_64_defconfig "${x86_frags[@]}" "$frag" || { finish mod "FAIL (configure)"; return; }
	local bad=0
	expect "$o" CONFIG_VFIO=m CONFIG_VFIO_IOMMU_TYPE1=m CONFIG_VFIO_PCI=m CONFIG_INFINIBAND=m \
		CONFIG_INFINIBAND_USER_ACCESS=m CONFIG_INFINIBAND_USER_MEM=y CONFIG_RDMA_RXE=m CONFIG_GUP_VEC=y || bad=1
	kconfig_warnings "$o" | sed 's/^/    kconfig: /' | grep . && bad=1
	# The series' built-in objects, then every module in drivers/vfio and drivers/infiniband.
	local builtin
	builtin=$(targets "$patched" "$o" "$all_files" | grep '\.o$' | grep -Ev '^drivers/(vfio|infiniband)/')
	build "$patched" $obj x86_64 "" $(prune $builtin drivers/vfio/ drivers/infiniband/)
	analyze "$patched" "$o" "$o/cc-build.log" 0 "$all_files" $? || bad=1
	# modpost: the modules against the series' fresh objects (as vmlinux.o)
	# plus the stock kernel's exports from everything else.
	local mp=$o/cc-modpost ref=$stock/o-bench
	[ -f "$ref/vmlinux.o" ] || ref=$stock/o-test
	if [ ! -f "$ref/vmlinux.o" ]; then
		echo "    modpost: no stock vmlinux.o ($stock/o-bench or o-test): build the stock kernel first"
		finish mod FAIL
		return
	fi
	rm -rf "$mp"
	mkdir -p "$mp/stock"
	ln -s "$ref/vmlinux.o" "$mp/stock/vmlinux.o"
	(cd "$mp/stock" && "$o/scripts/mod/modpost" -M -o vmlinux.symvers vmlinux.o) >"$mp/stock/modpost.log" 2>&1 ||
		{ echo "    modpost on the stock vmlinux.o failed: $(tail -3 "$mp/stock/modpost.log")"; }
	local f mods=()
	for f in $builtin; do [ -f "$o/$f" ] && echo "$f"; done >"$mp/builtin.list"
	# modpost reads the modules' .mod and .o.cmd files relative to the
	# objtree, and takes "vmlinux.o" there for vmlinux: the series objects
	# stand in for it while modpost runs.
	if [ -e "$o/vmlinux.o" ]; then
		echo "    modpost: $o/vmlinux.o exists; not replacing it"
		finish mod FAIL
		return
	fi
	# shellcheck disable=SC2046
	(cd "$o" && ld -r -o "$mp/vmlinux.o" $(cat "$mp/builtin.list"))
	while IFS= read -r f; do mods+=("${f%.mod}.o"); done < <(cd "$o" && find drivers/vfio drivers/infiniband -name '*.mod' | sort)
	printf '%s\n' "${mods[@]}" >"$mp/modules.order"
	python3 "$py" symvers --stock "$mp/stock/vmlinux.symvers" --stock-objs "$ref" --builtin "$mp/builtin.list" \
		--objdir "$o" --modules "$mp/modules.order" --out "$mp/input.symvers"
	echo "    modpost: ${#mods[@]} modules: $(printf '%s ' "${mods[@]}" | sed 's|drivers/||g')"
	cp "$mp/vmlinux.o" "$o/vmlinux.o"
	if (cd "$o" && scripts/mod/modpost -M -E -i cc-modpost/input.symvers -o cc-modpost/Module.symvers \
		-T cc-modpost/modules.order vmlinux.o) >"$mp/modpost.log" 2>&1; then
		echo "    modpost: PASS (no undefined symbol, no GPL, namespace or section error)"
	else
		echo "    modpost: FAIL"
		bad=1
	fi
	rm -f "$o/vmlinux.o" "$o/.vmlinux.export.c"
	grep -E 'ERROR|WARNING' "$mp/modpost.log" | head -20 | sed 's/^/    /'
	python3 "$py" exports --stock "$mp/stock/vmlinux.symvers" --symvers "$mp/Module.symvers" \
		--objdir "$o" --modules "$mp/modules.order" || bad=1
	[ $bad = 0 ] && finish mod PASS || finish mod FAIL
}

step_novec() {
	local obj=o-cc-novec o=$patched/o-cc-novec frag
	mkdir -p "$o"
	frag=$o/cc-fragment.config
	# Every user of GUP_VEC off; their neighbours (vfio-pci over iommufd,
	# ib_core and rxe without user verbs) stay on.
	cat >"$frag" <<-'EOF'
		CONFIG_GUP_TEST=n
		CONFIG_GUP_VEC_KUNIT_TEST=n
		CONFIG_VFIO_CONTAINER=n
		CONFIG_VFIO_IOMMU_TYPE1=n
		CONFIG_INFINIBAND_USER_ACCESS=n
		CONFIG_VFIO=y
		CONFIG_VFIO_PCI=y
		CONFIG_IOMMUFD=y
		CONFIG_VFIO_DEVICE_CDEV=y
		CONFIG_INFINIBAND=y
		CONFIG_RDMA_RXE=y
	EOF
	configure "$patched" $obj x86_64 x86_64_defconfig "${x86_frags[@]}" "$frag" || { finish novec "FAIL (configure)"; return; }
	local bad=0
	expect "$o" CONFIG_GUP_VEC=n CONFIG_GUP_TEST=n CONFIG_VFIO_IOMMU_TYPE1=n CONFIG_INFINIBAND_USER_MEM=n \
		CONFIG_VFIO=y CONFIG_VFIO_PCI=y CONFIG_INFINIBAND=y CONFIG_RDMA_RXE=y || bad=1
	local t
	t=$(targets "$patched" "$o" "$all_files")
	# gup.o and scatterlist.o must build with GUP_VEC=n, and the driver dirs.
	build "$patched" $obj x86_64 "" $(prune $t drivers/vfio/ drivers/infiniband/)
	analyze "$patched" "$o" "$o/cc-build.log" 0 "$all_files" $? || bad=1
	# Link check without vmlinux: no object built here may reference a
	# symbol that only a GUP_VEC=y build defines.
	python3 "$py" vecsyms --on "$patched/o-cc-mod" --off "$o" --objs "mm/gup.o mm/gup_vec.o lib/scatterlist.o" \
		--scan "mm/gup.o lib/scatterlist.o drivers/vfio drivers/infiniband" || bad=1
	[ $bad = 0 ] && finish novec PASS || finish novec FAIL
}

# step_cross NAME ARCH DEFCONFIG [CONFIG_X=V...]: i386 / arm64, W=1.
step_cross() {
	local name=$1 arch=$2 def=$3
	shift 3
	local obj=o-cc-$name o=$patched/o-cc-$name frag
	if [ "$arch" = arm64 ] && ! command -v aarch64-linux-gnu-gcc >/dev/null; then
		echo "    no aarch64-linux-gnu-gcc: apt-get install gcc-aarch64-linux-gnu"
		finish "$name" "FAIL (no cross compiler)"
		return
	fi
	mkdir -p "$o"
	frag=$o/cc-fragment.config
	printf '%s\n' CONFIG_GUP_VEC_KUNIT_TEST=y "$@" >"$frag"
	local frags=("$repo/config/lab.config" "$frag")
	[ "$arch" = i386 ] && frags=("$patched/kernel/configs/kvm_guest.config" "${frags[@]}")
	configure "$patched" "$obj" "$arch" "$def" "${frags[@]}" || { finish "$name" "FAIL (configure)"; return; }
	local bad=0 want=(CONFIG_GUP_VEC=y CONFIG_GUP_VEC_KUNIT_TEST=y CONFIG_GUP_TEST=y CONFIG_VFIO_IOMMU_TYPE1=y
		CONFIG_INFINIBAND_USER_MEM=y "$@")
	[ "$arch" = arm64 ] && want+=(CONFIG_RDMA_RXE=y)
	expect "$o" "${want[@]}" || bad=1
	grep -q '^CONFIG_RDMA_RXE=' "$o/.config" ||
		echo "    note: RDMA_RXE cannot be set on $arch (depends on 64BIT, INFINIBAND_VIRT_DMA): rxe not built"
	kconfig_warnings "$o" | sed 's/^/    kconfig: /' | grep . && bad=1
	local t
	t=$(targets "$patched" "$o" "$all_files")
	build "$patched" "$obj" "$arch" W=1 $(prune $t)
	analyze "$patched" "$o" "$o/cc-build.log" 1 "$all_files" $? || bad=1
	[ $bad = 0 ] && finish "$name" PASS || finish "$name" FAIL
}

step_bisect() {
	local tree=$LAB_CACHE/work/cc-bisect obj=o-cc-bisect
	local o=$tree/$obj base f k bad=0
	base=$(cat "$pristine/.lab-version")
	# A scratch copy of the pristine tree, once; later runs put back the
	# files the last run touched.
	if [ "$(cat "$tree/.lab-base" 2>/dev/null)" != "$base" ]; then
		say "bisect: copying the pristine tree to $tree"
		mkdir -p "$tree"
		rsync -a --delete --exclude='/o-*' --exclude=/.lab-version "$pristine/" "$tree/"
		rm -f "$tree/.lab-touched"
		echo "$base" >"$tree/.lab-base"
	fi
	for f in $(sort -u "$tree/.lab-touched" 2>/dev/null); do
		if [ -f "$pristine/$f" ]; then cp -p "$pristine/$f" "$tree/$f"; else rm -f "$tree/$f"; fi
	done
	: >"$tree/.lab-touched"
	mkdir -p "$o"
	# The x86_64 lab config (+ the patched test variant's KUnit suite once
	# its Kconfig entry exists), redone with olddefconfig at every step.
	local frag=$o/cc-fragment.config
	printf 'CONFIG_GUP_VEC_KUNIT_TEST=y\n' >"$frag"
	rm -f "$o/.cc-config" # the last run left .config at its last commit
	configure "$tree" $obj x86_64 x86_64_defconfig "$tree/kernel/configs/kvm_guest.config" \
		"$repo/config/lab.config" "$frag" || { finish bisect "FAIL (configure)"; return; }
	cp "$o/.config" "$o/cc-base.config"
	local one files
	one=$(mktemp)
	files=$(mktemp)
	for k in $(seq 1 "$ncommits"); do
		awk -v k="$k" '/^commit /{n++} n==k' "$series" >"$one"
		local name
		name=$(sed -n 's|^commit series.d/\(.*\)\.txt|\1|p' "$one")
		if ! LAB_SERIES=$one LAB_TOUCHED=$tree/.lab-touched "$here/apply-series.sh" "$tree" >"$o/cc-apply.log" 2>&1; then
			echo "  [$k/$ncommits $name] does not apply:"
			sed 's/^/    /' "$o/cc-apply.log"
			bad=1
			break
		fi
		series_files "$k" >"$files"
		# Reconfigure for this tree: Kconfig may have new symbols.
		cp "$o/cc-base.config" "$o/.config"
		printf 'CONFIG_GUP_VEC_KUNIT_TEST=y\n' >>"$o/.config"
		kmake "$tree" $obj x86_64 -s olddefconfig >"$o/cc-kconfig.log" 2>&1 || { tail "$o/cc-kconfig.log"; bad=1; break; }
		local t vec
		t=$(targets "$tree" "$o" "$files" 2>"$o/cc-targets.log")
		vec=$(grep -E '^CONFIG_(GUP_VEC|GUP_VEC_KUNIT_TEST|VFIO_IOMMU_TYPE1|INFINIBAND_USER_MEM)=' "$o/.config" | sed 's/CONFIG_//' | tr '\n' ' ')
		build "$tree" $obj x86_64 "" $(prune $t) >/dev/null
		local rc=$?
		cp "$o/cc-build.log" "$o/cc-step-$k.log"
		echo "  [$k/$ncommits $name] config: ${vec:-GUP_VEC unset}"
		echo "    built: $(prune $t | tr '\n' ' ')"
		cat "$o/cc-targets.log"
		kconfig_warnings "$o" | sed 's/^/    kconfig: /' | grep . && bad=1
		analyze "$tree" "$o" "$o/cc-step-$k.log" 0 "$files" $rc | sed 's/^/  /' || bad=1
		# GUP_VEC exists but nothing selects it yet: its code is dead in
		# this commit's kernel. Compile it anyway, with CONFIG_GUP_VEC
		# defined by hand, so a commit does not carry code that only
		# builds later.
		if grep -qx 'config GUP_VEC' "$tree/mm/Kconfig" && ! grep -q '^CONFIG_GUP_VEC=y' "$o/.config"; then
			local forced=mm/gup.o
			[ -f "$tree/mm/gup_vec.c" ] && forced="$forced mm/gup_vec.o"
			build "$tree" $obj x86_64 KCFLAGS=-DCONFIG_GUP_VEC=1 $forced >/dev/null
			rc=$?
			cp "$o/cc-build.log" "$o/cc-step-$k-forced.log"
			echo "    GUP_VEC selected by nothing yet: $forced again with CONFIG_GUP_VEC defined by hand"
			analyze "$tree" "" "$o/cc-step-$k-forced.log" 0 "$files" $rc | sed 's/^/  /' || bad=1
		fi
	done
	# The last step must be the patched tree.
	for f in $(series_files); do
		cmp -s "$tree/$f" "$patched/$f" || echo "    note: after the last commit $f differs from $patched (stale patched tree?)"
	done
	rm -f "$one" "$files"
	[ $bad = 0 ] && finish bisect PASS || finish bisect FAIL
}

main() {
py=$(mktemp --suffix=.py)
helper_source >"$py"
trap 'rm -f "$all_files" "$py"' EXIT
check_fresh
for s in "${steps[@]}"; do
	t0=$(date +%s)
	say "=== $s"
	case $s in
	mod) step_mod ;;
	novec) step_novec ;;
	i386) step_cross i386 i386 i386_defconfig ;;
	i386pae) step_cross i386pae i386 i386_defconfig CONFIG_HIGHMEM4G=y CONFIG_X86_PAE=y ;;
	arm64) step_cross arm64 arm64 defconfig ;;
	bisect) step_bisect ;;
	*) lab_die "unknown step $s (mod novec i386 i386pae arm64 bisect)" ;;
	esac
	say "$s took $(($(date +%s) - t0)) s"
done

say "=== summary (wall time $(($(date +%s) - t_start)) s)"
rc=0
for s in "${steps[@]}"; do
	printf '  %-7s %s\n' "$s" "${result[$s]:-not run}"
	case "${result[$s]:-}" in PASS) ;; *) rc=1 ;; esac
done
exit $rc
}

# The Python half: log analysis, kbuild goals, symvers and nm checks.
helper_source() {
	cat <<'PY'
# compile-check.sh's helper (written out by the script at run time).
import argparse, os, re, subprocess, sys


def read_list(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip()]


def norm(path, tree):
    if path.startswith(tree + '/'):
        path = path[len(tree) + 1:]
    while path.startswith('../'):
        path = path[3:]
    if path.startswith('./'):
        path = path[2:]
    return path


def added_lines(tree, pristine, f, cache={}):
    """Line numbers of f in tree that the series adds or changes."""
    if f in cache:
        return cache[f]
    new = os.path.join(tree, f)
    old = os.path.join(pristine, f)
    lines = set()
    if not os.path.exists(old):
        with open(new, errors='replace') as fh:
            lines = set(range(1, sum(1 for _ in fh) + 2))
    else:
        out = subprocess.run(['diff', '-U0', old, new], capture_output=True, text=True,
                             errors='replace').stdout
        for m in re.finditer(r'^@@ -\S+ \+(\d+)(?:,(\d+))? @@', out, re.M):
            start, n = int(m.group(1)), int(m.group(2) or 1)
            # A pure deletion (n=0) leaves its neighbours suspect too.
            lines.update(range(start, start + max(n, 1) + (1 if n == 0 else 0)))
    cache[f] = lines
    return lines


def analyze(a):
    tree = a.tree
    files = set(read_list(a.files))
    log = open(a.log, errors='replace').read().splitlines()
    err_re = re.compile(r'(: (fatal )?error:|^make(\[\d+\])?: \*\*\*|^ERROR:|undefined reference|No rule to make target)')
    errors = [l for l in log if err_re.search(l)]
    wre = re.compile(r'^(?P<path>[^\s:]+):(?P<line>\d+):(?:\d+:)? warning: (?P<msg>.*)$')
    seen = set()
    bad_w, note_w, other_w = [], [], []
    for l in log:
        m = wre.match(l)
        if not m:
            continue
        path = norm(m.group('path'), tree)
        key = (path, m.group('line'), m.group('msg'))
        if key in seen:
            continue
        seen.add(key)
        text = '%s:%s: %s' % key
        if path in files:
            if a.wmode == '0' or int(m.group('line')) in added_lines(tree, a.pristine, path):
                bad_w.append(text)
            else:
                note_w.append(text)
        else:
            other_w.append(text)
    fail = bool(errors) or bool(bad_w) or a.rc != 0
    print('    build: %s (%d error lines, %d warnings in series code, %d %s, %d elsewhere; log %s)' % (
        'FAIL' if fail else 'PASS', len(errors), len(bad_w), len(note_w),
        'W=1 warnings on lines the series leaves alone in its files' if a.wmode == '1' else 'notes',
        len(other_w), a.log))
    for l in errors[:15]:
        print('      error: ' + l.strip())
    if a.rc != 0 and not errors:
        print('      make exited %d; last lines:' % a.rc)
        for l in log[-10:]:
            print('      | ' + l)
    for l in bad_w[:25]:
        print('      warning (series): ' + l)
    if len(bad_w) > 25:
        print('      ... %d more' % (len(bad_w) - 25))
    for l in note_w[:10]:
        print('      note (unchanged line): ' + l)
    for l in other_w[:5]:
        print('      other: ' + l)
    # Which of the series' C files this make compiled (kbuild's "  CC" lines).
    if a.objdir:
        cc = {norm(m.group(1), tree) for m in re.finditer(r'^  CC(?: \[M\])?\s+(\S+)\.o$',
                                                          '\n'.join(log), re.M)}
        cs = sorted(f for f in files if f.endswith('.c'))
        now = [f for f in cs if f[:-2] in cc]
        print('    compiled by this make: %s' % (' '.join(now) or 'none'))
        rest = [f for f in cs if f not in now]
        if rest:
            print('    not compiled by it (up to date, or not in this config): %s' % ' '.join(rest))
    return 1 if fail else 0


def read_config(path):
    cfg = {}
    for l in open(path):
        m = re.match(r'CONFIG_(\w+)=(.*)', l)
        if m:
            cfg[m.group(1)] = m.group(2)
    return cfg


def mk_lookup(path, name, cfg, depth=0):
    text = re.sub(r'\\\n', ' ', open(path).read())
    for line in text.splitlines():
        m = re.match(r'\s*([\w$()\-]+)\s*[:+]?=\s*(.*)', line)
        if not m or name not in m.group(2).split():
            continue
        lhs = m.group(1)
        cm = re.search(r'\$\(CONFIG_(\w+)\)', lhs)
        if cm and cfg.get(cm.group(1)) not in ('y', 'm'):
            return False, 'CONFIG_%s not set' % cm.group(1)
        base = lhs.split('-')[0]
        why = ('CONFIG_%s=%s' % (cm.group(1), cfg[cm.group(1)])) if cm else lhs
        if base in ('obj', 'lib') or depth > 3:
            return True, why
        r = mk_lookup(path, base + '.o', cfg, depth + 1)
        return r if r else (True, why)
    return None


def enabled(tree, cfg, relc):
    obj = relc[:-2] + '.o'
    d = os.path.dirname(obj)
    while True:
        rel = os.path.relpath(obj, d) if d else obj
        for mk in ('Kbuild', 'Makefile'):
            p = os.path.join(tree, d, mk)
            if os.path.exists(p):
                r = mk_lookup(p, rel, cfg)
                if r:
                    return r
        if not d:
            return True, 'in no Makefile'
        d = os.path.dirname(d)


def targets(a):
    cfg = read_config(a.config)
    goals = []
    for f in read_list(a.files):
        d = os.path.dirname(f)
        # The driver dirs the series converts build whole (their modules);
        # another driver file (drivers/iommu/iommu.c) as its object.
        if f.startswith(('drivers/vfio/', 'drivers/infiniband/')) and \
                (f.endswith(('.c', '.h')) or os.path.basename(f) == 'Makefile'):
            g = d + '/'
        elif f.endswith('.c') and not f.startswith('tools/'):
            ok, why = enabled(a.tree, cfg, f)
            if not ok:
                print('    note: %s not built (%s)' % (f, why), file=sys.stderr)
                continue
            g = f[:-2] + '.o'
        elif f.endswith('.h') and f.startswith('include/'):
            continue  # compiled through its users
        elif f.startswith('tools/'):
            print('    note: %s is userspace (not compiled here)' % f, file=sys.stderr)
            continue
        else:
            continue
        if g not in goals:
            goals.append(g)
    print('\n'.join(goals))


def nm(path, *opts):
    out = subprocess.run(['nm'] + list(opts) + [path], capture_output=True, text=True).stdout
    return out.splitlines()


def exports_of(path):
    return {l.split()[-1][len('__export_symbol_'):] for l in nm(path)
            if l.split() and l.split()[-1].startswith('__export_symbol_')}


def module_objs(a):
    return [os.path.join(a.objdir, m[3:] if m.startswith('../') else m) for m in read_list(a.modules)]


def symvers(a):
    drop = set()
    for o in read_list(a.builtin):
        for base in (a.stock_objs, a.objdir):
            p = os.path.join(base, o)
            if os.path.exists(p):
                drop |= exports_of(p)
    for p in module_objs(a):
        drop |= exports_of(p)
    n = 0
    with open(a.out, 'w') as out:
        for l in open(a.stock):
            if l.split('\t')[1] not in drop:
                out.write(l)
                n += 1
    print('    modpost: stock exports %d (without the %d the series objects and these modules export)' % (n, len(drop)))


def exports(a):
    stock = {l.split('\t')[1] for l in open(a.stock)}
    rows = [l.rstrip('\n').split('\t') for l in open(a.symvers)]
    new = {r[1]: r for r in rows if r[2] == 'vmlinux' and r[1] not in stock}
    gone = sorted(stock - {r[1] for r in rows} - set())
    used = {}
    for p in module_objs(a):
        name = os.path.basename(p)[:-2]
        for l in nm(p, '-u'):
            used.setdefault(l.split()[-1], []).append(name)
    bad = 0
    print('    new exports of the series (built in; EXPORT type; used by):')
    for s in sorted(new):
        ok = new[s][3] == 'EXPORT_SYMBOL_GPL'
        bad |= not ok
        print('      %-4s %-45s %-18s %s' % ('ok' if ok else 'FAIL', s, new[s][3], ' '.join(sorted(set(used.get(s, []))))
                                          or '-'))
    for s in ('pin_user_pages_vec_remote', 'gup_vec_unpin', 'gup_vec_append_sg',
              '__gup_vec_finish', '__gup_vec_iter_next',
              '__gup_vec_add_nomerge', 'iommu_map_nosync', 'iommu_sync_map'):
        if s not in new:
            print('      FAIL %s is not exported' % s)
            bad = 1
    return bad


def vecsyms(a):
    if not os.path.exists(os.path.join(a.on, 'mm/gup.o')):
        print('    link check: skipped (no %s/mm/gup.o: run the mod step first)' % a.on)
        return 0

    def defined(base):
        s = set()
        for o in a.objs.split():
            p = os.path.join(base, o)
            if os.path.exists(p):
                s |= {l.split()[-1] for l in nm(p, '-g', '--defined-only')}
        return s
    only = defined(a.on) - defined(a.off)
    refs = []
    for t in a.scan.split():
        p = os.path.join(a.off, t)
        objs = [p] if os.path.isfile(p) else [os.path.join(r, f) for r, _, fs in os.walk(p)
                                             for f in fs if f.endswith('.o')]
        for o in sorted(objs):
            for l in nm(o, '-u'):
                if l.split()[-1] in only:
                    refs.append('%s: %s' % (os.path.relpath(o, a.off), l.split()[-1]))
    print('    link check: %d symbols exist only with GUP_VEC=y; %d references to them here: %s' % (
        len(only), len(refs), 'FAIL' if refs else 'PASS'))
    for r in refs[:20]:
        print('      ' + r)
    return 1 if refs else 0


p = argparse.ArgumentParser()
sub = p.add_subparsers(dest='cmd', required=True)
s = sub.add_parser('analyze')
for o in ('tree', 'pristine', 'log', 'wmode', 'files'):
    s.add_argument('--' + o, required=True)
s.add_argument('--objdir')
s.add_argument('--rc', type=int, default=0)
s = sub.add_parser('targets')
for o in ('tree', 'config', 'files'):
    s.add_argument('--' + o, required=True)
s = sub.add_parser('symvers')
for o in ('stock', 'stock-objs', 'builtin', 'objdir', 'modules', 'out'):
    s.add_argument('--' + o, required=True)
s = sub.add_parser('exports')
for o in ('stock', 'symvers', 'objdir', 'modules'):
    s.add_argument('--' + o, required=True)
s = sub.add_parser('vecsyms')
for o in ('on', 'off', 'objs', 'scan'):
    s.add_argument('--' + o, required=True)
a = p.parse_args()
sys.exit(globals()[a.cmd](a) or 0)
PY
}

main
