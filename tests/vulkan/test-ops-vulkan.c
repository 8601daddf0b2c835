/* test-ops-vulkan.c — every op on the Vulkan backend against the CPU backend on the same
 * inputs. This file: the simple ops (elementwise, norms, layout, lookups) under /vulkan/ops
 * and /vulkan/cases: odd sizes, tile and chunk crossings, large magnitudes, −inf in softmax,
 * strided and broadcast inputs, every dtype conversion bit for bit, and the same ops again
 * with the binding limit lowered so the work is split. vk-ops-heavy.c: the compute-heavy
 * ops under both kernel families (VK_OPS_HEAVY_PREFIX). Any NaN or Inf where the CPU has a
 * number fails. Shapes stay small: lavapipe is slow.
 *
 * --only=simple or --only=heavy registers one half: the meson tests ops-vulkan (and its
 * fallback-switch run) and vk-heavy run one each, as test paths select only one suite
 * level (-p /vulkan does not descend). */
#include "op-case-tests.h"
#include "ref-ops.h"
#include "test-common.h"
#include "vk-op-pair.h"
#include "vk-ops-heavy.h"
#include "vk-test-util.h"

#include <math.h>
#include <string.h>

static TsBackend *cpu;

#define SHAPE(...) ((const int64_t[]) { __VA_ARGS__ })
#define NDIM(...) ((int) (sizeof ((int64_t[]) { __VA_ARGS__ }) / sizeof (int64_t)))
#define RAND g_autoptr (GRand) rand = ts_test_rand_for (g_test_get_path ())

/* nmse limits against the CPU backend (both compute in f32). */
#define LIM_EXACT 1e-14 /* one rounding per element, the same on both */
#define LIM_TRANS 1e-10 /* exp/erf implementations differ by a few ulp */
#define LIM_NORM  1e-10 /* reductions summed in a different order */

/* vk-op-pair.h's helpers on this program's two backends. */
static void
pair_from_values (VktPair *p, TsDType dtype, int ndim, const int64_t *shape, float *values)
{
  *p = vkt_pair_new (vkt_be, cpu, dtype, ndim, shape, values);
}

static void
pair_random (VktPair *p, GRand *rand, TsDType dtype, int ndim, const int64_t *shape, float lo,
             float hi)
{
  *p = vkt_pair_random (vkt_be, cpu, rand, dtype, ndim, shape, lo, hi);
}

/* The Vulkan result against the CPU's; consumes both. */
static void
compare (const char *what, TsTensor *got, TsTensor *want, double limit)
{
  vkt_pair_check (what, vkt_be, cpu, got, want, limit);
}

static gboolean
is_nan_bits (const guint8 *p, TsDType dt)
{
  guint32 u32;
  guint16 u16;
  switch (dt) {
  case TS_DTYPE_F32:
    memcpy (&u32, p, 4);
    return (u32 & 0x7fffffffu) > 0x7f800000u;
  case TS_DTYPE_F16:
    memcpy (&u16, p, 2);
    return (u16 & 0x7fffu) > 0x7c00u;
  case TS_DTYPE_BF16:
    memcpy (&u16, p, 2);
    return (u16 & 0x7fffu) > 0x7f80u;
  default:
    return FALSE;
  }
}

/* Reads both results as raw bytes and requires them identical (a NaN matches any NaN:
 * whether a conversion quiets signalling NaNs differs between F16C and ts_convert);
 * consumes both. */
static void
compare_bits (const char *what, TsTensor *got, TsTensor *want)
{
  g_autoptr (GError) error = NULL;
  ts_test_assert_no_error (vkt_be);
  ts_test_assert_no_error (cpu);
  g_assert_nonnull (got);
  g_assert_nonnull (want);
  g_assert_cmpint (got->dtype, ==, want->dtype);
  size_t bytes = ts_tensor_nbytes (want);
  g_assert_cmpuint (ts_tensor_nbytes (got), ==, bytes);
  g_autofree guint8 *g = g_malloc (bytes);
  g_autofree guint8 *w = g_malloc (bytes);
  g_assert_true (ts_tensor_read (got, g, bytes, &error));
  g_assert_true (ts_tensor_read (want, w, bytes, &error));
  size_t es = ts_dtype_size (want->dtype);
  for (size_t i = 0; i < bytes; i += es)
    if (memcmp (g + i, w + i, es) != 0 &&
        !(is_nan_bits (g + i, want->dtype) && is_nan_bits (w + i, want->dtype))) {
      guint64 gv = 0, wv = 0;
      memcpy (&gv, g + i, es);
      memcpy (&wv, w + i, es);
      g_test_message ("%s: element %zu is 0x%" G_GINT64_MODIFIER "x, CPU has 0x%"
                      G_GINT64_MODIFIER "x", what, i / es, gv, wv);
      g_test_fail ();
      break;
    }
  ts_tensor_unref (got);
  ts_tensor_unref (want);
}

/* ---- elementwise ---- */

