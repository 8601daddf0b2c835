/* vk-device.c — loader, instance, device choice and capability probing.
 *
 * volk dlopens the Vulkan loader at run time, so libtessera starts (and falls back to the
 * CPU backend) on machines without libvulkan. Device functions go through a per-backend
 * VolkDeviceTable so two backends on different devices never share function pointers. */
#include "vk-internal.h"
#include "vk-coopmat.h"

#include <stdio.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define TS_VK_PIN_LIBRARIES 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TS_VK_PIN_LIBRARIES 1
#endif
#endif

#ifdef TS_VK_PIN_LIBRARIES
#include <dlfcn.h>
#include <link.h>

static int
pin_library (struct dl_phdr_info *info, size_t size, void *data)
{
  if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0')
    dlopen (info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
  return 0;
}

/* Sanitizer builds only: LeakSanitizer reports at exit, after the Vulkan loader has unloaded
 * the driver and layers, whose frames would then read "<unknown module>" and no suppression
 * (tests/lsan.supp) could name them. Keep every library loaded so far for good. */
static void
pin_loaded_libraries (void)
{
  dl_iterate_phdr (pin_library, NULL);
}
#else
static void
pin_loaded_libraries (void)
{
}
#endif

static gint validation_messages;

guint
ts_vk_validation_message_count (void)
{
  return (guint) g_atomic_int_get (&validation_messages);
}

gboolean
ts_vk_validation_active (TsVkBackend *vk)
{
  return vk->validation;
}

const char *
ts_vk_result_string (VkResult result)
{
  switch (result) {
#define CASE(x) case x: return #x
  CASE (VK_SUCCESS);
  CASE (VK_NOT_READY);
  CASE (VK_TIMEOUT);
  CASE (VK_INCOMPLETE);
  CASE (VK_ERROR_OUT_OF_HOST_MEMORY);
  CASE (VK_ERROR_OUT_OF_DEVICE_MEMORY);
  CASE (VK_ERROR_INITIALIZATION_FAILED);
  CASE (VK_ERROR_DEVICE_LOST);
  CASE (VK_ERROR_MEMORY_MAP_FAILED);
  CASE (VK_ERROR_LAYER_NOT_PRESENT);
  CASE (VK_ERROR_EXTENSION_NOT_PRESENT);
  CASE (VK_ERROR_FEATURE_NOT_PRESENT);
  CASE (VK_ERROR_INCOMPATIBLE_DRIVER);
  CASE (VK_ERROR_TOO_MANY_OBJECTS);
  CASE (VK_ERROR_FORMAT_NOT_SUPPORTED);
  CASE (VK_ERROR_FRAGMENTED_POOL);
  CASE (VK_ERROR_OUT_OF_POOL_MEMORY);
  CASE (VK_ERROR_INVALID_EXTERNAL_HANDLE);
  CASE (VK_ERROR_FRAGMENTATION);
  CASE (VK_PIPELINE_COMPILE_REQUIRED);
#undef CASE
  default: return "VkResult error";
  }
}

gboolean
ts_vk_check (TsVkBackend *vk, VkResult result, const char *what, GError **error)
{
  if (result == VK_SUCCESS)
    return TRUE;
  int code = TS_ERROR_DEVICE;
  if (result == VK_ERROR_OUT_OF_HOST_MEMORY || result == VK_ERROR_OUT_OF_DEVICE_MEMORY ||
      result == VK_ERROR_OUT_OF_POOL_MEMORY)
    code = TS_ERROR_OUT_OF_MEMORY;
  if (result == VK_ERROR_DEVICE_LOST) {
    if (vk != NULL)
      vk->lost = TRUE;
    g_set_error (error, TS_ERROR, code, "%s (%s failed: VK_ERROR_DEVICE_LOST)",
                 TS_VK_LOST_MESSAGE, what);
    return FALSE;
  }
  if (code == TS_ERROR_OUT_OF_MEMORY)
    g_set_error (error, TS_ERROR, code, "Vulkan: out of %s memory in %s (%s)",
                 result == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "device" : "host", what,
                 ts_vk_result_string (result));
  else
    g_set_error (error, TS_ERROR, code, "Vulkan: %s failed: %s (%d)", what,
                 ts_vk_result_string (result), (int) result);
  return FALSE;
}

static gboolean
load_volk (GError **error)
{
  static gsize once = 0;
  static VkResult result = VK_ERROR_INITIALIZATION_FAILED;

  if (g_once_init_enter (&once)) {
    result = volkInitialize ();
    g_once_init_leave (&once, 1);
  }
  if (result != VK_SUCCESS) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_NO_DEVICE,
                         "Vulkan loader (libvulkan.so.1) not found");
    return FALSE;
  }
  if (volkGetInstanceVersion () < VK_API_VERSION_1_2) {
    g_set_error (error, TS_ERROR, TS_ERROR_NO_DEVICE,
                 "Vulkan loader is version %u.%u; Tessera needs Vulkan 1.2",
                 VK_API_VERSION_MAJOR (volkGetInstanceVersion ()),
                 VK_API_VERSION_MINOR (volkGetInstanceVersion ()));
    return FALSE;
  }
  return TRUE;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL
