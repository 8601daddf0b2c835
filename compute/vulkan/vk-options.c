/* vk-options.c — the environment switches of vk-options.h: the one place that reads them. */
#include "vk-options.h"
#include "../ts-backend-private.h"

#include <string.h>

#define MAX_PER_SUBMIT 256 /* TS_VK_MAX_PER_SUBMIT, the recorder's clamp */

static gboolean
env_flag (const char *name)
{
  const char *v = g_getenv (name);
  return v != NULL && *v != '\0' && strcmp (v, "0") != 0;
}

/* An unsigned number from the environment, or `unset` when the variable is absent. Like
 * g_ascii_strtoull, text that is not a number reads as 0. */
static guint64
env_number (const char *name, guint64 unset)
{
  const char *v = g_getenv (name);
  return v != NULL ? g_ascii_strtoull (v, NULL, 10) : unset;
}

void
ts_vk_options_from_env (TsVkOptions *o)
{
  memset (o, 0, sizeof *o); /* padding too, so options compare with memcmp */
  o->validation = env_flag ("TESSERA_VK_VALIDATION");
  o->max_binding = env_number ("TESSERA_VK_MAX_BINDING", 0);
  o->force_staging = env_flag ("TESSERA_VK_FORCE_STAGING");
  o->disable_subgroup = env_flag ("TESSERA_VK_DISABLE_SUBGROUP");
  o->disable_fp16 = env_flag ("TESSERA_VK_DISABLE_FP16");
  o->disable_coopmat = env_flag ("TESSERA_VK_DISABLE_COOPMAT");
  o->disable_push_descriptor = env_flag ("TESSERA_VK_DISABLE_PUSH_DESCRIPTOR");
  o->disable_timestamps = env_flag ("TESSERA_VK_DISABLE_TIMESTAMPS");
  /* Set but 0 (or not a number) has always meant one dispatch per submit, not the default. */
  if (g_getenv ("TESSERA_VK_DISPATCHES_PER_SUBMIT") != NULL)
    o->dispatches_per_submit =
      (guint) CLAMP (env_number ("TESSERA_VK_DISPATCHES_PER_SUBMIT", 0), 1, MAX_PER_SUBMIT);
  /* Only exactly "0" turns the cache off: it is on by default. */
  o->no_pipeline_cache = g_strcmp0 (g_getenv ("TESSERA_VK_PIPELINE_CACHE"), "0") == 0;
  /* NOSHM wins when both are set. */
  o->kernels = env_flag ("TESSERA_VK_FORCE_NOSHM") ? TS_VK_KERNELS_REG
             : env_flag ("TESSERA_VK_FORCE_SHM")   ? TS_VK_KERNELS_SHM
                                                   : TS_VK_KERNELS_AUTO;
  if (g_getenv ("TESSERA_VK_GEMM_TILE") != NULL) {
    o->force_gemm_tile = TRUE;
    o->gemm_tile = (guint) MIN (env_number ("TESSERA_VK_GEMM_TILE", 0), G_MAXUINT);
  }
  /* Its parser is the CPU backend's too, so it stays in ts-backend.c. */
  o->set_memory_budget = ts_memory_budget_from_env (TS_BACKEND_VULKAN, &o->memory_budget);
}
