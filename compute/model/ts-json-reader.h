/* ts-json-reader.h — typed reading of config.json-style objects, with defaults and errors
 * that name the file and the key. Internal to compute/model. */
#pragma once

#include "../ts-types.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *file;   /* names the file in errors */
  JsonObject *object;
  GError    **error;
  gboolean    failed; /* set by the first error; later reads do nothing */
} TsJsonReader;

/* Parses JSON and catches repeated keys in any object (json-glib keeps the last silently).
 * NULL with `*json_error` (json-glib's message) or with `*duplicate` (the repeated key, to
 * g_free) set. */
JsonParser *ts_json_parse_strict (const char *json, gsize len, char **duplicate,
                                  GError **json_error);
/* Parses `json` (any length, need not be NUL-terminated) and checks the root is an object.
 * Duplicate keys are an error. The returned parser owns the object. */
JsonParser *ts_json_parse_object (const char *json, gsize len, const char *file,
                                  JsonObject **object, GError **error);
/* Reads a whole file (bounded to `max_bytes`) and parses it as above. */
JsonParser *ts_json_load_object (const char *path, gsize max_bytes, const char *display_name,
                                 JsonObject **object, GError **error);

void ts_json_reader_init (TsJsonReader *r, const char *file, JsonObject *object,
                          GError **error);
/* Each reader: a missing key or null takes `def`; `required` makes a missing key an error. */
gboolean ts_json_read_int (TsJsonReader *r, const char *key, gboolean required, int64_t def,
                           int64_t *out);
gboolean ts_json_read_bool (TsJsonReader *r, const char *key, gboolean def, gboolean *out);
gboolean ts_json_read_double (TsJsonReader *r, const char *key, double def, double *out);
/* The string stays owned by the object (NULL default allowed). */
gboolean ts_json_read_string (TsJsonReader *r, const char *key, gboolean required,
                              const char *def, const char **out);
/* An array of integers; at most `max` of them. */
gboolean ts_json_read_int_list (TsJsonReader *r, const char *key, int max, int64_t *out,
                                int *n);
/* An array of strings, all equal to `expected` (the block types diffusers configs list). */
gboolean ts_json_check_string_list (TsJsonReader *r, const char *key, int n,
                                    const char *expected);
/* Fails with TS_ERROR_CORRUPT "file: key ...". */
gboolean ts_json_reader_fail (TsJsonReader *r, const char *key, const char *format, ...)
  G_GNUC_PRINTF (3, 4);
/* Range checks used by all configs. */
gboolean ts_json_check_range (TsJsonReader *r, const char *key, int64_t value, int64_t min,
                              int64_t max);

G_END_DECLS
