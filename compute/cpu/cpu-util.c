/* cpu-util.c — scratch memory, serial BLAS sections and weight conversion for the CPU kernels. */
#include "cpu-util.h"

#include <cblas.h>
#include <stdlib.h>

#if defined(__F16C__)
#include <immintrin.h>
#endif

void *
ts_cpu_scratch_new (size_t bytes, const char *what, GError **error)
{
  void *p = NULL;
  if (posix_memalign (&p, 64, bytes ? bytes : 64) != 0) {
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY,
                 "out of memory allocating %.1f MiB of scratch for %s",
                 bytes / (1024.0 * 1024.0), what);
    return NULL;
  }
  return p;
}

static void
f16_to_f32 (const uint16_t *src, float *dst, size_t n)
{
  size_t i = 0;
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (dst + i, _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + i))));
#endif
  for (; i < n; i++)
    dst[i] = ts_f16_to_f32 (src[i]);
}

static void
bf16_to_f32 (const uint16_t *src, float *dst, size_t n)
{
  /* bf16 is the top half of an f32: a shift, which vectorises */
  uint32_t *d = (uint32_t *) dst;
  for (size_t i = 0; i < n; i++)
    d[i] = (uint32_t) src[i] << 16;
}

void
ts_cpu_to_f32 (const void *src, TsDType dtype, float *dst, size_t n)
{
  switch (dtype) {
  case TS_DTYPE_F32:
    memcpy (dst, src, n * sizeof (float));
    break;
  case TS_DTYPE_F16:
    f16_to_f32 (src, dst, n);
    break;
  case TS_DTYPE_BF16:
    bf16_to_f32 (src, dst, n);
    break;
  default:
    ts_convert (src, dtype, dst, TS_DTYPE_F32, n);
    break;
  }
}

const float *
ts_cpu_f32_view (TsBackend *be, const TsTensor *t, float **owned, GError **error)
{
  *owned = NULL;
  if (t->dtype == TS_DTYPE_F32)
    return ts_cpu_tensor_data (t);
  size_t n = (size_t) ts_tensor_numel (t), chunk = 65536;
  float *buf = ts_cpu_scratch_new (n * sizeof (float), "an f32 copy of a weight", error);
  if (!buf)
    return NULL;
  const char *src = ts_cpu_tensor_data (t);
  size_t es = ts_dtype_size (t->dtype);
  int nt = ts_cpu_threads_for (be, (double) n);
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (size_t i = 0; i < n; i += chunk)
    ts_cpu_to_f32 (src + i * es, t->dtype, buf + i, MIN (chunk, n - i));
  *owned = buf;
  return buf;
}
