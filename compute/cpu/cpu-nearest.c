/* cpu-nearest.c — NEAREST_CODE: argmin_k ‖x − c_k‖², lowest k on ties.
 *
 * ‖x − c‖² = ‖x‖² + ‖c‖² − 2·x·c, so the dot products of a block of rows with the whole
 * codebook are one sgemm. That form rounds differently from the plain sum of squares, so
 * it only nominates: every code within the GEMM's error bound of the best is re-measured
 * exactly (double, in index order) and the smallest exact distance wins. The answer is then
 * the naive one, ties included, at GEMM speed. */
#include "cpu-util.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <omp.h>

#define ROWS_PER_BLOCK 32

static double
exact_distance (const float *x, const float *c, int64_t d)
{
  double s = 0;
  for (int64_t i = 0; i < d; i++) {
    double t = (double) x[i] - c[i];
    s += t * t;
  }
  return s;
}

static int32_t
pick (const float *x, const float *book, const float *c2, float c2_max, const float *dots,
      int64_t k, int64_t d)
{
  /* sixteen running minima: a form both GCC and clang vectorise */
  float lanes[16], best = INFINITY;
  for (int l = 0; l < 16; l++)
    lanes[l] = INFINITY;
  int64_t j = 0;
  for (; j + 16 <= k; j += 16)
    for (int l = 0; l < 16; l++) {
      float v = c2[j + l] - 2.0f * dots[j + l];
      lanes[l] = v < lanes[l] ? v : lanes[l];
    }
  for (; j < k; j++) {
    float v = c2[j] - 2.0f * dots[j];
    best = v < best ? v : best;
  }
  for (int l = 0; l < 16; l++)
    best = lanes[l] < best ? lanes[l] : best;
  double x2 = 0;
  for (int64_t i = 0; i < d; i++)
    x2 += (double) x[i] * x[i];
  /* each dot product is off by at most d·ε·‖x‖·‖c‖ ≤ d·ε·(‖x‖² + ‖c‖²)/2 */
  float tol = (float) (2.0 * d * FLT_EPSILON * (x2 + c2_max)) + FLT_MIN;
  int32_t arg = 0;
  double arg_dist = INFINITY;
  for (j = 0; j < k; j++) {
    if (c2[j] - 2.0f * dots[j] > best + tol)
      continue;
    double e = exact_distance (x, book + j * d, d);
    if (e < arg_dist) {
      arg_dist = e;
      arg = (int32_t) j;
    }
  }
  return arg;
}

gboolean
ts_cpu_op_nearest_code (TsBackend *be, const TsOp *op, GError **error)
{
  const TsTensor *xt = op->src[0], *ct = op->src[1];
  int64_t n = xt->shape[0], d = xt->shape[1], k = ct->shape[0];
  if (xt->dtype != TS_DTYPE_F32 || ct->dtype != TS_DTYPE_F32 || k > INT32_MAX || d > INT_MAX) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "nearest_code: needs f32 inputs and fewer than 2^31 codes");
    return FALSE;
  }
  const float *x = ts_cpu_tensor_data (xt), *book = ts_cpu_tensor_data (ct);
  int32_t *out = ts_cpu_tensor_data (op->dst);
  int64_t blocks = (n + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
  int nt = ts_cpu_threads_for (be, 2.0 * n * k * d / 64);
  if (nt > blocks)
    nt = (int) blocks;

  float *c2 = ts_cpu_scratch_new (sizeof (float) * (k + (size_t) ROWS_PER_BLOCK * k * nt),
                                  "nearest_code", error);
  if (!c2)
    return FALSE;
  float *dots_all = c2 + k, c2_max = 0;
  for (int64_t j = 0; j < k; j++) {
    double s = 0;
    for (int64_t i = 0; i < d; i++)
      s += (double) book[j * d + i] * book[j * d + i];
    c2[j] = (float) s;
    c2_max = MAX (c2_max, c2[j]);
  }

#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    float *dots = dots_all + (size_t) ROWS_PER_BLOCK * k * omp_get_thread_num ();
#pragma omp for schedule (dynamic, 1)
    for (int64_t b = 0; b < blocks; b++) {
      int64_t r0 = b * ROWS_PER_BLOCK, rows = MIN (ROWS_PER_BLOCK, n - r0);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) rows, (int) k, (int) d, 1.0f,
                   x + r0 * d, (int) d, book, (int) d, 0.0f, dots, (int) k);
      for (int64_t r = 0; r < rows; r++)
        out[r0 + r] = pick (x + (r0 + r) * d, book, c2, c2_max, dots + r * k, k, d);
    }
  }
  free (c2);
  return TRUE;
}
