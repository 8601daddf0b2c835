/* vk-recorder.c — the command recorder: many dispatches per submit, barriers only where
 * data depends, deferred destruction, GPU timestamps.
 *
 * Dispatches go into the command buffer of the current slot; a slot is submitted after
 * max_per_submit dispatches (or enough FLOPs) so the device starts while the CPU records
 * more, and up to TS_VK_N_SLOTS are in flight. Every slot has a serial; a storage remembers
 * the serial of the last slot that bound it, so host access and destruction wait for just
 * that work.
 *
 * Barriers: the ranges read and written since the last barrier are tracked per buffer. A
 * dispatch gets one global compute→compute barrier first when it reads a range with a
 * pending write or writes a range with a pending read or write; otherwise independent
 * dispatches may overlap. The lists survive submits, so the barrier in a later command
 * buffer orders it after the earlier one. */
#include "vk-internal.h"
#include "../ts-fault.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_PER_SUBMIT  64
#define FLOPS_PER_SUBMIT    50e9
#define MAX_PENDING_RANGES  512

static gboolean
create_slot (TsVkBackend *vk, TsVkSlot *slot, GError **error)
{
  VkCommandBufferAllocateInfo ainfo = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = vk->cmd_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  VkResult r = vk->d.vkAllocateCommandBuffers (vk->device, &ainfo, &slot->cmd);
  if (!ts_vk_check (vk, r, "vkAllocateCommandBuffers", error))
    return FALSE;
  VkFenceCreateInfo finfo = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  r = vk->d.vkCreateFence (vk->device, &finfo, NULL, &slot->fence);
  if (!ts_vk_check (vk, r, "vkCreateFence", error))
    return FALSE;
  if (!vk->push_descriptors) {
    VkDescriptorPoolSize size = {
      .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = TS_VK_MAX_PER_SUBMIT * TS_VK_MAX_BINDINGS,
    };
    VkDescriptorPoolCreateInfo pinfo = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
      .maxSets = TS_VK_MAX_PER_SUBMIT,
      .poolSizeCount = 1,
      .pPoolSizes = &size,
    };
    r = vk->d.vkCreateDescriptorPool (vk->device, &pinfo, NULL, &slot->desc_pool);
    if (!ts_vk_check (vk, r, "vkCreateDescriptorPool", error))
      return FALSE;
  }
  if (vk->timestamps) {
    VkQueryPoolCreateInfo qinfo = {
      .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
      .queryType = VK_QUERY_TYPE_TIMESTAMP,
      .queryCount = TS_VK_MAX_PER_SUBMIT + 1,
    };
    r = vk->d.vkCreateQueryPool (vk->device, &qinfo, NULL, &slot->queries);
    if (!ts_vk_check (vk, r, "vkCreateQueryPool", error))
      return FALSE;
  }
  slot->tags = g_array_new (FALSE, FALSE, sizeof (TsVkQueryTag));
  slot->garbage = g_ptr_array_new ();
  return TRUE;
}

static void
free_profile_entry (gpointer p)
{
  g_free (p);
}

gboolean
ts_vk_recorder_init (TsVkBackend *vk, GError **error)
{
  VkCommandPoolCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = vk->queue_family,
  };
  vk->serial = 1;
  vk->pending_reads = g_array_new (FALSE, FALSE, sizeof (TsVkRange));
  vk->pending_writes = g_array_new (FALSE, FALSE, sizeof (TsVkRange));
  vk->profile = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, free_profile_entry);
  guint per = vk->options.dispatches_per_submit;
  vk->max_per_submit = per == 0 ? DEFAULT_PER_SUBMIT : CLAMP (per, 1, TS_VK_MAX_PER_SUBMIT);
  vk->flops_per_submit = FLOPS_PER_SUBMIT;

  VkResult r = vk->d.vkCreateCommandPool (vk->device, &info, NULL, &vk->cmd_pool);
  if (!ts_vk_check (vk, r, "vkCreateCommandPool", error))
    return FALSE;
  for (guint i = 0; i < TS_VK_N_SLOTS; i++)
    if (!create_slot (vk, &vk->slots[i], error))
      return FALSE;
  return TRUE;
}

