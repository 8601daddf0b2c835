/* cpu-conv.c — CONV2D and CONV_TRANSPOSE_2X2.
 *
 * conv2d picks one of three forms per call:
 *  - 1×1, stride 1, no padding: the convolution is a GEMM on the input as it lies;
 *  - few input channels per group (depthwise and the like): direct loops, which beat a
 *    GEMM of inner size 9;
 *  - everything else: im2col over bounded bands of output positions + sgemm. Each thread
 *    builds and multiplies its own bands, so a band is consumed while it is still in that
 *    core's cache.
 * f16/bf16 weights are widened to f32 once per call (weights are small next to activations).
 *
 * A weight its network wants multiplied at bf16 or int8 (cpu-precision.h) takes the packed
 * path instead of the two GEMM forms: the kernel [O, Cg, kh, kw] is, per group, a linear
 * weight [O/groups, taps], packed once like any linear weight; bands of output positions
 * become activation rows [positions, taps] and go through ts_cpu_packed_matmul. Where the
 * kernels read their activations in a form of their own (int8, and bf16 on VDPBF16PS) and
 * the channels allow it, the kernel is packed taps-major instead and the input converted to
 * that form once per pixel (conv_pixels). The direct loops stay f32: they are the small
 * convolutions (depthwise, 3-channel), where packing would buy nothing. */
#include "cpu-precision.h"

#include <cblas.h>
#include <limits.h>
#include <omp.h>

/* Target bytes of one im2col band: a large enough GEMM for sgemm's full rate that still
 * sits in L2/L3 while it is multiplied. */
#define BAND_BYTES (1u << 20)
/* Minimum output positions per band, whatever the band bytes say (sgemm efficiency). */
#define BAND_MIN_COLS 128

/* The packed path: bytes of one band's f32 activation rows (the product adds their bf16 or
 * int8 form and the band's output, both smaller), and the positions per im2col slice that
 * a thread builds and transposes into rows while it is still in L2. */
#define PACKED_BAND_BYTES (1u << 20)
#define PACKED_SLICE      64
/* Below this many multiply-adds per output (input channels per group × kernel area) the
 * direct loops win. */
#define DIRECT_MAX_TAPS 32

typedef struct {
  int64_t n, c, h, w;             /* input */
  int64_t o, oh, ow, kh, kw;      /* output channels and size, kernel size */
  int64_t groups, cg, og, taps;   /* taps = cg·kh·kw, the GEMM inner size */
  TsConv2dParams p;
  const float *x, *wt, *bias;
  float *y;
} Conv;

gboolean
ts_cpu_conv_direct (int64_t taps, int64_t og, gboolean pointwise)
{
  return !pointwise && (taps < DIRECT_MAX_TAPS || og < 4);
}

/* ---- direct ---- */

/* How the direct path cuts its work: output channels per item and output rows per item,
 * so that every thread has several items even for one image with one group (the
 * 3-channel input and output layers of the VQ model take this path too). */
typedef struct {
  int64_t chunk, chunks;  /* output channels per item, items per group */
  int64_t rows, bands;    /* output rows per item, items per channel chunk */
} DirectPlan;

static DirectPlan
direct_plan (const Conv *cv, int nt)
{
  DirectPlan d = { cv->og, 1, cv->oh, 1 };
  int64_t groups = cv->n * cv->groups, want = 4 * nt;
  if (groups >= want)
    return d;
  d.chunks = MIN (cv->og, (want + groups - 1) / groups);
  d.chunk = (cv->og + d.chunks - 1) / d.chunks;
  d.chunks = (cv->og + d.chunk - 1) / d.chunk;
  if (groups * d.chunks < want) {
    d.bands = MIN (cv->oh, (want + groups * d.chunks - 1) / (groups * d.chunks));
    d.rows = (cv->oh + d.bands - 1) / d.bands;
    d.bands = (cv->oh + d.rows - 1) / d.rows;
  }
  return d;
}

/* The input rows that output rows [oy0, oy1) read, of plane ci of image n, into the
 * interior of `pad`: a (h + pad_top + pad_bottom) × pw plane whose zero borders were
 * written once (they never change), so that the tap loops need no bounds checks. */
