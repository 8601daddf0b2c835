/* cpu-matmul-int8.c — int8 GEMM with per-block scales (AVX512_VNNI, AVX-VNNI).
 *
 * Compiled for those instruction sets whatever the build's -march (target attributes); only
 * called when cpu-dispatch.c has seen them in CPUID. VPDPBUSD multiplies unsigned bytes by
 * signed bytes, four per 32-bit lane: activations come as q + 128 (cpu-pack.c), and each
 * block's integer sums start from the weights' −128·Σq, so they are exactly Σ qa·qw.
 *
 * Register-blocked outer products: the weights are packed in panels of 16 output columns
 * with K in groups of four ([K/4][16][4], cpu-pack.c), so one 64-byte load holds four K
 * values of 16 columns; four bytes of one activation row, broadcast to all lanes, meet it
 * in one VPDPBUSD. A micro-tile of MR rows × 3 panels keeps its int32 sums in registers for
 * one block of TS_CPU_QBLOCK (exact), then adds sum·(sa·sw) into the f32 output tile
 * (16 column scales per panel, one row scale): no horizontal sums. The first block of a
 * product can start from the bias (or zero) instead of reading c: setting c beforehand
 * cost a pass over it (5 % of an int8 generation in memset and memcpy). Blocks go in slices of
 * KC so the 48 columns' slice of weights (24 KiB) stays in L1 across the row tiles. */
#include "cpu-precision.h"

#if defined(__x86_64__) && defined(__GNUC__) && (__GNUC__ >= 11 || defined(__clang__))
#include <immintrin.h>

#define KC 512 /* K per slice (a multiple of TS_CPU_QBLOCK) */

static inline int32_t
load4 (const uint8_t *p)
{
  int32_t v;
  memcpy (&v, p, sizeof v);
  return v;
}

/* ---- AVX512_VNNI: micro-tiles of 8 rows × 48 columns ---- */

#define TARGET512 __attribute__ ((target ("avx512f,avx512bw,avx512vl,avx512vnni")))
#define MR 8
#define NZ 3
/* acc += u8 · s8 in groups of four (VPDPBUSD). Inline assembly: GCC 12 compiles the
 * intrinsic's accumulator with a register copy and a store to the stack after every
 * instruction (about three times the instructions of the loop). */
#define DPBUSD(acc, u8, s8) __asm__ ("vpdpbusd %2, %1, %0" : "+v" (acc) : "v" (u8), "v" (s8))

/* c[i, 16z + l] += the blocks [b0, b1) of row i against panel z, for i < mr, z < nz. */
TARGET512 static inline __attribute__ ((always_inline)) void
micro512 (const uint8_t *a, const float *as, int64_t kp, const TsCpuPacked *w, int64_t panel,
          int64_t b0, int64_t b1, int mr, int nz, __mmask16 last, float *c, int64_t ldc,
          gboolean fresh, const float *bias)
{
  int64_t nb = kp / TS_CPU_QBLOCK, wstride = kp * TS_CPU_NR;
  const int8_t *wp = ts_cpu_packed_q_panel (w, panel);
  __m512i sum[MR][NZ];
  for (int64_t b = b0; b < b1; b++) {
    for (int z = 0; z < nz; z++)
      for (int i = 0; i < mr; i++)
        sum[i][z] = _mm512_loadu_si512 (w->offset + ts_cpu_packed_block_index (w, panel + z, b));
    const int8_t *wk = wp + b * TS_CPU_QBLOCK * TS_CPU_NR;
    const uint8_t *ak = a + b * TS_CPU_QBLOCK;
    for (int g = 0; g < TS_CPU_QBLOCK; g += 4, wk += 4 * TS_CPU_NR, ak += 4) {
      __m512i wv[NZ];
      for (int z = 0; z < nz; z++)
        wv[z] = _mm512_loadu_si512 (wk + z * wstride);
      for (int i = 0; i < mr; i++) {
        __m512i av = _mm512_set1_epi32 (load4 (ak + i * kp));
        for (int z = 0; z < nz; z++)
          DPBUSD (sum[i][z], av, wv[z]);
      }
    }
    for (int z = 0; z < nz; z++) {
      __m512 ws = _mm512_loadu_ps (w->scale + ts_cpu_packed_block_index (w, panel + z, b));
      __mmask16 mk = z == nz - 1 ? last : 0xffff;
      gboolean first = fresh && b == b0;
      __m512 start = first && bias ? _mm512_maskz_loadu_ps (mk, bias + z * TS_CPU_NR)
                                   : _mm512_setzero_ps ();
      for (int i = 0; i < mr; i++) {
        float *ci = c + i * ldc + z * TS_CPU_NR;
        __m512 s = _mm512_mul_ps (ws, _mm512_set1_ps (as[i * nb + b]));
        _mm512_mask_storeu_ps (ci, mk, _mm512_fmadd_ps (_mm512_cvtepi32_ps (sum[i][z]), s,
                                                        first ? start : _mm512_maskz_loadu_ps (mk, ci)));
      }
    }
  }
}

