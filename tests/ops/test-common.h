/* test-common.h — helpers for op tests on any backend: random tensors, reading results,
 * normalised error checks, expected-error checks. Only the public API is used, so the same
 * helpers serve the CPU and the Vulkan tests. */
#pragma once

#include "tessera.h"

G_BEGIN_DECLS

/* n uniform values in [lo, hi) (newly allocated, g_free). */
float *ts_test_random_values (GRand *rand, size_t n, float lo, float hi);

/* Round each value to what `dtype` can hold (a round trip through ts_convert), in place. */
void ts_test_round_to_dtype (float *values, size_t n, TsDType dtype);

/* A contiguous tensor of `dtype` holding `values` converted (float dtypes only). */
TsTensor *ts_test_tensor (TsBackend *be, TsDType dtype, int ndim, const int64_t *shape,
                          const float *values);

/* A random contiguous tensor; *values (may be NULL) receives its exact contents as f32,
 * i.e. after rounding to dtype, which is what a reference must be fed. */
TsTensor *ts_test_random_tensor (TsBackend *be, GRand *rand, TsDType dtype, int ndim,
                                 const int64_t *shape, float lo, float hi, float **values);

/* The logical (dense, row-major) contents of `view`, a view of `base` whose dense contents
 * are `base_values`. For building reference inputs of strided views. */
float *ts_test_view_values (const TsTensor *base, const float *base_values, const TsTensor *view);

/* Contents of a float tensor as f32 (g_free); fails the test on any error. */
float *ts_test_read (const TsTensor *t);

int64_t ts_test_numel (int ndim, const int64_t *shape);

/* Σ(a−b)² / Σb² (plain Σ(a−b)² when b is all zero), in double. */
double ts_test_nmse (const float *got, const float *want, size_t n);

/* Index of the first NaN or infinity, or -1. */
gssize ts_test_first_nonfinite (const float *values, size_t n);

/* Compare got with want: fails the test (with a diagnostic naming `what`) on any
 * non-finite value or an nmse above `limit`. Returns TRUE when they agree. */
gboolean ts_test_check_values (const char *what, const float *got, const float *want, size_t n,
                               double limit);

/* Read `out` (which must be non-NULL, with the backend free of errors) and check it against
 * want; also checks its element count. Consumes nothing. */
gboolean ts_test_check_tensor (const char *what, TsBackend *be, const TsTensor *out,
                               const float *want, size_t n, double limit);

/* Compare two float tensors of the same element count, possibly on different backends
 * (e.g. a Vulkan result against the CPU oracle); as ts_test_check_values. */
gboolean ts_test_check_tensors (const char *what, const TsTensor *got, const TsTensor *want,
                                double limit);

/* A contiguous copy of t (any dtype, any strides) on backend `to`. Fails the test on error. */
TsTensor *ts_test_transfer (TsBackend *to, const TsTensor *t);

/* An op was expected to fail: `result` must be NULL and the backend must hold an error of
 * TS_ERROR/`code` whose message contains `fragment` (may be NULL). Clears the error. */
void ts_test_expect_error (TsBackend *be, TsTensor *result, TsErrorCode code,
                           const char *fragment);

/* Fails the test when the backend holds an error (printing it). */
void ts_test_assert_no_error (TsBackend *be);

/* A GRand seeded from the test name, so each test is deterministic on its own. */
GRand *ts_test_rand_for (const char *test_name);

G_END_DECLS
