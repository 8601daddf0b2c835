/* test-ops-cpu.c — every op on the CPU backend against the naive references in ref-ops.c,
 * at odd sizes, large magnitudes, strided and broadcast inputs and reduced-precision
 * weights; plus bad input through the public API, which must give errors, never aborts. */
#include "ref-ops.h"
#include "test-common.h"

#include "ts-backend-private.h"
#include "cpu/cpu-precision.h"
#include "cpu/cpu-util.h"

#include <math.h>
#include <string.h>

static TsBackend *be;

/* nmse limits: f32 results are accumulated in f32 (sgemm) or better; references in double. */
#define LIM_GEMM 1e-10 /* dot products of up to ~1000 terms */
#define LIM_EXACT 1e-13 /* elementwise arithmetic, norms */
#define LIM_TRANS 1e-11 /* exp/erf approximations */

#define RAND g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ())

static TsTensor *
rnd (GRand *rand, TsDType dt, int nd, const int64_t *shape, float lo, float hi, float **vals)
{
  return ts_test_random_tensor (be, rand, dt, nd, shape, lo, hi, vals);
}

#define SHAPE(...) ((const int64_t[]) { __VA_ARGS__ })
#define NDIM(...) ((int) (sizeof ((int64_t[]) { __VA_ARGS__ }) / sizeof (int64_t)))

/* ---- matmul, linear ---- */

static void
check_matmul (GRand *rand, int64_t batch, int64_t m, int64_t n, int64_t k, gboolean ta,
              gboolean tb, gboolean shared_b, TsDType bdt, TsDType biasdt, float mag)
{
  g_autofree char *what = g_strdup_printf ("matmul b%" G_GINT64_FORMAT " %" G_GINT64_FORMAT "x%"
                                           G_GINT64_FORMAT "x%" G_GINT64_FORMAT " ta=%d tb=%d "
                                           "shared=%d %s bias=%s", batch, m, n, k, ta, tb,
                                           shared_b, ts_dtype_name (bdt),
                                           biasdt == TS_DTYPE_COUNT ? "none" : ts_dtype_name (biasdt));
  g_autofree float *av = NULL, *bv = NULL, *biasv = NULL;
  int64_t ashape[3] = { batch, ta ? k : m, ta ? m : k };
  int64_t bshape[3] = { batch, tb ? n : k, tb ? k : n };
  g_autoptr (TsTensor) a = rnd (rand, TS_DTYPE_F32, batch > 1 ? 3 : 2,
                                batch > 1 ? ashape : ashape + 1, -mag, mag, &av);
  g_autoptr (TsTensor) b = shared_b ? rnd (rand, bdt, 2, bshape + 1, -mag, mag, &bv)
                                    : rnd (rand, bdt, batch > 1 ? 3 : 2,
                                           batch > 1 ? bshape : bshape + 1, -mag, mag, &bv);
  g_autoptr (TsTensor) bias = biasdt == TS_DTYPE_COUNT ? NULL
                                : rnd (rand, biasdt, 1, &n, -mag, mag, &biasv);
  TsMatmulFlags flags = (ta ? TS_MATMUL_TRANS_A : 0) | (tb ? TS_MATMUL_TRANS_B : 0);
  g_autoptr (TsTensor) out = ts_matmul (be, a, b, bias, flags);
  g_autofree float *want = g_new (float, batch * m * n);
  ref_matmul (av, bv, biasv, want, batch, m, n, k, ta, tb, shared_b || batch == 1);
  ts_test_check_tensor (what, be, out, want, batch * m * n, LIM_GEMM);
  if (out)
    g_assert_cmpint (out->shape[out->ndim - 1], ==, n);
}

static void
test_matmul_shapes (void)
{
  RAND;
  static const int64_t shapes[][3] = {
    { 1, 1, 1 }, { 1, 7, 17 }, { 7, 1, 127 }, { 17, 33, 7 }, { 127, 17, 511 }, { 33, 129, 65 },
  };
  static const TsDType bdts[] = { TS_DTYPE_F32, TS_DTYPE_F16, TS_DTYPE_BF16 };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int f = 0; f < 4; f++)
      for (guint d = 0; d < G_N_ELEMENTS (bdts); d++)
        check_matmul (rand, 1, shapes[s][0], shapes[s][1], shapes[s][2], f & 1, f >> 1, FALSE,
                      bdts[d], (s + f + d) % 3 == 0 ? TS_DTYPE_COUNT
                                                     : (d == 2 ? TS_DTYPE_BF16 : TS_DTYPE_F32),
                      1.0f);
}

static void
test_matmul_batched (void)
{
  RAND;
  for (int f = 0; f < 4; f++) {
    /* batched weights, shared weights, f32 and f16 */
    check_matmul (rand, 6, 7, 17, 33, f & 1, f >> 1, FALSE, TS_DTYPE_F32, TS_DTYPE_F32, 1.0f);
    check_matmul (rand, 6, 7, 17, 33, f & 1, f >> 1, TRUE, TS_DTYPE_F32, TS_DTYPE_COUNT, 1.0f);
    check_matmul (rand, 3, 5, 19, 9, f & 1, f >> 1, TRUE, TS_DTYPE_F16, TS_DTYPE_F32, 1.0f);
    check_matmul (rand, 3, 5, 19, 9, f & 1, f >> 1, FALSE, TS_DTYPE_BF16, TS_DTYPE_COUNT, 1.0f);
  }
  /* big enough for the per-batch threaded BLAS path */
  check_matmul (rand, 2, 256, 200, 400, FALSE, TRUE, FALSE, TS_DTYPE_F32, TS_DTYPE_COUNT, 1.0f);

  /* 4-D: a [2,3,M,K] · b [2,3,K,N] */
  g_autofree float *av = NULL, *bv = NULL;
  g_autoptr (TsTensor) a = rnd (rand, TS_DTYPE_F32, 4, SHAPE (2, 3, 5, 7), -1, 1, &av);
  g_autoptr (TsTensor) b = rnd (rand, TS_DTYPE_F32, 4, SHAPE (2, 3, 7, 4), -1, 1, &bv);
  g_autoptr (TsTensor) out = ts_matmul (be, a, b, NULL, TS_MATMUL_NONE);
  float want[2 * 3 * 5 * 4];
  ref_matmul (av, bv, NULL, want, 6, 5, 4, 7, FALSE, FALSE, FALSE);
  ts_test_check_tensor ("matmul 4-D", be, out, want, G_N_ELEMENTS (want), LIM_GEMM);
  g_assert_cmpint (out->ndim, ==, 4);
  g_assert_cmpint (out->shape[2], ==, 5);
}

static void
test_matmul_magnitude (void)
{
  RAND;
  check_matmul (rand, 1, 17, 33, 127, FALSE, TRUE, FALSE, TS_DTYPE_F32, TS_DTYPE_F32, 1e4f);
  check_matmul (rand, 1, 17, 33, 127, TRUE, FALSE, FALSE, TS_DTYPE_F16, TS_DTYPE_F32, 1e4f);
  check_matmul (rand, 2, 9, 11, 13, FALSE, FALSE, TRUE, TS_DTYPE_BF16, TS_DTYPE_BF16, 1e4f);
}

/* f16 weights wider than one conversion panel (4 MiB of f32). */
static void
test_matmul_panels (void)
{
  RAND;
  check_matmul (rand, 1, 7, 1100, 1024, FALSE, TRUE, FALSE, TS_DTYPE_F16, TS_DTYPE_F32, 1.0f);
  check_matmul (rand, 1, 5, 1100, 1024, FALSE, FALSE, FALSE, TS_DTYPE_BF16, TS_DTYPE_COUNT, 1.0f);
  check_matmul (rand, 2, 3, 1100, 1024, TRUE, TRUE, TRUE, TS_DTYPE_F16, TS_DTYPE_COUNT, 1.0f);
}

/* Products big enough to be split among threads: along N, along M, and f16 panels that
 * are too few for the threads (rows split too). */
static void
test_matmul_tiles (void)
{
  RAND;
  for (int f = 0; f < 4; f++) {
    check_matmul (rand, 1, 20, 1000, 500, f & 1, f >> 1, FALSE, TS_DTYPE_F32, TS_DTYPE_F32, 1.0f);
    check_matmul (rand, 1, 700, 20, 700, f & 1, f >> 1, FALSE, TS_DTYPE_F32, TS_DTYPE_COUNT, 1.0f);
  }
  check_matmul (rand, 1, 700, 20, 700, TRUE, TRUE, FALSE, TS_DTYPE_F16, TS_DTYPE_F32, 1.0f);
  check_matmul (rand, 1, 33, 1000, 600, FALSE, FALSE, FALSE, TS_DTYPE_BF16, TS_DTYPE_F32, 1.0f);
}

/* Strided (permuted, sliced) operands: the front-end packs them, the result must not change. */
static void
test_matmul_strided (void)
{
  RAND;
  g_autofree float *basev = NULL, *bv = NULL;
  g_autoptr (TsTensor) base = rnd (rand, TS_DTYPE_F32, 2, SHAPE (19, 40), -1, 1, &basev);
  g_autoptr (TsTensor) sl = ts_tensor_slice (base, 1, 3, 17);            /* [19, 17] */
  g_autoptr (TsTensor) a = ts_tensor_permute (sl, (const int[]) { 1, 0 }); /* [17, 19] */
  g_autofree float *av = ts_test_view_values (base, basev, a);
  g_autoptr (TsTensor) b = rnd (rand, TS_DTYPE_F16, 2, SHAPE (19, 5), -1, 1, &bv);
  g_autoptr (TsTensor) out = ts_matmul (be, a, b, NULL, TS_MATMUL_NONE);
  float want[17 * 5];
  ref_matmul (av, bv, NULL, want, 1, 17, 5, 19, FALSE, FALSE, TRUE);
  ts_test_check_tensor ("matmul strided a", be, out, want, G_N_ELEMENTS (want), LIM_GEMM);
}

static void
test_linear (void)
{
  RAND;
  static const TsDType dts[] = { TS_DTYPE_F32, TS_DTYPE_F16, TS_DTYPE_BF16 };
  for (guint d = 0; d < G_N_ELEMENTS (dts); d++) {
    g_autofree float *xv = NULL, *wv = NULL, *bv = NULL;
    g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 3, SHAPE (2, 7, 33), -3, 3, &xv);
    g_autoptr (TsTensor) w = rnd (rand, dts[d], 2, SHAPE (17, 33), -1, 1, &wv);
    g_autoptr (TsTensor) b = rnd (rand, dts[d], 1, SHAPE (17), -1, 1, &bv);
    g_autoptr (TsTensor) out = ts_linear (be, x, w, b);
    float want[2 * 7 * 17];
    ref_matmul (xv, wv, bv, want, 1, 14, 17, 33, FALSE, TRUE, TRUE);
    ts_test_check_tensor ("linear", be, out, want, G_N_ELEMENTS (want), LIM_GEMM);
    g_assert_cmpint (out->ndim, ==, 3);
    g_assert_cmpint (out->shape[1], ==, 7);
    g_assert_cmpint (out->shape[2], ==, 17);
  }
  /* a single vector */
  g_autofree float *xv = NULL, *wv = NULL;
  g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 1, SHAPE (33), -1, 1, &xv);
  g_autoptr (TsTensor) w = rnd (rand, TS_DTYPE_F32, 2, SHAPE (1, 33), -1, 1, &wv);
  g_autoptr (TsTensor) out = ts_linear (be, x, w, NULL);
  float want[1];
  ref_matmul (xv, wv, NULL, want, 1, 1, 1, 33, FALSE, TRUE, TRUE);
  ts_test_check_tensor ("linear 1-D", be, out, want, 1, LIM_GEMM);
}

