/* cpu-pack.c — weights and activations into the reduced-precision forms of cpu-precision.h.
 * The same rounding serves weights (once, when packed) and activations (every product), so
 * the tests' references can follow it exactly. */
#include "cpu-precision.h"

#include <omp.h>
#include <stdlib.h>

void
ts_cpu_row_to_bf16 (const float *x, int64_t k, int64_t kp, uint16_t *out)
{
  for (int64_t i = 0; i < k; i++)
    out[i] = ts_f32_to_bf16 (x[i]);
  for (int64_t i = k; i < kp; i++)
    out[i] = 0;
}

/* One block: scale = max|x|/127 and q = round(x/max · 127), dividing by the maximum first
 * so that tiny (subnormal) and huge blocks round the same way as ordinary ones. An all-zero
 * block has scale 0 and q 0. */
static float
quantise_block (const float *x, int64_t len, int8_t *q)
{
  float amax = 0.0f;
  for (int64_t i = 0; i < len; i++)
    amax = fmaxf (amax, fabsf (x[i]));
  if (!(amax > 0.0f) || !isfinite (amax)) {
    memset (q, 0, (size_t) len);
    return isfinite (amax) ? 0.0f : amax;
  }
  for (int64_t i = 0; i < len; i++) {
    float v = nearbyintf (x[i] / amax * 127.0f);
    q[i] = (int8_t) fminf (127.0f, fmaxf (-127.0f, v));
  }
  return amax / 127.0f;
}

/* Rows of k values into blocks of TS_CPU_QBLOCK (the padding is zero). */
static void
quantise_row (const float *x, int64_t k, int64_t kp, int8_t *q, float *scale)
{
  for (int64_t b = 0; b < kp / TS_CPU_QBLOCK; b++) {
    int64_t k0 = b * TS_CPU_QBLOCK, len = MAX (0, MIN (TS_CPU_QBLOCK, k - k0));
    scale[b] = quantise_block (x + k0, len, q + k0);
    memset (q + k0 + len, 0, (size_t) (TS_CPU_QBLOCK - len));
  }
}

void
ts_cpu_row_quantise (const float *x, int64_t k, int64_t kp, uint8_t *u, float *scale)
{
  int8_t *q = (int8_t *) u;
  quantise_row (x, k, kp, q, scale);
  /* VNNI multiplies unsigned by signed bytes: store q + 128 (the kernels take the 128 back
   * out with the weights' per-block offsets) */
  for (int64_t i = 0; i < kp; i++)
    u[i] = (uint8_t) (q[i] + 128);
}

void
ts_cpu_packed_free (TsCpuPacked *p)
{
  if (!p)
    return;
  free (p->bf16);
  free (p->q);
  free (p->scale);
  free (p->offset);
  g_free (p);
}

size_t
ts_cpu_packed_bytes (const TsCpuPacked *p)
{
  if (p->precision == TS_PRECISION_BF16)
    return (size_t) (p->n * p->kp) * sizeof (uint16_t);
  return (size_t) (p->n * p->kp) +
         (sizeof (float) + sizeof (int32_t)) * (size_t) (p->n * (p->kp / TS_CPU_QBLOCK));
}

TsCpuPacked *
ts_cpu_pack (TsBackend *be, const void *w, TsDType dtype, int64_t n, int64_t k,
             TsPrecision precision, GError **error)
{
  g_return_val_if_fail (precision != TS_PRECISION_F32, NULL);
  TsCpuPacked *p = g_new0 (TsCpuPacked, 1);
  int64_t pad = precision == TS_PRECISION_BF16 ? TS_CPU_BF16_PAD : TS_CPU_QBLOCK;
  p->precision = precision;
  p->n = n;
  p->k = k;
  p->kp = (k + pad - 1) / pad * pad;
  int64_t nb = p->kp / TS_CPU_QBLOCK;
  gboolean ok;
  if (precision == TS_PRECISION_BF16) {
    ok = (p->bf16 = ts_cpu_scratch_new (sizeof (uint16_t) * n * p->kp, "bf16 weights", error)) != NULL;
  } else {
    ok = (p->q = ts_cpu_scratch_new ((size_t) (n * p->kp), "int8 weights", error)) &&
         (p->scale = ts_cpu_scratch_new (sizeof (float) * n * nb, "int8 scales", error)) &&
         (p->offset = ts_cpu_scratch_new (sizeof (int32_t) * n * nb, "int8 scales", error));
  }
  float *rows = ok ? ts_cpu_scratch_new (sizeof (float) * k * ts_cpu_backend_threads (be),
                                         "weight packing", error) : NULL;
  if (!rows) {
    ts_cpu_packed_free (p);
    return NULL;
  }
  size_t es = ts_dtype_size (dtype);
  int nt = ts_cpu_threads_for (be, (double) n * k);
#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    float *row = rows + (size_t) k * omp_get_thread_num ();
#pragma omp for schedule (static)
    for (int64_t j = 0; j < n; j++) {
      ts_cpu_to_f32 ((const char *) w + (size_t) (j * k) * es, dtype, row, (size_t) k);
      if (precision == TS_PRECISION_BF16) {
        ts_cpu_row_to_bf16 (row, k, p->kp, p->bf16 + j * p->kp);
        continue;
      }
      int8_t *q = p->q + j * p->kp;
      quantise_row (row, k, p->kp, q, p->scale + j * nb);
      for (int64_t b = 0; b < nb; b++) {
        int32_t sum = 0;
        for (int64_t i = 0; i < TS_CPU_QBLOCK; i++)
          sum += q[b * TS_CPU_QBLOCK + i];
        p->offset[j * nb + b] = -128 * sum;
      }
    }
  }
  free (rows);
  return p;
}