debug_callback (VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                VkDebugUtilsMessageTypeFlagsEXT types,
                const VkDebugUtilsMessengerCallbackDataEXT *data, void *user_data)
{
  g_atomic_int_inc (&validation_messages);
  fprintf (stderr, "[Vulkan %s] %s\n",
           (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error" : "warning",
           data->pMessage != NULL ? data->pMessage : "(no message)");
  return VK_FALSE;
}

static gboolean
instance_layer_present (const char *layer)
{
  uint32_t n = 0;
  if (vkEnumerateInstanceLayerProperties (&n, NULL) != VK_SUCCESS || n == 0)
    return FALSE;
  VkLayerProperties *props = g_new0 (VkLayerProperties, n);
  gboolean found = FALSE;
  if (vkEnumerateInstanceLayerProperties (&n, props) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++)
      found = strcmp (props[i].layerName, layer) == 0;
  g_free (props);
  return found;
}

static gboolean
instance_extension_present (const char *layer, const char *ext)
{
  uint32_t n = 0;
  if (vkEnumerateInstanceExtensionProperties (layer, &n, NULL) != VK_SUCCESS || n == 0)
    return FALSE;
  VkExtensionProperties *props = g_new0 (VkExtensionProperties, n);
  gboolean found = FALSE;
  if (vkEnumerateInstanceExtensionProperties (layer, &n, props) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++)
      found = strcmp (props[i].extensionName, ext) == 0;
  g_free (props);
  return found;
}

static const VkDebugUtilsMessengerCreateInfoEXT messenger_info = {
  .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
  .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
  .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                 VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                 VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
  .pfnUserCallback = debug_callback,
};

static gboolean
create_instance (TsVkBackend *vk, GError **error)
{
  const char *layers[1];
  const char *exts[3];
  uint32_t n_layers = 0, n_exts = 0;
  const char *validation_layer = "VK_LAYER_KHRONOS_validation";
  VkValidationFeatureEnableEXT sync_validation =
    VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features = {
    .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
    .enabledValidationFeatureCount = 1,
    .pEnabledValidationFeatures = &sync_validation,
  };
  VkDebugUtilsMessengerCreateInfoEXT instance_messenger = messenger_info;
  const void *next = NULL;

  if (vk->options.validation) {
    if (!instance_layer_present (validation_layer) ||
        !instance_extension_present (NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
      fprintf (stderr, "Tessera: validation was asked for (TESSERA_VK_VALIDATION) but %s or "
               "%s is missing; running without validation\n", validation_layer,
               VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    } else {
      vk->validation = TRUE;
      layers[n_layers++] = validation_layer;
      exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
      instance_messenger.pNext = NULL;
      next = &instance_messenger;
      if (instance_extension_present (validation_layer,
                                      VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
        exts[n_exts++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
        features.pNext = next;
        next = &features;
      }
    }
  }

  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "Tessera",
    .pEngineName = "libtessera",
    .apiVersion = VK_API_VERSION_1_2,
  };
  VkInstanceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .pNext = next,
    .pApplicationInfo = &app,
    .enabledLayerCount = n_layers,
    .ppEnabledLayerNames = layers,
    .enabledExtensionCount = n_exts,
    .ppEnabledExtensionNames = exts,
  };
  VkResult r = vkCreateInstance (&info, NULL, &vk->instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_NO_DEVICE, "no Vulkan driver installed");
    return FALSE;
  }
  if (!ts_vk_check (vk, r, "vkCreateInstance", error))
    return FALSE;
  /* Instance-level entry points are loader trampolines, valid for every instance. */
  volkLoadInstanceOnly (vk->instance);

  if (vk->validation) {
    r = vkCreateDebugUtilsMessengerEXT (vk->instance, &messenger_info, NULL, &vk->messenger);
    if (!ts_vk_check (vk, r, "vkCreateDebugUtilsMessengerEXT", error))
      return FALSE;
  }
  return TRUE;
}

static const char *
device_type_name (VkPhysicalDeviceType type)
{
  switch (type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:   return "discrete GPU";
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:    return "virtual GPU";
  case VK_PHYSICAL_DEVICE_TYPE_CPU:            return "CPU";
  default:                                     return "other";
  }
}

/* Higher is better; 0 = never chosen automatically. */
static int
device_rank (const VkPhysicalDeviceProperties *p, gboolean allow_cpu_device)
{
  switch (p->deviceType) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:   return 4;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:    return 2;
  case VK_PHYSICAL_DEVICE_TYPE_CPU:            return allow_cpu_device ? 1 : 0;
  default:                                     return 0;
  }
}

/* The queue family to use, or UINT32_MAX. A compute-only family is preferred when it has
 * timestamps (it runs beside graphics work on desktop GPUs). */
static uint32_t
pick_queue_family (VkPhysicalDevice phys, uint32_t *valid_bits)
{
  uint32_t n = 0, best = UINT32_MAX;
  vkGetPhysicalDeviceQueueFamilyProperties (phys, &n, NULL);
  VkQueueFamilyProperties *q = g_new0 (VkQueueFamilyProperties, MAX (n, 1));
  vkGetPhysicalDeviceQueueFamilyProperties (phys, &n, q);
  for (uint32_t i = 0; i < n; i++) {
    if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || q[i].queueCount == 0)
      continue;
    gboolean compute_only = !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT);
    if (best == UINT32_MAX ||
        (compute_only && q[i].timestampValidBits > 0 && (q[best].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
      best = i;
  }
  *valid_bits = best == UINT32_MAX ? 0 : q[best].timestampValidBits;
  g_free (q);
  return best;
}

static gboolean
select_physical_device (TsVkBackend *vk, int device_index, gboolean allow_cpu_device,
                        GError **error)
{
  uint32_t n = 0;
  VkResult r = vkEnumeratePhysicalDevices (vk->instance, &n, NULL);
  if (r != VK_SUCCESS || n == 0) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_NO_DEVICE, "no Vulkan device found");
    return FALSE;
  }
  VkPhysicalDevice *devs = g_new0 (VkPhysicalDevice, n);
  r = vkEnumeratePhysicalDevices (vk->instance, &n, devs);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
    g_free (devs);
    return ts_vk_check (vk, r, "vkEnumeratePhysicalDevices", error);
  }

  int chosen = -1, best_rank = 0;
  GString *skipped = g_string_new (NULL);
  for (uint32_t i = 0; i < n; i++) {
    VkPhysicalDeviceProperties p;
    uint32_t bits;
    vkGetPhysicalDeviceProperties (devs[i], &p);
    gboolean usable = p.apiVersion >= VK_API_VERSION_1_2 &&
                      pick_queue_family (devs[i], &bits) != UINT32_MAX;
    if (device_index >= 0) {
      if ((int) i == device_index) {
        if (!usable)
          g_string_append_printf (skipped, "%s lacks Vulkan 1.2 or a compute queue",
                                  p.deviceName);
        else
          chosen = (int) i;
      }
      continue;
    }
    int rank = usable ? device_rank (&p, allow_cpu_device) : 0;
    if (rank == 0)
      g_string_append_printf (skipped, "%s%s (%s%s)", skipped->len ? ", " : "", p.deviceName,
                              device_type_name (p.deviceType),
                              usable ? "" : ", no Vulkan 1.2 or compute queue");
    if (rank > best_rank) {
      best_rank = rank;
      chosen = (int) i;
    }
  }
  if (chosen >= 0)
    vk->physical = devs[chosen];
  else if (device_index >= (int) n)
    g_set_error (error, TS_ERROR, TS_ERROR_NO_DEVICE,
                 "Vulkan device %d does not exist (%u devices)", device_index, n);
  else
    g_set_error (error, TS_ERROR, TS_ERROR_NO_DEVICE, "no usable Vulkan device (%s)",
                 skipped->str);
  g_string_free (skipped, TRUE);
  g_free (devs);
  return chosen >= 0;
}

