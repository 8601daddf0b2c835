/* ts-model-defaults.c — tessera-defaults.json (ts-model-defaults.h). */
#include "ts-model-defaults.h"

#include <json-glib/json-glib.h>
#include <math.h>

#include "ts-types.h"

gboolean
ts_model_defaults_read (const char *dir, TsModelDefaults *out, GError **error)
{
  out->guidance = TS_FAMILY_GUIDANCE;
  g_autofree char *path = g_build_filename (dir, TS_MODEL_DEFAULTS_FILE, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_file (parser, path, &local)) {
    g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: %s", path, local->message);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: not a JSON object", path);
    return FALSE;
  }
  JsonNode *g = json_object_get_member (json_node_get_object (root), "guidance");
  if (!g)
    return TRUE;
  double v = NAN;
  if (JSON_NODE_HOLDS_VALUE (g) && (json_node_get_value_type (g) == G_TYPE_DOUBLE ||
                                    json_node_get_value_type (g) == G_TYPE_INT64))
    v = json_node_get_double (g);
  if (!isfinite (v) || v < 0 || v > 1000) {
    g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT,
                 "%s: \"guidance\" must be a number between 0 and 1000", path);
    return FALSE;
  }
  out->guidance = v;
  return TRUE;
}
