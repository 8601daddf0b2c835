/* test-reliability.c — resource limits and faults on the tiny model: memory budgets, injected
 * out-of-memory and device loss (TESSERA_FAULT's plan, set here with ts_fault_configure), the
 * pipeline's fallbacks, and the Vulkan backend under the validation layer for whole requests.
 * Each test proves: a clear error (or a result with a notice), no crash, and that the next
 * request succeeds. */
#include "model/ts-safetensors-writer.h"
#include "pipeline-fixture.h"
#include "ts-atomic-file.h"
#include "ts-fault.h"
#include "vulkan/vk-options.h"
#include "vulkan/vk-runtime.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

static char *
tiny_dir (void)
{
  return nn_tiny_model_dir (NULL);
}

#define NEED_DIR(d)                                                                       \
  g_autofree char *d = tiny_dir ();                                                       \
  if (!d) {                                                                               \
    g_test_skip ("no goldens folder with the tiny model");                                \
    return;                                                                               \
  }

/* A Vulkan backend (lavapipe allowed) with `options`, NULL: the environment's (as
 * ts_backend_new_vulkan); NULL with the test skipped when there is none. */
static TsBackend *
vulkan_with_options_or_skip (const TsVkOptions *options)
{
  g_autoptr (GError) error = NULL;
  TsVkOptions env;
  ts_vk_options_from_env (&env);
  TsBackend *vk = ts_vk_backend_new_with_options (-1, TRUE, options ? options : &env, &error);
  if (!vk)
    g_test_skip_printf ("no Vulkan device: %s", error->message);
  return vk;
}

static TsBackend *
vulkan_or_skip (void)
{
  return vulkan_with_options_or_skip (NULL);
}

static void
generate_request (TsPipelineRequest *req)
{
  ts_pipeline_request_init (req, TS_MODE_GENERATE);
  req->prompt = "a lighthouse";
  req->steps = 3;
  req->seed = 3;
}

static void
assert_same_tokens (const TsPipelineResult *a, const TsPipelineResult *b)
{
  g_assert_cmpint (a->token_width, ==, b->token_width);
  g_assert_cmpmem (a->tokens[0], a->token_width * a->token_height * 4, b->tokens[0],
                   b->token_width * b->token_height * 4);
}

/* The plan's syntax: bad specs are refused with a message naming the syntax; N counts from 1;
 * "+" keeps failing. */
static void
test_fault_plan (void)
{
  static const char *const bad[] = { "alloc", "alloc:0", "alloc:x", "disk:1", "alloc:1-",
                                     "device-lost:2,alloc" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_assert_false (ts_fault_configure (bad[i], &error));
    g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "kind:N"));
    g_assert_false (ts_fault_hit (TS_FAULT_ALLOC)); /* a bad plan injects nothing */
  }
  g_assert_true (ts_fault_configure ("alloc:3, device-lost:2+", NULL));
  gboolean a[5], d[4];
  for (int i = 0; i < 5; i++)
    a[i] = ts_fault_hit (TS_FAULT_ALLOC);
  for (int i = 0; i < 4; i++)
    d[i] = ts_fault_hit (TS_FAULT_DEVICE_LOST);
  g_assert_true (!a[0] && !a[1] && a[2] && !a[3] && !a[4]);
  g_assert_true (!d[0] && d[1] && d[2] && d[3]);
  g_assert_false (ts_fault_hit (TS_FAULT_VK_ALLOC));
  g_assert_true (ts_fault_configure ("write:2+", NULL));
  g_assert_false (ts_fault_hit (TS_FAULT_WRITE));
  g_assert_true (ts_fault_hit (TS_FAULT_WRITE) && ts_fault_hit (TS_FAULT_WRITE));
  g_assert_true (ts_fault_configure (NULL, NULL));
  g_assert_false (ts_fault_hit (TS_FAULT_DEVICE_LOST));
}

/* The budget is checked before allocating: the error names it, nothing is charged for the
 * refused tensor, freed tensors give their bytes back, the backend goes on working. */