static void
accumulate (TsVkBackend *vk, const TsVkQueryTag *tag, double seconds)
{
  TsProfileEntry *e = g_hash_table_lookup (vk->profile, tag->name);
  if (e == NULL) {
    e = g_new0 (TsProfileEntry, 1);
    e->name = tag->name;
    g_hash_table_insert (vk->profile, (gpointer) tag->name, e);
  }
  e->count += tag->count;
  e->seconds += seconds;
  e->flops += tag->flops;
  e->bytes += tag->bytes;
}

/* Timestamp i is written after dispatch i (0 before the first); each dispatch is charged
 * the time from the previous completion to its own, so overlapping work is not counted
 * twice and the entries add up to the device time. */
static void
collect_timestamps (TsVkBackend *vk, TsVkSlot *slot)
{
  guint n = slot->n_queries;
  if (n < 2)
    return;
  guint64 *ts = g_new0 (guint64, n);
  VkResult r = vk->d.vkGetQueryPoolResults (vk->device, slot->queries, 0, n, n * sizeof (guint64),
                                            ts, sizeof (guint64),
                                            VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
  if (r == VK_SUCCESS)
    for (guint i = 1; i < n; i++) {
      guint64 a = ts[i - 1] & vk->timestamp_mask, b = ts[i] & vk->timestamp_mask;
      double seconds = b > a ? (double) (b - a) * vk->timestamp_period * 1e-9 : 0.0;
      accumulate (vk, &g_array_index (slot->tags, TsVkQueryTag, i - 1), seconds);
    }
  g_free (ts);
}

static void
release_garbage (TsVkBackend *vk, TsVkSlot *slot)
{
  for (guint i = 0; i < slot->garbage->len; i++)
    ts_vk_storage_destroy (vk, g_ptr_array_index (slot->garbage, i));
  g_ptr_array_set_size (slot->garbage, 0);
}

static gboolean
wait_slot (TsVkBackend *vk, TsVkSlot *slot, GError **error)
{
  VkResult r = vk->d.vkWaitForFences (vk->device, 1, &slot->fence, VK_TRUE, UINT64_MAX);
  vk->counters.host_waits++;
  if (r == VK_SUCCESS)
    r = vk->d.vkResetFences (vk->device, 1, &slot->fence);
  if (!ts_vk_check (vk, r, "waiting for submitted work", error))
    return FALSE;
  slot->submitted = FALSE;
  collect_timestamps (vk, slot);
  slot->n_queries = 0;
  g_array_set_size (slot->tags, 0);
  release_garbage (vk, slot);
  vk->completed = MAX (vk->completed, slot->serial);
  return TRUE;
}

/* Waits for every submitted slot with a serial <= `serial`, oldest first. */
static gboolean
wait_submitted (TsVkBackend *vk, guint64 serial, GError **error)
{
  for (;;) {
    TsVkSlot *oldest = NULL;
    for (guint i = 0; i < TS_VK_N_SLOTS; i++) {
      TsVkSlot *s = &vk->slots[i];
      if (s->submitted && s->serial <= serial && (oldest == NULL || s->serial < oldest->serial))
        oldest = s;
    }
    if (oldest == NULL)
      return TRUE;
    if (!wait_slot (vk, oldest, error))
      return FALSE;
  }
}

static gboolean
begin_slot (TsVkBackend *vk, GError **error)
{
  TsVkSlot *slot = &vk->slots[vk->cur];
  if (slot->recording)
    return TRUE;
  if (slot->submitted && !wait_submitted (vk, slot->serial, error))
    return FALSE;
  if (slot->desc_pool != VK_NULL_HANDLE)
    vk->d.vkResetDescriptorPool (vk->device, slot->desc_pool, 0);
  VkCommandBufferBeginInfo info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  VkResult r = vk->d.vkBeginCommandBuffer (slot->cmd, &info);
  if (!ts_vk_check (vk, r, "vkBeginCommandBuffer", error))
    return FALSE;
  slot->recording = TRUE;
  slot->serial = vk->serial;
  slot->n_dispatches = 0;
  slot->flops = 0;
  slot->n_queries = 0;
  g_array_set_size (slot->tags, 0);
  return TRUE;
}

static void
memory_barrier (TsVkBackend *vk, VkCommandBuffer cmd, VkPipelineStageFlags dst_stage,
                VkAccessFlags dst_access)
{
  VkMemoryBarrier b = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
    .dstAccessMask = dst_access,
  };
  vk->d.vkCmdPipelineBarrier (cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, dst_stage, 0, 1, &b,
                              0, NULL, 0, NULL);
}

