/* cpu-attention.h — the fused AVX-512 attention rows (cpu-attention-avx512.c) that
 * cpu-attention.c runs where cpu-dispatch.c allows AVX-512 rows. Internal to compute/cpu/. */
#pragma once

#include "cpu-util.h"

G_BEGIN_DECLS

/* kt[c, j] = k[j, c] for c < d, j < nk (row stride ldk), zero for nk <= j < nkp; nkp a
 * multiple of 16. */
void ts_cpu_attention_pack_keys (const float *k, int64_t ldk, int64_t nk, int64_t d, float *kt,
                                 int64_t nkp);

/* Query rows the fused rows take at a time: their scores are the scratch. */
#define TS_CPU_ATTENTION_ROWS 8

/* out[i, :dv] = softmax_j (scale · q[i, :]·kt[:, j]) · v[j, :dv] for i < nq, j < nk; s is
 * scratch of TS_CPU_ATTENTION_ROWS × nkp floats. Row strides ldq, ldv, ldo. */
void ts_cpu_attention_rows_avx512 (const float *q, int64_t ldq, int64_t nq, const float *kt,
                                   int64_t nk, int64_t nkp, int64_t d, const float *v,
                                   int64_t ldv, int64_t dv, float scale, float *s, float *out,
                                   int64_t ldo);

/* The bf16 form of the rows (cpu-attention-bf16.c, VDPBF16PS): k [nk, d] as pairs of
 * dimensions kt [d/2][nkp][2] and v [nk, dv] as pairs of keys vp [nkp/2][dv][2], both
 * rounded to bf16 and zero past nk; d even, nkp a multiple of 16; `row` is nk·d values of
 * scratch. */
void ts_cpu_attention_pack_bf16 (const float *k, int64_t ldk, const float *v, int64_t ldv,
                                 int64_t nk, int64_t nkp, int64_t d, int64_t dv, uint16_t *kt,
                                 uint16_t *vp, uint16_t *row);
/* As ts_cpu_attention_rows_avx512 with the packed bf16 keys and values; scratch s of
 * TS_CPU_ATTENTION_ROWS × nkp floats, q16 of TS_CPU_ATTENTION_ROWS × d and p16 of
 * TS_CPU_ATTENTION_ROWS × nkp bf16 values. */
void ts_cpu_attention_rows_bf16 (const float *q, int64_t ldq, int64_t nq, const uint16_t *kt,
                                 int64_t nk, int64_t nkp, int64_t d, const uint16_t *vp,
                                 int64_t dv, float scale, float *s, uint16_t *q16,
                                 uint16_t *p16, float *out, int64_t ldo);

/* Which attention kernel runs now (`tessera-cli info`). */
const char *ts_cpu_attention_kernel_name (void);

G_END_DECLS
