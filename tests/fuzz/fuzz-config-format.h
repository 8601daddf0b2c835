/* fuzz-config-format.h — the input format of the config fuzz target, shared with the
 * malformed-config tests that write its seed corpus: one byte choosing the parser
 * ('0' + kind, or any byte modulo the count), then the JSON. */
#pragma once

#include <glib.h>

typedef enum {
  TS_FUZZ_CONFIG_UVIT,
  TS_FUZZ_CONFIG_VQ,
  TS_FUZZ_CONFIG_CLIP,
  TS_FUZZ_CONFIG_SCHEDULER,
  TS_FUZZ_CONFIG_COUNT
} TsFuzzConfig;

/* Parses `json` with the parser of `kind`; `file` names it in errors. */
gboolean ts_fuzz_parse_config (TsFuzzConfig kind, const char *json, gsize len, const char *file,
                               GError **error);
