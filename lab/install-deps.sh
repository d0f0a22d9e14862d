#!/bin/bash
# Install the host packages the lab needs. Idempotent: a no-op (seconds)
# when everything is already there.
set -euo pipefail
PKGS=(
	build-essential bc bison flex libelf-dev libssl-dev dwarves cpio kmod
	xz-utils rsync ccache python3 git
	qemu-system-x86 qemu-utils
	rdma-core ibverbs-utils ibverbs-providers libibverbs-dev librdmacm-dev
	perftest python3-pyverbs iproute2
	clang libclang-rt-14-dev
	gnuplot-nox
	gcc-aarch64-linux-gnu
	libcap-dev libnuma-dev liburing-dev python3-ply python3-git
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "lab: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
