# Packed pin for RDMA and VFIO: the lab.
#
#   make check        set up, build the patched test kernel, run every test layer
#   make bench        build stock and patched bench kernels, A/B benchmark
#   make check-stock  re-measure what stock 7.3 does (recorded in tests/expected)
#   make series       emit the series with git format-patch + checkpatch
#   make shell        boot the patched test kernel to an interactive shell
#   make insn INSN="OUT FUNC NCALLS WHAT KIND SIZE"
#                     count a system call's instructions per function, stock
#                     against patched, by single-stepping (tools/insn/run.sh)
#
# Everything outside the repo lives in $(LAB_CACHE) (kernel sources, object
# dirs, ccache); build/ in the repo holds the userspace test programs.
include lab/versions.mk
export KERNEL_PKG KERNEL_VERSION KERNEL_SUITE KERNEL_MIRROR
export LAB_CACHE ?= /var/cache/packed-pin
export LAB_REPO := $(CURDIR)

.PHONY: all check check-stock bench series shell insn deps source host-test kernels clean compile-check

all: check

deps:
	@lab/install-deps.sh

source: deps
	@lab/fetch-kernel.sh

check: source
	@lab/check.sh patched

check-stock: source
	@lab/check.sh stock

bench: source
	@lab/bench.sh

series: source
	@lab/make-series.sh

shell: source
	@lab/build-kernel.sh patched test
	@lab/build-userspace.sh patched test
	@lab/run-guest.sh --interactive --mem 4G --huge2m 300 --huge1g 1 \
		--kernel $(LAB_CACHE)/work/patched/o-test/arch/x86/boot/bzImage --out build/shell

insn: source
	@for k in stock patched; do lab/build-kernel.sh $$k bench && \
		lab/build-userspace.sh $$k bench || exit 1; done
	@tools/insn/run.sh $(INSN)

compile-check: source
	@lab/compile-check.sh

host-test:
	@$(MAKE) -s -C tests/host check

clean:
	rm -rf build
