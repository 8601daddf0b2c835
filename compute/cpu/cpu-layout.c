/* cpu-layout.c — COPY (any strides, any dtype pair), FILL (any strides), UPSAMPLE_NEAREST_2X,
 * EMBEDDING. The front-end builds permute, pad and concat out of COPY and FILL on views, so
 * COPY is the one that must be fast on transposes: those go through small square tiles
 * that stay in L1 while both sides are walked. */
#include "cpu-util.h"

#if defined(__AVX__)
#include <immintrin.h>
#endif

#define CHUNK 8192 /* elements per work item of row copies */
#define TILE 32    /* edge of a transpose tile */

/* ---- strided loops ---- */

/* Up to 4 nested loops over a shape, with the strides of a destination and a source;
 * loop ndim − 1 is innermost. */
typedef struct {
  int     ndim;
  int64_t shape[TS_MAX_DIMS];
  int64_t sd[TS_MAX_DIMS], ss[TS_MAX_DIMS];
} Loops;

/* Drop size-1 dimensions and merge neighbours both sides walk contiguously. */
static void
loops_init (Loops *l, const TsTensor *dst, const TsTensor *src)
{
  l->ndim = 0;
  for (int i = 0; i < dst->ndim; i++) {
    if (dst->shape[i] == 1)
      continue;
    int64_t ss = src ? src->stride[i] : 0;
    int j = l->ndim - 1;
    if (j >= 0 && l->sd[j] == dst->stride[i] * dst->shape[i] && l->ss[j] == ss * dst->shape[i]) {
      l->shape[j] *= dst->shape[i];
      l->sd[j] = dst->stride[i];
      l->ss[j] = ss;
      continue;
    }
    l->shape[++j] = dst->shape[i];
    l->sd[j] = dst->stride[i];
    l->ss[j] = ss;
    l->ndim = j + 1;
  }
  if (l->ndim == 0) {
    l->ndim = 1;
    l->shape[0] = 1;
    l->sd[0] = l->ss[0] = 1;
  }
}

/* Offsets (in elements) of outer index `idx` over loops [0, upto), skipping loop `skip`. */
static void
loops_offsets (const Loops *l, int upto, int skip, int64_t idx, int64_t *od, int64_t *os)
{
  *od = *os = 0;
  for (int i = upto - 1; i >= 0; i--) {
    if (i == skip)
      continue;
    int64_t k = idx % l->shape[i];
    idx /= l->shape[i];
    *od += k * l->sd[i];
    *os += k * l->ss[i];
  }
}

/* n elements of es bytes from s (stride ss elements) to d (stride sd). */
static void
copy_elems (char *d, int64_t sd, const char *s, int64_t ss, int64_t n, size_t es)
{
  if (sd == 1 && ss == 1) {
    memcpy (d, s, n * es);
    return;
  }
  switch (es) {
#define STRIDED(T)                                                   \
  do {                                                               \
    T *dt = (T *) d;                                                 \
    const T *st = (const T *) s;                                     \
    for (int64_t i = 0; i < n; i++)                                  \
      dt[i * sd] = st[i * ss];                                       \
  } while (0)
  case 1: STRIDED (uint8_t); break;
  case 2: STRIDED (uint16_t); break;
  case 4: STRIDED (uint32_t); break;
  default: STRIDED (uint64_t); break;
#undef STRIDED
  }
}

/* Dtype conversion of n dense elements; f16/bf16 → f32 through the fast paths. */
static void
convert_dense (const void *s, TsDType sdt, void *d, TsDType ddt, size_t n)
{
  if (ddt == TS_DTYPE_F32 && (sdt == TS_DTYPE_F16 || sdt == TS_DTYPE_BF16))
    ts_cpu_to_f32 (s, sdt, d, n);
  else
    ts_convert (s, sdt, d, ddt, n);
}

/* ---- copy ---- */

/* One run of the innermost loop, converting through dense bounce buffers when strided. */
static void
copy_run (char *d, int64_t sd, TsDType ddt, const char *s, int64_t ss, TsDType sdt, int64_t n)
{
  size_t des = ts_dtype_size (ddt), ses = ts_dtype_size (sdt);
  if (ddt == sdt) {
    copy_elems (d, sd, s, ss, n, des);
    return;
  }
  if (sd == 1 && ss == 1) {
    convert_dense (s, sdt, d, ddt, (size_t) n);
    return;
  }
  guint64 sbuf[256], dbuf[256]; /* 256 elements of up to 8 bytes */
  for (int64_t i = 0; i < n; i += 256) {
    int64_t m = MIN (256, n - i);
    copy_elems ((char *) sbuf, 1, s + i * ss * ses, ss, m, ses);
    convert_dense (sbuf, sdt, dbuf, ddt, (size_t) m);
    copy_elems (d + i * sd * des, sd, (const char *) dbuf, 1, m, des);
  }
}

