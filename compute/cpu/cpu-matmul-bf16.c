/* cpu-matmul-bf16.c — bf16 × bf16 GEMM with f32 accumulation (AVX512_BF16).
 *
 * Compiled for that instruction set whatever the build's -march (target attributes), and
 * only called when cpu-dispatch.c has seen it in CPUID, so one binary runs on any x86-64.
 *
 * Register-blocked outer products: the weights are packed in panels of 16 output columns
 * with K in pairs ([K/2][16][2], cpu-pack.c), so one 64-byte load holds a pair of K values
 * for 16 columns; a pair of one activation row, broadcast to all 16 lanes, meets it in one
 * VDPBF16PS (16 columns × 2 products, summed into f32 lanes). The activations come in tiles of
 * 8 rows with the rows' pairs side by side ([K/2][8][2], ts_cpu_rows_to_bf16_tile), so a
 * micro-tile's broadcasts read one 32-byte run per K pair instead of eight rows kp apart (8 %
 * faster at the transformer's shapes on Zen 5). A micro-tile is MR = 8 rows ×
 * 3 panels (48 columns): 24 zmm accumulators, 3 weight registers and a broadcast, no
 * horizontal sums. K goes in slices of KC so the 48 columns' slice of weights (48 × KC × 2
 * bytes = 24 KiB) stays in L1 while every row tile of the block passes over it. */
#include "cpu-precision.h"

#if defined(__x86_64__) && defined(__GNUC__) && (__GNUC__ >= 10 || defined(__clang__))
#include <immintrin.h>

#define TARGET __attribute__ ((target ("avx512f,avx512bw,avx512vl,avx512bf16")))
#define MR TS_CPU_BF16_ROWS /* rows per micro-tile: one tile of the prepared activations */
#define NZ 3    /* panels of 16 columns per micro-tile */
#define KC 256  /* K per slice (a multiple of 32) */

/* c[i, 16z + l] += acc[i][z] for i < mr, z < nz, the last panel's columns masked by `last`;
 * with `first`, the sums start from bias (zero when NULL) instead of c, which is then
 * written without being read. The edge tiles of both kernels below. */
static inline __attribute__ ((always_inline, target ("avx512f"))) void
store_tile (__m512 acc[MR][NZ], int mr, int nz, __mmask16 last, float *c, int64_t ldc,
            gboolean first, const float *bias)
{
  for (int z = 0; z < nz; z++) {
    __mmask16 mk = z == nz - 1 ? last : 0xffff;
    __m512 start = first && bias ? _mm512_maskz_loadu_ps (mk, bias + z * TS_CPU_NR) : _mm512_setzero_ps ();
    for (int i = 0; i < mr; i++) {
      float *ci = c + i * ldc + z * TS_CPU_NR;
      _mm512_mask_storeu_ps (ci, mk, _mm512_add_ps (first ? start : _mm512_maskz_loadu_ps (mk, ci),
                                                    acc[i][z]));
    }
  }
}

/* c[i, 16z + l] += Σ_k a[i, k]·w[panel z, k, l] for i < mr, z < nz, k in [k0, k1). The last
 * panel's columns are masked by `last`. Inlined with constant mr, nz. */
TARGET static inline __attribute__ ((always_inline)) void
micro (const uint16_t *a, const uint16_t *w, int64_t wstride, int64_t k0, int64_t k1, int mr,
       int nz, __mmask16 last, float *c, int64_t ldc, gboolean first, const float *bias)
{
  __m512 acc[MR][NZ];
  for (int i = 0; i < mr; i++)
    for (int z = 0; z < nz; z++)
      acc[i][z] = _mm512_setzero_ps ();
  const uint16_t *wk = w + k0 * TS_CPU_NR;
  const uint16_t *ak = a + k0 * TS_CPU_BF16_ROWS;
  for (int64_t k = k0; k < k1; k += 2, wk += 2 * TS_CPU_NR, ak += 2 * TS_CPU_BF16_ROWS) {
    __m512bh wv[NZ];
    for (int z = 0; z < nz; z++)
      wv[z] = (__m512bh) _mm512_loadu_si512 (wk + z * wstride);
    for (int i = 0; i < mr; i++) {
      uint32_t pair;
      memcpy (&pair, ak + i * 2, sizeof pair);
      __m512bh av = (__m512bh) _mm512_set1_epi32 ((int) pair);
      for (int z = 0; z < nz; z++)
        acc[i][z] = _mm512_dpbf16_ps (acc[i][z], wv[z], av);
    }
  }
  store_tile (acc, mr, nz, last, c, ldc, first, bias);
}

