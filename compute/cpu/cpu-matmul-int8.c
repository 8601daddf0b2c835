/* cpu-matmul-int8.c — int8 dot products with per-block scales (AVX512_VNNI, AVX-VNNI).
 *
 * Compiled for those instruction sets whatever the build's -march (target attributes); only
 * called when cpu-dispatch.c has seen them in CPUID. VPDPBUSD multiplies unsigned bytes by
 * signed bytes, four per 32-bit lane: activations come as q + 128 (cpu-pack.c), and each
 * block's integer sum starts from the weights' −128·Σq, so it is exactly Σ qa·qw. A block's
 * sum is scaled by sa·sw into f32 accumulators at the end of the block (TS_CPU_QBLOCK
 * values: 2 zmm or 4 ymm loads per row). */
#include "cpu-precision.h"

#if defined(__x86_64__) && defined(__GNUC__) && (__GNUC__ >= 11 || defined(__clang__))
#include <immintrin.h>

/* ---- AVX512_VNNI: tiles of 4 activation rows × 3 weight rows ---- */

#define TARGET512 __attribute__ ((target ("avx512f,avx512bw,avx512vl,avx512vnni")))
#define MR 4
#define NR 3

TARGET512 static inline __attribute__ ((always_inline)) void
tile512 (const uint8_t *a, const float *as, const TsCpuPacked *w, int64_t j, int mr, int nr,
         const float *bias, float *c, int64_t ldc)
{
  int64_t kp = w->kp, nb = kp / TS_CPU_QBLOCK;
  const int8_t *wq = w->q + j * kp;
  const float *ws = w->scale + j * nb;
  const int32_t *wo = w->offset + j * nb;
  __m512 acc[MR][NR];
  for (int i = 0; i < mr; i++)
    for (int jj = 0; jj < nr; jj++)
      acc[i][jj] = _mm512_setzero_ps ();
  for (int64_t b = 0; b < nb; b++) {
    __m512i sum[MR][NR];
    for (int i = 0; i < mr; i++)
      for (int jj = 0; jj < nr; jj++)
        sum[i][jj] = _mm512_maskz_set1_epi32 (1, wo[jj * nb + b]);
    for (int h = 0; h < TS_CPU_QBLOCK; h += 64) {
      int64_t k = b * TS_CPU_QBLOCK + h;
      __m512i av[MR];
      for (int i = 0; i < mr; i++)
        av[i] = _mm512_loadu_si512 (a + i * kp + k);
      for (int jj = 0; jj < nr; jj++) {
        __m512i wv = _mm512_loadu_si512 (wq + jj * kp + k);
        for (int i = 0; i < mr; i++)
          sum[i][jj] = _mm512_dpbusd_epi32 (sum[i][jj], av[i], wv);
      }
    }
    for (int i = 0; i < mr; i++)
      for (int jj = 0; jj < nr; jj++)
        acc[i][jj] = _mm512_fmadd_ps (_mm512_cvtepi32_ps (sum[i][jj]),
                                      _mm512_set1_ps (as[i * nb + b] * ws[jj * nb + b]),
                                      acc[i][jj]);
  }
  for (int i = 0; i < mr; i++)
    for (int jj = 0; jj < nr; jj++)
      c[i * ldc + jj] = _mm512_reduce_add_ps (acc[i][jj]) + (bias ? bias[jj] : 0.0f);
}

TARGET512 void
ts_cpu_int8_tiles_avx512 (const uint8_t *a, const float *as, int64_t m, const TsCpuPacked *w,
                          int64_t j0, int64_t j1, const float *bias, float *c, int64_t ldc)
{
  int64_t kp = w->kp, nb = kp / TS_CPU_QBLOCK;
  for (int64_t i = 0; i < m; i += MR) {
    int mr = (int) MIN (MR, m - i);
    for (int64_t j = j0; j < j1; j += NR) {
      int nr = (int) MIN (NR, j1 - j);
      const uint8_t *ai = a + i * kp;
      const float *asi = as + i * nb, *bj = bias ? bias + j : NULL;
      float *cij = c + i * ldc + j;
      switch (mr * 8 + nr) {
#define CASE(R, N) case R * 8 + N: tile512 (ai, asi, w, j, R, N, bj, cij, ldc); break;
        CASE (4, 3) CASE (4, 2) CASE (4, 1)
        CASE (3, 3) CASE (3, 2) CASE (3, 1)
        CASE (2, 3) CASE (2, 2) CASE (2, 1)
        CASE (1, 3) CASE (1, 2) CASE (1, 1)
#undef CASE
      }
    }
  }
}

