/* test-vk-runtime.c — the Vulkan runtime: device selection, host transfers (direct and
 * staged), deferred release, binding limits and splits, the pipeline cache on disk,
 * barrier placement, batching, timestamps and error paths. Runs on any Vulkan device,
 * lavapipe included, with the validation layer on (see meson.build). */
#include "vk-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define SHAPE(...) ((const int64_t[]) { __VA_ARGS__ })

static float *
ramp (size_t n, float scale)
{
  float *v = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    v[i] = (float) ((i * 37) % 101) * scale - 50.0f * scale;
  return v;
}

static float *
read_f32 (TsTensor *t)
{
  g_autoptr (GError) error = NULL;
  float *v = ts_tensor_read_f32 (t, &error);
  g_assert_no_error (error);
  return v;
}

static void
assert_no_backend_error (TsBackend *be)
{
  const GError *e = ts_backend_peek_error (be);
  if (e != NULL)
    g_error ("unexpected backend error: %s", e->message);
}

/* ---- device selection ---- */

static void
test_device (void)
{
  VKT_REQUIRE ();
  const TsVkLimits *l = ts_vk_limits (vkt_vk);
  g_assert_cmpint (ts_backend_kind (vkt_be), ==, TS_BACKEND_VULKAN);
  g_assert_cmpstr (ts_backend_name (vkt_be), !=, "");
  g_assert_cmpuint (l->subgroup_size, >=, 1);
  g_assert_cmpuint (l->max_storage_range, >=, 1024);
  g_assert_cmpuint (l->max_storage_range % l->min_storage_alignment, ==, 0);
  g_assert_cmpuint (l->max_workgroup_count[0], >=, 65535);
  g_assert_cmpuint (l->max_push_constants, >=, 128);
  g_autofree char *desc = ts_backend_describe (vkt_be);
  g_assert_nonnull (strstr (desc, "Vulkan device"));
  g_assert_nonnull (strstr (desc, ts_backend_name (vkt_be)));
}

static void
test_device_choice (void)
{
  VKT_REQUIRE ();
  g_autoptr (GError) error = NULL;

  /* A device index that cannot exist. */
  TsBackend *none = ts_backend_new_vulkan (999, TRUE, &error);
  g_assert_null (none);
  g_assert_error (error, TS_ERROR, TS_ERROR_NO_DEVICE);
  g_assert_nonnull (strstr (error->message, "999"));
  g_clear_error (&error);

  /* Without allow_cpu_device a CPU implementation is never picked automatically. */
  TsBackend *gpu = ts_backend_new_vulkan (-1, FALSE, &error);
  if (ts_vk_limits (vkt_vk)->is_cpu_device && gpu == NULL) {
    g_assert_error (error, TS_ERROR, TS_ERROR_NO_DEVICE);
    g_test_message ("without CPU devices: %s", error->message);
  } else {
    g_assert_no_error (error);
    g_assert_false (ts_vk_limits (ts_vk_backend_from (gpu))->is_cpu_device);
    ts_backend_free (gpu);
  }
}

/* With no driver the backend reports NO_DEVICE instead of failing otherwise. */
static void
test_no_driver (void)
{
  if (g_test_subprocess ()) {
    g_autoptr (GError) error = NULL;
    g_setenv ("VK_ICD_FILENAMES", "/nonexistent/tessera-no-icd.json", TRUE);
    g_setenv ("VK_DRIVER_FILES", "/nonexistent/tessera-no-icd.json", TRUE);
    TsBackend *be = ts_backend_new_vulkan (-1, TRUE, &error);
    g_assert_null (be);
    g_assert_error (error, TS_ERROR, TS_ERROR_NO_DEVICE);
    g_print ("error: %s\n", error->message);
    return;
  }
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*error: *");
}

/* The environment variables of vk-options.h map onto their options. Run in a child
 * process that sets them before anything else runs (no backend, no other thread), since
 * tests otherwise pass options, never the environment. */