/* acc += Σ pairs a·b (VDPBF16PS). Inline assembly for the reason cpu-matmul-int8.c gives:
 * GCC 12 kept the intrinsic's weight registers on the stack and reloaded them for every row. */
#define DPBF16(acc, a, b) __asm__ ("vdpbf16ps %2, %1, %0" : "+v" (acc) : "v" (a), "v" (b))

/* The full 8 × 48 tile with named sums (the common case): the same products as micro. */
TARGET static void
micro_full (const uint16_t *a, const uint16_t *w, int64_t wstride, int64_t k0, int64_t k1,
            float *c, int64_t ldc, gboolean first, const float *bias)
{
  /* The sums in fixed registers (zmm0-7, zmm10-17, zmm20-27): left to itself GCC 12 moved
   * half of them through one scratch register around every VDPBF16PS (two extra moves per
   * product; the loop ran at 2/3 of the instruction's rate). */
#define DECL(i)                                                    \
  register __m512 s##i##_0 __asm__ ("zmm" #i) = _mm512_setzero_ps (); \
  register __m512 s##i##_1 __asm__ ("zmm1" #i) = _mm512_setzero_ps (); \
  register __m512 s##i##_2 __asm__ ("zmm2" #i) = _mm512_setzero_ps ();
  TS_CPU_ROWS8 (DECL)
#undef DECL
  const uint16_t *wk = w + k0 * TS_CPU_NR;
  const uint16_t *ak = a + k0 * TS_CPU_BF16_ROWS;
  for (int64_t k = k0; k < k1; k += 2, wk += 2 * TS_CPU_NR, ak += 2 * TS_CPU_BF16_ROWS) {
    __m512 w0 = _mm512_castsi512_ps (_mm512_loadu_si512 (wk));
    __m512 w1 = _mm512_castsi512_ps (_mm512_loadu_si512 (wk + wstride));
    __m512 w2 = _mm512_castsi512_ps (_mm512_loadu_si512 (wk + 2 * wstride));
#define STEP(i)                                                     \
    {                                                               \
      uint32_t pair;                                                \
      memcpy (&pair, ak + i * 2, sizeof pair);                      \
      __m512 av = _mm512_castsi512_ps (_mm512_set1_epi32 ((int) pair)); \
      DPBF16 (s##i##_0, av, w0);                                    \
      DPBF16 (s##i##_1, av, w1);                                    \
      DPBF16 (s##i##_2, av, w2);                                    \
    }
    TS_CPU_ROWS8 (STEP)
#undef STEP
  }
  __m512 b0 = _mm512_setzero_ps (), b1 = b0, b2 = b0;
  if (first && bias) {
    b0 = _mm512_loadu_ps (bias);
    b1 = _mm512_loadu_ps (bias + 16);
    b2 = _mm512_loadu_ps (bias + 32);
  }
#define EPI(i)                                                                             \
  {                                                                                        \
    float *ci = c + i * ldc;                                                               \
    _mm512_storeu_ps (ci, _mm512_add_ps (first ? b0 : _mm512_loadu_ps (ci), s##i##_0));      \
    _mm512_storeu_ps (ci + 16, _mm512_add_ps (first ? b1 : _mm512_loadu_ps (ci + 16), s##i##_1)); \
    _mm512_storeu_ps (ci + 32, _mm512_add_ps (first ? b2 : _mm512_loadu_ps (ci + 32), s##i##_2)); \
  }
  TS_CPU_ROWS8 (EPI)
#undef EPI
}

TARGET void
ts_cpu_bf16_gemm_avx512 (const uint16_t *a, int64_t m, const TsCpuPacked *w, int64_t j0,
                         int64_t j1, int64_t k0, int64_t k1, float *c, int64_t ldc,
                         gboolean overwrite, const float *bias)
{
  int64_t kp = w->kp, wstride = kp * TS_CPU_NR;
  for (int64_t kc = k0; kc < k1; kc += KC) {
    int64_t kend = MIN (k1, kc + KC);
    gboolean first = overwrite && kc == k0;
    for (int64_t j = j0; j < j1; j += NZ * TS_CPU_NR) {
      int64_t cols = MIN (NZ * TS_CPU_NR, j1 - j);
      int nz = (int) ((cols + TS_CPU_NR - 1) / TS_CPU_NR);
      int tail = (int) (cols - (nz - 1) * TS_CPU_NR);
      __mmask16 last = (__mmask16) (tail == 16 ? 0xffff : (1u << tail) - 1);
      const uint16_t *wj = ts_cpu_packed_bf16_panel (w, j / TS_CPU_NR);
      float *cj = c + (j - j0);
      const float *bj = bias ? bias + (j - j0) : NULL;
      for (int64_t i = 0; i < m; i += MR) {
        int mr = (int) MIN (MR, m - i);
        const uint16_t *ai = a + i * kp;
        float *cij = cj + i * ldc;
        if (mr == MR && nz == NZ && tail == TS_CPU_NR) {
          micro_full (ai, wj, wstride, kc, kend, cij, ldc, first, bj);
          continue;
        }
        /* one case per edge shape, so each call inlines with constants */
        switch (mr * 4 + nz) {
#define CASE(R, Z) \
  case R * 4 + Z: micro (ai, wj, wstride, kc, kend, R, Z, last, cij, ldc, first, bj); break;
          CASE (8, 3) CASE (8, 2) CASE (8, 1) CASE (7, 3) CASE (7, 2) CASE (7, 1)
          CASE (6, 3) CASE (6, 2) CASE (6, 1) CASE (5, 3) CASE (5, 2) CASE (5, 1)
          CASE (4, 3) CASE (4, 2) CASE (4, 1) CASE (3, 3) CASE (3, 2) CASE (3, 1)
          CASE (2, 3) CASE (2, 2) CASE (2, 1) CASE (1, 3) CASE (1, 2) CASE (1, 1)
#undef CASE
        }
      }
    }
  }
}

/* ---- bf16 weights × f32 activations on FMA (AVX-512F) ----
 *
 * The same packed panels: a 64-byte load holds K pairs (k, k+1) of 16 columns as 32-bit
 * lanes (k in the low half); shifting left by 16 gives column values at k as f32 exactly,
 * masking the low half gives those at k+1. Each meets a broadcast f32 activation in one FMA.
 * Activations stay exact f32 (only the weights are rounded), nothing is prepared per product,
 * and the instruction rate is FMA's: on CPUs where VDPBF16PS (two products per lane) issues at
 * half FMA's rate or less (Intel's) this is the faster kernel; where it issues at FMA's rate
 * (AMD's: measured on Zen 5) the VDPBF16PS kernel above does nearly twice the products
 * (cpu-dispatch.c chooses by vendor, docs/cpu-precision.md). 8 rows × 48 columns: 24 zmm
 * sums, 6 widened weight registers, activations broadcast from memory. */

#define TARGETF __attribute__ ((target ("avx512f,avx512bw,avx512vl,fma")))

TARGETF static inline __attribute__ ((always_inline)) void
micro_fma (const float *a, int64_t lda, const uint16_t *w, int64_t wstride, int64_t k0,
           int64_t k1, int64_t k, int mr, int nz, __mmask16 last, float *c, int64_t ldc,
           gboolean first, const float *bias)
{
  __m512 acc[MR][NZ];
  for (int i = 0; i < mr; i++)
    for (int z = 0; z < nz; z++)
      acc[i][z] = _mm512_setzero_ps ();
  const __m512i hi = _mm512_set1_epi32 ((int) 0xffff0000u);
  int64_t even = MIN (k1, k & ~(int64_t) 1); /* pairs with both values inside the row */
  const uint16_t *wk = w + k0 * TS_CPU_NR;
  int64_t kk = k0;
  for (; kk < even; kk += 2, wk += 2 * TS_CPU_NR) {
    __m512 we[NZ], wo[NZ];
    for (int z = 0; z < nz; z++) {
      __m512i v = _mm512_loadu_si512 (wk + z * wstride);
      we[z] = _mm512_castsi512_ps (_mm512_slli_epi32 (v, 16));
      wo[z] = _mm512_castsi512_ps (_mm512_and_si512 (v, hi));
    }
    for (int i = 0; i < mr; i++) {
      __m512 a0 = _mm512_set1_ps (a[i * lda + kk]), a1 = _mm512_set1_ps (a[i * lda + kk + 1]);
      for (int z = 0; z < nz; z++)
        acc[i][z] = _mm512_fmadd_ps (a1, wo[z], _mm512_fmadd_ps (a0, we[z], acc[i][z]));
    }
  }
  if (kk < k1 && kk < k) { /* odd k: the last value has no partner in the row */
    for (int z = 0; z < nz; z++) {
      __m512 we = _mm512_castsi512_ps (_mm512_slli_epi32 (_mm512_loadu_si512 (wk + z * wstride), 16));
      for (int i = 0; i < mr; i++)
        acc[i][z] = _mm512_fmadd_ps (_mm512_set1_ps (a[i * lda + kk]), we, acc[i][z]);
    }
  }
  store_tile (acc, mr, nz, last, c, ldc, first, bias);
}

TARGETF void
ts_cpu_bf16_gemm_fma512 (const float *a, int64_t lda, int64_t m, const TsCpuPacked *w,
                         int64_t j0, int64_t j1, float *c, int64_t ldc, gboolean overwrite,
                         const float *bias)
{
  int64_t kp = w->kp, wstride = kp * TS_CPU_NR, k = w->k;
  for (int64_t kc = 0; kc < k; kc += KC) {
    int64_t kend = MIN (k, kc + KC);
    gboolean first = overwrite && kc == 0;
    for (int64_t j = j0; j < j1; j += NZ * TS_CPU_NR) {
      int64_t cols = MIN (NZ * TS_CPU_NR, j1 - j);
      int nz = (int) ((cols + TS_CPU_NR - 1) / TS_CPU_NR);
      int tail = (int) (cols - (nz - 1) * TS_CPU_NR);
      __mmask16 last = (__mmask16) (tail == 16 ? 0xffff : (1u << tail) - 1);
      const uint16_t *wj = ts_cpu_packed_bf16_panel (w, j / TS_CPU_NR);
      float *cj = c + (j - j0);
      const float *bj = bias ? bias + (j - j0) : NULL;
      for (int64_t i = 0; i < m; i += MR) {
        int mr = (int) MIN (MR, m - i);
        const float *ai = a + i * lda;
        float *cij = cj + i * ldc;
        switch (mr * 4 + nz) {
#define CASE(R, Z) \
  case R * 4 + Z:  \
    micro_fma (ai, lda, wj, wstride, kc, kend, k, R, Z, last, cij, ldc, first, bj); break;
          CASE (8, 3) CASE (8, 2) CASE (8, 1) CASE (7, 3) CASE (7, 2) CASE (7, 1)
          CASE (6, 3) CASE (6, 2) CASE (6, 1) CASE (5, 3) CASE (5, 2) CASE (5, 1)
          CASE (4, 3) CASE (4, 2) CASE (4, 1) CASE (3, 3) CASE (3, 2) CASE (3, 1)
          CASE (2, 3) CASE (2, 2) CASE (2, 1) CASE (1, 3) CASE (1, 2) CASE (1, 1)
#undef CASE
        }
      }
    }
  }
}

#else

void
ts_cpu_bf16_gemm_avx512 (const uint16_t *a, int64_t m, const TsCpuPacked *w, int64_t j0,
                         int64_t j1, int64_t k0, int64_t k1, float *c, int64_t ldc,
                         gboolean overwrite, const float *bias)
{
  g_assert_not_reached (); /* cpu-dispatch.c never picks it off x86-64 */
}

void
ts_cpu_bf16_gemm_fma512 (const float *a, int64_t lda, int64_t m, const TsCpuPacked *w,
                         int64_t j0, int64_t j1, float *c, int64_t ldc, gboolean overwrite,
                         const float *bias)
{
  g_assert_not_reached ();
}

#endif