static void
pad_rows (const Conv *cv, int64_t n, int64_t ci, int64_t oy0, int64_t oy1, float *pad, int64_t pw)
{
  const float *xp = cv->x + (n * cv->c + ci) * cv->h * cv->w;
  float *dst = pad + cv->p.pad_top * pw + cv->p.pad_left;
  int64_t y0 = MAX (0, oy0 * cv->p.stride_y - cv->p.pad_top);
  int64_t y1 = MIN (cv->h, (oy1 - 1) * cv->p.stride_y + cv->kh - cv->p.pad_top);
  for (int64_t y = y0; y < y1; y++) {
    /* rows are short (16 wide in the transformer's conv stages): no libc call per row */
#pragma omp simd
    for (int64_t x = 0; x < cv->w; x++)
      dst[y * pw + x] = xp[y * cv->w + x];
  }
}

/* Rows [oy0, oy1) of out += Σ taps w·pad. 3×3 kernels (the depthwise convs of the ConvNeXt
 * blocks) sum all nine taps in one pass per output row; other sizes take a pass per tap
 * over a row that stays in L1. Stride 1 has its own loops: a run-time stride makes the
 * compiler gather. */
static void
direct_accumulate (const Conv *cv, float *out, int64_t oy0, int64_t oy1, const float *pad,
                   int64_t pw, const float *wk)
{
  int64_t sx = cv->p.stride_x, sy = cv->p.stride_y, kh = cv->kh, kw = cv->kw, ow = cv->ow;
  for (int64_t oy = oy0; oy < oy1; oy++) {
    float *restrict orow = out + oy * ow;
    const float *r0 = pad + oy * sy * pw, *r1 = r0 + pw, *r2 = r1 + pw;
    if (kh == 3 && kw == 3 && sx == 1) {
#pragma omp simd
      for (int64_t ox = 0; ox < ow; ox++) {
        float acc = orow[ox];
        acc = TS_CPU_FMA (wk[0], r0[ox], acc);
        acc = TS_CPU_FMA (wk[1], r0[ox + 1], acc);
        acc = TS_CPU_FMA (wk[2], r0[ox + 2], acc);
        acc = TS_CPU_FMA (wk[3], r1[ox], acc);
        acc = TS_CPU_FMA (wk[4], r1[ox + 1], acc);
        acc = TS_CPU_FMA (wk[5], r1[ox + 2], acc);
        acc = TS_CPU_FMA (wk[6], r2[ox], acc);
        acc = TS_CPU_FMA (wk[7], r2[ox + 1], acc);
        orow[ox] = TS_CPU_FMA (wk[8], r2[ox + 2], acc);
      }
      continue;
    }
    for (int64_t ky = 0; ky < kh; ky++)
      for (int64_t kx = 0; kx < kw; kx++) {
        float wv = wk[ky * kw + kx];
        const float *src = r0 + ky * pw + kx;
        if (sx == 1) {
#pragma omp simd
          for (int64_t ox = 0; ox < ow; ox++)
            orow[ox] = TS_CPU_FMA (wv, src[ox], orow[ox]);
        } else {
          for (int64_t ox = 0; ox < ow; ox++)
            orow[ox] = TS_CPU_FMA (wv, src[ox * sx], orow[ox]);
        }
      }
  }
}

/* Output channels [o0, o0 + count) of image n (all in group g), rows [oy0, oy1). */
static void
direct_item (const Conv *cv, int64_t n, int64_t g, int64_t o0, int64_t count, int64_t oy0,
             int64_t oy1, float *pad, int64_t pw)
{
  int64_t plane = cv->oh * cv->ow;
  for (int64_t o = o0; o < o0 + count; o++) {
    float b0 = cv->bias ? cv->bias[o] : 0.0f, *out = cv->y + (n * cv->o + o) * plane;
#pragma omp simd
    for (int64_t i = oy0 * cv->ow; i < oy1 * cv->ow; i++)
      out[i] = b0;
  }
  for (int64_t ci = 0; ci < cv->cg; ci++) {
    pad_rows (cv, n, g * cv->cg + ci, oy0, oy1, pad, pw);
    for (int64_t o = o0; o < o0 + count; o++)
      direct_accumulate (cv, cv->y + (n * cv->o + o) * plane, oy0, oy1, pad, pw,
                         cv->wt + (o * cv->cg + ci) * cv->kh * cv->kw);
  }
}