static void
test_add_mul (void)
{
  VKT_REQUIRE ();
  RAND;
  static const struct { int na; int64_t a[4]; int nb; int64_t b[4]; } cases[] = {
    { 1, { 1 }, 1, { 1 } },
    { 1, { 1031 }, 1, { 1031 } },
    { 3, { 3, 5, 7 }, 1, { 7 } },
    { 3, { 2, 1, 33 }, 3, { 1, 17, 1 } },
    { 2, { 129, 65 }, 2, { 129, 1 } },
    { 4, { 2, 3, 4, 5 }, 3, { 3, 1, 5 } },
    { 1, { 1 }, 2, { 9, 11 } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int mul = 0; mul < 2; mul++)
      for (int big = 0; big < 2; big++) {
        float mag = big ? 1e4f : 1.0f;
        g_auto (VktPair) a = { 0 }, b = { 0 };
        pair_random (&a, rand, TS_DTYPE_F32, cases[i].na, cases[i].a, -mag, mag);
        pair_random (&b, rand, TS_DTYPE_F32, cases[i].nb, cases[i].b, -mag, mag);
        g_autofree char *what = g_strdup_printf ("%s case %u mag %g", mul ? "mul" : "add", i, mag);
        if (mul)
          compare (what, ts_mul (vkt_be, a.vk, b.vk), ts_mul (cpu, a.cpu, b.cpu), LIM_EXACT);
        else
          compare (what, ts_add (vkt_be, a.vk, b.vk), ts_add (cpu, a.cpu, b.cpu), LIM_EXACT);
      }
}

/* Strided inputs: a transposed view and a slice. */
static void
test_add_strided (void)
{
  VKT_REQUIRE ();
  RAND;
  g_auto (VktPair) a = { 0 }, b = { 0 };
  pair_random (&a, rand, TS_DTYPE_F32, 3, SHAPE (5, 9, 13), -3, 3);
  pair_random (&b, rand, TS_DTYPE_F32, 2, SHAPE (20, 9), -3, 3);
  const int perm[3] = { 0, 2, 1 };
  g_autoptr (TsTensor) av = ts_tensor_permute (a.vk, perm);
  g_autoptr (TsTensor) ac = ts_tensor_permute (a.cpu, perm);
  g_autoptr (TsTensor) bv = ts_tensor_slice (b.vk, 0, 7, 13);
  g_autoptr (TsTensor) bc = ts_tensor_slice (b.cpu, 0, 7, 13);
  compare ("add transposed + slice", ts_add (vkt_be, av, bv), ts_add (cpu, ac, bc), LIM_EXACT);
}

typedef TsTensor *(*UnaryFn) (TsBackend *, TsTensor *);

static TsTensor *
scale_fn (TsBackend *be, TsTensor *x)
{
  return ts_scale (be, x, -1.75f, 0.3f);
}

static void
test_unary (void)
{
  VKT_REQUIRE ();
  RAND;
  static const struct { const char *name; UnaryFn fn; double lim; } fns[] = {
    { "scale", scale_fn, LIM_EXACT }, { "silu", ts_silu, LIM_TRANS },
    { "gelu", ts_gelu, LIM_TRANS }, { "quick_gelu", ts_quick_gelu, LIM_TRANS },
  };
  static const int64_t sizes[] = { 1, 7, 1000, 4099, 3333 };
  for (guint f = 0; f < G_N_ELEMENTS (fns); f++)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
      for (int big = 0; big < 2; big++) {
        float mag = big ? 1e4f : 10.0f;
        g_auto (VktPair) x = { 0 };
        int64_t shape[2] = { sizes[s] == 3333 ? 3 : 1, sizes[s] == 3333 ? 1111 : sizes[s] };
        pair_random (&x, rand, TS_DTYPE_F32, 2, shape, -mag, mag);
        g_autofree char *what = g_strdup_printf ("%s n=%" G_GINT64_FORMAT " mag %g", fns[f].name,
                                                 sizes[s], mag);
        compare (what, fns[f].fn (vkt_be, x.vk), fns[f].fn (cpu, x.cpu), fns[f].lim);
      }
}

/* GELU's erf approximation against libm's erf in double, point by point. */
static void
test_gelu_accuracy (void)
{
  VKT_REQUIRE ();
  const int64_t n = 20001;
  g_autofree float *x = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    x[i] = -10.0f + 20.0f * (float) i / (float) (n - 1);
  g_autoptr (TsTensor) t = ts_tensor_new_f32 (vkt_be, 1, &n, x);
  g_autoptr (TsTensor) y = ts_gelu (vkt_be, t);
  g_autofree float *got = ts_test_read (y);
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double want = 0.5 * x[i] * (1.0 + erf (x[i] / sqrt (2.0)));
    /* absolute error relative to max(1, |x|): the scale of the output */
    double err = fabs (got[i] - want) / MAX (1.0, fabs (x[i]));
    worst = MAX (worst, err);
  }
  g_test_message ("gelu: worst scaled error %.3g", worst);
  g_assert_cmpfloat (worst, <, 3e-7);
}

