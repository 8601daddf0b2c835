/* bench.h — tessera-bench: speed of the engine, as JSON lines (never a test). */
#pragma once

#include "tessera.h"
#include "model/ts-model-config.h"
#include "model/ts-weights.h"

typedef struct {
  double   min_seconds;   /* keep repeating a case until this much time has passed */
  int      max_reps;
  gboolean quick;         /* smaller shapes (lavapipe, smoke runs) */
  const char *filter;     /* only cases whose name contains this */
  TsDType  weights;       /* model cases' matrices: TS_DTYPE_COUNT (as built, f32) or F16 */
} BenchOptions;

/* Peaks measured in the same run: what the op figures are divided by. */
typedef struct {
  double gflops;        /* CPU: OpenBLAS sgemm; Vulkan: FMA shader */
  double gbytes_per_s;  /* CPU: multi-threaded copy; Vulkan: copy shader */
  const char *compute_name; /* "sgemm" or "fma" */
} BenchPeak;

void bench_measure_cpu_peak (const BenchOptions *opt, BenchPeak *peak);
/* Time fn(data) until opt's limits; returns seconds per call (the median of the reps). */
double bench_time (TsBackend *be, const BenchOptions *opt, gboolean (*fn) (TsBackend *, gpointer),
                   gpointer data);
int bench_ops (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak);
/* The three networks at the real aMUSEd sizes with random weights (bench-models.c). */
int bench_models (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak);
/* f32 vs bf16 vs int8 linear products at the transformer's and VQ's shapes, interleaved
 * (bench-precision.c; filter matmul_precision). */
void bench_matmul_precision (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak);
/* The whole pipeline in one process, for its peak memory (bench-whole.c). */
void bench_whole_pipeline (TsBackend *be, const BenchOptions *opt, gboolean is512);

/* Shared by the model cases (bench-models.c). */
TsWeights *bench_random_weights (const GPtrArray *specs, const char *label, GError **error);
void       bench_clip_config (TsClipTextConfig *c, gboolean quick);
void       bench_uvit_config (TsUVitConfig *c, gboolean is512, gboolean quick);
void       bench_vq_config (TsVQConfig *c);
/* A field of /proc/self/status ("VmHWM:", "VmRSS:") in MiB. */
double     bench_status_mib (const char *key);
void       bench_reset_peaks (TsBackend *be);
/* The most tensor storage the backend held since the last reset. */
double     bench_tensor_peak_mib (TsBackend *be);
