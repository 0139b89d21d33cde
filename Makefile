# SPDX-License-Identifier: GPL-2.0-only
#
# dm-vmotion: out-of-tree build of the vmotion target and its tool.
#
#   make                    the modules (for KVER or KDIR) and the tool
#   make modules | tools    one of them
#   make install            module (+ depmod), tool, man page, udev rule,
#                           systemd unit, example config; DESTDIR, PREFIX
#   make uninstall          removes what install put there
#   make deps               install, with apt, what building and testing need
#   make check              KUnit on UML, then the integration suite in a guest
#   make kunit              the KUnit suites only
#   make demo               a live migration under load in a throwaway guest
#   make bench              benchmarks (guest, or SRC=/dev/.. DST=/dev/.. on a rig)
#   make clean
#
# make, make modules, tools and install build and install what is here and
# nothing else; deps, check, demo and bench (the test rig's commands) install
# the Debian packages they need first.  The module is built for the running
# kernel (KVER=$(uname -r)) unless KVER or KDIR says otherwise; the rig
# builds it for the Debian kernel its guests boot.

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UDEVDIR ?= $(shell pkg-config --variable=udevdir udev 2>/dev/null || echo /lib/udev)
UNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
SYSCONFDIR ?= /etc

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
# The kernel the test rig's guests boot (the newest Debian kernel installed)
RIG_KVER = $(shell bash -c '. tests/vm/lib.sh && vm_kver')

.PHONY: all modules tools deps install uninstall check demo bench kunit integration clean checkpatch

all: modules tools

deps:
	@tools/deps.sh

modules:
	@test -d "$(KDIR)" || { echo "no kernel build tree '$(KDIR)' for kernel $(KVER): install its headers (on Debian: apt install linux-headers-$(KVER)), or say which kernel with KVER=<version> or KDIR=<build tree>"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tools:
	$(MAKE) -C tools

kunit: deps
	tests/kunit/run

integration: deps
	$(MAKE) modules KVER=$(RIG_KVER)
	$(MAKE) tools
	tests/run-integration

demo: deps
	$(MAKE) modules KVER=$(RIG_KVER)
	$(MAKE) tools
	tests/vm/run-vm --show --disks 2 --disk-size 1G --timeout 900 -- bash tests/demo.sh

install: modules tools
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=extra \
		CONFIG_MODULE_SIG_ALL= modules_install
	test -n "$(DESTDIR)" || depmod -a $(KVER)
	install -D -m 0755 tools/vmotion/vmotion $(DESTDIR)$(SBINDIR)/vmotion
	install -D -m 0644 Documentation/vmotion.8 $(DESTDIR)$(MANDIR)/man8/vmotion.8
	install -d $(DESTDIR)$(UDEVDIR)/rules.d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/vmotion
	sed 's|@SBINDIR@|$(SBINDIR)|g' tools/udev/69-vmotion.rules > $(DESTDIR)$(UDEVDIR)/rules.d/69-vmotion.rules
	sed 's|@SBINDIR@|$(SBINDIR)|g' tools/systemd/vmotion-migrate@.service > $(DESTDIR)$(UNITDIR)/vmotion-migrate@.service
	sed 's|@SBINDIR@|$(SBINDIR)|g' tools/systemd/vmotion-restore.service > $(DESTDIR)$(UNITDIR)/vmotion-restore.service
	install -m 0644 tools/migrations.conf.example $(DESTDIR)$(SYSCONFDIR)/vmotion/migrations.conf.example

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KVER)/extra/dm-vmotion.ko $(DESTDIR)/lib/modules/$(KVER)/extra/dm-vmotion-bitmap.ko $(DESTDIR)/lib/modules/$(KVER)/extra/dm-vmotion-metadata.ko
	test -n "$(DESTDIR)" || depmod -a $(KVER)
	rm -f $(DESTDIR)$(SBINDIR)/vmotion $(DESTDIR)$(MANDIR)/man8/vmotion.8
	rm -f $(DESTDIR)$(UDEVDIR)/rules.d/69-vmotion.rules $(DESTDIR)$(UNITDIR)/vmotion-migrate@.service \
		$(DESTDIR)$(UNITDIR)/vmotion-restore.service
	rm -f $(DESTDIR)$(SYSCONFDIR)/vmotion/migrations.conf.example
	-rmdir $(DESTDIR)$(SYSCONFDIR)/vmotion 2>/dev/null

bench: deps
	$(MAKE) modules KVER=$(RIG_KVER)
	$(MAKE) tools
	tools/bench/run

check: deps
	tests/check

checkpatch:
	tests/checkpatch

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(MAKE) -C tools clean
	rm -f Module.symvers modules.order