static gboolean
device_extension_present (const VkExtensionProperties *exts, uint32_t n, const char *name)
{
  for (uint32_t i = 0; i < n; i++)
    if (strcmp (exts[i].extensionName, name) == 0)
      return TRUE;
  return FALSE;
}

/* Sets the effective binding limit: the device's, lowered by TESSERA_VK_MAX_BINDING so
 * tests can exercise the split paths with small tensors. */
void
ts_vk_set_max_binding (TsVkBackend *vk, VkDeviceSize bytes)
{
  VkDeviceSize align = MAX (vk->limits.min_storage_alignment, 16);
  VkDeviceSize limit = vk->device_max_storage_range;
  if (bytes > 0 && bytes < limit)
    limit = MAX (bytes, 1024);
  vk->limits.max_storage_range = limit / align * align;
}

static void
probe_limits (TsVkBackend *vk, const VkPhysicalDeviceVulkan11Properties *p11,
              const VkPhysicalDeviceVulkan11Features *f11,
              const VkPhysicalDeviceVulkan12Features *f12, gboolean coopmat)
{
  const VkPhysicalDeviceLimits *l = &vk->props.limits;
  TsVkLimits *t = &vk->limits;

  vk->device_max_storage_range = l->maxStorageBufferRange;
  t->min_storage_alignment = MAX (l->minStorageBufferOffsetAlignment, 4);
  t->max_shared_memory = l->maxComputeSharedMemorySize;
  for (int i = 0; i < 3; i++)
    t->max_workgroup_count[i] = l->maxComputeWorkGroupCount[i];
  t->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
  t->max_push_constants = l->maxPushConstantsSize;
  t->subgroup_size = MAX (p11->subgroupSize, 1);
  gboolean sg_compute = (p11->subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0 &&
                        !vk->options.disable_subgroup;
  t->subgroup_arithmetic = sg_compute &&
    (p11->subgroupSupportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0;
  t->subgroup_shuffle = sg_compute &&
    (p11->subgroupSupportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) != 0;
  gboolean no_fp16 = vk->options.disable_fp16;
  t->fp16_storage = f11->storageBuffer16BitAccess && !no_fp16;
  t->fp16_math = f12->shaderFloat16 && !no_fp16;
  t->is_cpu_device = vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  t->coopmat = coopmat && ts_vk_coopmat_shape_supported (vk->physical);

  ts_vk_set_max_binding (vk, vk->options.max_binding);

  vk->max_allocation = p11->maxMemoryAllocationSize > 0 ? p11->maxMemoryAllocationSize
                                                         : G_MAXUINT32;
}

static void
probe_memory (TsVkBackend *vk)
{
  vkGetPhysicalDeviceMemoryProperties (vk->physical, &vk->mem_props);
  const VkMemoryPropertyFlags uma_flags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
                                          VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                          VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  gboolean shared = vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
                    vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  for (uint32_t i = 0; i < vk->mem_props.memoryTypeCount && shared; i++)
    if ((vk->mem_props.memoryTypes[i].propertyFlags & uma_flags) == uma_flags)
      vk->uma = TRUE;
}

/* What the device offers that the shaders may use. */
typedef struct {
  VkPhysicalDeviceFeatures2                   f2;
  VkPhysicalDeviceVulkan11Features            f11;
  VkPhysicalDeviceVulkan12Features            f12;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop;
  gboolean                                    has_coop;
} DeviceFeatures;

static void
query_features (TsVkBackend *vk, gboolean coop_extension, DeviceFeatures *f)
{
  *f = (DeviceFeatures) {
    .f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f->f11 },
    .f11 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f->f12 },
    .f12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
             .pNext = coop_extension ? &f->coop : NULL },
    .coop = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV },
  };
  vkGetPhysicalDeviceFeatures2 (vk->physical, &f->f2);
  f->has_coop = coop_extension && f->coop.cooperativeMatrix;
}

