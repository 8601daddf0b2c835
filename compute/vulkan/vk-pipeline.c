/* vk-pipeline.c — compute pipelines, created on first use and cached on disk.
 *
 * Every pipeline shares one layout: TS_VK_MAX_BINDINGS storage buffers (pushed with
 * VK_KHR_push_descriptor when the device has it) and 128 bytes of push constants. A
 * pipeline is keyed by its kernel and specialisation constants. The VkPipelineCache is
 * stored under $XDG_CACHE_HOME/tessera/vk-pipelines/ in a file named after the device, and
 * its header is checked before the driver sees it. */
#include "vk-internal.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const TsVkKernel *kernel;
  guint             n_spec;
  uint32_t          spec[TS_VK_MAX_SPEC];
} PipelineKey;

typedef struct {
  PipelineKey key;
  VkPipeline  pipeline;
} PipelineEntry;

static guint
key_hash (gconstpointer p)
{
  const PipelineKey *k = p;
  guint h = g_direct_hash (k->kernel) ^ (k->n_spec * 0x9e3779b9u);
  for (guint i = 0; i < k->n_spec; i++)
    h = (h ^ k->spec[i]) * 16777619u;
  return h;
}

static gboolean
key_equal (gconstpointer a, gconstpointer b)
{
  const PipelineKey *x = a, *y = b;
  return x->kernel == y->kernel && x->n_spec == y->n_spec &&
         memcmp (x->spec, y->spec, x->n_spec * sizeof (uint32_t)) == 0;
}

/* The header every VkPipelineCache blob starts with (VkPipelineCacheHeaderVersionOne). */
static gboolean
cache_header_matches (TsVkBackend *vk, const guint8 *data, gsize size)
{
  VkPipelineCacheHeaderVersionOne h;
  if (size < sizeof h)
    return FALSE;
  memcpy (&h, data, sizeof h);
  return h.headerSize >= sizeof h && h.headerSize <= size &&
         h.headerVersion == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
         h.vendorID == vk->props.vendorID && h.deviceID == vk->props.deviceID &&
         memcmp (h.pipelineCacheUUID, vk->props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

static char *
cache_path (TsVkBackend *vk)
{
  if (vk->options.no_pipeline_cache)
    return NULL;
  GString *name = g_string_new (NULL);
  g_string_append_printf (name, "%04x-%04x-", vk->props.vendorID, vk->props.deviceID);
  for (guint i = 0; i < VK_UUID_SIZE; i++)
    g_string_append_printf (name, "%02x", vk->props.pipelineCacheUUID[i]);
  g_string_append (name, ".bin");
  char *path = g_build_filename (g_get_user_cache_dir (), "tessera", "vk-pipelines", name->str,
                                 NULL);
  g_string_free (name, TRUE);
  return path;
}

static gboolean
create_pipeline_cache (TsVkBackend *vk, GError **error)
{
  g_autofree guint8 *data = NULL;
  gsize size = 0;

  vk->pipeline_cache_path = cache_path (vk);
  if (vk->pipeline_cache_path != NULL &&
      g_file_get_contents (vk->pipeline_cache_path, (char **) &data, &size, NULL) &&
      !cache_header_matches (vk, data, size)) {
    g_debug ("ignoring pipeline cache %s: not one of this device and driver",
             vk->pipeline_cache_path);
    size = 0;
  }
  VkPipelineCacheCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
    .initialDataSize = size,
    .pInitialData = size > 0 ? data : NULL,
  };
  VkResult r = vk->d.vkCreatePipelineCache (vk->device, &info, NULL, &vk->pipeline_cache);
  if (r != VK_SUCCESS && size > 0) {
    /* A driver may still reject a blob whose header looked right; start empty. */
    info.initialDataSize = 0;
    info.pInitialData = NULL;
    size = 0;
    r = vk->d.vkCreatePipelineCache (vk->device, &info, NULL, &vk->pipeline_cache);
  }
  vk->pipeline_cache_loaded = size > 0;
  return ts_vk_check (vk, r, "vkCreatePipelineCache", error);
}

gboolean
ts_vk_pipelines_init (TsVkBackend *vk, GError **error)
{
  g_mutex_init (&vk->pipeline_lock);
  vk->pipelines = g_hash_table_new_full (key_hash, key_equal, NULL, g_free);

  VkDescriptorSetLayoutBinding bindings[TS_VK_MAX_BINDINGS];
  for (guint i = 0; i < TS_VK_MAX_BINDINGS; i++)
    bindings[i] = (VkDescriptorSetLayoutBinding) {
      .binding = i,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo sinfo = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
    .flags = vk->push_descriptors ? VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR : 0,
    .bindingCount = TS_VK_MAX_BINDINGS,
    .pBindings = bindings,
  };
  VkResult r = vk->d.vkCreateDescriptorSetLayout (vk->device, &sinfo, NULL, &vk->set_layout);
  if (!ts_vk_check (vk, r, "vkCreateDescriptorSetLayout", error))
    return FALSE;

  VkPushConstantRange push = {
    .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = TS_VK_PUSH_SIZE,
  };
  VkPipelineLayoutCreateInfo linfo = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
    .setLayoutCount = 1,
    .pSetLayouts = &vk->set_layout,
    .pushConstantRangeCount = 1,
    .pPushConstantRanges = &push,
  };
  r = vk->d.vkCreatePipelineLayout (vk->device, &linfo, NULL, &vk->pipeline_layout);
  if (!ts_vk_check (vk, r, "vkCreatePipelineLayout", error))
    return FALSE;
  return create_pipeline_cache (vk, error);
}