static gboolean
conv_direct (TsBackend *be, const Conv *cv, GError **error)
{
  const TsConv2dParams *p = &cv->p;
  int nt = ts_cpu_threads_for (be, 2.0 * cv->n * cv->o * cv->oh * cv->ow * cv->taps);
  DirectPlan d = direct_plan (cv, nt);
  int64_t items = cv->n * cv->groups * d.chunks * d.bands;
  int64_t pw = cv->w + p->pad_left + p->pad_right, ph = cv->h + p->pad_top + p->pad_bottom;
  if (nt > items)
    nt = (int) items;
  float *pads = ts_cpu_scratch_new (sizeof (float) * pw * ph * nt, "conv2d padding", error);
  if (!pads)
    return FALSE;
#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    float *pad = pads + (size_t) (pw * ph) * omp_get_thread_num ();
    memset (pad, 0, sizeof (float) * pw * ph);
#pragma omp for schedule (static)
    for (int64_t it = 0; it < items; it++) {
      int64_t band = it % d.bands, rest = it / d.bands;
      int64_t c = rest % d.chunks, g = (rest / d.chunks) % cv->groups;
      int64_t n = rest / (d.chunks * cv->groups);
      int64_t o0 = g * cv->og + c * d.chunk, oy0 = band * d.rows;
      direct_item (cv, n, g, o0, MIN (d.chunk, (g + 1) * cv->og - o0), oy0,
                   MIN (cv->oh, oy0 + d.rows), pad, pw);
    }
  }
  free (pads);
  return TRUE;
}

/* ---- 1×1 ---- */

static void
add_bias_planes (TsBackend *be, const Conv *cv)
{
  int64_t planes = cv->n * cv->o, len = cv->oh * cv->ow;
  int nt = ts_cpu_threads_for (be, (double) planes * len);
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t i = 0; i < planes; i++) {
    float b0 = cv->bias[i % cv->o], *p = cv->y + i * len;
#pragma omp simd
    for (int64_t j = 0; j < len; j++)
      p[j] += b0;
  }
}

static void
conv_pointwise (TsBackend *be, const Conv *cv)
{
  int64_t hw = cv->h * cv->w;
  for (int64_t n = 0; n < cv->n; n++)
    for (int64_t g = 0; g < cv->groups; g++)
      ts_cpu_sgemm (be, FALSE, FALSE, cv->og, hw, cv->cg, cv->wt + g * cv->og * cv->cg, cv->cg,
                    cv->x + (n * cv->c + g * cv->cg) * hw, hw, 0.0f,
                    cv->y + (n * cv->o + g * cv->og) * hw, hw);
  if (cv->bias)
    add_bias_planes (be, cv);
}

/* ---- im2col + sgemm ---- */

/* Band of output positions [p0, p0 + len) of image n, group g, as col[taps, len]. */
static void
im2col_band (const Conv *cv, int64_t n, int64_t g, int64_t p0, int64_t len, float *col)
{
  int64_t sx = cv->p.stride_x, sy = cv->p.stride_y;
  for (int64_t t = 0; t < cv->taps; t++) {
    int64_t ci = t / (cv->kh * cv->kw), ky = (t / cv->kw) % cv->kh, kx = t % cv->kw;
    const float *xp = cv->x + (n * cv->c + g * cv->cg + ci) * cv->h * cv->w;
    float *dst = col + t * len;
    int64_t dx = kx - cv->p.pad_left;
    int64_t ox0 = dx >= 0 ? 0 : (-dx + sx - 1) / sx;
    int64_t ox1 = MIN (cv->ow, (cv->w - dx + sx - 1) / sx);
    for (int64_t pos = p0; pos < p0 + len;) {
      /* one output row (or the part of it inside the band) at a time */
      int64_t oy = pos / cv->ow, oxs = pos % cv->ow, oxe = MIN (cv->ow, oxs + (p0 + len - pos));
      int64_t iy = oy * sy + ky - cv->p.pad_top;
      float *d = dst + (pos - p0) - oxs;
      if (iy < 0 || iy >= cv->h) {
        memset (d + oxs, 0, (oxe - oxs) * sizeof (float));
      } else {
        const float *xr = xp + iy * cv->w + dx;
        int64_t a = MAX (oxs, ox0), b = MIN (oxe, ox1);
        for (int64_t ox = oxs; ox < MIN (a, oxe); ox++)
          d[ox] = 0.0f;
        if (sx == 1) {
          if (b > a)
            memcpy (d + a, xr + a, (b - a) * sizeof (float));
        } else {
#pragma omp simd
          for (int64_t ox = a; ox < b; ox++)
            d[ox] = xr[ox * sx];
        }
        for (int64_t ox = MAX (b, oxs); ox < oxe; ox++)
          d[ox] = 0.0f;
      }
      pos += oxe - oxs;
    }
  }
}