/* Submits the slot being recorded, if it holds anything, and moves to the next slot. */
static gboolean
submit (TsVkBackend *vk, GError **error)
{
  TsVkSlot *slot = &vk->slots[vk->cur];
  if (!slot->recording)
    return TRUE;
  /* Results written by the shaders become visible to host reads after the fence. */
  memory_barrier (vk, slot->cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  VkResult r = vk->d.vkEndCommandBuffer (slot->cmd);
  slot->recording = FALSE;
  if (r == VK_SUCCESS) {
    VkSubmitInfo info = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1,
      .pCommandBuffers = &slot->cmd,
    };
    if (ts_fault_hit (TS_FAULT_DEVICE_LOST)) {
      /* As after a real loss, nothing submitted earlier may still be running when the
       * buffers it uses are destroyed. */
      vk->d.vkQueueWaitIdle (vk->queue);
      r = VK_ERROR_DEVICE_LOST;
    } else {
      r = vk->d.vkQueueSubmit (vk->queue, 1, &info, slot->fence);
    }
  }
  if (!ts_vk_check (vk, r, "vkQueueSubmit", error)) {
    /* The work is lost; what it held may go. */
    release_garbage (vk, slot);
    vk->completed = vk->serial;
    vk->serial++;
    return FALSE;
  }
  slot->submitted = TRUE;
  vk->counters.submits++;
  vk->serial++;
  vk->cur = (vk->cur + 1) % TS_VK_N_SLOTS;
  /* Recycle the next slot now, so storages parked on it from here on wait for newer work
   * than what it last ran. */
  TsVkSlot *next = &vk->slots[vk->cur];
  return !next->submitted || wait_submitted (vk, next->serial, error);
}

gboolean
ts_vk_recorder_sync (TsVkBackend *vk, GError **error)
{
  if (!submit (vk, error))
    return FALSE;
  if (!wait_submitted (vk, G_MAXUINT64, error))
    return FALSE;
  /* Nothing is recorded or running: whatever was parked anywhere may go. */
  for (guint i = 0; i < TS_VK_N_SLOTS; i++)
    release_garbage (vk, &vk->slots[i]);
  vk->completed = vk->serial - 1;
  return TRUE;
}

gboolean
ts_vk_recorder_wait_serial (TsVkBackend *vk, guint64 serial, GError **error)
{
  if (serial <= vk->completed)
    return TRUE;
  if (serial >= vk->serial) {
    /* Bound in the slot being recorded; nothing to wait for unless it holds commands. */
    if (!vk->slots[vk->cur].recording)
      return TRUE;
    if (!submit (vk, error))
      return FALSE;
  }
  return wait_submitted (vk, serial, error);
}

void
ts_vk_recorder_release (TsVkBackend *vk, TsVkStorage *s)
{
  gboolean in_use = s->last_use > vk->completed &&
                    (s->last_use < vk->serial || vk->slots[vk->cur].recording);
  if (in_use)
    g_ptr_array_add (vk->slots[vk->cur].garbage, s);
  else
    ts_vk_storage_destroy (vk, s);
}

