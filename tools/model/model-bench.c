/* model-bench.c — how long opening a model folder takes and how much memory it holds.
 *
 *   tessera-model-bench synth CONFIG_DIR OUT_DIR [--tokenizer DIR] [--dtype f32|f16]
 *       writes a folder with CONFIG_DIR's configs and random weights (e.g. the amused-256
 *       fixture: ~800 MB in f32; do not commit it)
 *   tessera-model-bench load MODEL_DIR [--backend cpu|none] [--repeat N] [--cold]
 *       opens and validates the folder, creates a backend tensor for every weight (zero-copy
 *       on the CPU backend), then reads every weight byte once; --cold first asks the kernel
 *       to drop the folder's files from the page cache (posix_fadvise), so the first round
 *       reads from disk
 *
 * Each step prints one JSON line: wall time and resident memory (VmRSS / VmHWM). */
#include "model/ts-model-folder.h"
#include "synthetic-model.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static gint64
status_kb (const char *field)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  const char *p = strstr (status, field);
  return p ? g_ascii_strtoll (p + strlen (field) + 1, NULL, 10) : -1;
}

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

/* CPU time of this process (user + system): unlike wall time, not inflated by other load. */
static double
cpu_ms (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double step_cpu_start;

static void
step_begin (void)
{
  step_cpu_start = cpu_ms ();
}

static void
emit (const char *step, const char *path, double ms, const char *extra)
{
  g_autofree char *quoted = g_strescape (path, NULL);
  printf ("{\"step\":\"%s\",\"path\":\"%s\",\"ms\":%.2f,\"cpu_ms\":%.2f,\"rss_kb\":%"
          G_GINT64_FORMAT ",\"hwm_kb\":%" G_GINT64_FORMAT "%s%s}\n", step, quoted, ms,
          cpu_ms () - step_cpu_start, status_kb ("VmRSS:"), status_kb ("VmHWM:"),
          extra ? "," : "", extra ? extra : "");
  fflush (stdout);
}

static int
fail (GError *error)
{
  fprintf (stderr, "error: %s\n", error->message);
  g_error_free (error);
  return 1;
}

static int
cmd_synth (const char *config_dir, const char *out, const char *tokenizer, TsDType dtype)
{
  GError *error = NULL;
  step_begin ();
  double t0 = now_ms ();
  if (!synth_write_folder (out, config_dir, tokenizer, dtype,
                           dtype == TS_DTYPE_F32 ? NULL : "fp16", 1, &error))
    return fail (error);
  emit ("synth", out, now_ms () - t0, NULL);
  return 0;
}

/* Drops the files under `dir` from the page cache (written back first), so the next read
 * comes from the disk; only these files, nothing else on the machine. */
static void
evict_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
      evict_tree (path);
      continue;
    }
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    fdatasync (fd);
    posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
    close (fd);
  }
  if (d)
    g_dir_close (d);
}

/* Creates every weight of `w` as a tensor on `be`; adds them to `out`. */
static gboolean
load_all (TsWeights *w, TsBackend *be, GPtrArray *out, GError **error)
{
  for (guint f = 0; f < ts_weights_n_files (w); f++) {
    TsSafetensors *st = ts_weights_file (w, f);
    for (guint i = 0; i < ts_safetensors_n_tensors (st); i++) {
      const TsSafetensorsTensor *info = ts_safetensors_get (st, i);
      TsTensor *t = ts_safetensors_load (st, info, be, TS_DTYPE_COUNT, error);
      if (!t)
        return FALSE;
      g_ptr_array_add (out, t);
    }
  }
  return TRUE;
}

/* Reads every byte of the weights once (what a first forward pass does to the pages). */
static guint64
touch_all (TsWeights *w)
{
  guint64 sum = 0;
  for (guint f = 0; f < ts_weights_n_files (w); f++) {
    TsSafetensors *st = ts_weights_file (w, f);
    for (guint i = 0; i < ts_safetensors_n_tensors (st); i++) {
      const TsSafetensorsTensor *info = ts_safetensors_get (st, i);
      const guint8 *p = ts_safetensors_data (st, info);
      for (guint64 b = 0; b < info->nbytes; b += 64)
        sum += p[b];
    }
  }
  return sum;
}