/* ---- elementwise ---- */

static void
check_binary (GRand *rand, gboolean mul, int na, const int64_t *sa, int nb, const int64_t *sb,
              float mag)
{
  g_autofree float *av = NULL, *bv = NULL;
  g_autoptr (TsTensor) a = rnd (rand, TS_DTYPE_F32, na, sa, -mag, mag, &av);
  g_autoptr (TsTensor) b = rnd (rand, TS_DTYPE_F32, nb, sb, -mag, mag, &bv);
  int nd;
  int64_t shape[TS_MAX_DIMS];
  int64_t total = ref_broadcast_shape (na, sa, nb, sb, &nd, shape);
  g_autofree float *want = g_new (float, total);
  ref_add_mul (mul, av, na, sa, bv, nb, sb, want);
  g_autoptr (TsTensor) out = mul ? ts_mul (be, a, b) : ts_add (be, a, b);
  g_autofree char *da = ts_tensor_describe (a), *db = ts_tensor_describe (b);
  g_autofree char *what = g_strdup_printf ("%s %s %s", mul ? "mul" : "add", da, db);
  ts_test_check_tensor (what, be, out, want, total, LIM_EXACT);
  g_assert_cmpint (out->ndim, ==, nd);
  for (int i = 0; i < nd; i++)
    g_assert_cmpint (out->shape[i], ==, shape[i]);
}

static void
test_add_mul (void)
{
  RAND;
  static const struct { int na; int64_t sa[4]; int nb; int64_t sb[4]; } cases[] = {
    { 1, { 1 }, 1, { 1 } },
    { 2, { 7, 17 }, 1, { 17 } },
    { 1, { 17 }, 2, { 7, 17 } },
    { 3, { 3, 1, 5 }, 3, { 1, 4, 1 } },
    { 4, { 2, 3, 4, 5 }, 3, { 3, 1, 1 } },
    { 4, { 2, 3, 4, 5 }, 1, { 1 } },
    { 2, { 511, 127 }, 2, { 511, 127 } },
    { 3, { 2, 300, 127 }, 3, { 2, 1, 127 } },
    { 4, { 1, 64, 33, 35 }, 4, { 1, 64, 1, 1 } },
    { 2, { 3, 20000 }, 2, { 3, 1 } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int mul = 0; mul < 2; mul++)
      check_binary (rand, mul, cases[i].na, cases[i].sa, cases[i].nb, cases[i].sb,
                    i % 2 ? 1e4f : 1.0f);
}

/* Strided and reduced-precision operands. */
static void
test_add_strided (void)
{
  RAND;
  g_autofree float *basev = NULL, *bv = NULL;
  g_autoptr (TsTensor) base = rnd (rand, TS_DTYPE_F32, 3, SHAPE (5, 9, 13), -2, 2, &basev);
  g_autoptr (TsTensor) sl = ts_tensor_slice (base, 2, 1, 11);                 /* [5, 9, 11] */
  g_autoptr (TsTensor) a = ts_tensor_permute (sl, (const int[]) { 2, 0, 1 }); /* [11, 5, 9] */
  g_autofree float *av = ts_test_view_values (base, basev, a);
  g_autoptr (TsTensor) b = rnd (rand, TS_DTYPE_F16, 2, SHAPE (5, 9), -2, 2, &bv);
  float want[11 * 5 * 9];
  ref_add_mul (FALSE, av, 3, SHAPE (11, 5, 9), bv, 2, SHAPE (5, 9), want);
  g_autoptr (TsTensor) out = ts_add (be, a, b);
  ts_test_check_tensor ("add strided + f16", be, out, want, G_N_ELEMENTS (want), LIM_EXACT);
  ref_add_mul (TRUE, bv, 2, SHAPE (5, 9), av, 3, SHAPE (11, 5, 9), want);
  g_autoptr (TsTensor) out2 = ts_mul (be, b, a);
  ts_test_check_tensor ("mul f16 · strided", be, out2, want, G_N_ELEMENTS (want), LIM_EXACT);
}

typedef TsTensor *(*UnaryFn) (TsBackend *, TsTensor *);
typedef void (*UnaryRef) (const float *, float *, int64_t);

static void
test_unary (void)
{
  RAND;
  /* gelu's Φ is accurate to ~1e-7 absolute, so a lone tail value (n = 1) is only good to
   * ~1e-5 relative; see test_unary_pointwise_accuracy */
  static const struct { const char *name; UnaryFn fn; UnaryRef ref; double limit; } ops[] = {
    { "silu", ts_silu, ref_silu, LIM_TRANS },
    { "gelu", ts_gelu, ref_gelu, 1e-9 },
    { "quick_gelu", ts_quick_gelu, ref_quick_gelu, LIM_TRANS },
  };
  static const int64_t sizes[] = { 1, 7, 127, 511, 100003 };
  static const float mags[] = { 0.1f, 10.0f, 1e4f };
  for (guint o = 0; o < G_N_ELEMENTS (ops); o++)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
      for (guint m = 0; m < G_N_ELEMENTS (mags); m++) {
        g_autofree float *xv = NULL;
        g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 1, &sizes[s], -mags[m], mags[m], &xv);
        g_autofree float *want = g_new (float, sizes[s]);
        ops[o].ref (xv, want, sizes[s]);
        g_autoptr (TsTensor) out = ops[o].fn (be, x);
        g_autofree char *what = g_strdup_printf ("%s n=%" G_GINT64_FORMAT " ±%g", ops[o].name,
                                                 sizes[s], mags[m]);
        ts_test_check_tensor (what, be, out, want, sizes[s], ops[o].limit);
      }
}

/* Pointwise accuracy where nmse would not notice: gelu/silu on a grid reaching far into
 * both tails. silu must be relatively accurate everywhere; gelu = x·Φ(x) must have Φ to
 * ~1e-7 absolute (what PyTorch's float GELU, 0.5·x·(1 + erff(x/√2)), achieves too). */
static void
test_unary_pointwise_accuracy (void)
{
  int64_t n = 4001;
  g_autofree float *xv = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    xv[i] = -20.0f + 40.0f * i / (n - 1);
  g_autoptr (TsTensor) x = ts_tensor_new_f32 (be, 1, &n, xv);
  g_autoptr (TsTensor) g = ts_gelu (be, x);
  g_autoptr (TsTensor) s = ts_silu (be, x);
  g_autofree float *gv = ts_test_read (g), *sv = ts_test_read (s);
  g_autofree float *gw = g_new (float, n), *sw = g_new (float, n);
  ref_gelu (xv, gw, n);
  ref_silu (xv, sw, n);
  for (int64_t i = 0; i < n; i++) {
    g_assert_cmpfloat (fabs ((double) gv[i] - gw[i]), <=, 3e-7 * fabsf (xv[i]));
    if (sw[i] != 0.0f)
      g_assert_cmpfloat_with_epsilon (sv[i] / sw[i], 1.0, 5e-7);
    else
      g_assert_cmpfloat (sv[i], ==, 0.0f);
  }
}

static void
test_scale (void)
{
  RAND;
  static const int64_t sizes[] = { 1, 17, 100003 };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    g_autofree float *xv = NULL;
    g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 1, &sizes[s], -1e4f, 1e4f, &xv);
    g_autofree float *want = g_new (float, sizes[s]);
    ref_scale (xv, want, sizes[s], -0.37f, 2.5f);
    g_autoptr (TsTensor) out = ts_scale (be, x, -0.37f, 2.5f);
    ts_test_check_tensor ("scale", be, out, want, sizes[s], LIM_EXACT);
  }
  /* f16 input is widened by the front-end */
  g_autofree float *xv = NULL;
  g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_BF16, 2, SHAPE (3, 7), -4, 4, &xv);
  float want[21];
  ref_scale (xv, want, 21, 2.0f, -1.0f);
  g_autoptr (TsTensor) out = ts_scale (be, x, 2.0f, -1.0f);
  ts_test_check_tensor ("scale bf16", be, out, want, 21, LIM_EXACT);
}

static void
test_geglu (void)
{
  RAND;
  static const int64_t cases[][2] = { { 1, 1 }, { 7, 17 }, { 5, 511 }, { 77, 1408 }, { 3, 10000 } };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    int64_t rows = cases[c][0], h = cases[c][1];
    g_autofree float *xv = NULL;
    g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 2, SHAPE (rows, 2 * h), -6, 6, &xv);
    g_autofree float *want = g_new (float, rows * h);
    ref_geglu (xv, want, rows, h);
    g_autoptr (TsTensor) out = ts_geglu (be, x);
    ts_test_check_tensor ("geglu", be, out, want, rows * h, 1e-9);
    g_assert_cmpint (out->shape[1], ==, h);
  }
}

/* ---- softmax, norms ---- */

