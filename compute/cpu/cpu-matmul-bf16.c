/* cpu-matmul-bf16.c — bf16 × bf16 dot products with f32 accumulation (AVX512_BF16).
 *
 * Compiled for that instruction set whatever the build's -march (target attributes), and
 * only called when cpu-dispatch.c has seen it in CPUID, so one binary runs on any x86-64.
 * Both operands are rows along K (activations [m, kp], weights [n, kp]); VDPBF16PS takes 32
 * bf16 of each per instruction, summing pairs into 16 f32 lanes. Tiles of 4 rows × 4 weight
 * rows keep 16 accumulators and reuse every load four times. */
#include "cpu-precision.h"

#if defined(__x86_64__) && defined(__GNUC__) && (__GNUC__ >= 10 || defined(__clang__))
#include <immintrin.h>

#define TARGET __attribute__ ((target ("avx512f,avx512bw,avx512vl,avx512bf16")))
#define MR 4
#define NR 4

/* c[i, j] for i < mr, j < nr over kp (a multiple of 32). Inlined with constant mr, nr so
 * the accumulator arrays become registers. */
TARGET static inline __attribute__ ((always_inline)) void
tile (const uint16_t *a, const uint16_t *w, int64_t kp, int mr, int nr, const float *bias,
      float *c, int64_t ldc)
{
  __m512 acc[MR][NR];
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++)
      acc[i][j] = _mm512_setzero_ps ();
  for (int64_t k = 0; k < kp; k += 32) {
    __m512bh av[MR];
    for (int i = 0; i < mr; i++)
      av[i] = (__m512bh) _mm512_loadu_si512 (a + i * kp + k);
    for (int j = 0; j < nr; j++) {
      __m512bh wv = (__m512bh) _mm512_loadu_si512 (w + j * kp + k);
      for (int i = 0; i < mr; i++)
        acc[i][j] = _mm512_dpbf16_ps (acc[i][j], av[i], wv);
    }
  }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++)
      c[i * ldc + j] = _mm512_reduce_add_ps (acc[i][j]) + (bias ? bias[j] : 0.0f);
}

TARGET void
ts_cpu_bf16_tiles_avx512 (const uint16_t *a, int64_t m, const uint16_t *w, int64_t j0,
                          int64_t j1, int64_t kp, const float *bias, float *c, int64_t ldc)
{
  for (int64_t i = 0; i < m; i += MR) {
    int mr = (int) MIN (MR, m - i);
    for (int64_t j = j0; j < j1; j += NR) {
      int nr = (int) MIN (NR, j1 - j);
      const uint16_t *ai = a + i * kp, *wj = w + j * kp;
      const float *bj = bias ? bias + j : NULL;
      float *cij = c + i * ldc + j;
      /* one case per edge shape, so each call inlines with constants */
      switch (mr * 8 + nr) {
#define CASE(R, N) case R * 8 + N: tile (ai, wj, kp, R, N, bj, cij, ldc); break;
        CASE (4, 4) CASE (4, 3) CASE (4, 2) CASE (4, 1)
        CASE (3, 4) CASE (3, 3) CASE (3, 2) CASE (3, 1)
        CASE (2, 4) CASE (2, 3) CASE (2, 2) CASE (2, 1)
        CASE (1, 4) CASE (1, 3) CASE (1, 2) CASE (1, 1)
#undef CASE
      }
    }
  }
}

#else

void
ts_cpu_bf16_tiles_avx512 (const uint16_t *a, int64_t m, const uint16_t *w, int64_t j0,
                          int64_t j1, int64_t kp, const float *bias, float *c, int64_t ldc)
{
  g_assert_not_reached (); /* cpu-dispatch.c never picks it off x86-64 */
}

#endif
