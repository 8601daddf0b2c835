/* vk-internal.h — state shared by the Vulkan runtime files (vk-device.c, vk-memory.c,
 * vk-pipeline.c, vk-recorder.c, vk-backend.c). Op files use vk-runtime.h only.
 *
 * Threading: like the CPU backend, one TsVkBackend is used by one thread at a time; only
 * pipeline creation is locked, so a loader thread may warm pipelines while ops run. */
#pragma once

#include "vk-runtime.h"

#include <volk.h>

#define TS_VK_MAX_BINDINGS 8
#define TS_VK_PUSH_SIZE    128
#define TS_VK_MAX_SPEC     16
#define TS_VK_N_SLOTS      3   /* command buffers in flight: recording overlaps execution */
#define TS_VK_MAX_PER_SUBMIT 256

typedef struct {
  TsStorage      base;
  VkBuffer       buffer;
  VkDeviceMemory memory;
  VkDeviceSize   alloc_size;
  guint8        *mapped;   /* NULL: not host-visible, host access goes through staging */
  guint64        last_use; /* serial of the last command buffer that binds this buffer */
} TsVkStorage;

/* A byte range of a buffer touched by recorded work, for barrier placement. */
typedef struct {
  VkBuffer     buffer;
  VkDeviceSize begin, end;
} TsVkRange;

/* What one timestamp query measures. */
typedef struct {
  const char *name;
  guint       count; /* 1 on an op's first dispatch: entries count ops, not dispatches */
  double      flops, bytes;
} TsVkQueryTag;

/* One command buffer with everything that must live until it has executed. */
typedef struct {
  VkCommandBuffer  cmd;
  VkFence          fence;
  VkDescriptorPool desc_pool;  /* VK_NULL_HANDLE with push descriptors */
  VkQueryPool      queries;    /* VK_NULL_HANDLE without timestamp support */
  guint64          serial;     /* serial this buffer was recorded under */
  gboolean         recording;  /* vkBeginCommandBuffer called, not yet submitted */
  gboolean         submitted;  /* submitted, fence not yet waited */
  guint            n_dispatches;
  double           flops;
  guint            n_queries;  /* timestamps written; 0 or 1 + tags->len */
  GArray          *tags;       /* TsVkQueryTag for timestamps 1..n */
  GPtrArray       *garbage;    /* TsVkStorage to destroy once this buffer has executed */
} TsVkSlot;

struct _TsVkBackend {
  TsBackend      base;
  TsBackendClass klass;  /* vk-backend.c's class, named after the device */
  TsVkLimits     limits;
  TsVkOptions    options; /* fixed at creation: vk-options.h */
  VkDeviceSize device_max_storage_range; /* the real limit; limits holds the effective one */

  /* What every op reports once the device is lost. */
#define TS_VK_LOST_MESSAGE \
  "Vulkan: the GPU device was lost (a driver reset or GPU fault); its work and memory are " \
  "gone and this backend cannot continue: switch to the CPU backend"

/* vk-device.c */
  VkInstance                       instance;
  VkDebugUtilsMessengerEXT         messenger;
  VkPhysicalDevice                 physical;
  VkPhysicalDeviceProperties       props;
  VkPhysicalDeviceMemoryProperties mem_props;
  VkDevice                         device;
  struct VolkDeviceTable           d;
  VkQueue                          queue;
  uint32_t                         queue_family;
  gboolean                         push_descriptors;
  gboolean                         uma;
  gboolean                         timestamps;
  uint64_t                         timestamp_mask;
  double                           timestamp_period; /* ns per tick */
  VkDeviceSize                     max_allocation;
  gboolean                         validation;
  gboolean                         lost;
  gboolean                         memory_budget_ext; /* VK_EXT_memory_budget enabled */
  char                            *name;

  /* vk-memory.c */
  GHashTable    *buffers;        /* VkBuffer → TsVkStorage*, to track uses by dispatches */
  VkBuffer       staging;
  VkDeviceMemory staging_memory;
  guint8        *staging_map;
  VkDeviceSize   staging_size;
  guint64        device_bytes;   /* live storage bytes */