static void
test_cpu_budget (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsBackend) cpu = ts_backend_new_cpu (1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ts_backend_get_memory_budget (cpu), >, 0); /* 3/4 of RAM by default */
  ts_backend_set_memory_budget (cpu, 4096);
  int64_t small[] = { 512 }, big[] = { 2048 };
  g_autoptr (TsTensor) a = ts_tensor_new (cpu, TS_DTYPE_F32, 1, small);
  g_assert_nonnull (a);
  guint64 used, peak;
  ts_backend_memory_usage (cpu, &used, &peak);
  g_assert_cmpuint (used, ==, 2048);
  g_assert_null (ts_tensor_new (cpu, TS_DTYPE_F32, 1, big));
  g_assert_true (ts_backend_take_error (cpu, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "memory budget"));
  g_clear_error (&error);
  ts_backend_memory_usage (cpu, &used, &peak);
  g_assert_cmpuint (used, ==, 2048);
  g_clear_pointer (&a, ts_tensor_unref);
  ts_backend_memory_usage (cpu, &used, &peak);
  g_assert_cmpuint (used, ==, 0);
  g_assert_cmpuint (peak, ==, 2048);
  g_autoptr (TsTensor) b = ts_tensor_new (cpu, TS_DTYPE_F32, 1, small);
  g_assert_nonnull (b);
  g_assert_false (ts_backend_has_error (cpu));
}

/* An injected allocation failure in the middle of a request on the CPU: a clear
 * out-of-memory error, no crash, and the same request then gives the undisturbed result. */
static void
test_cpu_alloc_fault (void)
{
  NEED_DIR (dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsBackend) cpu = ts_backend_new_cpu (0, &error);
  g_autoptr (TsPipeline) p = ts_pipeline_new (cpu, dir, &error);
  g_assert_no_error (error);
  TsPipelineRequest req;
  generate_request (&req);
  g_autoptr (TsPipelineResult) ref = pipeline_run_ok (p, &req);
  g_assert_null (ref->notice);
  for (int at = 1; at <= 64; at *= 4) {
    g_autofree char *plan = g_strdup_printf ("alloc:%d", at);
    g_assert_true (ts_fault_configure (plan, NULL));
    g_autoptr (TsPipelineResult) res = ts_pipeline_run (p, &req, &error);
    g_assert_null (res);
    g_assert_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY);
    g_assert_nonnull (strstr (error->message, "out of memory"));
    g_clear_error (&error);
    g_assert_false (ts_backend_has_error (cpu));
  }
  ts_fault_configure (NULL, NULL);
  g_autoptr (TsPipelineResult) again = pipeline_run_ok (p, &req);
  assert_same_tokens (ref, again);
}

/* Samples 3 guided steps for 2 rows from all-masked tokens; *peak: the most storage held
 * meanwhile. */
static gboolean
sample_rows (TsRunContext *ctx, TsUvitCond *cond, int32_t *tokens, guint64 *peak,
             GError **error)
{
  TsPipeline *p = ctx->pipeline;
  g_autoptr (TsSchedule) s = ts_schedule_new (3, 2.0f, 0.0f, p->scheduler.masking_schedule,
                                              p->mask_id, p->codebook_size);
  static const guint64 seeds[] = { 5, 6 };
  int side = p->native / p->scale;
  TsSampleLoop l = { .schedule = s, .rows = 2, .h = side, .w = side, .cfg = TRUE,
                     .guidance = 10.0f, .starting_mask_ratio = 1.0f, .seeds = seeds };
  for (int i = 0; i < 2 * side * side; i++)
    tokens[i] = p->mask_id;
  ts_backend_reset_memory_peak (p->be);
  gboolean ok = ts_pipeline_sample (ctx, cond, &l, tokens, error);
  ts_backend_memory_usage (p->be, NULL, peak);
  return ok;
}

/* CFG's halves one after the other give the batched tokens with a smaller peak; a budget
 * between the two peaks makes the sampler switch to halves by itself, with a notice. */
