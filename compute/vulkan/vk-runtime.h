/* vk-runtime.h — the Vulkan backend's internal runtime, used by the op files (vk-op-*.c).
 *
 * One op family per file: the op file picks a kernel variant, fills its push constants
 * (a C struct mirrored field by field in the shader), binds tensors and dispatches. The
 * runtime owns the device, memory, pipelines (created lazily, cached on disk), the command
 * recorder (many dispatches per submit, barriers only where data depends) and timestamps. */
#pragma once

#include "../ts-backend-private.h"

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

G_BEGIN_DECLS

typedef struct _TsVkBackend TsVkBackend;

/* What op files need to know about the device to choose variants and split work. */
typedef struct {
  VkDeviceSize max_storage_range;        /* maxStorageBufferRange: largest binding */
  VkDeviceSize min_storage_alignment;    /* minStorageBufferOffsetAlignment */
  uint32_t     max_shared_memory;        /* maxComputeSharedMemorySize */
  uint32_t     max_workgroup_count[3];
  uint32_t     max_workgroup_invocations;
  uint32_t     max_push_constants;
  uint32_t     subgroup_size;
  gboolean     subgroup_arithmetic;      /* subgroupAdd/Max available */
  gboolean     subgroup_shuffle;
  gboolean     fp16_storage;             /* storageBuffer16BitAccess */
  gboolean     fp16_math;                /* shaderFloat16 */
  gboolean     is_cpu_device;            /* lavapipe: prefer kernels without shared memory */
  gboolean     coopmat;                  /* VK_NV_cooperative_matrix usable */
} TsVkLimits;

const TsVkLimits *ts_vk_limits (TsVkBackend *vk);

/* A storage-buffer binding: a byte range of one VkBuffer. */
typedef struct {
  VkBuffer     buffer;
  VkDeviceSize offset; /* aligned to min_storage_alignment */
  VkDeviceSize range;  /* <= max_storage_range */
  gboolean     writes; /* the dispatch writes this binding (for barrier tracking) */
} TsVkBinding;

/* Bind bytes [begin, end) of t's storage (absolute byte positions within the storage). The
 * binding starts at the aligned position at or below `begin`; *elem_offset receives
 * (begin − binding offset) / elem_size, to add to indices in the shader. Fails with a clear
 * error when the range exceeds max_storage_range (the op must split). */
gboolean ts_vk_bind_bytes (TsVkBackend *vk, const TsTensor *t, size_t begin, size_t end,
                           size_t elem_size, gboolean writes, TsVkBinding *binding,
                           uint32_t *elem_offset, GError **error);
/* Bind the whole extent of t (from its first to its last element, given its strides). */
gboolean ts_vk_bind_tensor (TsVkBackend *vk, const TsTensor *t, gboolean writes,
                            TsVkBinding *binding, uint32_t *elem_offset, GError **error);

/* Record one dispatch of `kernel` (a name from shaders/meson.build) specialised with
 * spec[0..n_spec-1] (constant_id 0..n_spec-1, 32-bit each). push is at most 128 bytes.
 * The pipeline is created on first use. flops/bytes feed the profiler. bindings[i] is
 * `layout(binding = i)` of set 0 (at most 8). A dispatch with a zero group count records
 * nothing. */
gboolean ts_vk_dispatch (TsVkBackend *vk, const char *kernel,
                         const uint32_t *spec, guint n_spec,
                         const TsVkBinding *bindings, guint n_bindings,
                         const void *push, size_t push_size,
                         uint32_t groups_x, uint32_t groups_y, uint32_t groups_z,
                         double flops, double bytes, GError **error);

/* Scratch memory for an op (split-k partials, im2col tiles): a new tensor on this backend.
 * The caller unrefs it like any tensor (g_autoptr is fine): storage released while recorded
 * work still uses it lives on until that work has completed. */
TsTensor *ts_vk_scratch (TsVkBackend *vk, TsDType dtype, int ndim, const int64_t *shape,
                         GError **error);

/* Split a 1-D count of workgroups into a 3-D grid that respects maxComputeWorkGroupCount.
 * Shaders recover the linear index as (z·gy + y)·gx + x and must bounds-check it. */
void ts_vk_grid_1d (TsVkBackend *vk, uint64_t n_groups, uint32_t grid[3]);

/* The embedded SPIR-V modules (generated from shaders/meson.build). */
typedef struct {
  const char     *name;
  const uint32_t *code;
  size_t          size; /* bytes */
} TsVkKernel;

extern const TsVkKernel ts_vk_kernels[];
extern const guint      ts_vk_n_kernels;
const TsVkKernel *ts_vk_kernel_find (const char *name);

/* ---- diagnostics and test hooks ----
 *
 * Environment switches, read when a backend is created (any value but "0" turns one on):
 *   TESSERA_VK_VALIDATION              validation layer + synchronization validation
 *   TESSERA_VK_MAX_BINDING=<bytes>     lower max_storage_range (see ts_vk_set_max_binding)
 *   TESSERA_VK_FORCE_STAGING           host access through staging copies, as on dGPUs
 *   TESSERA_VK_DISABLE_SUBGROUP        report no subgroup operations
 *   TESSERA_VK_DISABLE_FP16            report no fp16 storage or math
 *   TESSERA_VK_DISABLE_COOPMAT         do not enable VK_NV_cooperative_matrix
 *   TESSERA_VK_DISABLE_PUSH_DESCRIPTOR descriptor pools instead of push descriptors
 *   TESSERA_VK_DISABLE_TIMESTAMPS      profile with host timing instead of GPU timestamps
 *   TESSERA_VK_DISPATCHES_PER_SUBMIT=N submit every N dispatches (default 64)
 *   TESSERA_VK_PIPELINE_CACHE=0        no pipeline cache on disk */

/* The Vulkan backend behind `be`, or NULL when `be` is another kind. */
TsVkBackend *ts_vk_backend_from (TsBackend *be);
/* With TESSERA_VK_VALIDATION=1 the Khronos validation layer (with synchronization
 * validation) runs; every warning or error it reports is printed and counted here,
 * process-wide. validation_active says whether the layer could be enabled. */
guint        ts_vk_validation_message_count (void);
gboolean     ts_vk_validation_active (TsVkBackend *vk);
/* Lower the effective max_storage_range (never above the device's nor below 1 KiB; 0
 * restores it), so tests reach the split paths with small tensors. Applies to ops
 * recorded afterwards. */
void         ts_vk_set_max_binding (TsVkBackend *vk, VkDeviceSize bytes);
/* The on-disk pipeline cache: its path (NULL when disabled with
 * TESSERA_VK_PIPELINE_CACHE=0) and whether a valid one was loaded at startup. */
const char  *ts_vk_pipeline_cache_path (TsVkBackend *vk);
gboolean     ts_vk_pipeline_cache_loaded (TsVkBackend *vk);

typedef struct {
  guint64 submits;           /* command buffers submitted */
  guint64 dispatches;
  guint64 barriers;          /* dependency barriers inserted between dispatches */
  guint64 pipelines_created;
  guint64 host_waits;        /* fence waits */
} TsVkCounters;
void         ts_vk_get_counters (TsVkBackend *vk, TsVkCounters *counters);

G_END_DECLS
