/* vk-memory.c — storage (one VkBuffer with its own memory), host access, bindings.
 *
 * Memory type policy: on unified-memory devices (integrated GPUs, lavapipe) buffers live in
 * device-local host-visible memory and host access is a memcpy; on discrete GPUs they live
 * in device-local memory and host access is staged through one host-visible buffer. When a
 * preferred type is exhausted the next is tried, down to plain host memory. */
#include "vk-internal.h"
#include "../ts-fault.h"

#include <string.h>

#define STAGING_MIN (1u << 20)
#define STAGING_MAX (64u << 20)

static inline VkDeviceSize
round_up (VkDeviceSize x, VkDeviceSize a)
{
  return (x + a - 1) / a * a;
}

gboolean
ts_vk_memory_init (TsVkBackend *vk, GError **error)
{
  vk->buffers = g_hash_table_new (g_direct_hash, g_direct_equal);
  return TRUE;
}

static void
destroy_staging (TsVkBackend *vk)
{
  if (vk->staging != VK_NULL_HANDLE)
    vk->d.vkDestroyBuffer (vk->device, vk->staging, NULL);
  if (vk->staging_memory != VK_NULL_HANDLE)
    vk->d.vkFreeMemory (vk->device, vk->staging_memory, NULL);
  vk->staging = VK_NULL_HANDLE;
  vk->staging_memory = VK_NULL_HANDLE;
  vk->staging_map = NULL;
  vk->staging_size = 0;
}

void
ts_vk_memory_destroy (TsVkBackend *vk)
{
  if (vk->device != VK_NULL_HANDLE)
    destroy_staging (vk);
  g_clear_pointer (&vk->buffers, g_hash_table_unref);
}

TsVkStorage *
ts_vk_storage_of_buffer (TsVkBackend *vk, VkBuffer buffer)
{
  return g_hash_table_lookup (vk->buffers, (gconstpointer) buffer);
}

/* Allocates memory for `req` from the first type, in preference order, that has room. */
static VkResult
allocate_memory (TsVkBackend *vk, const VkMemoryRequirements *req,
                 const VkMemoryPropertyFlags *prefs, guint n_prefs,
                 VkDeviceMemory *memory, VkMemoryPropertyFlags *flags)
{
  const VkPhysicalDeviceMemoryProperties *mp = &vk->mem_props;
  VkResult last = VK_ERROR_OUT_OF_DEVICE_MEMORY;

  for (guint p = 0; p < n_prefs; p++) {
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
      VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
      if (!(req->memoryTypeBits & (1u << i)) || (f & prefs[p]) != prefs[p] ||
          mp->memoryHeaps[mp->memoryTypes[i].heapIndex].size < req->size)
        continue;
      VkMemoryAllocateInfo info = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req->size,
        .memoryTypeIndex = i,
      };
      last = vk->d.vkAllocateMemory (vk->device, &info, NULL, memory);
      if (last == VK_SUCCESS) {
        *flags = f;
        return VK_SUCCESS;
      }
      if (last != VK_ERROR_OUT_OF_DEVICE_MEMORY && last != VK_ERROR_OUT_OF_HOST_MEMORY)
        return last;
    }
  }
  return last;
}

static const VkMemoryPropertyFlags HOST_FLAGS =
  VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

