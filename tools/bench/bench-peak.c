/* bench-peak.c — the peaks op figures are compared with, measured in the same run. */
#include "bench.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

double
bench_time (TsBackend *be, const BenchOptions *opt, gboolean (*fn) (TsBackend *, gpointer),
            gpointer data)
{
  /* One untimed call warms caches, pipelines and page mappings. */
  if (!fn (be, data) || !ts_backend_sync (be, NULL))
    return -1;
  double samples[256];
  int n = 0;
  gint64 begin = g_get_monotonic_time ();
  while (n < opt->max_reps && n < 256) {
    gint64 t0 = g_get_monotonic_time ();
    if (!fn (be, data) || !ts_backend_sync (be, NULL))
      return -1;
    samples[n++] = (g_get_monotonic_time () - t0) * 1e-6;
    if ((g_get_monotonic_time () - begin) * 1e-6 >= opt->min_seconds && n >= 3)
      break;
  }
  qsort (samples, n, sizeof (double), compare_doubles);
  return samples[n / 2];
}

static double
time_sgemm (int m, int n, int k, const BenchOptions *opt)
{
  float *a = g_malloc (sizeof (float) * m * k), *b = g_malloc (sizeof (float) * k * n);
  float *c = g_malloc (sizeof (float) * m * n);
  for (int i = 0; i < m * k; i++)
    a[i] = (float) (i % 13) * 0.1f;
  for (int i = 0; i < k * n; i++)
    b[i] = (float) (i % 7) * 0.1f;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, c, n);
  /* The median, like the op figures it is compared with (bench_time). */
  double samples[256];
  int reps = 0;
  gint64 begin = g_get_monotonic_time ();
  while (reps < MIN (opt->max_reps, 256)) {
    gint64 t0 = g_get_monotonic_time ();
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, c, n);
    samples[reps++] = (g_get_monotonic_time () - t0) * 1e-6;
    if ((g_get_monotonic_time () - begin) * 1e-6 > opt->min_seconds && reps >= 3)
      break;
  }
  qsort (samples, reps, sizeof (double), compare_doubles);
  double best = samples[reps / 2];
  g_free (a);
  g_free (b);
  g_free (c);
  return 2.0 * m * n * k / best * 1e-9;
}

/* Copy bandwidth as the ops see it: all cores, each copying its share, counting bytes read
 * plus bytes written. */
static double
time_copy (const BenchOptions *opt)
{
  size_t n = (size_t) (opt->quick ? 16 : 64) << 20;
  char *src = g_malloc (n), *dst = g_malloc (n);
  memset (src, 1, n);
  memset (dst, 2, n);
  double best = 1e30;
  for (int rep = 0; rep < 10; rep++) {
    gint64 t0 = g_get_monotonic_time ();
#pragma omp parallel
    {
      int nt = omp_get_num_threads (), t = omp_get_thread_num ();
      size_t chunk = (n / nt + 4095) & ~(size_t) 4095;
      size_t lo = MIN (n, chunk * t), hi = MIN (n, lo + chunk);
      memcpy (dst + lo, src + lo, hi - lo);
    }
    best = MIN (best, (g_get_monotonic_time () - t0) * 1e-6);
  }
  g_free (src);
  g_free (dst);
  return 2.0 * n / best * 1e-9;
}

void
bench_measure_cpu_peak (const BenchOptions *opt, BenchPeak *peak)
{
  int size = opt->quick ? 512 : 1024;
  peak->gflops = time_sgemm (size, size, size, opt);
  peak->gbytes_per_s = time_copy (opt);
  peak->compute_name = "sgemm";
  printf ("{\"bench\":\"peak\",\"backend\":\"cpu\",\"threads\":%d,\"sgemm_shape\":\"%dx%dx%d\","
          "\"sgemm_gflops\":%.1f,\"copy_gbps\":%.2f}\n",
          omp_get_max_threads (), size, size, size, peak->gflops, peak->gbytes_per_s);
  fflush (stdout);
}
