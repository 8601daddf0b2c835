/* vk-ops-heavy.c — test-ops-vulkan's compute-heavy ops (matmul, attention, conv2d,
 * conv_transpose_2x2, nearest_code) against the CPU backend, under VK_OPS_HEAVY_PREFIX.
 *
 * Every test runs twice: with the register-only kernels (TS_VK_KERNELS_REG, what CPU
 * devices use) and with the shared-memory kernels (TS_VK_KERNELS_SHM, what GPUs use), so
 * both families run on lavapipe. Options are fixed when a backend is created, so each
 * family (and each forced GEMM tiling) has its own backend, made on first use from the
 * program's options. The *-split tests lower the binding limit to SMALL_BINDING bytes, so
 * the ops must cut their work into several dispatches (which is checked too). Any NaN/Inf,
 * an nmse above the op's bound, or any validation-layer message fails. Shapes are small:
 * lavapipe does about 1 GFLOP/s. */
#include "op-case-tests.h"
#include "test-common.h"
#include "vk-op-pair.h"
#include "vk-ops-heavy.h"
#include "vk-test-util.h"

#include <math.h>
#include <string.h>

#define SMALL_BINDING 4096

/* f32 accumulation in another order: errors around K·ε² relative. */
#define LIMIT_GEMM 1e-9
#define LIMIT_ATTENTION 1e-9

static TsBackend *cpu;

typedef enum { VARIANT_REG, VARIANT_SHM } Variant;

/* The shared-memory GEMM tilings (vk-variant.c) that tests force; TILE_CHOSEN: none. */
#define N_TILES     3
#define TILE_CHOSEN (-1)

/* Backends by variant: registers, shared memory, shared memory with tiling 0..N_TILES-1. */
static TsBackend *variant_be[2 + N_TILES];
/* The Vulkan backend of the running test. */
static TsBackend   *dev;
static TsVkBackend *dev_vk;

/* Whether the op under test must be split into several dispatches (the *-split tests). */
static gboolean expect_split;

/* Select the backend of kernel family v with GEMM tiling `tile` forced (TILE_CHOSEN: as
 * the backend chooses; the register kernels have no tiling to force); FALSE (and the test
 * skipped) without a Vulkan device. */
static gboolean
begin_tiled (Variant v, int tile)
{
  if (vkt_be == NULL) {
    g_test_skip (vkt_skip_reason);
    return FALSE;
  }
  guint slot = v == VARIANT_REG ? 0 : tile == TILE_CHOSEN ? 1 : 2 + (guint) tile;
  if (slot >= G_N_ELEMENTS (variant_be))
    g_error ("no GEMM tiling %d", tile);
  if (variant_be[slot] == NULL) {
    TsVkOptions options = vkt_options;
    /* Validation on unless the caller decided otherwise (meson sets it too); bindings as
     * large as the device allows, since the *-split tests lower them themselves. */
    if (g_getenv ("TESSERA_VK_VALIDATION") == NULL)
      options.validation = TRUE;
    options.max_binding = 0;
    options.kernels = v == VARIANT_REG ? TS_VK_KERNELS_REG : TS_VK_KERNELS_SHM;
    options.force_gemm_tile = slot >= 2;
    options.gemm_tile = slot >= 2 ? (guint) tile : 0;
    variant_be[slot] = vkt_backend_new (&options);
  }
  dev = variant_be[slot];
  dev_vk = ts_vk_backend_from (dev);
  return TRUE;
}

/* The kernel family the test's data names, tiling as the backend chooses. */
static gboolean
begin (gconstpointer data)
{
  return begin_tiled (GPOINTER_TO_INT (data), TILE_CHOSEN);
}

/* Bindings limited to SMALL_BINDING bytes from here to end(). */
static void
begin_split (void)
{
  ts_vk_set_max_binding (dev_vk, SMALL_BINDING);
  expect_split = TRUE;
}

static void
end (void)
{
  ts_vk_set_max_binding (dev_vk, 0);
  expect_split = FALSE;
  ts_test_assert_no_error (cpu);
  ts_test_assert_no_error (dev);
  vkt_check_validation ();
}

static guint64
dispatches (void)
{
  TsVkCounters c;
  ts_vk_get_counters (dev_vk, &c);
  return c.dispatches;
}