static void
probe_device (TsVkBackend *vk, const DeviceFeatures *f)
{
  VkPhysicalDeviceVulkan11Properties p11 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES };
  VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &p11 };
  vkGetPhysicalDeviceProperties2 (vk->physical, &p2);
  vk->props = p2.properties;
  vk->name = g_strdup (vk->props.deviceName);

  probe_limits (vk, &p11, &f->f11, &f->f12, f->has_coop);
  probe_memory (vk);

  uint32_t valid_bits = 0;
  vk->queue_family = pick_queue_family (vk->physical, &valid_bits);
  vk->timestamps = valid_bits > 0 && vk->props.limits.timestampPeriod > 0 &&
                   !vk->options.disable_timestamps;
  vk->timestamp_mask = valid_bits >= 64 ? G_MAXUINT64 : ((guint64) 1 << valid_bits) - 1;
  vk->timestamp_period = vk->props.limits.timestampPeriod;
}

/* Creates the device with only the features and extensions the shaders may use. */
static gboolean
create_device (TsVkBackend *vk, GError **error)
{
  uint32_t n_ext = 0;
  vkEnumerateDeviceExtensionProperties (vk->physical, NULL, &n_ext, NULL);
  VkExtensionProperties *avail = g_new0 (VkExtensionProperties, MAX (n_ext, 1));
  vkEnumerateDeviceExtensionProperties (vk->physical, NULL, &n_ext, avail);

  DeviceFeatures f;
  query_features (vk, device_extension_present (avail, n_ext, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) &&
                      !vk->options.disable_coopmat, &f);
  probe_device (vk, &f);

  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop_on = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
    .cooperativeMatrix = f.has_coop,
  };
  VkPhysicalDeviceVulkan12Features e12 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
    .pNext = f.has_coop ? &coop_on : NULL,
    .shaderFloat16 = f.f12.shaderFloat16,
    .shaderInt8 = f.f12.shaderInt8,
    .storageBuffer8BitAccess = f.f12.storageBuffer8BitAccess,
  };
  VkPhysicalDeviceVulkan11Features e11 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &e12,
    .storageBuffer16BitAccess = f.f11.storageBuffer16BitAccess,
  };
  VkPhysicalDeviceFeatures2 e2 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &e11,
    .features.shaderInt16 = f.f2.features.shaderInt16,
    .features.shaderInt64 = f.f2.features.shaderInt64,
  };

  const char *exts[5];
  uint32_t n_exts = 0;
  vk->push_descriptors = device_extension_present (avail, n_ext, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME) &&
                         !vk->options.disable_push_descriptor;
  if (vk->push_descriptors)
    exts[n_exts++] = VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME;
  if (f.has_coop)
    exts[n_exts++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
  if (device_extension_present (avail, n_ext, "VK_KHR_portability_subset"))
    exts[n_exts++] = "VK_KHR_portability_subset";
  vk->memory_budget_ext = device_extension_present (avail, n_ext,
                                                    VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  if (vk->memory_budget_ext)
    exts[n_exts++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
  g_free (avail);

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qinfo = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = vk->queue_family,
    .queueCount = 1,
    .pQueuePriorities = &priority,
  };
  VkDeviceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .pNext = &e2,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &qinfo,
    .enabledExtensionCount = n_exts,
    .ppEnabledExtensionNames = exts,
  };
  VkResult r = vkCreateDevice (vk->physical, &info, NULL, &vk->device);
  if (!ts_vk_check (vk, r, "vkCreateDevice", error))
    return FALSE;
  volkLoadDeviceTable (&vk->d, vk->device);
  vk->d.vkGetDeviceQueue (vk->device, vk->queue_family, 0, &vk->queue);
  return TRUE;
}

