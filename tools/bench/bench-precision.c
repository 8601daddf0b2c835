/* bench-precision.c — `tessera-bench models --filter matmul_precision`: the CPU backend's
 * linear products at f32 (OpenBLAS sgemm), bf16 and int8 (cpu-precision.h's kernels) at the
 * shapes of the aMUSEd-256 transformer and of the VQ decoder's convolutions, timed in turns
 * (one product of each precision per round, so a shared machine's slow moments fall on all
 * three alike). One JSON line per shape and precision: the median, GFLOP/s-equivalent
 * (2·m·n·k / s), the ratio of times to f32's, and the sgemm peak measured at start-up. */
#include "bench.h"
#include "cpu/cpu-precision.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  int64_t m, k, n;
} Shape;

/* aMUSEd-256: 256 tokens × 2 rows for guidance, hidden 1024, GLU intermediate 2816; the VQ
 * decoder's 3×3 convolutions at 256² as the products cpu-conv.c runs (bands of positions ×
 * taps = channels·9 → channels; a band is 1 MiB of f32 rows, at least 64). */
static const Shape shapes[] = {
  { "transformer_attn_out_1024x1024", 512, 1024, 1024 },
  { "transformer_qkv_1024x3072", 512, 1024, 3072 },
  { "transformer_ff_in_1024x2816", 512, 1024, 2816 },
  { "transformer_ff_out_2816x1024", 512, 2816, 1024 },
  { "transformer_1024x4096", 512, 1024, 4096 },
  { "vq_conv3x3_768ch_16x16", 64, 6912, 768 },
  { "vq_conv3x3_512ch_32x32", 64, 4608, 512 },
  { "vq_conv3x3_256ch_128x128", 64, 2304, 256 },
  { "vq_conv3x3_128ch_256x256", 192, 1152, 128 },
};
static const Shape quick_shapes[] = {
  { "transformer_small_256x512", 64, 256, 512 },
  { "vq_conv3x3_small", 64, 1152, 128 },
};

static const TsPrecision precisions[3] = { TS_PRECISION_F32, TS_PRECISION_BF16,
                                           TS_PRECISION_INT8 };

#define ROUNDS_MAX 64

static int
compare_seconds (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static gboolean
product (TsBackend *be, TsTensor *a, TsTensor *w, TsTensor *bias)
{
  g_autoptr (TsTensor) y = ts_linear (be, a, w, bias);
  return y && ts_backend_sync (be, NULL);
}

static void
bench_shape (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak, const Shape *s)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  g_autofree float *av = g_new (float, s->m * s->k), *wv = g_new (float, s->n * s->k);
  g_autofree float *bv = g_new (float, s->n);
  for (int64_t i = 0; i < s->m * s->k; i++)
    av[i] = (float) g_rand_double_range (rand, -1, 1);
  for (int64_t i = 0; i < s->n * s->k; i++)
    wv[i] = (float) g_rand_double_range (rand, -0.05, 0.05);
  for (int64_t i = 0; i < s->n; i++)
    bv[i] = (float) g_rand_double_range (rand, -0.1, 0.1);
  g_autoptr (TsTensor) a = ts_tensor_new_f32 (be, 2, (int64_t[]) { s->m, s->k }, av);
  g_autoptr (TsTensor) bias = ts_tensor_new_f32 (be, 1, &s->n, bv);
  TsTensor *w[3] = { NULL, NULL, NULL };
  gboolean ok = a && bias;
  for (int p = 0; p < 3 && ok; p++) {
    w[p] = ts_tensor_new_f32 (be, 2, (int64_t[]) { s->n, s->k }, wv);
    ok = w[p] != NULL;
    if (ok) {
      ts_cpu_weight_set_precision (w[p], precisions[p]);
      ok = product (be, a, w[p], bias); /* packs; not timed */
    }
  }
  double samples[3][ROUNDS_MAX];
  int rounds = 0;
  gint64 begin = g_get_monotonic_time ();
  while (ok && rounds < ROUNDS_MAX && rounds < opt->max_reps) {
    for (int p = 0; p < 3 && ok; p++) {
      gint64 t0 = g_get_monotonic_time ();
      ok = product (be, a, w[p], bias);
      samples[p][rounds] = (g_get_monotonic_time () - t0) * 1e-6;
    }
    rounds++;
    if ((g_get_monotonic_time () - begin) * 1e-6 >= 3 * opt->min_seconds && rounds >= 5)
      break;
  }
  for (int p = 0; p < 3; p++)
    g_clear_pointer (&w[p], ts_tensor_unref);
  if (!ok) {
    printf ("{\"bench\":\"matmul-precision\",\"case\":\"%s\",\"error\":\"failed\"}\n", s->name);
    return;
  }
  double median[3];
  for (int p = 0; p < 3; p++) {
    qsort (samples[p], rounds, sizeof (double), compare_seconds);
    median[p] = samples[p][rounds / 2];
  }
  double flop = 2.0 * s->m * s->n * s->k;
  for (int p = 0; p < 3; p++) {
    const char *kernel = p == 0 ? "f32 (sgemm)"
                       : precisions[p] == TS_PRECISION_BF16 ? ts_cpu_bf16_kernel_name ()
                                                            : ts_cpu_int8_kernel_name ();
    printf ("{\"bench\":\"matmul-precision\",\"case\":\"%s\",\"m\":%" G_GINT64_FORMAT
            ",\"k\":%" G_GINT64_FORMAT ",\"n\":%" G_GINT64_FORMAT ",\"precision\":\"%s\","
            "\"seconds\":%.6f,\"gflops\":%.1f,\"ratio_vs_f32\":%.3f,\"speedup_vs_f32\":%.2f,"
            "\"rounds\":%d,\"sgemm_peak_gflops\":%.1f,\"kernel\":\"%s\"}\n",
            s->name, s->m, s->k, s->n, ts_precision_name (precisions[p]), median[p],
            flop / median[p] * 1e-9, median[p] / median[0], median[0] / median[p], rounds,
            peak->gflops, kernel);
  }
  fflush (stdout);
}

void
bench_matmul_precision (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak)
{
  if (ts_backend_kind (be) != TS_BACKEND_CPU)
    return;
  const Shape *list = opt->quick ? quick_shapes : shapes;
  size_t count = opt->quick ? G_N_ELEMENTS (quick_shapes) : G_N_ELEMENTS (shapes);
  for (size_t i = 0; i < count; i++) {
    g_autofree char *name = g_strdup_printf ("matmul_precision_%s", list[i].name);
    if (opt->filter && !strstr (name, opt->filter))
      continue;
    Shape s = list[i];
    s.name = name;
    bench_shape (be, opt, peak, &s);
  }
}
