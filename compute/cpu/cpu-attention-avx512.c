/* cpu-attention-avx512.c — one block of queries of a non-causal ATTENTION, fused, AVX-512.
 *
 * Why not two sgemms: S = Q·Kᵀ has K = d = 64, so a BLAS kernel spends its time loading and
 * storing the 256 × 256 score tile (each score is only 64 products), and it packs both
 * operands on every call; measured, the Q·Kᵀ sgemm took seven times the P·V one of equal
 * work. Here Kᵀ is packed once per block of queries ([d][nkp], keys contiguous, zero padded
 * to 16), and eight query rows at a time go through scores → softmax → P·V while their
 * scores (8 × nkp floats) stay in L1. The row maxima come out of the score tiles' registers
 * and the softmax's division is applied to the 64 outputs of a row rather than its nk
 * probabilities: at d = 64 the softmax's passes over the scores cost as much as a GEMM.
 *
 * Compiled for AVX-512 whatever the build's -march (target attributes); cpu-attention.c
 * calls it only when cpu-dispatch.c says AVX-512 rows are in use, else the sgemm path. */
#include "cpu-attention.h"
#include "cpu-precision.h"

void
ts_cpu_attention_pack_keys (const float *k, int64_t ldk, int64_t nk, int64_t d, float *kt,
                            int64_t nkp)
{
  ts_cpu_transpose_f32 (k, nk, d, ldk, kt, nkp);
  for (int64_t c = 0; c < d; c++)
    memset (kt + c * nkp + nk, 0, (nkp - nk) * sizeof (float));
}

#if defined(__x86_64__) && defined(__GNUC__)
#include "cpu-exp512.h"

#define TARGET TS_CPU_TARGET_AVX512
#define MR TS_CPU_ATTENTION_ROWS /* query rows per tile */
#define SZ 3   /* panels of 16 keys per score micro-tile: 8 × 3 = 24 accumulators */
#define VZ 4   /* panels of 16 value columns per P·V micro-tile, with VR rows */
#define VR 4

/* s[i, j0 + 16z + l] = scale · Σ_c q[i, c]·kt[c, j0 + 16z + l] for i < mr, z < nz, and
 * mx[i] the running maximum of the row's scores of real keys (below nk: the padding's zero
 * scores must not raise it, or a row of negative scores could underflow to all zeros). kt
 * is zero padded to a whole panel, so the loads need no masks. Inlined with constant mr, nz. */
