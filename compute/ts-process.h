/* ts-process.h — what a Tessera program needs in its environment before its libraries load.
 *
 * Some libraries read the environment once, when they load, before main() runs: OpenBLAS
 * picks its kernels for the CPU it recognises, libgomp its idle-wait policy. A program that
 * needs other values than it was started with can only run itself again with them. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  TS_PROCESS_NONE = 0,
  /* OMP_WAIT_POLICY=passive: idle OpenMP threads sleep instead of spinning, for a program
   * that waits for its user between jobs (the editor). */
  TS_PROCESS_PASSIVE_OMP = 1 << 0,
} TsProcessFlags;

/* The OPENBLAS_CORETYPE this CPU should run with when the loaded OpenBLAS chose kernels
 * below what the CPU has: "SkylakeX" on a CPU with AVX-512 where OpenBLAS took a set without
 * it, "Haswell" on a CPU with AVX2/FMA
 * where it fell back to a generic pre-AVX2 set; NULL when OpenBLAS chose well. */
const char *ts_process_blas_coretype_advice (void);

/* Runs the program again (/proc/self/exe, same argv) with what is missing from its
 * environment: OPENBLAS_CORETYPE from the advice above when the user set none, and
 * OMP_WAIT_POLICY=passive with TS_PROCESS_PASSIVE_OMP when the user set none. Returns when
 * nothing is missing, or when running again failed (the program then goes on as it is). */
void ts_process_reexec_if_needed (char **argv, TsProcessFlags flags);

G_END_DECLS