/* Called right after the Vulkan op: in a split test it must have taken several dispatches. */
static void
check_split (const char *what, guint64 dispatches_before)
{
  guint64 n = dispatches () - dispatches_before;
  if (expect_split && n < 2) {
    g_test_message ("%s: %" G_GUINT64_FORMAT " dispatch(es), expected the work to be split",
                    what, n);
    g_test_fail ();
  }
}

/* vk-op-pair.h's helpers on the running test's backend. */
static VktPair
pair_from (TsDType dtype, int ndim, const int64_t *shape, float *values)
{
  return vkt_pair_new (dev, cpu, dtype, ndim, shape, values);
}

static VktPair
pair_random (GRand *rand, TsDType dtype, int ndim, const int64_t *shape, float lo, float hi)
{
  return vkt_pair_random (dev, cpu, rand, dtype, ndim, shape, lo, hi);
}

/* Vulkan result `got` against the CPU result `want` (both consumed). */
static void
check_outputs (const char *what, TsTensor *got, TsTensor *want, double limit)
{
  vkt_pair_check (what, dev, cpu, got, want, limit);
}

/* ---- matmul ---- */

typedef struct {
  int64_t batch, m, k, n;
  gboolean trans_a, trans_b, shared_b, bias;
  TsDType b_dtype;
  float magnitude;
} MatmulCase;

static void
run_matmul (GRand *rand, const MatmulCase *mc)
{
  int64_t as[3] = { mc->batch, mc->trans_a ? mc->k : mc->m, mc->trans_a ? mc->m : mc->k };
  int64_t bs[3] = { mc->batch, mc->trans_b ? mc->n : mc->k, mc->trans_b ? mc->k : mc->n };
  gboolean a3 = mc->batch > 1, b3 = mc->batch > 1 && !mc->shared_b;
  float mag = mc->magnitude;
  VktPair a = pair_random (rand, TS_DTYPE_F32, a3 ? 3 : 2, a3 ? as : as + 1, -mag, mag);
  VktPair b = pair_random (rand, mc->b_dtype, b3 ? 3 : 2, b3 ? bs : bs + 1, -mag, mag);
  VktPair bias = { 0 };
  if (mc->bias)
    bias = pair_random (rand, TS_DTYPE_F32, 1, &mc->n, -mag, mag);
  TsMatmulFlags flags = (mc->trans_a ? TS_MATMUL_TRANS_A : 0) | (mc->trans_b ? TS_MATMUL_TRANS_B : 0);

  g_autofree char *what = g_strdup_printf (
    "matmul batch %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
    "%s%s%s %s", mc->batch, mc->m, mc->k, mc->n, mc->trans_a ? " ᵀa" : "",
    mc->trans_b ? " ᵀb" : "", mc->shared_b ? " shared" : "", ts_dtype_name (mc->b_dtype));
  guint64 before = dispatches ();
  TsTensor *got = ts_matmul (dev, a.vk, b.vk, bias.vk, flags);
  check_split (what, before);
  check_outputs (what, got, ts_matmul (cpu, a.cpu, b.cpu, bias.cpu, flags), LIMIT_GEMM);
  vkt_pair_clear (&a);
  vkt_pair_clear (&b);
  vkt_pair_clear (&bias);
}

static void
test_matmul (gconstpointer data)
{
  if (!begin (data))
    return;
  static const MatmulCase cases[] = {
    { 1, 1, 1, 1, FALSE, FALSE, FALSE, FALSE, TS_DTYPE_F32, 1 },
    { 1, 7, 17, 33, FALSE, FALSE, FALSE, TRUE, TS_DTYPE_F32, 1 },
    { 2, 33, 127, 17, FALSE, TRUE, FALSE, TRUE, TS_DTYPE_F32, 1 },
    { 3, 17, 33, 7, TRUE, FALSE, TRUE, FALSE, TS_DTYPE_F32, 1 },
    { 1, 127, 65, 129, FALSE, TRUE, TRUE, TRUE, TS_DTYPE_F16, 1 },   /* nn.Linear, f16 */
    { 2, 70, 40, 130, FALSE, TRUE, TRUE, FALSE, TS_DTYPE_BF16, 1 },  /* shared bf16 weight */
    { 2, 65, 21, 66, FALSE, FALSE, FALSE, TRUE, TS_DTYPE_F16, 1 },
    { 1, 130, 33, 67, TRUE, TRUE, FALSE, TRUE, TS_DTYPE_F32, 1000 }, /* large magnitudes */
    { 1, 5, 19, 3, FALSE, TRUE, TRUE, TRUE, TS_DTYPE_BF16, 3000 },
  };
  g_autoptr (GRand) rand = ts_test_rand_for ("matmul");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_matmul (rand, &cases[i]);
  end ();
}