static void
test_softmax (void)
{
  RAND;
  static const int64_t cases[][2] = { { 1, 1 }, { 7, 7 }, { 17, 77 }, { 127, 511 }, { 3, 4099 } };
  static const float mags[] = { 1.0f, 30.0f, 1e4f };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    for (guint m = 0; m < G_N_ELEMENTS (mags); m++) {
      int64_t rows = cases[c][0], d = cases[c][1], n = rows * d;
      g_autofree float *xv = ts_test_random_values (rand, n, -mags[m], mags[m]);
      /* masked entries, and a fully masked last row when there are several */
      for (int64_t i = 0; i < n; i++)
        if (g_rand_int_range (rand, 0, 5) == 0 || (rows > 1 && i >= (rows - 1) * d))
          xv[i] = -INFINITY;
      g_autoptr (TsTensor) x = ts_tensor_new_f32 (be, 2, SHAPE (rows, d), xv);
      g_autofree float *want = g_new (float, n);
      ref_softmax (xv, want, rows, d);
      g_autoptr (TsTensor) out = ts_softmax (be, x);
      g_autofree char *what = g_strdup_printf ("softmax %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               " ±%g", rows, d, mags[m]);
      ts_test_check_tensor (what, be, out, want, n, LIM_TRANS);
      /* masked entries are exactly zero */
      g_autofree float *got = ts_test_read (out);
      for (int64_t i = 0; i < n; i++)
        if (xv[i] == -INFINITY)
          g_assert_cmpfloat (got[i], ==, 0.0f);
    }
}

static void
test_layer_rms_norm (void)
{
  RAND;
  static const int64_t cases[][2] = { { 1, 1 }, { 7, 7 }, { 17, 127 }, { 33, 1024 }, { 2, 5000 } };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    for (int variant = 0; variant < 4; variant++) {
      int64_t rows = cases[c][0], d = cases[c][1], n = rows * d;
      /* a large common offset is where float statistics would go wrong */
      float center = variant & 1 ? 1e4f : 0.0f, spread = variant & 2 ? 1e3f : 1.0f;
      g_autofree float *xv = NULL, *wv = NULL, *bv = NULL;
      g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 2, SHAPE (rows, d), center - spread,
                                    center + spread, &xv);
      TsDType wdt = variant == 3 ? TS_DTYPE_F16 : TS_DTYPE_F32;
      g_autoptr (TsTensor) w = variant ? rnd (rand, wdt, 1, &d, -2, 2, &wv) : NULL;
      g_autoptr (TsTensor) b = variant >= 2 ? rnd (rand, TS_DTYPE_F32, 1, &d, -2, 2, &bv) : NULL;
      g_autofree float *want = g_new (float, n);
      g_autofree char *what = g_strdup_printf ("norm %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               " variant %d", rows, d, variant);

      ref_layer_norm (xv, wv, bv, want, rows, d, 1e-6f);
      g_autoptr (TsTensor) ln = ts_layer_norm (be, x, w, b, 1e-6f);
      /* d = 1 normalises to exactly 0: compare absolutely */
      ts_test_check_tensor (what, be, ln, want, n, d == 1 ? 1e-20 : 1e-11);

      ref_rms_norm (xv, wv, want, rows, d, 1e-6f);
      g_autoptr (TsTensor) rn = ts_rms_norm (be, x, w, 1e-6f);
      ts_test_check_tensor (what, be, rn, want, n, LIM_EXACT);
    }
}

static void
test_group_norm (void)
{
  RAND;
  static const struct { int64_t n, c, h, w; int groups; float center; } cases[] = {
    { 1, 1, 1, 1, 1, 0 },
    { 2, 6, 5, 7, 3, 0 },
    { 2, 6, 5, 7, 6, 1e4f },
    { 1, 64, 17, 33, 32, 3.0f },
    { 1, 8, 64, 65, 2, 1e4f }, /* groups larger than one work chunk */
    { 3, 4, 9, 1, 1, -50 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    int64_t n = cases[i].n, c = cases[i].c, s = cases[i].h * cases[i].w, total = n * c * s;
    g_autofree float *xv = NULL, *wv = NULL, *bv = NULL;
    g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 4, SHAPE (n, c, cases[i].h, cases[i].w),
                                  cases[i].center - 2, cases[i].center + 2, &xv);
    g_autoptr (TsTensor) w = i % 2 ? rnd (rand, TS_DTYPE_BF16, 1, &c, -2, 2, &wv) : NULL;
    g_autoptr (TsTensor) b = i % 3 ? rnd (rand, TS_DTYPE_F32, 1, &c, -2, 2, &bv) : NULL;
    g_autofree float *want = g_new (float, total);
    ref_group_norm (xv, wv, bv, want, n, c, s, cases[i].groups, 1e-5f);
    g_autoptr (TsTensor) out = ts_group_norm (be, x, cases[i].groups, w, b, 1e-5f);
    g_autofree char *what = g_strdup_printf ("group_norm case %u", i);
    ts_test_check_tensor (what, be, out, want, total, total == 1 ? 1e-20 : 1e-11);
    g_assert_cmpint (out->ndim, ==, 4);
  }
}

/* x's values, read back, are still `vals` (an op must not have written over it). */
static void
assert_unchanged (TsTensor *x, const float *vals)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *now = ts_tensor_read_f32 (x, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (now, ts_tensor_numel (x) * sizeof (float), vals,
                   ts_tensor_numel (x) * sizeof (float));
}

/* group_norm → silu fused, out of place and in place: against the naive references, with
 * the in-place form writing over x only when the caller held the sole reference. */
static void
test_group_norm_silu (void)
{
  RAND;
  static const struct { int64_t n, c, h, w; int groups; float center; } cases[] = {
    { 1, 1, 1, 1, 1, 0 },
    { 2, 6, 5, 7, 3, 0 },
    { 1, 64, 17, 33, 32, 3.0f },
    { 1, 8, 64, 65, 2, 1e4f }, /* groups larger than one work chunk */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    int64_t n = cases[i].n, c = cases[i].c, s = cases[i].h * cases[i].w, total = n * c * s;
    const int64_t *shape = SHAPE (n, c, cases[i].h, cases[i].w);
    g_autofree float *xv = NULL, *wv = NULL, *bv = NULL;
    g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 4, shape, cases[i].center - 2,
                                  cases[i].center + 2, &xv);
    g_autoptr (TsTensor) w = i % 2 ? rnd (rand, TS_DTYPE_F32, 1, &c, -2, 2, &wv) : NULL;
    g_autoptr (TsTensor) b = i % 3 ? rnd (rand, TS_DTYPE_F32, 1, &c, -2, 2, &bv) : NULL;
    g_autofree float *want = g_new (float, total);
    ref_group_norm (xv, wv, bv, want, n, c, s, cases[i].groups, 1e-6f);
    ref_silu (want, want, total);
    g_autofree char *what = g_strdup_printf ("group_norm_silu case %u", i);

    g_autoptr (TsTensor) out = ts_group_norm_silu (be, x, cases[i].groups, w, b, 1e-6f);
    ts_test_check_tensor (what, be, out, want, total, total == 1 ? 1e-20 : LIM_TRANS);
    g_assert_true (out->storage != x->storage);
    assert_unchanged (x, xv);

    /* the only reference: written in place */
    TsTensor *own = ts_copy (be, x, TS_DTYPE_F32);
    TsStorage *mem = own->storage;
    g_autoptr (TsTensor) in_place = ts_group_norm_silu_consume (be, own, cases[i].groups, w, b,
                                                                1e-6f);
    ts_test_check_tensor (what, be, in_place, want, total, total == 1 ? 1e-20 : LIM_TRANS);
    g_assert_true (in_place->storage == mem);
    g_assert_cmpint (in_place->ndim, ==, 4);

    /* another reference (here the caller's x): a new tensor, x untouched */
    g_autoptr (TsTensor) shared = ts_group_norm_silu_consume (be, ts_tensor_ref (x),
                                                              cases[i].groups, w, b, 1e-6f);
    ts_test_check_tensor (what, be, shared, want, total, total == 1 ? 1e-20 : LIM_TRANS);
    g_assert_true (shared->storage != x->storage);
    assert_unchanged (x, xv);
  }
}

/* The in-place form never writes over memory it does not own or cannot hold the result in:
 * views sharing storage, non-contiguous views, other dtypes and mapped (wrapped) memory. */
static void
test_group_norm_silu_not_in_place (void)
{
  RAND;
  int64_t c = 4;
  g_autofree float *xv = NULL;
  g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 4, SHAPE (1, c, 6, 5), -2, 2, &xv);
  g_autofree float *want = g_new (float, 120);
  ref_group_norm (xv, NULL, NULL, want, 1, c, 30, 2, 1e-6f);
  ref_silu (want, want, 120);

  /* a view: x holds the storage too */
  TsTensor *view = ts_tensor_reshape (x, 3, SHAPE (1, c, 30));
  g_autoptr (TsTensor) from_view = ts_group_norm_silu_consume (be, view, 2, NULL, NULL, 1e-6f);
  ts_test_check_tensor ("view", be, from_view, want, 120, LIM_TRANS);
  assert_unchanged (x, xv);

  /* a transposed (non-contiguous) sole reference: computed into a new tensor */
  TsTensor *copy = ts_copy (be, x, TS_DTYPE_F32);
  TsTensor *perm = ts_tensor_permute (copy, (const int[]) { 0, 1, 3, 2 });
  ts_tensor_unref (copy); /* perm alone holds the copy's storage */
  TsStorage *perm_mem = perm->storage;
  g_autoptr (TsTensor) from_perm = ts_group_norm_silu_consume (be, perm, 2, NULL, NULL, 1e-6f);
  float want_t[120];
  for (int64_t i = 0; i < 120; i++) /* [c][6][5] → [c][5][6] */
    want_t[i / 30 * 30 + i % 5 * 6 + i % 30 / 5] = want[i];
  ts_test_check_tensor ("transposed", be, from_perm, want_t, 120, LIM_TRANS);
  g_assert_true (from_perm->storage != perm_mem);

  /* bf16: the f32 result cannot live in its memory */
  g_autofree float *hv = NULL;
  TsTensor *half = rnd (rand, TS_DTYPE_BF16, 4, SHAPE (1, c, 6, 5), -2, 2, &hv);
  TsStorage *half_mem = half->storage;
  g_autoptr (TsTensor) from_half = ts_group_norm_silu_consume (be, half, 2, NULL, NULL, 1e-6f);
  g_assert_nonnull (from_half);
  g_assert_true (from_half->storage != half_mem);
  g_assert_true (from_half->dtype == TS_DTYPE_F32);

  /* memory the backend only wraps (a mapped model file) is never written */
  g_autofree float *host = g_memdup2 (xv, 120 * sizeof (float));
  g_autoptr (GError) error = NULL;
  TsTensor *wrapped = ts_tensor_new_wrapped (be, TS_DTYPE_F32, 4, SHAPE (1, c, 6, 5), host, NULL,
                                             NULL, &error);
  g_assert_no_error (error);
  g_autoptr (TsTensor) from_wrapped = ts_group_norm_silu_consume (be, wrapped, 2, NULL, NULL,
                                                                  1e-6f);
  ts_test_check_tensor ("wrapped", be, from_wrapped, want, 120, LIM_TRANS);
  g_assert_cmpmem (host, 120 * sizeof (float), xv, 120 * sizeof (float));

  /* a NULL input is an error, as for every op */
  g_assert_null (ts_group_norm_silu_consume (be, NULL, 2, NULL, NULL, 1e-6f));
  g_assert_true (ts_backend_take_error (be, NULL));
}

/* ---- the tensor memory pool ---- */

#define MIB ((size_t) 1 << 20)

/* The pool's bound: what it holds (in use + cached) never exceeds the most it ever had in
 * use at once, whatever the order of sizes; cached blocks are reused; blocks too large to
 * cache go back at once. Blocks are mapped, never touched here, so this costs no memory. */
