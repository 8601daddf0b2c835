/* ref-ops.h — naive references for every op, written for clarity, not speed: dense
 * row-major host float arrays, plain loops, double accumulation, no backend. Tests feed
 * them the exact values a tensor holds (after rounding to its dtype). */
#pragma once

#include "tessera.h"

G_BEGIN_DECLS

/* out[batch, m, n] = a · b (+ bias[n]). a is [batch, m, k] ([batch, k, m] when ta);
 * b is [k, n] ([n, k] when tb), once per batch or shared when shared_b. */
void ref_matmul (const float *a, const float *b, const float *bias, float *out, int64_t batch,
                 int64_t m, int64_t n, int64_t k, gboolean ta, gboolean tb, gboolean shared_b);

/* NumPy broadcasting: out has max(ndim) dimensions; returns the output element count and
 * fills out_shape. */
int64_t ref_broadcast_shape (int na, const int64_t *sa, int nb, const int64_t *sb,
                             int *out_ndim, int64_t *out_shape);
void ref_add_mul (gboolean mul, const float *a, int na, const int64_t *sa, const float *b,
                  int nb, const int64_t *sb, float *out);

void ref_scale (const float *x, float *out, int64_t n, float scale, float offset);
void ref_silu (const float *x, float *out, int64_t n);
void ref_gelu (const float *x, float *out, int64_t n);
void ref_quick_gelu (const float *x, float *out, int64_t n);
void ref_geglu (const float *x, float *out, int64_t rows, int64_t h); /* x [rows, 2h] */

void ref_softmax (const float *x, float *out, int64_t rows, int64_t d);
void ref_layer_norm (const float *x, const float *w, const float *b, float *out, int64_t rows,
                     int64_t d, float eps);
void ref_rms_norm (const float *x, const float *w, float *out, int64_t rows, int64_t d, float eps);
/* x [n, c, s] */
void ref_group_norm (const float *x, const float *w, const float *b, float *out, int64_t n,
                     int64_t c, int64_t s, int groups, float eps);
/* x [n, s, c] (channels last) */
void ref_grn (const float *x, const float *gamma, const float *beta, float *out, int64_t n,
              int64_t s, int64_t c, float eps);

/* q [b, nq, h, d], k [b, nk, h, d], v [b, nk, h, dv] → out [b, nq, h, dv]. */
void ref_attention (const float *q, const float *k, const float *v, float *out, int64_t b,
                    int64_t nq, int64_t nk, int64_t h, int64_t d, int64_t dv, float scale,
                    gboolean causal);

/* x [n, c, h, w], w [o, c/groups, kh, kw] → out [n, o, oh, ow] (sizes from the params). */
void ref_conv2d (const float *x, const float *w, const float *bias, float *out, int64_t n,
                 int64_t c, int64_t h, int64_t wd, int64_t o, int64_t kh, int64_t kw,
                 const TsConv2dParams *p, int64_t *oh, int64_t *ow);
/* x [n, c, h, w], w [c, o, 2, 2] → out [n, o, 2h, 2w] */
void ref_conv_transpose_2x2 (const float *x, const float *w, const float *bias, float *out,
                             int64_t n, int64_t c, int64_t h, int64_t wd, int64_t o);
void ref_upsample_nearest_2x (const float *x, float *out, int64_t planes, int64_t h, int64_t w);

void ref_pad (const float *x, int ndim, const int64_t *shape, const int64_t *before,
              const int64_t *after, float value, float *out);
void ref_permute (const float *x, int ndim, const int64_t *shape, const int *perm, float *out);
/* Concatenate parts (each [outer, len_i, inner]) along the middle. */
void ref_concat (const float *const *parts, const int64_t *len, int n, int64_t outer,
                 int64_t inner, float *out);

void ref_embedding (const float *table, int64_t d, const int64_t *ids, int64_t n, float *out);
/* Exact squared distances in double, lowest index on ties. */
void ref_nearest_code (const float *x, int64_t n, int64_t d, const float *book, int64_t k,
                       int32_t *out);

G_END_DECLS
