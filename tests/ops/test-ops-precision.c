/* test-ops-precision.c — the reduced-precision linear products and convolutions of the CPU
 * backend (cpu-precision.h) against naive references, on every kernel path this CPU can run and
 * forced down to the portable (AVX2/FMA sgemm) one.
 *
 * Each case checks the product two ways:
 *  1. against the path's own arithmetic done naively in double (the documented rounding of
 *     weights and activations, then exact sums): only f32 accumulation may differ;
 *  2. against the exact f32 product, within the bound the format gives:
 *     - bf16 rounds to nearest with 8 significant bits, relative error u = 2^-8 per value
 *       (half an ulp of 2^-7): a product of two rounded values is off by at most
 *       (1+u)² − 1 = 2^-7 + 2^-16 of |a·w|, one rounded value (portable path: weights
 *       only) by u;
 *     - int8 blocks: |x − s·q| ≤ s·(1/2 + 2^-15) (round to nearest, plus the f32 rounding of
 *       x·(127/max) and of s), so a product is off by at most ea·|w| + ew·|a| + ea·ew.
 *  f32 accumulation adds (terms + 32)·2^-24 of Σ|terms|. Results in the subnormal range are
 *  not meaningful (VDPBF16PS flushes subnormal inputs and outputs; scale products underflow):
 *  each check allows (k + 1)·FLT_MIN absolute, far below every value tested as meaningful. */
#include "test-common.h"

#include "ts-backend-private.h"
#include "cpu/cpu-precision.h"
#include "model/ts-safetensors-writer.h"
#include "model/ts-weights.h"
#include "nn/ts-nn-util.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include <float.h>
#include <math.h>
#include <string.h>

static TsBackend *be;

#define QB TS_CPU_QBLOCK

typedef enum {
  DATA_UNIFORM,    /* a, w uniform in [-1, 1) */
  DATA_TINY_A,     /* activations around 1e-30 */
  DATA_HUGE,       /* both around 1e17: products near 1e34 */
  DATA_ZERO_A,     /* all-zero activations */
  DATA_ZERO_W,     /* all-zero weights */
  DATA_EQUAL,      /* every weight row one repeated value, activations one value */
  DATA_NEGATIVE,   /* everything negative */
  DATA_MIXED,      /* blocks of very different magnitudes (1e3 / 1e-3 alternating) */
  DATA_COUNT
} DataKind;

static const char *const data_names[DATA_COUNT] = {
  "uniform", "tiny-a", "huge", "zero-a", "zero-w", "equal", "negative", "mixed",
};

static void
fill (GRand *rand, DataKind kind, gboolean is_weight, float *v, int64_t rows, int64_t k)
{
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < k; i++) {
      float u = (float) g_rand_double_range (rand, -1.0, 1.0), x = u;
      switch (kind) {
      case DATA_UNIFORM: break;
      case DATA_TINY_A: x = is_weight ? u : u * 1e-30f; break;
      case DATA_HUGE: x = u * 1e17f; break;
      case DATA_ZERO_A: x = is_weight ? u : 0.0f; break;
      case DATA_ZERO_W: x = is_weight ? 0.0f : u; break;
      case DATA_EQUAL: x = is_weight ? 0.37f * (float) (r + 1) : -2.5f; break;
      case DATA_NEGATIVE: x = -fabsf (u) - 0.01f; break;
      case DATA_MIXED: x = u * ((i / QB) % 2 ? 1e-3f : 1e3f); break;
      default: g_assert_not_reached ();
      }
      v[r * k + i] = x;
    }
}

/* ---- the documented roundings, written out again ---- */

static float
bf16_round (float x)
{
  return ts_bf16_to_f32 (ts_f32_to_bf16 (x));
}

/* VDPBF16PS treats subnormal bf16 inputs as zero. */
static float
bf16_daz (float x)
{
  float r = bf16_round (x);
  return fabsf (r) < FLT_MIN ? 0.0f : r;
}

/* One row in int8 blocks: scale per block, q per value (cpu-precision.h's rule). */
static void
quantise (const float *x, int64_t k, int8_t *q, float *scale)
{
  for (int64_t b = 0; b * QB < k; b++) {
    int64_t len = MIN (QB, k - b * QB);
    float amax = 0.0f;
    for (int64_t i = 0; i < len; i++)
      amax = fmaxf (amax, fabsf (x[b * QB + i]));
    scale[b] = amax / 127.0f;
    float r = 127.0f / amax; /* not finite for a subnormal block: then divide first */
    for (int64_t i = 0; i < len; i++)
      q[b * QB + i] = amax > 0.0f ? (int8_t) nearbyintf (isfinite (r) ? x[b * QB + i] * r
                                                                       : x[b * QB + i] / amax * 127.0f)
                                  : 0;
  }
}

typedef struct {
  const char *kernel; /* the kernel name cpu-dispatch.c reports */
  gboolean    fast;   /* activations rounded too (the bf16/VNNI GEMM kernels) */
} Path;

/* want (path arithmetic in double), the format's error bound against the exact product, and
 * the accumulation bound against want, for one output. */
static void
reference (TsPrecision prec, gboolean fast, const float *a, const float *w, int64_t k,
           double *want, double *exact, double *format_bound, double *acc_bound)
{
  int64_t nb = (k + QB - 1) / QB;
  double sum = 0, ex = 0, abs_terms = 0, fb = 0;
  g_autofree int8_t *qa = g_new0 (int8_t, nb * QB), *qw = g_new0 (int8_t, nb * QB);
  g_autofree float *sa = g_new0 (float, nb), *sw = g_new0 (float, nb);
  if (prec == TS_PRECISION_INT8) {
    quantise (a, k, qa, sa);
    quantise (w, k, qw, sw);
  }
  const double slack = 0.5 + 0x1p-15;
  for (int64_t i = 0; i < k; i++) {
    double av = a[i], wv = w[i], t;
    ex += av * wv;
    if (prec == TS_PRECISION_BF16) {
      double ar = fast ? bf16_daz (a[i]) : av, wr = fast ? bf16_daz (w[i]) : bf16_round (w[i]);
      t = ar * wr;
      fb += fabs (av * wv) * (fast ? 0x1p-7 + 0x1p-16 : 0x1p-8);
      if (fast && (ar == 0.0 || wr == 0.0))
        fb += fabs (av * wv); /* flushed to zero */
    } else {
      double ew = sw[i / QB] * slack, ea = fast ? sa[i / QB] * slack : 0.0;
      double wr = fast ? (double) sw[i / QB] * qw[i] : (double) ((float) qw[i] * sw[i / QB]);
      double ar = fast ? (double) sa[i / QB] * qa[i] : av;
      t = ar * wr;
      fb += ea * fabs (wv) + ew * fabs (av) + ea * ew;
    }
    sum += t;
    abs_terms += fabs (t);
  }
  double floor_abs = (double) (k + 1) * FLT_MIN;
  *want = sum;
  *exact = ex;
  *acc_bound = (double) (k + 32) * 0x1p-24 * abs_terms + floor_abs;
  *format_bound = fb + *acc_bound;
}

