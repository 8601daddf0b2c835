/* ts-model-defaults.h — a model's own sampling defaults, from tessera-defaults.json beside its
 * model_index.json.
 *
 * diffusers' AmusedPipeline samples every model with guidance 10. A small model trained with
 * few steps can draw far better with less (the bundled model at guidance 2: concept accuracy
 * 0.54 against 0.16 at 10), so a model folder may say what suits it; the CLI and the editor
 * take it when the user asked for nothing else. diffusers ignores the file. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TS_MODEL_DEFAULTS_FILE "tessera-defaults.json"
#define TS_FAMILY_GUIDANCE     10.0   /* AmusedPipeline's guidance_scale */

typedef struct {
  double guidance;   /* classifier-free guidance scale; <= 1 turns guidance off */
} TsModelDefaults;

/* *out gets the defaults of the model folder `dir`: its tessera-defaults.json's values where
 * it has them, the family's elsewhere and when there is no such file. FALSE with `error`
 * when the file is there but unreadable, not JSON, or holds a value out of range ("guidance"
 * a number in [0, 1000]); *out then holds the family's defaults. */
gboolean ts_model_defaults_read (const char *dir, TsModelDefaults *out, GError **error);

G_END_DECLS