TARGET static inline __attribute__ ((always_inline)) void
scores_tile (const float *q, int64_t ldq, const float *kt, int64_t nkp, int64_t nk, int64_t d,
             int64_t j0, int mr, int nz, float scale, float *s, __m512 *mx)
{
  __m512 acc[MR][SZ];
  for (int i = 0; i < mr; i++)
    for (int z = 0; z < nz; z++)
      acc[i][z] = _mm512_setzero_ps ();
  const float *kc = kt + j0;
  for (int64_t c = 0; c < d; c++, kc += nkp) {
    __m512 kv[SZ];
    for (int z = 0; z < nz; z++)
      kv[z] = _mm512_loadu_ps (kc + 16 * z);
    for (int i = 0; i < mr; i++) {
      __m512 qv = _mm512_set1_ps (q[i * ldq + c]);
      for (int z = 0; z < nz; z++)
        acc[i][z] = _mm512_fmadd_ps (qv, kv[z], acc[i][z]);
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

/* Each row's scores into exp(score − row max), and inv[i] = 1 / their sum: the softmax
 * without its normalisation, which the P·V tiles apply to their outputs instead. */
TARGET static void
scores (const float *q, int64_t ldq, int mr, const float *kt, int64_t nkp, int64_t nk,
        int64_t d, float scale, float *s, float *inv)
{
  __m512 mx[MR];
  for (int i = 0; i < mr; i++)
    mx[i] = _mm512_set1_ps (-INFINITY);
  for (int64_t j0 = 0; j0 < nkp; j0 += 16 * SZ) {
    int nz = (int) MIN ((int64_t) SZ, (nkp - j0) / 16);
    if (mr == MR && nz == SZ)
      scores_tile (q, ldq, kt, nkp, nk, d, j0, MR, SZ, scale, s, mx);
    else if (mr == MR && nz == 2)
      scores_tile (q, ldq, kt, nkp, nk, d, j0, MR, 2, scale, s, mx);
    else if (mr == MR)
      scores_tile (q, ldq, kt, nkp, nk, d, j0, MR, 1, scale, s, mx);
    else
      scores_tile (q, ldq, kt, nkp, nk, d, j0, mr, nz, scale, s, mx);
  }
  for (int i = 0; i < mr; i++) {
    __m512 m = _mm512_set1_ps (_mm512_reduce_max_ps (mx[i])), sum = _mm512_setzero_ps ();
    float *row = s + i * nkp;
    for (int64_t j = 0; j < nk; j += 16) {
      __mmask16 k = ts_cpu_tail_mask16 (nk - j);
      __m512 e = ts_cpu_exp512 (_mm512_sub_ps (_mm512_maskz_loadu_ps (k, row + j), m));
      _mm512_mask_storeu_ps (row + j, k, e);
      sum = _mm512_mask_add_ps (sum, k, sum, e);
    }
    inv[i] = 1.0f / _mm512_reduce_add_ps (sum);
  }
}

/* out[i, c0 + 16z + l] = inv[i]·Σ_j p[i, j]·v[j, c0 + 16z + l] for i < mr, z < nz (the last
 * panel masked by `last`). Inlined with constant mr, nz. */
TARGET static inline __attribute__ ((always_inline)) void
values_tile (const float *p, int64_t ldp, int64_t nk, const float *v, int64_t ldv, int64_t c0,
             int mr, int nz, __mmask16 last, const float *inv, float *out, int64_t ldo)
{
  __m512 acc[VR][VZ];
  for (int i = 0; i < mr; i++)
    for (int z = 0; z < nz; z++)
      acc[i][z] = _mm512_setzero_ps ();
  const float *vj = v + c0;
  for (int64_t j = 0; j < nk; j++, vj += ldv) {
    __m512 vv[VZ];
    for (int z = 0; z < nz; z++)
      vv[z] = _mm512_maskz_loadu_ps (z == nz - 1 ? last : 0xffff, vj + 16 * z);
    for (int i = 0; i < mr; i++) {
      __m512 pv = _mm512_set1_ps (p[i * ldp + j]);
      for (int z = 0; z < nz; z++)
        acc[i][z] = _mm512_fmadd_ps (pv, vv[z], acc[i][z]);
    }
  }
  for (int i = 0; i < mr; i++)
    for (int z = 0; z < nz; z++)
      _mm512_mask_storeu_ps (out + i * ldo + c0 + 16 * z, z == nz - 1 ? last : 0xffff,
                             _mm512_mul_ps (acc[i][z], _mm512_set1_ps (inv[i])));
}

TARGET static void
values (const float *p, int64_t ldp, int mr, int64_t nk, const float *v, int64_t ldv,
        int64_t dv, const float *inv, float *out, int64_t ldo)
{
  for (int i0 = 0; i0 < mr; i0 += VR) {
    int r = MIN (VR, mr - i0);
    for (int64_t c0 = 0; c0 < dv; c0 += 16 * VZ) {
      int64_t cols = MIN (16 * VZ, dv - c0);
      int nz = (int) ((cols + 15) / 16);
      __mmask16 last = ts_cpu_tail_mask16 (cols - 16 * (nz - 1));
      if (r == VR && nz == VZ)
        values_tile (p + i0 * ldp, ldp, nk, v, ldv, c0, VR, VZ, last, inv + i0, out + i0 * ldo,
                     ldo);
      else
        values_tile (p + i0 * ldp, ldp, nk, v, ldv, c0, r, nz, last, inv + i0, out + i0 * ldo,
                     ldo);
    }
  }
}

TARGET void
ts_cpu_attention_rows_avx512 (const float *q, int64_t ldq, int64_t nq, const float *kt,
                              int64_t nk, int64_t nkp, int64_t d, const float *v, int64_t ldv,
                              int64_t dv, float scale, float *s, float *out, int64_t ldo)
{
  for (int64_t i0 = 0; i0 < nq; i0 += MR) {
    int mr = (int) MIN ((int64_t) MR, nq - i0);
    float inv[MR];
    scores (q + i0 * ldq, ldq, mr, kt, nkp, nk, d, scale, s, inv);
    values (s, nkp, mr, nk, v, ldv, dv, inv, out + i0 * ldo, ldo);
  }
}

#else

void
ts_cpu_attention_rows_avx512 (const float *q, int64_t ldq, int64_t nq, const float *kt,
                              int64_t nk, int64_t nkp, int64_t d, const float *v, int64_t ldv,
                              int64_t dv, float scale, float *s, float *out, int64_t ldo)
{
  g_assert_not_reached (); /* cpu-dispatch.c never allows AVX-512 rows off x86-64 */
}

#endif