static gboolean
ranges_overlap (const TsVkRange *r, VkBuffer buffer, VkDeviceSize begin, VkDeviceSize end)
{
  return r->buffer == buffer && r->begin < end && begin < r->end;
}

static gboolean
overlaps_any (GArray *ranges, const TsVkBinding *b)
{
  for (guint i = 0; i < ranges->len; i++)
    if (ranges_overlap (&g_array_index (ranges, TsVkRange, i), b->buffer, b->offset,
                        b->offset + b->range))
      return TRUE;
  return FALSE;
}

/* Inserts a barrier before a dispatch with these bindings when it depends on pending work,
 * then records the dispatch's own accesses as pending. */
static void
order_accesses (TsVkBackend *vk, VkCommandBuffer cmd, const TsVkBinding *bindings, guint n)
{
  gboolean hazard = vk->pending_reads->len + vk->pending_writes->len > MAX_PENDING_RANGES;
  for (guint i = 0; i < n && !hazard; i++)
    hazard = overlaps_any (vk->pending_writes, &bindings[i]) ||
             (bindings[i].writes && overlaps_any (vk->pending_reads, &bindings[i]));
  if (hazard) {
    memory_barrier (vk, cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    g_array_set_size (vk->pending_reads, 0);
    g_array_set_size (vk->pending_writes, 0);
    vk->counters.barriers++;
  }
  for (guint i = 0; i < n; i++) {
    TsVkRange r = { bindings[i].buffer, bindings[i].offset, bindings[i].offset + bindings[i].range };
    g_array_append_val (bindings[i].writes ? vk->pending_writes : vk->pending_reads, r);
  }
}

static gboolean
check_dispatch (TsVkBackend *vk, const TsVkKernel *kernel, const char *name,
                guint n_spec, const TsVkBinding *bindings, guint n_bindings, size_t push_size,
                const uint32_t groups[3], GError **error)
{
  if (vk->lost) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_DEVICE, TS_VK_LOST_MESSAGE);
    return FALSE;
  }
  /* The sizes the module declares (tools/embed-spirv.py read them): a push struct or a
   * spec list out of step with its shader is caught here, not by reading garbage. */
  if (push_size != kernel->push_size || n_spec > kernel->n_spec) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "Vulkan: kernel '%s' dispatched with %" G_GSIZE_FORMAT " bytes of push "
                 "constants and %u specialisation constants; its module takes %u bytes and "
                 "at most %u constants", name, push_size, n_spec, kernel->push_size,
                 kernel->n_spec);
    return FALSE;
  }
  if (n_bindings > TS_VK_MAX_BINDINGS || push_size > TS_VK_PUSH_SIZE || push_size % 4 != 0) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "Vulkan: kernel '%s' dispatched with %u bindings (at most %d) and %"
                 G_GSIZE_FORMAT " bytes of push constants (a multiple of 4, at most %d)",
                 name, n_bindings, TS_VK_MAX_BINDINGS, push_size, TS_VK_PUSH_SIZE);
    return FALSE;
  }
  for (int i = 0; i < 3; i++)
    if (groups[i] > vk->limits.max_workgroup_count[i]) {
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                   "Vulkan: kernel '%s' dispatched with %u workgroups in dimension %d "
                   "(device limit %u)", name, groups[i], i, vk->limits.max_workgroup_count[i]);
      return FALSE;
    }
  for (guint i = 0; i < n_bindings; i++) {
    const TsVkBinding *b = &bindings[i];
    TsVkStorage *s = ts_vk_storage_of_buffer (vk, b->buffer);
    if (s == NULL || b->range == 0 || b->offset % vk->limits.min_storage_alignment != 0 ||
        b->range > vk->limits.max_storage_range || b->offset + b->range > s->alloc_size) {
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                   "Vulkan: kernel '%s' binding %u is not a valid range of a live buffer",
                   name, i);
      return FALSE;
    }
  }
  return TRUE;
}

