/* ts-ops.h — the ops of the aMUSEd model family, on any backend.
 *
 * Every op checks its arguments, allocates its output on the inputs' backend and returns
 * a new reference; on failure it returns NULL and sets the backend's sticky error (see
 * ts-backend.h). Any NULL input makes an op return NULL at once, so a network can chain
 * ops and check once at the end. Inputs are never modified. Outputs are contiguous.
 * Floating outputs are f32 unless said otherwise; accumulation is always f32 or wider. */
#pragma once

#include "ts-backend.h"

G_BEGIN_DECLS

/* ---- matrix products ---- */

typedef enum {
  TS_MATMUL_NONE    = 0,
  TS_MATMUL_TRANS_A = 1 << 0, /* a is [..., K, M] */
  TS_MATMUL_TRANS_B = 1 << 1, /* b is [..., N, K] */
} TsMatmulFlags;

/* out[..., M, N] = a[..., M, K] · b[..., K, N] (+ bias[N]).
 * a: f32. b: f32, f16 or bf16. Batch dimensions of a and b must match, or b has none
 * (a weight shared by the batch). bias: f32/f16/bf16 [N] or NULL. */
TsTensor *ts_matmul (TsBackend *be, TsTensor *a, TsTensor *b, TsTensor *bias,
                     TsMatmulFlags flags);

/* PyTorch nn.Linear: x[..., K] · weight[N, K]ᵀ (+ bias[N]) → [..., N]. */
TsTensor *ts_linear (TsBackend *be, TsTensor *x, TsTensor *weight, TsTensor *bias);

/* Says now how a weight will be used, so that what a backend would do at its first use is
 * done here, when the network loads: the CPU packs a weight its network wants at bf16 or
 * int8 (the weight conversion belongs to the load, not to the first picture). Nothing to do
 * for f32 weights or backends without such work. FALSE with *error set when out of memory.
 * linear: weight[N, K] as ts_linear's; conv2d: weight[O, C/groups, KH, KW] as ts_conv2d's. */
gboolean ts_prepare_linear_weight (TsBackend *be, const TsTensor *weight, GError **error);
gboolean ts_prepare_conv2d_weight (TsBackend *be, const TsTensor *weight, int groups,
                                   GError **error);

/* ---- elementwise ---- */

/* a + b, a · b with NumPy broadcasting (dimensions aligned at the right). */
TsTensor *ts_add (TsBackend *be, TsTensor *a, TsTensor *b);
TsTensor *ts_mul (TsBackend *be, TsTensor *a, TsTensor *b);
/* x · scale + offset */
TsTensor *ts_scale (TsBackend *be, TsTensor *x, float scale, float offset);
TsTensor *ts_silu (TsBackend *be, TsTensor *x);       /* x·σ(x) */
TsTensor *ts_gelu (TsBackend *be, TsTensor *x);       /* exact: x·Φ(x), erf form */
TsTensor *ts_quick_gelu (TsBackend *be, TsTensor *x); /* x·σ(1.702x) */
/* x[..., 2H] → x[..., :H] · gelu(x[..., H:]) (diffusers GEGLU: first half linear, second gate). */
TsTensor *ts_geglu (TsBackend *be, TsTensor *x);

/* ---- reductions and normalisations (f32 statistics) ---- */

/* Softmax over the last dimension. −inf entries get probability 0; a row of only −inf
 * gives all zeros (PyTorch would give NaN). */
TsTensor *ts_softmax (TsBackend *be, TsTensor *x);
/* Over the last dimension; weight and bias [D] may each be NULL. */
TsTensor *ts_layer_norm (TsBackend *be, TsTensor *x, TsTensor *weight, TsTensor *bias, float eps);
TsTensor *ts_rms_norm (TsBackend *be, TsTensor *x, TsTensor *weight, float eps);
/* x[N, C, ...spatial] in `groups` groups; weight, bias [C] or NULL. */
TsTensor *ts_group_norm (TsBackend *be, TsTensor *x, int groups, TsTensor *weight,
                         TsTensor *bias, float eps);
/* group_norm followed by SiLU (x·σ(x)), in one pass: the VQ-GAN's norm → nonlinearity. */
TsTensor *ts_group_norm_silu (TsBackend *be, TsTensor *x, int groups, TsTensor *weight,
                              TsTensor *bias, float eps);
