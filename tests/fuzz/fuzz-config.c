/* fuzz-config.c — fuzz target for the component config parsers (see fuzz-config-format.h for
 * the input format). Errors must be TS_ERROR_CORRUPT naming the file. */
#include "fuzz-config-format.h"
#include "ts-types.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  int n = TS_FUZZ_CONFIG_COUNT;
  TsFuzzConfig kind = (TsFuzzConfig) (((data[0] - '0') % n + n) % n);
  GError *error = NULL;
  if (!ts_fuzz_parse_config (kind, (const char *) data + 1, size - 1, "fuzz.json", &error)) {
    g_assert (error && error->domain == TS_ERROR && error->code == TS_ERROR_CORRUPT);
    g_assert (g_str_has_prefix (error->message, "fuzz.json: "));
    g_error_free (error);
  }
  return 0;
}