static void
copy_rows (TsBackend *be, const Loops *l, char *d, TsDType ddt, const char *s, TsDType sdt)
{
  int last = l->ndim - 1;
  int64_t cols = l->shape[last], rows = 1;
  for (int i = 0; i < last; i++)
    rows *= l->shape[i];
  int64_t per_row = (cols + CHUNK - 1) / CHUNK, items = rows * per_row;
  size_t des = ts_dtype_size (ddt), ses = ts_dtype_size (sdt);
  int nt = ts_cpu_threads_for (be, (double) rows * cols);
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t it = 0; it < items; it++) {
    int64_t row = it / per_row, c0 = (it % per_row) * CHUNK, od, os;
    loops_offsets (l, last, -1, row, &od, &os);
    od += c0 * l->sd[last];
    os += c0 * l->ss[last];
    copy_run (d + od * des, l->sd[last], ddt, s + os * ses, l->ss[last], sdt,
              MIN (CHUNK, cols - c0));
  }
}

/* in × jn block of 4-byte elements: dst[j·dj + i] = src[i·si + j]. */
static void
transpose_block32 (uint32_t *dst, int64_t dj, const uint32_t *src, int64_t si, int64_t in,
                   int64_t jn)
{
  /* walk the side with the larger stride in the outer loop: the inner loop then touches
   * lines a short stride apart rather than a long one, which with power-of-two strides
   * all fall in one cache set */
  if (si > dj) {
    for (int64_t i = 0; i < in; i++)
      for (int64_t j = 0; j < jn; j++)
        dst[j * dj + i] = src[i * si + j];
  } else {
    for (int64_t j = 0; j < jn; j++)
      for (int64_t i = 0; i < in; i++)
        dst[j * dj + i] = src[i * si + j];
  }
}

#if defined(__AVX__)
/* 8×8 floats: row k of src becomes column k of dst, in registers. */
static inline void
transpose8x8 (float *dst, int64_t dj, const float *src, int64_t si)
{
  __m256 r0 = _mm256_loadu_ps (src), r1 = _mm256_loadu_ps (src + si);
  __m256 r2 = _mm256_loadu_ps (src + 2 * si), r3 = _mm256_loadu_ps (src + 3 * si);
  __m256 r4 = _mm256_loadu_ps (src + 4 * si), r5 = _mm256_loadu_ps (src + 5 * si);
  __m256 r6 = _mm256_loadu_ps (src + 6 * si), r7 = _mm256_loadu_ps (src + 7 * si);
  /* pairs of rows interleaved, then quads, then the 128-bit halves exchanged */
  __m256 t0 = _mm256_unpacklo_ps (r0, r1), t1 = _mm256_unpackhi_ps (r0, r1);
  __m256 t2 = _mm256_unpacklo_ps (r2, r3), t3 = _mm256_unpackhi_ps (r2, r3);
  __m256 t4 = _mm256_unpacklo_ps (r4, r5), t5 = _mm256_unpackhi_ps (r4, r5);
  __m256 t6 = _mm256_unpacklo_ps (r6, r7), t7 = _mm256_unpackhi_ps (r6, r7);
  __m256 u0 = _mm256_shuffle_ps (t0, t2, _MM_SHUFFLE (1, 0, 1, 0));
  __m256 u1 = _mm256_shuffle_ps (t0, t2, _MM_SHUFFLE (3, 2, 3, 2));
  __m256 u2 = _mm256_shuffle_ps (t1, t3, _MM_SHUFFLE (1, 0, 1, 0));
  __m256 u3 = _mm256_shuffle_ps (t1, t3, _MM_SHUFFLE (3, 2, 3, 2));
  __m256 u4 = _mm256_shuffle_ps (t4, t6, _MM_SHUFFLE (1, 0, 1, 0));
  __m256 u5 = _mm256_shuffle_ps (t4, t6, _MM_SHUFFLE (3, 2, 3, 2));
  __m256 u6 = _mm256_shuffle_ps (t5, t7, _MM_SHUFFLE (1, 0, 1, 0));
  __m256 u7 = _mm256_shuffle_ps (t5, t7, _MM_SHUFFLE (3, 2, 3, 2));
  _mm256_storeu_ps (dst, _mm256_permute2f128_ps (u0, u4, 0x20));
  _mm256_storeu_ps (dst + dj, _mm256_permute2f128_ps (u1, u5, 0x20));
  _mm256_storeu_ps (dst + 2 * dj, _mm256_permute2f128_ps (u2, u6, 0x20));
  _mm256_storeu_ps (dst + 3 * dj, _mm256_permute2f128_ps (u3, u7, 0x20));
  _mm256_storeu_ps (dst + 4 * dj, _mm256_permute2f128_ps (u0, u4, 0x31));
  _mm256_storeu_ps (dst + 5 * dj, _mm256_permute2f128_ps (u1, u5, 0x31));
  _mm256_storeu_ps (dst + 6 * dj, _mm256_permute2f128_ps (u2, u6, 0x31));
  _mm256_storeu_ps (dst + 7 * dj, _mm256_permute2f128_ps (u3, u7, 0x31));
}
#endif

