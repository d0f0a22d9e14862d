# The one place the base kernel is pinned. Moving it is a rebase: change the
# version here, run `make check`, and refresh any patch that no longer applies.
KERNEL_PKG     := linux-source-7.3
KERNEL_VERSION := 7.3.4-1~bpo13+1
KERNEL_SUITE   := trixie-backports
KERNEL_MIRROR  := http://deb.debian.org/debian