static void
write_timestamp (TsVkBackend *vk, TsVkSlot *slot)
{
  vk->d.vkCmdWriteTimestamp (slot->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, slot->queries,
                             slot->n_queries++);
}

static void
bind_descriptors (TsVkBackend *vk, TsVkSlot *slot, const TsVkBinding *bindings, guint n,
                  VkDescriptorSet set)
{
  VkDescriptorBufferInfo infos[TS_VK_MAX_BINDINGS];
  VkWriteDescriptorSet writes[TS_VK_MAX_BINDINGS];
  for (guint i = 0; i < n; i++) {
    infos[i] = (VkDescriptorBufferInfo) { bindings[i].buffer, bindings[i].offset, bindings[i].range };
    writes[i] = (VkWriteDescriptorSet) {
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
      .dstSet = set,
      .dstBinding = i,
      .descriptorCount = 1,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .pBufferInfo = &infos[i],
    };
  }
  if (vk->push_descriptors) {
    vk->d.vkCmdPushDescriptorSetKHR (slot->cmd, VK_PIPELINE_BIND_POINT_COMPUTE,
                                     vk->pipeline_layout, 0, n, writes);
  } else {
    vk->d.vkUpdateDescriptorSets (vk->device, n, writes, 0, NULL);
    vk->d.vkCmdBindDescriptorSets (slot->cmd, VK_PIPELINE_BIND_POINT_COMPUTE,
                                   vk->pipeline_layout, 0, 1, &set, 0, NULL);
  }
}

static TsVkQueryTag
make_tag (TsVkBackend *vk, const TsVkKernel *kernel, double flops, double bytes)
{
  TsVkQueryTag tag = { kernel->name, 1, flops, bytes };
  if (vk->op_name != NULL) {
    tag.name = vk->op_name;
    tag.count = vk->op_started ? 0 : 1;
    tag.flops = vk->op_started ? 0 : vk->op_flops;
    tag.bytes = vk->op_started ? 0 : vk->op_bytes;
  }
  return tag;
}

static gboolean
record (TsVkBackend *vk, const TsVkKernel *kernel, VkPipeline pipeline,
        const TsVkBinding *bindings, guint n_bindings, const void *push, size_t push_size,
        const uint32_t groups[3], const TsVkQueryTag *tag, GError **error)
{
  if (!begin_slot (vk, error))
    return FALSE;
  TsVkSlot *slot = &vk->slots[vk->cur];
  VkDescriptorSet set = VK_NULL_HANDLE;
  if (!vk->push_descriptors) {
    VkDescriptorSetAllocateInfo info = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = slot->desc_pool,
      .descriptorSetCount = 1,
      .pSetLayouts = &vk->set_layout,
    };
    VkResult r = vk->d.vkAllocateDescriptorSets (vk->device, &info, &set);
    if (!ts_vk_check (vk, r, "vkAllocateDescriptorSets", error))
      return FALSE;
  }
  gboolean timed = vk->base.profiling && vk->timestamps;
  if (timed && slot->n_queries == 0) {
    vk->d.vkCmdResetQueryPool (slot->cmd, slot->queries, 0, TS_VK_MAX_PER_SUBMIT + 1);
    write_timestamp (vk, slot);
  }

  order_accesses (vk, slot->cmd, bindings, n_bindings);
  /* Binding again records the use in this slot even if a flush came after ts_vk_bind_*. */
  for (guint i = 0; i < n_bindings; i++)
    ts_vk_storage_of_buffer (vk, bindings[i].buffer)->last_use = vk->serial;

  guint8 pc[TS_VK_PUSH_SIZE] = { 0 };
  if (push_size > 0)
    memcpy (pc, push, push_size);
  vk->d.vkCmdBindPipeline (slot->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  if (n_bindings > 0)
    bind_descriptors (vk, slot, bindings, n_bindings, set);
  vk->d.vkCmdPushConstants (slot->cmd, vk->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                            TS_VK_PUSH_SIZE, pc);
  vk->d.vkCmdDispatch (slot->cmd, groups[0], groups[1], groups[2]);

  if (timed) {
    write_timestamp (vk, slot);
    g_array_append_val (slot->tags, *tag);
  }
  slot->n_dispatches++;
  vk->counters.dispatches++;
  return TRUE;
}