/* A buffer with bound memory; *mapped is set when the memory is host-visible. */
static gboolean
create_buffer (TsVkBackend *vk, VkDeviceSize size, gboolean for_staging, VkBuffer *buffer,
               VkDeviceMemory *memory, guint8 **mapped, GError **error)
{
  VkBufferCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = size,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
             VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  VkResult r = vk->d.vkCreateBuffer (vk->device, &info, NULL, buffer);
  if (!ts_vk_check (vk, r, "vkCreateBuffer", error))
    return FALSE;

  VkMemoryRequirements req;
  vk->d.vkGetBufferMemoryRequirements (vk->device, *buffer, &req);
  const VkMemoryPropertyFlags DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  const VkMemoryPropertyFlags staging_prefs[] = {
    HOST_FLAGS | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, HOST_FLAGS };
  const VkMemoryPropertyFlags uma_prefs[] = { DL | HOST_FLAGS, HOST_FLAGS, DL };
  const VkMemoryPropertyFlags discrete_prefs[] = { DL, HOST_FLAGS };
  const VkMemoryPropertyFlags *prefs = for_staging ? staging_prefs
                                       : vk->uma ? uma_prefs : discrete_prefs;
  guint n_prefs = for_staging ? G_N_ELEMENTS (staging_prefs)
                  : vk->uma ? G_N_ELEMENTS (uma_prefs) : G_N_ELEMENTS (discrete_prefs);
  VkMemoryPropertyFlags flags = 0;
  r = ts_fault_hit (TS_FAULT_VK_ALLOC) ? VK_ERROR_OUT_OF_DEVICE_MEMORY
      : allocate_memory (vk, &req, prefs, n_prefs, memory, &flags);
  if (r != VK_SUCCESS) {
    vk->d.vkDestroyBuffer (vk->device, *buffer, NULL);
    *buffer = VK_NULL_HANDLE;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
      g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY,
                   "Vulkan: the device is out of memory (allocating %.1f MiB)",
                   size / 1048576.0);
    else
      ts_vk_check (vk, r, "vkAllocateMemory", error);
    return FALSE;
  }

  r = vk->d.vkBindBufferMemory (vk->device, *buffer, *memory, 0);
  void *map = NULL;
  gboolean want_map = (flags & HOST_FLAGS) == HOST_FLAGS && (for_staging || !vk->options.force_staging);
  if (r == VK_SUCCESS && want_map)
    r = vk->d.vkMapMemory (vk->device, *memory, 0, VK_WHOLE_SIZE, 0, &map);
  if (!ts_vk_check (vk, r, want_map ? "binding and mapping buffer memory" : "vkBindBufferMemory", error)) {
    vk->d.vkDestroyBuffer (vk->device, *buffer, NULL);
    vk->d.vkFreeMemory (vk->device, *memory, NULL);
    *buffer = VK_NULL_HANDLE;
    *memory = VK_NULL_HANDLE;
    return FALSE;
  }
  *mapped = map;
  return TRUE;
}

TsStorage *
ts_vk_storage_new (TsBackend *be, size_t bytes, GError **error)
{
  TsVkBackend *vk = (TsVkBackend *) be;
  /* Bindings are rounded up to whole 32-bit words; keep them inside the buffer. */
  VkDeviceSize size = round_up (MAX (bytes, 1), 16);

  if (vk->lost) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_DEVICE, TS_VK_LOST_MESSAGE);
    return NULL;
  }
  if (size > vk->max_allocation || bytes > G_MAXSIZE - 16) {
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY,
                 "Vulkan: %" G_GSIZE_FORMAT " bytes exceed the device's largest allocation "
                 "(%" G_GUINT64_FORMAT " bytes)", bytes, (guint64) vk->max_allocation);
    return NULL;
  }
  TsVkStorage *s = g_try_new0 (TsVkStorage, 1);
  if (s == NULL) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of host memory");
    return NULL;
  }
  if (!create_buffer (vk, size, FALSE, &s->buffer, &s->memory, &s->mapped, error)) {
    g_free (s);
    return NULL;
  }
  s->base.size = bytes;
  s->alloc_size = size;
  vk->device_bytes += size;
  g_hash_table_insert (vk->buffers, (gpointer) s->buffer, s);
  return &s->base;
}

void
ts_vk_storage_destroy (TsVkBackend *vk, TsVkStorage *s)
{
  g_hash_table_remove (vk->buffers, (gconstpointer) s->buffer);
  vk->d.vkDestroyBuffer (vk->device, s->buffer, NULL);
  vk->d.vkFreeMemory (vk->device, s->memory, NULL); /* unmaps implicitly */
  vk->device_bytes -= s->alloc_size;
  g_free (s);
}

void
ts_vk_storage_free (TsBackend *be, TsStorage *storage)
{
  ts_vk_recorder_release ((TsVkBackend *) be, (TsVkStorage *) storage);
}