static gboolean
conv_im2col (TsBackend *be, const Conv *cv, GError **error)
{
  int64_t positions = cv->oh * cv->ow;
  int64_t band = BAND_BYTES / (sizeof (float) * cv->taps);
  band = MAX (band, BAND_MIN_COLS);
  band = MIN (band, positions);
  int64_t bands = (positions + band - 1) / band, items = cv->n * cv->groups * bands;
  int nt = ts_cpu_threads_for (be, 2.0 * cv->n * cv->o * positions * cv->taps / 64);
  if (nt > items)
    nt = (int) items;
  float *cols = ts_cpu_scratch_new (sizeof (float) * cv->taps * band * nt, "conv2d im2col", error);
  if (!cols)
    return FALSE;

#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    float *col = cols + (size_t) (cv->taps * band) * omp_get_thread_num ();
#pragma omp for schedule (dynamic, 1)
    for (int64_t it = 0; it < items; it++) {
      int64_t bi = it % bands, g = (it / bands) % cv->groups, n = it / (bands * cv->groups);
      int64_t p0 = bi * band, len = MIN (band, positions - p0);
      float *y = cv->y + (n * cv->o + g * cv->og) * positions + p0;
      im2col_band (cv, n, g, p0, len, col);
      if (cv->bias)
        for (int64_t oc = 0; oc < cv->og; oc++)
          for (int64_t j = 0; j < len; j++)
            y[oc * positions + j] = cv->bias[g * cv->og + oc];
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) cv->og, (int) len,
                   (int) cv->taps, 1.0f, cv->wt + g * cv->og * cv->taps, (int) cv->taps, col,
                   (int) len, cv->bias ? 1.0f : 0.0f, y, (int) positions);
    }
  }
  free (cols);
  return TRUE;
}

/* ---- packed bf16 / int8 weights ---- */

/* Band [p0, p0 + len) of image n, group g, as activation rows [len, taps]: im2col into col
 * [taps, slice] (contiguous copies along the input rows) a slice of positions at a time,
 * each transposed into rows while col is still in L2. */
static void
packed_band_rows (const Conv *cv, int64_t n, int64_t g, int64_t p0, int64_t len, float *col,
                  float *rows)
{
  for (int64_t j0 = 0; j0 < len; j0 += PACKED_SLICE) {
    int64_t sl = MIN (PACKED_SLICE, len - j0);
    im2col_band (cv, n, g, p0 + j0, sl, col);
    ts_cpu_transpose_f32 (col, cv->taps, sl, sl, rows + j0 * cv->taps, cv->taps);
  }
}

/* Positions per band: PACKED_BAND_BYTES of rows (`row_bytes` each) in whole row tiles of 8,
 * at least PACKED_SLICE; fewer where the bands of `planes` planes of `positions` would not
 * give each of nt threads four. */
static int64_t
packed_band (int64_t positions, int64_t planes, size_t row_bytes, int nt)
{
  int64_t band = PACKED_BAND_BYTES / row_bytes;
  band = MAX (PACKED_SLICE, band - band % 8);
  int64_t want = planes * positions / (4 * nt);
  if (nt > 1 && want < band)
    band = MAX (8, (want + 7) / 8 * 8);
  return MIN (band, positions);
}

/* Each band is one thread's from start to end: rows [band, taps] → out [band, og] (+ bias)
 * → the group's NCHW planes. One parallel region for the whole convolution: a region per
 * band for the rows, another inside the product and a third for the write-back, with a
 * barrier after each, left the second thread waiting (measured at aMUSEd-256 with int8
 * weights, two threads: the decode took 1.3-1.5x the f32 decode's time, a fifth of it
 * waking threads). Memory is bounded by the band, whatever the image size. */