/* The same, taking over the caller's reference to x: when it is the only reference to
 * contiguous f32 memory of the backend's own, the result is written over x (no new memory;
 * the VQ decoder's activations at 512 px are 128–256 MiB each); otherwise it is computed
 * into a new tensor and x is released. Either way the caller must not use x afterwards —
 * an exception to "inputs are never modified" above. */
TsTensor *ts_group_norm_silu_consume (TsBackend *be, TsTensor *x, int groups, TsTensor *weight,
                                      TsTensor *bias, float eps);
/* ConvNeXt-V2 GlobalResponseNorm on channels-last x[N, H, W, C]:
 * g = ‖x‖₂ over (H, W) per (n, c); nx = g / (mean_c g + eps); y = gamma·(x·nx) + beta + x. */
TsTensor *ts_global_response_norm (TsBackend *be, TsTensor *x, TsTensor *gamma,
                                   TsTensor *beta, float eps);

/* ---- attention ---- */

/* Multi-head scaled-dot-product attention: q[B, Nq, H, D], k[B, Nk, H, D], v[B, Nk, H, Dv]
 * (any strides with the last dimension contiguous, so projections can be viewed in place)
 * → out[B, Nq, H, Dv] contiguous. out = softmax(q·kᵀ·scale [+ causal mask]) · v.
 * causal: query i attends to keys j ≤ i. */
TsTensor *ts_attention (TsBackend *be, TsTensor *q, TsTensor *k, TsTensor *v, float scale,
                        gboolean causal);
/* The same, for a network that runs at `precision`: a backend may then compute the products
 * in reduced precision (the CPU, on the VDPBF16PS kernel: bf16 operands, f32 sums;
 * docs/cpu-precision.md); TS_PRECISION_F32 is ts_attention. */
TsTensor *ts_attention_at (TsBackend *be, TsTensor *q, TsTensor *k, TsTensor *v, float scale,
                           gboolean causal, TsPrecision precision);

/* ---- convolutions and resampling (NCHW, PyTorch weight layouts) ---- */

typedef struct {
  int stride_y, stride_x;                             /* 1 or 2 */
  int pad_top, pad_left, pad_bottom, pad_right;       /* zero padding, may be asymmetric */
  int groups;                                         /* 1, C (depthwise), or any divisor */
} TsConv2dParams;

/* x[N, C, H, W] ⊛ weight[O, C/groups, KH, KW] (+ bias[O]) → [N, O, OH, OW]. */
TsTensor *ts_conv2d (TsBackend *be, TsTensor *x, TsTensor *weight, TsTensor *bias,
                     const TsConv2dParams *params);
/* ConvTranspose2d, kernel 2, stride 2, no padding: x[N, C, H, W], weight[C, O, 2, 2]
 * → [N, O, 2H, 2W], out[o, 2i+a, 2j+b] = Σc x[c, i, j]·w[c, o, a, b] (+ bias[o]). */
TsTensor *ts_conv_transpose_2x2 (TsBackend *be, TsTensor *x, TsTensor *weight, TsTensor *bias);
/* Nearest-neighbour 2× upsampling of the last two dimensions. */
TsTensor *ts_upsample_nearest_2x (TsBackend *be, TsTensor *x);
/* Constant padding: before[i] / after[i] elements on each side of dimension i. */
TsTensor *ts_pad (TsBackend *be, TsTensor *x, const int64_t *before, const int64_t *after,
                  float value);

/* ---- lookups ---- */

/* table[V, D] (f32/f16/bf16) gathered by ids (i32 or i64, any shape) → f32 [...ids, D].
 * Ids outside [0, V) are an error on the CPU backend and give zero rows on Vulkan; callers
 * validate ids they take from outside. */
TsTensor *ts_embedding (TsBackend *be, TsTensor *table, TsTensor *ids);
/* For each row of x[N, D], the index of the nearest codebook[K, D] row in Euclidean
 * distance (lowest index on ties) → i32 [N]. */
TsTensor *ts_nearest_code (TsBackend *be, TsTensor *x, TsTensor *codebook);

/* ---- layout ---- */

/* Contiguous copy of x (any strides) converted to dtype. */
TsTensor *ts_copy (TsBackend *be, TsTensor *x, TsDType dtype);
/* Contiguous copy with dimensions reordered: out.shape[i] = x.shape[perm[i]]. */
TsTensor *ts_permute (TsBackend *be, TsTensor *x, const int *perm);
/* Concatenate n tensors (same dtype, same shape except along axis). */
TsTensor *ts_concat (TsBackend *be, TsTensor *const *xs, int n, int axis);

G_END_DECLS
