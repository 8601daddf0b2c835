/* vk-peak.c — the device's FMA throughput and copy bandwidth, measured with two
 * microbenchmark shaders (bench-fma, bench-copy), so op benchmarks can report "% of peak". */
#include "vk-runtime.h"

#define PEAK_WORKGROUP 256
#define PEAK_FMA_ITERATIONS 256

/* Time `body` and double its size until one run takes long enough to time well. */
typedef gboolean (*PeakRun) (TsVkBackend *vk, TsTensor *a, TsTensor *b, uint32_t groups,
                             GError **error);

static gboolean
run_fma (TsVkBackend *vk, TsTensor *out, TsTensor *unused, uint32_t groups, GError **error)
{
  TsVkBinding binding;
  uint32_t offset;
  float seed = 1.0f;
  uint32_t spec[2] = { PEAK_WORKGROUP, PEAK_FMA_ITERATIONS };
  if (!ts_vk_bind_tensor (vk, out, TRUE, &binding, &offset, error))
    return FALSE;
  return ts_vk_dispatch (vk, TS_VK_KERNEL_BENCH_FMA, spec, 2, &binding, 1, &seed, sizeof seed,
                         groups, 1, 1, 0, 0, error);
}

static gboolean
run_copy (TsVkBackend *vk, TsTensor *src, TsTensor *dst, uint32_t groups, GError **error)
{
  TsVkBinding bindings[2];
  uint32_t offset, n_vec4 = (uint32_t) (ts_tensor_nbytes (src) / 16);
  uint32_t spec[1] = { PEAK_WORKGROUP };
  if (!ts_vk_bind_tensor (vk, src, FALSE, &bindings[0], &offset, error) ||
      !ts_vk_bind_tensor (vk, dst, TRUE, &bindings[1], &offset, error))
    return FALSE;
  return ts_vk_dispatch (vk, TS_VK_KERNEL_BENCH_COPY, spec, 1, bindings, 2, &n_vec4,
                         sizeof n_vec4, groups, 1, 1, 0, 0, error);
}

/* Seconds for `reps` back-to-back runs, after one warm-up run (pipeline creation). */
static double
time_runs (TsVkBackend *vk, PeakRun body, TsTensor *a, TsTensor *b, uint32_t groups, int reps,
           GError **error)
{
  TsBackend *be = (TsBackend *) vk;
  if (!body (vk, a, b, groups, error) || !ts_backend_sync (be, error))
    return -1;
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < reps; i++)
    if (!body (vk, a, b, groups, error))
      return -1;
  if (!ts_backend_sync (be, error))
    return -1;
  return (g_get_monotonic_time () - start) * 1e-6;
}

static gboolean
measure_fma (TsVkBackend *vk, double *gflops, GError **error)
{
  const TsVkLimits *lim = ts_vk_limits (vk);
  /* One output vec4 per invocation, so the grid is bounded by the largest binding too. */
  uint32_t groups = 8, max_groups = MIN (lim->max_workgroup_count[0], 1u << 16);
  max_groups = MIN (max_groups, (uint32_t) MIN (lim->max_storage_range / (PEAK_WORKGROUP * 16), G_MAXUINT32));
  int64_t shape[2] = { (int64_t) max_groups * PEAK_WORKGROUP, 4 };
  g_autoptr (TsTensor) out = ts_vk_scratch (vk, TS_DTYPE_F32, 2, shape, error);
  if (!out)
    return FALSE;
  double seconds = 0;
  for (;;) {
    seconds = time_runs (vk, run_fma, out, NULL, groups, 3, error);
    if (seconds < 0)
      return FALSE;
    if (seconds > 0.05 || groups * 2 > max_groups)
      break;
    groups *= 2;
  }
  double flops = 3.0 * groups * PEAK_WORKGROUP * PEAK_FMA_ITERATIONS * 8 * 4 * 2;
  *gflops = flops / seconds * 1e-9;
  return TRUE;
}

static gboolean
measure_copy (TsVkBackend *vk, double *gbytes_per_s, GError **error)
{
  const TsVkLimits *lim = ts_vk_limits (vk);
  /* Large enough to leave every cache behind, small enough for software devices. */
  int64_t n = (lim->is_cpu_device ? 16 : 64) << 20;
  n = MIN (n, (int64_t) lim->max_storage_range) / 4;
  g_autoptr (TsTensor) src = ts_vk_scratch (vk, TS_DTYPE_F32, 1, &n, error);
  g_autoptr (TsTensor) dst = src ? ts_vk_scratch (vk, TS_DTYPE_F32, 1, &n, error) : NULL;
  if (!dst)
    return FALSE;
  uint32_t groups = MIN (lim->max_workgroup_count[0], 4096u);
  double seconds = time_runs (vk, run_copy, src, dst, groups, 5, error);
  if (seconds < 0)
    return FALSE;
  *gbytes_per_s = 5.0 * 2 * 4 * (double) n / seconds * 1e-9;
  return TRUE;
}

gboolean
ts_vk_measure_peak (TsBackend *be, double *gflops, double *gbytes_per_s, GError **error)
{
  TsVkBackend *vk = (TsVkBackend *) be;
  return measure_fma (vk, gflops, error) && measure_copy (vk, gbytes_per_s, error);
}
