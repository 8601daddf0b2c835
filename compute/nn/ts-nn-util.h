/* ts-nn-util.h — what the three networks share: a checked weight source over a safetensors
 * file, chaining helpers for the op API, and the intermediate-tensor tap.
 *
 * The networks (ts-clip, ts-uvit, ts-vqmodel) are written once against ts-ops.h; nothing here
 * knows which backend runs them. */
#pragma once

#include "../ts-ops.h"
#include "../model/ts-model-config.h"
#include "../model/ts-weights.h"

G_BEGIN_DECLS

/* Called with intermediate results named like the upstream PyTorch modules (for tests that
 * localise a mismatch). The tensor is borrowed; take a reference to keep it. */
typedef void (*TsNnTapFunc) (const char *name, TsTensor *t, gpointer user_data);

/* ---- weights ---- */

typedef struct _TsNnWeights TsNnWeights;

/* A checked name → tensor source over `files` for one network (`what` names it in errors).
 * Matrices and conv kernels (2-D and up) load as `matrix_dtype` (TS_DTYPE_COUNT: as stored);
 * vectors always load as f32, since every op wants its small parameters in f32.
 *
 * The source owns every tensor it hands out: a network keeps it for its lifetime and frees
 * all its weights with ts_nn_weights_free, whatever structs point at them. */
TsNnWeights *ts_nn_weights_new (TsBackend *be, TsWeights *files, const char *what,
                                TsDType matrix_dtype);
/* Collect mode: a source over no files that hands out no tensor (NULL, and no error), only
 * records each name and shape asked for. A network's loader run over it lists the weights
 * that network needs (ts_uvit_weight_specs and the others): the loaders are the one
 * declaration of names and shapes. */
TsNnWeights *ts_nn_weights_new_collect (const char *what);
/* Collect mode: the TsWeightSpec array recorded, in the order asked (the caller owns it). */
GPtrArray   *ts_nn_weights_take_specs (TsNnWeights *w);
void         ts_nn_weights_free (TsNnWeights *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsNnWeights, ts_nn_weights_free)

/* Hands `t` (a tensor made from loaded weights, e.g. a reshaped view; may be NULL) to the
 * source, which releases it with the weights. Returns t, borrowed. */
TsTensor    *ts_nn_weights_keep (TsNnWeights *w, TsTensor *t);

/* The tensor called `name` (printf format), which must have exactly the given shape. Returns
 * it borrowed (the source owns it), or NULL after recording an error in `w` (the first one
 * is kept; later calls still check, so one pass over all weights finds the first problem). */
TsTensor *ts_nn_weight (TsNnWeights *w, int ndim, const int64_t *shape, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);
/* Shorthands for 1-D and 2-D weights. */
TsTensor *ts_nn_weight1 (TsNnWeights *w, int64_t n, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
TsTensor *ts_nn_weight2 (TsNnWeights *w, int64_t rows, int64_t cols, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);

/* The same for the weights of products: a linear layer's [out, in] matrix, a convolution's
 * kernel [O, C/groups, KH, KW], each handed to the backend as loaded
 * (ts_prepare_linear_weight: a network at bf16 or int8 on the CPU is packed while it loads).
 * ts_nn_prepare_linear does it for a matrix made otherwise (a reshaped 1×1 kernel). */
TsTensor *ts_nn_linear_weight (TsNnWeights *w, int64_t out, int64_t in, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);
TsTensor *ts_nn_conv_weight (TsNnWeights *w, const int64_t shape[4], int groups, const char *fmt,
                             ...) G_GNUC_PRINTF (4, 5);
TsTensor *ts_nn_prepare_linear (TsNnWeights *w, TsTensor *t);
/* While deferred, the calls above hand product weights out as loaded: each is packed by its
 * first product instead (a part of a network that many uses never run). */
void      ts_nn_weights_defer_packing (TsNnWeights *w, gboolean defer);

/* Ends loading: fails if any lookup failed, or if the file holds tensors the configuration
 * does not use (a file for a deeper or wider model). Names ending in `ignore_suffix` (may be
 * NULL) are allowed to stay unused. Afterwards the source no longer refers to the files. */
gboolean ts_nn_weights_finish (TsNnWeights *w, const char *ignore_suffix, GError **error);
/* Bytes of all tensors handed out so far. */
guint64  ts_nn_weights_bytes (const TsNnWeights *w);

/* ---- chaining ----
 *
 * Naming: a function whose name ends in _consume takes over the caller's reference to its
 * tensor input (the one its comment names; every tensor input when it says so), whether it
 * succeeds or not, as ts_group_norm_silu_consume does (ts-ops.h); every other function leaves
 * its inputs' references alone. ts_nn_replace is the chaining primitive itself. */

/* Returns `next` after dropping `prev`: x = ts_nn_replace (x, ts_op (be, x, …)). The op's
 * arguments are evaluated before the call, so prev is still alive while it runs. */
static inline TsTensor *
ts_nn_replace (TsTensor *prev, TsTensor *next)
{
  ts_tensor_unref (prev);
  return next;
}

/* a + b, dropping both inputs. */
TsTensor *ts_nn_add_consume (TsBackend *be, TsTensor *a, TsTensor *b);
/* A contiguous [B, N, H·D] tensor viewed as [B, N, H, D]. Consumes x (returns the view). */
TsTensor *ts_nn_heads_consume (TsTensor *x, int heads);
/* An attention output [B, N, H, D] viewed as [B, N, H·D]. Consumes x. */
TsTensor *ts_nn_merge_heads_consume (TsTensor *x);
/* Linear without bias whose input is dropped: x = ts_nn_linear_consume (be, x, w). */
TsTensor *ts_nn_linear_consume (TsBackend *be, TsTensor *x, TsTensor *weight);
/* [B, C, H, W] → [B, H·W, C] (copy), and back. */
TsTensor *ts_nn_nchw_to_tokens (TsBackend *be, TsTensor *x);
TsTensor *ts_nn_tokens_to_nchw (TsBackend *be, TsTensor *x, int64_t h, int64_t w);

/* Takes the backend's sticky error into *error (or a generic one when `result` is NULL and the
 * backend has none); returns `result` untouched on success, NULL after dropping it otherwise.
 * Every network entry point ends with this. */
TsTensor *ts_nn_finish (TsBackend *be, TsTensor *result, const char *what, GError **error);
/* FALSE (with the backend's error taken into *error, prefixed by `what`) when an op failed. */
gboolean  ts_nn_check (TsBackend *be, const char *what, GError **error);

/* Host-side sinusoidal embedding exactly as diffusers' get_timestep_embedding(t, dim,
 * flip_sin_to_cos=True, downscale_freq_shift=0) computes it in float32:
 * out[j] = cos(t·f_j) for j < dim/2, sin(t·f_{j-dim/2}) after; f_j = exp(−ln(10⁴)·j/(dim/2)). */
void ts_nn_sinusoid_embedding (float t, int dim, float *out);

G_END_DECLS