static void
test_pool_bounded (void)
{
  RAND;
  TsCpuPool *pool = ts_cpu_pool_new ();
  size_t live, cached, peak, cap;

  /* eight 3 MiB blocks (4 MiB each, whole huge pages), all released: cached */
  void *blocks[8];
  size_t caps[8];
  for (int i = 0; i < 8; i++)
    g_assert_nonnull (blocks[i] = ts_cpu_pool_alloc (pool, 3 * MIB, &caps[i]));
  for (int i = 0; i < 8; i++)
    ts_cpu_pool_release (pool, blocks[i], caps[i]);
  ts_cpu_pool_usage (pool, &live, &cached, &peak);
  g_assert_cmpuint (live, ==, 0);
  g_assert_cmpuint (cached, ==, 32 * MIB);
  g_assert_cmpuint (peak, ==, 32 * MIB);

  /* a size that does not fit them: the cache makes way instead of adding to the peak */
  void *big = ts_cpu_pool_alloc (pool, 20 * MIB, &cap);
  ts_cpu_pool_usage (pool, &live, &cached, &peak);
  g_assert_cmpuint (live, ==, 20 * MIB);
  g_assert_cmpuint (live + cached, <=, 32 * MIB);
  ts_cpu_pool_release (pool, big, cap);
  size_t cap2;
  g_assert_true (ts_cpu_pool_alloc (pool, 19 * MIB + 1, &cap2) == big); /* reused */
  g_assert_cmpuint (cap2, ==, cap);
  ts_cpu_pool_release (pool, big, cap2);

  /* larger than the cache may hold: unmapped on release */
  ts_cpu_pool_usage (pool, &live, &cached, &peak);
  size_t before = cached;
  void *huge = ts_cpu_pool_alloc (pool, 300 * MIB, &cap);
  g_assert_nonnull (huge);
  ts_cpu_pool_release (pool, huge, cap);
  ts_cpu_pool_usage (pool, &live, &cached, &peak);
  g_assert_cmpuint (cached, <=, before);
  g_assert_cmpuint (peak, >=, 300 * MIB);
  ts_cpu_pool_free (pool);

  /* random sizes and lifetimes: the bound holds after every step */
  pool = ts_cpu_pool_new ();
  void *held[16] = { 0 };
  size_t held_cap[16] = { 0 }, most = 0, in_use = 0;
  for (int step = 0; step < 2000; step++) {
    int k = g_rand_int_range (rand, 0, 16);
    if (held[k]) {
      ts_cpu_pool_release (pool, held[k], held_cap[k]);
      in_use -= held_cap[k];
      held[k] = NULL;
    } else {
      size_t bytes = (size_t) g_rand_int_range (rand, 256 << 10, 48 << 20);
      g_assert_nonnull (held[k] = ts_cpu_pool_alloc (pool, bytes, &held_cap[k]));
      g_assert_cmpuint (held_cap[k], >=, bytes);
      in_use += held_cap[k];
      most = MAX (most, in_use);
    }
    ts_cpu_pool_usage (pool, &live, &cached, &peak);
    g_assert_cmpuint (live, ==, in_use);
    g_assert_cmpuint (peak, ==, most);
    g_assert_cmpuint (live + cached, <=, most);
  }

  /* trimming returns every cached block and restarts the peak from the blocks in use */
  for (int k = 0; k < 8; k++)
    if (held[k]) {
      ts_cpu_pool_release (pool, held[k], held_cap[k]);
      in_use -= held_cap[k];
      held[k] = NULL;
    }
  ts_cpu_pool_trim (pool);
  ts_cpu_pool_usage (pool, &live, &cached, &peak);
  g_assert_cmpuint (cached, ==, 0);
  g_assert_cmpuint (live, ==, in_use);
  g_assert_cmpuint (peak, ==, in_use);
  for (int k = 8; k < 16; k++)
    if (held[k])
      ts_cpu_pool_release (pool, held[k], held_cap[k]);
  ts_cpu_pool_free (pool);
}

/* Sizes in another order than before are served from the pages already held: a larger
 * request gathers cached blocks (their pages moved, contents and all, never zeroed), a
 * smaller one splits a block; nothing is mapped afresh, so what is held stays at the peak;
 * a request larger than the whole cache maps only what the cache lacks.
 * The marks written before release prove the pages are the old ones: fresh memory reads 0. */
static void
test_pool_reuses_pages (void)
{
  TsCpuPool *pool = ts_cpu_pool_new ();
  size_t live, cached, peak, caps[3], cap;
  void *blocks[3];
  for (int i = 0; i < 3; i++) {
    g_assert_nonnull (blocks[i] = ts_cpu_pool_alloc (pool, 4 * MIB, &caps[i]));
    g_assert_cmpuint (caps[i], ==, 4 * MIB);
    memset (blocks[i], 0x11 * (i + 1), caps[i]);
  }
  for (int i = 0; i < 3; i++)
    ts_cpu_pool_release (pool, blocks[i], caps[i]);

  /* 10 MiB out of three cached 4 MiB blocks: gathered, or (where the kernel mapped them
   * side by side and the release joined them) the joined 12 MiB, within a quarter */
  unsigned char *big = ts_cpu_pool_alloc (pool, 10 * MIB, &cap);
  g_assert_nonnull (big);
  g_assert_cmpuint (cap, >=, 10 * MIB);
  g_assert_cmpuint (cap, <=, 12 * MIB);
  ts_cpu_pool_usage (pool, &live, &cached, &peak);
  g_assert_cmpuint (peak, ==, 12 * MIB);
  g_assert_cmpuint (live + cached, ==, 12 * MIB);
  for (size_t off = 0; off < cap; off += 4096)
    g_assert_cmpuint (big[off], !=, 0);
  memset (big, 0x5a, cap);

  /* a 2 MiB request splits what is left or the released 10 MiB, never maps */
  ts_cpu_pool_release (pool, big, cap);
  unsigned char *small = ts_cpu_pool_alloc (pool, 2 * MIB, &cap);
  g_assert_cmpuint (cap, ==, 2 * MIB);
  for (size_t off = 0; off < cap; off += 4096)
    g_assert_cmpuint (small[off], !=, 0);
  ts_cpu_pool_usage (pool, &live, &cached, &peak);
  g_assert_cmpuint (live + cached, ==, 12 * MIB);
  ts_cpu_pool_release (pool, small, cap);

  /* larger than all the cache holds (12 MiB): the new block starts with the cached pages,
   * only the rest is fresh (reads 0), and nothing stays cached beside it */
  unsigned char *larger = ts_cpu_pool_alloc (pool, 20 * MIB, &cap);
  g_assert_nonnull (larger);
  g_assert_cmpuint (cap, ==, 20 * MIB);
  for (size_t off = 0; off < cap; off += 4096)
    g_assert_cmpuint (larger[off] != 0, ==, off < 12 * MIB);
  ts_cpu_pool_usage (pool, &live, &cached, &peak);
  g_assert_cmpuint (live, ==, 20 * MIB);
  g_assert_cmpuint (cached, ==, 0);
  g_assert_cmpuint (peak, ==, 20 * MIB);
  memset (larger, 0x33, cap);
  ts_cpu_pool_release (pool, larger, cap);
  ts_cpu_pool_free (pool);
}

static void
test_grn (void)
{
  RAND;
  static const int64_t cases[][4] = { { 1, 1, 1, 1 }, { 2, 5, 7, 33 }, { 1, 16, 16, 300 },
                                      { 2, 3, 3, 513 } };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    int64_t n = cases[i][0], s = cases[i][1] * cases[i][2], c = cases[i][3], total = n * s * c;
    g_autofree float *xv = NULL, *gv = NULL, *bv = NULL;
    g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 4, cases[i], -3, 3, &xv);
    g_autoptr (TsTensor) gamma = rnd (rand, i % 2 ? TS_DTYPE_F16 : TS_DTYPE_F32, 4,
                                      SHAPE (1, 1, 1, c), -1, 1, &gv);
    g_autoptr (TsTensor) beta = rnd (rand, TS_DTYPE_F32, 1, &c, -1, 1, &bv);
    g_autofree float *want = g_new (float, total);
    ref_grn (xv, gv, bv, want, n, s, c, 1e-6f);
    g_autoptr (TsTensor) out = ts_global_response_norm (be, x, gamma, beta, 1e-6f);
    g_autofree char *what = g_strdup_printf ("grn case %u", i);
    ts_test_check_tensor (what, be, out, want, total, LIM_EXACT);
  }
}

/* ---- attention ---- */

static void
check_attention (GRand *rand, int64_t b, int64_t nq, int64_t nk, int64_t h, int64_t d,
                 int64_t dv, gboolean causal, gboolean packed, float mag)
{
  g_autofree float *qv = NULL, *kv = NULL, *vv = NULL, *qkvv = NULL;
  g_autoptr (TsTensor) q = NULL, k = NULL, v = NULL, qkv = NULL;
  if (packed) {
    /* q, k, v as views of one projection [B, N, 3H, D], as a fused QKV linear gives them */
    g_assert_true (nq == nk && d == dv);
    qkv = rnd (rand, TS_DTYPE_F32, 4, SHAPE (b, nq, 3 * h, d), -mag, mag, &qkvv);
    q = ts_tensor_slice (qkv, 2, 0, h);
    k = ts_tensor_slice (qkv, 2, h, h);
    v = ts_tensor_slice (qkv, 2, 2 * h, h);
    qv = ts_test_view_values (qkv, qkvv, q);
    kv = ts_test_view_values (qkv, qkvv, k);
    vv = ts_test_view_values (qkv, qkvv, v);
  } else {
    q = rnd (rand, TS_DTYPE_F32, 4, SHAPE (b, nq, h, d), -mag, mag, &qv);
    k = rnd (rand, TS_DTYPE_F32, 4, SHAPE (b, nk, h, d), -mag, mag, &kv);
    v = rnd (rand, TS_DTYPE_F32, 4, SHAPE (b, nk, h, dv), -1, 1, &vv);
  }
  float scale = 1.0f / sqrtf ((float) d);
  g_autofree float *want = g_new (float, b * nq * h * dv);
  ref_attention (qv, kv, vv, want, b, nq, nk, h, d, dv, scale, causal);
  g_autoptr (TsTensor) out = ts_attention (be, q, k, v, scale, causal);
  g_autofree char *what = g_strdup_printf ("attention b%" G_GINT64_FORMAT " q%" G_GINT64_FORMAT
                                           " k%" G_GINT64_FORMAT " h%" G_GINT64_FORMAT " d%"
                                           G_GINT64_FORMAT "/%" G_GINT64_FORMAT " causal=%d "
                                           "packed=%d ±%g", b, nq, nk, h, d, dv, causal, packed,
                                           mag);
  ts_test_check_tensor (what, be, out, want, b * nq * h * dv, LIM_GEMM);
}

/* Every score about −120: a row maximum taken over the fused rows' zero padding would turn
 * every exp into 0 (and the output into NaN). */
static void
check_attention_negative (GRand *rand)
{
  g_autofree float *qv = NULL, *kv = NULL, *vv = NULL;
  g_autoptr (TsTensor) q = rnd (rand, TS_DTYPE_F32, 4, SHAPE (1, 11, 2, 16), 5, 6, &qv);
  g_autoptr (TsTensor) k = rnd (rand, TS_DTYPE_F32, 4, SHAPE (1, 21, 2, 16), -6, -5, &kv);
  g_autoptr (TsTensor) v = rnd (rand, TS_DTYPE_F32, 4, SHAPE (1, 21, 2, 8), -1, 1, &vv);
  float want[11 * 2 * 8];
  ref_attention (qv, kv, vv, want, 1, 11, 21, 2, 16, 8, 0.25f, FALSE);
  g_autoptr (TsTensor) out = ts_attention (be, q, k, v, 0.25f, FALSE);
  ts_test_check_tensor ("attention, every score far below 0", be, out, want, G_N_ELEMENTS (want),
                        LIM_GEMM);
}