/* Operands larger than SMALL_BINDING bytes: split along batch, M, N and (accumulating) K. */
static void
test_matmul_split (gconstpointer data)
{
  if (!begin (data))
    return;
  begin_split ();
  static const MatmulCase cases[] = {
    { 3, 40, 50, 30, FALSE, TRUE, FALSE, TRUE, TS_DTYPE_F32, 1 },   /* batch, M, N */
    { 1, 3, 300, 5, FALSE, FALSE, TRUE, TRUE, TS_DTYPE_F32, 1 },    /* K of b [K, N] */
    { 2, 4, 300, 6, TRUE, TRUE, FALSE, TRUE, TS_DTYPE_F32, 1 },     /* K of aᵀ */
    { 1, 9, 301, 7, FALSE, FALSE, TRUE, TRUE, TS_DTYPE_F16, 1 },    /* odd f16 slice starts */
    { 2, 5, 61, 40, FALSE, TRUE, TRUE, FALSE, TS_DTYPE_BF16, 1 },
  };
  g_autoptr (GRand) rand = ts_test_rand_for ("matmul_split");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_matmul (rand, &cases[i]);
  end ();
}

/* ---- attention ---- */

typedef struct {
  int64_t b, nq, nk, h, d, dv;
  gboolean causal;
  float magnitude;
} AttentionCase;

static void
run_attention (GRand *rand, const AttentionCase *ac)
{
  int64_t qs[4] = { ac->b, ac->nq, ac->h, ac->d };
  int64_t ks[4] = { ac->b, ac->nk, ac->h, ac->d };
  int64_t vs[4] = { ac->b, ac->nk, ac->h, ac->dv };
  float mag = ac->magnitude;
  VktPair q = pair_random (rand, TS_DTYPE_F32, 4, qs, -mag, mag);
  VktPair k = pair_random (rand, TS_DTYPE_F32, 4, ks, -mag, mag);
  VktPair v = pair_random (rand, TS_DTYPE_F32, 4, vs, -1, 1);
  float scale = 1.0f / sqrtf ((float) ac->d);
  g_autofree char *what = g_strdup_printf (
    "attention b%" G_GINT64_FORMAT " q%" G_GINT64_FORMAT " k%" G_GINT64_FORMAT " h%" G_GINT64_FORMAT
    " d%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "%s", ac->b, ac->nq, ac->nk, ac->h, ac->d, ac->dv,
    ac->causal ? " causal" : "");
  guint64 before = dispatches ();
  TsTensor *got = ts_attention (dev, q.vk, k.vk, v.vk, scale, ac->causal);
  check_split (what, before);
  check_outputs (what, got, ts_attention (cpu, q.cpu, k.cpu, v.cpu, scale, ac->causal),
                 LIMIT_ATTENTION);
  vkt_pair_clear (&q);
  vkt_pair_clear (&k);
  vkt_pair_clear (&v);
}

static void
test_attention (gconstpointer data)
{
  if (!begin (data))
    return;
  static const AttentionCase cases[] = {
    { 1, 1, 1, 1, 1, 1, FALSE, 1 },
    { 2, 17, 33, 3, 7, 5, FALSE, 1 },
    { 1, 33, 33, 2, 64, 64, TRUE, 1 },   /* the real head size, causal (CLIP) */
    { 2, 7, 77, 2, 17, 9, TRUE, 1 },     /* fewer queries than keys */
    { 1, 70, 20, 1, 3, 3, TRUE, 1 },     /* more queries than keys, crosses a 64-row block */
    { 1, 40, 40, 2, 64, 64, FALSE, 1 },
    { 1, 19, 35, 1, 16, 16, FALSE, 4 },  /* peaked softmax */
  };
  g_autoptr (GRand) rand = ts_test_rand_for ("attention");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_attention (rand, &cases[i]);
  end ();
}

/* q, k and v as strided views of one projection [B, N, 3H, D], the way a fused QKV
 * projection is consumed in place. */
