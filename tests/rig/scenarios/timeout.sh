#!/bin/bash
# Rig self-test: a scenario that overruns its time limit must be reported FAIL.
sleep 600
