/* vk-ops.h — one host-side entry per op family; vk-backend.c's run_op dispatches here.
 * Each records its dispatches through vk-runtime.h and returns FALSE with *error set on
 * failure. Arguments are validated by the front-end (ts-ops.c). */
#pragma once

#include "vk-runtime.h"

G_BEGIN_DECLS

/* vk-op-elementwise.c: ADD, MUL, SCALE, SILU, GELU, QUICK_GELU, GEGLU */
gboolean ts_vk_op_elementwise (TsVkBackend *vk, const TsOp *op, GError **error);
/* vk-op-norm.c: SOFTMAX, LAYER_NORM, RMS_NORM, GROUP_NORM, GRN */
gboolean ts_vk_op_norm (TsVkBackend *vk, const TsOp *op, GError **error);
/* vk-op-layout.c: COPY, FILL, UPSAMPLE_NEAREST_2X, EMBEDDING */
gboolean ts_vk_op_layout (TsVkBackend *vk, const TsOp *op, GError **error);
/* vk-op-matmul.c: MATMUL */
gboolean ts_vk_op_matmul (TsVkBackend *vk, const TsOp *op, GError **error);
/* vk-op-attention.c: ATTENTION */
gboolean ts_vk_op_attention (TsVkBackend *vk, const TsOp *op, GError **error);
/* vk-op-conv.c: CONV2D, CONV_TRANSPOSE_2X2 */
gboolean ts_vk_op_conv (TsVkBackend *vk, const TsOp *op, GError **error);
/* vk-op-nearest.c: NEAREST_CODE */
gboolean ts_vk_op_nearest_code (TsVkBackend *vk, const TsOp *op, GError **error);

/* vk-peak.c: FMA and copy microbenchmarks for TsBackendClass.measure_peak */
gboolean ts_vk_measure_peak (TsBackend *be, double *gflops, double *gbytes_per_s, GError **error);

G_END_DECLS
