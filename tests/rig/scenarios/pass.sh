#!/bin/bash
# Rig self-test: a scenario that passes.
. "$(dirname "$0")/../../lib.sh"
echo hello > /tmp/x
expect_eq "tmp file" hello "$(cat /tmp/x)"
