/* ts-mode-table.c — the editing modes, one row each (see ts-mode-table.h). */
#include "ts-mode-table.h"

#include "ts-pipeline-private.h"

#include <glib/gi18n.h>

/* In menu order: the editor's mode menu has always listed them so. */
static const TsModeInfo modes[] = {
  { TS_MODE_GENERATE, "generate", N_("Generate"), N_("Generate images from a prompt"),
    N_("Generate images from a prompt."),
    TS_MODE_TAKES_IMAGE | TS_MODE_TAKES_SIZE | TS_MODE_FRAMES,
    1.0, ts_pipeline_run_generate },
  { TS_MODE_INPAINT, "inpaint", N_("Inpaint"), N_("Repaint the masked part of an image"),
    N_("Repaint the white part of --mask."),
    TS_MODE_NEEDS_IMAGE | TS_MODE_NEEDS_MASK | TS_MODE_TAKES_STRENGTH,
    1.0, ts_pipeline_run_masked },
  { TS_MODE_OUTPAINT, "outpaint", N_("Outpaint"),
    N_("Extend an image's canvas and paint the new border"),
    N_("Extend the canvas (--left, --right, --top, --bottom) and paint the new border."),
    TS_MODE_NEEDS_IMAGE | TS_MODE_NEEDS_EXTEND | TS_MODE_TAKES_STRENGTH |
    TS_MODE_PROMPT_OPTIONAL,
    1.0, ts_pipeline_run_masked },
  { TS_MODE_BACKGROUND, "background", N_("Replace Background"),
    N_("Keep the masked subject, repaint the background"),
    N_("Keep the subject (white in --mask) and repaint everything else."),
    TS_MODE_NEEDS_IMAGE | TS_MODE_NEEDS_MASK | TS_MODE_MASK_KEEPS | TS_MODE_TAKES_STRENGTH |
    TS_MODE_PROMPT_OPTIONAL,
    1.0, ts_pipeline_run_masked },
  { TS_MODE_EDIT, "edit", N_("Edit"), N_("Edit an image towards a prompt, without a mask"),
    N_("Edit an image towards a prompt without a mask (re-mask and re-sample a fraction, "
       "repeatedly)."),
    TS_MODE_NEEDS_IMAGE | TS_MODE_ITERATES | TS_MODE_FRAMES,
    1.0, ts_pipeline_run_edit },
  { TS_MODE_RESTYLE, "restyle", N_("Restyle"),
    N_("Redo an image in a new style (image-to-image)"),
    N_("Image-to-image: redo an image in a new style."),
    TS_MODE_NEEDS_IMAGE | TS_MODE_TAKES_STRENGTH | TS_MODE_ASKS_STRENGTH | TS_MODE_FRAMES,
    0.5, ts_pipeline_run_restyle },
};
/* A TS_MODE_ value without its row fails here, not at run time. */
G_STATIC_ASSERT (G_N_ELEMENTS (modes) == TS_N_MODES);

guint
ts_mode_count (void)
{
  return G_N_ELEMENTS (modes);
}

const TsModeInfo *
ts_mode_nth (guint index)
{
  return index < G_N_ELEMENTS (modes) ? &modes[index] : NULL;
}

const TsModeInfo *
ts_mode_info (TsPipelineMode mode)
{
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    if (modes[i].mode == mode)
      return &modes[i];
  return NULL;
}

const TsModeInfo *
ts_mode_from_id (const char *id)
{
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    if (g_strcmp0 (modes[i].id, id) == 0)
      return &modes[i];
  return NULL;
}

guint
ts_mode_index (TsPipelineMode mode)
{
  const TsModeInfo *m = ts_mode_info (mode);
  return m ? (guint) (m - modes) : G_MAXUINT;
}

gboolean
ts_mode_has (TsPipelineMode mode, TsModeFlags flags)
{
  const TsModeInfo *m = ts_mode_info (mode);
  return m && (m->flags & flags) == flags;
}
