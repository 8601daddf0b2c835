/* cpu-norm.c — SOFTMAX (rows: cpu-softmax.c), LAYER_NORM, RMS_NORM, GROUP_NORM, GRN.
 *
 * Statistics are accumulated in double: inputs may carry a large common offset (±1e4) and
 * float sums would lose the small differences the norm is about. Centering uses the mean
 * split into two floats (hi + lo) so the per-element work stays in float and vectorises. */
#include "cpu-util.h"

/* Elements per work item of the group norm passes: one item's data stays in L1. */
#define GN_CHUNK 8192

typedef struct {
  float hi, lo; /* mean = hi + lo to double precision */
} Mean;

static inline Mean
mean_split (double m)
{
  Mean s = { (float) m, 0.0f };
  s.lo = (float) (m - s.hi);
  return s;
}

static double
sum_f64 (const float *x, int64_t n)
{
  double s = 0;
#pragma omp simd reduction (+:s)
  for (int64_t i = 0; i < n; i++)
    s += x[i];
  return s;
}

/* Σ (x − mean)², with mean = m.hi + m.lo. */
static double
centered_sq_f64 (const float *x, int64_t n, Mean m)
{
  double s = 0;
#pragma omp simd reduction (+:s)
  for (int64_t i = 0; i < n; i++) {
    float c = (x[i] - m.hi) - m.lo;
    s += (double) c * c;
  }
  return s;
}

static double
sq_f64 (const float *x, int64_t n)
{
  double s = 0;
#pragma omp simd reduction (+:s)
  for (int64_t i = 0; i < n; i++)
    s += (double) x[i] * x[i];
  return s;
}

/* ---- layer norm, rms norm ---- */

static void
layer_norm_row (float *restrict d, const float *restrict x, int64_t n, const float *w,
                const float *b, float eps)
{
  Mean m = mean_split (sum_f64 (x, n) / n);
  float rstd = (float) (1.0 / sqrt (centered_sq_f64 (x, n, m) / n + eps));
#pragma omp simd
  for (int64_t i = 0; i < n; i++)
    d[i] = ((x[i] - m.hi) - m.lo) * rstd;
  if (w)
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      d[i] *= w[i];
  if (b)
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      d[i] += b[i];
}

static void
rms_norm_row (float *restrict d, const float *restrict x, int64_t n, const float *w, float eps)
{
  float r = (float) (1.0 / sqrt (sq_f64 (x, n) / n + eps));
  if (w)
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      d[i] = x[i] * r * w[i];
  else
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      d[i] = x[i] * r;
}

static const float *
data_or_null (const TsTensor *t)
{
  return t ? ts_cpu_tensor_data (t) : NULL;
}

/* SOFTMAX, LAYER_NORM, RMS_NORM: independent rows of the last dimension. */
static gboolean
op_rows (TsBackend *be, const TsOp *op)
{
  const float *x = ts_cpu_tensor_data (op->src[0]);
  const float *w = data_or_null (op->src[1]), *b = data_or_null (op->src[2]);
  float *d = ts_cpu_tensor_data (op->dst);
  int64_t n = op->dst->shape[op->dst->ndim - 1], rows = ts_tensor_rows (op->dst);
  float eps = op->p.norm.eps;
  int nt = ts_cpu_threads_for (be, 3.0 * rows * n);
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t r = 0; r < rows; r++) {
    if (op->kind == TS_OP_SOFTMAX)
      ts_cpu_softmax_row (d + r * n, x + r * n, n);
    else if (op->kind == TS_OP_LAYER_NORM)
      layer_norm_row (d + r * n, x + r * n, n, w, b, eps);
    else
      rms_norm_row (d + r * n, x + r * n, n, w, eps);
  }
  return TRUE;
}

/* ---- group norm ---- */

/* Count, mean and sum of squared deviations of one piece of a group (combined with Chan et
 * al.'s pairwise update, so each element is read from memory once for the statistics). */
typedef struct {
  double n, mean, m2;
} Stats;

static Stats
stats_of (const float *x, int64_t n)
{
  Stats s = { (double) n, sum_f64 (x, n) / n, 0 };
  s.m2 = centered_sq_f64 (x, n, mean_split (s.mean));
  return s;
}

static Stats
stats_merge (Stats a, Stats b)
{
  if (a.n == 0)
    return b;
  double n = a.n + b.n, delta = b.mean - a.mean;
  Stats s = { n, a.mean + delta * b.n / n, a.m2 + b.m2 + delta * delta * a.n * b.n / n };
  return s;
}

/* Per (n, channel) plane of the output: y = ((x − mean_hi) − mean_lo)·scale + shift. */
typedef struct {
  float hi, lo, scale, shift;
} PlaneAffine;

