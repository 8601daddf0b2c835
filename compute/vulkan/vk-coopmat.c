/* vk-coopmat.c — choosing the cooperative-matrix GEMM (shaders/gemm-coopmat.glsl).
 *
 * The kernel runs 32·WM·WN invocations, a WM×WN grid of subgroups, each owning a
 * (BM/WM)×(BN/WN) block of 16×16 f32 accumulators. Shared memory holds one BK = 16 slice of A
 * and B in f16 and the BM×BN f32 tile on its way out. Tiles, largest first; a larger one is
 * taken only when the product still gives enough workgroups to fill a large GPU (as the
 * shared-memory GEMM does in vk-variant.c). */
#include "vk-coopmat.h"
#include "vk-internal.h" /* volk: the physical-device query */

#include <string.h>

/* BM, BN, WM, WN */
static const uint32_t coopmat_tiles[][4] = {
  { 128, 64, 2, 2 }, /* 128 invocations, 8 accumulators each subgroup, 38 KiB shared */
  { 64, 64, 2, 2 },  /* 128 invocations, 4 accumulators each, 20 KiB */
};

static uint32_t
tile_shared_bytes (const uint32_t *t)
{
  return (t[0] * 16 + 16 * t[1]) * 2 + t[0] * t[1] * 4;
}

gboolean
ts_vk_coopmat_gemm_choose (const TsVkLimits *l, TsDType b_dtype, int64_t m, int64_t n,
                           int64_t k, int64_t batches, gboolean a_kfast, gboolean b_kfast,
                           TsVkGemmConfig *cfg, const char **why)
{
  const char *no = NULL;
  if (!l->coopmat)
    no = "the device has no VK_NV_cooperative_matrix (or TESSERA_VK_DISABLE_COOPMAT is set)";
  else if (b_dtype != TS_DTYPE_F16)
    no = "the weights are not f16";
  else if (!l->fp16_math)
    no = "the device has no shaderFloat16 (the tiles are kept in f16)";
  else if (l->subgroup_size != 32)
    no = "the subgroup size is not 32";
  else if (m < 64 || n < 64 || k < 16)
    no = "the product is too small for a 64×64 tile";
  if (!no) {
    for (guint i = 0; i < G_N_ELEMENTS (coopmat_tiles); i++) {
      const uint32_t *t = coopmat_tiles[i];
      uint32_t invocations = 32 * t[2] * t[3];
      if (invocations > l->max_workgroup_invocations || tile_shared_bytes (t) > l->max_shared_memory)
        continue;
      uint64_t groups = (uint64_t) ((m + t[0] - 1) / t[0]) * ((n + t[1] - 1) / t[1]) * batches;
      if (groups < 128 && i + 1 < G_N_ELEMENTS (coopmat_tiles))
        continue;
      memset (cfg, 0, sizeof *cfg);
      cfg->shm = TRUE;
      cfg->spec[0] = invocations;
      cfg->spec[1] = t[0];
      cfg->spec[2] = t[1];
      cfg->spec[3] = 16;
      cfg->spec[4] = t[2];
      cfg->spec[5] = t[3];
      cfg->spec[6] = a_kfast;
      cfg->spec[7] = b_kfast;
      cfg->tile_m = t[0];
      cfg->tile_n = t[1];
      if (why)
        *why = NULL;
      return TRUE;
    }
    no = "no tile fits the device's shared memory and workgroup size";
  }
  if (why)
    *why = no;
  return FALSE;
}

gboolean
ts_vk_coopmat_shape_supported (VkPhysicalDevice physical)
{
  if (!vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)
    return FALSE;
  uint32_t n = 0;
  if (vkGetPhysicalDeviceCooperativeMatrixPropertiesNV (physical, &n, NULL) != VK_SUCCESS || n == 0)
    return FALSE;
  g_autofree VkCooperativeMatrixPropertiesNV *props = g_new0 (VkCooperativeMatrixPropertiesNV, n);
  for (uint32_t i = 0; i < n; i++)
    props[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
  if (vkGetPhysicalDeviceCooperativeMatrixPropertiesNV (physical, &n, props) != VK_SUCCESS)
    return FALSE;
  /* The one shape and type combination gemm-coopmat.glsl uses. */
  for (uint32_t i = 0; i < n; i++) {
    const VkCooperativeMatrixPropertiesNV *p = &props[i];
    if (p->MSize == 16 && p->NSize == 16 && p->KSize == 16 &&
        p->AType == VK_COMPONENT_TYPE_FLOAT16_NV && p->BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
        p->CType == VK_COMPONENT_TYPE_FLOAT32_NV && p->DType == VK_COMPONENT_TYPE_FLOAT32_NV &&
        p->scope == VK_SCOPE_SUBGROUP_NV)
      return TRUE;
  }
  return FALSE;
}
