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
 * The pipeline is created on first use. flops/bytes feed the profiler. */
gboolean ts_vk_dispatch (TsVkBackend *vk, const char *kernel,
                         const uint32_t *spec, guint n_spec,
                         const TsVkBinding *bindings, guint n_bindings,
                         const void *push, size_t push_size,
                         uint32_t groups_x, uint32_t groups_y, uint32_t groups_z,
                         double flops, double bytes, GError **error);

/* Scratch memory for an op (split-k partials, im2col tiles): a tensor on this backend that
 * lives until the recorded work using it has completed. */
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

G_END_DECLS