static void
test_geglu (void)
{
  VKT_REQUIRE ();
  RAND;
  static const struct { int nd; int64_t s[3]; } cases[] = {
    { 2, { 1, 2 } }, { 2, { 5, 66 } }, { 3, { 3, 7, 130 } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_auto (VktPair) x = { 0 };
    pair_random (&x, rand, TS_DTYPE_F32, cases[i].nd, cases[i].s, -6, 6);
    g_autofree char *what = g_strdup_printf ("geglu case %u", i);
    compare (what, ts_geglu (vkt_be, x.vk), ts_geglu (cpu, x.cpu), LIM_TRANS);
  }
}

/* ---- norms ---- */

static void
test_softmax (void)
{
  VKT_REQUIRE ();
  RAND;
  static const int64_t shapes[][2] = { { 1, 1 }, { 7, 77 }, { 3, 1000 }, { 2, 4099 }, { 65, 9 } };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int variant = 0; variant < 3; variant++) {
      int64_t rows = shapes[s][0], d = shapes[s][1];
      float mag = variant == 1 ? 1e4f : 5.0f;
      float *v = ts_test_random_values (rand, rows * d, -mag, mag);
      if (variant == 2) {
        /* Masked entries, and (when there are several rows) one row fully masked. */
        for (int64_t i = 0; i < rows * d; i += 7)
          v[i] = -INFINITY;
        if (rows > 1)
          for (int64_t j = 0; j < d; j++)
            v[d + j] = -INFINITY;
      }
      g_auto (VktPair) x = { 0 };
      pair_from_values (&x, TS_DTYPE_F32, 2, shapes[s], v);
      g_autofree char *what = g_strdup_printf ("softmax %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               " variant %d", rows, d, variant);
      TsTensor *got = ts_softmax (vkt_be, x.vk);
      if (variant == 2 && rows > 1 && got != NULL) {
        g_autofree float *gv = ts_test_read (got);
        for (int64_t j = 0; j < d; j++)
          g_assert_cmpfloat (gv[d + j], ==, 0.0f);
      }
      compare (what, got, ts_softmax (cpu, x.cpu), LIM_TRANS);
    }
}

static void
check_layer_norm (GRand *rand, int nd, const int64_t *shape, int with, float offset, float eps)
{
  int64_t d = shape[nd - 1], rows = ts_test_numel (nd, shape) / d;
  g_auto (VktPair) x = { 0 }, w = { 0 }, b = { 0 };
  pair_random (&x, rand, TS_DTYPE_F32, nd, shape, offset - 1, offset + 1);
  if (with & 1)
    pair_random (&w, rand, TS_DTYPE_F32, 1, &d, 0.5f, 1.5f);
  if (with & 2)
    pair_random (&b, rand, TS_DTYPE_F32, 1, &d, -1, 1);
  g_autofree char *what = g_strdup_printf ("layer_norm rows %" G_GINT64_FORMAT " d %" G_GINT64_FORMAT
                                           " params %d offset %g", rows, d, with, offset);
  TsTensor *got = ts_layer_norm (vkt_be, x.vk, w.vk, b.vk, eps);
  /* Also against the double reference: a large common offset must not cost accuracy. */
  g_autofree float *want = g_new (float, rows * d);
  ref_layer_norm (x.values, w.values, b.values, want, rows, d, eps);
  g_autofree float *gv = got ? ts_test_read (got) : NULL;
  if (gv)
    ts_test_check_values (what, gv, want, rows * d, 1e-9);
  compare (what, got, ts_layer_norm (cpu, x.cpu, w.cpu, b.cpu, eps), LIM_NORM);
}

static void
test_layer_norm (void)
{
  VKT_REQUIRE ();
  RAND;
  check_layer_norm (rand, 2, SHAPE (1, 1), 3, 0, 1e-5f);
  check_layer_norm (rand, 2, SHAPE (7, 768), 0, 0, 1e-5f);
  check_layer_norm (rand, 2, SHAPE (7, 768), 3, 0, 1e-6f);
  check_layer_norm (rand, 2, SHAPE (3, 4099), 1, 0, 1e-5f);
  check_layer_norm (rand, 3, SHAPE (2, 3, 33), 2, 0, 1e-5f);
  check_layer_norm (rand, 2, SHAPE (5, 1000), 3, 1e4f, 1e-5f);
}

static void
test_rms_norm (void)
{
  VKT_REQUIRE ();
  RAND;
  static const int64_t shapes[][2] = { { 5, 333 }, { 2, 4099 }, { 1, 1 } };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int with = 0; with < 2; with++) {
      int64_t d = shapes[s][1];
      g_auto (VktPair) x = { 0 }, w = { 0 };
      pair_random (&x, rand, TS_DTYPE_F32, 2, shapes[s], -100, 100);
      if (with)
        pair_random (&w, rand, TS_DTYPE_F32, 1, &d, -2, 2);
      g_autofree char *what = g_strdup_printf ("rms_norm shape %u weight %d", s, with);
      compare (what, ts_rms_norm (vkt_be, x.vk, w.vk, 1e-6f), ts_rms_norm (cpu, x.cpu, w.cpu, 1e-6f),
               LIM_NORM);
    }
}

static void
check_group_norm (GRand *rand, int nd, const int64_t *shape, int groups, int with, float offset)
{
  int64_t c = shape[1];
  g_auto (VktPair) x = { 0 }, w = { 0 }, b = { 0 };
  pair_random (&x, rand, TS_DTYPE_F32, nd, shape, offset - 2, offset + 2);
  if (with & 1)
    pair_random (&w, rand, TS_DTYPE_F32, 1, &c, 0.5f, 1.5f);
  if (with & 2)
    pair_random (&b, rand, TS_DTYPE_F32, 1, &c, -1, 1);
  g_autofree char *what = g_strdup_printf ("group_norm %dD c %" G_GINT64_FORMAT " groups %d "
                                           "params %d offset %g", nd, c, groups, with, offset);
  compare (what, ts_group_norm (vkt_be, x.vk, groups, w.vk, b.vk, 1e-5f),
           ts_group_norm (cpu, x.cpu, groups, w.cpu, b.cpu, 1e-5f), LIM_NORM);
}

/* group_norm → silu fused, into a new tensor and written over the caller's sole reference
 * (the apply kernel then reads and writes one buffer); the input of the former must stay
 * as it was. */