static gboolean
conv_packed (TsBackend *be, const Conv *cv, const TsCpuPacked *pk, GError **error)
{
  int64_t positions = cv->oh * cv->ow;
  int nt = ts_cpu_threads_for (be, 2.0 * cv->n * cv->o * positions * cv->taps / 64);
  int64_t band = packed_band (positions, cv->n * cv->groups, sizeof (float) * cv->taps, nt);
  int64_t bands = (positions + band - 1) / band;
  int64_t items = cv->n * cv->groups * bands;
  nt = (int) MIN (nt, items);
  TsCpuPacked sub0 = ts_cpu_packed_group (pk, 0);
  size_t col_bytes = sizeof (float) * cv->taps * PACKED_SLICE;
  size_t rows_bytes = sizeof (float) * band * cv->taps, out_bytes = sizeof (float) * band * cv->og;
  size_t per_thread = TS_CPU_ALIGN64 (col_bytes) + TS_CPU_ALIGN64 (rows_bytes) + TS_CPU_ALIGN64 (out_bytes) +
                      TS_CPU_ALIGN64 (ts_cpu_packed_rows_scratch (&sub0, band));
  char *scratch = ts_cpu_scratch_new (per_thread * nt, "conv2d bands", error);
  if (!scratch)
    return FALSE;

#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    char *mine = scratch + per_thread * omp_get_thread_num ();
    float *col = (float *) mine;
    float *rows = (float *) (mine + TS_CPU_ALIGN64 (col_bytes));
    float *out = (float *) (mine + TS_CPU_ALIGN64 (col_bytes) + TS_CPU_ALIGN64 (rows_bytes));
    void *kernel_scratch = mine + TS_CPU_ALIGN64 (col_bytes) + TS_CPU_ALIGN64 (rows_bytes) + TS_CPU_ALIGN64 (out_bytes);
#pragma omp for schedule (dynamic, 1)
    for (int64_t it = 0; it < items; it++) {
      int64_t bi = it % bands, g = (it / bands) % cv->groups, n = it / (bands * cv->groups);
      int64_t p0 = bi * band, len = MIN (band, positions - p0);
      TsCpuPacked sub = ts_cpu_packed_group (pk, g);
      packed_band_rows (cv, n, g, p0, len, col, rows);
      ts_cpu_packed_matmul_rows (&sub, rows, len, cv->taps, cv->bias ? cv->bias + g * cv->og : NULL,
                                 out, cv->og, kernel_scratch);
      ts_cpu_transpose_f32 (out, len, cv->og, cv->og, cv->y + (n * cv->o + g * cv->og) * positions + p0,
                            positions);
    }
  }
  free (scratch);
  return TRUE;
}

/* ---- whole pixels (taps-major kernels: int8, bf16) ---- */

/* Pixels per tile of the input's conversion (a transpose of [block channels, tile] each). */
#define PIXEL_TILE 32

/* Image n's input as rows of whole pixels in the kernel's form, each pixel converted once
 * instead of once for every tap that reads it: int8 xq [h·w, c] (q + 128) with one scale per
 * pixel and block of 128 channels xs [h·w, c / 128], or bf16 xb [h·w, c]. */
typedef struct {
  gboolean int8;
  int64_t block;  /* channels converted together: int8's quantisation block */
  uint8_t *xq;
  float *xs;
  uint16_t *xb;
  const uint16_t *zeros; /* bf16: c zeros, the pixels off the image */
} Pixels;

static void
convert_pixels (TsBackend *be, const Conv *cv, int64_t n, const Pixels *px, float *tiles)
{
  int64_t hw = cv->h * cv->w, nbc = cv->c / px->block;
  int64_t ntiles = (hw + PIXEL_TILE - 1) / PIXEL_TILE, items = ntiles * nbc;
  int nt = ts_cpu_threads_for (be, (double) hw * cv->c);
  nt = (int) MIN (nt, items);
#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    float *tile = tiles + (size_t) (PIXEL_TILE * px->block) * omp_get_thread_num ();
#pragma omp for schedule (static)
    for (int64_t it = 0; it < items; it++) {
      int64_t p0 = (it / nbc) * PIXEL_TILE, cb = it % nbc, len = MIN (PIXEL_TILE, hw - p0);
      const float *x = cv->x + (n * cv->c + cb * px->block) * hw + p0;
      ts_cpu_transpose_f32 (x, px->block, len, hw, tile, px->block);
      for (int64_t i = 0; i < len; i++) {
        int64_t at = (p0 + i) * cv->c + cb * px->block;
        if (px->int8)
          ts_cpu_row_quantise (tile + i * px->block, px->block, px->block, px->xq + at,
                               px->xs + (p0 + i) * nbc + cb);
        else
          ts_cpu_row_to_bf16 (tile + i * px->block, px->block, px->block, px->xb + at);
      }
    }
  }
}