static void
test_attention_strided (gconstpointer data)
{
  if (!begin (data))
    return;
  g_autoptr (GRand) rand = ts_test_rand_for ("attention_strided");
  const int64_t b = 2, n = 21, h = 3, d = 12;
  int64_t shape[4] = { b, n, 3 * h, d };
  VktPair qkv = pair_random (rand, TS_DTYPE_F32, 4, shape, -1, 1);
  for (int causal = 0; causal < 2; causal++) {
    TsTensor *cv[2][3];
    for (int i = 0; i < 3; i++) {
      cv[0][i] = ts_tensor_slice (qkv.cpu, 2, i * h, h);
      cv[1][i] = ts_tensor_slice (qkv.vk, 2, i * h, h);
    }
    g_assert_cmpint (cv[1][1]->stride[1], ==, 3 * h * d);
    check_outputs (causal ? "strided causal attention" : "strided attention",
                   ts_attention (dev, cv[1][0], cv[1][1], cv[1][2], 0.3f, causal),
                   ts_attention (cpu, cv[0][0], cv[0][1], cv[0][2], 0.3f, causal), LIMIT_ATTENTION);
    for (int i = 0; i < 3; i++) {
      ts_tensor_unref (cv[0][i]);
      ts_tensor_unref (cv[1][i]);
    }
  }
  vkt_pair_clear (&qkv);

  /* Keys and values stored head-major [B, H, N, D] and viewed as [B, N, H, D]. */
  int64_t qs[4] = { b, n, h, d }, hs[4] = { b, h, 17, d };
  static const int perm[4] = { 0, 2, 1, 3 };
  VktPair q = pair_random (rand, TS_DTYPE_F32, 4, qs, -1, 1);
  VktPair k = pair_random (rand, TS_DTYPE_F32, 4, hs, -1, 1);
  VktPair v = pair_random (rand, TS_DTYPE_F32, 4, hs, -1, 1);
  g_autoptr (TsTensor) kc = ts_tensor_permute (k.cpu, perm);
  g_autoptr (TsTensor) kv = ts_tensor_permute (k.vk, perm);
  g_autoptr (TsTensor) vc = ts_tensor_permute (v.cpu, perm);
  g_autoptr (TsTensor) vv = ts_tensor_permute (v.vk, perm);
  g_assert_cmpint (kv->stride[2], ==, 17 * d);
  check_outputs ("head-major keys", ts_attention (dev, q.vk, kv, vv, 0.3f, FALSE),
                 ts_attention (cpu, q.cpu, kc, vc, 0.3f, FALSE), LIMIT_ATTENTION);
  vkt_pair_clear (&q);
  vkt_pair_clear (&k);
  vkt_pair_clear (&v);
  end ();
}

static void
test_attention_split (gconstpointer data)
{
  if (!begin (data))
    return;
  begin_split ();
  static const AttentionCase cases[] = {
    { 3, 20, 30, 2, 8, 8, FALSE, 1 },  /* one batch per dispatch */
    { 2, 90, 30, 2, 8, 4, TRUE, 1 },   /* query rows split too; causal offsets */
  };
  g_autoptr (GRand) rand = ts_test_rand_for ("attention_split");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_attention (rand, &cases[i]);
  end ();
}

/* ---- convolutions ---- */

typedef struct {
  int64_t n, c, h, w, o, kh, kw;
  TsConv2dParams p;
  gboolean bias;
  TsDType w_dtype;
} ConvCase;

static void
run_conv (GRand *rand, const ConvCase *cc)
{
  int64_t xs[4] = { cc->n, cc->c, cc->h, cc->w };
  int64_t ws[4] = { cc->o, cc->c / cc->p.groups, cc->kh, cc->kw };
  VktPair x = pair_random (rand, TS_DTYPE_F32, 4, xs, -1, 1);
  VktPair w = pair_random (rand, cc->w_dtype, 4, ws, -1, 1);
  VktPair bias = { 0 };
  if (cc->bias)
    bias = pair_random (rand, TS_DTYPE_F32, 1, &cc->o, -1, 1);
  g_autofree char *what = g_strdup_printf (
    "conv2d %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
    " → %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " stride %d,%d pad %d,%d,%d,%d"
    " groups %d %s", cc->n, cc->c, cc->h, cc->w, cc->o, cc->kh, cc->kw, cc->p.stride_y,
    cc->p.stride_x, cc->p.pad_top, cc->p.pad_left, cc->p.pad_bottom, cc->p.pad_right,
    cc->p.groups, ts_dtype_name (cc->w_dtype));
  guint64 before = dispatches ();
  TsTensor *got = ts_conv2d (dev, x.vk, w.vk, bias.vk, &cc->p);
  check_split (what, before);
  check_outputs (what, got, ts_conv2d (cpu, x.cpu, w.cpu, bias.cpu, &cc->p), LIMIT_GEMM);
  vkt_pair_clear (&x);
  vkt_pair_clear (&w);
  vkt_pair_clear (&bias);
}

