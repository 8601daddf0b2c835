/* vk-options.h — every switch of the Vulkan backend, in one place.
 *
 * A backend takes its options once, when it is created, and keeps them for its lifetime:
 * nothing in compute/vulkan/ reads the environment afterwards, so a switch cannot change
 * under ops that are running, and tests give each backend its own options instead of
 * setting environment variables between (or during) tests.
 *
 * ts_vk_options_from_env reads the environment variables below (a flag is on for any value
 * but "" and "0"); ts_backend_new_vulkan and TESSERA_DEVICE use it. A zeroed struct is
 * the default: every option off, everything chosen from the device. */
#pragma once

#include "../ts-backend.h"

G_BEGIN_DECLS

/* Which family of the compute-heavy kernels (matmul, attention, conv, nearest code) runs. */
typedef enum {
  TS_VK_KERNELS_AUTO = 0, /* shared-memory tiles on GPUs, registers only on CPU devices */
  TS_VK_KERNELS_REG,      /* TESSERA_VK_FORCE_NOSHM: registers only, no shared memory at all */
  TS_VK_KERNELS_SHM,      /* TESSERA_VK_FORCE_SHM: shared-memory tiles, even for tiny products */
} TsVkKernels;

typedef struct {
  gboolean    validation;              /* TESSERA_VK_VALIDATION: Khronos layer + sync validation */
  guint64     max_binding;             /* TESSERA_VK_MAX_BINDING=<bytes>: lower the binding
                                        * limit (see ts_vk_set_max_binding); 0: the device's */
  gboolean    force_staging;           /* TESSERA_VK_FORCE_STAGING: host access through
                                        * staging copies, as on discrete GPUs */
  gboolean    disable_subgroup;        /* TESSERA_VK_DISABLE_SUBGROUP: report no subgroup ops */
  gboolean    disable_fp16;            /* TESSERA_VK_DISABLE_FP16: no fp16 storage or math */
  gboolean    disable_coopmat;         /* TESSERA_VK_DISABLE_COOPMAT: no VK_NV_cooperative_matrix */
  gboolean    disable_push_descriptor; /* TESSERA_VK_DISABLE_PUSH_DESCRIPTOR: descriptor pools */
  gboolean    disable_timestamps;      /* TESSERA_VK_DISABLE_TIMESTAMPS: host timing */
  guint       dispatches_per_submit;   /* TESSERA_VK_DISPATCHES_PER_SUBMIT=N; 0: default (64) */
  gboolean    no_pipeline_cache;       /* TESSERA_VK_PIPELINE_CACHE=0: no cache on disk */
  TsVkKernels kernels;                 /* TESSERA_VK_FORCE_NOSHM / TESSERA_VK_FORCE_SHM */
  gboolean    force_gemm_tile;         /* TESSERA_VK_GEMM_TILE=<index>: one shared-memory */
  guint       gemm_tile;               /* GEMM tiling (0 largest; past the last: the last) */
  gboolean    set_memory_budget;       /* TESSERA_MEMORY_BUDGET's Vulkan item (syntax in */
  guint64     memory_budget;           /* ts-backend-private.h): this budget in bytes, 0 none,
                                        * instead of the device's (see ts-backend.h) */
} TsVkOptions;

/* Fill *options from the environment (unset variables give the zeroed defaults). */
void       ts_vk_options_from_env (TsVkOptions *options);

/* A Vulkan backend with these options (NULL: the defaults); device choice as
 * ts_backend_new_vulkan, which is this with ts_vk_options_from_env. */
TsBackend *ts_vk_backend_new_with_options (int device_index, gboolean allow_cpu_device,
                                           const TsVkOptions *options, GError **error);

G_END_DECLS