static void
check_case (GRand *rand, TsPrecision prec, DataKind kind, int64_t m, int64_t n, int64_t k,
            gboolean with_bias, gboolean fast)
{
  g_autofree char *what = g_strdup_printf ("%s %s %s m=%" G_GINT64_FORMAT " n=%" G_GINT64_FORMAT
                                           " k=%" G_GINT64_FORMAT "%s",
                                           ts_precision_name (prec),
                                           prec == TS_PRECISION_BF16 ? ts_cpu_bf16_kernel_name ()
                                                                     : ts_cpu_int8_kernel_name (),
                                           data_names[kind], m, n, k, with_bias ? " bias" : "");
  g_autofree float *av = g_new (float, m * k), *wv = g_new (float, n * k), *bv = g_new (float, n);
  fill (rand, kind, FALSE, av, m, k);
  fill (rand, kind, TRUE, wv, n, k);
  for (int64_t j = 0; j < n; j++)
    bv[j] = (float) g_rand_double_range (rand, -1, 1);
  g_autoptr (TsTensor) a = ts_test_tensor (be, TS_DTYPE_F32, 2, (int64_t[]) { m, k }, av);
  g_autoptr (TsTensor) w = ts_test_tensor (be, TS_DTYPE_F32, 2, (int64_t[]) { n, k }, wv);
  g_autoptr (TsTensor) bias = with_bias ? ts_test_tensor (be, TS_DTYPE_F32, 1, &n, bv) : NULL;
  ts_cpu_weight_set_precision (w, prec);
  g_autoptr (TsTensor) out = ts_linear (be, a, w, bias);
  g_assert_nonnull (out);
  g_autofree float *got = ts_test_read (out);
  int bad = 0;
  for (int64_t i = 0; i < m && bad < 5; i++)
    for (int64_t j = 0; j < n && bad < 5; j++) {
      double want, exact, fbound, abound;
      reference (prec, fast, av + i * k, wv + j * k, k, &want, &exact, &fbound, &abound);
      double b0 = with_bias ? bv[j] : 0.0, g = got[i * n + j];
      /* the bias addition is one more f32 rounding */
      double bias_ulp = with_bias ? 0x1p-24 * (fabs (want) + fabs (b0)) * 2 : 0.0;
      gboolean ok_path = isfinite (g) && fabs (g - (want + b0)) <= abound + bias_ulp;
      gboolean ok_format = isfinite (g) && fabs (g - (exact + b0)) <= fbound + bias_ulp;
      if (!ok_path || !ok_format) {
        g_test_message ("%s: c[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "] = %.9g, path %.9g "
                        "(±%.3g), exact %.9g (±%.3g)", what, i, j, g, want + b0, abound,
                        exact + b0, fbound);
        bad++;
      }
    }
  if (bad)
    g_test_fail ();
}

/* Odd sizes, tails of the 32/128 blocks, several row tiles and panels. */
static const int64_t sizes[][3] = {
  { 1, 1, 1 },   { 3, 5, 7 },    { 4, 12, 128 }, { 5, 7, 129 },  { 2, 3, 256 },
  { 7, 13, 255 }, { 1, 40, 2048 }, { 17, 25, 300 }, { 70, 37, 384 }, { 9, 200, 1000 },
};

/* The GEMM kernels' tiling: micro-tiles of 8 rows (4 on AVX-VNNI) × 48 columns (3 panels
 * of 16; 16 on AVX-VNNI), K in slices of 256 (bf16) / 512 (int8), items of 256 rows. Rows
 * and columns on every side of a tile (32 and 48 + 32: a full strip of two panels, the
 * int8 kernel's 8 × 32 form), K across the 128-blocks and the slices. */
static const int64_t tile_ms[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
                                   31, 33, 70 };
static const int64_t tile_ns[] = { 1, 15, 16, 17, 32, 47, 48, 49, 80 };
static const int64_t tile_ms_long[] = { 1, 7, 8, 9, 16, 17, 70 };

static void
run_tiles (GRand *rand, TsPrecision prec, gboolean fast)
{
  int i = 0;
  for (guint ki = 0; ki < 2; ki++)
    for (guint mi = 0; mi < G_N_ELEMENTS (tile_ms); mi++)
      for (guint ni = 0; ni < G_N_ELEMENTS (tile_ns); ni++, i++)
        check_case (rand, prec, DATA_UNIFORM, tile_ms[mi], tile_ns[ni], ki ? 300 : 129, i % 2,
                    fast);
  /* 5 blocks: across the int8 slice (512) and two bf16 slices (256) */
  for (guint mi = 0; mi < G_N_ELEMENTS (tile_ms_long); mi++)
    for (guint ni = 0; ni < G_N_ELEMENTS (tile_ns); ni++, i++)
      check_case (rand, prec, DATA_UNIFORM, tile_ms_long[mi], tile_ns[ni], 640, i % 2, fast);
  /* wide: many panels and items (threads), and past one item's rows */
  check_case (rand, prec, DATA_UNIFORM, 1, 1000, 300, TRUE, fast);
  check_case (rand, prec, DATA_UNIFORM, 9, 1000, 300, FALSE, fast);
  check_case (rand, prec, DATA_UNIFORM, 70, 1000, 129, TRUE, fast);
  check_case (rand, prec, DATA_UNIFORM, 300, 49, 130, FALSE, fast);
  check_case (rand, prec, DATA_MIXED, 33, 49, 640, TRUE, fast);
  check_case (rand, prec, DATA_HUGE, 17, 47, 300, FALSE, fast);
}

static void
run_all (TsPrecision prec, gboolean fast)
{
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    check_case (rand, prec, DATA_UNIFORM, sizes[s][0], sizes[s][1], sizes[s][2], s % 2, fast);
  for (DataKind d = DATA_TINY_A; d < DATA_COUNT; d++) {
    check_case (rand, prec, d, 5, 7, 129, FALSE, fast);
    check_case (rand, prec, d, 4, 12, 256, TRUE, fast);
    check_case (rand, prec, d, 9, 49, 300, TRUE, fast);
  }
  run_tiles (rand, prec, fast);
}

/* The path each test forces, and whether this CPU can run it. */
typedef struct {
  TsCpuKernelChoice choice;
  TsPrecision       prec;
  gboolean          fast;    /* a GEMM kernel of cpu-matmul-*.c, not the portable one */
  gboolean          rounded; /* activations rounded too (VDPBF16PS, VNNI) */
} Case;

static gboolean
runnable (const Case *c)
{
  if (!c->fast)
    return TRUE;
  if (c->prec == TS_PRECISION_BF16)
    return c->choice == TS_CPU_KERNELS_BF16_DOT ? ts_cpu_has_avx512_bf16 () : ts_cpu_has_avx512 ();
  return c->choice == TS_CPU_KERNELS_AVX_VNNI ? ts_cpu_has_avx_vnni () : ts_cpu_has_avx512_vnni ();
}

/* Chooses c's kernels and checks they are the ones asked for; FALSE (the test skipped, with
 * why) where this CPU cannot run them. */
static gboolean
choose_case_kernels (const Case *c)
{
  if (!runnable (c)) {
    g_test_skip ("this CPU does not have the instructions for that kernel (the portable path "
                 "is tested instead)");
    return FALSE;
  }
  ts_cpu_kernels_choose (c->choice);
  const char *name = c->prec == TS_PRECISION_BF16 ? ts_cpu_bf16_kernel_name ()
                                                  : ts_cpu_int8_kernel_name ();
  g_test_message ("kernel: %s", name);
  g_assert_true (g_str_has_prefix (name, "portable") == !c->fast);
  return TRUE;
}

static void
test_path (gconstpointer data)
{
  const Case *c = data;
  if (!choose_case_kernels (c))
    return;
  g_assert_true (c->prec != TS_PRECISION_BF16 || ts_cpu_bf16_rounds_activations () == c->rounded);
  run_all (c->prec, c->rounded);
  ts_cpu_kernels_choose (TS_CPU_KERNELS_AUTO);
}

static int present_pages (const void *data, size_t bytes, int *whole);

/* ---- convolutions (issue 21: the VQ decoder's and the transformer's conv stages) ---- */

typedef struct {
  int64_t n, c, h, w, o, kh, kw;
  int     stride, pad_top, pad_left, pad_bottom, pad_right, groups;
} ConvShape;

/* Where tap (ci, ky·kw + kx) sits in a row: [Cg][kh·kw] as the kernel is stored, or
 * taps-major [kh·kw][Cg] (ts_cpu_conv_taps_major: the int8 rows of whole pixels). */