/* A full tile of 8 rows × 16·np columns (np 3 or 2, a constant at each call) written out with
 * named sums: the generic micro512's arrays go through the stack (GCC 12). The 8 × 32 form
 * serves the last strip of 128-column products (the VQ decoder's top level: 48 + 48 + 32),
 * which ran at about half the rate of the 8 × 48 tiles through micro512. */
TARGET512 static inline __attribute__ ((always_inline)) void
micro512_named (const uint8_t *a, const float *as, int64_t kp, const TsCpuPacked *w,
                int64_t panel, int64_t b0, int64_t b1, float *c, int64_t ldc, gboolean fresh,
                const float *bias, const int np)
{
  int64_t nb = kp / TS_CPU_QBLOCK, wstride = kp * TS_CPU_NR;
  const int8_t *wp = ts_cpu_packed_q_panel (w, panel);
  __m512 start0 = bias ? _mm512_loadu_ps (bias) : _mm512_setzero_ps ();
  __m512 start1 = bias ? _mm512_loadu_ps (bias + 16) : _mm512_setzero_ps ();
  __m512 start2 = bias && np == 3 ? _mm512_loadu_ps (bias + 32) : _mm512_setzero_ps ();
  for (int64_t b = b0; b < b1; b++) {
    gboolean first = fresh && b == b0;
    __m512i o0 = _mm512_loadu_si512 (w->offset + ts_cpu_packed_block_index (w, panel, b));
    __m512i o1 = _mm512_loadu_si512 (w->offset + ts_cpu_packed_block_index (w, panel + 1, b));
    __m512i o2 = np == 3 ? _mm512_loadu_si512 (w->offset + ts_cpu_packed_block_index (w, panel + 2, b))
                         : _mm512_setzero_si512 ();
#define DECL(i) __m512i s##i##_0 = o0, s##i##_1 = o1, s##i##_2 = o2;
    TS_CPU_ROWS8 (DECL)
#undef DECL
    const int8_t *wk = wp + b * TS_CPU_QBLOCK * TS_CPU_NR;
    const uint8_t *ak = a + b * TS_CPU_QBLOCK;
    for (int g = 0; g < TS_CPU_QBLOCK; g += 4, wk += 4 * TS_CPU_NR, ak += 4) {
      __m512i w0 = _mm512_loadu_si512 (wk), w1 = _mm512_loadu_si512 (wk + wstride);
      __m512i w2 = np == 3 ? _mm512_loadu_si512 (wk + 2 * wstride) : _mm512_setzero_si512 ();
#define STEP(i)                                                   \
      {                                                           \
        __m512i av = _mm512_set1_epi32 (load4 (ak + i * kp));     \
        DPBUSD (s##i##_0, av, w0);                                \
        DPBUSD (s##i##_1, av, w1);                                \
        if (np == 3)                                              \
          DPBUSD (s##i##_2, av, w2);                              \
      }
      TS_CPU_ROWS8 (STEP)
#undef STEP
    }
    const float *sc = w->scale;
    __m512 ws0 = _mm512_loadu_ps (sc + ts_cpu_packed_block_index (w, panel, b));
    __m512 ws1 = _mm512_loadu_ps (sc + ts_cpu_packed_block_index (w, panel + 1, b));
    __m512 ws2 = np == 3 ? _mm512_loadu_ps (sc + ts_cpu_packed_block_index (w, panel + 2, b))
                         : _mm512_setzero_ps ();
#define EPI(i)                                                                              \
    {                                                                                       \
      __m512 r = _mm512_set1_ps (as[i * nb + b]);                                           \
      float *ci = c + i * ldc;                                                              \
      _mm512_storeu_ps (ci, _mm512_fmadd_ps (_mm512_cvtepi32_ps (s##i##_0),                 \
                                             _mm512_mul_ps (ws0, r),                        \
                                             first ? start0 : _mm512_loadu_ps (ci)));       \
      _mm512_storeu_ps (ci + 16, _mm512_fmadd_ps (_mm512_cvtepi32_ps (s##i##_1),            \
                                                  _mm512_mul_ps (ws1, r),                   \
                                                  first ? start1 : _mm512_loadu_ps (ci + 16)));\
      if (np == 3)                                                                          \
        _mm512_storeu_ps (ci + 32, _mm512_fmadd_ps (_mm512_cvtepi32_ps (s##i##_2),          \
                                                    _mm512_mul_ps (ws2, r),                 \
                                                    first ? start2 : _mm512_loadu_ps (ci + 32)));\
    }
    TS_CPU_ROWS8 (EPI)
#undef EPI
  }
}

TARGET512 static __attribute__ ((noinline)) void
micro512_full (const uint8_t *a, const float *as, int64_t kp, const TsCpuPacked *w,
               int64_t panel, int64_t b0, int64_t b1, float *c, int64_t ldc, gboolean fresh,
               const float *bias)
{
  micro512_named (a, as, kp, w, panel, b0, b1, c, ldc, fresh, bias, 3);
}

TARGET512 static __attribute__ ((noinline)) void
micro512_full32 (const uint8_t *a, const float *as, int64_t kp, const TsCpuPacked *w,
                 int64_t panel, int64_t b0, int64_t b1, float *c, int64_t ldc, gboolean fresh,
                 const float *bias)
{
  micro512_named (a, as, kp, w, panel, b0, b1, c, ldc, fresh, bias, 2);
}

TARGET512 void
ts_cpu_int8_gemm_avx512 (const uint8_t *a, const float *as, int64_t m, const TsCpuPacked *w,
                         int64_t j0, int64_t j1, int64_t k0, int64_t k1, float *c, int64_t ldc,
                         gboolean overwrite, const float *bias)
{
  int64_t kp = w->kp, nb = kp / TS_CPU_QBLOCK;
  for (int64_t kc = k0; kc < k1; kc += KC) {
    gboolean fresh = overwrite && kc == k0;
    int64_t b0 = kc / TS_CPU_QBLOCK, b1 = MIN (k1, kc + KC) / TS_CPU_QBLOCK;
    for (int64_t j = j0; j < j1; j += NZ * TS_CPU_NR) {
      int64_t cols = MIN (NZ * TS_CPU_NR, j1 - j);
      int nz = (int) ((cols + TS_CPU_NR - 1) / TS_CPU_NR);
      int tail = (int) (cols - (nz - 1) * TS_CPU_NR);
      __mmask16 last = (__mmask16) (tail == 16 ? 0xffff : (1u << tail) - 1);
      int64_t panel = j / TS_CPU_NR;
      float *cj = c + (j - j0);
      const float *bj = bias ? bias + (j - j0) : NULL;
      for (int64_t i = 0; i < m; i += MR) {
        int mr = (int) MIN (MR, m - i);
        const uint8_t *ai = a + i * kp;
        const float *asi = as + i * nb;
        float *cij = cj + i * ldc;
        if (mr == 8 && nz == 3 && last == 0xffff) {
          micro512_full (ai, asi, kp, w, panel, b0, b1, cij, ldc, fresh, bj);
          continue;
        }
        if (mr == 8 && nz == 2 && last == 0xffff) {
          micro512_full32 (ai, asi, kp, w, panel, b0, b1, cij, ldc, fresh, bj);
          continue;
        }
        switch (mr * 4 + nz) {
#define CASE(R, Z) \
  case R * 4 + Z: micro512 (ai, asi, kp, w, panel, b0, b1, R, Z, last, cij, ldc, fresh, bj); break;
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

/* ---- AVX-VNNI (256-bit, 16 registers): micro-tiles of 4 rows × 16 columns ---- */

#define TARGET256 __attribute__ ((target ("avx2,fma,avxvnni")))
#define MR2 4

TARGET256 static inline __attribute__ ((always_inline)) void
micro256 (const uint8_t *a, const float *as, int64_t kp, const TsCpuPacked *w, int64_t panel,
          int64_t b0, int64_t b1, int mr, int cols, float *c, int64_t ldc, gboolean fresh,
          const float *bias)
{
  int64_t nb = kp / TS_CPU_QBLOCK;
  const int8_t *wp = ts_cpu_packed_q_panel (w, panel);
  /* the output tile, in registers' order: a short last panel goes through a copy */
  float tile[MR2][TS_CPU_NR];
  for (int i = 0; i < mr; i++) {
    if (!fresh)
      memcpy (tile[i], c + i * ldc, sizeof (float) * cols);
    else if (bias)
      memcpy (tile[i], bias, sizeof (float) * cols);
    else
      memset (tile[i], 0, sizeof (float) * cols);
  }
  for (int64_t b = b0; b < b1; b++) {
    const int32_t *off = w->offset + ts_cpu_packed_block_index (w, panel, b);
    __m256i o0 = _mm256_loadu_si256 ((const __m256i *) off);
    __m256i o1 = _mm256_loadu_si256 ((const __m256i *) (off + 8));
    __m256i s0[MR2], s1[MR2];
    for (int i = 0; i < mr; i++) {
      s0[i] = o0;
      s1[i] = o1;
    }
    const int8_t *wk = wp + b * TS_CPU_QBLOCK * TS_CPU_NR;
    const uint8_t *ak = a + b * TS_CPU_QBLOCK;
    for (int g = 0; g < TS_CPU_QBLOCK; g += 4, wk += 4 * TS_CPU_NR, ak += 4) {
      __m256i w0 = _mm256_loadu_si256 ((const __m256i *) wk);
      __m256i w1 = _mm256_loadu_si256 ((const __m256i *) (wk + 32));
      for (int i = 0; i < mr; i++) {
        __m256i av = _mm256_set1_epi32 (load4 (ak + i * kp));
        s0[i] = _mm256_dpbusd_avx_epi32 (s0[i], av, w0);
        s1[i] = _mm256_dpbusd_avx_epi32 (s1[i], av, w1);
      }
    }
    const float *sc = w->scale + ts_cpu_packed_block_index (w, panel, b);
    __m256 ws0 = _mm256_loadu_ps (sc), ws1 = _mm256_loadu_ps (sc + 8);
    for (int i = 0; i < mr; i++) {
      __m256 ra = _mm256_set1_ps (as[i * nb + b]);
      _mm256_storeu_ps (tile[i], _mm256_fmadd_ps (_mm256_cvtepi32_ps (s0[i]),
                                                  _mm256_mul_ps (ws0, ra),
                                                  _mm256_loadu_ps (tile[i])));
      _mm256_storeu_ps (tile[i] + 8, _mm256_fmadd_ps (_mm256_cvtepi32_ps (s1[i]),
                                                      _mm256_mul_ps (ws1, ra),
                                                      _mm256_loadu_ps (tile[i] + 8)));
    }
  }
  for (int i = 0; i < mr; i++)
    memcpy (c + i * ldc, tile[i], sizeof (float) * cols);
}

TARGET256 void
ts_cpu_int8_gemm_avxvnni (const uint8_t *a, const float *as, int64_t m, const TsCpuPacked *w,
                          int64_t j0, int64_t j1, int64_t k0, int64_t k1, float *c, int64_t ldc,
                          gboolean overwrite, const float *bias)
{
  int64_t kp = w->kp, nb = kp / TS_CPU_QBLOCK;
  for (int64_t kc = k0; kc < k1; kc += KC) {
    gboolean fresh = overwrite && kc == k0;
    int64_t b0 = kc / TS_CPU_QBLOCK, b1 = MIN (k1, kc + KC) / TS_CPU_QBLOCK;
    for (int64_t j = j0; j < j1; j += TS_CPU_NR) {
      int cols = (int) MIN (TS_CPU_NR, j1 - j);
      for (int64_t i = 0; i < m; i += MR2) {
        int mr = (int) MIN (MR2, m - i);
        const uint8_t *ai = a + i * kp;
        const float *asi = as + i * nb;
        float *cij = c + (j - j0) + i * ldc;
        const float *bj = bias ? bias + (j - j0) : NULL;
        switch (mr) {
        case 4: micro256 (ai, asi, kp, w, j / TS_CPU_NR, b0, b1, 4, cols, cij, ldc, fresh, bj); break;
        case 3: micro256 (ai, asi, kp, w, j / TS_CPU_NR, b0, b1, 3, cols, cij, ldc, fresh, bj); break;
        case 2: micro256 (ai, asi, kp, w, j / TS_CPU_NR, b0, b1, 2, cols, cij, ldc, fresh, bj); break;
        default: micro256 (ai, asi, kp, w, j / TS_CPU_NR, b0, b1, 1, cols, cij, ldc, fresh, bj); break;
        }
      }
    }
  }
}

#else

void
ts_cpu_int8_gemm_avx512 (const uint8_t *a, const float *as, int64_t m, const TsCpuPacked *w,
                         int64_t j0, int64_t j1, int64_t k0, int64_t k1, float *c, int64_t ldc,
                         gboolean overwrite, const float *bias)
{
  g_assert_not_reached (); /* cpu-dispatch.c never picks it off x86-64 */
}

void
ts_cpu_int8_gemm_avxvnni (const uint8_t *a, const float *as, int64_t m, const TsCpuPacked *w,
                          int64_t j0, int64_t j1, int64_t k0, int64_t k1, float *c, int64_t ldc,
                          gboolean overwrite, const float *bias)
{
  g_assert_not_reached ();
}

#endif