#define S1 1, 1
#define S2 2, 2

static void
test_conv2d (gconstpointer data)
{
  if (!begin (data))
    return;
  static const ConvCase cases[] = {
    { 2, 3, 7, 9, 5, 3, 3, { S1, 1, 1, 1, 1, 1 }, TRUE, TS_DTYPE_F32 },
    { 1, 1, 1, 1, 1, 1, 1, { S1, 0, 0, 0, 0, 1 }, FALSE, TS_DTYPE_F32 },
    { 1, 17, 5, 5, 33, 1, 1, { S1, 0, 0, 0, 0, 1 }, TRUE, TS_DTYPE_F16 },   /* 1×1 GEMM */
    { 1, 8, 8, 8, 6, 2, 2, { S2, 0, 0, 1, 1, 1 }, FALSE, TS_DTYPE_BF16 },  /* downsample, pad (0,1,0,1) */
    { 1, 5, 9, 7, 4, 3, 3, { S2, 0, 0, 1, 1, 1 }, TRUE, TS_DTYPE_F32 },    /* VQ encoder down */
    { 2, 6, 7, 6, 4, 3, 3, { S1, 1, 0, 2, 1, 2 }, TRUE, TS_DTYPE_F32 },    /* grouped, odd pads */
    { 1, 8, 9, 9, 8, 3, 3, { S1, 1, 1, 1, 1, 8 }, TRUE, TS_DTYPE_F16 },    /* depthwise */
    { 2, 4, 6, 5, 12, 3, 3, { S2, 1, 1, 1, 1, 4 }, FALSE, TS_DTYPE_BF16 }, /* depthwise ×3 */
    { 1, 33, 9, 9, 70, 3, 3, { S1, 1, 1, 1, 1, 1 }, TRUE, TS_DTYPE_F32 },  /* crosses tiles */
    { 1, 3, 11, 10, 2, 5, 4, { 2, 1, 2, 0, 1, 3, 1 }, TRUE, TS_DTYPE_F32 },/* other kernel */
  };
  g_autoptr (GRand) rand = ts_test_rand_for ("conv2d");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_conv (rand, &cases[i]);
  end ();
}

typedef struct {
  int64_t n, c, h, w, o;
  gboolean bias;
  TsDType w_dtype;
} ConvTCase;

static void
run_conv_t (GRand *rand, const ConvTCase *cc)
{
  int64_t xs[4] = { cc->n, cc->c, cc->h, cc->w };
  int64_t ws[4] = { cc->c, cc->o, 2, 2 };
  VktPair x = pair_random (rand, TS_DTYPE_F32, 4, xs, -1, 1);
  VktPair w = pair_random (rand, cc->w_dtype, 4, ws, -1, 1);
  VktPair bias = { 0 };
  if (cc->bias)
    bias = pair_random (rand, TS_DTYPE_F32, 1, &cc->o, -1, 1);
  g_autofree char *what = g_strdup_printf (
    "conv_transpose_2x2 %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%"
    G_GINT64_FORMAT " → %" G_GINT64_FORMAT " %s", cc->n, cc->c, cc->h, cc->w, cc->o,
    ts_dtype_name (cc->w_dtype));
  guint64 before = dispatches ();
  TsTensor *got = ts_conv_transpose_2x2 (dev, x.vk, w.vk, bias.vk);
  check_split (what, before);
  check_outputs (what, got, ts_conv_transpose_2x2 (cpu, x.cpu, w.cpu, bias.cpu), LIMIT_GEMM);
  vkt_pair_clear (&x);
  vkt_pair_clear (&w);
  vkt_pair_clear (&bias);
}