/* The input pixel that output position pos reads through tap t, or −1 off the image. */
static inline int64_t
tap_pixel (const Conv *cv, int64_t pos, int64_t t)
{
  int64_t oy = pos / cv->ow, ox = pos % cv->ow;
  int64_t iy = oy * cv->p.stride_y + t / cv->kw - cv->p.pad_top;
  int64_t ix = ox * cv->p.stride_x + t % cv->kw - cv->p.pad_left;
  return iy < 0 || iy >= cv->h || ix < 0 || ix >= cv->w ? -1 : iy * cv->w + ix;
}

/* The int8 rows of positions [p0, p0 + len): for each tap, the quantised pixel it reads
 * (a copy of c bytes and c / 128 scales) or, off the image, zeros (q = 0, scale 0). */
static void
gather_int8_rows (const Conv *cv, const Pixels *px, int64_t p0, int64_t len, uint8_t *rows,
                  float *scales)
{
  int64_t nbc = cv->c / TS_CPU_QBLOCK, area = cv->kh * cv->kw;
  int64_t kp = area * cv->c, nb = area * nbc;
  for (int64_t j = 0; j < len; j++) {
    uint8_t *r = rows + j * kp;
    float *rs = scales + j * nb;
    for (int64_t t = 0; t < area; t++) {
      int64_t pix = tap_pixel (cv, p0 + j, t);
      if (pix < 0) {
        memset (r + t * cv->c, 128, (size_t) cv->c);
        memset (rs + t * nbc, 0, sizeof (float) * nbc);
      } else {
        memcpy (r + t * cv->c, px->xq + pix * cv->c, (size_t) cv->c);
        memcpy (rs + t * nbc, px->xs + pix * nbc, sizeof (float) * nbc);
      }
    }
  }
}

/* The bf16 tiles of positions [p0, p0 + len) (ts_cpu_rows_to_bf16_tile's form), straight
 * from the pixels: for each tile of 8 positions and each tap, the 8 pixels it reads (or
 * zeros) side by side. A tile's positions past len repeat its last one. */
static void
gather_bf16_tiles (const Conv *cv, const Pixels *px, int64_t p0, int64_t len, uint16_t *tiles)
{
  int64_t area = cv->kh * cv->kw, kp = area * cv->c;
  for (int64_t j0 = 0; j0 < len; j0 += TS_CPU_BF16_ROWS) {
    uint16_t *tile = tiles + j0 * kp;
    for (int64_t t = 0; t < area; t++) {
      const uint16_t *row[TS_CPU_BF16_ROWS];
      for (int64_t r = 0; r < TS_CPU_BF16_ROWS; r++) {
        int64_t pix = tap_pixel (cv, p0 + MIN (j0 + r, len - 1), t);
        row[r] = pix < 0 ? px->zeros : px->xb + pix * cv->c;
      }
      ts_cpu_pairs_to_bf16_tile (row, cv->c / 2, tile + t * cv->c * TS_CPU_BF16_ROWS);
    }
  }
}

/* A convolution whose kernel is packed taps-major (ts_cpu_conv_taps_major): the input
 * converted once per pixel, each band of positions gathered from it in the kernel's form
 * and multiplied by one thread, then written back as NCHW planes. Measured at aMUSEd-512's
 * VQ decode (two threads, int8) against the f32 im2col rows of conv_packed: that spent 40 %
 * of its time building, transposing and quantising the rows. */
