/* vk-coopmat.h — the GEMM on NVIDIA's matrix units (shaders/gemm-coopmat.glsl through
 * VK_NV_cooperative_matrix): when it is chosen, and with which tile. */
#pragma once

#include "vk-variant.h"

G_BEGIN_DECLS

/* Whether the cooperative-matrix GEMM can run an M×N×K product (times `batches`) with
 * weights of b_dtype on a device with these limits, and which tile: TRUE and *cfg filled
 * (spec constants of gemm-coopmat.glsl), or FALSE and *why says which condition failed.
 * It needs the extension (TsVkLimits.coopmat; TESSERA_VK_DISABLE_COOPMAT=1 clears it), f16
 * weights (the operands are multiplied in f16, accumulated in f32), subgroups of 32, room
 * for the tile in shared memory and a product large enough to fill whole 64×64 tiles. */
gboolean ts_vk_coopmat_gemm_choose (const TsVkLimits *l, TsDType b_dtype, int64_t m,
                                    int64_t n, int64_t k, int64_t batches, gboolean a_kfast,
                                    gboolean b_kfast, TsVkGemmConfig *cfg, const char **why);

/* Whether the device's VK_NV_cooperative_matrix offers the combination the kernel uses:
 * 16×16×16, f16 A and B, f32 C and D, subgroup scope. */
gboolean ts_vk_coopmat_shape_supported (VkPhysicalDevice physical);

G_END_DECLS