static void
test_conv_transpose (gconstpointer data)
{
  if (!begin (data))
    return;
  static const ConvTCase cases[] = {
    { 1, 1, 1, 1, 1, FALSE, TS_DTYPE_F32 },
    { 2, 7, 3, 4, 5, TRUE, TS_DTYPE_F32 },
    { 1, 17, 5, 7, 33, TRUE, TS_DTYPE_BF16 }, /* 132 GEMM rows: crosses tiles */
    { 1, 9, 4, 4, 3, FALSE, TS_DTYPE_F16 },
  };
  g_autoptr (GRand) rand = ts_test_rand_for ("conv_transpose");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_conv_t (rand, &cases[i]);
  end ();
}

/* Inputs and outputs larger than SMALL_BINDING: split along images, groups, output and
 * (accumulating) input channels. */
static void
test_conv_split (gconstpointer data)
{
  if (!begin (data))
    return;
  begin_split ();
  static const ConvCase cases[] = {
    { 1, 8, 20, 20, 6, 3, 3, { S1, 1, 1, 1, 1, 1 }, TRUE, TS_DTYPE_F32 },
    { 2, 6, 16, 16, 6, 3, 3, { S1, 1, 1, 1, 1, 6 }, TRUE, TS_DTYPE_F16 },  /* depthwise */
    { 2, 4, 12, 12, 4, 3, 3, { S2, 0, 0, 1, 1, 2 }, TRUE, TS_DTYPE_BF16 }, /* grouped */
    { 1, 30, 2, 2, 40, 1, 1, { S1, 0, 0, 0, 0, 1 }, TRUE, TS_DTYPE_F32 },  /* weights split */
  };
  static const ConvTCase tcases[] = {
    { 1, 12, 10, 10, 4, TRUE, TS_DTYPE_F32 },
    { 2, 3, 8, 9, 5, TRUE, TS_DTYPE_F16 },
  };
  g_autoptr (GRand) rand = ts_test_rand_for ("conv_split");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_conv (rand, &cases[i]);
  for (guint i = 0; i < G_N_ELEMENTS (tcases); i++)
    run_conv_t (rand, &tcases[i]);
  end ();
}

/* The larger shared-memory tilings (128×128 with 8×8 per invocation, 64×64) are only
 * chosen for shapes too large for lavapipe; the gemm_tile option forces them. */
static void
test_gemm_tiles (gconstpointer data)
{
  if (!begin_tiled (VARIANT_SHM, GPOINTER_TO_INT (data)))
    return;
  static const MatmulCase mcases[] = {
    { 1, 130, 33, 131, FALSE, TRUE, TRUE, TRUE, TS_DTYPE_F32, 1 },
    { 2, 67, 20, 129, TRUE, FALSE, FALSE, FALSE, TS_DTYPE_F16, 1 },
    { 1, 129, 17, 70, FALSE, FALSE, TRUE, TRUE, TS_DTYPE_BF16, 1 },
  };
  static const ConvCase ccases[] = {
    { 1, 9, 12, 11, 130, 3, 3, { S1, 1, 1, 1, 1, 1 }, TRUE, TS_DTYPE_F16 },
  };
  static const ConvTCase tcases[] = {
    { 1, 5, 8, 9, 33, TRUE, TS_DTYPE_F32 },
  };
  g_autoptr (GRand) rand = ts_test_rand_for ("gemm_tiles");
  for (guint i = 0; i < G_N_ELEMENTS (mcases); i++)
    run_matmul (rand, &mcases[i]);
  for (guint i = 0; i < G_N_ELEMENTS (ccases); i++)
    run_conv (rand, &ccases[i]);
  for (guint i = 0; i < G_N_ELEMENTS (tcases); i++)
    run_conv_t (rand, &tcases[i]);
  end ();
}

/* More workgroups than one grid dimension allows (65535 on lavapipe): the grid is folded
 * into y and z and the shaders unfold it. */
static void
test_grid_folding (gconstpointer data)
{
  /* the smallest tiling: 70000 workgroups with barriers are slow on lavapipe */
  if (!begin_tiled (GPOINTER_TO_INT (data), 2))
    return;
  g_autoptr (GRand) rand = ts_test_rand_for ("grid_folding");
  static const MatmulCase mc = { 70000, 1, 2, 1, FALSE, FALSE, FALSE, TRUE, TS_DTYPE_F32, 1 };
  run_matmul (rand, &mc);
  static const AttentionCase ac = { 1, 1, 2, 70000, 1, 1, FALSE, 1 };
  run_attention (rand, &ac);
  end ();
}