static void
test_options_from_env (void)
{
  if (g_test_subprocess ()) {
    static const char *const unset[] = {
      "TESSERA_VK_VALIDATION", "TESSERA_VK_MAX_BINDING", "TESSERA_VK_FORCE_STAGING",
      "TESSERA_VK_DISABLE_SUBGROUP", "TESSERA_VK_DISABLE_FP16", "TESSERA_VK_DISABLE_COOPMAT",
      "TESSERA_VK_DISABLE_PUSH_DESCRIPTOR", "TESSERA_VK_DISABLE_TIMESTAMPS",
      "TESSERA_VK_DISPATCHES_PER_SUBMIT", "TESSERA_VK_PIPELINE_CACHE", "TESSERA_VK_FORCE_NOSHM",
      "TESSERA_VK_FORCE_SHM", "TESSERA_VK_GEMM_TILE", "TESSERA_MEMORY_BUDGET",
    };
    TsVkOptions o, zero;
    memset (&zero, 0, sizeof zero); /* padding included, as ts_vk_options_from_env does */
    for (guint i = 0; i < G_N_ELEMENTS (unset); i++)
      g_unsetenv (unset[i]);
    ts_vk_options_from_env (&o);
    g_assert_cmpmem (&o, sizeof o, &zero, sizeof zero); /* unset: the zeroed defaults */

    g_setenv ("TESSERA_VK_VALIDATION", "1", TRUE);
    g_setenv ("TESSERA_VK_MAX_BINDING", "4096", TRUE);
    g_setenv ("TESSERA_VK_FORCE_STAGING", "yes", TRUE);
    g_setenv ("TESSERA_VK_DISABLE_SUBGROUP", "0", TRUE); /* "0" and "" are off */
    g_setenv ("TESSERA_VK_DISABLE_FP16", "", TRUE);
    g_setenv ("TESSERA_VK_DISABLE_COOPMAT", "1", TRUE);
    g_setenv ("TESSERA_VK_DISABLE_PUSH_DESCRIPTOR", "1", TRUE);
    g_setenv ("TESSERA_VK_DISABLE_TIMESTAMPS", "1", TRUE);
    g_setenv ("TESSERA_VK_DISPATCHES_PER_SUBMIT", "0", TRUE); /* set: at least one */
    g_setenv ("TESSERA_VK_PIPELINE_CACHE", "0", TRUE);
    g_setenv ("TESSERA_VK_FORCE_SHM", "1", TRUE);
    g_setenv ("TESSERA_VK_GEMM_TILE", "7", TRUE);
    g_setenv ("TESSERA_MEMORY_BUDGET", "cpu:2G, vulkan:1.5M", TRUE);
    ts_vk_options_from_env (&o);
    g_assert_true (o.validation);
    g_assert_cmpuint (o.max_binding, ==, 4096);
    g_assert_true (o.force_staging);
    g_assert_false (o.disable_subgroup);
    g_assert_false (o.disable_fp16);
    g_assert_true (o.disable_coopmat);
    g_assert_true (o.disable_push_descriptor);
    g_assert_true (o.disable_timestamps);
    g_assert_cmpuint (o.dispatches_per_submit, ==, 1);
    g_assert_true (o.no_pipeline_cache);
    g_assert_cmpint (o.kernels, ==, TS_VK_KERNELS_SHM);
    g_assert_true (o.force_gemm_tile);
    g_assert_cmpuint (o.gemm_tile, ==, 7);
    g_assert_true (o.set_memory_budget);
    g_assert_cmpuint (o.memory_budget, ==, 1572864);

    g_setenv ("TESSERA_VK_FORCE_NOSHM", "1", TRUE); /* wins over FORCE_SHM */
    g_setenv ("TESSERA_VK_DISPATCHES_PER_SUBMIT", "100000", TRUE);
    g_setenv ("TESSERA_VK_PIPELINE_CACHE", "1", TRUE);
    g_setenv ("TESSERA_MEMORY_BUDGET", "cpu:2G", TRUE); /* names no Vulkan budget */
    ts_vk_options_from_env (&o);
    g_assert_cmpint (o.kernels, ==, TS_VK_KERNELS_REG);
    g_assert_cmpuint (o.dispatches_per_submit, ==, 256);
    g_assert_false (o.no_pipeline_cache);
    g_assert_false (o.set_memory_budget);
    g_setenv ("TESSERA_MEMORY_BUDGET", "3G", TRUE); /* every backend's */
    ts_vk_options_from_env (&o);
    g_assert_true (o.set_memory_budget);
    g_assert_cmpuint (o.memory_budget, ==, G_GUINT64_CONSTANT (3) << 30);
    g_print ("options ok\n");
    return;
  }
  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*options ok*");
}