static void
attention_cases (void)
{
  RAND;
  check_attention (rand, 1, 1, 1, 1, 1, 1, FALSE, FALSE, 1);
  check_attention (rand, 2, 7, 17, 3, 16, 8, FALSE, FALSE, 1);
  check_attention (rand, 2, 7, 17, 3, 16, 8, TRUE, FALSE, 1);
  check_attention (rand, 1, 17, 1, 2, 8, 8, FALSE, FALSE, 1);
  check_attention (rand, 1, 1, 77, 4, 64, 64, FALSE, FALSE, 3);
  check_attention (rand, 2, 33, 33, 4, 16, 16, TRUE, TRUE, 2);
  check_attention (rand, 1, 300, 77, 2, 32, 32, FALSE, FALSE, 2); /* several query blocks */
  check_attention (rand, 1, 300, 300, 2, 16, 16, TRUE, TRUE, 2);
  check_attention (rand, 1, 64, 64, 2, 8, 8, FALSE, FALSE, 30);    /* very peaked scores */
  check_attention (rand, 2, 256, 256, 2, 64, 64, FALSE, TRUE, 2);  /* aMUSEd's head */
  check_attention (rand, 1, 23, 65, 3, 13, 40, FALSE, FALSE, 2);   /* odd head widths */
  check_attention (rand, 1, 29, 50, 1, 5, 72, TRUE, FALSE, 2);
  /* the fused rows' tiles: 8 query rows, 48 keys, 4 × 16 value columns, and their tails */
  check_attention (rand, 1, 13, 49, 2, 64, 80, FALSE, FALSE, 2);
  check_attention (rand, 1, 9, 95, 1, 3, 130, FALSE, FALSE, 2);
  check_attention (rand, 2, 5, 16, 2, 24, 17, FALSE, FALSE, 2);
  check_attention (rand, 1, 40, 33, 2, 16, 16, FALSE, FALSE, 40);  /* very peaked, 2 key tails */
  check_attention_negative (rand);
}

/* Both paths: the fused AVX-512 rows where the CPU has them, and the two sgemms (the
 * portable kernels force those). */
static void
test_attention (void)
{
  attention_cases ();
  ts_cpu_kernels_choose (TS_CPU_KERNELS_PORTABLE);
  attention_cases ();
  ts_cpu_kernels_choose (TS_CPU_KERNELS_AUTO);
}

/* Keys and values shared by the batch through a broadcast view (token stride 0 too). */
static void
test_attention_broadcast (void)
{
  RAND;
  g_autofree float *qv = NULL, *kv0 = NULL, *vv0 = NULL;
  g_autoptr (TsTensor) q = rnd (rand, TS_DTYPE_F32, 4, SHAPE (2, 5, 2, 8), -1, 1, &qv);
  g_autoptr (TsTensor) k0 = rnd (rand, TS_DTYPE_F32, 4, SHAPE (1, 1, 2, 8), -1, 1, &kv0);
  g_autoptr (TsTensor) v0 = rnd (rand, TS_DTYPE_F32, 4, SHAPE (1, 1, 2, 4), -1, 1, &vv0);
  g_autoptr (TsTensor) k = ts_tensor_broadcast_to (k0, 4, SHAPE (2, 3, 2, 8));
  g_autoptr (TsTensor) v = ts_tensor_broadcast_to (v0, 4, SHAPE (2, 3, 2, 4));
  g_autofree float *kv = ts_test_view_values (k0, kv0, k), *vv = ts_test_view_values (v0, vv0, v);
  float want[2 * 5 * 2 * 4];
  ref_attention (qv, kv, vv, want, 2, 5, 3, 2, 8, 4, 0.5f, FALSE);
  g_autoptr (TsTensor) out = ts_attention (be, q, k, v, 0.5f, FALSE);
  ts_test_check_tensor ("attention broadcast k/v", be, out, want, G_N_ELEMENTS (want), LIM_GEMM);
}

/* ---- convolutions ---- */

typedef struct {
  int64_t n, c, h, w, o, kh, kw;
  TsConv2dParams p;
  TsDType wdt;
  gboolean bias;
} ConvCase;

static void
check_conv (GRand *rand, const ConvCase *cc, float mag)
{
  int64_t wshape[4] = { cc->o, cc->c / cc->p.groups, cc->kh, cc->kw };
  g_autofree float *xv = NULL, *wv = NULL, *bv = NULL;
  g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 4, SHAPE (cc->n, cc->c, cc->h, cc->w), -mag,
                                mag, &xv);
  g_autoptr (TsTensor) w = rnd (rand, cc->wdt, 4, wshape, -1, 1, &wv);
  g_autoptr (TsTensor) b = cc->bias ? rnd (rand, TS_DTYPE_F32, 1, &cc->o, -1, 1, &bv) : NULL;
  int64_t oh = (cc->h + cc->p.pad_top + cc->p.pad_bottom - cc->kh) / cc->p.stride_y + 1;
  int64_t ow = (cc->w + cc->p.pad_left + cc->p.pad_right - cc->kw) / cc->p.stride_x + 1;
  g_autofree float *want = g_new (float, cc->n * cc->o * oh * ow);
  ref_conv2d (xv, wv, bv, want, cc->n, cc->c, cc->h, cc->w, cc->o, cc->kh, cc->kw, &cc->p, NULL,
              NULL);
  g_autoptr (TsTensor) out = ts_conv2d (be, x, w, b, &cc->p);
  g_autofree char *what = g_strdup_printf (
    "conv2d x[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
    "] o%" G_GINT64_FORMAT " k%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " s%d,%d pad %d,%d,%d,%d "
    "g%d %s", cc->n, cc->c, cc->h, cc->w, cc->o, cc->kh, cc->kw, cc->p.stride_y, cc->p.stride_x,
    cc->p.pad_top, cc->p.pad_left, cc->p.pad_bottom, cc->p.pad_right, cc->p.groups,
    ts_dtype_name (cc->wdt));
  if (ts_test_check_tensor (what, be, out, want, cc->n * cc->o * oh * ow, LIM_GEMM)) {
    g_assert_cmpint (out->shape[2], ==, oh);
    g_assert_cmpint (out->shape[3], ==, ow);
  }
}

#define P(sy, sx, t, l, b, r, g) { sy, sx, t, l, b, r, g }

static void
test_conv2d (void)
{
  RAND;
  static const ConvCase cases[] = {
    /* 1×1: direct GEMM */
    { 1, 1, 1, 1, 1, 1, 1, P (1, 1, 0, 0, 0, 0, 1), TS_DTYPE_F32, FALSE },
    { 2, 17, 7, 9, 13, 1, 1, P (1, 1, 0, 0, 0, 0, 1), TS_DTYPE_F32, TRUE },
    { 1, 40, 5, 5, 24, 1, 1, P (1, 1, 0, 0, 0, 0, 4), TS_DTYPE_F16, TRUE },
    { 1, 64, 64, 64, 64, 1, 1, P (1, 1, 0, 0, 0, 0, 1), TS_DTYPE_F32, TRUE }, /* split GEMM */
    /* 1×1 with stride 2, and with padding: im2col */
    { 1, 40, 9, 11, 8, 1, 1, P (2, 2, 0, 0, 0, 0, 1), TS_DTYPE_F32, TRUE },
    { 1, 40, 6, 6, 8, 1, 1, P (1, 1, 1, 1, 1, 1, 1), TS_DTYPE_BF16, FALSE },
    /* 3×3, stride 1 and 2 */
    { 2, 5, 9, 11, 7, 3, 3, P (1, 1, 1, 1, 1, 1, 1), TS_DTYPE_F32, TRUE },
    { 1, 5, 9, 11, 7, 3, 3, P (2, 2, 1, 1, 1, 1, 1), TS_DTYPE_F16, TRUE },
    { 1, 6, 1, 1, 5, 3, 3, P (1, 1, 1, 1, 1, 1, 1), TS_DTYPE_F32, FALSE },
    { 1, 32, 40, 40, 32, 3, 3, P (1, 1, 1, 1, 1, 1, 1), TS_DTYPE_F32, TRUE },  /* several bands */
    { 1, 16, 31, 29, 9, 3, 3, P (2, 2, 0, 0, 0, 0, 1), TS_DTYPE_BF16, TRUE },
    /* 2×2 stride 2 after an asymmetric pad (the 512 model's downsample) */
    { 1, 8, 8, 8, 8, 2, 2, P (2, 2, 0, 0, 1, 1, 1), TS_DTYPE_F32, FALSE },
    { 1, 8, 7, 9, 8, 2, 2, P (2, 2, 0, 0, 1, 1, 1), TS_DTYPE_F16, TRUE },
    /* asymmetric padding everywhere, rectangular kernels */
    { 1, 4, 6, 7, 9, 3, 2, P (1, 1, 2, 0, 1, 3, 1), TS_DTYPE_F32, TRUE },
    { 2, 3, 10, 5, 4, 1, 3, P (2, 1, 0, 2, 3, 1, 1), TS_DTYPE_F32, FALSE },
    /* groups: depthwise (direct), multiplier 2, two groups on both paths */
    { 1, 13, 17, 17, 13, 3, 3, P (1, 1, 1, 1, 1, 1, 13), TS_DTYPE_F32, TRUE },
    { 2, 64, 32, 32, 64, 3, 3, P (1, 1, 1, 1, 1, 1, 64), TS_DTYPE_F16, TRUE },
    { 1, 6, 9, 9, 12, 3, 3, P (2, 2, 1, 1, 1, 1, 6), TS_DTYPE_F32, FALSE },
    { 1, 8, 9, 10, 6, 3, 3, P (1, 1, 1, 1, 1, 1, 2), TS_DTYPE_F32, TRUE },
    { 1, 16, 9, 10, 16, 3, 3, P (1, 1, 1, 1, 1, 1, 2), TS_DTYPE_BF16, TRUE },
    /* large kernel (ConvNeXt-style depthwise 7×7) */
    { 1, 5, 12, 12, 5, 7, 7, P (1, 1, 3, 3, 3, 3, 5), TS_DTYPE_F32, TRUE },
    /* padding wider than the kernel reach: rows and columns of pure padding */
    { 1, 3, 4, 4, 4, 3, 3, P (1, 1, 3, 3, 3, 3, 1), TS_DTYPE_F32, TRUE },
    { 1, 40, 4, 4, 4, 3, 3, P (1, 1, 3, 3, 3, 3, 1), TS_DTYPE_F32, TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_conv (rand, &cases[i], i % 5 == 4 ? 1e4f : 1.0f);
}

static void
test_conv_transpose (void)
{
  RAND;
  /* the last is big enough for its GEMM to be split among threads (along the 4·O rows) */
  static const int64_t cases[][5] = { { 1, 1, 1, 1, 1 }, { 2, 5, 3, 4, 7 }, { 1, 33, 16, 16, 17 },
                                      { 1, 256, 8, 8, 256 } };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    int64_t n = cases[i][0], c = cases[i][1], h = cases[i][2], w = cases[i][3], o = cases[i][4];
    g_autofree float *xv = NULL, *wv = NULL, *bv = NULL;
    g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 4, SHAPE (n, c, h, w), -2, 2, &xv);
    g_autoptr (TsTensor) wt = rnd (rand, i == 1 ? TS_DTYPE_F16 : TS_DTYPE_F32, 4,
                                   SHAPE (c, o, 2, 2), -1, 1, &wv);
    g_autoptr (TsTensor) b = i ? rnd (rand, TS_DTYPE_F32, 1, &o, -1, 1, &bv) : NULL;
    int64_t total = n * o * 4 * h * w;
    g_autofree float *want = g_new (float, total);
    ref_conv_transpose_2x2 (xv, wv, bv, want, n, c, h, w, o);
    g_autoptr (TsTensor) out = ts_conv_transpose_2x2 (be, x, wt, b);
    ts_test_check_tensor ("conv_transpose_2x2", be, out, want, total, LIM_GEMM);
  }
}