static void
check_group_norm_silu (GRand *rand, int nd, const int64_t *shape, int groups, int with)
{
  int64_t c = shape[1];
  g_auto (VktPair) x = { 0 }, w = { 0 }, b = { 0 };
  pair_random (&x, rand, TS_DTYPE_F32, nd, shape, -3, 3);
  if (with & 1)
    pair_random (&w, rand, TS_DTYPE_F32, 1, &c, 0.5f, 1.5f);
  if (with & 2)
    pair_random (&b, rand, TS_DTYPE_F32, 1, &c, -1, 1);
  g_autofree char *what = g_strdup_printf ("group_norm_silu %dD c %" G_GINT64_FORMAT " groups %d "
                                           "params %d", nd, c, groups, with);
  compare (what, ts_group_norm_silu (vkt_be, x.vk, groups, w.vk, b.vk, 1e-6f),
           ts_group_norm_silu (cpu, x.cpu, groups, w.cpu, b.cpu, 1e-6f), LIM_TRANS);
  compare ("group_norm_silu input kept", ts_tensor_ref (x.vk), ts_tensor_ref (x.cpu), LIM_EXACT);

  TsTensor *own = ts_copy (vkt_be, x.vk, TS_DTYPE_F32);
  g_assert_nonnull (own);
  TsStorage *mem = own->storage;
  TsTensor *in_place = ts_group_norm_silu_consume (vkt_be, own, groups, w.vk, b.vk, 1e-6f);
  g_assert_true (in_place != NULL && in_place->storage == mem);
  compare (what, in_place, ts_group_norm_silu (cpu, x.cpu, groups, w.cpu, b.cpu, 1e-6f),
           LIM_TRANS);
}

static void
test_group_norm_silu (void)
{
  VKT_REQUIRE ();
  RAND;
  check_group_norm_silu (rand, 4, SHAPE (2, 32, 7, 5), 8, 3);
  check_group_norm_silu (rand, 3, SHAPE (1, 6, 9000), 3, 0);  /* chunked groups */
  check_group_norm_silu (rand, 4, SHAPE (1, 4, 33, 31), 2, 1);
}

static void
test_group_norm (void)
{
  VKT_REQUIRE ();
  RAND;
  check_group_norm (rand, 3, SHAPE (2, 32, 35), 8, 3, 0);
  check_group_norm (rand, 3, SHAPE (1, 6, 9000), 3, 0, 0);   /* 18000-element groups: chunked */
  check_group_norm (rand, 4, SHAPE (3, 4, 5, 7), 2, 1, 0);
  check_group_norm (rand, 4, SHAPE (2, 6, 33, 31), 3, 3, 100); /* chunks with an offset */
  check_group_norm (rand, 2, SHAPE (3, 5), 5, 2, 0);
}

static void
test_grn (void)
{
  VKT_REQUIRE ();
  RAND;
  static const int64_t shapes[][4] = { { 2, 5, 7, 24 }, { 1, 3, 3, 1 }, { 3, 9, 11, 70 } };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++) {
    int64_t c = shapes[s][3];
    g_auto (VktPair) x = { 0 }, g = { 0 }, b = { 0 };
    pair_random (&x, rand, TS_DTYPE_F32, 4, shapes[s], -3, 3);
    pair_random (&g, rand, TS_DTYPE_F32, 1, &c, -1, 1);
    pair_random (&b, rand, TS_DTYPE_F32, 1, &c, -1, 1);
    g_autofree char *what = g_strdup_printf ("grn shape %u", s);
    compare (what, ts_global_response_norm (vkt_be, x.vk, g.vk, b.vk, 1e-6f),
             ts_global_response_norm (cpu, x.cpu, g.cpu, b.cpu, 1e-6f), LIM_NORM);
  }
}

/* The kernels read f16 and bf16 inputs too, though the front-end hands them f32 today:
 * run ops straight through ts_backend_run_op with 16-bit inputs and compare with f32 inputs
 * holding the same values on the CPU backend. */
static TsTensor *
run_direct (TsBackend *be, TsOpKind kind, TsTensor *x, TsTensor *w, TsTensor *b, float eps,
            int groups)
{
  g_autoptr (GError) error = NULL;
  int64_t shape[4];
  memcpy (shape, x->shape, sizeof shape);
  if (kind == TS_OP_GEGLU)
    shape[x->ndim - 1] /= 2;
  TsTensor *out = ts_tensor_new (be, TS_DTYPE_F32, x->ndim, shape);
  TsOp op = { .kind = kind, .src = { x, w, b }, .dst = out };
  op.p.norm.eps = eps;
  op.p.norm.groups = groups;
  if (kind == TS_OP_ADD || kind == TS_OP_MUL)
    op.src[1] = x;
  if (!ts_backend_run_op (be, &op, &error))
    g_error ("%s: %s", ts_op_name (kind), error->message);
  return out;
}

static void
test_half_inputs (void)
{
  VKT_REQUIRE ();
  RAND;
  static const TsOpKind kinds[] = { TS_OP_ADD, TS_OP_MUL, TS_OP_SILU, TS_OP_GELU, TS_OP_GEGLU,
                                    TS_OP_SOFTMAX, TS_OP_LAYER_NORM, TS_OP_RMS_NORM,
                                    TS_OP_GROUP_NORM, TS_OP_GRN };
  for (TsDType dt = TS_DTYPE_F16; dt <= TS_DTYPE_BF16; dt++)
    for (guint k = 0; k < G_N_ELEMENTS (kinds); k++) {
      g_autofree float *v = ts_test_random_values (rand, 3 * 5 * 34, -4, 4);
      ts_test_round_to_dtype (v, 3 * 5 * 34, dt);
      const int64_t *shape = SHAPE (3, 5, 34);
      g_autoptr (TsTensor) xh = ts_test_tensor (vkt_be, dt, 3, shape, v);
      g_autoptr (TsTensor) xf = ts_test_tensor (cpu, TS_DTYPE_F32, 3, shape, v);
      float eps = 1e-5f;
      int groups = kinds[k] == TS_OP_GROUP_NORM ? 5 : 0;
      /* Parameters (always f32) for the norms: [C] for group norm, else [last dim]. */
      int64_t pn = kinds[k] == TS_OP_GROUP_NORM ? 5 : 34;
      gboolean params = kinds[k] >= TS_OP_LAYER_NORM && kinds[k] <= TS_OP_GRN;
      g_auto (VktPair) w = { 0 }, b = { 0 };
      if (params) {
        pair_random (&w, rand, TS_DTYPE_F32, 1, &pn, 0.5f, 1.5f);
        pair_random (&b, rand, TS_DTYPE_F32, 1, &pn, -1, 1);
      }
      g_autofree char *what = g_strdup_printf ("%s with %s input", ts_op_name (kinds[k]),
                                               ts_dtype_name (dt));
      compare (what, run_direct (vkt_be, kinds[k], xh, w.vk, b.vk, eps, groups),
               run_direct (cpu, kinds[k], xf, w.cpu, b.cpu, eps, groups), LIM_TRANS);
    }
}