/* ---- memory ---- */

static void
check_roundtrip (TsBackend *be)
{
  const size_t n = 5003;
  g_autofree float *v = ramp (n, 0.25f);
  g_autoptr (TsTensor) t = ts_tensor_new_f32 (be, 1, SHAPE ((int64_t) n), v);
  g_assert_nonnull (t);
  g_autofree float *back = read_f32 (t);
  g_assert_cmpmem (back, n * 4, v, n * 4);

  /* An op reads `t`; overwriting `t` right after must not change the op's result. */
  g_autoptr (TsTensor) scaled = ts_scale (be, t, 2.0f, 1.0f);
  g_autofree float *zeros = g_new0 (float, n);
  g_autoptr (GError) error = NULL;
  g_assert_true (ts_tensor_write (t, zeros, n * 4, &error));
  g_assert_no_error (error);
  g_autofree float *s = read_f32 (scaled);
  for (size_t i = 0; i < n; i++)
    g_assert_cmpfloat (s[i], ==, v[i] * 2.0f + 1.0f);
  g_autofree float *z = read_f32 (t);
  g_assert_cmpmem (z, n * 4, zeros, n * 4);

  /* Odd byte counts (u8) keep their neighbours intact. */
  guint8 bytes[13];
  for (guint i = 0; i < sizeof bytes; i++)
    bytes[i] = (guint8) (i * 19 + 3);
  g_autoptr (TsTensor) u = ts_tensor_new_from_data (be, TS_DTYPE_U8, 1, SHAPE (13), bytes);
  guint8 got[13];
  g_assert_true (ts_tensor_read (u, got, sizeof got, &error));
  g_assert_cmpmem (got, sizeof got, bytes, sizeof bytes);
  assert_no_backend_error (be);
}

static void
test_memory (void)
{
  VKT_REQUIRE ();
  check_roundtrip (vkt_be);
}

/* The staging path of discrete GPUs, forced on this device. */
static void
test_memory_staged (void)
{
  VKT_REQUIRE ();
  TsVkOptions options = vkt_options;
  options.force_staging = TRUE;
  TsBackend *be = vkt_backend_new (&options);
  TsVkCounters before, after;
  ts_vk_get_counters (ts_vk_backend_from (be), &before);
  check_roundtrip (be);
  ts_vk_get_counters (ts_vk_backend_from (be), &after);
  g_assert_cmpuint (after.host_waits, >, before.host_waits); /* copies went through the queue */
  ts_backend_free (be);
}

static void
test_out_of_memory (void)
{
  VKT_REQUIRE ();
  g_autoptr (GError) error = NULL;
  /* 4 TiB: no device has that; the op-level error must be OUT_OF_MEMORY, not an abort. */
  TsTensor *t = ts_tensor_new (vkt_be, TS_DTYPE_F32, 2, SHAPE (1 << 20, 1 << 20));
  g_assert_null (t);
  g_assert_true (ts_backend_take_error (vkt_be, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY);
  g_clear_error (&error);

  /* Scratch failures come back as a GError and leave no sticky error behind. */
  TsTensor *s = ts_vk_scratch (vkt_vk, TS_DTYPE_F32, 2, SHAPE (1 << 20, 1 << 20), &error);
  g_assert_null (s);
  g_assert_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY);
  g_assert_false (ts_backend_has_error (vkt_be));

  /* The backend still works. */
  check_roundtrip (vkt_be);
}

/* Inputs released while queued work still reads them stay alive until it has run (the
 * validation layer would flag a buffer destroyed in use). */
static void
test_deferred_release (void)
{
  VKT_REQUIRE ();
  const size_t n = 4096;
  g_autofree float *v = ramp (n, 1.0f);
  TsTensor *a = ts_tensor_new_f32 (vkt_be, 1, SHAPE ((int64_t) n), v);
  TsTensor *chain = ts_scale (vkt_be, a, 3.0f, 0.0f);
  ts_tensor_unref (a);
  for (int i = 0; i < 20; i++) {
    TsTensor *next = ts_scale (vkt_be, chain, 1.0f, 1.0f);
    ts_tensor_unref (chain); /* still read by the dispatch just recorded */
    chain = next;
  }
  g_autofree float *got = read_f32 (chain);
  for (size_t i = 0; i < n; i++)
    g_assert_cmpfloat (got[i], ==, v[i] * 3.0f + 20.0f);
  ts_tensor_unref (chain);
  assert_no_backend_error (vkt_be);
}

