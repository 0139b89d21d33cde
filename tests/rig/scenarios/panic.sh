#!/bin/bash
# Rig self-test: a guest that panics must be reported as a failure by run-vm.
echo 1 > /proc/sys/kernel/sysrq
echo c > /proc/sysrq-trigger
sleep 60