/* ---- layout ---- */

static const TsDType all_dtypes[] = { TS_DTYPE_F32, TS_DTYPE_F16, TS_DTYPE_BF16, TS_DTYPE_I32,
                                      TS_DTYPE_I64, TS_DTYPE_U8 };

/* Values that every conversion from `dt` handles the same on both backends (C leaves
 * out-of-range float → int conversions undefined). */
static float *
values_for (GRand *rand, TsDType dt, size_t n)
{
  float *v = ts_test_random_values (rand, n, -300, 300);
  for (size_t i = 0; i < n; i++) {
    if (dt == TS_DTYPE_U8)
      v[i] = (float) g_rand_int_range (rand, 0, 256);
    else if (!ts_dtype_is_float (dt))
      v[i] = (float) g_rand_int_range (rand, -100000, 100000);
  }
  return v;
}

static void
test_copy_convert (void)
{
  VKT_REQUIRE ();
  RAND;
  const int perm[3] = { 2, 0, 1 };
  for (guint s = 0; s < G_N_ELEMENTS (all_dtypes); s++)
    for (guint d = 0; d < G_N_ELEMENTS (all_dtypes); d++)
      for (int strided = 0; strided < 2; strided++) {
        TsDType from = all_dtypes[s], to = all_dtypes[d];
        g_auto (VktPair) x = { 0 };
        pair_from_values (&x, from, 3, SHAPE (3, 7, 11), values_for (rand, from, 231));
        g_autoptr (TsTensor) xv = strided ? ts_tensor_permute (x.vk, perm) : ts_tensor_ref (x.vk);
        g_autoptr (TsTensor) xc = strided ? ts_tensor_permute (x.cpu, perm) : ts_tensor_ref (x.cpu);
        g_autofree char *what = g_strdup_printf ("copy %s → %s%s", ts_dtype_name (from),
                                                 ts_dtype_name (to), strided ? " (permuted)" : "");
        compare_bits (what, ts_copy (vkt_be, xv, to), ts_copy (cpu, xc, to));
      }
}

/* Bit patterns: every f16 and bf16 value to f32 and back, and f32 edge cases to 16 bits. */
static void
test_copy_bits (void)
{
  VKT_REQUIRE ();
  const int64_t n = 65536;
  g_autofree guint16 *h = g_new (guint16, n);
  for (int64_t i = 0; i < n; i++)
    h[i] = (guint16) i;
  for (TsDType dt = TS_DTYPE_F16; dt <= TS_DTYPE_BF16; dt++) {
    g_autoptr (TsTensor) xv = ts_tensor_new_from_data (vkt_be, dt, 1, &n, h);
    g_autoptr (TsTensor) xc = ts_tensor_new_from_data (cpu, dt, 1, &n, h);
    g_autofree char *what = g_strdup_printf ("all %s to f32", ts_dtype_name (dt));
    compare_bits (what, ts_copy (vkt_be, xv, TS_DTYPE_F32), ts_copy (cpu, xc, TS_DTYPE_F32));
  }

  static const float special[] = {
    0.0f, -0.0f, 1e-8f, -3e-8f, 6.0e-5f, 6.1e-5f, 65504.0f, 65519.0f, 65520.0f, -70000.0f,
    1e30f, 3.4e38f, INFINITY, -INFINITY, NAN, -NAN, 0.5f, 1.5f, 2.5f, -2.5f, 1.00048828125f,
    1.0009765625f, 5.9604644775390625e-8f, 2.98023223876953125e-8f, 1.17549435e-38f, 1e-40f,
  };
  const int64_t m = G_N_ELEMENTS (special) + 100000;
  g_autofree float *f = g_new (float, m);
  memcpy (f, special, sizeof special);
  for (int64_t i = G_N_ELEMENTS (special); i < m; i++) {
    guint32 bits = (guint32) (i * 42949u); /* a sweep over all exponents */
    memcpy (&f[i], &bits, 4);
  }
  g_autoptr (TsTensor) fv = ts_tensor_new_f32 (vkt_be, 1, &m, f);
  g_autoptr (TsTensor) fc = ts_tensor_new_f32 (cpu, 1, &m, f);
  compare_bits ("f32 edge cases to f16", ts_copy (vkt_be, fv, TS_DTYPE_F16),
                ts_copy (cpu, fc, TS_DTYPE_F16));
  compare_bits ("f32 edge cases to bf16", ts_copy (vkt_be, fv, TS_DTYPE_BF16),
                ts_copy (cpu, fc, TS_DTYPE_BF16));
}

/* Strided destinations: pad (fill, then copy into a slice) and concat, in every dtype,
 * including the sub-word ones whose neighbours share 32-bit words. */