/* ---- bindings ---- */

static void
test_grid (void)
{
  VKT_REQUIRE ();
  const TsVkLimits *l = ts_vk_limits (vkt_vk);
  uint32_t g[3];
  ts_vk_grid_1d (vkt_vk, 7, g);
  g_assert_cmpuint (g[0], ==, 7);
  g_assert_cmpuint (g[1] * g[2], ==, 1);
  uint64_t counts[] = { l->max_workgroup_count[0], (uint64_t) l->max_workgroup_count[0] + 1,
                        (uint64_t) l->max_workgroup_count[0] * 3 + 17, (uint64_t) 1 << 33 };
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++) {
    ts_vk_grid_1d (vkt_vk, counts[i], g);
    for (int d = 0; d < 3; d++)
      g_assert_cmpuint (g[d], <=, l->max_workgroup_count[d]);
    g_assert_cmpuint ((uint64_t) g[0] * g[1] * g[2], >=, counts[i]);
    /* Little waste: at most one partial row of the grid. */
    g_assert_cmpuint ((uint64_t) g[0] * g[1] * g[2] - counts[i], <, (uint64_t) g[0] * g[1]);
  }
}

static void
test_bind_limits (void)
{
  VKT_REQUIRE ();
  g_autoptr (GError) error = NULL;
  ts_vk_set_max_binding (vkt_vk, 65536);
  const TsVkLimits *l = ts_vk_limits (vkt_vk);
  g_assert_cmpuint (l->max_storage_range, ==, 65536);

  g_autoptr (TsTensor) t = ts_tensor_new (vkt_be, TS_DTYPE_F32, 1, SHAPE (40000));
  TsVkBinding b;
  uint32_t off = 99;
  /* A whole 160 KB tensor is too big for one binding now... */
  g_assert_false (ts_vk_bind_tensor (vkt_vk, t, FALSE, &b, &off, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  /* ...a sub-range is fine, starting at an aligned offset with the rest in elem_offset. */
  g_assert_true (ts_vk_bind_bytes (vkt_vk, t, 4 * 1001, 4 * 9001, 4, FALSE, &b, &off, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (b.offset % l->min_storage_alignment, ==, 0);
  g_assert_cmpuint (b.offset + off * 4, ==, 4 * 1001);
  g_assert_cmpuint (b.offset + b.range, >=, 4 * 9001);
  g_assert_cmpuint (b.range, <=, l->max_storage_range);
  /* Out of the storage, or misaligned for the element size. */
  g_assert_false (ts_vk_bind_bytes (vkt_vk, t, 0, 4 * 40001, 4, FALSE, &b, &off, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (ts_vk_bind_bytes (vkt_vk, t, 2, 10, 4, FALSE, &b, &off, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Ops split their work instead: a broadcast add over 3·40000 elements. */
  g_autofree float *av = ramp (3 * 40000, 0.5f);
  g_autofree float *bv = ramp (40000, 0.125f);
  g_autoptr (TsTensor) a = ts_tensor_new_f32 (vkt_be, 2, SHAPE (3, 40000), av);
  g_autoptr (TsTensor) bb = ts_tensor_new_f32 (vkt_be, 1, SHAPE (40000), bv);
  TsVkCounters before, after;
  ts_vk_get_counters (vkt_vk, &before);
  g_autoptr (TsTensor) sum = ts_add (vkt_be, a, bb);
  ts_vk_get_counters (vkt_vk, &after);
  g_assert_cmpuint (after.dispatches - before.dispatches, >=, 6);
  g_autofree float *got = read_f32 (sum);
  for (size_t i = 0; i < 3 * 40000; i++)
    g_assert_cmpfloat (got[i], ==, av[i] + bv[i % 40000]);

  ts_vk_set_max_binding (vkt_vk, 0);
  g_assert_cmpuint (ts_vk_limits (vkt_vk)->max_storage_range, >, 65536);
  assert_no_backend_error (vkt_be);
}

/* ---- pipeline cache ---- */

static void
test_pipeline_cache (void)
{
  VKT_REQUIRE ();
  if (ts_vk_pipeline_cache_path (vkt_vk) == NULL) {
    g_test_skip ("pipeline cache disabled (TESSERA_VK_PIPELINE_CACHE=0)");
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_strdup (ts_vk_pipeline_cache_path (vkt_vk));
  g_assert_true (g_str_has_prefix (path, g_get_user_cache_dir ()));
  g_assert_nonnull (strstr (path, "tessera/vk-pipelines/"));
  g_unlink (path);

  /* A backend that creates a pipeline saves the cache when it goes. */
  TsBackend *be = ts_backend_new_vulkan (-1, TRUE, &error);
  g_assert_no_error (error);
  g_assert_false (ts_vk_pipeline_cache_loaded (ts_vk_backend_from (be)));
  g_autofree float *v = ramp (100, 1.0f);
  TsTensor *t = ts_tensor_new_f32 (be, 1, SHAPE (100), v);
  TsTensor *u = ts_silu (be, t);
  g_assert_true (ts_backend_sync (be, &error));
  ts_tensor_unref (t);
  ts_tensor_unref (u);
  ts_backend_free (be);

  g_autofree char *data = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (path, &data, &size, &error));
  g_assert_cmpuint (size, >=, 32);
  guint32 header[4];
  memcpy (header, data, sizeof header);
  g_assert_cmpuint (header[0], >=, 32);  /* headerSize */
  g_assert_cmpuint (header[1], ==, 1);   /* VK_PIPELINE_CACHE_HEADER_VERSION_ONE */

  /* The next backend loads it. */
  be = ts_backend_new_vulkan (-1, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (ts_vk_pipeline_cache_loaded (ts_vk_backend_from (be)));
  ts_backend_free (be);

  /* A cache from another device (its header names another vendor) is ignored. */
  header[2] ^= 0xffff;
  memcpy (data, header, sizeof header);
  g_assert_true (g_file_set_contents (path, data, (gssize) size, &error));
  be = ts_backend_new_vulkan (-1, TRUE, &error);
  g_assert_no_error (error);
  g_assert_false (ts_vk_pipeline_cache_loaded (ts_vk_backend_from (be)));
  ts_backend_free (be);

  /* So is garbage. */
  g_assert_true (g_file_set_contents (path, "not a cache", -1, &error));
  be = ts_backend_new_vulkan (-1, TRUE, &error);
  g_assert_no_error (error);
  g_assert_false (ts_vk_pipeline_cache_loaded (ts_vk_backend_from (be)));
  t = ts_tensor_new_f32 (be, 1, SHAPE (100), v);
  u = ts_silu (be, t);
  g_autofree float *got = read_f32 (u);
  g_assert_cmpfloat_with_epsilon (got[0], v[0] / (1.0f + expf (-v[0])), 1e-4);
  ts_tensor_unref (t);
  ts_tensor_unref (u);
  ts_backend_free (be);
}

/* ---- recording: barriers, batching ---- */

static guint64
barriers (void)
{
  TsVkCounters c;
  ts_vk_get_counters (vkt_vk, &c);
  return c.barriers;
}

static void
test_barriers (void)
{
  VKT_REQUIRE ();
  g_autoptr (GError) error = NULL;
  g_autofree float *v = ramp (1000, 1.0f);
  g_autoptr (TsTensor) a = ts_tensor_new_f32 (vkt_be, 1, SHAPE (1000), v);
  g_autoptr (TsTensor) c = ts_tensor_new_f32 (vkt_be, 1, SHAPE (1000), v);
  /* A dependent pair first: its barrier leaves only live tensors in the pending lists. */
  g_autoptr (TsTensor) x = ts_scale (vkt_be, a, 1.0f, 0.0f);
  g_autoptr (TsTensor) y = ts_scale (vkt_be, x, 1.0f, 0.0f);
  g_assert_true (ts_backend_sync (vkt_be, &error));

  guint64 b0 = barriers ();
  g_autoptr (TsTensor) b = ts_scale (vkt_be, a, 2.0f, 0.0f);   /* reads a, writes b */
  g_autoptr (TsTensor) d = ts_scale (vkt_be, c, 2.0f, 0.0f);   /* independent */
  g_assert_cmpuint (barriers (), ==, b0);
  g_autoptr (TsTensor) a2 = ts_scale (vkt_be, a, 3.0f, 0.0f);  /* read after read */
  g_assert_cmpuint (barriers (), ==, b0);

  /* Write after read: zero `a`, which the two dispatches above read. */
  TsVkBinding bind;
  uint32_t off;
  g_assert_true (ts_vk_bind_tensor (vkt_vk, a, TRUE, &bind, &off, &error));
  struct { uint32_t shape[4], s1[4], s2[4], n, src_off, dst_off, lo, hi; } pc = {
    .shape = { 1, 1, 1, 1000 }, .s2 = { 0, 0, 0, 1 }, .n = 1000, .dst_off = off,
  };
  uint32_t spec[4] = { 64, TS_DTYPE_F32, TS_DTYPE_F32, 0 };
  g_assert_true (ts_vk_dispatch (vkt_vk, TS_VK_KERNEL_FILL, spec, 4, &bind, 1, &pc, sizeof pc,
                                 (1000 + 63) / 64, 1, 1, 0, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (barriers (), ==, b0 + 1);

  /* b was written before that barrier: reading it needs none; reading e right after it
   * was written does. */
  g_autoptr (TsTensor) e = ts_scale (vkt_be, b, 2.0f, 0.0f);
  g_assert_cmpuint (barriers (), ==, b0 + 1);
  g_autoptr (TsTensor) f = ts_scale (vkt_be, e, 0.5f, 0.0f);
  g_assert_cmpuint (barriers (), ==, b0 + 2);

  g_autofree float *fv = read_f32 (f);
  g_autofree float *a2v = read_f32 (a2);
  g_autofree float *dv = read_f32 (d);
  g_autofree float *av = read_f32 (a);
  for (int i = 0; i < 1000; i++) {
    g_assert_cmpfloat (fv[i], ==, v[i] * 2.0f);
    g_assert_cmpfloat (a2v[i], ==, v[i] * 3.0f);
    g_assert_cmpfloat (dv[i], ==, v[i] * 2.0f);
    g_assert_cmpfloat (av[i], ==, 0.0f);
  }
}

/* Many dispatches go out in a few submits, not one each. */
static void
test_batching (void)
{
  VKT_REQUIRE ();
  if (vkt_options.dispatches_per_submit != 0) {
    g_test_skip ("TESSERA_VK_DISPATCHES_PER_SUBMIT overrides the batching under test");
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autofree float *v = ramp (256, 1.0f);
  TsTensor *t = ts_tensor_new_f32 (vkt_be, 1, SHAPE (256), v);
  g_assert_true (ts_backend_sync (vkt_be, &error));
  TsVkCounters before, after;
  ts_vk_get_counters (vkt_vk, &before);
  for (int i = 0; i < 200; i++) {
    TsTensor *next = ts_scale (vkt_be, t, 1.0f, 0.5f);
    ts_tensor_unref (t);
    t = next;
  }
  g_assert_true (ts_backend_sync (vkt_be, &error));
  ts_vk_get_counters (vkt_vk, &after);
  g_assert_cmpuint (after.dispatches - before.dispatches, ==, 200);
  g_assert_cmpuint (after.submits - before.submits, >=, 2);  /* flushed along the way */
  g_assert_cmpuint (after.submits - before.submits, <=, 10);
  g_autofree float *got = read_f32 (t);
  for (int i = 0; i < 256; i++)
    g_assert_cmpfloat (got[i], ==, v[i] + 100.0f);
  ts_tensor_unref (t);
}

/* ---- profiling ---- */

static const TsProfileEntry *
find_entry (const TsProfileEntry *e, guint n, const char *name)
{
  for (guint i = 0; i < n; i++)
    if (strcmp (e[i].name, name) == 0)
      return &e[i];
  return NULL;
}

static void
test_timestamps (void)
{
  VKT_REQUIRE ();
  g_autofree float *v = ramp (10000, 0.01f);
  g_autoptr (TsTensor) x = ts_tensor_new_f32 (vkt_be, 2, SHAPE (100, 100), v);
  ts_backend_profile_reset (vkt_be);
  ts_backend_set_profiling (vkt_be, TRUE);
  for (int i = 0; i < 3; i++) {
    g_autoptr (TsTensor) s = ts_softmax (vkt_be, x);
    g_autoptr (TsTensor) g = ts_gelu (vkt_be, x);
  }
  /* Several dispatches, one op: counted once. */
  g_autoptr (TsTensor) gn = ts_group_norm (vkt_be, x, 4, NULL, NULL, 1e-5f);
  ts_backend_set_profiling (vkt_be, FALSE);
  g_autoptr (TsTensor) untimed = ts_silu (vkt_be, x);

  guint n = 0;
  g_autofree TsProfileEntry *e = ts_backend_profile (vkt_be, &n);
  const TsProfileEntry *sm = find_entry (e, n, "softmax");
  const TsProfileEntry *ge = find_entry (e, n, "gelu");
  const TsProfileEntry *gr = find_entry (e, n, "group_norm");
  g_assert_nonnull (sm);
  g_assert_nonnull (ge);
  g_assert_nonnull (gr);
  g_assert_null (find_entry (e, n, "silu"));
  g_assert_cmpuint (sm->count, ==, 3);
  g_assert_cmpuint (ge->count, ==, 3);
  g_assert_cmpuint (gr->count, ==, 1);
  g_assert_cmpfloat (sm->seconds, >, 0.0);
  g_assert_cmpfloat (sm->seconds, <, 60.0);
  g_assert_cmpfloat (sm->bytes, >, 0.0);
  for (guint i = 1; i < n; i++)
    g_assert_cmpfloat (e[i - 1].seconds, >=, e[i].seconds);

  ts_backend_profile_reset (vkt_be);
  g_autofree TsProfileEntry *none = ts_backend_profile (vkt_be, &n);
  g_assert_cmpuint (n, ==, 0);
  assert_no_backend_error (vkt_be);
}

/* Without timestamp queries, profiling times each dispatch from the host. */
static void
test_timestamps_fallback (void)
{
  VKT_REQUIRE ();
  TsVkOptions options = vkt_options;
  options.disable_timestamps = TRUE;
  TsBackend *be = vkt_backend_new (&options);
  g_autofree char *desc = ts_backend_describe (be);
  g_assert_nonnull (strstr (desc, "timestamps no"));
  g_autofree float *v = ramp (1000, 0.01f);
  TsTensor *x = ts_tensor_new_f32 (be, 1, SHAPE (1000), v);
  ts_backend_set_profiling (be, TRUE);
  TsTensor *y = ts_silu (be, x);
  TsTensor *z = ts_silu (be, y);
  guint n = 0;
  g_autofree TsProfileEntry *e = ts_backend_profile (be, &n);
  const TsProfileEntry *silu = find_entry (e, n, "silu");
  g_assert_nonnull (silu);
  g_assert_cmpuint (silu->count, ==, 2);
  g_assert_cmpfloat (silu->seconds, >, 0.0);
  g_autofree float *got = read_f32 (z);
  g_assert_cmpfloat_with_epsilon (got[0], (v[0] / (1 + expf (-v[0]))) / (1 + expf (-(v[0] / (1 + expf (-v[0]))))), 1e-5);
  ts_tensor_unref (x);
  ts_tensor_unref (y);
  ts_tensor_unref (z);
  ts_backend_free (be);
}

/* ---- error paths ---- */

static void
test_dispatch_errors (void)
{
  VKT_REQUIRE ();
  g_autoptr (GError) error = NULL;
  g_autoptr (TsTensor) t = ts_tensor_new (vkt_be, TS_DTYPE_F32, 1, SHAPE (64));
  TsVkBinding b;
  uint32_t off, spec[1] = { 64 };
  guint8 push[132] = { 0 };
  g_assert_true (ts_vk_bind_tensor (vkt_vk, t, TRUE, &b, &off, &error));

  const uint32_t fill_push = ts_vk_kernels[TS_VK_KERNEL_FILL].push_size;
  g_assert_false (ts_vk_dispatch (vkt_vk, TS_VK_KERNEL_COUNT, NULL, 0, &b, 1, NULL, 0, 1, 1, 1,
                                  0, 0, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* a push block of another size than the module's (a C struct out of step with it) */
  g_assert_false (ts_vk_dispatch (vkt_vk, TS_VK_KERNEL_FILL, spec, 1, &b, 1, push,
                                  fill_push - 4, 1, 1, 1, 0, 0, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "push"));
  g_clear_error (&error);
  g_assert_false (ts_vk_dispatch (vkt_vk, TS_VK_KERNEL_FILL, spec, 1, &b, 1, push, sizeof push,
                                  1, 1, 1, 0, 0, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (ts_vk_dispatch (vkt_vk, TS_VK_KERNEL_FILL, spec, 1, &b, 1, push, fill_push,
                                  ts_vk_limits (vkt_vk)->max_workgroup_count[0] + 1u, 1, 1, 0, 0,
                                  &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  TsVkBinding bogus = b;
  bogus.range = b.range + 4096;
  g_assert_false (ts_vk_dispatch (vkt_vk, TS_VK_KERNEL_FILL, spec, 1, &bogus, 1, push,
                                  fill_push, 1, 1, 1, 0, 0, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  uint32_t many[17] = { 64 };
  g_assert_false (ts_vk_dispatch (vkt_vk, TS_VK_KERNEL_FILL, many, 17, &b, 1, push, fill_push,
                                  1, 1, 1, 0, 0, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* Zero groups: nothing recorded, no error. */
  g_assert_true (ts_vk_dispatch (vkt_vk, TS_VK_KERNEL_FILL, spec, 1, &b, 1, push, fill_push, 0,
                                 1, 1, 0, 0, &error));

  /* A tensor of another backend cannot be bound. */
  g_autoptr (TsBackend) cpu = ts_backend_new_cpu (1, &error);
  g_assert_no_error (error);
  g_autoptr (TsTensor) ct = ts_tensor_new (cpu, TS_DTYPE_F32, 1, SHAPE (4));
  g_assert_false (ts_vk_bind_tensor (vkt_vk, ct, FALSE, &b, &off, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Every kernel id has its module, with the sizes read from it. */
  for (int k = 0; k < TS_VK_KERNEL_COUNT; k++) {
    const TsVkKernel *kernel = &ts_vk_kernels[k];
    g_assert_nonnull (kernel->name);
    g_assert_nonnull (kernel->code);
    g_assert_cmpuint (kernel->size % 4, ==, 0);
    g_assert_cmpuint (kernel->code[0], ==, 0x07230203);
    g_assert_cmpuint (kernel->push_size, <=, 128);
    g_assert_cmpuint (kernel->push_size % 4, ==, 0);
    g_assert_cmpuint (kernel->n_spec, >=, 1); /* every kernel's workgroup size is one */
  }

  check_roundtrip (vkt_be);
}

int
main (int argc, char **argv)
{
  g_autofree char *cache = NULL;
  g_test_init (&argc, &argv, NULL);
  if (!g_test_subprocess ()) {
    /* A private cache folder, so the pipeline-cache test never touches the user's. */
    cache = g_dir_make_tmp ("tessera-vk-test-XXXXXX", NULL);
    g_setenv ("XDG_CACHE_HOME", cache, TRUE);
    vkt_setup ();
  }

  VKT_ADD ("/vulkan/runtime/device", test_device);
  VKT_ADD ("/vulkan/runtime/device-choice", test_device_choice);
  g_test_add_func ("/vulkan/runtime/no-driver", test_no_driver);
  g_test_add_func ("/vulkan/runtime/options-from-env", test_options_from_env);
  VKT_ADD ("/vulkan/runtime/memory", test_memory);
  VKT_ADD ("/vulkan/runtime/memory-staged", test_memory_staged);
  VKT_ADD ("/vulkan/runtime/out-of-memory", test_out_of_memory);
  VKT_ADD ("/vulkan/runtime/deferred-release", test_deferred_release);
  VKT_ADD ("/vulkan/runtime/grid", test_grid);
  VKT_ADD ("/vulkan/runtime/bind-limits", test_bind_limits);
  VKT_ADD ("/vulkan/runtime/pipeline-cache", test_pipeline_cache);
  VKT_ADD ("/vulkan/runtime/barriers", test_barriers);
  VKT_ADD ("/vulkan/runtime/batching", test_batching);
  VKT_ADD ("/vulkan/runtime/timestamps", test_timestamps);
  VKT_ADD ("/vulkan/runtime/timestamps-fallback", test_timestamps_fallback);
  VKT_ADD ("/vulkan/runtime/dispatch-errors", test_dispatch_errors);

  int ret = g_test_run ();
  vkt_teardown ();
  if (cache != NULL) {
    g_autofree char *dir = g_build_filename (cache, "tessera", "vk-pipelines", NULL);
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
    g_autofree char *tessera = g_build_filename (cache, "tessera", NULL);
    g_rmdir (dir);
    g_rmdir (tessera);
    g_rmdir (cache);
  }
  return ret;
}