static int64_t
tap_index (const ConvShape *cs, gboolean major, int64_t ci, int64_t t)
{
  int64_t area = cs->kh * cs->kw;
  return major ? t * (cs->c / cs->groups) + ci : ci * area + t;
}

/* Output (n, o, oy, ox)'s im2col row: the taps its kernel reads, zero where padded; and
 * the kernel's row for output o in the same order. */
static void
conv_row (const ConvShape *cs, const float *x, const float *w, int64_t n, int64_t o, int64_t oy,
          int64_t ox, gboolean major, float *row, float *wrow)
{
  int64_t cg = cs->c / cs->groups, og = cs->o / cs->groups, g = o / og, area = cs->kh * cs->kw;
  for (int64_t ci = 0; ci < cg; ci++)
    for (int64_t t = 0; t < area; t++) {
      int64_t ky = t / cs->kw, kx = t % cs->kw, at = tap_index (cs, major, ci, t);
      int64_t iy = oy * cs->stride + ky - cs->pad_top, ix = ox * cs->stride + kx - cs->pad_left;
      row[at] = iy < 0 || iy >= cs->h || ix < 0 || ix >= cs->w
                  ? 0.0f : x[((n * cs->c + g * cg + ci) * cs->h + iy) * cs->w + ix];
      wrow[at] = w[(o * cg + ci) * area + t];
    }
}

/* The convolution with its weight marked at `prec`, every output against the path's
 * arithmetic in double and the exact sum (reference (): the same bounds as a linear product
 * whose activation row is the output's im2col row). */
static void
check_conv (GRand *rand, TsPrecision prec, gboolean fast, const ConvShape *cs, gboolean with_bias)
{
  int64_t cg = cs->c / cs->groups, taps = cg * cs->kh * cs->kw;
  int64_t oh = (cs->h + cs->pad_top + cs->pad_bottom - cs->kh) / cs->stride + 1;
  int64_t ow = (cs->w + cs->pad_left + cs->pad_right - cs->kw) / cs->stride + 1;
  g_autofree char *what = g_strdup_printf (
    "%s %s conv x[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
    "] w[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
    "] stride %d pad %d,%d,%d,%d groups %d taps %" G_GINT64_FORMAT "%s",
    ts_precision_name (prec), prec == TS_PRECISION_BF16 ? ts_cpu_bf16_kernel_name ()
                                                        : ts_cpu_int8_kernel_name (),
    cs->n, cs->c, cs->h, cs->w, cs->o, cg, cs->kh, cs->kw, cs->stride, cs->pad_top, cs->pad_left,
    cs->pad_bottom, cs->pad_right, cs->groups, taps, with_bias ? " bias" : "");
  g_autofree float *xv = NULL, *wv = NULL, *bv = NULL;
  g_autoptr (TsTensor) x = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                  (int64_t[]) { cs->n, cs->c, cs->h, cs->w },
                                                  -1, 1, &xv);
  g_autoptr (TsTensor) w = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                  (int64_t[]) { cs->o, cg, cs->kh, cs->kw },
                                                  -1, 1, &wv);
  g_autoptr (TsTensor) bias = with_bias ? ts_test_random_tensor (be, rand, TS_DTYPE_F32, 1,
                                                                 &cs->o, -1, 1, &bv) : NULL;
  TsConv2dParams p = { .stride_y = cs->stride, .stride_x = cs->stride, .pad_top = cs->pad_top,
                       .pad_left = cs->pad_left, .pad_bottom = cs->pad_bottom,
                       .pad_right = cs->pad_right, .groups = cs->groups };
  ts_cpu_weight_set_precision (w, prec);
  g_autoptr (TsTensor) y = ts_conv2d (be, x, w, bias, &p);
  g_assert_nonnull (y);
  g_assert_cmpint (y->shape[2], ==, oh);
  g_assert_cmpint (y->shape[3], ==, ow);
  g_autofree float *got = ts_test_read (y);
  g_autofree float *row = g_new (float, taps), *wrow = g_new (float, taps);
  gboolean major = ts_cpu_conv_taps_major (prec, cg, cs->groups);
  int bad = 0;
  for (int64_t n = 0; n < cs->n && bad < 5; n++)
    for (int64_t o = 0; o < cs->o && bad < 5; o++)
      for (int64_t oy = 0; oy < oh && bad < 5; oy++)
        for (int64_t ox = 0; ox < ow && bad < 5; ox++) {
          double want, exact, fbound, abound;
          conv_row (cs, xv, wv, n, o, oy, ox, major, row, wrow);
          reference (prec, fast, row, wrow, taps, &want, &exact, &fbound, &abound);
          double b0 = with_bias ? bv[o] : 0.0;
          double g = got[((n * cs->o + o) * oh + oy) * ow + ox];
          double bias_ulp = with_bias ? 0x1p-24 * (fabs (want) + fabs (b0)) * 2 : 0.0;
          if (!isfinite (g) || fabs (g - (want + b0)) > abound + bias_ulp ||
              fabs (g - (exact + b0)) > fbound + bias_ulp) {
            g_test_message ("%s: y[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                            ",%" G_GINT64_FORMAT "] = %.9g, path %.9g (±%.3g), exact %.9g (±%.3g)",
                            what, n, o, oy, ox, g, want + b0, abound, exact + b0, fbound);
            bad++;
          }
        }
  if (bad)
    g_test_fail ();
}

/* taps (= Cg·kh·kw, the product's inner size) on both sides of the 128 block and the 32 pad:
 * 1×1 as a plain GEMM (127, 128, 129, 300) and with stride or padding (the im2col form),
 * 3×3 same-padding (the VQ's resnets), 3×3 stride 2 with bottom/right padding (its
 * downsampling), 2×2 stride 2 (the transformer's), groups, odd sizes, two images, one
 * case of 1152 taps over 1024 positions (two bands), and the pixel-row cases (int8, bf16). */
static const ConvShape conv_shapes[] = {
  { 1, 127, 5, 7, 9, 1, 1, 1, 0, 0, 0, 0, 1 },
  { 2, 128, 3, 5, 6, 1, 1, 1, 0, 0, 0, 0, 1 },
  { 1, 129, 9, 9, 13, 1, 1, 1, 0, 0, 0, 0, 1 },
  { 1, 300, 4, 3, 5, 1, 1, 1, 0, 0, 0, 0, 1 },
  { 1, 129, 7, 6, 5, 1, 1, 2, 1, 1, 1, 1, 1 },
  { 2, 14, 7, 9, 10, 3, 3, 1, 1, 1, 1, 1, 1 },
  { 1, 15, 11, 8, 7, 3, 3, 1, 1, 1, 1, 1, 1 },
  { 1, 30, 6, 5, 10, 3, 3, 1, 1, 1, 1, 1, 2 },
  { 1, 33, 9, 11, 6, 3, 3, 2, 0, 0, 1, 1, 1 },
  { 2, 32, 5, 7, 8, 2, 2, 2, 0, 0, 1, 1, 1 },
  { 1, 75, 8, 8, 4, 2, 2, 2, 0, 0, 1, 1, 1 },
  { 1, 129, 5, 4, 12, 3, 3, 1, 1, 1, 1, 1, 3 },
  { 1, 128, 32, 32, 6, 3, 3, 1, 1, 1, 1, 1, 1 },
  { 1, 64, 6, 5, 34, 3, 3, 1, 1, 1, 1, 1, 2 },   /* groups of 17 outputs: panels per group */
  { 1, 40, 5, 6, 100, 1, 1, 1, 0, 0, 0, 0, 1 },  /* 100 outputs: 2 micro-tiles + a short panel */
  /* int8 rows of whole pixels (Cg a multiple of 128): two blocks a pixel with stride 2 and
   * bottom/right padding, two images with padding different on each side */
  { 1, 256, 9, 7, 20, 3, 3, 2, 0, 0, 1, 1, 1 },
  { 2, 128, 6, 5, 50, 3, 3, 1, 1, 0, 1, 2, 1 },
  /* bf16 rows of whole pixels (Cg a multiple of 32) converted in blocks of 32 channels, 63
   * positions: tiles of 8 with a tail of 7 */
  { 1, 96, 7, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1 },
};

