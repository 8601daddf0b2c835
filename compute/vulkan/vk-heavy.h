/* vk-heavy.h — helpers shared by the compute-heavy op files (matmul, attention, conv,
 * nearest code): variant choice and binding tensor regions that must fit one binding. */
#pragma once

#include "vk-runtime.h"

G_BEGIN_DECLS

/* Whether to use the shared-memory (GPU) kernels: yes on GPUs, no on CPU devices, where a
 * barrier costs a coroutine switch. The kernels option (TESSERA_VK_FORCE_SHM=1 or
 * TESSERA_VK_FORCE_NOSHM=1) overrides the choice, so tests can run both families on one
 * device. */
gboolean ts_vk_heavy_want_shm (TsVkBackend *vk);
/* Whether to stage operands that a whole workgroup reads (attention keys and values,
 * codebook rows) in shared memory: yes on every device, lavapipe included, where one
 * cooperative load per block beats a bounds-checked gather per invocation (attention
 * 64×77×4×64 ran at ~2 GFLOP/s staged against 0.4 from the buffers). Only the
 * registers-only kernels option (TESSERA_VK_FORCE_NOSHM=1) says no. */
gboolean ts_vk_heavy_want_staging (TsVkBackend *vk);

/* Elements lo..hi (inclusive, counted from the tensor's first element) of t's storage. */
typedef struct {
  const TsTensor *t;
  int64_t         lo, hi;
} TsVkSpan;

/* Element index of position idx[0..ndim-1] in t, relative to its first element. */
int64_t  ts_vk_span_index (const TsTensor *t, const int64_t *idx);
/* The span covering the box start[i] .. start[i]+len[i]-1 of t (len[i] >= 1). */
TsVkSpan ts_vk_span_box (const TsTensor *t, const int64_t *start, const int64_t *len);
/* Whether a span of this size fits one binding wherever it starts (alignment included). */
gboolean ts_vk_span_fits (TsVkBackend *vk, const TsVkSpan *span);
/* Bind the span. 16-bit dtypes are bound in whole 32-bit words (shaders read them in
 * pairs); *elem_offset counts elements of the tensor's dtype from the binding start. */
gboolean ts_vk_span_bind (TsVkBackend *vk, const TsVkSpan *span, gboolean writes,
                          TsVkBinding *binding, uint32_t *elem_offset, GError **error);

/* Halve a chunk length (rounding up); FALSE when it is already 1. */
gboolean ts_vk_halve (int64_t *len);

/* The kernel of a family for the dtype of its 16-bit-capable operand. */
TsVkKernelId ts_vk_kernel_for_dtype (TsDType dtype, TsVkKernelId f32, TsVkKernelId f16,
                                     TsVkKernelId bf16);

/* Record a dispatch of n_groups workgroups numbered linearly (the kernel folds the 3-D
 * grid back with ts_vk_grid_1d's convention). */
gboolean ts_vk_dispatch_linear (TsVkBackend *vk, TsVkKernelId kernel, const uint32_t *spec,
                                guint n_spec, const TsVkBinding *bindings, guint n_bindings,
                                const void *push, size_t push_size, uint64_t n_groups,
                                double flops, double bytes, GError **error);

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