  /* vk-pipeline.c */
  GMutex                 pipeline_lock;
  GHashTable            *pipelines;
  VkDescriptorSetLayout  set_layout;
  VkPipelineLayout       pipeline_layout;
  VkPipelineCache        pipeline_cache;
  char                  *pipeline_cache_path;
  gboolean               pipeline_cache_loaded;
  guint                  pipelines_since_save;

  /* vk-recorder.c */
  VkCommandPool cmd_pool;
  TsVkSlot      slots[TS_VK_N_SLOTS];
  guint         cur;             /* slot being recorded */
  guint64       serial;          /* serial of the slot being recorded (starts at 1) */
  guint64       completed;       /* all command buffers up to this serial have executed */
  GArray       *pending_reads;   /* TsVkRange read since the last barrier */
  GArray       *pending_writes;  /* TsVkRange written since the last barrier */
  guint         max_per_submit;
  double        flops_per_submit;
  const char   *op_name;         /* profile key of the op being recorded, or NULL */
  double        op_flops, op_bytes;
  gboolean      op_started;      /* the op has recorded a dispatch */
  GHashTable   *profile;         /* name → TsProfileEntry* */
  TsVkCounters  counters;
};

/* vk-device.c */
gboolean ts_vk_device_init (TsVkBackend *vk, int device_index, gboolean allow_cpu_device,
                            GError **error);
void     ts_vk_device_destroy (TsVkBackend *vk);
/* The default memory budget: the device-local heap's budget (VK_EXT_memory_budget) or 3/4
 * of that heap. */
guint64  ts_vk_device_default_budget (TsVkBackend *vk);
char    *ts_vk_device_describe (TsVkBackend *vk);
const char *ts_vk_result_string (VkResult result);
/* TRUE when result is VK_SUCCESS; else an error naming `what` (OOM codes → OUT_OF_MEMORY,
 * device loss → DEVICE and the backend marked lost). */
gboolean ts_vk_check (TsVkBackend *vk, VkResult result, const char *what, GError **error);

/* vk-memory.c */
gboolean   ts_vk_memory_init (TsVkBackend *vk, GError **error);
void       ts_vk_memory_destroy (TsVkBackend *vk);
TsStorage *ts_vk_storage_new (TsBackend *be, size_t bytes, GError **error);
void       ts_vk_storage_free (TsBackend *be, TsStorage *storage);
void       ts_vk_storage_destroy (TsVkBackend *vk, TsVkStorage *s);
gboolean   ts_vk_storage_write (TsBackend *be, TsStorage *s, size_t offset, const void *src,
                                size_t n, GError **error);
gboolean   ts_vk_storage_read (TsBackend *be, TsStorage *s, size_t offset, void *dst,
                               size_t n, GError **error);
TsVkStorage *ts_vk_storage_of_buffer (TsVkBackend *vk, VkBuffer buffer);

/* vk-pipeline.c */
gboolean   ts_vk_pipelines_init (TsVkBackend *vk, GError **error);
void       ts_vk_pipelines_destroy (TsVkBackend *vk);
gboolean   ts_vk_pipeline_cache_save (TsVkBackend *vk, GError **error);
VkPipeline ts_vk_pipeline_get (TsVkBackend *vk, const TsVkKernel *kernel, const uint32_t *spec,
                               guint n_spec, GError **error);

/* vk-recorder.c */
gboolean ts_vk_recorder_init (TsVkBackend *vk, GError **error);
void     ts_vk_recorder_destroy (TsVkBackend *vk);
/* Submit what is recorded and wait for everything. */
gboolean ts_vk_recorder_sync (TsVkBackend *vk, GError **error);
/* Wait until the command buffer with this serial has executed (submitting it if needed). */
gboolean ts_vk_recorder_wait_serial (TsVkBackend *vk, guint64 serial, GError **error);
/* Destroy s now if no recorded work uses it, else once that work has executed. */
void     ts_vk_recorder_release (TsVkBackend *vk, TsVkStorage *s);
/* Called after each op: ends its profile attribution. */
void     ts_vk_recorder_end_op (TsVkBackend *vk);
void     ts_vk_recorder_set_profiling (TsVkBackend *vk, gboolean enabled);
TsProfileEntry *ts_vk_recorder_profile (TsVkBackend *vk, guint *n);
void     ts_vk_recorder_profile_reset (TsVkBackend *vk);
