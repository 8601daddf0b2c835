/* vk-backend.c — the Vulkan TsBackendClass: setup, teardown and the kernel table. */
#include "vk-internal.h"
#include "vk-ops.h"

static gboolean
vk_begin_op (TsBackend *be, const TsOp *op, GError **error)
{
  TsVkBackend *vk = (TsVkBackend *) be;
  if (vk->lost) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_DEVICE, TS_VK_LOST_MESSAGE);
    return FALSE;
  }
  if (be->profiling) {
    vk->op_name = ts_op_name (op->kind);
    vk->op_flops = ts_op_flops (op);
    vk->op_bytes = ts_op_bytes (op);
    vk->op_started = FALSE;
  }
  return TRUE;
}

static void
vk_end_op (TsBackend *be, const TsOp *op)
{
  ts_vk_recorder_end_op ((TsVkBackend *) be);
}

/* The op files take the Vulkan backend itself; the table takes the generic kernel type. */
#define VK_KERNEL(fn) \
  static gboolean fn##_kernel (TsBackend *be, const TsOp *op, GError **error) \
  { return fn ((TsVkBackend *) be, op, error); }
VK_KERNEL (ts_vk_op_elementwise)
VK_KERNEL (ts_vk_op_norm)
VK_KERNEL (ts_vk_op_layout)
VK_KERNEL (ts_vk_op_matmul)
VK_KERNEL (ts_vk_op_attention)
VK_KERNEL (ts_vk_op_conv)
VK_KERNEL (ts_vk_op_nearest_code)
#undef VK_KERNEL

static const TsOpKernel vk_kernels[TS_OP_COUNT] = {
  [TS_OP_ADD] = ts_vk_op_elementwise_kernel,
  [TS_OP_MUL] = ts_vk_op_elementwise_kernel,
  [TS_OP_SCALE] = ts_vk_op_elementwise_kernel,
  [TS_OP_SILU] = ts_vk_op_elementwise_kernel,
  [TS_OP_GELU] = ts_vk_op_elementwise_kernel,
  [TS_OP_QUICK_GELU] = ts_vk_op_elementwise_kernel,
  [TS_OP_GEGLU] = ts_vk_op_elementwise_kernel,
  [TS_OP_SOFTMAX] = ts_vk_op_norm_kernel,
  [TS_OP_LAYER_NORM] = ts_vk_op_norm_kernel,
  [TS_OP_RMS_NORM] = ts_vk_op_norm_kernel,
  [TS_OP_GROUP_NORM] = ts_vk_op_norm_kernel,
  [TS_OP_GRN] = ts_vk_op_norm_kernel,
  [TS_OP_COPY] = ts_vk_op_layout_kernel,
  [TS_OP_FILL] = ts_vk_op_layout_kernel,
  [TS_OP_UPSAMPLE_NEAREST_2X] = ts_vk_op_layout_kernel,
  [TS_OP_EMBEDDING] = ts_vk_op_layout_kernel,
  [TS_OP_MATMUL] = ts_vk_op_matmul_kernel,
  [TS_OP_ATTENTION] = ts_vk_op_attention_kernel,
  [TS_OP_CONV2D] = ts_vk_op_conv_kernel,
  [TS_OP_CONV_TRANSPOSE_2X2] = ts_vk_op_conv_kernel,
  [TS_OP_NEAREST_CODE] = ts_vk_op_nearest_code_kernel,
};

static gboolean
vk_sync (TsBackend *be, GError **error)
{
  return ts_vk_recorder_sync ((TsVkBackend *) be, error);
}

static char *
vk_describe (TsBackend *be)
{
  return ts_vk_device_describe ((TsVkBackend *) be);
}

static void
vk_set_profiling (TsBackend *be, gboolean enabled)
{
  ts_vk_recorder_set_profiling ((TsVkBackend *) be, enabled);
}

static TsProfileEntry *
vk_profile (TsBackend *be, guint *n)
{
  return ts_vk_recorder_profile ((TsVkBackend *) be, n);
}

static void
vk_profile_reset (TsBackend *be)
{
  ts_vk_recorder_profile_reset ((TsVkBackend *) be);
}

