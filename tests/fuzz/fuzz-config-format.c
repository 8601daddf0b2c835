/* fuzz-config-format.c — see fuzz-config-format.h. */
#include "fuzz-config-format.h"
#include "model/ts-model-config.h"
#include "model/ts-weight-specs.h"

gboolean
ts_fuzz_parse_config (TsFuzzConfig kind, const char *json, gsize len, const char *file,
                      GError **error)
{
  /* A config that parses must also give weight specs without trouble: that is what the
   * model loader does next with it. */
  GPtrArray *specs = NULL;
  gboolean ok = FALSE;
  switch (kind) {
  case TS_FUZZ_CONFIG_UVIT: {
    TsUVitConfig c;
    ok = ts_uvit_config_parse (json, len, file, &c, error);
    if (ok && c.num_hidden_layers * c.num_res_blocks < 4096)
      specs = ts_uvit_weight_specs (&c);
    break;
  }
  case TS_FUZZ_CONFIG_VQ: {
    TsVQConfig c;
    ok = ts_vq_config_parse (json, len, file, &c, error);
    if (ok && c.layers_per_block < 256)
      specs = ts_vq_weight_specs (&c);
    break;
  }
  case TS_FUZZ_CONFIG_CLIP: {
    TsClipTextConfig c;
    ok = ts_clip_text_config_parse (json, len, file, &c, error);
    if (ok && c.num_hidden_layers < 256)
      specs = ts_clip_text_weight_specs (&c);
    break;
  }
  case TS_FUZZ_CONFIG_SCHEDULER: {
    TsSchedulerConfig c;
    ok = ts_scheduler_config_parse (json, len, file, &c, error);
    break;
  }
  default:
    g_assert_not_reached ();
  }
  if (specs) {
    g_assert (ts_weight_specs_numel (specs) > 0);
    g_ptr_array_unref (specs);
  }
  return ok;
}
