/* test-vk-coopmat.c — when the cooperative-matrix GEMM (vk-coopmat.c) is chosen. Lavapipe
 * has no VK_NV_cooperative_matrix, so on CI's machines this checks the choice itself, on
 * made-up device limits, and that the real device falls back to the other kernels; whether
 * the kernel computes the right products shows only on a GPU that has the extension
 * (tools/device/gpu-checks.sh runs every matmul test and golden there). */
#include "vk-test-util.h"
#include "vulkan/vk-coopmat.h"

#include <string.h>

/* An H100 as Vulkan reports it, as far as the choice is concerned. */
static TsVkLimits
nvidia_limits (void)
{
  return (TsVkLimits) {
    .max_shared_memory = 49152, .max_workgroup_invocations = 1024, .subgroup_size = 32,
    .fp16_storage = TRUE, .fp16_math = TRUE, .coopmat = TRUE,
  };
}

static void
test_choice (void)
{
  TsVkLimits l = nvidia_limits ();
  TsVkGemmConfig cfg;
  const char *why = "unset";
  /* amused's FFN product at the guidance batch: many tiles, so the larger one. */
  g_assert_true (ts_vk_coopmat_gemm_choose (&l, TS_DTYPE_F16, 512, 5632, 1024, 1, TRUE, TRUE,
                                            &cfg, &why));
  g_assert_null (why);
  g_assert_cmpuint (cfg.tile_m, ==, 128);
  g_assert_cmpuint (cfg.tile_n, ==, 64);
  g_assert_cmpuint (cfg.spec[0], ==, 32 * cfg.spec[4] * cfg.spec[5]);
  g_assert_cmpuint (cfg.spec[3], ==, 16);
  g_assert_true (cfg.spec[6] && cfg.spec[7]);
  /* Few tiles: the smaller one, so more workgroups run at once. */
  g_assert_true (ts_vk_coopmat_gemm_choose (&l, TS_DTYPE_F16, 128, 256, 256, 1, TRUE, FALSE,
                                            &cfg, NULL));
  g_assert_cmpuint (cfg.tile_m, ==, 64);
  g_assert_false (cfg.spec[7]);
  /* Less shared memory than the larger tile needs. */
  l.max_shared_memory = 32768;
  g_assert_true (ts_vk_coopmat_gemm_choose (&l, TS_DTYPE_F16, 512, 5632, 1024, 1, TRUE, TRUE,
                                            &cfg, NULL));
  g_assert_cmpuint (cfg.tile_m, ==, 64);
}

static void
test_fallbacks (void)
{
  TsVkGemmConfig cfg;
  const char *why = NULL;
  TsVkLimits l = nvidia_limits ();
  g_assert_false (ts_vk_coopmat_gemm_choose (&l, TS_DTYPE_F32, 512, 1024, 1024, 1, TRUE, TRUE,
                                             &cfg, &why));
  g_assert_nonnull (strstr (why, "f16"));
  g_assert_false (ts_vk_coopmat_gemm_choose (&l, TS_DTYPE_BF16, 512, 1024, 1024, 1, TRUE, TRUE,
                                             &cfg, &why));
  g_assert_false (ts_vk_coopmat_gemm_choose (&l, TS_DTYPE_F16, 32, 1024, 1024, 1, TRUE, TRUE,
                                             &cfg, &why));
  g_assert_nonnull (strstr (why, "small"));
  g_assert_false (ts_vk_coopmat_gemm_choose (&l, TS_DTYPE_F16, 512, 1024, 8, 1, TRUE, TRUE,
                                             &cfg, &why));
  l.subgroup_size = 64;
  g_assert_false (ts_vk_coopmat_gemm_choose (&l, TS_DTYPE_F16, 512, 1024, 1024, 1, TRUE, TRUE,
                                             &cfg, &why));
  g_assert_nonnull (strstr (why, "subgroup"));
  l = nvidia_limits ();
  l.max_shared_memory = 16384;
  g_assert_false (ts_vk_coopmat_gemm_choose (&l, TS_DTYPE_F16, 512, 1024, 1024, 1, TRUE, TRUE,
                                             &cfg, &why));
  g_assert_nonnull (strstr (why, "shared memory"));
  l = nvidia_limits ();
  l.coopmat = FALSE;
  g_assert_false (ts_vk_coopmat_gemm_choose (&l, TS_DTYPE_F16, 512, 1024, 1024, 1, TRUE, TRUE,
                                             &cfg, &why));
  g_assert_nonnull (strstr (why, "VK_NV_cooperative_matrix"));
}

/* This machine's device: the choice follows what it reports (lavapipe: no extension, so
 * the other kernels run every f16 product, which ops-vulkan and vk-heavy check). */
static void
test_device (void)
{
  if (!vkt_vk) {
    g_test_skip (vkt_skip_reason);
    return;
  }
  const TsVkLimits *l = ts_vk_limits (vkt_vk);
  TsVkGemmConfig cfg;
  const char *why = NULL;
  gboolean chosen = ts_vk_coopmat_gemm_choose (l, TS_DTYPE_F16, 512, 5632, 1024, 1, TRUE, TRUE,
                                               &cfg, &why);
  g_assert_true (chosen == (l->coopmat && l->fp16_math && l->subgroup_size == 32 &&
                            l->max_shared_memory >= 20480 && l->max_workgroup_invocations >= 128));
  g_test_message ("this device: %s", chosen ? "cooperative-matrix GEMM for f16 weights" : why);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  vkt_setup ();
  g_test_add_func ("/vk-coopmat/choice", test_choice);
  g_test_add_func ("/vk-coopmat/fallbacks", test_fallbacks);
  g_test_add_func ("/vk-coopmat/device", test_device);
  int rc = g_test_run ();
  vkt_teardown ();
  return rc;
}