static void
test_conv_path (gconstpointer data)
{
  const Case *c = data;
  if (!choose_case_kernels (c))
    return;
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  for (guint i = 0; i < G_N_ELEMENTS (conv_shapes); i++)
    check_conv (rand, c->prec, c->rounded, &conv_shapes[i], i % 2 == 0);
  ts_cpu_kernels_choose (TS_CPU_KERNELS_AUTO);
}

/* f32 stays exact: a marked conv weight really goes through the packed path (its result
 * differs from the exact one), marking it f32 again gives back the exact result bit for
 * bit, and the direct loops (depthwise, few taps) stay exact whatever the mark. */
static void
test_conv_f32_unchanged (void)
{
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  static const ConvShape shapes[] = {
    { 1, 40, 9, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1 },  /* im2col */
    { 1, 40, 9, 7, 8, 1, 1, 1, 0, 0, 0, 0, 1 },  /* pointwise */
    { 1, 8, 9, 7, 8, 3, 3, 1, 1, 1, 1, 1, 8 },   /* depthwise: direct */
    { 1, 3, 9, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1 },   /* 27 taps: direct */
  };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
    const ConvShape *cs = &shapes[i];
    gboolean direct = i >= 2;
    TsConv2dParams p = { .stride_y = cs->stride, .stride_x = cs->stride,
                         .pad_top = cs->pad_top, .pad_left = cs->pad_left,
                         .pad_bottom = cs->pad_bottom, .pad_right = cs->pad_right,
                         .groups = cs->groups };
    g_autoptr (TsTensor) x = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                    (int64_t[]) { cs->n, cs->c, cs->h, cs->w },
                                                    -1, 1, NULL);
    g_autoptr (TsTensor) w = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                    (int64_t[]) { cs->o, cs->c / cs->groups,
                                                                  cs->kh, cs->kw }, -1, 1, NULL);
    g_autoptr (TsTensor) y0 = ts_conv2d (be, x, w, NULL, &p);
    g_autofree float *exact = ts_test_read (y0);
    size_t bytes = sizeof (float) * ts_tensor_numel (y0);
    for (TsPrecision prec = TS_PRECISION_BF16; prec <= TS_PRECISION_INT8; prec++) {
      ts_cpu_weight_set_precision (w, prec);
      g_autoptr (TsTensor) y1 = ts_conv2d (be, x, w, NULL, &p);
      g_autofree float *reduced = ts_test_read (y1);
      if (direct)
        g_assert_cmpmem (reduced, bytes, exact, bytes);
      else
        g_assert_cmpint (memcmp (reduced, exact, bytes), !=, 0);
    }
    ts_cpu_weight_set_precision (w, TS_PRECISION_F32);
    g_autoptr (TsTensor) y2 = ts_conv2d (be, x, w, NULL, &p);
    g_autofree float *again = ts_test_read (y2);
    g_assert_cmpmem (again, bytes, exact, bytes);
  }
}

/* n values drawn uniformly from [-1, 1). */
static float *
uniform_values (GRand *rand, int64_t n)
{
  float *v = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  return v;
}

/* A safetensors file of f32 tensors (names[i] of ndims[i] dimensions shapes[i], values[i]) in
 * a fresh temporary folder; remove_weights_file takes both away. */
static char *
write_weights_file (int n, const char *const *names, const int *ndims,
                    const int64_t *const *shapes, float *const *values)
{
  g_autoptr (TsSafetensorsWriter) wr = ts_safetensors_writer_new ();
  for (int i = 0; i < n; i++)
    g_assert_true (ts_safetensors_writer_add (wr, names[i], TS_DTYPE_F32, ndims[i], shapes[i],
                                              values[i], NULL));
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tessera-weights-XXXXXX", &error);
  g_assert_no_error (error);
  char *path = g_build_filename (dir, "w.safetensors", NULL);
  g_assert_true (ts_safetensors_writer_write (wr, path, NULL));
  return path;
}

static void
remove_weights_file (char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
}

/* A conv kernel loaded for a network that asked for int8 (ts_weights_load marks every
 * tensor of two or more dimensions) is packed by its first convolution, and over a file's
 * mapping gives its f32 pages back then, like a linear weight. */
static void
test_conv_weights_marked (void)
{
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  int64_t o = 64, cg = 128; /* 288 KiB of f32 kernel: many whole pages */
  int64_t wshape[4] = { o, cg, 3, 3 }, numel = o * cg * 9;
  g_autofree float *wv = uniform_values (rand, numel);
  char *path = write_weights_file (1, (const char *[]) { "conv.weight" }, (int[]) { 4 },
                                   (const int64_t *[]) { wshape }, &wv);
  TsSafetensors *st = ts_safetensors_open (path, NULL);
  g_assert_nonnull (st);
  g_autoptr (TsTensor) x = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                  (int64_t[]) { 1, cg, 6, 5 }, -1, 1, NULL);
  TsConv2dParams p = { 1, 1, 1, 1, 1, 1, 1 };
  g_autoptr (TsTensor) wmem = ts_test_tensor (be, TS_DTYPE_F32, 4, wshape, wv);
  g_autoptr (TsTensor) yexact = ts_conv2d (be, x, wmem, NULL, &p);
  g_autofree float *exact = ts_test_read (yexact);
  size_t bytes = sizeof (float) * ts_tensor_numel (yexact);

  g_autoptr (TsWeights) weights = ts_weights_new (&st, 1, "test", NULL);
  ts_weights_set_precision (weights, TS_PRECISION_INT8);
  g_autoptr (TsTensor) w = ts_weights_load (weights, "conv.weight", be, TS_DTYPE_COUNT, NULL);
  g_assert_nonnull (w);
  const float *data = ts_cpu_tensor_data (w);
  g_assert_cmpmem (data, numel * 4, wv, numel * 4);
  int whole, before = present_pages (data, numel * 4, &whole);
  g_autoptr (TsTensor) y = ts_conv2d (be, x, w, NULL, &p);
  g_autofree float *got = ts_test_read (y);
  int after = present_pages (data, numel * 4, &whole);
  g_assert_cmpint (memcmp (got, exact, bytes), !=, 0);
  if (before >= 0) {
    g_assert_cmpint (before, ==, whole);
    g_assert_cmpint (after, ==, 0);
  }
  /* the same kernel marked by hand multiplies the same way */
  ts_cpu_weight_set_precision (wmem, TS_PRECISION_INT8);
  g_autoptr (TsTensor) y2 = ts_conv2d (be, x, wmem, NULL, &p);
  g_autofree float *got2 = ts_test_read (y2);
  g_assert_cmpmem (got2, bytes, got, bytes);
  ts_safetensors_unref (st);
  remove_weights_file (path);
}

/* A weight marked for int8 still reads exactly wherever it is not a linear weight: an
 * embedding lookup, a product with it untransposed. And the packed path really ran: its
 * result is not the exact one. */
