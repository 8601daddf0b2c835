/* cpu-dispatch.c — which reduced-precision kernels this CPU runs, and the threaded product
 * over packed weights (cpu-precision.h).
 *
 * The choice is made at run time from CPUID, so one binary (built with -march=native or
 * without) uses AVX512_BF16 / AVX512_VNNI / AVX-VNNI where the CPU has them and the portable
 * path everywhere else: widen a panel of weights to f32 and multiply with OpenBLAS's sgemm
 * (AVX2/FMA on any recent x86-64), the activations staying exact f32. */
#include "cpu-precision.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* ---- what the CPU has ---- */

typedef struct {
  gboolean avx2, avx512, avx512_bf16, avx512_vnni, avx_vnni;
  gboolean dot_bf16_full_rate; /* VDPBF16PS issues as often as an f32 FMA (bf16_kernel) */
} Features;

static Features
detect (void)
{
  Features f = { FALSE, FALSE, FALSE, FALSE, FALSE, FALSE };
#if defined(__x86_64__) && defined(__GNUC__)
  unsigned int a, b, c, d;
  __builtin_cpu_init ();
  /* __builtin_cpu_supports checks that the OS saves the AVX-512 / AVX state too */
  gboolean avx512 = __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw") &&
                    __builtin_cpu_supports ("avx512vl");
  gboolean avx2 = __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
  f.avx2 = avx2;
  f.avx512 = avx512 && avx2;
  if (__get_cpuid_count (7, 0, &a, &b, &c, &d))
    f.avx512_vnni = avx512 && (c & (1u << 11));
  if (__get_cpuid_max (0, NULL) >= 7 && __get_cpuid_count (7, 1, &a, &b, &c, &d)) {
    f.avx_vnni = avx2 && (a & (1u << 4));
    f.avx512_bf16 = avx512 && (a & (1u << 5));
  }
  /* VDPBF16PS issued at 0.92 of FMA's rate on AMD's Zen 5 (family 26; AMD's AVX512_BF16 CPUs
   * are Zen 4 on, taken to be alike) and at half of it on Intel's family 6 model 207. Chosen
   * by vendor, not measured at start-up, so that one machine always picks the same kernel (the
   * two round differently): docs/cpu-precision.md has both machines' register-only rates. */
  f.dot_bf16_full_rate = f.avx512_bf16 && __builtin_cpu_is ("amd");
#endif
  return f;
}

static Features
features (void)
{
  static gsize once = 0;
  static Features f;
  if (g_once_init_enter (&once)) {
    f = detect ();
    g_once_init_leave (&once, 1);
  }
  return f;
}

gboolean
ts_cpu_has_avx512_bf16 (void)
{
  return features ().avx512_bf16;
}

gboolean
ts_cpu_has_avx2 (void)
{
  return features ().avx2;
}

gboolean
ts_cpu_has_avx512 (void)
{
  return features ().avx512;
}

gboolean
ts_cpu_has_avx512_vnni (void)
{
  return features ().avx512_vnni;
}

gboolean
ts_cpu_has_avx_vnni (void)
{
  return features ().avx_vnni;
}

/* ---- the choice ---- */

typedef enum { BF16_WIDEN, BF16_AVX512, BF16_FMA512 } Bf16Kernel;
typedef enum { INT8_WIDEN, INT8_AVX512_VNNI, INT8_AVX_VNNI } Int8Kernel;

static gint forced = -1; /* a TsCpuKernelChoice, or -1 before the first look */

static TsCpuKernelChoice
choice (void)
{
  int c = g_atomic_int_get (&forced);
  if (c < 0) {
    const char *env = g_getenv ("TESSERA_CPU_KERNELS");
    c = TS_CPU_KERNELS_AUTO;
    if (env && (g_str_equal (env, "avx2") || g_str_equal (env, "portable")))
      c = TS_CPU_KERNELS_PORTABLE;
    else if (env && g_str_equal (env, "avx-vnni"))
      c = TS_CPU_KERNELS_AVX_VNNI;
    else if (env && g_str_equal (env, "avx512-bf16"))
      c = TS_CPU_KERNELS_BF16_DOT;
    else if (env && g_str_equal (env, "avx512-fma"))
      c = TS_CPU_KERNELS_BF16_FMA;
    g_atomic_int_set (&forced, c);
  }
  return (TsCpuKernelChoice) c;
}

