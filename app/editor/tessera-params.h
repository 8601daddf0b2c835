/* tessera-params.h — what one request asks for: mode, prompts, seed and sampler settings.
 * The modes are the engine's (pipeline/ts-mode-table.h): their ids, labels and what each
 * needs come from its mode table. */
#pragma once

#include "pipeline/ts-mode-table.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  TsPipelineMode mode;
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

/* The translated name of the request's mode, as the mode menu shows it. */
const char    *tessera_params_get_mode_label (const TesseraParams *p);

G_END_DECLS