/* A tile of 4-byte elements: whole 8×8 blocks in registers where the ISA allows, the
 * ragged edges element by element. */
static void
transpose_tile32 (uint32_t *dst, int64_t dj, const uint32_t *src, int64_t si, int64_t in,
                  int64_t jn)
{
  int64_t i8 = 0, j8 = 0;
#if defined(__AVX__)
  i8 = in - in % 8;
  j8 = jn - jn % 8;
  for (int64_t i = 0; i < i8; i += 8)
    for (int64_t j = 0; j < j8; j += 8)
      transpose8x8 ((float *) (dst + j * dj + i), dj, (const float *) (src + i * si + j), si);
#endif
  if (j8 < jn) /* columns past the last whole block, all rows */
    transpose_block32 (dst + j8 * dj, dj, src + j8, si, in, jn - j8);
  if (i8 < in) /* rows past the last whole block, the block columns */
    transpose_block32 (dst + i8, dj, src + i8 * si, si, in - i8, j8);
}

/* Same dtype, dst dense along loop `di` (the innermost) and src dense along loop `si`:
 * copy TILE×TILE blocks so both sides touch whole cache lines. */
static void
copy_transpose (TsBackend *be, const Loops *l, int si, char *d, const char *s, size_t es)
{
  int di = l->ndim - 1;
  int64_t ni = l->shape[di], nj = l->shape[si];
  int64_t ti = (ni + TILE - 1) / TILE, tj = (nj + TILE - 1) / TILE, outer = 1;
  for (int i = 0; i < di; i++)
    if (i != si)
      outer *= l->shape[i];
  int64_t items = outer * tj * ti, dj = l->sd[si], sii = l->ss[di];
  int nt = ts_cpu_threads_for (be, (double) outer * ni * nj);
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t it = 0; it < items; it++) {
    int64_t o = it / (tj * ti), j0 = ((it / ti) % tj) * TILE, i0 = (it % ti) * TILE, od, os;
    loops_offsets (l, di, si, o, &od, &os);
    int64_t jn = MIN (TILE, nj - j0), in = MIN (TILE, ni - i0);
    if (es == 4) {
      transpose_tile32 ((uint32_t *) d + od + j0 * dj + i0, dj,
                        (const uint32_t *) s + os + j0 + i0 * sii, sii, in, jn);
    } else {
      for (int64_t j = 0; j < jn; j++)
        copy_elems (d + (od + (j0 + j) * dj + i0) * es, 1,
                    s + (os + j0 + j + i0 * sii) * es, sii, in, es);
    }
  }
}

static gboolean
op_copy (TsBackend *be, const TsOp *op)
{
  const TsTensor *src = op->src[0], *dst = op->dst;
  Loops l;
  loops_init (&l, dst, src);
  char *d = ts_cpu_tensor_data (dst);
  const char *s = ts_cpu_tensor_data (src);
  int last = l.ndim - 1;
  /* A transpose: dst is dense innermost, src is dense along another loop. */
  if (src->dtype == dst->dtype && l.sd[last] == 1 && l.ss[last] != 1) {
    for (int i = 0; i < last; i++)
      if (l.ss[i] == 1 && l.shape[last] >= 4) {
        copy_transpose (be, &l, i, d, s, ts_dtype_size (dst->dtype));
        return TRUE;
      }
  }
  copy_rows (be, &l, d, dst->dtype, s, src->dtype);
  return TRUE;
}

/* ---- fill ---- */

