/* ts-rng.h — the counter-based generator behind every random draw of the pipelines.
 *
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
 * key = the 64-bit seed, counter = (position, step, kind, 0). Any draw can be computed on its
 * own, in any order, on any device, so CPU and GPU runs see the same numbers. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The raw block: 4 words from a 4-word counter and a 2-word key. */
void  ts_philox4x32_10 (const guint32 counter[4], const guint32 key[2], guint32 out[4]);

/* A float32 uniform in [0, 1) with 24 random bits (the first output word's top bits). */
float ts_rng_uniform (guint64 seed, guint32 step, guint32 kind, guint32 position);
/* out[i] = ts_rng_uniform (seed, step, kind, i) for i in [0, n). */
void  ts_rng_fill (guint64 seed, guint32 step, guint32 kind, float *out, int64_t n);

G_END_DECLS
