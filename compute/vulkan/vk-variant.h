/* vk-variant.h — which kernel variant an op runs on this device: the register or the
 * shared-memory family, the GEMM tiling, the kernel for a 16-bit operand. Choices read the
 * device limits and the backend's options (vk-options.h), nothing else. */
#pragma once

#include "vk-runtime.h"

G_BEGIN_DECLS

/* Whether to use the shared-memory (GPU) kernels: yes on GPUs, no on CPU devices, where a
 * barrier costs a coroutine switch. The kernels option (TESSERA_VK_FORCE_SHM=1 or
 * TESSERA_VK_FORCE_NOSHM=1) overrides the choice, so tests can run both families on one
 * device. */
gboolean ts_vk_want_shm (TsVkBackend *vk);
/* Whether to stage operands that a whole workgroup reads (attention keys and values,
 * codebook rows) in shared memory: yes on every device, lavapipe included, where one
 * cooperative load per block beats a bounds-checked gather per invocation (attention
 * 64×77×4×64 ran at ~2 GFLOP/s staged against 0.4 from the buffers). Only the
 * registers-only kernels option (TESSERA_VK_FORCE_NOSHM=1) says no. */
gboolean ts_vk_want_staging (TsVkBackend *vk);

/* The kernel of a family for the dtype of its 16-bit-capable operand. */
TsVkKernelId ts_vk_kernel_for_dtype (TsDType dtype, TsVkKernelId f32, TsVkKernelId f16,
                                     TsVkKernelId bf16);

/* A GEMM variant of shaders/gemm-reg.glsl or gemm-shm.glsl and its tiling: spec holds
 * constant ids 0..7 of the template (op shaders add their own from id 8). */
typedef struct {
  gboolean shm;
  uint32_t spec[8];
  uint32_t tile_m, tile_n;  /* outputs per workgroup */
} TsVkGemmConfig;

/* Choose the GEMM variant and tiles for an M×N output (times `batches`) on this device.
 * a_kfast / b_kfast: whether A's / B's k index is their contiguous one. */
void     ts_vk_gemm_config (TsVkBackend *vk, int64_t m, int64_t n, int64_t batches,
                            gboolean a_kfast, gboolean b_kfast, TsVkGemmConfig *cfg);
uint64_t ts_vk_gemm_groups (const TsVkGemmConfig *cfg, int64_t m, int64_t n, int64_t batches);

G_END_DECLS
