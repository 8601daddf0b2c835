/* cpu-pack.c — weights and activations into the reduced-precision forms of cpu-precision.h.
 * The same rounding serves weights (once, when packed) and activations (every product), so
 * the tests' references can follow it exactly. */
#include "cpu-precision.h"

#include <omp.h>
#include <stdlib.h>

#if defined(__x86_64__) && defined(__GNUC__) && (__GNUC__ >= 11 || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_ROWS 1
#define TARGET_AVX2 __attribute__ ((target ("avx2,fma")))

/* Activations are prepared for every product, and a convolution's rows are its im2col
 * expansion (kernel area × the input): one value at a time (libm calls for fmaxf,
 * nearbyintf) cost more than the int8 product itself. These AVX2 forms give the same bits
 * as the scalar ones below (same operations in the same order, each correctly rounded);
 * the CPUs with the dot-product kernels all have AVX2. */
/* ts_f32_to_bf16 on 8 values: round to nearest even on the bits, NaN kept quiet. */
TARGET_AVX2 static inline __m256i
bf16_bits8 (const float *x)
{
  __m256i u = _mm256_loadu_si256 ((const __m256i *) x);
  __m256i nan = _mm256_cmpgt_epi32 (_mm256_and_si256 (u, _mm256_set1_epi32 (0x7fffffff)),
                                    _mm256_set1_epi32 (0x7f800000));
  __m256i odd = _mm256_and_si256 (_mm256_srli_epi32 (u, 16), _mm256_set1_epi32 (1));
  __m256i r = _mm256_srli_epi32 (_mm256_add_epi32 (u, _mm256_add_epi32 (odd,
                                                   _mm256_set1_epi32 (0x7fff))), 16);
  __m256i q = _mm256_or_si256 (_mm256_srli_epi32 (u, 16), _mm256_set1_epi32 (0x40));
  return _mm256_blendv_epi8 (r, q, nan);
}

TARGET_AVX2 static int64_t
row_to_bf16_avx2 (const float *x, int64_t k, uint16_t *out)
{
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    /* packus keeps each 128-bit lane's order: [a0-3 b0-3 a4-7 b4-7] → 0213 */
    __m256i p = _mm256_packus_epi32 (bf16_bits8 (x + i), bf16_bits8 (x + i + 8));
    _mm256_storeu_si256 ((__m256i *) (out + i), _mm256_permute4x64_epi64 (p, 0xd8));
  }
  return i;
}

/* The largest |x| of a full block as its bits (integer order is float order for |x|, so
 * the integer maximum is max|x| exactly; ≥ 0x7f800000 means an infinity or NaN). */
TARGET_AVX2 static uint32_t
block_amax_bits_avx2 (const float *x)
{
  __m256i absmask = _mm256_set1_epi32 (0x7fffffff), m = _mm256_setzero_si256 ();
  for (int i = 0; i < TS_CPU_QBLOCK; i += 8)
    m = _mm256_max_epi32 (m, _mm256_and_si256 (_mm256_loadu_si256 ((const __m256i *) (x + i)),
                                               absmask));
  __m128i h = _mm_max_epi32 (_mm256_castsi256_si128 (m), _mm256_extracti128_si256 (m, 1));
  h = _mm_max_epi32 (h, _mm_shuffle_epi32 (h, 0x4e));
  h = _mm_max_epi32 (h, _mm_shuffle_epi32 (h, 0xb1));
  return (uint32_t) _mm_cvtsi128_si32 (h);
}

/* What a full block needs: the scalar code (an infinity or NaN, or 127/max not finite: max
 * below about 3.7e-37), nothing more (all zero: u = 128 and scale 0 written here), or the
 * vector path with *r = 127/max (scale written). */
typedef enum { BLOCK_SCALAR, BLOCK_DONE, BLOCK_VECTOR } BlockPath;

TARGET_AVX2 static BlockPath
block_path (const float *x, uint8_t *u, float *scale, float *r)
{
  uint32_t bits = block_amax_bits_avx2 (x);
  if (bits >= 0x7f800000u)
    return BLOCK_SCALAR;
  if (bits == 0) {
    memset (u, 128, TS_CPU_QBLOCK);
    *scale = 0.0f;
    return BLOCK_DONE;
  }
  float amax;
  memcpy (&amax, &bits, sizeof amax);
  *r = 127.0f / amax;
  if (!isfinite (*r))
    return BLOCK_SCALAR;
  *scale = amax / 127.0f;
  return BLOCK_VECTOR;
}