static int
load_once (const char *dir, gboolean with_backend, int round)
{
  GError *error = NULL;
  step_begin ();
  double t0 = now_ms ();
  g_autoptr (TsModelFolder) f = ts_model_folder_open (dir, NULL, &error);
  if (!f)
    return fail (error);
  TsWeights *parts[] = { ts_model_folder_transformer_weights (f), ts_model_folder_vq_weights (f),
                         ts_model_folder_text_encoder_weights (f) };
  guint64 bytes = 0;
  guint tensors = 0;
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++) {
    bytes += ts_weights_total_bytes (parts[i]);
    tensors += ts_weights_n_tensors (parts[i]);
  }
  g_autofree char *info = g_strdup_printf ("\"round\":%d,\"tensors\":%u,\"weight_bytes\":%"
                                           G_GUINT64_FORMAT, round, tensors, bytes);
  emit ("open+validate", dir, now_ms () - t0, info);

  g_autoptr (GPtrArray) loaded = g_ptr_array_new_with_free_func ((GDestroyNotify) ts_tensor_unref);
  TsBackend *be = NULL;
  if (with_backend) {
    step_begin ();
    double t1 = now_ms ();
    be = ts_backend_new_cpu (0, &error);
    if (!be)
      return fail (error);
    for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
      if (!load_all (parts[i], be, loaded, &error))
        return fail (error);
    emit ("backend-tensors", dir, now_ms () - t1, "\"backend\":\"cpu\"");
  }

  step_begin ();
  double t2 = now_ms ();
  guint64 sum = 0;
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    sum += touch_all (parts[i]);
  g_autofree char *touched = g_strdup_printf ("\"checksum\":%" G_GUINT64_FORMAT, sum);
  emit ("touch-all-weights", dir, now_ms () - t2, touched);

  int64_t ids[77];
  step_begin ();
  double t3 = now_ms ();
  if (!ts_tokenizer_encode (ts_model_folder_tokenizer (f), "a photo of an astronaut riding a "
                            "horse on mars, highly detailed digital painting", 0, ids, NULL,
                            NULL, &error))
    return fail (error);
  emit ("tokenize-prompt", dir, now_ms () - t3, NULL);

  g_ptr_array_set_size (loaded, 0);
  if (be)
    ts_backend_free (be);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *tokenizer = NULL, *dtype_name = "f32", *backend = "cpu";
  int repeat = 1;
  gboolean cold = FALSE;
  GOptionEntry entries[] = {
    { "tokenizer", 0, 0, G_OPTION_ARG_FILENAME, &tokenizer, "tokenizer folder to copy (synth)", "DIR" },
    { "dtype", 0, 0, G_OPTION_ARG_STRING, &dtype_name, "f32 or f16 (synth)", "T" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, "cpu or none (load)", "B" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "open the folder N times (load)", "N" },
    { "cold", 0, 0, G_OPTION_ARG_NONE, &cold, "drop the folder from the page cache first (load)",
      NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("synth CONFIG_DIR OUT_DIR | load MODEL_DIR");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return fail (error);
  if (argc == 4 && g_str_equal (argv[1], "synth"))
    return cmd_synth (argv[2], argv[3], tokenizer,
                      g_str_equal (dtype_name, "f16") ? TS_DTYPE_F16 : TS_DTYPE_F32);
  if (argc == 3 && g_str_equal (argv[1], "load")) {
    if (cold)
      evict_tree (argv[2]);
    step_begin ();
    emit ("start", argv[2], 0, NULL);
    for (int r = 0; r < MAX (repeat, 1); r++)
      if (load_once (argv[2], g_str_equal (backend, "cpu"), r) != 0)
        return 1;
    return 0;
  }
  g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
  fputs (help, stderr);
  return 2;
}
