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

# Lines bash prints when a test script's own code goes wrong (a test
# command that errs is not run, and the check it made is skipped without a
# word: the power-cut loop's main check did so from 2026-11-30 to
# 2026-12-03, reading a status field that had grown into several).  A
# scenario or boot whose output has one fails.
VM_SHELL_ERROR_RE=': line [0-9]+: .*(syntax error|unbound variable|command not found|bad substitution|integer expression expected|too many arguments|unary operator expected|binary operator expected|ambiguous redirect)'

# Every check script says why it failed: after sourcing this file, a check
# script calls check_says_why.  Under `set -e` a failing command would end
# the script without a word (an empty log, as a glob that matched nothing
# under pipefail once did); the ERR trap names the script, the line and
# the command.
check_says_why() {
	set -Eeuo pipefail
	trap 'vm_rc=$?; echo "$(basename "$0"): line $LINENO: \`$BASH_COMMAND\` failed (status $vm_rc)" >&2' ERR
}

# The newest /usr/src/linux-source-*.tar.xz (Debian's linux-source), or a
# message saying how to get one.
vm_source_tarball() {
	local t best=
	for t in /usr/src/linux-source-*.tar.xz; do
		[ -e "$t" ] && best=$t
	done
	[ -n "$best" ] || { echo "no /usr/src/linux-source-*.tar.xz (make deps installs linux-source)" >&2; return 1; }
	echo "$best"
}