gboolean
ts_vk_pipeline_cache_save (TsVkBackend *vk, GError **error)
{
  size_t size = 0;
  if (vk->pipeline_cache_path == NULL || vk->pipeline_cache == VK_NULL_HANDLE ||
      vk->pipelines_since_save == 0)
    return TRUE;
  VkResult r = vk->d.vkGetPipelineCacheData (vk->device, vk->pipeline_cache, &size, NULL);
  if (!ts_vk_check (vk, r, "vkGetPipelineCacheData", error))
    return FALSE;
  g_autofree guint8 *data = g_try_malloc (MAX (size, 1));
  if (data == NULL) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of host memory");
    return FALSE;
  }
  r = vk->d.vkGetPipelineCacheData (vk->device, vk->pipeline_cache, &size, data);
  if (!ts_vk_check (vk, r, "vkGetPipelineCacheData", error))
    return FALSE;
  g_autofree char *dir = g_path_get_dirname (vk->pipeline_cache_path);
  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, TS_ERROR, TS_ERROR_IO, "cannot create %s: %s", dir,
                 g_strerror (errno));
    return FALSE;
  }
  if (!g_file_set_contents (vk->pipeline_cache_path, (const char *) data, (gssize) size, error))
    return FALSE;
  vk->pipelines_since_save = 0;
  return TRUE;
}

void
ts_vk_pipelines_destroy (TsVkBackend *vk)
{
  if (vk->device == VK_NULL_HANDLE)
    return;
  if (vk->pipelines != NULL) {
    GError *err = NULL;
    if (!ts_vk_pipeline_cache_save (vk, &err)) {
      g_debug ("pipeline cache not saved: %s", err->message);
      g_error_free (err);
    }
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init (&it, vk->pipelines);
    while (g_hash_table_iter_next (&it, NULL, &value))
      vk->d.vkDestroyPipeline (vk->device, ((PipelineEntry *) value)->pipeline, NULL);
    g_clear_pointer (&vk->pipelines, g_hash_table_unref);
    g_mutex_clear (&vk->pipeline_lock);
  }
  if (vk->pipeline_cache != VK_NULL_HANDLE)
    vk->d.vkDestroyPipelineCache (vk->device, vk->pipeline_cache, NULL);
  if (vk->pipeline_layout != VK_NULL_HANDLE)
    vk->d.vkDestroyPipelineLayout (vk->device, vk->pipeline_layout, NULL);
  if (vk->set_layout != VK_NULL_HANDLE)
    vk->d.vkDestroyDescriptorSetLayout (vk->device, vk->set_layout, NULL);
  vk->pipeline_cache = VK_NULL_HANDLE;
  vk->pipeline_layout = VK_NULL_HANDLE;
  vk->set_layout = VK_NULL_HANDLE;
  g_clear_pointer (&vk->pipeline_cache_path, g_free);
}

