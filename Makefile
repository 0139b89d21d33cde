# SPDX-License-Identifier: GPL-2.0-only
#
# dm-vmotion: out-of-tree build of the vmotion target and its tool.
#
#   make                    the modules (for KVER or KDIR) and the tool
#   make modules | tools    one of them
#   make check              KUnit on UML, then the integration suite in a guest
#   make kunit              the KUnit suites only
#   make demo               a live migration under load in a throwaway guest
#   make bench              benchmarks (guest, or SRC=/dev/.. DST=/dev/.. on a rig)
#   make clean

KVER ?= $(shell bash -c '. tests/vm/lib.sh && vm_kver' 2>/dev/null)
KDIR ?= /lib/modules/$(KVER)/build

.PHONY: all modules tools deps check demo bench kunit integration clean checkpatch

all: modules tools

deps:
	@tools/deps.sh

modules: deps
	@test -d "$(KDIR)" || { echo "no kernel build tree '$(KDIR)' (set KVER or KDIR)"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tools: deps
	$(MAKE) -C tools

kunit: deps
	tests/kunit/run

integration: modules tools
	tests/run-integration

demo: modules tools
	tests/vm/run-vm --show --disks 2 --disk-size 1G --timeout 900 -- bash tests/demo.sh

bench: modules tools
	tools/bench/run

check: deps
	tests/check

checkpatch:
	tests/checkpatch

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(MAKE) -C tools clean
	rm -f Module.symvers modules.order
