/* ts-model-defaults.c — tessera-defaults.json (ts-model-defaults.h), read with the same JSON
 * reader as the model's configs (size bound, repeated keys, errors naming file and key). */
#include "ts-model-defaults.h"

#include "ts-json-reader.h"
#include "ts-model-config.h"

gboolean
ts_model_defaults_read (const char *dir, TsModelDefaults *out, GError **error)
{
  out->guidance = TS_FAMILY_GUIDANCE;
  g_autofree char *path = g_build_filename (dir, TS_MODEL_DEFAULTS_FILE, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  JsonObject *object = NULL;
  g_autoptr (JsonParser) parser = ts_json_load_object (path, TS_CONFIG_MAX_FILE_BYTES, NULL,
                                                       &object, error);
  if (!parser)
    return FALSE;
  TsJsonReader r;
  ts_json_reader_init (&r, path, object, error);
  /* unlike a config's, a null here is no default: the file names the key to set it */
  JsonNode *node = json_object_get_member (object, "guidance");
  if (node && JSON_NODE_HOLDS_NULL (node))
    return ts_json_reader_fail (&r, "guidance", "must be a number, not null");
  double guidance;
  if (!ts_json_read_double (&r, "guidance", TS_FAMILY_GUIDANCE, &guidance))
    return FALSE;
  if (guidance < 0 || guidance > 1000)
    return ts_json_reader_fail (&r, "guidance", "must be a number between 0 and 1000");
  out->guidance = guidance;
  return TRUE;
}