static void
test_upsample (void)
{
  RAND;
  g_autofree float *xv = NULL, *yv = NULL;
  g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 4, SHAPE (2, 3, 5, 7), -1, 1, &xv);
  float want[2 * 3 * 10 * 14];
  ref_upsample_nearest_2x (xv, want, 6, 5, 7);
  g_autoptr (TsTensor) out = ts_upsample_nearest_2x (be, x);
  ts_test_check_tensor ("upsample 4-D", be, out, want, G_N_ELEMENTS (want), 0);
  g_assert_cmpint (out->shape[2], ==, 10);

  g_autoptr (TsTensor) y = rnd (rand, TS_DTYPE_F16, 2, SHAPE (1, 300), -1, 1, &yv);
  float want2[2 * 600];
  ref_upsample_nearest_2x (yv, want2, 1, 1, 300);
  g_autoptr (TsTensor) out2 = ts_upsample_nearest_2x (be, y);
  ts_test_check_tensor ("upsample 2-D f16", be, out2, want2, G_N_ELEMENTS (want2), 0);
}

/* ---- layout ---- */

static void
test_permute_all (void)
{
  RAND;
  static const int64_t shape[4] = { 3, 5, 7, 11 };
  g_autofree float *xv = NULL;
  g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 4, shape, -1, 1, &xv);
  g_autoptr (TsTensor) xh = rnd (rand, TS_DTYPE_F16, 4, shape, -1, 1, NULL);
  g_autofree float *xhv = ts_test_read (xh);
  int count = 0;
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++)
      for (int c = 0; c < 4; c++) {
        int d = 6 - a - b - c;
        if (a == b || a == c || b == c || d == a || d == b || d == c)
          continue;
        int perm[4] = { a, b, c, d };
        float want[3 * 5 * 7 * 11];
        ref_permute (xv, 4, shape, perm, want);
        g_autoptr (TsTensor) out = ts_permute (be, x, perm);
        g_autofree char *what = g_strdup_printf ("permute %d%d%d%d", a, b, c, d);
        ts_test_check_tensor (what, be, out, want, G_N_ELEMENTS (want), 0);
        for (int i = 0; i < 4; i++)
          g_assert_cmpint (out->shape[i], ==, shape[perm[i]]);
        /* 2-byte elements take the generic tile path */
        ref_permute (xhv, 4, shape, perm, want);
        g_autoptr (TsTensor) outh = ts_permute (be, xh, perm);
        g_assert_cmpint (outh->dtype, ==, TS_DTYPE_F16);
        ts_test_check_tensor (what, be, outh, want, G_N_ELEMENTS (want), 0);
        count++;
      }
  g_assert_cmpint (count, ==, 24);

  /* transposes with ragged edges everywhere: tiles, 8×8 register blocks, single rows */
  static const int64_t odd[][3] = { { 3, 45, 53 }, { 1, 37, 29 }, { 2, 8, 64 }, { 5, 1, 300 },
                                    { 1, 300, 7 } };
  for (guint k = 0; k < G_N_ELEMENTS (odd); k++) {
    g_autofree float *ov = NULL;
    g_autoptr (TsTensor) ot = rnd (rand, TS_DTYPE_F32, 3, odd[k], -1, 1, &ov);
    int64_t n3 = odd[k][0] * odd[k][1] * odd[k][2];
    g_autofree float *ow = g_new (float, n3);
    static const int perms[][3] = { { 0, 2, 1 }, { 2, 1, 0 }, { 1, 2, 0 }, { 2, 0, 1 } };
    for (guint q = 0; q < G_N_ELEMENTS (perms); q++) {
      ref_permute (ov, 3, odd[k], perms[q], ow);
      g_autoptr (TsTensor) out = ts_permute (be, ot, perms[q]);
      g_autofree char *what = g_strdup_printf ("permute [%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                                               ",%" G_GINT64_FORMAT "] by %d%d%d", odd[k][0],
                                               odd[k][1], odd[k][2], perms[q][0], perms[q][1],
                                               perms[q][2]);
      ts_test_check_tensor (what, be, out, ow, n3, 0);
    }
  }

  /* the channels-first ↔ channels-last transposes of the conv stages, at real widths */
  g_autofree float *bigv = NULL;
  g_autoptr (TsTensor) big = rnd (rand, TS_DTYPE_F32, 4, SHAPE (2, 768, 16, 17), -1, 1, &bigv);
  g_autofree float *want = g_new (float, 2 * 768 * 16 * 17);
  ref_permute (bigv, 4, SHAPE (2, 768, 16, 17), (const int[]) { 0, 2, 3, 1 }, want);
  g_autoptr (TsTensor) nhwc = ts_permute (be, big, (const int[]) { 0, 2, 3, 1 });
  ts_test_check_tensor ("permute NCHW→NHWC", be, nhwc, want, 2 * 768 * 16 * 17, 0);
}

static void
test_copy_convert (void)
{
  RAND;
  g_autofree float *basev = NULL;
  g_autoptr (TsTensor) base = rnd (rand, TS_DTYPE_F32, 3, SHAPE (4, 6, 300), -70000, 70000, &basev);
  g_autoptr (TsTensor) sl = ts_tensor_slice (base, 2, 5, 290);
  g_autoptr (TsTensor) view = ts_tensor_permute (sl, (const int[]) { 1, 2, 0 }); /* [6,290,4] */
  g_autofree float *vv = ts_test_view_values (base, basev, view);
  int64_t n = ts_tensor_numel (view);
  static const TsDType dts[] = { TS_DTYPE_F16, TS_DTYPE_BF16, TS_DTYPE_I32, TS_DTYPE_I64,
                                 TS_DTYPE_U8, TS_DTYPE_F32 };
  for (guint i = 0; i < G_N_ELEMENTS (dts); i++) {
    g_autoptr (TsTensor) out = ts_copy (be, view, dts[i]);
    ts_test_assert_no_error (be);
    g_assert_true (ts_tensor_is_contiguous (out));
    g_assert_cmpint (out->dtype, ==, dts[i]);
    /* the expected bytes come from ts_convert on the dense logical values */
    size_t bytes = n * ts_dtype_size (dts[i]);
    g_autofree void *want = g_malloc (bytes), *got = g_malloc (bytes);
    ts_convert (vv, TS_DTYPE_F32, want, dts[i], n);
    g_autoptr (GError) error = NULL;
    g_assert_true (ts_tensor_read (out, got, bytes, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (got, bytes, want, bytes);

    /* and back to f32 from the converted, strided the other way */
    g_autoptr (TsTensor) tr = ts_tensor_permute (out, (const int[]) { 2, 0, 1 });
    g_autoptr (TsTensor) back = ts_copy (be, tr, TS_DTYPE_F32);
    ts_test_assert_no_error (be);
    g_autofree float *backv = ts_test_read (back);
    g_autofree float *conv = g_new (float, n), *want_back = g_new (float, n);
    ts_convert (want, dts[i], conv, TS_DTYPE_F32, n);
    ref_permute (conv, 3, SHAPE (6, 290, 4), (const int[]) { 2, 0, 1 }, want_back);
    g_assert_cmpmem (backv, n * sizeof (float), want_back, n * sizeof (float));
  }
}

/* COPY into a strided destination of another dtype, and FILL of a strided view: the
 * public ops only reach these with same-dtype views, so drive the backend's op directly. */
static void
test_copy_fill_strided_dst (void)
{
  RAND;
  static const TsDType dts[] = { TS_DTYPE_F16, TS_DTYPE_BF16, TS_DTYPE_I32, TS_DTYPE_F32 };
  for (guint i = 0; i < G_N_ELEMENTS (dts); i++) {
    /* dst: the [2:7, 1:4] corner of a [9, 6] tensor, transposed to [3, 5] */
    g_autofree float *dv = NULL, *sv = NULL;
    g_autoptr (TsTensor) dbase = rnd (rand, dts[i], 2, SHAPE (9, 6), -100, 100, &dv);
    g_autoptr (TsTensor) rows = ts_tensor_slice (dbase, 0, 2, 5);
    g_autoptr (TsTensor) block = ts_tensor_slice (rows, 1, 1, 3);
    g_autoptr (TsTensor) dst = ts_tensor_permute (block, (const int[]) { 1, 0 });
    /* src: a strided f32 view of the same logical shape */
    g_autoptr (TsTensor) sbase = rnd (rand, TS_DTYPE_F32, 2, SHAPE (5, 7), -100, 100, &sv);
    g_autoptr (TsTensor) sslice = ts_tensor_slice (sbase, 1, 2, 3);
    g_autoptr (TsTensor) src = ts_tensor_permute (sslice, (const int[]) { 1, 0 });
    g_autofree float *svals = ts_test_view_values (sbase, sv, src);

    TsOp copy = { .kind = TS_OP_COPY, .src = { src }, .dst = dst };
    g_autoptr (GError) error = NULL;
    g_assert_true (ts_backend_run_op (be, &copy, &error));
    g_assert_no_error (error);
    /* expected: the base's values, with the block replaced by the converted source */
    float want[9 * 6];
    memcpy (want, dv, sizeof want);
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 5; c++) {
        float v = svals[r * 5 + c];
        uint64_t raw = 0;
        ts_convert (&v, TS_DTYPE_F32, &raw, dts[i], 1);
        ts_convert (&raw, dts[i], &want[(2 + c) * 6 + 1 + r], TS_DTYPE_F32, 1);
      }
    g_autoptr (TsTensor) dbase_f = ts_copy (be, dbase, TS_DTYPE_F32);
    ts_test_check_tensor ("copy into a strided view", be, dbase_f, want, 9 * 6, 0);

    TsOp fill = { .kind = TS_OP_FILL, .dst = dst };
    fill.p.fill_value = -2.5f;
    g_assert_true (ts_backend_run_op (be, &fill, &error));
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 5; c++)
        want[(2 + c) * 6 + 1 + r] = dts[i] == TS_DTYPE_I32 ? -2.0f : -2.5f;
    g_autoptr (TsTensor) dbase_g = ts_copy (be, dbase, TS_DTYPE_F32);
    ts_test_check_tensor ("fill of a strided view", be, dbase_g, want, 9 * 6, 0);
  }
}

static void
test_copy_broadcast (void)
{
  RAND;
  g_autofree float *xv = NULL;
  g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 2, SHAPE (1, 9), -1, 1, &xv);
  g_autoptr (TsTensor) bx = ts_tensor_broadcast_to (x, 3, SHAPE (4, 5, 9));
  g_autoptr (TsTensor) out = ts_copy (be, bx, TS_DTYPE_F32);
  float want[4 * 5 * 9];
  for (int i = 0; i < 4 * 5 * 9; i++)
    want[i] = xv[i % 9];
  ts_test_check_tensor ("copy of a broadcast", be, out, want, G_N_ELEMENTS (want), 0);
}