/* One full block of TS_CPU_QBLOCK values into u = q + 128, as quantise_block does; FALSE
 * (nothing written) for a block the scalar code must handle (block_path). */
TARGET_AVX2 static gboolean
quantise_block_u8_avx2 (const float *x, uint8_t *u, float *scale)
{
  float r = 0.0f;
  BlockPath path = block_path (x, u, scale, &r);
  if (path != BLOCK_VECTOR)
    return path == BLOCK_DONE;
  __m256 vr = _mm256_set1_ps (r), k127 = _mm256_set1_ps (127.0f), lo = _mm256_set1_ps (-127.0f);
  __m256i perm = _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7), bias = _mm256_set1_epi8 ((char) 0x80);
  for (int i = 0; i < TS_CPU_QBLOCK; i += 32) {
    __m256i q[4];
    for (int j = 0; j < 4; j++) {
      __m256 t = _mm256_mul_ps (_mm256_loadu_ps (x + i + 8 * j), vr);
      t = _mm256_round_ps (t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q[j] = _mm256_cvtps_epi32 (_mm256_min_ps (k127, _mm256_max_ps (lo, t)));
    }
    /* packs interleave the 128-bit lanes: [a0-3 b0-3 c0-3 d0-3 | a4-7 …], dwords 04152637 */
    __m256i p = _mm256_packs_epi16 (_mm256_packs_epi32 (q[0], q[1]), _mm256_packs_epi32 (q[2], q[3]));
    p = _mm256_permutevar8x32_epi32 (p, perm);
    _mm256_storeu_si256 ((__m256i *) (u + i), _mm256_xor_si256 (p, bias));
  }
  return TRUE;
}

/* The same with 16 values a vector (a third of the AVX2 form's instructions: the
 * activations of every int8 product pass here, 8 % of an int8 generation before). */
#define TARGET_AVX512 __attribute__ ((target ("avx2,fma,avx512f,avx512bw,avx512vl")))

