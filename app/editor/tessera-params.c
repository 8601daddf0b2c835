/* tessera-params.c — request parameters and the mode names. */
#include "tessera-params.h"

#include <glib/gi18n.h>
#include <string.h>

static const struct {
  const char *id;
  const char *label;
} modes[TESSERA_N_MODES] = {
  [TESSERA_MODE_GENERATE] = { "generate", N_("Generate") },
  [TESSERA_MODE_INPAINT] = { "inpaint", N_("Inpaint") },
  [TESSERA_MODE_OUTPAINT] = { "outpaint", N_("Outpaint") },
  [TESSERA_MODE_BACKGROUND] = { "background", N_("Replace Background") },
  [TESSERA_MODE_EDIT] = { "edit", N_("Edit") },
  [TESSERA_MODE_RESTYLE] = { "restyle", N_("Restyle") },
};

TesseraParams *
tessera_params_new (void)
{
  TesseraParams *p = g_new0 (TesseraParams, 1);
  p->mode = TESSERA_MODE_GENERATE;
  p->prompt = g_strdup ("");
  p->negative_prompt = g_strdup ("");
  p->n_variants = 4;
  p->steps = 12;
  p->guidance = 10.0;
  p->strength = 0.6;
  p->edit_iterations = 8;
  return p;
}

TesseraParams *
tessera_params_copy (const TesseraParams *p)
{
  TesseraParams *c = g_memdup2 (p, sizeof *p);
  c->prompt = g_strdup (p->prompt);
  c->negative_prompt = g_strdup (p->negative_prompt);
  return c;
}

void
tessera_params_free (TesseraParams *p)
{
  if (!p)
    return;
  g_free (p->prompt);
  g_free (p->negative_prompt);
  g_free (p);
}

const char *
tessera_mode_to_id (TesseraMode mode)
{
  return mode < TESSERA_N_MODES ? modes[mode].id : NULL;
}

gboolean
tessera_mode_from_id (const char *id, TesseraMode *mode)
{
  for (int i = 0; i < TESSERA_N_MODES; i++) {
    if (g_strcmp0 (id, modes[i].id) == 0) {
      *mode = i;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
tessera_mode_label (TesseraMode mode)
{
  return mode < TESSERA_N_MODES ? _(modes[mode].label) : "";
}

gboolean
tessera_mode_uses_mask (TesseraMode mode)
{
  return mode == TESSERA_MODE_INPAINT || mode == TESSERA_MODE_BACKGROUND;
}

gboolean
tessera_mode_uses_frame (TesseraMode mode)
{
  return mode == TESSERA_MODE_GENERATE || mode == TESSERA_MODE_EDIT
         || mode == TESSERA_MODE_RESTYLE;
}
