/* cpu-softmax.c — softmax of one row, the inner loop of SOFTMAX and ATTENTION.
 *
 * Attention rows are short (77 text tokens) and there are many of them, so the fixed cost
 * per row decides the speed: with plain C the compiler's reduction set-up, scalar tails and
 * scalar exp on the last 13 elements took two thirds of the time. The AVX-512 and AVX2
 * versions below handle the tail with masked loads and stores and keep everything in
 * registers; the plain C version is the reference for other CPUs. All three compute
 * exp(x − max) with the same range reduction and polynomial as ts_cpu_expf. */
#include "cpu-util.h"

#include "cpu-exp512.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

#if defined(__AVX512F__)

typedef __m512 Vec;
#define VW 16
#define v_set1 _mm512_set1_ps
#define v_exp ts_cpu_exp512

void
ts_cpu_softmax_row (float *d, const float *x, int64_t n)
{
  int64_t body = n - n % VW;
  __mmask16 tail = (__mmask16) ((1u << (n - body)) - 1);
  Vec t = _mm512_mask_loadu_ps (v_set1 (-INFINITY), tail, x + body);
  Vec mv = t;
  for (int64_t i = 0; i < body; i += VW)
    mv = _mm512_max_ps (mv, _mm512_loadu_ps (x + i));
  float m = _mm512_reduce_max_ps (mv);
  if (m == -INFINITY) {
    /* every entry masked: no probability anywhere (PyTorch would give NaN) */
    memset (d, 0, n * sizeof (float));
    return;
  }
  Vec vm = v_set1 (m);
  t = v_exp (_mm512_sub_ps (t, vm));
  Vec sv = t;
  for (int64_t i = 0; i < body; i += VW) {
    Vec e = v_exp (_mm512_sub_ps (_mm512_loadu_ps (x + i), vm));
    _mm512_storeu_ps (d + i, e);
    sv = _mm512_add_ps (sv, e);
  }
  Vec inv = v_set1 (1.0f / _mm512_reduce_add_ps (sv));
  for (int64_t i = 0; i < body; i += VW)
    _mm512_storeu_ps (d + i, _mm512_mul_ps (_mm512_loadu_ps (d + i), inv));
  _mm512_mask_storeu_ps (d + body, tail, _mm512_mul_ps (t, inv));
}

#elif defined(__AVX2__) && defined(__FMA__)

typedef __m256 Vec;
#define VW 8
#define v_set1 _mm256_set1_ps
#define v_fma _mm256_fmadd_ps

static inline Vec
v_exp (Vec x)
{
  Vec xc = _mm256_min_ps (v_set1 (TS_CPU_EXP_HI), _mm256_max_ps (v_set1 (TS_CPU_EXP_LO), x));
  Vec n = _mm256_sub_ps (v_fma (xc, v_set1 (TS_CPU_LOG2E), v_set1 (TS_CPU_ROUND_MAGIC)),
                        v_set1 (TS_CPU_ROUND_MAGIC));
  Vec r = v_fma (n, v_set1 (-TS_CPU_LN2_HI), xc);
  r = v_fma (n, v_set1 (-TS_CPU_LN2_LO), r);
  Vec p = v_set1 (1.0f / 5040);
  p = v_fma (p, r, v_set1 (1.0f / 720));
  p = v_fma (p, r, v_set1 (1.0f / 120));
  p = v_fma (p, r, v_set1 (1.0f / 24));
  p = v_fma (p, r, v_set1 (1.0f / 6));
  p = v_fma (p, r, v_set1 (0.5f));
  p = v_fma (p, r, v_set1 (1.0f));
  p = v_fma (p, r, v_set1 (1.0f));
  __m256i e = _mm256_slli_epi32 (_mm256_add_epi32 (_mm256_cvtps_epi32 (n), _mm256_set1_epi32 (126)), 23);
  Vec y = _mm256_mul_ps (_mm256_mul_ps (p, _mm256_castsi256_ps (e)), v_set1 (2.0f));
  y = _mm256_blendv_ps (y, v_set1 (0.0f), _mm256_cmp_ps (x, v_set1 (TS_CPU_EXP_LO), _CMP_LT_OQ));
  return _mm256_blendv_ps (y, v_set1 (INFINITY),
                           _mm256_cmp_ps (x, v_set1 (TS_CPU_EXP_HI), _CMP_GT_OQ));
}

static inline float
hmax (Vec v)
{
  __m128 h = _mm_max_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));
  h = _mm_max_ps (h, _mm_movehl_ps (h, h));
  return _mm_cvtss_f32 (_mm_max_ss (h, _mm_movehdup_ps (h)));
}

static inline float
hsum (Vec v)
{
  __m128 h = _mm_add_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));
  h = _mm_add_ps (h, _mm_movehl_ps (h, h));
  return _mm_cvtss_f32 (_mm_add_ss (h, _mm_movehdup_ps (h)));
}

void
ts_cpu_softmax_row (float *d, const float *x, int64_t n)
{
  int64_t body = n - n % VW;
  /* lanes below the tail length get an all-ones mask */
  __m256i tail = _mm256_cmpgt_epi32 (_mm256_set1_epi32 ((int) (n - body)),
                                     _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
  Vec t = _mm256_blendv_ps (v_set1 (-INFINITY), _mm256_maskload_ps (x + body, tail),
                            _mm256_castsi256_ps (tail));
  Vec mv = t;
  for (int64_t i = 0; i < body; i += VW)
    mv = _mm256_max_ps (mv, _mm256_loadu_ps (x + i));
  float m = hmax (mv);
  if (m == -INFINITY) {
    memset (d, 0, n * sizeof (float));
    return;
  }
  Vec vm = v_set1 (m);
  t = v_exp (_mm256_sub_ps (t, vm));
  Vec sv = t;
  for (int64_t i = 0; i < body; i += VW) {
    Vec e = v_exp (_mm256_sub_ps (_mm256_loadu_ps (x + i), vm));
    _mm256_storeu_ps (d + i, e);
    sv = _mm256_add_ps (sv, e);
  }
  Vec inv = v_set1 (1.0f / hsum (sv));
  for (int64_t i = 0; i < body; i += VW)
    _mm256_storeu_ps (d + i, _mm256_mul_ps (_mm256_loadu_ps (d + i), inv));
  _mm256_maskstore_ps (d + body, tail, _mm256_mul_ps (t, inv));
}

#else

void
ts_cpu_softmax_row (float *d, const float *x, int64_t n)
{
  float m = -INFINITY;
#pragma omp simd reduction (max:m)
  for (int64_t i = 0; i < n; i++)
    m = x[i] > m ? x[i] : m;
  if (m == -INFINITY) {
    memset (d, 0, n * sizeof (float));
    return;
  }
  float s = 0;
#pragma omp simd reduction (+:s)
  for (int64_t i = 0; i < n; i++) {
    d[i] = ts_cpu_expf (x[i] - m);
    s += d[i];
  }
  float inv = 1.0f / s;
#pragma omp simd
  for (int64_t i = 0; i < n; i++)
    d[i] *= inv;
}

#endif
