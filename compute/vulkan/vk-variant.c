/* vk-variant.c — see vk-variant.h. */
#include "vk-variant.h"

#include <string.h>

gboolean
ts_vk_want_shm (TsVkBackend *vk)
{
  TsVkKernels k = ts_vk_options (vk)->kernels;
  return k == TS_VK_KERNELS_AUTO ? !ts_vk_limits (vk)->is_cpu_device : k == TS_VK_KERNELS_SHM;
}

gboolean
ts_vk_want_staging (TsVkBackend *vk)
{
  return ts_vk_options (vk)->kernels != TS_VK_KERNELS_REG;
}

TsVkKernelId
ts_vk_kernel_for_dtype (TsDType dtype, TsVkKernelId f32, TsVkKernelId f16, TsVkKernelId bf16)
{
  return dtype == TS_DTYPE_F16 ? f16 : dtype == TS_DTYPE_BF16 ? bf16 : f32;
}

/* Shared-memory tilings, largest first: BM, BN, BK, TM, TN. Local size (BM/TM)·(BN/TN). */
static const uint32_t gemm_shm_tiles[][5] = {
  { 128, 128, 16, 8, 8 }, /* 256 invocations, 64 outputs each */
  { 64, 64, 16, 4, 4 },   /* 256 invocations */
  { 32, 32, 16, 4, 4 },   /* 64 invocations */
};

static gboolean
gemm_shm_tile_ok (const TsVkLimits *l, const uint32_t *t)
{
  uint32_t wg = (t[0] / t[3]) * (t[1] / t[4]);
  uint32_t shared = (t[0] + 4 + t[1] + 4) * t[2] * sizeof (float);
  return wg <= l->max_workgroup_invocations && shared <= l->max_shared_memory;
}

void
ts_vk_gemm_config (TsVkBackend *vk, int64_t m, int64_t n, int64_t batches,
                   gboolean a_kfast, gboolean b_kfast, TsVkGemmConfig *cfg)
{
  const TsVkLimits *l = ts_vk_limits (vk);
  const TsVkOptions *o = ts_vk_options (vk);
  memset (cfg, 0, sizeof *cfg);
  cfg->spec[6] = a_kfast;
  cfg->spec[7] = b_kfast;

  /* Tiny products (matrix-vector, a few rows) leave shared-memory tiles mostly empty. */
  gboolean tiny = m * n * batches < 1024 && o->kernels != TS_VK_KERNELS_SHM;
  if (ts_vk_want_shm (vk) && !tiny) {
    guint pick = G_N_ELEMENTS (gemm_shm_tiles);
    /* The gemm_tile option forces tiling i (0 largest), so tests reach every tiling. */
    gboolean forced = o->force_gemm_tile;
    guint first = forced ? MIN (o->gemm_tile, G_N_ELEMENTS (gemm_shm_tiles) - 1) : 0;
    for (guint i = first; i < G_N_ELEMENTS (gemm_shm_tiles); i++) {
      const uint32_t *t = gemm_shm_tiles[i];
      /* A larger tile only pays when there are still enough workgroups to fill a GPU. */
      uint64_t groups = ts_vk_gemm_groups (&(TsVkGemmConfig) { .tile_m = t[0], .tile_n = t[1] },
                                           m, n, batches);
      if (gemm_shm_tile_ok (l, t) &&
          (groups >= 128 || forced || i + 1 == G_N_ELEMENTS (gemm_shm_tiles))) {
        pick = i;
        break;
      }
    }
    if (pick < G_N_ELEMENTS (gemm_shm_tiles)) {
      const uint32_t *t = gemm_shm_tiles[pick];
      cfg->shm = TRUE;
      cfg->spec[0] = (t[0] / t[3]) * (t[1] / t[4]);
      memcpy (&cfg->spec[1], t, 5 * sizeof (uint32_t));
      cfg->tile_m = t[0];
      cfg->tile_n = t[1];
      return;
    }
  }

  /* Registers only: 64 invocations of 4×4 outputs, as many along N as N needs (up to 16),
   * the rest along M. */
  uint32_t wn = 1;
  while (wn < 16 && (int64_t) wn * 4 < n)
    wn *= 2;
  cfg->spec[0] = 64;
  cfg->spec[1] = wn;
  cfg->spec[2] = 4;
  cfg->spec[3] = 4;
  cfg->tile_m = (64 / wn) * 4;
  cfg->tile_n = wn * 4;
}

uint64_t
ts_vk_gemm_groups (const TsVkGemmConfig *cfg, int64_t m, int64_t n, int64_t batches)
{
  uint64_t tm = ((uint64_t) m + cfg->tile_m - 1) / cfg->tile_m;
  uint64_t tn = ((uint64_t) n + cfg->tile_n - 1) / cfg->tile_n;
  return tm * tn * (uint64_t) batches;
}
