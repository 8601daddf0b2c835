/* tessera-params.c — request parameters. */
#include "tessera-params.h"

#include <glib/gi18n.h>
#include <string.h>

TesseraParams *
tessera_params_new (void)
{
  TesseraParams *p = g_new0 (TesseraParams, 1);
  p->mode = TS_MODE_GENERATE;
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
tessera_params_get_mode_label (const TesseraParams *p)
{
  const TsModeInfo *m = ts_mode_info (p->mode);
  return m ? _(m->label) : "";
}