static void
test_pad_concat (void)
{
  VKT_REQUIRE ();
  RAND;
  for (guint d = 0; d < G_N_ELEMENTS (all_dtypes); d++) {
    TsDType dt = all_dtypes[d];
    g_auto (VktPair) x = { 0 }, y = { 0 };
    pair_from_values (&x, dt, 3, SHAPE (3, 5, 7), values_for (rand, dt, 105));
    pair_from_values (&y, dt, 3, SHAPE (3, 5, 3), values_for (rand, dt, 45));
    const int64_t before[3] = { 1, 0, 3 }, after[3] = { 0, 2, 1 };
    g_autofree char *what = g_strdup_printf ("pad %s", ts_dtype_name (dt));
    compare_bits (what, ts_pad (vkt_be, x.vk, before, after, 2.0f),
                  ts_pad (cpu, x.cpu, before, after, 2.0f));
    TsTensor *pv[3] = { x.vk, y.vk, x.vk }, *pc[3] = { x.cpu, y.cpu, x.cpu };
    g_autofree char *what2 = g_strdup_printf ("concat %s", ts_dtype_name (dt));
    compare_bits (what2, ts_concat (vkt_be, pv, 3, 2), ts_concat (cpu, pc, 3, 2));
    g_autofree char *what3 = g_strdup_printf ("concat %s axis 1", ts_dtype_name (dt));
    TsTensor *qv[2] = { x.vk, x.vk }, *qc[2] = { x.cpu, x.cpu };
    compare_bits (what3, ts_concat (vkt_be, qv, 2, 1), ts_concat (cpu, qc, 2, 1));
  }
}

