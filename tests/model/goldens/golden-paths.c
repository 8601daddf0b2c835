/* golden-paths.c — the goldens folder and the model folders its manifest names. */
#include "golden-paths.h"

#include "tessera.h"

const char *
golden_paths_dir (void)
{
  const char *dir = g_getenv ("TESSERA_GOLDENS");
  if (!dir || !*dir)
    dir = TESSERA_GOLDENS_DIR;
  return g_file_test (dir, G_FILE_TEST_IS_DIR) ? dir : NULL;
}

JsonObject *
golden_paths_manifest (GError **error)
{
  static JsonParser *parser;
  static char *failure;
  if (!parser && !failure) {
    const char *dir = golden_paths_dir ();
    g_autofree char *path = dir ? g_build_filename (dir, "manifest.json", NULL) : NULL;
    g_autoptr (GError) local = NULL;
    if (!dir) {
      failure = g_strdup_printf ("no goldens folder (set TESSERA_GOLDENS; default %s)",
                                 TESSERA_GOLDENS_DIR);
    } else {
      JsonParser *p = json_parser_new ();
      if (json_parser_load_from_file (p, path, &local) &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
        parser = p;
      else {
        failure = g_strdup_printf ("%s: %s", path, local ? local->message : "not an object");
        g_object_unref (p);
      }
    }
  }
  if (!parser) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_IO, failure);
    return NULL;
  }
  return json_node_get_object (json_parser_get_root (parser));
}

char *
golden_paths_tiny (const char *key, GError **error)
{
  JsonObject *root = golden_paths_manifest (error);
  if (!root)
    return NULL;
  JsonNode *tiny = json_object_get_member (root, "tiny_model");
  JsonNode *name = tiny && JSON_NODE_HOLDS_OBJECT (tiny)
                   ? json_object_get_member (json_node_get_object (tiny), key) : NULL;
  if (!name || json_node_get_value_type (name) != G_TYPE_STRING) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "the goldens manifest has no tiny_model.%s", key);
    return NULL;
  }
  return g_build_filename (golden_paths_dir (), json_node_get_string (name), NULL);
}

void
golden_paths_no_goldens_test (gconstpointer reason)
{
  const char *env = g_getenv ("TESSERA_GOLDENS");
  if (env && *env)
    g_test_fail_printf ("TESSERA_GOLDENS=%s: %s", env, (const char *) reason);
  else
    g_test_skip (reason);
}

char *
golden_paths_tiny_model (GError **error, ...)
{
  char *path = golden_paths_tiny ("dir", error);
  va_list args;
  va_start (args, error);
  for (const char *part; path && (part = va_arg (args, const char *));) {
    char *longer = g_build_filename (path, part, NULL);
    g_free (path);
    path = longer;
  }
  va_end (args);
  return path;
}