static void
test_other_uses_exact (void)
{
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  int64_t n = 6, k = 130;
  g_autofree float *wv = NULL, *av = NULL;
  g_autoptr (TsTensor) w = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 2,
                                                  (int64_t[]) { n, k }, -1, 1, &wv);
  g_autoptr (TsTensor) a = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 2,
                                                  (int64_t[]) { 3, k }, -1, 1, &av);
  g_autoptr (TsTensor) exact = ts_linear (be, a, w, NULL);
  g_autofree float *exact_v = ts_test_read (exact);
  ts_cpu_weight_set_precision (w, TS_PRECISION_INT8);
  g_autoptr (TsTensor) packed = ts_linear (be, a, w, NULL);
  g_autofree float *packed_v = ts_test_read (packed);
  g_assert_cmpint (memcmp (exact_v, packed_v, sizeof (float) * 3 * n), !=, 0);
  /* back to f32: exact again */
  ts_cpu_weight_set_precision (w, TS_PRECISION_F32);
  g_autoptr (TsTensor) packed2 = ts_linear (be, a, w, NULL);
  g_autofree float *packed2_v = ts_test_read (packed2);
  g_assert_cmpint (memcmp (exact_v, packed2_v, sizeof (float) * 3 * n), ==, 0);

  ts_cpu_weight_set_precision (w, TS_PRECISION_INT8);
  int32_t ids[2] = { 5, 1 };
  g_autoptr (TsTensor) idt = ts_tensor_new_from_data (be, TS_DTYPE_I32, 1, (int64_t[]) { 2 }, ids);
  g_autoptr (TsTensor) rows = ts_embedding (be, w, idt);
  g_autofree float *rows_v = ts_test_read (rows);
  g_assert_cmpint (memcmp (rows_v, wv + 5 * k, sizeof (float) * k), ==, 0);
  g_assert_cmpint (memcmp (rows_v + k, wv + 1 * k, sizeof (float) * k), ==, 0);
  /* w as an untransposed [n, k] right operand: a2[3, n] · w */
  g_autofree float *a2v = NULL;
  g_autoptr (TsTensor) a2 = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 2,
                                                   (int64_t[]) { 3, n }, -1, 1, &a2v);
  g_autoptr (TsTensor) prod = ts_matmul (be, a2, w, NULL, TS_MATMUL_NONE);
  g_autofree float *prod_v = ts_test_read (prod);
  for (int64_t i = 0; i < 3; i++)
    for (int64_t j = 0; j < k; j++) {
      double s = 0, sa = 0;
      for (int64_t r = 0; r < n; r++) {
        s += (double) a2v[i * n + r] * wv[r * k + j];
        sa += fabs ((double) a2v[i * n + r] * wv[r * k + j]);
      }
      g_assert_cmpfloat (fabs (prod_v[i * k + j] - s), <=, 1e-6 * sa + 1e-30);
    }
}

/* Pages of [data, data + bytes) this process has mapped (/proc/self/pagemap's present bit),
 * and how many whole pages that range spans; -1 when pagemap cannot be read. */
static int
present_pages (const void *data, size_t bytes, int *whole)
{
  long page = sysconf (_SC_PAGESIZE);
  uintptr_t begin = ((uintptr_t) data + page - 1) / page, end = ((uintptr_t) data + bytes) / page;
  *whole = (int) (end - begin);
  FILE *f = fopen ("/proc/self/pagemap", "rb");
  if (!f)
    return -1;
  int present = 0;
  for (uintptr_t pg = begin; pg < end; pg++) {
    guint64 entry = 0;
    if (fseeko (f, (off_t) (pg * 8), SEEK_SET) != 0 || fread (&entry, 8, 1, f) != 1) {
      fclose (f);
      return -1;
    }
    present += (entry >> 63) & 1;
  }
  fclose (f);
  return present;
}

/* int8 memory (issue 21): a quantised weight over a file's mapping gives its f32 pages back
 * once packed, reads the same values again afterwards, and multiplies exactly as the same
 * weight loaded from memory, whose bytes are kept. */
static void
test_mapped_weight_pages_given_back (void)
{
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  int64_t n = 96, k = 1024, m = 3; /* 384 KiB of f32: many whole pages */
  g_autofree float *wv = g_new (float, n * k);
  for (int64_t i = 0; i < n * k; i++)
    wv[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  g_autoptr (TsSafetensorsWriter) wr = ts_safetensors_writer_new ();
  g_assert_true (ts_safetensors_writer_add (wr, "w", TS_DTYPE_F32, 2, (int64_t[]) { n, k }, wv,
                                            NULL));
  g_autoptr (GBytes) file_bytes = ts_safetensors_writer_to_bytes (wr, NULL);
  g_autofree char *dir = g_dir_make_tmp ("tessera-pages-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "w.safetensors", NULL);
  g_assert_true (ts_safetensors_writer_write (wr, path, NULL));

  TsSafetensors *sts[2] = { ts_safetensors_open (path, NULL),
                            ts_safetensors_new_from_bytes (file_bytes, "memory", NULL) };
  g_assert_true (ts_safetensors_is_mapped (sts[0]));
  g_assert_false (ts_safetensors_is_mapped (sts[1]));
  g_autofree float *av = NULL;
  g_autoptr (TsTensor) a = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 2,
                                                  (int64_t[]) { m, k }, -1, 1, &av);
  float *out[2] = { NULL, NULL };   /* freed below: g_autofree on an array frees only out[0] */
  for (int i = 0; i < 2; i++) {
    g_autoptr (TsWeights) weights = ts_weights_new (&sts[i], 1, "test", NULL);
    ts_weights_set_precision (weights, TS_PRECISION_INT8);
    g_autoptr (TsTensor) w = ts_weights_load (weights, "w", be, TS_DTYPE_COUNT, NULL);
    g_assert_nonnull (w);
    const float *data = ts_cpu_tensor_data (w);
    g_assert_cmpmem (data, n * k * 4, wv, n * k * 4); /* every page touched */
    int whole, before = present_pages (data, n * k * 4, &whole);
    g_autoptr (TsTensor) y = ts_linear (be, a, w, NULL);
    out[i] = ts_test_read (y);
    int after = present_pages (data, n * k * 4, &whole);
    if (before >= 0) {
      g_assert_cmpint (whole, >=, 90);
      g_assert_cmpint (before, ==, whole);
      /* mapped: every whole page given back; memory: kept */
      g_assert_cmpint (after, ==, i == 0 ? 0 : whole);
    } else {
      g_test_message ("no /proc/self/pagemap: residency not checked");
    }
    g_assert_cmpmem (data, n * k * 4, wv, n * k * 4); /* read again from the file */
    /* and a second product uses the packed form, same result */
    g_autoptr (TsTensor) y2 = ts_linear (be, a, w, NULL);
    g_autofree float *again = ts_test_read (y2);
    g_assert_cmpmem (again, m * n * 4, out[i], m * n * 4);
  }
  g_assert_cmpmem (out[0], m * n * 4, out[1], m * n * 4);
  g_free (out[0]);
  g_free (out[1]);
  ts_safetensors_unref (sts[0]);
  ts_safetensors_unref (sts[1]);
  g_unlink (path);
  g_rmdir (dir);
}

/* Packing at load (issue 21): ts_prepare_linear_weight / ts_prepare_conv2d_weight pack a
 * weight its network wants at int8 before any product (over a file's mapping, its f32 pages
 * are gone at once), and the products then equal those of a weight packed by its first use;
 * a depthwise kernel (the direct loops) and an f32 weight are left as they are. */
static void
test_prepared_at_load (void)
{
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  int64_t n = 96, k = 1024, o = 64, cg = 128, dc = 256;
  int64_t lshape[2] = { n, k }, cshape[4] = { o, cg, 3, 3 }, dshape[4] = { dc, 1, 3, 3 };
  const char *names[3] = { "lin", "conv", "dw" };
  const int ndims[3] = { 2, 4, 4 };
  const int64_t *shapes[3] = { lshape, cshape, dshape };
  int64_t numel[3] = { n * k, o * cg * 9, dc * 9 };
  float *vals[3];
  for (int i = 0; i < 3; i++)
    vals[i] = uniform_values (rand, numel[i]);
  char *path = write_weights_file (3, names, ndims, shapes, vals);

  for (int prec = 0; prec < 2; prec++) {
    TsSafetensors *st = ts_safetensors_open (path, NULL);
    g_assert_nonnull (st);
    g_autoptr (TsWeights) weights = ts_weights_new (&st, 1, "test", NULL);
    ts_weights_set_precision (weights, prec ? TS_PRECISION_INT8 : TS_PRECISION_F32);
    TsTensor *w[3];
    int whole[3], before[3], after[3];
    for (int i = 0; i < 3; i++) {
      w[i] = ts_weights_load (weights, names[i], be, TS_DTYPE_COUNT, NULL);
      g_assert_nonnull (w[i]);
      g_assert_cmpmem (ts_cpu_tensor_data (w[i]), numel[i] * 4, vals[i], numel[i] * 4);
      before[i] = present_pages (ts_cpu_tensor_data (w[i]), numel[i] * 4, &whole[i]);
    }
    g_autoptr (GError) error = NULL;
    g_assert_true (ts_prepare_linear_weight (be, w[0], &error));
    g_assert_true (ts_prepare_conv2d_weight (be, w[1], 1, &error));
    g_assert_true (ts_prepare_conv2d_weight (be, w[2], (int) dc, &error));
    g_assert_no_error (error);
    for (int i = 0; i < 3; i++)
      after[i] = present_pages (ts_cpu_tensor_data (w[i]), numel[i] * 4, &whole[i]);
    if (before[0] >= 0) {
      g_assert_cmpint (whole[0], >=, 90);
      g_assert_cmpint (whole[1], >=, 60);
      for (int i = 0; i < 3; i++) {
        g_assert_cmpint (before[i], ==, whole[i]);
        /* packed: pages given back; the depthwise kernel and every f32 weight: kept */
        g_assert_cmpint (after[i], ==, prec && i < 2 ? 0 : whole[i]);
      }
    } else {
      g_test_message ("no /proc/self/pagemap: residency not checked");
    }

    /* the products: as a weight in memory, marked the same way, packed by its first use */
    g_autoptr (TsTensor) a = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 2,
                                                    (int64_t[]) { 3, k }, -1, 1, NULL);
    g_autoptr (TsTensor) x = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                    (int64_t[]) { 1, cg, 6, 5 }, -1, 1, NULL);
    TsConv2dParams p = { 1, 1, 1, 1, 1, 1, 1 };
    g_autoptr (TsTensor) lmem = ts_test_tensor (be, TS_DTYPE_F32, 2, lshape, vals[0]);
    g_autoptr (TsTensor) cmem = ts_test_tensor (be, TS_DTYPE_F32, 4, cshape, vals[1]);
    if (prec) {
      ts_cpu_weight_set_precision (lmem, TS_PRECISION_INT8);
      ts_cpu_weight_set_precision (cmem, TS_PRECISION_INT8);
    }
    TsTensor *got[2] = { ts_linear (be, a, w[0], NULL), ts_conv2d (be, x, w[1], NULL, &p) };
    TsTensor *want[2] = { ts_linear (be, a, lmem, NULL), ts_conv2d (be, x, cmem, NULL, &p) };
    for (int i = 0; i < 2; i++) {
      g_autofree float *gv = ts_test_read (got[i]), *wv = ts_test_read (want[i]);
      g_assert_cmpmem (gv, ts_tensor_numel (got[i]) * 4, wv, ts_tensor_numel (want[i]) * 4);
      ts_tensor_unref (got[i]);
      ts_tensor_unref (want[i]);
    }
    for (int i = 0; i < 3; i++)
      ts_tensor_unref (w[i]);
    ts_safetensors_unref (st);
  }
  for (int i = 0; i < 3; i++)
    g_free (vals[i]);
  remove_weights_file (path);
}

