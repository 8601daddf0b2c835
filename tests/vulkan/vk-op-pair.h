/* vk-op-pair.h — what both halves of test-ops-vulkan (test-ops-vulkan.c, vk-ops-heavy.c)
 * share: the same input on a Vulkan backend and on the CPU backend (the oracle), and the
 * check of a Vulkan result against the CPU's. */
#pragma once

#include "tessera.h"
#include "test-common.h"

/* One input on both backends, with the exact values both hold. */
typedef struct {
  TsTensor *vk, *cpu;
  float    *values; /* rounded to the dtype, as stored */
} VktPair;

/* Rounds `values` (g_malloc'd; the pair takes them) to `dtype` and stores them on both. */
static inline VktPair
vkt_pair_new (TsBackend *vk, TsBackend *cpu, TsDType dtype, int ndim, const int64_t *shape,
              float *values)
{
  ts_test_round_to_dtype (values, (size_t) ts_test_numel (ndim, shape), dtype);
  return (VktPair) { ts_test_tensor (vk, dtype, ndim, shape, values),
                     ts_test_tensor (cpu, dtype, ndim, shape, values), values };
}

/* Uniform values in [lo, hi), drawn from `rand`. */
static inline VktPair
vkt_pair_random (TsBackend *vk, TsBackend *cpu, GRand *rand, TsDType dtype, int ndim,
                 const int64_t *shape, float lo, float hi)
{
  size_t n = (size_t) ts_test_numel (ndim, shape);
  return vkt_pair_new (vk, cpu, dtype, ndim, shape, ts_test_random_values (rand, n, lo, hi));
}

static inline void
vkt_pair_clear (VktPair *p)
{
  g_clear_pointer (&p->vk, ts_tensor_unref);
  g_clear_pointer (&p->cpu, ts_tensor_unref);
  g_clear_pointer (&p->values, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (VktPair, vkt_pair_clear)

/* The Vulkan result `got` (on vk) against the CPU result `want`, both consumed: neither
 * backend in error, the same shape, and values within `limit` (ts_test_check_values: nmse,
 * no NaN or Inf where the CPU has a number). */
static inline void
vkt_pair_check (const char *what, TsBackend *vk, TsBackend *cpu, TsTensor *got, TsTensor *want,
                double limit)
{
  ts_test_assert_no_error (vk);
  ts_test_assert_no_error (cpu);
  g_assert_nonnull (got);
  g_assert_nonnull (want);
  g_assert_true (ts_tensor_same_shape (got, want));
  g_autofree float *w = ts_test_read (want);
  ts_test_check_tensor (what, vk, got, w, (size_t) ts_tensor_numel (want), limit);
  ts_tensor_unref (got);
  ts_tensor_unref (want);
}