static void
test_pad (void)
{
  RAND;
  g_autofree float *xv = NULL;
  g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 3, SHAPE (2, 3, 4), -1, 1, &xv);
  static const int64_t before[3] = { 0, 1, 2 }, after[3] = { 1, 0, 3 };
  float want[3 * 4 * 9];
  ref_pad (xv, 3, SHAPE (2, 3, 4), before, after, -1.5f, want);
  g_autoptr (TsTensor) out = ts_pad (be, x, before, after, -1.5f);
  ts_test_check_tensor ("pad f32", be, out, want, G_N_ELEMENTS (want), 0);

  /* bf16 pads in bf16 */
  g_autofree float *hv = NULL;
  g_autoptr (TsTensor) h = rnd (rand, TS_DTYPE_BF16, 2, SHAPE (5, 300), -1, 1, &hv);
  static const int64_t b2[2] = { 2, 0 }, a2[2] = { 0, 1 };
  float want2[7 * 301];
  ref_pad (hv, 2, SHAPE (5, 300), b2, a2, 0.25f, want2);
  g_autoptr (TsTensor) out2 = ts_pad (be, h, b2, a2, 0.25f);
  g_assert_cmpint (out2->dtype, ==, TS_DTYPE_BF16);
  ts_test_check_tensor ("pad bf16", be, out2, want2, G_N_ELEMENTS (want2), 0);

  /* i32 (fill converts the value) */
  int32_t iv[3] = { 7, -8, 9 };
  g_autoptr (TsTensor) it = ts_tensor_new_from_data (be, TS_DTYPE_I32, 1, SHAPE (3), iv);
  g_autoptr (TsTensor) out3 = ts_pad (be, it, SHAPE (1), SHAPE (2), 3.0f);
  int32_t got[6], want3[6] = { 3, 7, -8, 9, 3, 3 };
  g_assert_true (ts_tensor_read (out3, got, sizeof got, NULL));
  g_assert_cmpmem (got, sizeof got, want3, sizeof want3);
}

static void
test_concat (void)
{
  RAND;
  g_autofree float *av = NULL, *bv = NULL, *cv = NULL;
  g_autoptr (TsTensor) a = rnd (rand, TS_DTYPE_F32, 3, SHAPE (2, 3, 5), -1, 1, &av);
  g_autoptr (TsTensor) b = rnd (rand, TS_DTYPE_F32, 3, SHAPE (2, 1, 5), -1, 1, &bv);
  g_autoptr (TsTensor) c = rnd (rand, TS_DTYPE_F32, 3, SHAPE (2, 4, 5), -1, 1, &cv);
  TsTensor *xs[3] = { a, b, c };
  g_autoptr (TsTensor) out = ts_concat (be, xs, 3, 1);
  float want[2 * 8 * 5];
  ref_concat ((const float *const[]) { av, bv, cv }, SHAPE (3, 1, 4), 3, 2, 5, want);
  ts_test_check_tensor ("concat", be, out, want, G_N_ELEMENTS (want), 0);
  g_assert_cmpint (out->shape[1], ==, 8);
}

/* ---- lookups ---- */

static void
test_embedding (void)
{
  RAND;
  static const TsDType dts[] = { TS_DTYPE_F32, TS_DTYPE_F16, TS_DTYPE_BF16 };
  for (guint d = 0; d < G_N_ELEMENTS (dts); d++) {
    g_autofree float *tv = NULL;
    g_autoptr (TsTensor) table = rnd (rand, dts[d], 2, SHAPE (13, 7), -1e4f, 1e4f, &tv);
    int64_t ids64[10];
    int32_t ids32[10];
    for (int i = 0; i < 10; i++)
      ids32[i] = (int32_t) (ids64[i] = g_rand_int_range (rand, 0, 13));
    ids64[0] = ids32[0] = 12; /* the last row */
    ids64[1] = ids32[1] = 0;
    float want[10 * 7];
    ref_embedding (tv, 7, ids64, 10, want);

    g_autoptr (TsTensor) i32 = ts_tensor_new_from_data (be, TS_DTYPE_I32, 2, SHAPE (2, 5), ids32);
    g_autoptr (TsTensor) out = ts_embedding (be, table, i32);
    ts_test_check_tensor ("embedding i32", be, out, want, G_N_ELEMENTS (want), 0);
    g_assert_cmpint (out->ndim, ==, 3);
    g_assert_cmpint (out->shape[2], ==, 7);

    g_autoptr (TsTensor) i64 = ts_tensor_new_from_data (be, TS_DTYPE_I64, 1, SHAPE (10), ids64);
    g_autoptr (TsTensor) out64 = ts_embedding (be, table, i64);
    ts_test_check_tensor ("embedding i64", be, out64, want, G_N_ELEMENTS (want), 0);
  }
}

static void
test_nearest_code (void)
{
  RAND;
  static const int64_t cases[][3] = { { 1, 1, 1 }, { 37, 8, 19 }, { 300, 64, 512 }, { 5, 3, 2000 } };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    int64_t n = cases[c][0], d = cases[c][1], k = cases[c][2];
    g_autofree float *xv = ts_test_random_values (rand, n * d, -1, 1);
    g_autofree float *bv = ts_test_random_values (rand, k * d, -1, 1);
    /* exact ties: a duplicated code (the lower index must win) and vectors that are codes */
    if (k >= 4) {
      memcpy (bv + 3 * d, bv + 1 * d, d * sizeof (float));
      for (int64_t i = 0; i < n; i += 3)
        memcpy (xv + i * d, bv + ((i / 3) % 4) * d, d * sizeof (float));
    }
    g_autoptr (TsTensor) x = ts_tensor_new_f32 (be, 2, SHAPE (n, d), xv);
    g_autoptr (TsTensor) book = ts_tensor_new_f32 (be, 2, SHAPE (k, d), bv);
    g_autoptr (TsTensor) out = ts_nearest_code (be, x, book);
    ts_test_assert_no_error (be);
    g_assert_cmpint (out->dtype, ==, TS_DTYPE_I32);
    g_autofree int32_t *want = g_new (int32_t, n), *got = g_new (int32_t, n);
    ref_nearest_code (xv, n, d, bv, k, want);
    g_assert_true (ts_tensor_read (out, got, n * sizeof (int32_t), NULL));
    g_assert_cmpmem (got, n * sizeof (int32_t), want, n * sizeof (int32_t));
    for (int64_t i = 0; i < n; i++)
      g_assert_cmpint (got[i], !=, 3); /* code 3 duplicates code 1 */
  }
}

/* ---- bad input: errors, never aborts ---- */

static void
test_errors_shapes (void)
{
  RAND;
  g_autoptr (TsTensor) a = rnd (rand, TS_DTYPE_F32, 2, SHAPE (3, 4), -1, 1, NULL);
  g_autoptr (TsTensor) b = rnd (rand, TS_DTYPE_F32, 2, SHAPE (5, 6), -1, 1, NULL);
  g_autoptr (TsTensor) c3 = rnd (rand, TS_DTYPE_F32, 3, SHAPE (2, 4, 6), -1, 1, NULL);
  ts_test_expect_error (be, ts_matmul (be, a, b, NULL, TS_MATMUL_NONE),
                        TS_ERROR_INVALID_ARGUMENT, "matmul");
  ts_test_expect_error (be, ts_matmul (be, a, c3, NULL, TS_MATMUL_NONE),
                        TS_ERROR_INVALID_ARGUMENT, "matmul");
  ts_test_expect_error (be, ts_linear (be, a, b, NULL), TS_ERROR_INVALID_ARGUMENT, "linear");
  ts_test_expect_error (be, ts_add (be, a, b), TS_ERROR_INVALID_ARGUMENT, "broadcast");
  g_autoptr (TsTensor) odd = rnd (rand, TS_DTYPE_F32, 2, SHAPE (2, 5), -1, 1, NULL);
  ts_test_expect_error (be, ts_geglu (be, odd), TS_ERROR_INVALID_ARGUMENT, "geglu");
  g_autoptr (TsTensor) x4 = rnd (rand, TS_DTYPE_F32, 4, SHAPE (1, 6, 5, 5), -1, 1, NULL);
  ts_test_expect_error (be, ts_group_norm (be, x4, 4, NULL, NULL, 1e-5f),
                        TS_ERROR_INVALID_ARGUMENT, "group");
  g_autoptr (TsTensor) w = rnd (rand, TS_DTYPE_F32, 4, SHAPE (4, 4, 3, 3), -1, 1, NULL);
  TsConv2dParams p = { 1, 1, 1, 1, 1, 1, 1 };
  ts_test_expect_error (be, ts_conv2d (be, x4, w, NULL, &p), TS_ERROR_INVALID_ARGUMENT, "conv2d");
  p.groups = 2;
  g_autoptr (TsTensor) w2 = rnd (rand, TS_DTYPE_F32, 4, SHAPE (4, 3, 9, 9), -1, 1, NULL);
  TsConv2dParams nopad = { 1, 1, 0, 0, 0, 0, 2 };
  ts_test_expect_error (be, ts_conv2d (be, x4, w2, NULL, &nopad), TS_ERROR_INVALID_ARGUMENT,
                        "kernel");
  g_autoptr (TsTensor) q = rnd (rand, TS_DTYPE_F32, 4, SHAPE (1, 3, 2, 8), -1, 1, NULL);
  g_autoptr (TsTensor) k = rnd (rand, TS_DTYPE_F32, 4, SHAPE (1, 3, 2, 4), -1, 1, NULL);
  ts_test_expect_error (be, ts_attention (be, q, k, k, 1.0f, FALSE), TS_ERROR_INVALID_ARGUMENT,
                        "attention");
}

static void
test_errors_dtypes (void)
{
  RAND;
  int32_t ints[12] = { 0 };
  g_autoptr (TsTensor) it = ts_tensor_new_from_data (be, TS_DTYPE_I32, 2, SHAPE (3, 4), ints);
  g_autoptr (TsTensor) f = rnd (rand, TS_DTYPE_F32, 2, SHAPE (4, 3), -1, 1, NULL);
  ts_test_expect_error (be, ts_matmul (be, it, f, NULL, TS_MATMUL_NONE),
                        TS_ERROR_INVALID_ARGUMENT, "i32");
  ts_test_expect_error (be, ts_silu (be, it), TS_ERROR_INVALID_ARGUMENT, "i32");
  ts_test_expect_error (be, ts_embedding (be, it, it), TS_ERROR_INVALID_ARGUMENT, NULL);
  ts_test_expect_error (be, ts_embedding (be, f, f), TS_ERROR_INVALID_ARGUMENT, "ids");
  ts_test_expect_error (be, ts_copy (be, f, (TsDType) 99), TS_ERROR_INVALID_ARGUMENT, "dtype");
}

