/* cpu-exp512.h — exp of 16 floats with AVX-512, the one polynomial that SOFTMAX
 * (cpu-softmax.c) and the fused attention rows (cpu-attention-avx512.c, -bf16.c) share, with
 * ts_cpu_expf's range reduction and constants; and the 16-lane mask of a tail those rows
 * share. Internal to compute/cpu/. */
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#define TS_CPU_TARGET_AVX512 __attribute__ ((target ("avx512f,avx512bw,avx512vl")))

/* ts_cpu_expf's constants */
#define TS_CPU_EXP_LO -86.6f
#define TS_CPU_EXP_HI 88.72f
#define TS_CPU_LOG2E 1.44269504088896341f
#define TS_CPU_ROUND_MAGIC 12582912.0f
#define TS_CPU_LN2_HI 0.693359375f
#define TS_CPU_LN2_LO -2.12194440e-4f

/* The lanes [0, n) of 16: all for n >= 16, none for n <= 0. */
TS_CPU_TARGET_AVX512 static inline __mmask16
ts_cpu_tail_mask16 (int64_t n)
{
  return n >= 16 ? (__mmask16) 0xffff : n <= 0 ? 0 : (__mmask16) ((1u << n) - 1);
}

TS_CPU_TARGET_AVX512 static inline __m512
ts_cpu_exp512 (__m512 x)
{
#define S1 _mm512_set1_ps
  __m512 xc = _mm512_min_ps (S1 (TS_CPU_EXP_HI), _mm512_max_ps (S1 (TS_CPU_EXP_LO), x));
  __m512 n = _mm512_sub_ps (_mm512_fmadd_ps (xc, S1 (TS_CPU_LOG2E), S1 (TS_CPU_ROUND_MAGIC)),
                            S1 (TS_CPU_ROUND_MAGIC));
  __m512 r = _mm512_fmadd_ps (n, S1 (-TS_CPU_LN2_HI), xc);
  r = _mm512_fmadd_ps (n, S1 (-TS_CPU_LN2_LO), r);
  __m512 p = S1 (1.0f / 5040);
  p = _mm512_fmadd_ps (p, r, S1 (1.0f / 720));
  p = _mm512_fmadd_ps (p, r, S1 (1.0f / 120));
  p = _mm512_fmadd_ps (p, r, S1 (1.0f / 24));
  p = _mm512_fmadd_ps (p, r, S1 (1.0f / 6));
  p = _mm512_fmadd_ps (p, r, S1 (0.5f));
  p = _mm512_fmadd_ps (p, r, S1 (1.0f));
  p = _mm512_fmadd_ps (p, r, S1 (1.0f));
  __m512i e = _mm512_slli_epi32 (_mm512_add_epi32 (_mm512_cvtps_epi32 (n), _mm512_set1_epi32 (126)), 23);
  __m512 y = _mm512_mul_ps (_mm512_mul_ps (p, _mm512_castsi512_ps (e)), S1 (2.0f));
  y = _mm512_mask_blend_ps (_mm512_cmp_ps_mask (x, S1 (TS_CPU_EXP_LO), _CMP_LT_OQ), y, S1 (0.0f));
  return _mm512_mask_blend_ps (_mm512_cmp_ps_mask (x, S1 (TS_CPU_EXP_HI), _CMP_GT_OQ), y,
                               S1 (INFINITY));
#undef S1
}

#endif