/* Tears down whatever part of the backend was set up. */
static void
vk_destroy (TsBackend *be)
{
  TsVkBackend *vk = (TsVkBackend *) be;

  if (vk->device != VK_NULL_HANDLE) {
    if (vk->cmd_pool != VK_NULL_HANDLE) {
      GError *err = NULL;
      if (!ts_vk_recorder_sync (vk, &err)) {
        g_debug ("Vulkan teardown: %s", err->message);
        g_error_free (err);
      }
    }
    vk->d.vkDeviceWaitIdle (vk->device);
    if (vk->buffers != NULL) {
      /* Tensors must not outlive their backend; free what a caller leaked. */
      GList *left = g_hash_table_get_values (vk->buffers);
      for (GList *l = left; l != NULL; l = l->next)
        ts_vk_storage_destroy (vk, l->data);
      g_list_free (left);
    }
  }
  ts_vk_pipelines_destroy (vk);
  ts_vk_recorder_destroy (vk);
  ts_vk_memory_destroy (vk);
  ts_vk_device_destroy (vk);
  ts_backend_finalize_base (be);
  g_free (vk);
}

static gboolean
vk_is_lost (TsBackend *be)
{
  return ((TsVkBackend *) be)->lost;
}

static const TsBackendClass vk_class = {
  .name = "vulkan",
  .destroy = vk_destroy,
  .describe = vk_describe,
  .storage_new = ts_vk_storage_new,
  .storage_free = ts_vk_storage_free,
  .storage_wrap = NULL,
  .storage_write = ts_vk_storage_write,
  .storage_read = ts_vk_storage_read,
  .sync = vk_sync,
  .kernels = vk_kernels,
  .begin_op = vk_begin_op,
  .end_op = vk_end_op,
  .set_profiling = vk_set_profiling,
  .profile = vk_profile,
  .profile_reset = vk_profile_reset,
  .measure_peak = ts_vk_measure_peak,
  .is_lost = vk_is_lost,
};

TsBackend *
ts_vulkan_backend_new (int device_index, gboolean allow_cpu_device, GError **error)
{
  TsVkOptions options;
  ts_vk_options_from_env (&options);
  return ts_vk_backend_new_with_options (device_index, allow_cpu_device, &options, error);
}

TsBackend *
ts_vk_backend_new_with_options (int device_index, gboolean allow_cpu_device,
                                const TsVkOptions *options, GError **error)
{
  TsVkBackend *vk = g_try_new0 (TsVkBackend, 1);
  if (vk == NULL) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of host memory");
    return NULL;
  }
  if (options != NULL)
    vk->options = *options; /* the device, memory and recorder set-up below read them */
  /* A class per backend, so ts_backend_name gives the device's name. */
  vk->klass = vk_class;
  ts_backend_init_base (&vk->base, &vk->klass, TS_BACKEND_VULKAN);
  if (!ts_vk_device_init (vk, device_index, allow_cpu_device, error) ||
      !ts_vk_memory_init (vk, error) ||
      !ts_vk_recorder_init (vk, error) ||
      !ts_vk_pipelines_init (vk, error)) {
    vk_destroy (&vk->base);
    return NULL;
  }
  vk->klass.name = vk->name;
  vk->base.mem_budget = vk->options.set_memory_budget ? vk->options.memory_budget
                                                     : ts_vk_device_default_budget (vk);
  return &vk->base;
}

TsVkBackend *
ts_vk_backend_from (TsBackend *be)
{
  return be != NULL && be->klass->destroy == vk_destroy ? (TsVkBackend *) be : NULL;
}

const TsVkLimits *
ts_vk_limits (TsVkBackend *vk)
{
  return &vk->limits;
}

const TsVkOptions *
ts_vk_options (TsVkBackend *vk)
{
  return &vk->options;
}

void
ts_vk_get_counters (TsVkBackend *vk, TsVkCounters *counters)
{
  *counters = vk->counters;
}

gboolean
ts_vk_pipeline_cache_loaded (TsVkBackend *vk)
{
  return vk->pipeline_cache_loaded;
}