static gboolean
ensure_staging (TsVkBackend *vk, VkDeviceSize want, GError **error)
{
  want = CLAMP (round_up (want, 16), STAGING_MIN, STAGING_MAX);
  if (vk->staging_size >= want)
    return TRUE;
  destroy_staging (vk);
  if (!create_buffer (vk, want, TRUE, &vk->staging, &vk->staging_memory, &vk->staging_map, error))
    return FALSE;
  if (vk->staging_map == NULL) {
    destroy_staging (vk);
    g_set_error_literal (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                         "Vulkan: no host-visible memory for staging");
    return FALSE;
  }
  vk->staging_size = want;
  return TRUE;
}

static void
global_barrier (TsVkBackend *vk, VkCommandBuffer cmd, VkPipelineStageFlags src_stage,
                VkAccessFlags src, VkPipelineStageFlags dst_stage, VkAccessFlags dst)
{
  VkMemoryBarrier b = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = src,
                        .dstAccessMask = dst };
  vk->d.vkCmdPipelineBarrier (cmd, src_stage, dst_stage, 0, 1, &b, 0, NULL, 0, NULL);
}

/* One synchronous copy between `buffer` and the staging buffer. Earlier work on `buffer`
 * has completed (the caller waited for it); the barriers order the copy against the device
 * work before and after it in queue order. */
static gboolean
staged_copy (TsVkBackend *vk, VkBuffer buffer, VkDeviceSize offset, VkDeviceSize n,
             gboolean download, GError **error)
{
  const VkPipelineStageFlags work = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT |
                                    VK_PIPELINE_STAGE_TRANSFER_BIT;
  const VkAccessFlags work_access = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                    VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  VkCommandBufferAllocateInfo ainfo = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = vk->cmd_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  VkCommandBuffer cmd;
  VkFence fence = VK_NULL_HANDLE;
  VkResult r = vk->d.vkAllocateCommandBuffers (vk->device, &ainfo, &cmd);
  if (!ts_vk_check (vk, r, "vkAllocateCommandBuffers", error))
    return FALSE;
  VkFenceCreateInfo finfo = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  r = vk->d.vkCreateFence (vk->device, &finfo, NULL, &fence);
  if (r == VK_SUCCESS) {
    VkCommandBufferBeginInfo binfo = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    vk->d.vkBeginCommandBuffer (cmd, &binfo);
    VkBufferCopy region = { .size = n };
    if (download) {
      global_barrier (vk, cmd, work, work_access, VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_TRANSFER_READ_BIT);
      region.srcOffset = offset;
      vk->d.vkCmdCopyBuffer (cmd, buffer, vk->staging, 1, &region);
      global_barrier (vk, cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                      VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    } else {
      global_barrier (vk, cmd, work, work_access, VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_TRANSFER_WRITE_BIT);
      region.dstOffset = offset;
      vk->d.vkCmdCopyBuffer (cmd, vk->staging, buffer, 1, &region);
      global_barrier (vk, cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                      work, work_access);
    }
    r = vk->d.vkEndCommandBuffer (cmd);
  }
  if (r == VK_SUCCESS) {
    VkSubmitInfo submit = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1,
      .pCommandBuffers = &cmd,
    };
    r = vk->d.vkQueueSubmit (vk->queue, 1, &submit, fence);
    if (r == VK_SUCCESS)
      r = vk->d.vkWaitForFences (vk->device, 1, &fence, VK_TRUE, UINT64_MAX);
  }
  if (fence != VK_NULL_HANDLE)
    vk->d.vkDestroyFence (vk->device, fence, NULL);
  vk->d.vkFreeCommandBuffers (vk->device, vk->cmd_pool, 1, &cmd);
  vk->counters.host_waits++;
  return ts_vk_check (vk, r, download ? "staged download" : "staged upload", error);
}

static gboolean
check_host_access (TsVkBackend *vk, TsVkStorage *s, size_t offset, size_t n, GError **error)
{
  if (offset > s->base.size || n > s->base.size - offset) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "Vulkan: host access to bytes [%" G_GSIZE_FORMAT ", +%" G_GSIZE_FORMAT
                 ") of a %" G_GSIZE_FORMAT "-byte storage", offset, n, s->base.size);
    return FALSE;
  }
  if (vk->lost) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_DEVICE, TS_VK_LOST_MESSAGE);
    return FALSE;
  }
  /* Recorded or running work may still read or write this buffer. */
  return ts_vk_recorder_wait_serial (vk, s->last_use, error);
}