static void
test_split_cfg_fallback (void)
{
  NEED_DIR (dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsBackend) cpu = ts_backend_new_cpu (0, &error);
  g_autoptr (TsPipeline) p = ts_pipeline_new (cpu, dir, &error);
  g_assert_no_error (error);
  const char *prompts[] = { "a lighthouse", "a lighthouse" };
  TsCondRequest cr = { .rows = 2, .prompts = prompts, .guidance = 10.0, .width = p->native,
                       .height = p->native, .aesthetic = 6.0 };
  /* One request's context, as ts_pipeline_run would make, across the samplings below. */
  g_auto (TsRunContext) ctx = { 0 };
  ts_run_context_init (&ctx, p, ts_pipeline_now ());
  g_autoptr (TsUvitCond) cond = ts_pipeline_encode (&ctx, &cr, &error);
  g_assert_no_error (error);
  int side = p->native / p->scale;
  gsize n = (gsize) 2 * side * side;
  g_autofree int32_t *batched = g_new (int32_t, n), *halves = g_new (int32_t, n);
  g_autofree int32_t *auto_split = g_new (int32_t, n);
  guint64 base, peak_batched, peak_halves, peak_auto;
  ts_backend_memory_usage (cpu, &base, NULL);

  g_assert_true (sample_rows (&ctx, cond, batched, &peak_batched, &error));
  ctx.split_cfg = TRUE;
  g_assert_true (sample_rows (&ctx, cond, halves, &peak_halves, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (batched, n * 4, halves, n * 4);
  g_test_message ("peak storage while sampling: %" G_GUINT64_FORMAT " bytes batched, %"
                  G_GUINT64_FORMAT " in halves (%" G_GUINT64_FORMAT " held before)",
                  peak_batched, peak_halves, base);
  g_assert_cmpuint (peak_halves, <, peak_batched);

  ctx.split_cfg = FALSE;
  g_string_truncate (ctx.notices, 0);
  ts_backend_set_memory_budget (cpu, (peak_halves + peak_batched) / 2);
  g_assert_true (sample_rows (&ctx, cond, auto_split, &peak_auto, &error));
  g_assert_no_error (error);
  g_assert_true (ctx.split_cfg);
  g_assert_nonnull (strstr (ctx.notices->str, "halves separately"));
  g_assert_nonnull (strstr (ctx.notices->str, "memory budget"));
  g_assert_cmpmem (batched, n * 4, auto_split, n * 4);

  /* below what even the halves need: a clear error; with room again, fine */
  ts_backend_set_memory_budget (cpu, base + 1024);
  g_assert_false (sample_rows (&ctx, cond, auto_split, &peak_auto, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "memory budget"));
  g_clear_error (&error);
  ts_backend_set_memory_budget (cpu, 0);
  ctx.split_cfg = FALSE;
  g_assert_true (sample_rows (&ctx, cond, auto_split, &peak_auto, &error));
  g_assert_cmpmem (batched, n * 4, auto_split, n * 4);
}

/* The driver's out-of-memory on every Vulkan allocation (injected after the model is
 * loaded): the request falls back to the CPU and says so; with the fault gone the GPU works
 * again, and without fallback the error is the driver's. */
static void
test_vulkan_oom_falls_back (void)
{
  NEED_DIR (dir);
  g_autoptr (TsBackend) vk = vulkan_or_skip ();
  if (!vk)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsPipeline) p = ts_pipeline_new (vk, dir, &error);
  g_assert_no_error (error);
  TsPipelineRequest req;
  generate_request (&req);
  g_autoptr (TsPipelineResult) ref = pipeline_run_ok (p, &req);
  g_assert_null (ref->notice);
  g_assert_cmpstr (ref->backend, ==, ts_backend_name (vk));

  g_assert_true (ts_fault_configure ("vk-alloc:1+", NULL));
  g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
  g_assert_nonnull (res->notice);
  g_assert_nonnull (strstr (res->notice, "out of memory"));
  g_assert_nonnull (strstr (res->notice, "CPU backend"));
  g_assert_cmpstr (res->backend, ==, "cpu");
  assert_same_tokens (ref, res);
  g_assert_false (ts_backend_is_lost (vk));

  ts_pipeline_set_cpu_fallback (p, FALSE);
  g_assert_null (ts_pipeline_run (p, &req, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY);
  g_clear_error (&error);
  ts_pipeline_set_cpu_fallback (p, TRUE);

  ts_fault_configure (NULL, NULL);
  g_autoptr (TsPipelineResult) back = pipeline_run_ok (p, &req);
  g_assert_null (back->notice);
  g_assert_cmpstr (back->backend, ==, ts_backend_name (vk));
  assert_same_tokens (ref, back);
}

/* The request on a plain CPU pipeline: what a fallback must give. */
static TsPipelineResult *
cpu_reference (const char *dir, const TsPipelineRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsBackend) cpu = ts_backend_new_cpu (0, &error);
  g_autoptr (TsPipeline) p = ts_pipeline_new (cpu, dir, &error);
  g_assert_no_error (error);
  TsPipelineResult *res = pipeline_run_ok (p, req);
  res->backend = NULL;   /* names the backend freed here */
  return res;
}

/* A pipeline whose weights did not fit on `vk`: loaded on a CPU backend of its own, saying
 * why in its load notice and in every result; with fallback off, the loading error. Nothing
 * of the failed load stays on the GPU, which works again afterwards. */
static void
assert_loaded_on_cpu (TsPipeline *p, TsBackend *vk, const char *dir, const char *why)
{
  g_assert_cmpint (ts_backend_kind (ts_pipeline_backend (p)), ==, TS_BACKEND_CPU);
  const char *notice = ts_pipeline_load_notice (p);
  g_assert_nonnull (notice);
  g_test_message ("load notice: %s", notice);
  g_assert_nonnull (strstr (notice, "weights do not fit"));
  g_assert_nonnull (strstr (notice, why));
  g_assert_nonnull (strstr (notice, "CPU backend"));
  g_autofree char *described = ts_pipeline_describe (p);
  g_assert_nonnull (strstr (described, notice));
  guint64 used;
  ts_backend_memory_usage (vk, &used, NULL);
  g_assert_cmpuint (used, ==, 0);
  g_assert_false (ts_backend_has_error (vk));

  TsPipelineRequest req;
  generate_request (&req);
  g_autoptr (TsPipelineResult) ref = cpu_reference (dir, &req);
  g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
  g_assert_cmpstr (res->backend, ==, "cpu");
  g_assert_nonnull (res->notice);
  g_assert_nonnull (strstr (res->notice, notice));
  assert_same_tokens (ref, res);

  g_autoptr (GError) error = NULL;
  ts_pipeline_set_cpu_fallback (p, FALSE);
  g_assert_null (ts_pipeline_run (p, &req, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY);
  ts_pipeline_set_cpu_fallback (p, TRUE);
}

/* A 1 MiB budget given when the backend is made (what TESSERA_MEMORY_BUDGET=vulkan:1M
 * gives): the weights do not fit on the GPU, so the model is loaded on the CPU instead of
 * failing; with room again it loads on the GPU. */
static void
test_vulkan_weights_over_budget (void)
{
  NEED_DIR (dir);
  TsVkOptions options;
  ts_vk_options_from_env (&options);
  options.set_memory_budget = TRUE;
  options.memory_budget = 1 << 20;
  g_autoptr (TsBackend) vk = vulkan_with_options_or_skip (&options);
  if (!vk)
    return;
  g_assert_cmpuint (ts_backend_get_memory_budget (vk), ==, 1 << 20);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsPipeline) p = ts_pipeline_new (vk, dir, &error);
  g_assert_no_error (error);
  assert_loaded_on_cpu (p, vk, dir, "memory budget");

  ts_backend_set_memory_budget (vk, 0);
  g_autoptr (TsPipeline) roomy = ts_pipeline_new (vk, dir, &error);
  g_assert_no_error (error);
  g_assert_true (ts_pipeline_backend (roomy) == vk);
  g_assert_null (ts_pipeline_load_notice (roomy));
}

/* The driver out of device memory part way through loading (TESSERA_FAULT=vk-alloc:N): the
 * same fallback, whichever allocation fails. */
static void
test_vulkan_alloc_fault_at_load (void)
{
  NEED_DIR (dir);
  g_autoptr (TsBackend) vk = vulkan_or_skip ();
  if (!vk)
    return;
  for (int at = 1; at <= 25; at += 12) {
    g_autofree char *plan = g_strdup_printf ("vk-alloc:%d", at);
    g_assert_true (ts_fault_configure (plan, NULL));
    g_autoptr (GError) error = NULL;
    g_autoptr (TsPipeline) p = ts_pipeline_new (vk, dir, &error);
    ts_fault_configure (NULL, NULL);
    g_assert_no_error (error);
    assert_loaded_on_cpu (p, vk, dir, "out of memory");
  }
}

/* A lost device (injected at the second submit of a request): the request completes on the
 * CPU with a notice naming the loss, the backend says it is lost, every later use of it is a
 * clear TS_ERROR_DEVICE, later requests go to the CPU, and freeing it does not hang. */
static void
test_vulkan_device_lost (void)
{
  NEED_DIR (dir);
  g_autoptr (TsBackend) vk = vulkan_or_skip ();
  if (!vk)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsPipeline) p = ts_pipeline_new (vk, dir, &error);
  g_assert_no_error (error);
  TsPipelineRequest req;
  generate_request (&req);
  g_autoptr (TsPipelineResult) ref = pipeline_run_ok (p, &req);

  g_assert_true (ts_fault_configure ("device-lost:2", NULL));
  g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
  ts_fault_configure (NULL, NULL);
  g_assert_true (ts_backend_is_lost (vk));
  g_assert_nonnull (res->notice);
  g_assert_nonnull (strstr (res->notice, "lost"));
  g_assert_cmpstr (res->backend, ==, "cpu");
  assert_same_tokens (ref, res);

  int64_t shape[] = { 4 };
  g_assert_null (ts_tensor_new (vk, TS_DTYPE_F32, 1, shape));
  g_assert_true (ts_backend_take_error (vk, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_DEVICE);
  g_assert_nonnull (strstr (error->message, "CPU backend"));
  g_clear_error (&error);

  g_autoptr (TsPipelineResult) later = pipeline_run_ok (p, &req);
  g_assert_cmpstr (later->backend, ==, "cpu");
  g_assert_nonnull (strstr (later->notice, "lost earlier"));
  ts_pipeline_set_cpu_fallback (p, FALSE);
  g_assert_null (ts_pipeline_run (p, &req, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_DEVICE);
}

static gboolean
write_tensor (const char *path, float value, GError **error)
{
  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  const float data[] = { value, value + 1, value + 2 };
  const int64_t shape[] = { 3 };
  return ts_safetensors_writer_add (w, "x", TS_DTYPE_F32, 1, shape, data, error) &&
         ts_safetensors_writer_write (w, path, error);
}

static guint
count_files (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (g_dir_read_name (d))
    n++;
  return n;
}

/* TESSERA_FAULT=write:N, a full disk part way through replacing a file (the safetensors
 * writer, streamed through ts-atomic-file.h as the editor's saves are): a clear error, the
 * old file intact, no temporary file left; an abandoned streamed write leaves nothing. */
static void
test_write_fault (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tessera-write-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (write_tensor (path, 1, &error));
  g_assert_no_error (error);
  g_autofree char *before = NULL;
  gsize before_len;
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));

  /* Pieces: the header length, the header, the data. */
  for (int at = 1; at <= 3; at++) {
    g_autofree char *plan = g_strdup_printf ("write:%d", at);
    g_assert_true (ts_fault_configure (plan, NULL));
    g_assert_false (write_tensor (path, 7, &error));
    ts_fault_configure (NULL, NULL);
    g_assert_error (error, TS_ERROR, TS_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "model.safetensors"));
    g_assert_nonnull (strstr (error->message, g_strerror (ENOSPC)));
    g_clear_error (&error);
    g_autofree char *after = NULL;
    gsize after_len;
    g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
    g_assert_cmpmem (before, before_len, after, after_len);
    g_assert_cmpuint (count_files (dir), ==, 1);
  }

  g_autofree char *other = g_build_filename (dir, "other.bin", NULL);
  TsAtomicFile *f = ts_atomic_file_new (other, &error);
  g_assert_no_error (error);
  g_assert_true (ts_atomic_file_write (f, "abc", 3, &error));
  g_assert_cmpuint (count_files (dir), ==, 2);   /* the hidden temporary file */
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint temps = 0;
  while ((name = g_dir_read_name (d)))
    temps += ts_atomic_file_is_temp_name (name);
  g_assert_cmpuint (temps, ==, 1);
  ts_atomic_file_free (f);
  g_assert_cmpuint (count_files (dir), ==, 1);

  g_assert_true (write_tensor (path, 7, &error));
  g_assert_no_error (error);
  g_unlink (path);
  g_rmdir (dir);
}