static VkPipeline
create_pipeline (TsVkBackend *vk, const PipelineKey *key, GError **error)
{
  const TsVkKernel *kernel = key->kernel;
  VkShaderModuleCreateInfo minfo = {
    .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
    .codeSize = kernel->size,
    .pCode = kernel->code,
  };
  VkShaderModule module;
  VkResult r = vk->d.vkCreateShaderModule (vk->device, &minfo, NULL, &module);
  if (!ts_vk_check (vk, r, "vkCreateShaderModule", error))
    return VK_NULL_HANDLE;

  VkSpecializationMapEntry entries[TS_VK_MAX_SPEC];
  for (guint i = 0; i < key->n_spec; i++)
    entries[i] = (VkSpecializationMapEntry) {
      .constantID = i, .offset = i * sizeof (uint32_t), .size = sizeof (uint32_t),
    };
  VkSpecializationInfo spec = {
    .mapEntryCount = key->n_spec,
    .pMapEntries = entries,
    .dataSize = key->n_spec * sizeof (uint32_t),
    .pData = key->spec,
  };
  VkComputePipelineCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
    .stage = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
      .module = module,
      .pName = "main",
      .pSpecializationInfo = key->n_spec > 0 ? &spec : NULL,
    },
    .layout = vk->pipeline_layout,
  };
  VkPipeline pipeline = VK_NULL_HANDLE;
  r = vk->d.vkCreateComputePipelines (vk->device, vk->pipeline_cache, 1, &info, NULL, &pipeline);
  vk->d.vkDestroyShaderModule (vk->device, module, NULL);
  if (r != VK_SUCCESS) {
    g_autofree char *what = g_strdup_printf ("creating the pipeline for kernel '%s'", kernel->name);
    ts_vk_check (vk, r, what, error);
    return VK_NULL_HANDLE;
  }
  return pipeline;
}

VkPipeline
ts_vk_pipeline_get (TsVkBackend *vk, const TsVkKernel *kernel, const uint32_t *spec,
                    guint n_spec, GError **error)
{
  PipelineKey key = { .kernel = kernel, .n_spec = n_spec };
  if (n_spec > TS_VK_MAX_SPEC) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "Vulkan: kernel '%s' given %u specialisation constants (at most %d)",
                 kernel->name, n_spec, TS_VK_MAX_SPEC);
    return VK_NULL_HANDLE;
  }
  if (n_spec > 0)
    memcpy (key.spec, spec, n_spec * sizeof (uint32_t));

  g_mutex_lock (&vk->pipeline_lock);
  PipelineEntry *e = g_hash_table_lookup (vk->pipelines, &key);
  VkPipeline pipeline = e != NULL ? e->pipeline : VK_NULL_HANDLE;
  if (pipeline == VK_NULL_HANDLE) {
    pipeline = create_pipeline (vk, &key, error);
    if (pipeline != VK_NULL_HANDLE) {
      e = g_new (PipelineEntry, 1);
      e->key = key;
      e->pipeline = pipeline;
      g_hash_table_add (vk->pipelines, e);
      vk->pipelines_since_save++;
      vk->counters.pipelines_created++;
    }
  }
  g_mutex_unlock (&vk->pipeline_lock);
  return pipeline;
}

const char *
ts_vk_pipeline_cache_path (TsVkBackend *vk)
{
  return vk->pipeline_cache_path;
}
