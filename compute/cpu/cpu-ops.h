/* cpu-ops.h — the CPU backend's kernels, one file per op family; cpu-backend.c's kernel
 * table points here. Arguments are validated by the front-end (ts-ops.c); each returns FALSE
 * with *error set on failure (allocation of scratch memory, out-of-range ids). */
#pragma once

#include "../ts-backend-private.h"

G_BEGIN_DECLS

/* Host pointer to a CPU tensor's first element. */
void *ts_cpu_tensor_data (const TsTensor *t);
int   ts_cpu_backend_threads (TsBackend *be);
/* Scratch out of the tensor pool (cpu-pool.c) for buffers of many megabytes that an op
 * needs on every call: reused, where ts_cpu_scratch_new's would be fresh pages each time.
 * NULL with TS_ERROR_OUT_OF_MEMORY; give it back with ts_cpu_pooled_scratch_free. */
void *ts_cpu_pooled_scratch_new (TsBackend *be, size_t bytes, size_t *capacity, const char *what,
                                 GError **error);
void  ts_cpu_pooled_scratch_free (TsBackend *be, void *data, size_t capacity);

gboolean ts_cpu_op_matmul (TsBackend *be, const TsOp *op, GError **error);      /* cpu-matmul.c */
gboolean ts_cpu_op_elementwise (TsBackend *be, const TsOp *op, GError **error); /* cpu-elementwise.c */
gboolean ts_cpu_op_norm (TsBackend *be, const TsOp *op, GError **error);        /* cpu-norm.c */
gboolean ts_cpu_op_attention (TsBackend *be, const TsOp *op, GError **error);   /* cpu-attention.c */
gboolean ts_cpu_op_conv (TsBackend *be, const TsOp *op, GError **error);        /* cpu-conv.c */
gboolean ts_cpu_op_layout (TsBackend *be, const TsOp *op, GError **error);      /* cpu-layout.c */
gboolean ts_cpu_op_nearest_code (TsBackend *be, const TsOp *op, GError **error);/* cpu-nearest.c */

G_END_DECLS
