/* replay.c — runs a fuzz target over its corpus without libFuzzer, as a normal test (TAP):
 * every file under the folders (or the files) given on the command line is one input. */
#include <glib.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
collect (const char *path, GPtrArray *files)
{
  if (!g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_ptr_array_add (files, g_strdup (path));
    return;
  }
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir))) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    collect (child, files);
  }
  if (dir)
    g_dir_close (dir);
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    collect (argv[i], files);
  g_ptr_array_sort (files, compare_paths);
  if (files->len == 0) {
    g_print ("1..0 # SKIP empty corpus\n");
    return 0;
  }
  g_print ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++) {
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr (GError) error = NULL;
    if (!g_file_get_contents (files->pdata[i], &data, &len, &error)) {
      g_print ("not ok %u - %s: %s\n", i + 1, (char *) files->pdata[i], error->message);
      continue;
    }
    LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
    g_print ("ok %u - %s\n", i + 1, (char *) files->pdata[i]);
  }
  return 0;
}