static void
test_errors_embedding_range (void)
{
  RAND;
  g_autoptr (TsTensor) table = rnd (rand, TS_DTYPE_F32, 2, SHAPE (13, 7), -1, 1, NULL);
  int32_t hi[3] = { 0, 13, 2 };
  int64_t lo[2] = { 5, -1 };
  g_autoptr (TsTensor) ids_hi = ts_tensor_new_from_data (be, TS_DTYPE_I32, 1, SHAPE (3), hi);
  g_autoptr (TsTensor) ids_lo = ts_tensor_new_from_data (be, TS_DTYPE_I64, 1, SHAPE (2), lo);
  ts_test_expect_error (be, ts_embedding (be, table, ids_hi), TS_ERROR_INVALID_ARGUMENT, "13");
  ts_test_expect_error (be, ts_embedding (be, table, ids_lo), TS_ERROR_INVALID_ARGUMENT, "-1");
}

/* A huge allocation is an error value with the size in its message, not an abort. */
static void
test_errors_out_of_memory (void)
{
#if defined(__SANITIZE_ADDRESS__)
  /* ASan aborts on a failed allocation unless told otherwise (tests/ops/meson.build does) */
  const char *asan = g_getenv ("ASAN_OPTIONS");
  if (!asan || !strstr (asan, "allocator_may_return_null=1")) {
    g_test_skip ("AddressSanitizer without allocator_may_return_null=1 aborts on OOM");
    return;
  }
#endif
  /* 2^22 × 2^23 f32 = 128 TiB: a valid shape, and more than a 47-bit address space holds,
   * so it fails whatever the kernel's overcommit policy */
  ts_test_expect_error (be, ts_tensor_new (be, TS_DTYPE_F32, 2, SHAPE (1 << 22, 1 << 23)),
                        TS_ERROR_OUT_OF_MEMORY, "MiB");
  /* an op whose output cannot be allocated (its inputs are never read) */
  g_autoptr (TsTensor) a = ts_tensor_new (be, TS_DTYPE_F32, 2, SHAPE (1 << 22, 1));
  g_autoptr (TsTensor) b = ts_tensor_new (be, TS_DTYPE_F32, 2, SHAPE (1 << 23, 1));
  ts_test_assert_no_error (be);
  ts_test_expect_error (be, ts_matmul (be, a, b, NULL, TS_MATMUL_TRANS_B),
                        TS_ERROR_OUT_OF_MEMORY, "MiB");
  /* invalid shapes never reach the allocator */
  ts_test_expect_error (be, ts_tensor_new (be, TS_DTYPE_F32, 3, SHAPE (1 << 30, 1 << 30, 1 << 30)),
                        TS_ERROR_INVALID_ARGUMENT, NULL);
  ts_test_expect_error (be, ts_tensor_new (be, TS_DTYPE_F32, 2, SHAPE (4, 0)),
                        TS_ERROR_INVALID_ARGUMENT, NULL);
}

/* After a failure every op returns NULL until the error is taken; then work resumes. */
static void
test_errors_sticky (void)
{
  RAND;
  g_autofree float *xv = NULL;
  g_autoptr (TsTensor) a = rnd (rand, TS_DTYPE_F32, 2, SHAPE (3, 4), -1, 1, &xv);
  g_autoptr (TsTensor) b = rnd (rand, TS_DTYPE_F32, 2, SHAPE (5, 6), -1, 1, NULL);
  g_assert_null (ts_add (be, a, b));
  g_assert_true (ts_backend_has_error (be));
  g_assert_null (ts_silu (be, a));
  g_assert_null (ts_silu (be, NULL));
  ts_test_expect_error (be, NULL, TS_ERROR_INVALID_ARGUMENT, "broadcast");
  g_autoptr (TsTensor) s = ts_silu (be, a);
  float want[12];
  ref_silu (xv, want, 12);
  ts_test_check_tensor ("silu after an error", be, s, want, 12, LIM_TRANS);
}

/* ---- backend ---- */

static int release_count;

static void
count_release (gpointer owner)
{
  g_assert_cmpint (GPOINTER_TO_INT (owner), ==, 42);
  release_count++;
}

/* Wrapped memory is used in place (no copy) and handed back when the last view dies. */
static void
test_storage_wrap (void)
{
  float host[6] = { 1, 2, 3, 4, 5, 6 };
  g_autoptr (GError) error = NULL;
  TsStorage *s = be->klass->storage_wrap (be, host, sizeof host, count_release,
                                          GINT_TO_POINTER (42), &error);
  g_assert_no_error (error);
  g_assert_nonnull (s);
  s->ref_count = 1;
  s->size = sizeof host;
  TsTensor *t = g_new0 (TsTensor, 1);
  t->ref_count = 1;
  t->backend = be;
  t->storage = s;
  t->dtype = TS_DTYPE_F32;
  t->ndim = 2;
  t->shape[0] = 2, t->shape[1] = 3, t->shape[2] = t->shape[3] = 1;
  t->stride[0] = 3, t->stride[1] = 1, t->stride[2] = t->stride[3] = 1;
  host[4] = 50; /* visible through the tensor: no copy was made */
  g_autofree float *v = ts_test_read (t);
  g_assert_cmpfloat (v[4], ==, 50);
  TsTensor *tr = ts_tensor_permute (t, (const int[]) { 1, 0 });
  ts_tensor_unref (t);
  g_assert_cmpint (release_count, ==, 0);
  g_autoptr (TsTensor) c = ts_copy (be, tr, TS_DTYPE_F32);
  float want[6] = { 1, 4, 2, 50, 3, 6 };
  ts_test_check_tensor ("wrapped transpose", be, c, want, 6, 0);
  ts_tensor_unref (tr);
  g_assert_cmpint (release_count, ==, 1);
}

static void
test_describe (void)
{
  g_autofree char *d = ts_backend_describe (be);
  g_test_message ("%s", d);
  g_assert_nonnull (strstr (d, "threads"));
  g_assert_nonnull (strstr (d, "OpenBLAS"));
  g_assert_cmpstr (ts_backend_name (be), ==, "cpu");
  g_assert_cmpint (ts_backend_kind (be), ==, TS_BACKEND_CPU);
  g_assert_true (ts_backend_sync (be, NULL));
}

/* One thread gives the same results (a second backend may coexist with the first). */
static void
test_single_thread (void)
{
  RAND;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsBackend) one = ts_backend_new_cpu (1, &error);
  g_assert_no_error (error);
  TsBackend *saved = be;
  be = one;
  check_attention (rand, 2, 33, 17, 3, 16, 16, TRUE, FALSE, 1);
  ConvCase cc = { 1, 16, 20, 20, 16, 3, 3, P (1, 1, 1, 1, 1, 1, 1), TS_DTYPE_F16, TRUE };
  check_conv (rand, &cc, 1.0f);
  check_matmul (rand, 3, 7, 17, 33, FALSE, TRUE, FALSE, TS_DTYPE_F32, TS_DTYPE_F32, 1.0f);
  be = saved;
  check_matmul (rand, 3, 7, 17, 33, FALSE, TRUE, FALSE, TS_DTYPE_F32, TS_DTYPE_F32, 1.0f);
  check_conv (rand, &cc, 1.0f);

  /* the same softmax on both backends, moving tensors between them */
  g_autoptr (TsTensor) x = rnd (rand, TS_DTYPE_F32, 2, SHAPE (300, 77), -5, 5, NULL);
  g_autoptr (TsTensor) x1 = ts_test_transfer (one, x);
  g_autoptr (TsTensor) y = ts_softmax (be, x);
  g_autoptr (TsTensor) y1 = ts_softmax (one, x1);
  ts_test_assert_no_error (one);
  ts_test_check_tensors ("softmax on 1 thread vs all", y1, y, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  be = ts_backend_new_cpu (0, &error);
  g_assert_no_error (error);

  g_test_add_func ("/cpu/matmul/shapes", test_matmul_shapes);
  g_test_add_func ("/cpu/matmul/batched", test_matmul_batched);
  g_test_add_func ("/cpu/matmul/magnitude", test_matmul_magnitude);
  g_test_add_func ("/cpu/matmul/panels", test_matmul_panels);
  g_test_add_func ("/cpu/matmul/strided", test_matmul_strided);
  g_test_add_func ("/cpu/matmul/tiles", test_matmul_tiles);
  g_test_add_func ("/cpu/linear", test_linear);
  g_test_add_func ("/cpu/elementwise/add-mul", test_add_mul);
  g_test_add_func ("/cpu/elementwise/strided", test_add_strided);
  g_test_add_func ("/cpu/elementwise/unary", test_unary);
  g_test_add_func ("/cpu/elementwise/unary-pointwise", test_unary_pointwise_accuracy);
  g_test_add_func ("/cpu/elementwise/scale", test_scale);
  g_test_add_func ("/cpu/elementwise/geglu", test_geglu);
  g_test_add_func ("/cpu/norm/softmax", test_softmax);
  g_test_add_func ("/cpu/norm/layer-rms", test_layer_rms_norm);
  g_test_add_func ("/cpu/norm/group", test_group_norm);
  g_test_add_func ("/cpu/norm/group-silu", test_group_norm_silu);
  g_test_add_func ("/cpu/norm/group-silu-not-in-place", test_group_norm_silu_not_in_place);
  g_test_add_func ("/cpu/pool/bounded", test_pool_bounded);
  g_test_add_func ("/cpu/pool/reuses-pages", test_pool_reuses_pages);
  g_test_add_func ("/cpu/norm/grn", test_grn);
  g_test_add_func ("/cpu/attention/basic", test_attention);
  g_test_add_func ("/cpu/attention/broadcast", test_attention_broadcast);
  g_test_add_func ("/cpu/conv/conv2d", test_conv2d);
  g_test_add_func ("/cpu/conv/transpose-2x2", test_conv_transpose);
  g_test_add_func ("/cpu/conv/upsample", test_upsample);
  g_test_add_func ("/cpu/layout/permute", test_permute_all);
  g_test_add_func ("/cpu/layout/copy-convert", test_copy_convert);
  g_test_add_func ("/cpu/layout/copy-broadcast", test_copy_broadcast);
  g_test_add_func ("/cpu/layout/copy-fill-strided-dst", test_copy_fill_strided_dst);
  g_test_add_func ("/cpu/layout/pad", test_pad);
  g_test_add_func ("/cpu/layout/concat", test_concat);
  g_test_add_func ("/cpu/lookup/embedding", test_embedding);
  g_test_add_func ("/cpu/lookup/nearest-code", test_nearest_code);
  g_test_add_func ("/cpu/errors/shapes", test_errors_shapes);
  g_test_add_func ("/cpu/errors/dtypes", test_errors_dtypes);
  g_test_add_func ("/cpu/errors/embedding-range", test_errors_embedding_range);
  g_test_add_func ("/cpu/errors/out-of-memory", test_errors_out_of_memory);
  g_test_add_func ("/cpu/errors/sticky", test_errors_sticky);
  g_test_add_func ("/cpu/backend/storage-wrap", test_storage_wrap);
  g_test_add_func ("/cpu/backend/describe", test_describe);
  g_test_add_func ("/cpu/backend/single-thread", test_single_thread);

  int status = g_test_run ();
  ts_backend_free (be);
  return status;
}
