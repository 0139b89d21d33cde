#!/bin/bash
# Rig self-test: a scenario whose check fails must be reported FAIL.
. "$(dirname "$0")/../../lib.sh"
expect_eq "deliberate mismatch" 1 2