gboolean
ts_vk_dispatch (TsVkBackend *vk, TsVkKernelId kernel_id, const uint32_t *spec, guint n_spec,
                const TsVkBinding *bindings, guint n_bindings, const void *push,
                size_t push_size, uint32_t groups_x, uint32_t groups_y, uint32_t groups_z,
                double flops, double bytes, GError **error)
{
  if ((unsigned) kernel_id >= TS_VK_KERNEL_COUNT) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "Vulkan: no kernel with id %d",
                 (int) kernel_id);
    return FALSE;
  }
  const TsVkKernel *kernel = &ts_vk_kernels[kernel_id];
  const uint32_t groups[3] = { groups_x, groups_y, groups_z };

  if (!check_dispatch (vk, kernel, kernel->name, n_spec, bindings, n_bindings, push_size, groups,
                       error))
    return FALSE;
  if (groups_x == 0 || groups_y == 0 || groups_z == 0)
    return TRUE;
  VkPipeline pipeline = ts_vk_pipeline_get (vk, kernel, spec, n_spec, error);
  if (pipeline == VK_NULL_HANDLE)
    return FALSE;

  TsVkQueryTag tag = make_tag (vk, kernel, flops, bytes);
  gboolean wall_clock = vk->base.profiling && !vk->timestamps;
  gint64 t0 = 0;
  /* Without timestamps, profiling times each dispatch alone, from the host. */
  if (wall_clock) {
    if (!ts_vk_recorder_sync (vk, error))
      return FALSE;
    t0 = g_get_monotonic_time ();
  }
  if (!record (vk, kernel, pipeline, bindings, n_bindings, push, push_size, groups, &tag, error))
    return FALSE;
  vk->op_started = TRUE;
  TsVkSlot *slot = &vk->slots[vk->cur];
  slot->flops += flops;
  if (wall_clock) {
    if (!ts_vk_recorder_sync (vk, error))
      return FALSE;
    accumulate (vk, &tag, (g_get_monotonic_time () - t0) * 1e-6);
    return TRUE;
  }
  if (slot->n_dispatches >= vk->max_per_submit || slot->flops >= vk->flops_per_submit)
    return submit (vk, error);
  return TRUE;
}

TsTensor *
ts_vk_scratch (TsVkBackend *vk, TsDType dtype, int ndim, const int64_t *shape, GError **error)
{
  /* The front-end reports failures through the sticky error; move it to the caller. */
  gboolean had_error = ts_backend_has_error (&vk->base);
  TsTensor *t = ts_tensor_new_uninit (&vk->base, dtype, ndim, shape);
  if (t == NULL && (had_error || !ts_backend_take_error (&vk->base, error)))
    g_set_error_literal (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY,
                         "Vulkan: scratch allocation failed");
  return t;
}

void
ts_vk_recorder_end_op (TsVkBackend *vk)
{
  vk->op_name = NULL;
  vk->op_started = FALSE;
}

void
ts_vk_grid_1d (TsVkBackend *vk, uint64_t n_groups, uint32_t grid[3])
{
  const uint32_t *max = vk->limits.max_workgroup_count;
  grid[0] = (uint32_t) MIN (MAX (n_groups, 1), max[0]);
  uint64_t rest = (MAX (n_groups, 1) + grid[0] - 1) / grid[0];
  grid[1] = (uint32_t) MIN (rest, max[1]);
  grid[2] = (uint32_t) MIN ((rest + grid[1] - 1) / grid[1], max[2]);
}