/* ts_nn_weights_defer_packing (the VQ encoder's weights): a deferred kernel keeps its file
 * pages and is packed by its first product, one loaded after the deferral ends is packed at
 * once; both products equal the in-memory weight's. */
static void
test_deferred_packing (void)
{
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  int64_t o = 64, cg = 128, shape[4] = { o, cg, 3, 3 }, numel = o * cg * 9;
  g_autofree float *vals = uniform_values (rand, numel);
  char *path = write_weights_file (2, (const char *[]) { "enc", "dec" }, (int[]) { 4, 4 },
                                   (const int64_t *[]) { shape, shape },
                                   (float *[]) { vals, vals });

  TsSafetensors *st = ts_safetensors_open (path, NULL);
  g_assert_nonnull (st);
  g_autoptr (TsWeights) weights = ts_weights_new (&st, 1, "test", NULL);
  ts_safetensors_unref (st);
  ts_weights_set_precision (weights, TS_PRECISION_INT8);
  g_autoptr (TsNnWeights) w = ts_nn_weights_new (be, weights, "test", TS_DTYPE_COUNT);
  ts_nn_weights_defer_packing (w, TRUE);
  TsTensor *enc = ts_nn_conv_weight (w, shape, 1, "enc");
  ts_nn_weights_defer_packing (w, FALSE);
  TsTensor *dec = ts_nn_conv_weight (w, shape, 1, "dec");
  g_autoptr (GError) error = NULL;
  g_assert_true (ts_nn_weights_finish (w, NULL, &error));
  g_assert_no_error (error);
  int whole, dec_pages = present_pages (ts_cpu_tensor_data (dec), numel * 4, &whole);
  /* read whole (so present) as loaded; a kernel packed already would not give them back again */
  g_assert_cmpmem (ts_cpu_tensor_data (enc), numel * 4, vals, numel * 4);
  int enc_pages = present_pages (ts_cpu_tensor_data (enc), numel * 4, &whole);

  g_autoptr (TsTensor) x = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                  (int64_t[]) { 1, cg, 6, 5 }, -1, 1, NULL);
  TsConv2dParams p = { 1, 1, 1, 1, 1, 1, 1 };
  g_autoptr (TsTensor) mem = ts_test_tensor (be, TS_DTYPE_F32, 4, shape, vals);
  ts_cpu_weight_set_precision (mem, TS_PRECISION_INT8);
  g_autoptr (TsTensor) want = ts_conv2d (be, x, mem, NULL, &p);
  g_autofree float *wv = ts_test_read (want);
  TsTensor *use[2] = { enc, dec };
  for (int i = 0; i < 2; i++) {
    g_autoptr (TsTensor) got = ts_conv2d (be, x, use[i], NULL, &p);
    g_autofree float *gv = ts_test_read (got);
    g_assert_cmpmem (gv, ts_tensor_numel (got) * 4, wv, ts_tensor_numel (want) * 4);
  }
  if (enc_pages >= 0) {
    g_assert_cmpint (whole, >=, 60);
    g_assert_cmpint (enc_pages, ==, whole);
    g_assert_cmpint (dec_pages, ==, 0); /* packed while loading: given back */
    /* deferred: packed by the first product, which gave the pages back */
    g_assert_cmpint (present_pages (ts_cpu_tensor_data (enc), numel * 4, &whole), ==, 0);
  } else {
    g_test_message ("no /proc/self/pagemap: residency not checked");
  }
  g_clear_pointer (&w, ts_nn_weights_free);
  remove_weights_file (path);
}

/* A weight stored as f16 packs from its f16 values. */
static void
test_f16_source (void)
{
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  int64_t m = 3, n = 5, k = 200;
  g_autofree float *wv = NULL, *av = NULL;
  g_autoptr (TsTensor) w = ts_test_random_tensor (be, rand, TS_DTYPE_F16, 2,
                                                  (int64_t[]) { n, k }, -1, 1, &wv);
  g_autoptr (TsTensor) a = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 2,
                                                  (int64_t[]) { m, k }, -1, 1, &av);
  for (TsPrecision p = TS_PRECISION_BF16; p <= TS_PRECISION_INT8; p++) {
    ts_cpu_weight_set_precision (w, p);
    g_autoptr (TsTensor) out = ts_linear (be, a, w, NULL);
    g_autofree float *got = ts_test_read (out);
    gboolean fast = p == TS_PRECISION_BF16 ? ts_cpu_bf16_rounds_activations ()
                                           : ts_cpu_has_avx512_vnni () || ts_cpu_has_avx_vnni ();
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double want, exact, fb, ab;
        reference (p, fast, av + i * k, wv + j * k, k, &want, &exact, &fb, &ab);
        g_assert_cmpfloat (fabs (got[i * n + j] - exact), <=, fb);
      }
  }
}

