/* cpu-process.c — the environment OpenBLAS and OpenMP need, set by running again (ts-process.h).
 *
 * Debian 12's OpenBLAS 0.3.21 (a DYNAMIC_ARCH build) does not know CPUs newer than it, such
 * as family 6 model 207: it took its Prescott (SSE3) kernels there, sgemm 7.5 GFLOP/s against
 * 33.9 with OPENBLAS_CORETYPE=SkylakeX on the same core (4.5x); torch on the same library
 * gained 4x. A CPU with AVX-512 running a set without it is advised SkylakeX too: on AMD's
 * Zen 5 (family 26, which OpenBLAS takes for CooperLake by itself) one core's sgemm at 1024³
 * ran 98 GFLOP/s with Haswell's kernels against 185 with CooperLake's or SkylakeX's (1.9x);
 * tools/train/blas_core.py makes the same choice for torch. A core type the user set is kept
 * (`tessera-cli info` warns). */
#include "ts-process.h"

#include <cblas.h>
#include <unistd.h>

/* OpenBLAS's kernel sets older than AVX2: on a CPU with AVX2 and FMA, a sign of a CPU it
 * did not recognise. */
static const char *const pre_avx2_cores[] = {
  "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "sandybridge", "katmai",
  "coppermine", "northwood", "banias", "opteron", "barcelona", "bobcat", "bulldozer",
};
/* Its kernel sets with AVX-512 (0.3.21). */
static const char *const avx512_cores[] = { "skylakex", "cooperlake", "sapphirerapids" };

static gboolean
core_in (const char *core, const char *const *list, guint n)
{
  for (guint i = 0; core && i < n; i++)
    if (g_ascii_strcasecmp (core, list[i]) == 0)
      return TRUE;
  return FALSE;
}

const char *
ts_process_blas_coretype_advice (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  if (!__builtin_cpu_supports ("avx2") || !__builtin_cpu_supports ("fma"))
    return NULL;
  const char *core = openblas_get_corename ();
  gboolean avx512 = __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw") &&
                    __builtin_cpu_supports ("avx512vl") && __builtin_cpu_supports ("avx512dq") &&
                    __builtin_cpu_supports ("avx512cd");
  if (avx512)
    return core_in (core, avx512_cores, G_N_ELEMENTS (avx512_cores)) ? NULL : "SkylakeX";
  return core_in (core, pre_avx2_cores, G_N_ELEMENTS (pre_avx2_cores)) ? "Haswell" : NULL;
#else
  return NULL;
#endif
}

void
ts_process_reexec_if_needed (char **argv, TsProcessFlags flags)
{
  gboolean again = FALSE;
  const char *core = ts_process_blas_coretype_advice ();
  if (core && !g_getenv ("OPENBLAS_CORETYPE")) {
    g_setenv ("OPENBLAS_CORETYPE", core, TRUE);
    again = TRUE;
  }
  if ((flags & TS_PROCESS_PASSIVE_OMP) && !g_getenv ("OMP_WAIT_POLICY")) {
    g_setenv ("OMP_WAIT_POLICY", "passive", TRUE);
    again = TRUE;
  }
  if (again)
    execv ("/proc/self/exe", argv);
  /* Not needed, or could not run again: go on as started. */
}