gboolean
ts_vk_device_init (TsVkBackend *vk, int device_index, gboolean allow_cpu_device,
                   GError **error)
{
  gboolean ok = load_volk (error) &&
                create_instance (vk, error) &&
                select_physical_device (vk, device_index, allow_cpu_device, error) &&
                create_device (vk, error);
  pin_loaded_libraries ();
  return ok;
}

guint64
ts_vk_device_default_budget (TsVkBackend *vk)
{
  VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT,
  };
  VkPhysicalDeviceMemoryProperties2 mp = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
    .pNext = vk->memory_budget_ext ? &budget : NULL,
  };
  vkGetPhysicalDeviceMemoryProperties2 (vk->physical, &mp);
  uint32_t heap = UINT32_MAX;
  for (uint32_t i = 0; i < mp.memoryProperties.memoryHeapCount; i++)
    if ((mp.memoryProperties.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
        (heap == UINT32_MAX ||
         mp.memoryProperties.memoryHeaps[i].size > mp.memoryProperties.memoryHeaps[heap].size))
      heap = i;
  if (heap == UINT32_MAX)
    return 0;
  /* The extension's budget already leaves room for other processes and the driver. */
  if (vk->memory_budget_ext && budget.heapBudget[heap] > 0)
    return budget.heapBudget[heap];
  return mp.memoryProperties.memoryHeaps[heap].size / 4 * 3;
}