TARGET_AVX512 static gboolean
quantise_block_u8_avx512 (const float *x, uint8_t *u, float *scale)
{
  float r = 0.0f;
  BlockPath path = block_path (x, u, scale, &r);
  if (path != BLOCK_VECTOR)
    return path == BLOCK_DONE;
  __m512 vr = _mm512_set1_ps (r);
  __m512i k127 = _mm512_set1_epi32 (127), lo = _mm512_set1_epi32 (-127);
  __m128i bias = _mm_set1_epi8 ((char) 0x80);
  for (int i = 0; i < TS_CPU_QBLOCK; i += 16) {
    /* round to nearest even (the default rounding, as nearbyintf), then clamp */
    __m512i q = _mm512_cvt_roundps_epi32 (_mm512_mul_ps (_mm512_loadu_ps (x + i), vr),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_min_epi32 (k127, _mm512_max_epi32 (lo, q));
    _mm_storeu_si128 ((__m128i *) (u + i), _mm_xor_si128 (_mm512_cvtepi32_epi8 (q), bias));
  }
  return TRUE;
}

/* dst[(c0 + i) · ldd + j] = row[j][c0 + i] for i, j < 8: one 8×8 block of eight rows. */
TARGET_AVX2 static inline void
transpose8_avx2 (const float *const row[8], int64_t c0, float *dst, int64_t ldd)
{
  __m256 v[8], t[8];
  for (int i = 0; i < 8; i++)
    v[i] = _mm256_loadu_ps (row[i] + c0);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps (v[i], v[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps (v[i], v[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    v[i] = _mm256_shuffle_ps (t[i], t[i + 2], 0x44);
    v[i + 1] = _mm256_shuffle_ps (t[i], t[i + 2], 0xee);
    v[i + 2] = _mm256_shuffle_ps (t[i + 1], t[i + 3], 0x44);
    v[i + 3] = _mm256_shuffle_ps (t[i + 1], t[i + 3], 0xee);
  }
  /* v0..3 hold columns 0,1,2,3 | 4,5,6,7 of rows 0–3, v4..7 of rows 4–7 */
  for (int i = 0; i < 4; i++) {
    _mm256_storeu_ps (dst + (c0 + i) * ldd, _mm256_permute2f128_ps (v[i], v[i + 4], 0x20));
    _mm256_storeu_ps (dst + (c0 + i + 4) * ldd, _mm256_permute2f128_ps (v[i], v[i + 4], 0x31));
  }
}

/* 8×8 blocks of src [rows, cols] into dst [cols, rows]; returns how far it got along
 * each side (multiples of 8). The blocks go along the side with the longer stride: eight
 * rows of NCHW planes at a time, rather than one block in each of hundreds of planes
 * (planes of 256×256 floats lie 256 KiB apart, all in one set of L1 and of L2: measured at
 * aMUSEd-256's VQ decode, a convolution's write-back took 12 % of the decode in the other
 * order). */
TARGET_AVX2 static void
transpose_avx2 (const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst,
                int64_t ldd, int64_t *rows8, int64_t *cols8)
{
  *rows8 = rows - rows % 8;
  *cols8 = cols - cols % 8;
  const float *row[8];
  if (ldd > lds) {
    for (int64_t c0 = 0; c0 < *cols8; c0 += 8)
      for (int64_t r0 = 0; r0 < *rows8; r0 += 8) {
        for (int i = 0; i < 8; i++)
          row[i] = src + (r0 + i) * lds;
        transpose8_avx2 (row, c0, dst + r0, ldd);
      }
    return;
  }
  for (int64_t r0 = 0; r0 < *rows8; r0 += 8) {
    for (int i = 0; i < 8; i++)
      row[i] = src + (r0 + i) * lds;
    for (int64_t c0 = 0; c0 < *cols8; c0 += 8)
      transpose8_avx2 (row, c0, dst + r0, ldd);
  }
}
#endif

void
ts_cpu_transpose_f32 (const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst,
                      int64_t ldd)
{
  int64_t rows8 = 0, cols8 = 0;
#ifdef HAVE_AVX2_ROWS
  if (ts_cpu_has_avx2 ())
    transpose_avx2 (src, rows, cols, lds, dst, ldd, &rows8, &cols8);
#endif
  /* what the blocks left: the columns past cols8 of every row, the rows past rows8 */
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = r < rows8 ? cols8 : 0; c < cols; c++)
      dst[c * ldd + r] = src[r * lds + c];
}

void
ts_cpu_row_to_bf16 (const float *x, int64_t k, int64_t kp, uint16_t *out)
{
  int64_t i = 0;
#ifdef HAVE_AVX2_ROWS
  if (ts_cpu_has_avx2 ())
    i = row_to_bf16_avx2 (x, k, out);
#endif
  for (; i < k; i++)
    out[i] = ts_f32_to_bf16 (x[i]);
  for (i = k; i < kp; i++)
    out[i] = 0;
}

void
ts_cpu_pairs_to_bf16_tile (const uint16_t *const row[TS_CPU_BF16_ROWS], int64_t pairs,
                           uint16_t *tile)
{
  G_STATIC_ASSERT (TS_CPU_BF16_ROWS == 8);
  /* a pair is 32 bits: move them as floats (the shuffles never look at the bits) */
  const float *r32[8];
  for (int i = 0; i < 8; i++)
    r32[i] = (const float *) row[i];
  float *t32 = (float *) tile;
  int64_t p = 0;
#ifdef HAVE_AVX2_ROWS
  if (ts_cpu_has_avx2 ())
    for (; p + 8 <= pairs; p += 8)
      transpose8_avx2 (r32, p, t32, 8);
#endif
  for (; p < pairs; p++)
    for (int r = 0; r < 8; r++)
      memcpy (t32 + p * 8 + r, r32[r] + p, sizeof (float));
}

void
ts_cpu_rows_to_bf16_tile (const float *x, int64_t lda, int64_t rows, int64_t k, int64_t kp,
                          uint16_t *scratch, uint16_t *tile)
{
  const uint16_t *row[TS_CPU_BF16_ROWS];
  for (int64_t r = 0; r < TS_CPU_BF16_ROWS; r++) {
    /* the rows past `rows` repeat the last one: the kernel never stores their sums */
    row[r] = scratch + MIN (r, rows - 1) * kp;
    if (r < rows)
      ts_cpu_row_to_bf16 (x + r * lda, k, kp, scratch + r * kp);
  }
  ts_cpu_pairs_to_bf16_tile (row, kp / 2, tile);
}

/* One block: scale = max|x|/127 and q = round(x · (127/max)): one product a value (a
 * division each cost more than the rest of the vector forms together). Where 127/max is
 * not finite (max below about 3.7e-37, subnormal blocks) q = round(x/max · 127), dividing
 * by the maximum first so that such blocks round the same way as ordinary ones. An
 * all-zero block has scale 0 and q 0. */
static float
quantise_block (const float *x, int64_t len, int8_t *q)
{
  float amax = 0.0f;
  for (int64_t i = 0; i < len; i++)
    amax = fmaxf (amax, fabsf (x[i]));
  if (!(amax > 0.0f) || !isfinite (amax)) {
    memset (q, 0, (size_t) len);
    return isfinite (amax) ? 0.0f : amax;
  }
  float r = 127.0f / amax;
  for (int64_t i = 0; i < len; i++) {
    float v = nearbyintf (isfinite (r) ? x[i] * r : x[i] / amax * 127.0f);
    q[i] = (int8_t) fminf (127.0f, fmaxf (-127.0f, v));
  }
  return amax / 127.0f;
}

#ifdef HAVE_AVX2_ROWS
typedef gboolean (*BlockQuantiser) (const float *x, uint8_t *u, float *scale);

/* The vector form of a full block this CPU (and the kernel choice) takes; NULL: scalar. */
static BlockQuantiser
block_quantiser (void)
{
  if (ts_cpu_rows_avx512 ())
    return quantise_block_u8_avx512;
  return ts_cpu_has_avx2 () ? quantise_block_u8_avx2 : NULL;
}
#endif

void
ts_cpu_row_quantise (const float *x, int64_t k, int64_t kp, uint8_t *u, float *scale)
{
  int8_t *q = (int8_t *) u;
  /* VNNI multiplies unsigned by signed bytes: store q + 128 (the kernels take the 128 back
   * out with the weights' per-block offsets) */
#ifdef HAVE_AVX2_ROWS
  BlockQuantiser vector = block_quantiser ();
#endif
  for (int64_t b = 0; b < kp / TS_CPU_QBLOCK; b++) {
    int64_t k0 = b * TS_CPU_QBLOCK, len = MAX (0, MIN (TS_CPU_QBLOCK, k - k0));
#ifdef HAVE_AVX2_ROWS
    if (vector && len == TS_CPU_QBLOCK && vector (x + k0, u + k0, scale + b))
      continue;
    /* a short last block, zero padded: zeros change neither the maximum nor the others' q */
    float tail[TS_CPU_QBLOCK];
    if (vector && len > 0 && len < TS_CPU_QBLOCK) {
      memcpy (tail, x + k0, sizeof (float) * len);
      memset (tail + len, 0, sizeof (float) * (TS_CPU_QBLOCK - len));
      if (vector (tail, u + k0, scale + b))
        continue;
    }
#endif
    scale[b] = quantise_block (x + k0, len, q + k0);
    memset (q + k0 + len, 0, (size_t) (TS_CPU_QBLOCK - len));
    for (int64_t i = k0; i < k0 + TS_CPU_QBLOCK; i++)
      u[i] = (uint8_t) (q[i] + 128);
  }
}

void
ts_cpu_packed_free (TsCpuPacked *p)
{
  if (!p)
    return;
  free (p->bf16);
  free (p->q);
  free (p->scale);
  free (p->offset);
  g_free (p);
}

size_t
ts_cpu_packed_bytes (const TsCpuPacked *p)
{
  int64_t rows = p->groups * p->np * TS_CPU_NR; /* panels padded to 16 rows */
  if (p->precision == TS_PRECISION_BF16)
    return (size_t) (rows * p->kp) * sizeof (uint16_t);
  return (size_t) (rows * p->kp) +
         (sizeof (float) + sizeof (int32_t)) * (size_t) (rows * (p->kp / TS_CPU_QBLOCK));
}

TsCpuPacked
ts_cpu_packed_group (const TsCpuPacked *p, int64_t g)
{
  TsCpuPacked sub = *p;
  int64_t panel = g * p->np;
  sub.n = p->n / p->groups;
  sub.groups = 1;
  if (p->bf16)
    sub.bf16 = p->bf16 + panel * p->kp * TS_CPU_NR;
  if (p->q) {
    int64_t at = ts_cpu_packed_block_index (p, panel, 0);
    sub.q = p->q + panel * p->kp * TS_CPU_NR;
    sub.scale = p->scale + at;
    sub.offset = p->offset + at;
  }
  return sub;
}

TsCpuPacked *
ts_cpu_pack (TsBackend *be, const void *w, TsDType dtype, int64_t n, int64_t k, int64_t groups,
             TsPrecision precision, GError **error)
{
  g_return_val_if_fail (precision != TS_PRECISION_F32, NULL);
  g_return_val_if_fail (groups >= 1 && n % groups == 0, NULL);
  TsCpuPacked *p = g_new0 (TsCpuPacked, 1);
  int64_t pad = precision == TS_PRECISION_BF16 ? TS_CPU_BF16_PAD : TS_CPU_QBLOCK;
  int64_t gn = n / groups;
  p->precision = precision;
  p->n = n;
  p->k = k;
  p->kp = (k + pad - 1) / pad * pad;
  p->groups = groups;
  p->np = (gn + TS_CPU_NR - 1) / TS_CPU_NR;
  int64_t nb = p->kp / TS_CPU_QBLOCK, panels = groups * p->np, kp = p->kp;
  size_t cells = (size_t) (panels * TS_CPU_NR * kp);
  gboolean ok;
  if (precision == TS_PRECISION_BF16) {
    ok = (p->bf16 = ts_cpu_scratch_new (sizeof (uint16_t) * cells, "bf16 weights", error)) != NULL;
  } else {
    ok = (p->q = ts_cpu_scratch_new (cells, "int8 weights", error)) &&
         (p->scale = ts_cpu_scratch_new (sizeof (float) * panels * TS_CPU_NR * nb, "int8 scales",
                                         error)) &&
         (p->offset = ts_cpu_scratch_new (sizeof (int32_t) * panels * TS_CPU_NR * nb,
                                          "int8 scales", error));
  }
  /* per thread: one row as f32, and as bf16 or int8 */
  size_t row_bytes = sizeof (float) * k + sizeof (uint16_t) * kp + sizeof (float) * nb;
  char *rows = ok ? ts_cpu_scratch_new (row_bytes * ts_cpu_backend_threads (be),
                                        "weight packing", error) : NULL;
  if (!rows) {
    ts_cpu_packed_free (p);
    return NULL;
  }
  size_t es = ts_dtype_size (dtype);
  int nt = ts_cpu_threads_for (be, (double) n * k);
  /* a thread per panel: the interleaved panel is written by one thread only */
#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    char *mine = rows + row_bytes * omp_get_thread_num ();
    float *row = (float *) mine;
    uint16_t *r16 = (uint16_t *) (row + k);
    int8_t *rq = (int8_t *) r16;
    float *rs = (float *) (r16 + kp);
#pragma omp for schedule (static)
    for (int64_t P = 0; P < panels; P++) {
      int64_t g = P / p->np, j0 = g * gn + (P % p->np) * TS_CPU_NR;
      for (int64_t c = 0; c < TS_CPU_NR; c++) {
        gboolean real = (P % p->np) * TS_CPU_NR + c < gn; /* else a zero row of padding */
        if (real)
          ts_cpu_to_f32 ((const char *) w + (size_t) ((j0 + c) * k) * es, dtype, row, (size_t) k);
        if (precision == TS_PRECISION_BF16) {
          uint16_t *dst = p->bf16 + P * kp * TS_CPU_NR;
          if (real)
            ts_cpu_row_to_bf16 (row, k, kp, r16);
          else
            memset (r16, 0, sizeof (uint16_t) * kp);
          for (int64_t i = 0; i < kp; i += 2) {
            dst[(i / 2) * 32 + c * 2] = r16[i];
            dst[(i / 2) * 32 + c * 2 + 1] = r16[i + 1];
          }
          continue;
        }
        if (real) {
          /* the activations' vectorised form (same bits as quantise_row), q + 128 → q */
          ts_cpu_row_quantise (row, k, kp, (uint8_t *) rq, rs);
          for (int64_t i = 0; i < kp; i++)
            rq[i] = (int8_t) (((uint8_t *) rq)[i] ^ 0x80);
        } else {
          memset (rq, 0, (size_t) kp);
          memset (rs, 0, sizeof (float) * nb);
        }
        int8_t *dst = p->q + P * kp * TS_CPU_NR;
        for (int64_t i = 0; i < kp; i += 4)
          memcpy (dst + (i / 4) * 64 + c * 4, rq + i, 4);
        for (int64_t b = 0; b < nb; b++) {
          int32_t sum = 0;
          for (int64_t i = 0; i < TS_CPU_QBLOCK; i++)
            sum += rq[b * TS_CPU_QBLOCK + i];
          p->scale[ts_cpu_packed_block_index (p, P, b) + c] = rs[b];
          p->offset[ts_cpu_packed_block_index (p, P, b) + c] = -128 * sum;
        }
      }
    }
  }
  free (rows);
  return p;
}
