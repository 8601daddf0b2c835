/* bench-main.c — tessera-bench: `tessera-bench ops|models [--backend …] [--quick] [--filter X]
 * [--weights f16]`.
 * Prints one JSON object per line: first the peaks, then one line per op and backend. */
#include "bench.h"

#include <stdio.h>
#include <string.h>

static TsBackend *
open_backend (const char *which, GError **error)
{
  if (g_str_equal (which, "cpu"))
    return ts_backend_new_cpu (0, error);
  /* "vulkan" takes software devices too: asking for it by name is asking to measure it. */
  return ts_backend_new_from_spec (which, NULL, error);
}

static void
bench_backend (const char *which, const BenchOptions *opt, const BenchPeak *cpu_peak,
               gboolean models)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsBackend) be = open_backend (which, &error);
  if (!be) {
    g_autofree char *msg = g_strescape (error->message, NULL);
    printf ("{\"bench\":\"backend\",\"backend\":\"%s\",\"error\":\"%s\"}\n", which, msg);
    return;
  }
  g_autofree char *name = g_strescape (ts_backend_name (be), NULL);
  printf ("{\"bench\":\"backend\",\"backend\":\"%s\",\"device\":\"%s\"}\n", which, name);
  BenchPeak peak = *cpu_peak;
  if (ts_backend_kind (be) != TS_BACKEND_CPU) {
    double gflops = 0, gbps = 0;
    if (ts_backend_measure_peak (be, &gflops, &gbps, &error)) {
      peak.gflops = gflops;
      peak.gbytes_per_s = gbps;
      peak.compute_name = "fma";
      printf ("{\"bench\":\"peak\",\"backend\":\"vulkan\",\"device\":\"%s\",\"fma_gflops\":%.1f,"
              "\"copy_gbps\":%.2f}\n", name, gflops, gbps);
    } else {
      g_autofree char *msg = g_strescape (error->message, NULL);
      printf ("{\"bench\":\"peak\",\"backend\":\"vulkan\",\"error\":\"%s\"}\n", msg);
      return;
    }
  }
  if (models)
    bench_models (be, opt, &peak);
  else
    bench_ops (be, opt, &peak);
}

int
main (int argc, char **argv)
{
  /* As the CLI: the figures are the product's, with the OpenBLAS kernels it runs with. */
  ts_process_reexec_if_needed (argv, TS_PROCESS_NONE);
  BenchOptions opt = { .min_seconds = 1.0, .max_reps = 50, .weights = TS_DTYPE_COUNT };
  const char *weights = "f32";
  const char *backends = "cpu";
  GOptionEntry entries[] = {
    { "backend", 'b', 0, G_OPTION_ARG_STRING, &backends,
      "cpu, vulkan, vulkan:N, or a comma-separated list (default cpu)", "LIST" },
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt.quick, "Small shapes (software Vulkan, smoke runs)", NULL },
    { "filter", 'f', 0, G_OPTION_ARG_STRING, &opt.filter, "Only ops whose name contains this", "OP" },
    { "min-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt.min_seconds, "Time each case at least this long", "S" },
    { "weights", 0, 0, G_OPTION_ARG_STRING, &weights, "models: f32 (default) or f16 matrices", "DTYPE" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("ops|models");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2 ||
      (strcmp (argv[1], "ops") && strcmp (argv[1], "models")) ||
      (strcmp (weights, "f32") && strcmp (weights, "f16"))) {
    fprintf (stderr, "usage: tessera-bench ops|models [--backend LIST] [--quick] [--filter OP] "
             "[--weights f32|f16]%s%s\n", error ? ": " : "", error ? error->message : "");
    return 2;
  }
  if (g_str_equal (weights, "f16"))
    opt.weights = TS_DTYPE_F16;

  BenchPeak cpu_peak;
  bench_measure_cpu_peak (&opt, &cpu_peak);
  g_auto (GStrv) list = g_strsplit (backends, ",", -1);
  for (int i = 0; list[i]; i++)
    bench_backend (list[i], &opt, &cpu_peak, g_str_equal (argv[1], "models"));
  return 0;
}