void
ts_vk_device_destroy (TsVkBackend *vk)
{
  if (vk->device != VK_NULL_HANDLE)
    vk->d.vkDestroyDevice (vk->device, NULL);
  if (vk->messenger != VK_NULL_HANDLE)
    vkDestroyDebugUtilsMessengerEXT (vk->instance, vk->messenger, NULL);
  if (vk->instance != VK_NULL_HANDLE)
    vkDestroyInstance (vk->instance, NULL);
  vk->device = VK_NULL_HANDLE;
  vk->messenger = VK_NULL_HANDLE;
  vk->instance = VK_NULL_HANDLE;
  g_clear_pointer (&vk->name, g_free);
}

static const char *
yes_no (gboolean b)
{
  return b ? "yes" : "no";
}

char *
ts_vk_device_describe (TsVkBackend *vk)
{
  const VkPhysicalDeviceProperties *p = &vk->props;
  const TsVkLimits *l = &vk->limits;
  GString *s = g_string_new (NULL);
  VkDeviceSize heap = 0;

  for (uint32_t i = 0; i < vk->mem_props.memoryHeapCount; i++)
    if (vk->mem_props.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      heap = MAX (heap, vk->mem_props.memoryHeaps[i].size);
  g_string_append_printf (s, "Vulkan device: %s (%s)\n", p->deviceName,
                          device_type_name (p->deviceType));
  g_string_append_printf (s, "  API %u.%u.%u, vendor 0x%04x, device 0x%04x\n",
                          VK_API_VERSION_MAJOR (p->apiVersion), VK_API_VERSION_MINOR (p->apiVersion),
                          VK_API_VERSION_PATCH (p->apiVersion), p->vendorID, p->deviceID);
  g_string_append_printf (s, "  memory: %s, largest device heap %.1f GiB, max allocation %.1f GiB\n",
                          vk->uma ? "unified (mapped directly)" : "dedicated (staged copies)",
                          heap / 1073741824.0, vk->max_allocation / 1073741824.0);
  g_string_append_printf (s, "  memory budget: %.1f GiB%s\n", vk->base.mem_budget / 1073741824.0,
                          vk->memory_budget_ext ? " (VK_EXT_memory_budget)" : "");
  g_string_append_printf (s, "  max storage binding: %" G_GUINT64_FORMAT " bytes",
                          (guint64) vk->device_max_storage_range);
  if (l->max_storage_range != vk->device_max_storage_range)
    g_string_append_printf (s, " (lowered to %" G_GUINT64_FORMAT ")", (guint64) l->max_storage_range);
  g_string_append_printf (s, "\n  shared memory %u bytes, workgroup %u invocations, groups %ux%ux%u\n",
                          l->max_shared_memory, l->max_workgroup_invocations,
                          l->max_workgroup_count[0], l->max_workgroup_count[1],
                          l->max_workgroup_count[2]);
  g_string_append_printf (s, "  subgroup size %u (arithmetic %s, shuffle %s)\n", l->subgroup_size,
                          yes_no (l->subgroup_arithmetic), yes_no (l->subgroup_shuffle));
  g_string_append_printf (s, "  fp16 storage %s, fp16 math %s, cooperative matrix %s\n",
                          yes_no (l->fp16_storage), yes_no (l->fp16_math), yes_no (l->coopmat));
  g_string_append_printf (s, "  timestamps %s, push descriptors %s, validation %s\n",
                          yes_no (vk->timestamps), yes_no (vk->push_descriptors),
                          yes_no (vk->validation));
  if (vk->pipeline_cache_path != NULL)
    g_string_append_printf (s, "  pipeline cache: %s%s\n", vk->pipeline_cache_path,
                            vk->pipeline_cache_loaded ? " (loaded)" : "");
  return g_string_free (s, FALSE);
}