/* The activation rows every product prepares (vectorised where the CPU has AVX2) carry the
 * documented rounding bit for bit: bf16 per value, int8 per block, on rows with ties
 * (x·127/max = n + ½), subnormals, zero blocks, infinities and NaN, and k off the blocks. */
static void
check_row_forms (void)
{
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  static const int64_t ks[] = { 1, 15, 16, 17, 127, 128, 129, 300, 512 };
  for (guint ki = 0; ki < G_N_ELEMENTS (ks); ki++)
    for (int kind = 0; kind < 6; kind++) {
      int64_t k = ks[ki], kp = (k + QB - 1) / QB * QB, nb = kp / QB;
      g_autofree float *x = g_new0 (float, kp);
      for (int64_t i = 0; i < k; i++) {
        float u = (float) g_rand_double_range (rand, -1.0, 1.0);
        switch (kind) {
        case 0: x[i] = u; break;
        case 1: x[i] = i % 2 ? (float) (i % 255 - 127) / 254.0f : (i % 3 ? 1.0f : -1.0f); break;
        case 2: x[i] = u * 1e-40f; break;                     /* subnormal */
        case 3: x[i] = (i / QB) % 2 ? 0.0f : u * 3e38f; break; /* zero and huge blocks */
        case 4: x[i] = i == k / 2 ? INFINITY : u; break;
        default: x[i] = i == k - 1 ? NAN : u * 1e5f; break;
        }
      }
      g_autofree uint16_t *h = g_new (uint16_t, kp);
      ts_cpu_row_to_bf16 (x, k, kp, h);
      for (int64_t i = 0; i < kp; i++)
        g_assert_cmpuint (h[i], ==, i < k ? ts_f32_to_bf16 (x[i]) : 0);
      g_autofree uint8_t *u8 = g_new (uint8_t, kp);
      g_autofree float *sc = g_new (float, nb), *want_sc = g_new0 (float, nb);
      g_autofree int8_t *want_q = g_new0 (int8_t, kp);
      ts_cpu_row_quantise (x, k, kp, u8, sc);
      quantise (x, k, want_q, want_sc);
      for (int64_t b = 0; b < nb; b++) {
        gboolean finite = TRUE;
        for (int64_t i = b * QB; i < MIN (k, (b + 1) * QB); i++)
          finite &= isfinite (x[i]);
        if (!finite)
          continue; /* the scalar code's business; the products' results are then not finite */
        g_assert_cmpmem (&sc[b], sizeof (float), &want_sc[b], sizeof (float));
        for (int64_t i = b * QB; i < (b + 1) * QB; i++)
          g_assert_cmpint (u8[i], ==, want_q[i] + 128);
      }
    }
}

/* On each path this CPU has: AVX-512 where it has it, AVX2 with the 256-bit kernels chosen
 * (the rows of an AVX-VNNI CPU), scalar nowhere but where neither exists. */
static void
test_row_forms (void)
{
  static const TsCpuKernelChoice choices[] = { TS_CPU_KERNELS_AUTO, TS_CPU_KERNELS_AVX_VNNI };
  gboolean seen[2] = { FALSE, FALSE };
  for (guint c = 0; c < G_N_ELEMENTS (choices); c++) {
    ts_cpu_kernels_choose (choices[c]);
    gboolean wide = ts_cpu_rows_avx512 ();
    if (seen[wide])
      continue;
    seen[wide] = TRUE;
    g_test_message ("activation rows with %s", wide ? "AVX-512" : "AVX2 (or scalar)");
    check_row_forms ();
  }
  ts_cpu_kernels_choose (TS_CPU_KERNELS_AUTO);
  if (!seen[TRUE])
    g_test_message ("the AVX-512 rows not checked: this CPU lacks AVX-512 F/BW/VL");
}

/* What /proc/cpuinfo says of the first CPU: its vendor and whether it lists `flag`. */
static gboolean
cpuinfo_has (const char *vendor, const char *flag)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL))
    return FALSE;
  g_autofree char *v = g_strdup_printf ("vendor_id\t: %s\n", vendor);
  g_autofree char *f = g_strdup_printf (" %s ", flag);
  char *flags = strstr (text, "\nflags\t\t: ");
  char *end = flags ? strchr (flags + 1, '\n') : NULL;
  if (!end)
    return FALSE;
  *end = ' '; /* the last flag ends with a space too */
  end[1] = '\0';
  return strstr (text, v) != NULL && strstr (flags, f) != NULL;
}

/* AUTO's bf16 kernel: VDPBF16PS on AMD's AVX512_BF16 CPUs (full rate there), the FMA kernel on
 * other AVX-512 CPUs, told from /proc/cpuinfo independently of cpu-dispatch.c's CPUID. */
static void
test_bf16_auto_choice (void)
{
  if (!g_file_test ("/proc/cpuinfo", G_FILE_TEST_EXISTS)) {
    g_test_skip ("no /proc/cpuinfo to tell the vendor from");
    return;
  }
  gboolean amd_bf16 = cpuinfo_has ("AuthenticAMD", "avx512_bf16");
  ts_cpu_kernels_choose (TS_CPU_KERNELS_AUTO);
  const char *name = ts_cpu_bf16_kernel_name ();
  g_test_message ("bf16 kernel: %s (AMD with AVX512_BF16: %s)", name, amd_bf16 ? "yes" : "no");
  g_assert_true (ts_cpu_bf16_dot_at_full_rate () == amd_bf16);
  g_assert_true (ts_cpu_bf16_rounds_activations () == amd_bf16);
  if (amd_bf16)
    g_assert_true (g_str_has_prefix (name, "avx512-bf16"));
  else if (ts_cpu_has_avx512 ())
    g_assert_true (g_str_has_prefix (name, "avx512-fma"));
  else
    g_assert_true (g_str_has_prefix (name, "portable"));
}

static void
test_describe_names_kernels (void)
{
  g_autofree char *d = ts_backend_describe (be);
  g_assert_nonnull (strstr (d, "bf16 kernels: "));
  g_assert_nonnull (strstr (d, "int8 kernels: "));
  g_assert_nonnull (strstr (d, "attention: "));
  g_test_message ("%s", d);
  /* forced down to the portable kernels, attention says so too */
  ts_cpu_kernels_choose (TS_CPU_KERNELS_PORTABLE);
  g_autofree char *p = ts_backend_describe (be);
  ts_cpu_kernels_choose (TS_CPU_KERNELS_AUTO);
  g_assert_nonnull (strstr (p, "attention: sgemm pairs"));
}

/* ---- attention at a reduced precision (cpu-attention-bf16.c) ---- */

static double
bf16_value (double x)
{
  return ts_bf16_to_f32 (ts_f32_to_bf16 ((float) x));
}

/* One attention at bf16 against a double reference from the same bf16 operands, the
 * probabilities rounded to bf16 as the kernel rounds them: a probability off by one rounding
 * (2^-8 of itself, the kernel's exp not being exact) moves an output by at most 2^-8 times
 * its spread of values, so the bound is 2^-7 · max|v| (and a little for the f32 sums). */