static gboolean
conv_pixels (TsBackend *be, const Conv *cv, const TsCpuPacked *pk, GError **error)
{
  int64_t positions = cv->oh * cv->ow, hw = cv->h * cv->w, kp = pk->kp;
  Pixels px = { .int8 = pk->precision == TS_PRECISION_INT8 };
  px.block = px.int8 || cv->c % TS_CPU_QBLOCK == 0 ? TS_CPU_QBLOCK : TS_CPU_BF16_PAD;
  int64_t nbc = cv->c / px.block, nb = kp / TS_CPU_QBLOCK;
  int nt = ts_cpu_threads_for (be, 2.0 * cv->n * cv->o * positions * cv->taps / 64);
  /* rows in the kernel's form; the images go one after the other */
  int64_t band = packed_band (positions, 1, (size_t) kp * (px.int8 ? 1 : sizeof (uint16_t)), nt);
  int64_t bands = (positions + band - 1) / band;
  nt = (int) MIN (nt, bands);
  int tiles_nt = ts_cpu_backend_threads (be);
  size_t rows_bytes = px.int8 ? TS_CPU_ALIGN64 ((size_t) (band * kp))
                              : TS_CPU_ALIGN64 (sizeof (uint16_t) * (band + TS_CPU_BF16_ROWS) * kp);
  size_t scale_bytes = px.int8 ? TS_CPU_ALIGN64 (sizeof (float) * band * nb) : 0;
  size_t out_bytes = TS_CPU_ALIGN64 (sizeof (float) * band * cv->o);
  size_t per_thread = rows_bytes + scale_bytes + out_bytes;
  size_t input_bytes = px.int8 ? TS_CPU_ALIGN64 ((size_t) (hw * cv->c)) + TS_CPU_ALIGN64 (sizeof (float) * hw * nbc)
                               : TS_CPU_ALIGN64 (sizeof (uint16_t) * (hw + 1) * cv->c);
  size_t tile_bytes = sizeof (float) * PIXEL_TILE * px.block * tiles_nt;
  size_t capacity;
  char *scratch = ts_cpu_pooled_scratch_new (be, input_bytes + tile_bytes + per_thread * nt,
                                             &capacity, px.int8 ? "int8 convolution"
                                                                : "bf16 convolution", error);
  if (!scratch)
    return FALSE;
  if (px.int8) {
    px.xq = (uint8_t *) scratch;
    px.xs = (float *) (scratch + TS_CPU_ALIGN64 ((size_t) (hw * cv->c)));
  } else {
    px.xb = (uint16_t *) scratch;
    px.zeros = px.xb + hw * cv->c;
    memset ((uint16_t *) px.zeros, 0, sizeof (uint16_t) * cv->c);
  }
  float *tiles = (float *) (scratch + input_bytes);
  char *threads = scratch + input_bytes + tile_bytes;

  for (int64_t n = 0; n < cv->n; n++) {
    convert_pixels (be, cv, n, &px, tiles);
#pragma omp parallel num_threads (nt) if (nt > 1)
    {
      char *mine = threads + per_thread * omp_get_thread_num ();
      float *out = (float *) (mine + rows_bytes + scale_bytes);
#pragma omp for schedule (dynamic, 1)
      for (int64_t bi = 0; bi < bands; bi++) {
        int64_t p0 = bi * band, len = MIN (band, positions - p0);
        if (px.int8) {
          float *scales = (float *) (mine + rows_bytes);
          gather_int8_rows (cv, &px, p0, len, (uint8_t *) mine, scales);
          ts_cpu_int8_matmul_prepared (pk, (uint8_t *) mine, scales, len, cv->bias, out, cv->o);
        } else {
          gather_bf16_tiles (cv, &px, p0, len, (uint16_t *) mine);
          ts_cpu_bf16_matmul_prepared (pk, (uint16_t *) mine, len, cv->bias, out, cv->o);
        }
        ts_cpu_transpose_f32 (out, len, cv->o, cv->o, cv->y + n * cv->o * positions + p0,
                              positions);
      }
    }
  }
  ts_cpu_pooled_scratch_free (be, scratch, capacity);
  return TRUE;
}

