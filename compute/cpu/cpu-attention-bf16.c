/* cpu-attention-bf16.c — the fused attention rows of cpu-attention-avx512.c with VDPBF16PS
 * products: for a transformer loaded at bf16 or int8 on a CPU whose bf16 kernel is VDPBF16PS
 * (cpu-dispatch.c). One instruction then does two products a lane, so both GEMMs of a block
 * take half the instructions; the softmax stays f32.
 *
 * Operands as the instruction wants them, each rounded to bf16 once (round to nearest even):
 *  - keys as pairs of dimensions [d/2][nkp][2] (a 64-byte load: one pair of 16 keys), zero
 *    past nk;
 *  - values as pairs of keys [nkp/2][dv][2] (one pair of keys for 16 columns), zero past nk;
 *  - the query rows and the probabilities as bf16 rows, broadcast a pair at a time.
 * The probabilities are rounded before they are summed, so the normalisation divides by the
 * sum of the weights actually applied.
 *
 * Compiled for AVX512_BF16 whatever the build's -march (target attributes). */
#include "cpu-attention.h"
#include "cpu-precision.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include "cpu-exp512.h"

#define TARGET __attribute__ ((target ("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define MR TS_CPU_ATTENTION_ROWS /* query rows per tile */
#define SZ 3   /* panels of 16 keys per score micro-tile: 8 × 3 = 24 accumulators */
#define VZ 4   /* panels of 16 value columns per P·V micro-tile, with VR rows */
#define VR 4

/* 16 floats rounded to bf16. */
TARGET static inline __m256i
round16 (__m512 x)
{
  return (__m256i) _mm512_cvtneps_pbh (x);
}

/* The pair of bf16 at p (two uint16_t) in every 32-bit lane. */
TARGET static inline __m512bh
pair (const uint16_t *p)
{
  uint32_t v;
  memcpy (&v, p, sizeof v);
  return (__m512bh) _mm512_set1_epi32 ((int) v);
}

/* 16 columns (`n` of them, the rest zero) of value rows a and b as 16 pairs (a[c], b[c]). */
TARGET static inline void
value_pairs (const float *a, const float *b, int64_t n, uint16_t *dst)
{
  static const uint16_t order[32] = { 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                      8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };
  __mmask16 k = ts_cpu_tail_mask16 (n);
  __m512 va = a ? _mm512_maskz_loadu_ps (k, a) : _mm512_setzero_ps ();
  __m512 vb = b ? _mm512_maskz_loadu_ps (k, b) : _mm512_setzero_ps ();
  __m512i both = (__m512i) _mm512_cvtne2ps_pbh (vb, va); /* a in the low half, b above */
  __m512i pairs = _mm512_permutexvar_epi16 (_mm512_loadu_si512 (order), both);
  _mm512_mask_storeu_epi16 (dst, n >= 16 ? ~(__mmask32) 0 : (((__mmask32) 1 << (2 * n)) - 1), pairs);
}

TARGET void
ts_cpu_attention_pack_bf16 (const float *k, int64_t ldk, const float *v, int64_t ldv,
                            int64_t nk, int64_t nkp, int64_t d, int64_t dv, uint16_t *kt,
                            uint16_t *vp, uint16_t *row)
{
  /* keys: each row rounded, then [nk][d/2] pairs transposed to [d/2][nkp] (32-bit moves) */
  for (int64_t j = 0; j < nk; j++)
    ts_cpu_row_to_bf16 (k + j * ldk, d, d, row + j * d);
  ts_cpu_transpose_f32 ((const float *) row, nk, d / 2, d / 2, (float *) kt, nkp);
  uint32_t *kt32 = (uint32_t *) kt;
  for (int64_t c = 0; c < d / 2; c++)
    memset (kt32 + c * nkp + nk, 0, sizeof (uint32_t) * (nkp - nk));
  /* values: rows 2p and 2p + 1 interleaved element by element, zero rows past nk */
  for (int64_t p = 0; p < nkp / 2; p++) {
    const float *a = 2 * p < nk ? v + 2 * p * ldv : NULL;
    const float *b = 2 * p + 1 < nk ? v + (2 * p + 1) * ldv : NULL;
    for (int64_t c = 0; c < dv; c += 16)
      value_pairs (a ? a + c : NULL, b ? b + c : NULL, MIN (16, dv - c), vp + (p * dv + c) * 2);
  }
}