/* Whole requests (guided generate, inpaint) on Vulkan under the Khronos validation layer
 * with synchronization validation: not one message. */
static void
test_vulkan_validation_clean (void)
{
  NEED_DIR (dir);
  TsVkOptions options;
  ts_vk_options_from_env (&options);
  options.validation = TRUE;
  g_autoptr (TsBackend) vk = vulkan_with_options_or_skip (&options);
  if (!vk)
    return;
  if (!ts_vk_validation_active (ts_vk_backend_from (vk))) {
    g_test_skip ("the Khronos validation layer is not installed (vulkan-validationlayers)");
    return;
  }
  guint before = ts_vk_validation_message_count ();
  g_autoptr (GError) error = NULL;
  g_autoptr (TsPipeline) p = ts_pipeline_new (vk, dir, &error);
  g_assert_no_error (error);
  ts_pipeline_set_cpu_fallback (p, FALSE);
  TsPipelineRequest req;
  generate_request (&req);
  req.steps = 2;
  g_autoptr (TsPipelineResult) gen = pipeline_run_ok (p, &req);

  g_autoptr (TsImage) mask = ts_image_new (128, 128, 1, NULL);
  memset (mask->pixels + 128 * 40, 255, 128 * 30);
  ts_pipeline_request_init (&req, TS_MODE_INPAINT);
  req.prompt = "a window";
  req.steps = 2;
  req.image = gen->images[0];
  req.mask = mask;
  g_autoptr (TsPipelineResult) inp = pipeline_run_ok (p, &req);
  g_assert_true (ts_backend_sync (vk, NULL));
  g_assert_cmpuint (ts_vk_validation_message_count () - before, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The plan is set by the tests; one inherited from the environment would confuse them. */
  g_unsetenv ("TESSERA_FAULT");
  g_unsetenv ("TESSERA_MEMORY_BUDGET");
  g_test_add_func ("/reliability/fault-plan", test_fault_plan);
  g_test_add_func ("/reliability/cpu-budget", test_cpu_budget);
  g_test_add_func ("/reliability/cpu-alloc-fault", test_cpu_alloc_fault);
  g_test_add_func ("/reliability/split-cfg-fallback", test_split_cfg_fallback);
  g_test_add_func ("/reliability/vulkan-oom-falls-back", test_vulkan_oom_falls_back);
  g_test_add_func ("/reliability/vulkan-device-lost", test_vulkan_device_lost);
  g_test_add_func ("/reliability/vulkan-weights-over-budget", test_vulkan_weights_over_budget);
  g_test_add_func ("/reliability/vulkan-alloc-fault-at-load", test_vulkan_alloc_fault_at_load);
  g_test_add_func ("/reliability/vulkan-validation-clean", test_vulkan_validation_clean);
  g_test_add_func ("/reliability/write-fault", test_write_fault);
  return g_test_run ();
}
