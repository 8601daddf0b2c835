/* cpu-util.h — what the CPU kernels share: when to go parallel, tensor and scratch memory,
 * the threaded sgemm, weight conversion to f32, and exp/GELU written so the compiler can
 * vectorise them (libm's expf stops a loop from vectorising). Internal to compute/cpu/. */
#pragma once

#include "cpu-ops.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

G_BEGIN_DECLS

/* Elements of streaming work below which a second thread costs more than it saves
 * (waking the OpenMP team is a few microseconds). */
#define TS_CPU_GRAIN 32768

/* Threads for a loop over `work` elements: 1 for tiny work, never more than the backend's. */
static inline int
ts_cpu_threads_for (TsBackend *be, double work)
{
  int nt = ts_cpu_backend_threads (be);
  double by_grain = work / TS_CPU_GRAIN;
  if (by_grain < 2)
    return 1;
  return by_grain < nt ? (int) by_grain : nt;
}

/* Host memory for tensors (cpu-pool.c): large blocks are kept for reuse, within a bound
 * and never so as to raise the peak of memory held. alloc returns NULL when out of memory
 * and sets *capacity, which release must be given back. Thread-safe. */
typedef struct _TsCpuPool TsCpuPool;
TsCpuPool *ts_cpu_pool_new (void);
void       ts_cpu_pool_free (TsCpuPool *pool);
void      *ts_cpu_pool_alloc (TsCpuPool *pool, size_t bytes, size_t *capacity);
void       ts_cpu_pool_release (TsCpuPool *pool, void *data, size_t capacity);
/* Return every cached block (and malloc's free memory) to the system and restart the peak
 * of blocks in use from those in use now. */
void       ts_cpu_pool_trim (TsCpuPool *pool);
/* Bytes of pooled blocks in use, idle in the cache, and the most ever in use at once
 * (blocks under 256 KiB come from malloc and are not counted). */
void       ts_cpu_pool_usage (TsCpuPool *pool, size_t *live, size_t *cached, size_t *live_peak);

/* x rounded up to a multiple of 64 (carving 64-byte aligned pieces out of one scratch). */
#define TS_CPU_ALIGN64(x) (((x) + 63) / 64 * 64)

/* 64-byte aligned scratch (free with free()); NULL with TS_ERROR_OUT_OF_MEMORY on failure. */
void *ts_cpu_scratch_new (size_t bytes, const char *what, GError **error);

/* Threading model: OpenBLAS is kept single-threaded (cpu-backend.c) and every kernel,
 * GEMMs included, is parallelised with OpenMP, each thread calling sgemm on its own tile.
 * Two pools taking turns on 2 cores cost far more than they gain: OpenMP workers spin
 * after a region while OpenBLAS's threads wait for the cores, and the reverse. Splitting
 * a GEMM in per-thread tiles measured as fast as OpenBLAS's own threading (faster for
 * small M). */

/* C = op(A)·op(B) + beta·C, row-major, split into one tile per thread. Not for use inside
 * a parallel region (it opens its own). */
void ts_cpu_sgemm (TsBackend *be, gboolean ta, gboolean tb, int64_t m, int64_t n, int64_t k,
                   const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                   int64_t ldc);

/* n elements of f32/f16/bf16 at src → f32 (F16C when the build has it). */
void ts_cpu_to_f32 (const void *src, TsDType dtype, float *dst, size_t n);

/* A contiguous float tensor as f32: the tensor's own memory when it is f32, else a converted
 * copy stored in *owned (free() it). NULL with an error when out of memory. */
const float *ts_cpu_f32_view (TsBackend *be, const TsTensor *t, float **owned, GError **error);

/* Softmax of one row (cpu-softmax.c); d may equal x. A row of only −inf gives zeros. */
void ts_cpu_softmax_row (float *d, const float *x, int64_t n);

/* a·b + c in one rounding where the CPU has FMA. -std=c11 turns off GCC's contraction of
 * a·b + c, which doubled the instruction count of the polynomials below. */
