/* vk-ops-heavy.h — the compute-heavy half of test-ops-vulkan (vk-ops-heavy.c): matmul,
 * attention, conv and nearest code under both kernel families, each on a backend of its own
 * made from the program's options (vk-test-util.h) on first use. */
#pragma once

#include "tessera.h"

/* Where its tests are registered: meson's vk-heavy test runs only these (--only=heavy). */
#define VK_OPS_HEAVY_PREFIX "/vulkan/heavy"

/* Registers every heavy test against `cpu` (kept until vk_ops_heavy_free). */
void vk_ops_heavy_add_tests (TsBackend *cpu);
/* Frees the variant backends the tests made. */
void vk_ops_heavy_free (void);
