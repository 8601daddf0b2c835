/* ts-backend.h — the two compute backends (CPU, Vulkan) and how one is chosen. */
#pragma once

#include "ts-tensor.h"

G_BEGIN_DECLS

typedef enum {
  TS_BACKEND_CPU,
  TS_BACKEND_VULKAN,
} TsBackendKind;

/* CPU backend: GEMM through OpenBLAS, every other op in our own threaded C.
 * n_threads <= 0 means all cores. */
TsBackend *ts_backend_new_cpu (int n_threads, GError **error);

/* Vulkan backend. device_index < 0 picks the best device (discrete > integrated); CPU
 * implementations such as lavapipe are only taken when named by index or when
 * allow_cpu_device is TRUE. Fails with TS_ERROR_NO_DEVICE when no loader or device exists. */
TsBackend *ts_backend_new_vulkan (int device_index, gboolean allow_cpu_device, GError **error);

/* What TESSERA_DEVICE asks for: unset or "auto" (Vulkan GPU if any, else CPU), "cpu",
 * "vulkan" (best device, lavapipe allowed), "vulkan:N" (device N). `spec` overrides the
 * environment when non-NULL. Falls back to the CPU backend only in "auto" mode; the reason
 * for a fallback is returned in *fallback_reason (may be NULL). */
TsBackend *ts_backend_new_from_spec (const char *spec, char **fallback_reason, GError **error);

void          ts_backend_free (TsBackend *backend);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsBackend, ts_backend_free)

TsBackendKind ts_backend_kind (const TsBackend *backend);
const char   *ts_backend_name (const TsBackend *backend); /* "cpu" or the device name */
/* Multi-line human-readable report: device, capabilities, limits, threads. */
char         *ts_backend_describe (TsBackend *backend);
/* The CPU backend's kernels for matrix products at `precision` on this processor, as
 * ts_backend_describe names them ("bf16 kernels:", "int8 kernels:"; F32: OpenBLAS sgemm), and
 * in *native (may be NULL) whether they use the processor's own bf16 or int8 instructions:
 * FALSE means the weights are widened to f32 and multiplied by sgemm (no faster than f32;
 * int8 still holds less memory). Static strings, not translated. */
const char   *ts_backend_cpu_kernels (TsPrecision precision, gboolean *native);

/* Ops are queued and may run asynchronously; sync waits for all of them.
 * Reading a tensor syncs as needed. */
gboolean ts_backend_sync (TsBackend *backend, GError **error);

/* The sticky error: the first failure of an op (ops return NULL and every later op given a
 * NULL input returns NULL without a new message). take_error moves it to the caller
 * (returns FALSE when there was none) and clears it. */
gboolean      ts_backend_has_error (const TsBackend *backend);
const GError *ts_backend_peek_error (const TsBackend *backend);
gboolean      ts_backend_take_error (TsBackend *backend, GError **error);
void          ts_backend_set_error (TsBackend *backend, GQuark domain, int code,
                                    const char *format, ...) G_GNUC_PRINTF (4, 5);

/* Memory budget: the most bytes of tensor storage the backend may hold at once, checked
 * before every allocation; a request over it fails with TS_ERROR_OUT_OF_MEMORY (and a
 * message naming the budget) without asking the system or driver. 0 means no budget.
 * Defaults: TESSERA_MEMORY_BUDGET (see ts-backend-private.h for its syntax) when it names
 * this backend (a Vulkan backend: the budget of its TsVkOptions, which
 * ts_vk_options_from_env reads from there), else for the CPU 3/4 of physical memory, for Vulkan the device-local heap's
 * budget from VK_EXT_memory_budget, or 3/4 of that heap without the extension. Memory the
 * backend uses in place (mapped model files) does not count. */
void    ts_backend_set_memory_budget (TsBackend *backend, guint64 bytes);
guint64 ts_backend_get_memory_budget (const TsBackend *backend);
/* Bytes of storage held now and the most held at once since creation or the last reset. */
void    ts_backend_memory_usage (const TsBackend *backend, guint64 *used, guint64 *peak);
void    ts_backend_reset_memory_peak (TsBackend *backend);
/* Give memory the backend keeps for reuse (the CPU backend's cache of freed tensor blocks)
 * back to the system, e.g. when a job is done and the process may sit idle. Tensors alive
 * are not affected; the next ops may run a little slower while memory is mapped afresh. */
void    ts_backend_trim (TsBackend *backend);

/* TRUE once the device is gone for good (Vulkan: VK_ERROR_DEVICE_LOST, e.g. after a GPU
 * reset): every later op fails with TS_ERROR_DEVICE and the caller should free this backend
 * and continue on another (the CPU backend). Always FALSE for the CPU backend. */
gboolean ts_backend_is_lost (TsBackend *backend);

/* Profiling: when enabled, every op's time is recorded (GPU timestamps on Vulkan,
 * wall-clock on CPU) under its op name. */
typedef struct {
  const char *name;   /* op or kernel name, static */
  guint64     count;
  double      seconds;
  double      flops;  /* total floating-point operations, 0 if not counted */
  double      bytes;  /* total bytes moved (read + written) */
} TsProfileEntry;

void  ts_backend_set_profiling (TsBackend *backend, gboolean enabled);
/* Entries sorted by time, newly allocated (g_free). Syncs first. */
TsProfileEntry *ts_backend_profile (TsBackend *backend, guint *n_entries);
void  ts_backend_profile_reset (TsBackend *backend);

/* Measure the device's peaks with microbenchmarks (Vulkan: an FMA-throughput and a copy
 * shader; CPU: OpenBLAS sgemm and a threaded copy). For reports of % of peak. */
gboolean ts_backend_measure_peak (TsBackend *backend, double *gflops, double *gbytes_per_s,
                                  GError **error);

G_END_DECLS