/* s[i, j0 + 16z + l] = scale · Σ_c q[i, c]·k[j0 + 16z + l, c] for i < mr, z < nz, and mx[i]
 * the running maximum over real keys. Inlined with constant mr, nz. */
TARGET static inline __attribute__ ((always_inline)) void
scores_tile (const uint16_t *q, int64_t d, const uint16_t *kt, int64_t nkp, int64_t nk,
             int64_t j0, int mr, int nz, float scale, float *s, __m512 *mx)
{
  __m512 acc[MR][SZ];
  for (int i = 0; i < mr; i++)
    for (int z = 0; z < nz; z++)
      acc[i][z] = _mm512_setzero_ps ();
  const uint16_t *kc = kt + j0 * 2;
  for (int64_t c = 0; c < d / 2; c++, kc += nkp * 2) {
    __m512bh kv[SZ];
    for (int z = 0; z < nz; z++)
      kv[z] = (__m512bh) _mm512_loadu_si512 (kc + 32 * z);
    for (int i = 0; i < mr; i++) {
      __m512bh qv = pair (q + i * d + 2 * c);
      for (int z = 0; z < nz; z++)
        acc[i][z] = _mm512_dpbf16_ps (acc[i][z], qv, kv[z]);
    }
  }
  __m512 sv = _mm512_set1_ps (scale);
  for (int i = 0; i < mr; i++)
    for (int z = 0; z < nz; z++) {
      __m512 x = _mm512_mul_ps (acc[i][z], sv);
      _mm512_storeu_ps (s + i * nkp + j0 + 16 * z, x);
      mx[i] = _mm512_mask_max_ps (mx[i], ts_cpu_tail_mask16 (nk - j0 - 16 * z), mx[i], x);
    }
}

/* The rows' probabilities exp(score − row max) as bf16 in p [mr][nkp] (zero past nk), and
 * inv[i] = 1 / the sum of the rounded ones. */
TARGET static void
scores (const uint16_t *q, int64_t d, int mr, const uint16_t *kt, int64_t nkp, int64_t nk,
        float scale, float *s, uint16_t *p, float *inv)
{
  __m512 mx[MR];
  for (int i = 0; i < mr; i++)
    mx[i] = _mm512_set1_ps (-INFINITY);
  for (int64_t j0 = 0; j0 < nkp; j0 += 16 * SZ) {
    int nz = (int) MIN ((int64_t) SZ, (nkp - j0) / 16);
    if (mr == MR && nz == SZ)
      scores_tile (q, d, kt, nkp, nk, j0, MR, SZ, scale, s, mx);
    else if (mr == MR && nz == 2)
      scores_tile (q, d, kt, nkp, nk, j0, MR, 2, scale, s, mx);
    else if (mr == MR)
      scores_tile (q, d, kt, nkp, nk, j0, MR, 1, scale, s, mx);
    else
      scores_tile (q, d, kt, nkp, nk, j0, mr, nz, scale, s, mx);
  }
  for (int i = 0; i < mr; i++) {
    __m512 m = _mm512_set1_ps (_mm512_reduce_max_ps (mx[i])), sum = _mm512_setzero_ps ();
    const float *row = s + i * nkp;
    for (int64_t j = 0; j < nkp; j += 16) {
      __mmask16 k = ts_cpu_tail_mask16 (nk - j);
      __m512 e = _mm512_maskz_mov_ps (k, ts_cpu_exp512 (_mm512_sub_ps (_mm512_loadu_ps (row + j), m)));
      __m256i h = round16 (e);
      _mm256_storeu_si256 ((__m256i *) (p + i * nkp + j), h);
      /* the rounded value back in f32: its bits in the upper half */
      sum = _mm512_add_ps (sum, _mm512_castsi512_ps (_mm512_slli_epi32 (_mm512_cvtepu16_epi32 (h), 16)));
    }
    inv[i] = 1.0f / _mm512_reduce_add_ps (sum);
  }
}