void
ts_cpu_kernels_choose (TsCpuKernelChoice c)
{
  g_atomic_int_set (&forced, (gint) c);
}

/* bf16: the VDPBF16PS kernel where that instruction runs at FMA's rate (two products a lane
 * for one FMA's time), else the FMA kernel wherever AVX-512 is (where VDPBF16PS issues at half
 * FMA's rate its two products buy nothing and its activation rounding costs;
 * docs/cpu-precision.md), else the portable one. */
static Bf16Kernel
bf16_kernel (void)
{
  Features f = features ();
  switch (choice ()) {
  case TS_CPU_KERNELS_AUTO:
    return f.dot_bf16_full_rate ? BF16_AVX512 : f.avx512 ? BF16_FMA512 : BF16_WIDEN;
  case TS_CPU_KERNELS_BF16_DOT: return f.avx512_bf16 ? BF16_AVX512 : BF16_WIDEN;
  case TS_CPU_KERNELS_BF16_FMA: return f.avx512 ? BF16_FMA512 : BF16_WIDEN;
  default: return BF16_WIDEN;
  }
}

gboolean
ts_cpu_bf16_dot_at_full_rate (void)
{
  return features ().dot_bf16_full_rate;
}

gboolean
ts_cpu_bf16_rounds_activations (void)
{
  return bf16_kernel () == BF16_AVX512;
}

static Int8Kernel
int8_kernel (void)
{
  if (choice () == TS_CPU_KERNELS_PORTABLE)
    return INT8_WIDEN;
  /* TS_CPU_KERNELS_BF16_DOT, _BF16_FMA: int8 as AUTO */
  if (choice () == TS_CPU_KERNELS_AVX_VNNI)
    return features ().avx_vnni ? INT8_AVX_VNNI : INT8_WIDEN;
  if (features ().avx512_vnni)
    return INT8_AVX512_VNNI;
  return features ().avx_vnni ? INT8_AVX_VNNI : INT8_WIDEN;
}

gboolean
ts_cpu_rows_avx512 (void)
{
  TsCpuKernelChoice c = choice ();
  return features ().avx512 && c != TS_CPU_KERNELS_AVX_VNNI && c != TS_CPU_KERNELS_PORTABLE;
}

const char *
ts_cpu_bf16_kernel_name (void)
{
  switch (bf16_kernel ()) {
  case BF16_FMA512: return "avx512-fma (bf16 weights x f32 GEMM, 8x48 tiles, FMA)";
  case BF16_AVX512: return "avx512-bf16 (bf16 x bf16 GEMM, 8x48 tiles, f32 sums)";
  default:          return "portable (bf16 weights widened to f32, sgemm)";
  }
}

const char *
ts_cpu_int8_kernel_name (void)
{
  switch (int8_kernel ()) {
  case INT8_AVX512_VNNI: return "avx512-vnni (int8 x int8 GEMM, 8x48 tiles, blocks of 128, f32 sums)";
  case INT8_AVX_VNNI:    return "avx-vnni (int8 x int8 GEMM, 4x16 tiles, blocks of 128, f32 sums)";
  default:               return "portable (int8 weights widened to f32, sgemm)";
  }
}

/* ---- the product ---- */

/* Rows of activations per work item on the fast kernels (their bf16/int8 form, a few hundred
 * KiB, stays in L2 while the item's column panels pass over it), and the bytes of packed
 * weights one item reads (a panel that stays in L2 while the item's rows pass over it). */
#define ROW_CHUNK   256
#define PANEL_BYTES (512u * 1024u)
/* Item widths are multiples of this: whole micro-tiles (3 panels of 16 columns). */
#define PANEL_STEP  48
/* The portable path: rows of activations per sgemm, and widths in whole panels */
#define WIDEN_STEP  TS_CPU_NR

typedef struct {
  const TsCpuPacked *w;
  const float *a, *bias;
  int64_t m, lda, ldc;
  float *c;
  /* prepared activations (fast paths) */
  uint16_t *a16;
  uint8_t *a8;
  float *as;
  gboolean fma;       /* bf16 on the FMA kernel: activations as they are */
  int64_t rows, cols; /* item size */
} Product;

