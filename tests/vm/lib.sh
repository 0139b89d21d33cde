# Host-side settings shared by the guest runner, the build and the checks.
# shellcheck shell=bash

VM_CACHE=${VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dm-vmotion}

# The kernel the guest boots and the module is built for: $KVER, else the
# newest installed Debian kernel that has its headers.
vm_kver() {
	if [ -n "${KVER:-}" ]; then
		echo "$KVER"
		return
	fi
	local v best=
	for v in $(ls /lib/modules 2>/dev/null | sort -V); do
		[ -e "/boot/vmlinuz-$v" ] && [ -d "/lib/modules/$v/build" ] && best=$v
	done
	[ -n "$best" ] || { echo "no installed kernel with headers (run tools/deps.sh)" >&2; return 1; }
	echo "$best"
}

# Lines a kernel log must never contain.
VM_SPLAT_RE='(BUG:|WARNING:|Oops|general protection fault|UBSAN:|kernel BUG|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|sleeping function called from invalid context|INFO: task .* blocked|Kernel panic|unreferenced object|Call Trace:)'