gboolean
ts_vk_dispatch_linear (TsVkBackend *vk, TsVkKernelId kernel, const uint32_t *spec,
                       guint n_spec, const TsVkBinding *bindings, guint n_bindings,
                       const void *push, size_t push_size, uint64_t n_groups,
                       double flops, double bytes, GError **error)
{
  uint32_t grid[3];
  ts_vk_grid_1d (vk, n_groups, grid);
  return ts_vk_dispatch (vk, kernel, spec, n_spec, bindings, n_bindings, push, push_size,
                         grid[0], grid[1], grid[2], flops, bytes, error);
}

void
ts_vk_recorder_set_profiling (TsVkBackend *vk, gboolean enabled)
{
  vk->base.profiling = enabled;
}

static gint
by_time (gconstpointer a, gconstpointer b)
{
  const TsProfileEntry *x = a, *y = b;
  return (x->seconds < y->seconds) - (x->seconds > y->seconds);
}

TsProfileEntry *
ts_vk_recorder_profile (TsVkBackend *vk, guint *n)
{
  GError *err = NULL;
  if (!ts_vk_recorder_sync (vk, &err))
    ts_backend_propagate_error (&vk->base, err);
  *n = g_hash_table_size (vk->profile);
  TsProfileEntry *out = g_new0 (TsProfileEntry, MAX (*n, 1));
  GHashTableIter it;
  gpointer value;
  guint i = 0;
  g_hash_table_iter_init (&it, vk->profile);
  while (g_hash_table_iter_next (&it, NULL, &value))
    out[i++] = *(TsProfileEntry *) value;
  qsort (out, *n, sizeof *out, (int (*) (const void *, const void *)) by_time);
  return out;
}

void
ts_vk_recorder_profile_reset (TsVkBackend *vk)
{
  GError *err = NULL;
  /* Drop timestamps still in flight so they are not charged to the new period. */
  if (!ts_vk_recorder_sync (vk, &err))
    ts_backend_propagate_error (&vk->base, err);
  g_hash_table_remove_all (vk->profile);
}

void
ts_vk_recorder_destroy (TsVkBackend *vk)
{
  if (vk->device == VK_NULL_HANDLE)
    return;
  if (vk->cmd_pool != VK_NULL_HANDLE) {
    GError *err = NULL;
    if (!ts_vk_recorder_sync (vk, &err)) {
      g_debug ("Vulkan teardown: %s", err->message);
      g_error_free (err);
      vk->d.vkDeviceWaitIdle (vk->device);
      for (guint i = 0; i < TS_VK_N_SLOTS; i++)
        release_garbage (vk, &vk->slots[i]);
    }
  }
  for (guint i = 0; i < TS_VK_N_SLOTS; i++) {
    TsVkSlot *s = &vk->slots[i];
    if (s->fence != VK_NULL_HANDLE)
      vk->d.vkDestroyFence (vk->device, s->fence, NULL);
    if (s->desc_pool != VK_NULL_HANDLE)
      vk->d.vkDestroyDescriptorPool (vk->device, s->desc_pool, NULL);
    if (s->queries != VK_NULL_HANDLE)
      vk->d.vkDestroyQueryPool (vk->device, s->queries, NULL);
    g_clear_pointer (&s->tags, g_array_unref);
    g_clear_pointer (&s->garbage, g_ptr_array_unref);
  }
  if (vk->cmd_pool != VK_NULL_HANDLE)
    vk->d.vkDestroyCommandPool (vk->device, vk->cmd_pool, NULL);
  vk->cmd_pool = VK_NULL_HANDLE;
  g_clear_pointer (&vk->pending_reads, g_array_unref);
  g_clear_pointer (&vk->pending_writes, g_array_unref);
  g_clear_pointer (&vk->profile, g_hash_table_unref);
}