/* Weight rows [j0, j0 + w) as f32 [w, k], out of their panels. */
static void
widen_rows (const TsCpuPacked *p, int64_t j0, int64_t w, float *out)
{
  int64_t kp = p->kp;
  for (int64_t j = 0; j < w; j++) {
    float *o = out + j * p->k;
    int64_t panel = (j0 + j) / TS_CPU_NR, c = (j0 + j) % TS_CPU_NR;
    if (p->precision == TS_PRECISION_BF16) {
      const uint16_t *src = ts_cpu_packed_bf16_panel (p, panel) + c * 2;
      for (int64_t i = 0; i < p->k; i++)
        o[i] = ts_bf16_to_f32 (src[(i / 2) * 2 * TS_CPU_NR + (i & 1)]);
      continue;
    }
    const int8_t *q = ts_cpu_packed_q_panel (p, panel) + c * 4;
    const float *s = p->scale + ts_cpu_packed_block_index (p, panel, 0) + c;
    for (int64_t i = 0; i < p->k; i++)
      o[i] = (float) q[(i / 4) * 4 * TS_CPU_NR + (i & 3)] * s[(i / TS_CPU_QBLOCK) * TS_CPU_NR];
  }
  (void) kp;
}

static void
run_item (const Product *pr, int64_t i0, int64_t j0, float *panel)
{
  const TsCpuPacked *w = pr->w;
  int64_t h = MIN (pr->rows, pr->m - i0), wd = MIN (pr->cols, w->n - j0);
  float *c = pr->c + i0 * pr->ldc + j0;
  const float *bias = pr->bias ? pr->bias + j0 : NULL;
  int64_t nb = w->kp / TS_CPU_QBLOCK;
  /* the int8 and bf16 kernels start from the bias themselves */
  if (pr->a8) {
    if (int8_kernel () == INT8_AVX512_VNNI)
      ts_cpu_int8_gemm_avx512 (pr->a8 + i0 * w->kp, pr->as + i0 * nb, h, w, j0, j0 + wd, 0,
                               w->kp, c, pr->ldc, TRUE, bias);
    else
      ts_cpu_int8_gemm_avxvnni (pr->a8 + i0 * w->kp, pr->as + i0 * nb, h, w, j0, j0 + wd, 0,
                                w->kp, c, pr->ldc, TRUE, bias);
    return;
  }
  if (pr->a16) {
    ts_cpu_bf16_gemm_avx512 (pr->a16 + i0 * w->kp, h, w, j0, j0 + wd, 0, w->kp, c, pr->ldc,
                             TRUE, bias);
    return;
  }
  if (pr->fma) {
    ts_cpu_bf16_gemm_fma512 (pr->a + i0 * pr->lda, pr->lda, h, w, j0, j0 + wd, c, pr->ldc,
                             TRUE, bias);
    return;
  }
  widen_rows (w, j0, wd, panel);
  if (bias)
    for (int64_t i = 0; i < h; i++)
      memcpy (c + i * pr->ldc, bias, sizeof (float) * wd);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) h, (int) wd, (int) w->k, 1.0f,
               pr->a + i0 * pr->lda, (int) pr->lda, panel, (int) w->k, bias ? 1.0f : 0.0f, c,
               (int) pr->ldc);
}

/* The form a product over w reads its activations in. */
typedef enum { FORM_WIDEN, FORM_F32, FORM_BF16, FORM_INT8 } Form;

static Form
activation_form (const TsCpuPacked *w)
{
  if (w->precision == TS_PRECISION_BF16)
    return bf16_kernel () == BF16_WIDEN ? FORM_WIDEN
           : bf16_kernel () == BF16_FMA512 ? FORM_F32 : FORM_BF16;
  return int8_kernel () == INT8_WIDEN ? FORM_WIDEN : FORM_INT8;
}

/* The rows the bf16 activations take: whole tiles of the VDPBF16PS kernel. */
static int64_t
bf16_rows (int64_t m)
{
  return (m + TS_CPU_BF16_ROWS - 1) / TS_CPU_BF16_ROWS * TS_CPU_BF16_ROWS;
}

/* Prepares rows [i, i + TS_CPU_BF16_ROWS) (one bf16 tile; `row` is TS_CPU_BF16_ROWS · kp
 * bf16 values of scratch) or row i alone (int8). */
static void
prepare_rows (const Product *pr, int64_t i, uint16_t *row)
{
  const TsCpuPacked *w = pr->w;
  if (pr->a16)
    ts_cpu_rows_to_bf16_tile (pr->a + i * pr->lda, pr->lda, MIN (TS_CPU_BF16_ROWS, pr->m - i),
                              w->k, w->kp, row, pr->a16 + i * w->kp);
  else
    ts_cpu_row_quantise (pr->a + i * pr->lda, w->k, w->kp, pr->a8 + i * w->kp,
                         pr->as + i * (w->kp / TS_CPU_QBLOCK));
}