#if defined(__FMA__)
#define TS_CPU_FMA(a, b, c) fmaf ((a), (b), (c))
#else
#define TS_CPU_FMA(a, b, c) ((a) * (b) + (c))
#endif

static inline float
ts_cpu_bits_f32 (uint32_t u)
{
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

/* exp(x) to within 2 ulp for x in [-86.6, 88.7]; 0 below (where exp underflows to the
 * subnormal range, which we flush), +inf above, NaN for NaN. x = n·ln2 + r with |r| ≤ ln2/2;
 * exp(r) by its Taylor series to degree 7 (truncation < 2e-9 there); 2^n from the bits. */
static inline float
ts_cpu_expf (float x)
{
  const float lo = -86.6f, hi = 88.72f;
  float xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  /* round to nearest by adding 1.5·2^23: the low mantissa bits then hold n */
  float n = TS_CPU_FMA (xc, 1.44269504088896341f, 12582912.0f);
  n -= 12582912.0f;
  float r = TS_CPU_FMA (n, -0.693359375f, xc); /* ln2 split in a short high part... */
  r = TS_CPU_FMA (n, 2.12194440e-4f, r);       /* ...and the rest, so n·ln2 is exact */
  float p = 1.0f / 5040;
  p = TS_CPU_FMA (p, r, 1.0f / 720);
  p = TS_CPU_FMA (p, r, 1.0f / 120);
  p = TS_CPU_FMA (p, r, 1.0f / 24);
  p = TS_CPU_FMA (p, r, 1.0f / 6);
  p = TS_CPU_FMA (p, r, 0.5f);
  p = TS_CPU_FMA (p, r, 1.0f);
  p = TS_CPU_FMA (p, r, 1.0f);
  /* 2^(n-1) stays a normal float for n in [-125, 128]; the extra 2 restores it */
  float scale = ts_cpu_bits_f32 ((uint32_t) ((int32_t) n + 126) << 23);
  float y = p * scale * 2.0f;
  y = x < lo ? 0.0f : y;
  return x > hi ? INFINITY : y;
}

/* Exact (erf) GELU: x·Φ(x) = x·(1 + erf(x/√2))/2. erf(z) = z·P(z²)/Q(z²) on |z| ≤ 4, a
 * (5,5) rational fitted for this project by weighted least squares (max error 2.3e-8;
 * erf(4) = 1 − 1.5e-8, so clamping beyond costs nothing). Like PyTorch's float GELU, Φ is
 * accurate in absolute terms (~1e-7), not relatively in the far negative tail. */
static inline float
ts_cpu_gelu (float x)
{
  float z = x * 0.70710678118654752f;
  z = z < -4.0f ? -4.0f : z;
  z = z > 4.0f ? 4.0f : z;
  float u = z * z;
  float p = 1.97597200732e-6f;
  p = TS_CPU_FMA (p, u, 0.000287462437752f);
  p = TS_CPU_FMA (p, u, 0.00398510228768f);
  p = TS_CPU_FMA (p, u, 0.0534103174443f);
  p = TS_CPU_FMA (p, u, 0.195838775593f);
  p = TS_CPU_FMA (p, u, 1.12837899473f);
  float q = 3.74621370652e-5f;
  q = TS_CPU_FMA (q, u, 0.00121154684822f);
  q = TS_CPU_FMA (q, u, 0.0154076540216f);
  q = TS_CPU_FMA (q, u, 0.116304109454f);
  q = TS_CPU_FMA (q, u, 0.506888929683f);
  q = TS_CPU_FMA (q, u, 1.0f);
  float erf = z * p / q;
  return x * TS_CPU_FMA (0.5f, erf, 0.5f);
}

static inline float
ts_cpu_sigmoid_mul (float x, float k)
{
  return x / (1.0f + ts_cpu_expf (-k * x));
}

G_END_DECLS