static void
check_attention_bf16 (GRand *rand, const int64_t shape[6])
{
  int64_t nb = shape[0], nq = shape[1], nk = shape[2], h = shape[3], d = shape[4], dv = shape[5];
  g_autofree float *qv = NULL, *kv = NULL, *vv = NULL;
  g_autoptr (TsTensor) q = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                  (int64_t[]) { nb, nq, h, d }, -2, 2, &qv);
  g_autoptr (TsTensor) k = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                  (int64_t[]) { nb, nk, h, d }, -2, 2, &kv);
  g_autoptr (TsTensor) v = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                  (int64_t[]) { nb, nk, h, dv }, -1, 1, &vv);
  float scale = 1.0f / sqrtf ((float) d);
  g_autoptr (TsTensor) o = ts_attention_at (be, q, k, v, scale, FALSE, TS_PRECISION_BF16);
  g_autoptr (TsTensor) exact = ts_attention (be, q, k, v, scale, FALSE);
  g_autofree float *got = ts_test_read (o), *want_f32 = ts_test_read (exact);
  g_autofree double *s = g_new (double, nk), *p = g_new (double, nk);
  int bad = 0, differ = 0;
  for (int64_t b = 0; b < nb; b++)
    for (int64_t hh = 0; hh < h; hh++)
      for (int64_t i = 0; i < nq && bad < 5; i++) {
        double mx = -INFINITY, sum = 0.0, vmax = 0.0;
        for (int64_t j = 0; j < nk; j++) {
          double acc = 0.0;
          for (int64_t c = 0; c < d; c++)
            acc += bf16_value (qv[((b * nq + i) * h + hh) * d + c]) *
                   bf16_value (kv[((b * nk + j) * h + hh) * d + c]);
          s[j] = scale * acc;
          mx = MAX (mx, s[j]);
        }
        for (int64_t j = 0; j < nk; j++) {
          p[j] = bf16_value (exp (s[j] - mx));
          sum += p[j];
        }
        for (int64_t c = 0; c < dv; c++) {
          double acc = 0.0;
          for (int64_t j = 0; j < nk; j++) {
            double vj = bf16_value (vv[((b * nk + j) * h + hh) * dv + c]);
            acc += p[j] * vj;
            vmax = MAX (vmax, fabs (vj));
          }
          double want = acc / sum, bound = 0x1p-7 * vmax + 1e-5;
          int64_t at = ((b * nq + i) * h + hh) * dv + c;
          differ += got[at] != want_f32[at];
          if (!isfinite (got[at]) || fabs (got[at] - want) > bound ||
              fabs (got[at] - want_f32[at]) > 0.05) {
            g_test_message ("attention %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "q x%" G_GINT64_FORMAT
                            "k x%" G_GINT64_FORMAT "h d %" G_GINT64_FORMAT " dv %" G_GINT64_FORMAT
                            ": out[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                            ",%" G_GINT64_FORMAT "] = %.9g, bf16 reference %.9g (±%.3g), f32 %.9g",
                            nb, nq, nk, h, d, dv, b, i, hh, c, got[at], want, bound, want_f32[at]);
            bad++;
          }
        }
      }
  if (bad)
    g_test_fail ();
  /* it did run in bf16: the exact attention gives other values */
  g_assert_cmpint (differ, >, 0);
}

/* On the VDPBF16PS kernel a bf16 (or int8) network's attention multiplies in bf16: odd key
 * counts (padding of keys and of key pairs), query counts off the 8-row tiles, head sizes
 * with value panels of 16 and a tail (40: the shipped model's), text-length keys (77). On
 * any other kernel choice the request gives the exact attention, bit for bit. */
static void
test_attention_bf16 (void)
{
  g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ());
  static const int64_t shapes[][6] = {
    { 2, 37, 77, 3, 40, 40 }, { 1, 64, 256, 2, 64, 64 }, { 1, 9, 5, 1, 8, 24 },
    { 2, 8, 17, 2, 64, 16 },
  };
  if (ts_cpu_has_avx512_bf16 ()) {
    ts_cpu_kernels_choose (TS_CPU_KERNELS_BF16_DOT);
    for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
      check_attention_bf16 (rand, shapes[i]);
  } else {
    g_test_message ("no AVX512_BF16 here: only the exact fallback is checked");
  }
  for (TsCpuKernelChoice c = TS_CPU_KERNELS_PORTABLE; c <= TS_CPU_KERNELS_BF16_FMA; c++) {
    if (c == TS_CPU_KERNELS_BF16_DOT)
      continue;
    ts_cpu_kernels_choose (c);
    g_autoptr (TsTensor) q = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                    (int64_t[]) { 1, 20, 2, 40 }, -2, 2, NULL);
    g_autoptr (TsTensor) kv = ts_test_random_tensor (be, rand, TS_DTYPE_F32, 4,
                                                     (int64_t[]) { 1, 33, 2, 40 }, -1, 1, NULL);
    g_autoptr (TsTensor) a = ts_attention_at (be, q, kv, kv, 0.2f, FALSE, TS_PRECISION_BF16);
    g_autoptr (TsTensor) e = ts_attention (be, q, kv, kv, 0.2f, FALSE);
    g_autofree float *av = ts_test_read (a), *ev = ts_test_read (e);
    g_assert_cmpmem (av, sizeof (float) * 20 * 2 * 40, ev, sizeof (float) * 20 * 2 * 40);
  }
  ts_cpu_kernels_choose (TS_CPU_KERNELS_AUTO);
}

static const Case cases[] = {
  { TS_CPU_KERNELS_BF16_FMA, TS_PRECISION_BF16, TRUE, FALSE },
  { TS_CPU_KERNELS_BF16_DOT, TS_PRECISION_BF16, TRUE, TRUE },
  { TS_CPU_KERNELS_PORTABLE, TS_PRECISION_BF16, FALSE, FALSE },
  { TS_CPU_KERNELS_AUTO, TS_PRECISION_INT8, TRUE, TRUE },
  { TS_CPU_KERNELS_AVX_VNNI, TS_PRECISION_INT8, TRUE, TRUE },
  { TS_CPU_KERNELS_PORTABLE, TS_PRECISION_INT8, FALSE, FALSE },
};
static const char *const case_names[] = {
  "/cpu-precision/bf16/avx512-fma", "/cpu-precision/bf16/avx512-bf16",
  "/cpu-precision/bf16/portable",
  "/cpu-precision/int8/avx512-vnni", "/cpu-precision/int8/avx-vnni",
  "/cpu-precision/int8/portable",
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  be = ts_backend_new_cpu (0, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *conv = g_strdup_printf ("/cpu-precision/conv/%s",
                                             case_names[i] + strlen ("/cpu-precision/"));
    g_test_add_data_func (case_names[i], &cases[i], test_path);
    g_test_add_data_func (conv, &cases[i], test_conv_path);
  }
  g_test_add_func ("/cpu-precision/conv/f32-unchanged", test_conv_f32_unchanged);
  g_test_add_func ("/cpu-precision/conv/weights-marked", test_conv_weights_marked);
  g_test_add_func ("/cpu-precision/other-uses-exact", test_other_uses_exact);
  g_test_add_func ("/cpu-precision/attention/bf16", test_attention_bf16);
  g_test_add_func ("/cpu-precision/f16-source", test_f16_source);
  g_test_add_func ("/cpu-precision/row-forms", test_row_forms);
  g_test_add_func ("/cpu-precision/mapped-pages-given-back", test_mapped_weight_pages_given_back);
  g_test_add_func ("/cpu-precision/describe", test_describe_names_kernels);
  g_test_add_func ("/cpu-precision/bf16/auto-choice", test_bf16_auto_choice);
  g_test_add_func ("/cpu-precision/prepared-at-load", test_prepared_at_load);
  g_test_add_func ("/cpu-precision/deferred-packing", test_deferred_packing);
  int status = g_test_run ();
  ts_backend_free (be);
  return status;
}