/* Every row of the product's activations, on this thread (row: scratch as above). */
static void
prepare_all (const Product *pr, uint16_t *row)
{
  int64_t step = pr->a16 ? TS_CPU_BF16_ROWS : 1;
  for (int64_t i = 0; i < pr->m; i += step)
    prepare_rows (pr, i, row);
}

/* Activations into the fast kernels' form, in parallel over rows. */
static gboolean
prepare (TsBackend *be, Product *pr, GError **error)
{
  const TsCpuPacked *w = pr->w;
  int64_t nb = w->kp / TS_CPU_QBLOCK;
  Form form = activation_form (w);
  pr->fma = form == FORM_F32;
  if (form == FORM_WIDEN || form == FORM_F32)
    return TRUE;
  if (form == FORM_BF16) {
    pr->a16 = ts_cpu_scratch_new (sizeof (uint16_t) * bf16_rows (pr->m) * w->kp,
                                  "bf16 activations", error);
    if (!pr->a16)
      return FALSE;
  } else {
    pr->a8 = ts_cpu_scratch_new ((size_t) (pr->m * w->kp), "int8 activations", error);
    pr->as = pr->a8 ? ts_cpu_scratch_new (sizeof (float) * pr->m * nb, "int8 activations", error)
                    : NULL;
    if (!pr->as)
      return FALSE;
  }
  int nt = ts_cpu_threads_for (be, (double) pr->m * w->k * 4);
  int64_t step = pr->a16 ? TS_CPU_BF16_ROWS : 1;
#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    uint16_t *row = pr->a16 ? g_new (uint16_t, TS_CPU_BF16_ROWS * w->kp) : NULL;
#pragma omp for schedule (static)
    for (int64_t i = 0; i < pr->m; i += step)
      prepare_rows (pr, i, row);
    g_free (row);
  }
  return TRUE;
}

gboolean
ts_cpu_conv_taps_major (TsPrecision precision, int64_t cg, int64_t groups)
{
  if (groups != 1 || cg <= 0)
    return FALSE;
  if (precision == TS_PRECISION_INT8)
    return int8_kernel () != INT8_WIDEN && cg % TS_CPU_QBLOCK == 0;
  return precision == TS_PRECISION_BF16 && bf16_kernel () == BF16_AVX512 &&
         cg % TS_CPU_BF16_PAD == 0;
}

/* Output columns per work item: the packed weights one item reads (PANEL_BYTES) in whole
 * steps, at most all of them. */
static int64_t
item_columns (const TsCpuPacked *w, gboolean widen)
{
  /* the portable path widens rows to f32 (4 bytes), the fast ones read them packed */
  size_t elem = widen ? sizeof (float) : w->precision == TS_PRECISION_BF16 ? 2 : 1;
  int64_t step = widen ? WIDEN_STEP : PANEL_STEP;
  int64_t cols = PANEL_BYTES / (elem * w->kp);
  cols = MAX (step, cols - cols % step);
  return MIN (cols, w->n);
}

/* Every column item of the product's rows, one after the other on this thread. */
static void
run_rows (Product *pr, gboolean widen, float *panel)
{
  pr->cols = item_columns (pr->w, widen);
  for (int64_t j0 = 0; j0 < pr->w->n; j0 += pr->cols)
    run_item (pr, 0, j0, panel);
}

void
ts_cpu_int8_matmul_prepared (const TsCpuPacked *w, const uint8_t *a8, const float *as,
                             int64_t m, const float *bias, float *c, int64_t ldc)
{
  g_return_if_fail (w->precision == TS_PRECISION_INT8 && int8_kernel () != INT8_WIDEN);
  Product pr = { .w = w, .bias = bias, .m = m, .ldc = ldc, .c = c, .rows = m,
                 .a8 = (uint8_t *) a8, .as = (float *) as };
  run_rows (&pr, FALSE, NULL);
}

void
ts_cpu_bf16_matmul_prepared (const TsCpuPacked *w, const uint16_t *tiles, int64_t m,
                             const float *bias, float *c, int64_t ldc)
{
  g_return_if_fail (w->precision == TS_PRECISION_BF16 && bf16_kernel () == BF16_AVX512);
  Product pr = { .w = w, .bias = bias, .m = m, .ldc = ldc, .c = c, .rows = m,
                 .a16 = (uint16_t *) tiles };
  run_rows (&pr, FALSE, NULL);
}