static gboolean
op_conv2d (TsBackend *be, const TsOp *op, GError **error)
{
  const TsTensor *x = op->src[0], *w = op->src[1], *bias = op->src[2], *y = op->dst;
  Conv cv = {
    .n = x->shape[0], .c = x->shape[1], .h = x->shape[2], .w = x->shape[3],
    .o = y->shape[1], .oh = y->shape[2], .ow = y->shape[3],
    .kh = w->shape[2], .kw = w->shape[3],
    .groups = op->p.conv.groups,
    .p = op->p.conv,
    .x = ts_cpu_tensor_data (x),
    .bias = bias ? ts_cpu_tensor_data (bias) : NULL,
    .y = ts_cpu_tensor_data (y),
  };
  cv.cg = cv.c / cv.groups;
  cv.og = cv.o / cv.groups;
  cv.taps = cv.cg * cv.kh * cv.kw;
  if (cv.h * cv.w > INT_MAX || cv.oh * cv.ow > INT_MAX || cv.taps > INT_MAX) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "conv2d: planes beyond 2^31 elements");
    return FALSE;
  }
  const TsConv2dParams *p = &op->p.conv;
  gboolean pointwise = cv.kh == 1 && cv.kw == 1 && p->stride_x == 1 && p->stride_y == 1 &&
                       p->pad_top == 0 && p->pad_left == 0 && p->pad_bottom == 0 &&
                       p->pad_right == 0;
  gboolean direct = ts_cpu_conv_direct (cv.taps, cv.og, pointwise);

  /* a weight its network wants at reduced precision: packed before anything reads its f32
   * values, so that a mapped weight's pages are not brought back only to be given back */
  if (!direct) {
    gboolean failed;
    const TsCpuPacked *pk = ts_cpu_conv_weight_packed (be, w, cv.o, cv.taps, cv.kh * cv.kw,
                                                       cv.groups, &failed, error);
    if (failed)
      return FALSE;
    if (pk && pk->area)
      return conv_pixels (be, &cv, pk, error);
    if (pk)
      return conv_packed (be, &cv, pk, error);
  }

  float *owned = NULL;
  cv.wt = ts_cpu_f32_view (be, w, &owned, error);
  if (!cv.wt)
    return FALSE;

  gboolean ok = TRUE;
  if (pointwise)
    conv_pointwise (be, &cv);
  else if (direct)
    ok = conv_direct (be, &cv, error);
  else
    ok = conv_im2col (be, &cv, error);
  free (owned);
  return ok;
}

/* ---- transposed 2×2, stride 2 ---- */

/* As a GEMM: Y[(o,a,b), i·W + j] = Σc W[c, (o,a,b)]·X[c, i·W + j], then each Y row is
 * scattered to out[o, 2i + a, 2j + b]. */
static gboolean
op_conv_transpose (TsBackend *be, const TsOp *op, GError **error)
{
  const TsTensor *x = op->src[0], *w = op->src[1], *bias = op->src[2], *y = op->dst;
  int64_t nb = x->shape[0], c = x->shape[1], h = x->shape[2], wd = x->shape[3];
  int64_t o = y->shape[1], hw = h * wd;
  if (hw > INT_MAX || 4 * o > INT_MAX || c > INT_MAX) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "conv_transpose_2x2: sizes beyond 2^31");
    return FALSE;
  }
  const float *xp = ts_cpu_tensor_data (x), *bp = bias ? ts_cpu_tensor_data (bias) : NULL;
  float *out = ts_cpu_tensor_data (y), *owned = NULL;
  const float *wt = ts_cpu_f32_view (be, w, &owned, error);
  if (!wt)
    return FALSE;
  float *tmp = ts_cpu_scratch_new (sizeof (float) * 4 * o * hw, "conv_transpose_2x2", error);
  if (!tmp) {
    free (owned);
    return FALSE;
  }
  int nt = ts_cpu_threads_for (be, 2.0 * o * 4 * hw);
  for (int64_t n = 0; n < nb; n++) {
    ts_cpu_sgemm (be, TRUE, FALSE, 4 * o, hw, c, wt, 4 * o, xp + n * c * hw, hw, 0.0f, tmp, hw);
    float *yn = out + n * o * 4 * hw;
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
    for (int64_t r = 0; r < o * h; r++) {
      int64_t oc = r / h, i = r % h;
      float b0 = bp ? bp[oc] : 0.0f;
      for (int64_t a = 0; a < 2; a++) {
        float *orow = yn + (oc * 2 * h + 2 * i + a) * 2 * wd;
        const float *t0 = tmp + (oc * 4 + a * 2) * hw + i * wd, *t1 = t0 + hw;
#pragma omp simd
        for (int64_t j = 0; j < wd; j++) {
          orow[2 * j] = t0[j] + b0;
          orow[2 * j + 1] = t1[j] + b0;
        }
      }
    }
  }
  free (tmp);
  free (owned);
  return TRUE;
}

gboolean
ts_cpu_op_conv (TsBackend *be, const TsOp *op, GError **error)
{
  if (op->src[0]->dtype != TS_DTYPE_F32 || !ts_dtype_is_float (op->src[1]->dtype)) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "%s: input must be f32",
                 ts_op_name (op->kind));
    return FALSE;
  }
  if (op->kind == TS_OP_CONV_TRANSPOSE_2X2)
    return op_conv_transpose (be, op, error);
  return op_conv2d (be, op, error);
}