/* ---- AVX-VNNI (256-bit, 16 registers): tiles of 2 × 2 ---- */

#define TARGET256 __attribute__ ((target ("avx2,fma,avxvnni")))
#define MR2 2
#define NR2 2

TARGET256 static inline float
hsum256 (__m256 v)
{
  __m128 s = _mm_add_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));
  s = _mm_add_ps (s, _mm_movehl_ps (s, s));
  s = _mm_add_ss (s, _mm_movehdup_ps (s));
  return _mm_cvtss_f32 (s);
}

TARGET256 static inline __attribute__ ((always_inline)) void
tile256 (const uint8_t *a, const float *as, const TsCpuPacked *w, int64_t j, int mr, int nr,
         const float *bias, float *c, int64_t ldc)
{
  int64_t kp = w->kp, nb = kp / TS_CPU_QBLOCK;
  const int8_t *wq = w->q + j * kp;
  const float *ws = w->scale + j * nb;
  const int32_t *wo = w->offset + j * nb;
  __m256 acc[MR2][NR2];
  for (int i = 0; i < mr; i++)
    for (int jj = 0; jj < nr; jj++)
      acc[i][jj] = _mm256_setzero_ps ();
  for (int64_t b = 0; b < nb; b++) {
    __m256i sum[MR2][NR2];
    for (int i = 0; i < mr; i++)
      for (int jj = 0; jj < nr; jj++)
        sum[i][jj] = _mm256_setr_epi32 (wo[jj * nb + b], 0, 0, 0, 0, 0, 0, 0);
    for (int h = 0; h < TS_CPU_QBLOCK; h += 32) {
      int64_t k = b * TS_CPU_QBLOCK + h;
      __m256i av[MR2];
      for (int i = 0; i < mr; i++)
        av[i] = _mm256_loadu_si256 ((const __m256i *) (a + i * kp + k));
      for (int jj = 0; jj < nr; jj++) {
        __m256i wv = _mm256_loadu_si256 ((const __m256i *) (wq + jj * kp + k));
        for (int i = 0; i < mr; i++)
          sum[i][jj] = _mm256_dpbusd_avx_epi32 (sum[i][jj], av[i], wv);
      }
    }
    for (int i = 0; i < mr; i++)
      for (int jj = 0; jj < nr; jj++)
        acc[i][jj] = _mm256_fmadd_ps (_mm256_cvtepi32_ps (sum[i][jj]),
                                      _mm256_set1_ps (as[i * nb + b] * ws[jj * nb + b]),
                                      acc[i][jj]);
  }
  for (int i = 0; i < mr; i++)
    for (int jj = 0; jj < nr; jj++)
      c[i * ldc + jj] = hsum256 (acc[i][jj]) + (bias ? bias[jj] : 0.0f);
}

TARGET256 void
ts_cpu_int8_tiles_avxvnni (const uint8_t *a, const float *as, int64_t m, const TsCpuPacked *w,
                           int64_t j0, int64_t j1, const float *bias, float *c, int64_t ldc)
{
  int64_t kp = w->kp, nb = kp / TS_CPU_QBLOCK;
  for (int64_t i = 0; i < m; i += MR2) {
    int mr = (int) MIN (MR2, m - i);
    for (int64_t j = j0; j < j1; j += NR2) {
      int nr = (int) MIN (NR2, j1 - j);
      const uint8_t *ai = a + i * kp;
      const float *asi = as + i * nb, *bj = bias ? bias + j : NULL;
      float *cij = c + i * ldc + j;
      switch (mr * 8 + nr) {
#define CASE(R, N) case R * 8 + N: tile256 (ai, asi, w, j, R, N, bj, cij, ldc); break;
        CASE (2, 2) CASE (2, 1) CASE (1, 2) CASE (1, 1)
#undef CASE
      }
    }
  }
}

#else

void
ts_cpu_int8_tiles_avx512 (const uint8_t *a, const float *as, int64_t m, const TsCpuPacked *w,
                          int64_t j0, int64_t j1, const float *bias, float *c, int64_t ldc)
{
  g_assert_not_reached (); /* cpu-dispatch.c never picks it off x86-64 */
}

void
ts_cpu_int8_tiles_avxvnni (const uint8_t *a, const float *as, int64_t m, const TsCpuPacked *w,
                           int64_t j0, int64_t j1, const float *bias, float *c, int64_t ldc)
{
  g_assert_not_reached ();
}

#endif