/* out[i, c0 + 16z + l] = inv[i]·Σ_j p[i, j]·v[j, c0 + 16z + l] for i < mr, z < nz (the last
 * panel masked by `last`). Inlined with constant mr, nz. */
TARGET static inline __attribute__ ((always_inline)) void
values_tile (const uint16_t *p, int64_t nkp, const uint16_t *vp, int64_t dv, int64_t c0, int mr,
             int nz, __mmask16 last, const float *inv, float *out, int64_t ldo)
{
  __m512 acc[VR][VZ];
  for (int i = 0; i < mr; i++)
    for (int z = 0; z < nz; z++)
      acc[i][z] = _mm512_setzero_ps ();
  const uint16_t *vj = vp + c0 * 2;
  for (int64_t j = 0; j < nkp / 2; j++, vj += dv * 2) {
    __m512bh vv[VZ];
    for (int z = 0; z < nz; z++)
      vv[z] = (__m512bh) _mm512_maskz_loadu_epi32 (z == nz - 1 ? last : 0xffff, vj + 32 * z);
    for (int i = 0; i < mr; i++) {
      __m512bh pv = pair (p + i * nkp + 2 * j);
      for (int z = 0; z < nz; z++)
        acc[i][z] = _mm512_dpbf16_ps (acc[i][z], pv, vv[z]);
    }
  }
  for (int i = 0; i < mr; i++)
    for (int z = 0; z < nz; z++)
      _mm512_mask_storeu_ps (out + i * ldo + c0 + 16 * z, z == nz - 1 ? last : 0xffff,
                             _mm512_mul_ps (acc[i][z], _mm512_set1_ps (inv[i])));
}

TARGET static void
values (const uint16_t *p, int64_t nkp, int mr, const uint16_t *vp, int64_t dv,
        const float *inv, float *out, int64_t ldo)
{
  for (int i0 = 0; i0 < mr; i0 += VR) {
    int r = MIN (VR, mr - i0);
    for (int64_t c0 = 0; c0 < dv; c0 += 16 * VZ) {
      int64_t cols = MIN (16 * VZ, dv - c0);
      int nz = (int) ((cols + 15) / 16);
      __mmask16 last = ts_cpu_tail_mask16 (cols - 16 * (nz - 1));
      if (r == VR && nz == VZ)
        values_tile (p + i0 * nkp, nkp, vp, dv, c0, VR, VZ, last, inv + i0, out + i0 * ldo, ldo);
      else
        values_tile (p + i0 * nkp, nkp, vp, dv, c0, r, nz, last, inv + i0, out + i0 * ldo, ldo);
    }
  }
}

TARGET void
ts_cpu_attention_rows_bf16 (const float *q, int64_t ldq, int64_t nq, const uint16_t *kt,
                            int64_t nk, int64_t nkp, int64_t d, const uint16_t *vp, int64_t dv,
                            float scale, float *s, uint16_t *q16, uint16_t *p16, float *out,
                            int64_t ldo)
{
  for (int64_t i0 = 0; i0 < nq; i0 += MR) {
    int mr = (int) MIN ((int64_t) MR, nq - i0);
    float inv[MR];
    for (int i = 0; i < mr; i++)
      ts_cpu_row_to_bf16 (q + (i0 + i) * ldq, d, d, q16 + i * d);
    scores (q16, d, mr, kt, nkp, nk, scale, s, p16, inv);
    values (p16, nkp, mr, vp, dv, inv, out + i0 * ldo, ldo);
  }
}

#else

void
ts_cpu_attention_pack_bf16 (const float *k, int64_t ldk, const float *v, int64_t ldv,
                            int64_t nk, int64_t nkp, int64_t d, int64_t dv, uint16_t *kt,
                            uint16_t *vp, uint16_t *row)
{
  g_assert_not_reached (); /* cpu-attention.c takes this path only with VDPBF16PS */
}

void
ts_cpu_attention_rows_bf16 (const float *q, int64_t ldq, int64_t nq, const uint16_t *kt,
                            int64_t nk, int64_t nkp, int64_t d, const uint16_t *vp, int64_t dv,
                            float scale, float *s, uint16_t *q16, uint16_t *p16, float *out,
                            int64_t ldo)
{
  g_assert_not_reached ();
}

#endif