/* ---- nearest code ---- */

static int32_t *
read_ids (const TsTensor *t)
{
  int64_t n = ts_tensor_numel (t);
  int32_t *ids = g_new (int32_t, n);
  g_autoptr (GError) error = NULL;
  g_assert_true (ts_tensor_read (t, ids, n * sizeof *ids, &error));
  g_assert_no_error (error);
  return ids;
}

static double
distance (const float *x, const float *e, int64_t d)
{
  double s = 0;
  for (int64_t i = 0; i < d; i++)
    s += ((double) x[i] - e[i]) * ((double) x[i] - e[i]);
  return s;
}

/* Codes are random; x rows are codes plus noise far below the codes' spacing, around a
 * large common offset (where |x|² − 2x·e + |e|² would cancel). Some codes are duplicated
 * so ties must resolve to the lower index. The Vulkan answer must be the planted code (or
 * its lowest duplicate) and agree with the CPU backend. */
static void
run_nearest (GRand *rand, int64_t n, int64_t k, int64_t d, float offset)
{
  int64_t es[2] = { k, d }, xs[2] = { n, d };
  float *book = g_new (float, k * d), *x = g_new (float, n * d);
  int32_t *planted = g_new (int32_t, n);
  for (int64_t i = 0; i < k * d; i++)
    book[i] = offset + (float) g_rand_double_range (rand, -1, 1);
  /* code k-1 repeats code 1 and code k/2 repeats code 0 */
  if (k > 2)
    memcpy (book + (k - 1) * d, book + d, d * sizeof (float));
  if (k > 4)
    memcpy (book + (k / 2) * d, book, d * sizeof (float));
  for (int64_t r = 0; r < n; r++) {
    int32_t t = g_rand_int_range (rand, 0, k);
    for (int64_t j = 0; j < d; j++)
      x[r * d + j] = book[t * d + j] + (float) g_rand_double_range (rand, -1e-4, 1e-4);
    /* the lowest index holding the same vector */
    for (int32_t u = 0; u < t; u++)
      if (memcmp (book + u * d, book + t * d, d * sizeof (float)) == 0) {
        t = u;
        break;
      }
    planted[r] = t;
  }
  VktPair pe = pair_from (TS_DTYPE_F32, 2, es, book);
  VktPair px = pair_from (TS_DTYPE_F32, 2, xs, x);
  guint64 before = dispatches ();
  g_autoptr (TsTensor) got = ts_nearest_code (dev, px.vk, pe.vk);
  check_split ("nearest_code", before);
  g_autoptr (TsTensor) want = ts_nearest_code (cpu, px.cpu, pe.cpu);
  ts_test_assert_no_error (dev);
  ts_test_assert_no_error (cpu);
  g_autofree int32_t *gi = read_ids (got), *wi = read_ids (want);
  for (int64_t r = 0; r < n; r++) {
    if (gi[r] != planted[r] || gi[r] != wi[r]) {
      g_test_message ("nearest_code %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " codes %"
                      G_GINT64_FORMAT ", row %" G_GINT64_FORMAT ": got %d, planted %d, cpu %d "
                      "(distances %g, %g)", n, d, k, r, gi[r], planted[r], wi[r],
                      gi[r] >= 0 && gi[r] < k ? distance (x + r * d, book + gi[r] * d, d) : -1.0,
                      distance (x + r * d, book + planted[r] * d, d));
      g_test_fail ();
      break;
    }
  }
  vkt_pair_clear (&pe);
  vkt_pair_clear (&px);
  g_free (planted);
}

/* Random rows against random codes: the chosen code must be as near as the CPU's choice
 * (up to rounding); exact equality would depend on summation order near ties. */