size_t
ts_cpu_packed_rows_scratch (const TsCpuPacked *w, int64_t m)
{
  switch (activation_form (w)) {
  case FORM_WIDEN: return sizeof (float) * (size_t) (item_columns (w, TRUE) * w->k);
  case FORM_F32:   return 0;
  case FORM_BF16:  return sizeof (uint16_t) * (size_t) ((bf16_rows (m) + TS_CPU_BF16_ROWS) * w->kp);
  default:         return TS_CPU_ALIGN64 ((size_t) (m * w->kp)) + sizeof (float) * (size_t) (m * (w->kp / TS_CPU_QBLOCK));
  }
}

void
ts_cpu_packed_matmul_rows (const TsCpuPacked *w, const float *a, int64_t m, int64_t lda,
                           const float *bias, float *c, int64_t ldc, void *scratch)
{
  Product pr = { .w = w, .a = a, .bias = bias, .m = m, .lda = lda, .ldc = ldc, .c = c, .rows = m };
  Form form = activation_form (w);
  pr.fma = form == FORM_F32;
  if (form == FORM_BF16)
    pr.a16 = scratch; /* then one row of scratch for the conversion (scratch size above) */
  if (form == FORM_INT8) {
    pr.a8 = scratch;
    pr.as = (float *) ((char *) scratch + TS_CPU_ALIGN64 ((size_t) (m * w->kp)));
  }
  if (pr.a16 || pr.a8)
    prepare_all (&pr, pr.a16 ? pr.a16 + bf16_rows (m) * w->kp : NULL);
  run_rows (&pr, form == FORM_WIDEN, form == FORM_WIDEN ? scratch : NULL);
}

gboolean
ts_cpu_packed_matmul (TsBackend *be, const TsCpuPacked *w, const float *a, int64_t m,
                      int64_t lda, const float *bias, float *c, int64_t ldc, GError **error)
{
  g_return_val_if_fail (w->groups == 1, FALSE); /* a grouped weight goes by its groups' views */
  Product pr = { .w = w, .a = a, .bias = bias, .m = m, .lda = lda, .ldc = ldc, .c = c };
  gboolean ok = prepare (be, &pr, error);
  float *panels = NULL;
  gboolean widen = ok && !pr.fma && !pr.a16 && !pr.a8;
  pr.cols = item_columns (w, widen);
  pr.rows = widen ? m : MIN (m, ROW_CHUNK);
  int nt = ts_cpu_threads_for (be, 2.0 * m * w->n * w->k / 256);
  int64_t row_items = (m + pr.rows - 1) / pr.rows, col_items = (w->n + pr.cols - 1) / pr.cols;
  /* too few items for the threads: narrower panels (whole panels of 16), then fewer rows */
  if (col_items * row_items < nt && w->n > TS_CPU_NR) {
    int64_t want = (w->n + nt * row_items - 1) / (nt * row_items);
    pr.cols = MAX (TS_CPU_NR, (want + TS_CPU_NR - 1) / TS_CPU_NR * TS_CPU_NR);
    col_items = (w->n + pr.cols - 1) / pr.cols;
  }
  if (!widen && col_items * row_items < nt && m > 8) {
    int64_t want = (m + nt / col_items - 1) / MAX (1, nt / col_items);
    pr.rows = MAX (8, (want + 7) / 8 * 8);
    row_items = (m + pr.rows - 1) / pr.rows;
  }
  int64_t items = row_items * col_items;
  nt = (int) MIN (nt, items);
  if (ok && widen) {
    panels = ts_cpu_scratch_new (sizeof (float) * pr.cols * w->k * nt, "matmul weights", error);
    ok = panels != NULL;
  }
  if (ok) {
#pragma omp parallel num_threads (nt) if (nt > 1)
    {
      float *panel = panels ? panels + (size_t) (pr.cols * w->k) * omp_get_thread_num () : NULL;
      /* column panels outermost: consecutive items of a thread share the panel */
#pragma omp for schedule (dynamic, 1)
      for (int64_t it = 0; it < items; it++)
        run_item (&pr, (it % row_items) * pr.rows, (it / row_items) * pr.cols, panel);
    }
  }
  free (panels);
  free (pr.a16);
  free (pr.a8);
  free (pr.as);
  return ok;
}