static gboolean
op_fill (TsBackend *be, const TsOp *op)
{
  const TsTensor *dst = op->dst;
  guint64 value = 0;
  float f = op->p.fill_value;
  ts_convert (&f, TS_DTYPE_F32, &value, dst->dtype, 1);
  size_t es = ts_dtype_size (dst->dtype);
  Loops l;
  loops_init (&l, dst, NULL);
  int last = l.ndim - 1;
  int64_t cols = l.shape[last], rows = 1, sd = l.sd[last];
  for (int i = 0; i < last; i++)
    rows *= l.shape[i];
  int64_t per_row = (cols + CHUNK - 1) / CHUNK, items = rows * per_row;
  char *base = ts_cpu_tensor_data (dst);
  int nt = ts_cpu_threads_for (be, (double) rows * cols);
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t it = 0; it < items; it++) {
    int64_t row = it / per_row, c0 = (it % per_row) * CHUNK, od, os;
    loops_offsets (&l, last, -1, row, &od, &os);
    char *p = base + (od + c0 * sd) * es;
    int64_t n = MIN (CHUNK, cols - c0);
    switch (es) {
#define FILL(T)                                            \
  do {                                                     \
    T v;                                                   \
    memcpy (&v, &value, sizeof v);                         \
    for (int64_t i = 0; i < n; i++)                        \
      ((T *) p)[i * sd] = v;                               \
  } while (0)
    case 1: FILL (uint8_t); break;
    case 2: FILL (uint16_t); break;
    case 4: FILL (uint32_t); break;
    default: FILL (uint64_t); break;
#undef FILL
    }
  }
  return TRUE;
}

/* ---- nearest 2× upsampling ---- */

static gboolean
op_upsample (TsBackend *be, const TsOp *op)
{
  const TsTensor *x = op->src[0];
  const float *xp = ts_cpu_tensor_data (x);
  float *y = ts_cpu_tensor_data (op->dst);
  int64_t rows = x->shape[0] * x->shape[1] * x->shape[2], w = x->shape[3];
  int nt = ts_cpu_threads_for (be, 4.0 * rows * w);
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t r = 0; r < rows; r++) {
    const float *in = xp + r * w;
    float *o0 = y + r * 4 * w, *o1 = o0 + 2 * w;
#pragma omp simd
    for (int64_t j = 0; j < w; j++) {
      o0[2 * j] = in[j];
      o0[2 * j + 1] = in[j];
    }
    memcpy (o1, o0, 2 * w * sizeof (float));
  }
  return TRUE;
}

/* ---- embedding ---- */

static gboolean
op_embedding (TsBackend *be, const TsOp *op, GError **error)
{
  const TsTensor *table = op->src[0], *ids = op->src[1];
  int64_t v = table->shape[0], dim = table->shape[1], n = ts_tensor_numel (ids);
  const void *idp = ts_cpu_tensor_data (ids);
  gboolean wide = ids->dtype == TS_DTYPE_I64;
  /* every id is checked before anything is written */
  for (int64_t i = 0; i < n; i++) {
    int64_t id = wide ? ((const int64_t *) idp)[i] : ((const int32_t *) idp)[i];
    if (id < 0 || id >= v) {
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                   "embedding id %" G_GINT64_FORMAT " at position %" G_GINT64_FORMAT
                   " is outside the table's %" G_GINT64_FORMAT " rows", id, i, v);
      return FALSE;
    }
  }
  const char *tp = ts_cpu_tensor_data (table);
  size_t es = ts_dtype_size (table->dtype);
  float *y = ts_cpu_tensor_data (op->dst);
  int nt = ts_cpu_threads_for (be, 2.0 * n * dim);
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t i = 0; i < n; i++) {
    int64_t id = wide ? ((const int64_t *) idp)[i] : ((const int32_t *) idp)[i];
    ts_cpu_to_f32 (tp + (size_t) (id * dim) * es, table->dtype, y + i * dim, (size_t) dim);
  }
  return TRUE;
}

gboolean
ts_cpu_op_layout (TsBackend *be, const TsOp *op, GError **error)
{
  switch (op->kind) {
  case TS_OP_COPY:
    return op_copy (be, op);
  case TS_OP_FILL:
    return op_fill (be, op);
  case TS_OP_UPSAMPLE_NEAREST_2X:
    return op_upsample (be, op);
  case TS_OP_EMBEDDING:
    return op_embedding (be, op, error);
  default:
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "layout: unexpected op %s",
                 ts_op_name (op->kind));
    return FALSE;
  }
}