static void
run_nearest_random (GRand *rand, int64_t n, int64_t k, int64_t d)
{
  int64_t es[2] = { k, d }, xs[2] = { n, d };
  VktPair pe = pair_random (rand, TS_DTYPE_F32, 2, es, -1, 1);
  VktPair px = pair_random (rand, TS_DTYPE_F32, 2, xs, -1, 1);
  guint64 before = dispatches ();
  g_autoptr (TsTensor) got = ts_nearest_code (dev, px.vk, pe.vk);
  check_split ("nearest_code", before);
  g_autoptr (TsTensor) want = ts_nearest_code (cpu, px.cpu, pe.cpu);
  ts_test_assert_no_error (dev);
  g_autofree int32_t *gi = read_ids (got), *wi = read_ids (want);
  for (int64_t r = 0; r < n; r++) {
    g_assert_cmpint (gi[r], >=, 0);
    g_assert_cmpint (gi[r], <, k);
    double dg = distance (px.values + r * d, pe.values + gi[r] * d, d);
    double dw = distance (px.values + r * d, pe.values + wi[r] * d, d);
    if (dg > dw * (1 + 1e-5) + 1e-30) {
      g_test_message ("nearest_code row %" G_GINT64_FORMAT ": code %d at %.9g, cpu's %d at %.9g",
                      r, gi[r], dg, wi[r], dw);
      g_test_fail ();
      break;
    }
  }
  vkt_pair_clear (&pe);
  vkt_pair_clear (&px);
}

static void
test_nearest_code (gconstpointer data)
{
  if (!begin (data))
    return;
  g_autoptr (GRand) rand = ts_test_rand_for ("nearest_code");
  run_nearest (rand, 1, 1, 1, 0);
  run_nearest (rand, 37, 70, 7, 0);
  run_nearest (rand, 100, 127, 64, 1000); /* the VQ width, large offset */
  run_nearest (rand, 9, 33, 300, 10);     /* too wide for registers */
  run_nearest_random (rand, 65, 17, 5);
  run_nearest_random (rand, 33, 129, 64);
  end ();
}

/* Codebook and rows larger than SMALL_BINDING: slices of codes merged across dispatches
 * (duplicates in different slices must keep the lower index), and slices of rows. */
static void
test_nearest_split (gconstpointer data)
{
  if (!begin (data))
    return;
  begin_split ();
  g_autoptr (GRand) rand = ts_test_rand_for ("nearest_split");
  run_nearest (rand, 50, 100, 30, 100);
  run_nearest (rand, 300, 9, 8, 0);
  run_nearest_random (rand, 40, 200, 16);
  end ();
}

/* A shared op case (compute/ts-op-cases.c) of the heavy families against the CPU, under
 * the variant the test names. */
static void
test_shared_case (gconstpointer data)
{
  const OpCaseTest *t = data;
  if (!begin (GINT_TO_POINTER (t->variant)))
    return;
  op_case_check_backend (dev, cpu, t->op_case);
  end ();
}

/* ---- registration ---- */

void
vk_ops_heavy_add_tests (TsBackend *cpu_backend)
{
  cpu = cpu_backend;
  static const struct {
    const char *name;
    GTestDataFunc func;
  } tests[] = {
    { "matmul", test_matmul },
    { "matmul-split", test_matmul_split },
    { "attention", test_attention },
    { "attention-strided", test_attention_strided },
    { "attention-split", test_attention_split },
    { "conv2d", test_conv2d },
    { "conv-transpose", test_conv_transpose },
    { "conv-split", test_conv_split },
    { "nearest-code", test_nearest_code },
    { "nearest-split", test_nearest_split },
    { "grid-folding", test_grid_folding },
  };
  static const char *const variants[] = { "reg", "shm" };
  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    for (int v = 0; v < 2; v++) {
      g_autofree char *path = g_strdup_printf (VK_OPS_HEAVY_PREFIX "/%s/%s", tests[i].name,
                                               variants[v]);
      g_test_add_data_func (path, GINT_TO_POINTER (v), tests[i].func);
    }
  op_case_add_variant_tests (VK_OPS_HEAVY_PREFIX "/cases", cpu, OP_FAMILIES_HEAVY, 0, variants,
                             G_N_ELEMENTS (variants), test_shared_case);
  for (int tile = 0; tile < 2; tile++) {
    g_autofree char *path = g_strdup_printf (VK_OPS_HEAVY_PREFIX "/gemm-tile/%d", tile);
    g_test_add_data_func (path, GINT_TO_POINTER (tile), test_gemm_tiles);
  }
}

void
vk_ops_heavy_free (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (variant_be); i++)
    g_clear_pointer (&variant_be[i], ts_backend_free);
}
