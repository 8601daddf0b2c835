/* bench.h — tessera-bench: speed of the engine, as JSON lines (never a test). */
#pragma once

#include "tessera.h"

typedef struct {
  double   min_seconds;   /* keep repeating a case until this much time has passed */
  int      max_reps;
  gboolean quick;         /* smaller shapes (lavapipe, smoke runs) */
  const char *filter;     /* only cases whose name contains this */
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