static gboolean
op_group_norm (TsBackend *be, const TsOp *op, GError **error)
{
  const TsTensor *xt = op->src[0];
  const float *x = ts_cpu_tensor_data (xt);
  const float *w = data_or_null (op->src[1]), *b = data_or_null (op->src[2]);
  float *d = ts_cpu_tensor_data (op->dst);
  int64_t nb = xt->shape[0], c = xt->shape[1], sp = xt->shape[2];
  int64_t g = op->p.norm.groups, cg = c / g, group_len = cg * sp;
  int64_t per_group = (group_len + GN_CHUNK - 1) / GN_CHUNK, blocks = nb * g;
  int64_t per_plane = (sp + GN_CHUNK - 1) / GN_CHUNK;
  int nt = ts_cpu_threads_for (be, 3.0 * nb * c * sp);

  size_t part_bytes = sizeof (Stats) * blocks * per_group;
  Stats *part = ts_cpu_scratch_new (part_bytes + sizeof (PlaneAffine) * nb * c, "group_norm",
                                    error);
  if (!part)
    return FALSE;
  PlaneAffine *plane_aff = (PlaneAffine *) ((char *) part + part_bytes);

#pragma omp parallel num_threads (nt) if (nt > 1)
  {
#pragma omp for schedule (static)
    for (int64_t it = 0; it < blocks * per_group; it++) {
      int64_t blk = it / per_group, off = (it % per_group) * GN_CHUNK;
      part[it] = stats_of (x + blk * group_len + off, MIN (GN_CHUNK, group_len - off));
    }
#pragma omp for schedule (static)
    for (int64_t blk = 0; blk < blocks; blk++) {
      Stats s = { 0, 0, 0 };
      for (int64_t j = 0; j < per_group; j++)
        s = stats_merge (s, part[blk * per_group + j]);
      Mean m = mean_split (s.mean);
      double rstd = 1.0 / sqrt (s.m2 / s.n + op->p.norm.eps);
      int64_t n = blk / g, c0 = (blk % g) * cg;
      for (int64_t ch = c0; ch < c0 + cg; ch++)
        plane_aff[n * c + ch] = (PlaneAffine) { m.hi, m.lo, (float) (rstd * (w ? w[ch] : 1.0f)),
                                                b ? b[ch] : 0.0f };
    }
#pragma omp for schedule (static)
    for (int64_t it = 0; it < nb * c * per_plane; it++) {
      int64_t plane = it / per_plane, off = (it % per_plane) * GN_CHUNK;
      int64_t len = MIN (GN_CHUNK, sp - off);
      PlaneAffine a = plane_aff[plane];
      const float *xp = x + plane * sp + off;
      float *dp = d + plane * sp + off; /* may be xp: each element is read, then written */
      if (op->p.norm.silu) {
#pragma omp simd
        for (int64_t i = 0; i < len; i++)
          dp[i] = ts_cpu_sigmoid_mul (((xp[i] - a.hi) - a.lo) * a.scale + a.shift, 1.0f);
      } else {
#pragma omp simd
        for (int64_t i = 0; i < len; i++)
          dp[i] = ((xp[i] - a.hi) - a.lo) * a.scale + a.shift;
      }
    }
  }
  free (part);
  return TRUE;
}

/* ---- global response norm (channels last) ---- */

/* Channels per work item of the column sums: a few cache lines of each spatial row. */
#define GRN_COLS 256

static gboolean
op_grn (TsBackend *be, const TsOp *op, GError **error)
{
  const TsTensor *xt = op->src[0];
  const float *x = ts_cpu_tensor_data (xt);
  const float *gamma = ts_cpu_tensor_data (op->src[1]), *beta = ts_cpu_tensor_data (op->src[2]);
  float *d = ts_cpu_tensor_data (op->dst);
  int64_t nb = xt->shape[0], sp = xt->shape[1], c = xt->shape[2];
  double *norm = ts_cpu_scratch_new ((sizeof (double) + sizeof (float)) * nb * c,
                                     "global_response_norm", error);
  if (!norm)
    return FALSE;
  float *mul = (float *) (norm + nb * c);
  int64_t col_items = (c + GRN_COLS - 1) / GRN_COLS;
  int nt = ts_cpu_threads_for (be, 2.0 * nb * sp * c);

#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    /* ‖x‖₂ over the spatial positions, per (n, channel) */
#pragma omp for schedule (static)
    for (int64_t it = 0; it < nb * col_items; it++) {
      int64_t n = it / col_items, c0 = (it % col_items) * GRN_COLS, len = MIN (GRN_COLS, c - c0);
      double *acc = norm + n * c + c0;
      for (int64_t j = 0; j < len; j++)
        acc[j] = 0;
      for (int64_t s = 0; s < sp; s++) {
        const float *row = x + (n * sp + s) * c + c0;
#pragma omp simd
        for (int64_t j = 0; j < len; j++)
          acc[j] += (double) row[j] * row[j];
      }
    }
    /* y = γ·(x·nx) + β + x = x·(γ·nx + 1) + β, nx = g / (mean_c g + eps) */
#pragma omp for schedule (static)
    for (int64_t n = 0; n < nb; n++) {
      double mean = 0;
      for (int64_t j = 0; j < c; j++)
        mean += sqrt (norm[n * c + j]);
      mean /= c;
      for (int64_t j = 0; j < c; j++)
        mul[n * c + j] = (float) (gamma[j] * (sqrt (norm[n * c + j]) / (mean + op->p.norm.eps)) + 1.0);
    }
#pragma omp for schedule (static)
    for (int64_t r = 0; r < nb * sp; r++) {
      const float *row = x + r * c, *m = mul + (r / sp) * c;
      float *out = d + r * c;
#pragma omp simd
      for (int64_t j = 0; j < c; j++)
        out[j] = row[j] * m[j] + beta[j];
    }
  }
  free (norm);
  return TRUE;
}

gboolean
ts_cpu_op_norm (TsBackend *be, const TsOp *op, GError **error)
{
  switch (op->kind) {
  case TS_OP_GROUP_NORM:
    return op_group_norm (be, op, error);
  case TS_OP_GRN:
    return op_grn (be, op, error);
  default:
    return op_rows (be, op);
  }
}
