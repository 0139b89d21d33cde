#!/bin/bash
# Rig self-test: a kernel WARNING during a scenario that exits 0 must be reported FAIL.
. "$(dirname "$0")/../../lib.sh"
insmod "$RIG_WARN_KO" || true
exit 0
