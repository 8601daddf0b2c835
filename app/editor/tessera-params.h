/* tessera-params.h — what one request asks for: mode, prompts, seed and sampler settings. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  TESSERA_MODE_GENERATE,
  TESSERA_MODE_INPAINT,
  TESSERA_MODE_OUTPAINT,
  TESSERA_MODE_BACKGROUND,
  TESSERA_MODE_EDIT,
  TESSERA_MODE_RESTYLE,
  TESSERA_N_MODES
} TesseraMode;

typedef struct {
  TesseraMode mode;
  char *prompt;
  char *negative_prompt;
  guint32 seed;        /* the first variant's seed; variant i uses seed + i */
  int n_variants;
  int steps;
  double guidance;
  double strength;     /* Restyle: how far the result may drift from the picture */
  int edit_iterations; /* Edit: rounds of re-masking and re-sampling */
} TesseraParams;

TesseraParams *tessera_params_new (void);
TesseraParams *tessera_params_copy (const TesseraParams *p);
void           tessera_params_free (TesseraParams *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TesseraParams, tessera_params_free)

/* Stable ids for actions, settings and project files ("generate", "inpaint", …). */
const char *tessera_mode_to_id (TesseraMode mode);
gboolean    tessera_mode_from_id (const char *id, TesseraMode *mode);
/* The translated name shown to the user. */
const char *tessera_mode_label (TesseraMode mode);
/* Whether the mode needs a painted mask (Inpaint, Background). */
gboolean    tessera_mode_uses_mask (TesseraMode mode);
/* Whether the mode works on the whole picture at the model's size (Generate, Edit, Restyle):
 * a larger picture then goes through a native-size frame, or is scaled. */
gboolean    tessera_mode_uses_frame (TesseraMode mode);

G_END_DECLS