gboolean
ts_vk_storage_write (TsBackend *be, TsStorage *storage, size_t offset, const void *src,
                     size_t n, GError **error)
{
  TsVkBackend *vk = (TsVkBackend *) be;
  TsVkStorage *s = (TsVkStorage *) storage;

  if (!check_host_access (vk, s, offset, n, error))
    return FALSE;
  if (s->mapped != NULL) {
    memcpy (s->mapped + offset, src, n);
    return TRUE;
  }
  if (n > 0 && !ensure_staging (vk, n, error))
    return FALSE;
  for (size_t done = 0; done < n;) {
    size_t chunk = MIN (n - done, vk->staging_size);
    memcpy (vk->staging_map, (const guint8 *) src + done, chunk);
    if (!staged_copy (vk, s->buffer, offset + done, chunk, FALSE, error))
      return FALSE;
    done += chunk;
  }
  return TRUE;
}

gboolean
ts_vk_storage_read (TsBackend *be, TsStorage *storage, size_t offset, void *dst, size_t n,
                    GError **error)
{
  TsVkBackend *vk = (TsVkBackend *) be;
  TsVkStorage *s = (TsVkStorage *) storage;

  if (!check_host_access (vk, s, offset, n, error))
    return FALSE;
  if (s->mapped != NULL) {
    memcpy (dst, s->mapped + offset, n);
    return TRUE;
  }
  if (n > 0 && !ensure_staging (vk, n, error))
    return FALSE;
  for (size_t done = 0; done < n;) {
    size_t chunk = MIN (n - done, vk->staging_size);
    if (!staged_copy (vk, s->buffer, offset + done, chunk, TRUE, error))
      return FALSE;
    memcpy ((guint8 *) dst + done, vk->staging_map, chunk);
    done += chunk;
  }
  return TRUE;
}

gboolean
ts_vk_bind_bytes (TsVkBackend *vk, const TsTensor *t, size_t begin, size_t end,
                  size_t elem_size, gboolean writes, TsVkBinding *binding,
                  uint32_t *elem_offset, GError **error)
{
  TsVkStorage *s = (TsVkStorage *) t->storage;
  VkDeviceSize align = vk->limits.min_storage_alignment;

  if (t->backend != &vk->base || s == NULL) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                         "Vulkan: tensor does not belong to this backend");
    return FALSE;
  }
  if (begin > end || end > s->base.size || elem_size == 0) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "Vulkan: binding [%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ") outside a %"
                 G_GSIZE_FORMAT "-byte storage", begin, end, s->base.size);
    return FALSE;
  }
  VkDeviceSize offset = begin / align * align;
  if ((begin - offset) % elem_size != 0) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "Vulkan: byte offset %" G_GSIZE_FORMAT " is not a multiple of the element "
                 "size %" G_GSIZE_FORMAT, begin, elem_size);
    return FALSE;
  }
  VkDeviceSize range = MIN (round_up (MAX (end - offset, 1), 4), s->alloc_size - offset);
  if (range > vk->limits.max_storage_range) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "Vulkan: a binding of %" G_GUINT64_FORMAT " bytes exceeds the storage-buffer "
                 "range limit (%" G_GUINT64_FORMAT " bytes); the op must split it",
                 (guint64) range, (guint64) vk->limits.max_storage_range);
    return FALSE;
  }
  binding->buffer = s->buffer;
  binding->offset = offset;
  binding->range = range;
  binding->writes = writes;
  if (elem_offset != NULL)
    *elem_offset = (uint32_t) ((begin - offset) / elem_size);
  s->last_use = vk->serial;
  return TRUE;
}

gboolean
ts_vk_bind_tensor (TsVkBackend *vk, const TsTensor *t, gboolean writes, TsVkBinding *binding,
                   uint32_t *elem_offset, GError **error)
{
  size_t es = ts_dtype_size (t->dtype);
  size_t last = 0;
  for (int i = 0; i < t->ndim; i++)
    last += (size_t) (t->shape[i] - 1) * (size_t) t->stride[i];
  return ts_vk_bind_bytes (vk, t, t->offset, t->offset + (last + 1) * es, es, writes, binding,
                           elem_offset, error);
}