static void
test_upsample (void)
{
  VKT_REQUIRE ();
  RAND;
  static const struct { int nd; int64_t s[4]; } cases[] = {
    { 4, { 2, 3, 5, 7 } }, { 2, { 1, 1 } }, { 3, { 4, 9, 16 } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_auto (VktPair) x = { 0 };
    pair_random (&x, rand, TS_DTYPE_F32, cases[i].nd, cases[i].s, -5, 5);
    g_autofree char *what = g_strdup_printf ("upsample case %u", i);
    compare_bits (what, ts_upsample_nearest_2x (vkt_be, x.vk), ts_upsample_nearest_2x (cpu, x.cpu));
  }
}

static TsTensor *
ids_tensor (TsBackend *be, TsDType dt, int nd, const int64_t *shape, const int64_t *ids)
{
  size_t n = (size_t) ts_test_numel (nd, shape);
  g_autofree gint32 *i32 = g_new (gint32, n);
  for (size_t i = 0; i < n; i++)
    i32[i] = (gint32) ids[i];
  return ts_tensor_new_from_data (be, dt, nd, shape, dt == TS_DTYPE_I64 ? (const void *) ids
                                                                        : (const void *) i32);
}

static void
test_embedding (void)
{
  VKT_REQUIRE ();
  RAND;
  int64_t ids[21];
  for (int i = 0; i < 21; i++)
    ids[i] = g_rand_int_range (rand, 0, 50);
  ids[0] = 0;
  ids[20] = 49;
  for (TsDType tdt = TS_DTYPE_F32; tdt <= TS_DTYPE_BF16; tdt++)
    for (TsDType idt = TS_DTYPE_I32; idt <= TS_DTYPE_I64; idt++) {
      g_auto (VktPair) table = { 0 };
      pair_random (&table, rand, tdt, 2, SHAPE (50, 33), -2, 2);
      g_autoptr (TsTensor) iv = ids_tensor (vkt_be, idt, 2, SHAPE (3, 7), ids);
      g_autoptr (TsTensor) ic = ids_tensor (cpu, idt, 2, SHAPE (3, 7), ids);
      g_autofree char *what = g_strdup_printf ("embedding %s table, %s ids", ts_dtype_name (tdt),
                                               ts_dtype_name (idt));
      compare_bits (what, ts_embedding (vkt_be, table.vk, iv), ts_embedding (cpu, table.cpu, ic));
    }
}

/* Every f16 and bf16 bit pattern through TS_LOAD_FLOAT, the loader all kernels share:
 * an embedding lookup is a pure load, so its rows must be the CPU's conversions bit for
 * bit (subnormals included; NaNs only need to stay NaN). */
static void
test_load_bits (void)
{
  VKT_REQUIRE ();
  const int64_t n = 65536;
  g_autofree guint16 *h = g_new (guint16, n);
  g_autofree int64_t *ids = g_new (int64_t, n);
  for (int64_t i = 0; i < n; i++) {
    h[i] = (guint16) i;
    ids[i] = (n - 1 - i) ^ 1; /* both halves of each word, in another order */
  }
  for (TsDType dt = TS_DTYPE_F16; dt <= TS_DTYPE_BF16; dt++) {
    g_autoptr (TsTensor) tv = ts_tensor_new_from_data (vkt_be, dt, 2, SHAPE (n, 1), h);
    g_autoptr (TsTensor) tc = ts_tensor_new_from_data (cpu, dt, 2, SHAPE (n, 1), h);
    g_autoptr (TsTensor) iv = ids_tensor (vkt_be, TS_DTYPE_I32, 1, &n, ids);
    g_autoptr (TsTensor) ic = ids_tensor (cpu, TS_DTYPE_I32, 1, &n, ids);
    g_autofree char *what = g_strdup_printf ("every %s value loaded", ts_dtype_name (dt));
    compare_bits (what, ts_embedding (vkt_be, tv, iv), ts_embedding (cpu, tc, ic));
  }
}

/* On Vulkan, ids outside the table give zero rows (the CPU backend reports an error). */
static void
test_embedding_out_of_range (void)
{
  VKT_REQUIRE ();
  RAND;
  const int64_t ids[6] = { 3, -1, 50, 7, (int64_t) 1 << 40, 49 };
  g_autofree float *tv = ts_test_random_values (rand, 50 * 9, -1, 1);
  g_autoptr (TsTensor) table = ts_tensor_new_f32 (vkt_be, 2, SHAPE (50, 9), tv);
  for (TsDType idt = TS_DTYPE_I32; idt <= TS_DTYPE_I64; idt++) {
    g_autoptr (TsTensor) it = ids_tensor (vkt_be, idt, 1, SHAPE (6), ids);
    g_autoptr (TsTensor) out = ts_embedding (vkt_be, table, it);
    g_autofree float *got = ts_test_read (out);
    for (int r = 0; r < 6; r++) {
      int64_t id = idt == TS_DTYPE_I32 ? (gint32) ids[r] : ids[r];
      for (int j = 0; j < 9; j++)
        g_assert_cmpfloat (got[r * 9 + j], ==, id >= 0 && id < 50 ? tv[id * 9 + j] : 0.0f);
    }
  }
}

/* ---- split work: the same ops with a 64 KiB binding limit ---- */

static void
test_split (void)
{
  VKT_REQUIRE ();
  RAND;
  ts_vk_set_max_binding (vkt_vk, 65536);
  TsVkCounters c0, c1;
  ts_vk_get_counters (vkt_vk, &c0);

  g_auto (VktPair) a = { 0 }, b = { 0 }, big = { 0 }, rows = { 0 }, w = { 0 }, gn = { 0 };
  g_auto (VktPair) grn = { 0 }, gg = { 0 }, gb = { 0 }, img = { 0 }, table = { 0 }, gl = { 0 };
  pair_random (&a, rand, TS_DTYPE_F32, 2, SHAPE (3, 40000), -10, 10);
  pair_random (&b, rand, TS_DTYPE_F32, 1, SHAPE (40000), -10, 10);
  compare ("split add", ts_add (vkt_be, a.vk, b.vk), ts_add (cpu, a.cpu, b.cpu), LIM_EXACT);
  pair_random (&big, rand, TS_DTYPE_F32, 1, SHAPE (70001), -8, 8);
  compare ("split gelu", ts_gelu (vkt_be, big.vk), ts_gelu (cpu, big.cpu), LIM_TRANS);
  pair_random (&gl, rand, TS_DTYPE_F32, 2, SHAPE (9, 4000), -8, 8);
  compare ("split geglu", ts_geglu (vkt_be, gl.vk), ts_geglu (cpu, gl.cpu), LIM_TRANS);

  pair_random (&rows, rand, TS_DTYPE_F32, 2, SHAPE (40, 1000), -5, 5);
  pair_random (&w, rand, TS_DTYPE_F32, 1, SHAPE (1000), -1, 1);
  compare ("split softmax", ts_softmax (vkt_be, rows.vk), ts_softmax (cpu, rows.cpu), LIM_TRANS);
  compare ("split layer_norm", ts_layer_norm (vkt_be, rows.vk, w.vk, w.vk, 1e-5f),
           ts_layer_norm (cpu, rows.cpu, w.cpu, w.cpu, 1e-5f), LIM_NORM);
  compare ("split rms_norm", ts_rms_norm (vkt_be, rows.vk, w.vk, 1e-5f),
           ts_rms_norm (cpu, rows.cpu, w.cpu, 1e-5f), LIM_NORM);

  pair_random (&gn, rand, TS_DTYPE_F32, 3, SHAPE (4, 8, 1500), -3, 3);
  compare ("split group_norm", ts_group_norm (vkt_be, gn.vk, 4, NULL, NULL, 1e-5f),
           ts_group_norm (cpu, gn.cpu, 4, NULL, NULL, 1e-5f), LIM_NORM);
  /* in place, batch after batch: each batch's statistics are read before it is overwritten */
  compare ("split group_norm_silu in place",
           ts_group_norm_silu_consume (vkt_be, ts_copy (vkt_be, gn.vk, TS_DTYPE_F32), 4, NULL,
                                       NULL, 1e-5f),
           ts_group_norm_silu (cpu, gn.cpu, 4, NULL, NULL, 1e-5f), LIM_TRANS);
  pair_random (&grn, rand, TS_DTYPE_F32, 4, SHAPE (3, 40, 40, 8), -3, 3);
  pair_random (&gg, rand, TS_DTYPE_F32, 1, SHAPE (8), -1, 1);
  pair_random (&gb, rand, TS_DTYPE_F32, 1, SHAPE (8), -1, 1);
  compare ("split grn", ts_global_response_norm (vkt_be, grn.vk, gg.vk, gb.vk, 1e-6f),
           ts_global_response_norm (cpu, grn.cpu, gg.cpu, gb.cpu, 1e-6f), LIM_NORM);

  const int perm[2] = { 1, 0 };
  g_autoptr (TsTensor) av = ts_tensor_permute (a.vk, perm);
  g_autoptr (TsTensor) ac = ts_tensor_permute (a.cpu, perm);
  compare_bits ("split transposed copy to f16", ts_copy (vkt_be, av, TS_DTYPE_F16),
                ts_copy (cpu, ac, TS_DTYPE_F16));

  pair_random (&img, rand, TS_DTYPE_F32, 4, SHAPE (1, 20, 30, 30), -1, 1);
  compare_bits ("split upsample", ts_upsample_nearest_2x (vkt_be, img.vk),
                ts_upsample_nearest_2x (cpu, img.cpu));

  pair_random (&table, rand, TS_DTYPE_F32, 2, SHAPE (1000, 40), -1, 1);
  int64_t ids[500];
  for (int i = 0; i < 500; i++)
    ids[i] = (i * 997) % 1000;
  g_autoptr (TsTensor) iv = ids_tensor (vkt_be, TS_DTYPE_I64, 1, SHAPE (500), ids);
  g_autoptr (TsTensor) ic = ids_tensor (cpu, TS_DTYPE_I64, 1, SHAPE (500), ids);
  compare_bits ("split embedding", ts_embedding (vkt_be, table.vk, iv),
                ts_embedding (cpu, table.cpu, ic));

  ts_vk_get_counters (vkt_vk, &c1);
  ts_vk_set_max_binding (vkt_vk, 0);
  /* Each of the 12 ops above needed several dispatches. */
  g_assert_cmpuint (c1.dispatches - c0.dispatches, >=, 40);
}

/* A table past the device's own binding limit: the CLIP token table, 49408×768 f32. */
static void
test_embedding_large_table (void)
{
  VKT_REQUIRE ();
  const int64_t vocab = 49408, d = 768;
  if ((guint64) vocab * d * 4 <= ts_vk_limits (vkt_vk)->max_storage_range) {
    g_test_skip ("the device binds the whole 145 MiB table at once; nothing to split");
    return;
  }
  g_autofree float *tv = g_try_new (float, vocab * d);
  if (tv == NULL) {
    g_test_skip ("not enough host memory for the 145 MiB table");
    return;
  }
  for (int64_t i = 0; i < vocab * d; i++)
    tv[i] = (float) ((guint32) (i * 2654435761u) >> 8) * 0x1p-24f;
  g_autoptr (TsTensor) table = ts_tensor_new_f32 (vkt_be, 2, SHAPE (vocab, d), tv);
  if (table == NULL) {
    g_autoptr (GError) error = NULL;
    ts_backend_take_error (vkt_be, &error);
    g_test_skip (error->message);
    return;
  }
  int64_t ids[77];
  for (int i = 0; i < 77; i++)
    ids[i] = (i * 7919 + 49000) % vocab; /* both sides of the 128 MiB boundary */
  ids[0] = 49407;
  g_autoptr (TsTensor) it = ids_tensor (vkt_be, TS_DTYPE_I32, 1, SHAPE (77), ids);
  g_autoptr (TsTensor) out = ts_embedding (vkt_be, table, it);
  g_autofree float *got = ts_test_read (out);
  for (int r = 0; r < 77; r++)
    if (memcmp (got + r * d, tv + ids[r] * d, d * 4) != 0) {
      g_test_message ("row %d (id %" G_GINT64_FORMAT ") differs", r, ids[r]);
      g_test_fail ();
      break;
    }
}

/* A shared op case (compute/ts-op-cases.c) of the simple families against the CPU. */
static void
test_shared_case (gconstpointer data)
{
  VKT_REQUIRE ();
  op_case_check_backend (vkt_be, cpu, data);
  vkt_check_validation ();
}

/* The halves --only names (both without it); g_test_init leaves the option in argv. */
static void
parse_only (int argc, char **argv, gboolean *simple, gboolean *heavy)
{
  *simple = *heavy = TRUE;
  for (int i = 1; i < argc; i++) {
    if (!g_str_has_prefix (argv[i], "--only="))
      continue;
    const char *half = argv[i] + strlen ("--only=");
    if (!g_str_equal (half, "simple") && !g_str_equal (half, "heavy"))
      g_error ("--only takes simple or heavy, not \"%s\"", half);
    *simple = g_str_equal (half, "simple");
    *heavy = !*simple;
  }
}

static void
add_simple_tests (void)
{
  VKT_ADD ("/vulkan/ops/add-mul", test_add_mul);
  VKT_ADD ("/vulkan/ops/add-strided", test_add_strided);
  VKT_ADD ("/vulkan/ops/unary", test_unary);
  VKT_ADD ("/vulkan/ops/gelu-accuracy", test_gelu_accuracy);
  VKT_ADD ("/vulkan/ops/geglu", test_geglu);
  VKT_ADD ("/vulkan/ops/softmax", test_softmax);
  VKT_ADD ("/vulkan/ops/layer-norm", test_layer_norm);
  VKT_ADD ("/vulkan/ops/rms-norm", test_rms_norm);
  VKT_ADD ("/vulkan/ops/group-norm", test_group_norm);
  VKT_ADD ("/vulkan/ops/group-norm-silu", test_group_norm_silu);
  VKT_ADD ("/vulkan/ops/grn", test_grn);
  VKT_ADD ("/vulkan/ops/half-inputs", test_half_inputs);
  VKT_ADD ("/vulkan/ops/copy-convert", test_copy_convert);
  VKT_ADD ("/vulkan/ops/copy-bits", test_copy_bits);
  VKT_ADD ("/vulkan/ops/pad-concat", test_pad_concat);
  VKT_ADD ("/vulkan/ops/upsample", test_upsample);
  VKT_ADD ("/vulkan/ops/embedding", test_embedding);
  VKT_ADD ("/vulkan/ops/embedding-out-of-range", test_embedding_out_of_range);
  VKT_ADD ("/vulkan/ops/load-bits", test_load_bits);
  VKT_ADD ("/vulkan/ops/split", test_split);
  VKT_ADD ("/vulkan/ops/embedding-large-table", test_embedding_large_table);
  /* the heavy families' cases run in vk-ops-heavy.c, under both kernel variants */
  op_case_add_tests ("/vulkan/cases", cpu, OP_FAMILIES_SIMPLE, OP_FAMILIES_HEAVY,
                     test_shared_case);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gboolean simple, heavy;
  parse_only (argc, argv, &simple, &heavy);
  g_autoptr (GError) error = NULL;
  cpu = ts_backend_new_cpu (0, &error);
  g_assert_no_error (error);
  vkt_setup ();

  if (simple)
    add_simple_tests ();
  if (heavy)
    vk_ops_heavy_add_tests (cpu);

  int ret = g_test_run ();
  vk_ops_heavy_free ();
  vkt_teardown ();
  ts_backend_free (cpu);
  return ret;
}
