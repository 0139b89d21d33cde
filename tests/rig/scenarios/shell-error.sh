#!/bin/bash
# A check whose shell code errs (a field read whole where a number was
# meant): bash skips the command and goes on, the script exits 0; the
# runner must report a failure all the same.
recorded="74 0 auto track"
[ 1 -ge $((recorded - 1)) ] || exit 1
exit 0
