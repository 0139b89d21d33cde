// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rig self-test: a module whose only job is to log a kernel WARNING when
 * loaded, so that the guest runner's splat detection can be tested.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init vmotion_rig_warn_init(void)
{
	WARN(1, "vmotion rig self-test: deliberate warning\n");
	return -EAGAIN;
}
module_init(vmotion_rig_warn_init);

MODULE_DESCRIPTION("dm-vmotion test rig self-test");
MODULE_LICENSE("GPL");
