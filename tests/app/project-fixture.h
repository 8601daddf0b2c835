/* project-fixture.h — a small project with every kind of history entry, variants and
 * parameters, shared by the project tests and the saver helper. */
#pragma once

#include "tessera-project.h"

/* Deterministic pixels that depend on `salt`, with some transparency. */
static inline GBytes *
fixture_pixels (int w, int h, int channels, guint salt)
{
  guint8 *p = g_malloc ((gsize) w * h * channels);
  for (gsize i = 0; i < (gsize) w * h * channels; i++)
    p[i] = (guint8) (i * 7 + salt * 31 + (i >> 5));
  if (channels == 4)
    for (gsize i = 0; i < (gsize) w * h; i++)
      p[i * 4 + 3] = (i % 3) ? 255 : (guint8) (i + salt);
  return g_bytes_new_take (p, (gsize) w * h * channels);
}

/* Premultiplied ARGB32 that survives straight-alpha PNG exactly: colour ≤ alpha. */
static inline GBytes *
fixture_image (int w, int h, guint salt)
{
  guint32 *p = g_new (guint32, (gsize) w * h);
  for (gsize i = 0; i < (gsize) w * h; i++) {
    guint a = (i % 5) ? 255 : (guint) ((i * 13 + salt) & 0xff);
    guint r = ((i + salt) * 3) % (a + 1), g = (i * 5) % (a + 1), b = (i * 11 + salt) % (a + 1);
    p[i] = (a << 24) | (r << 16) | (g << 8) | b;
  }
  return g_bytes_new_take (p, (gsize) w * h * 4);
}

/* n entries: new, mask, generate (with variants), resize, generate … ; seed identifies it. */
static inline TesseraProject *
fixture_project (guint n, guint32 seed)
{
  int w = 48, h = 32;
  g_autoptr (TesseraHistory) history = tessera_history_new (64);
  g_autoptr (GBytes) blank_mask = g_bytes_new_take (g_malloc0 ((gsize) w * h), (gsize) w * h);
  TesseraState *prev = NULL;
  for (guint i = 0; i < n; i++) {
    g_autoptr (GBytes) image = fixture_image (w, h, seed + i);
    g_autoptr (GBytes) mask = fixture_pixels (w, h, 1, seed + i);
    /* Mask-only entries share the picture of the one before, as the editor's do. */
    TesseraState *s = (i % 4 == 1 && prev)
                          ? tessera_state_new (w, h, prev->image, mask)
                          : tessera_state_new (w, h, image, i == 0 ? blank_mask : mask);
    static const TesseraEntryKind kinds[] = { TESSERA_ENTRY_NEW, TESSERA_ENTRY_MASK,
                                              TESSERA_ENTRY_GENERATE, TESSERA_ENTRY_RESIZE };
    TesseraEntryKind kind = kinds[i % 4];
    g_autoptr (TesseraParams) params = tessera_params_new ();
    params->mode = ts_mode_nth ((seed + i) % ts_mode_count ())->mode;
    g_free (params->prompt);
    params->prompt = g_strdup_printf ("a fox nº%u — “quoted” <tag> & emoji 🦊", i);
    g_free (params->negative_prompt);
    params->negative_prompt = g_strdup ("blurry");
    params->seed = seed;
    params->n_variants = 3;
    params->steps = 7 + i;
    params->guidance = 7.25 + i / 3.0;
    params->strength = 0.1 * (i % 10);
    g_autofree char *label = g_strdup_printf ("Entry %u of project %u", i, seed);
    g_autoptr (TesseraHistoryEntry) e =
        tessera_history_entry_new (kind, label, s, kind == TESSERA_ENTRY_GENERATE ? params : NULL);
    if (kind == TESSERA_ENTRY_GENERATE) {
      g_autoptr (GPtrArray) v = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      for (guint k = 0; k < 3; k++)
        g_ptr_array_add (v, fixture_pixels (w, h, 4, seed * 10 + i * 3 + k));
      tessera_history_entry_set_variants (e, v, i % 3);
    }
    if (i == 0)
      tessera_history_reset (history, e);
    else
      tessera_history_push (history, e);
    tessera_state_unref (prev);
    prev = s;
  }
  /* Somewhere in the middle, as after undo. */
  tessera_history_jump (history, n > 2 ? n - 2 : 0);
  TesseraHistoryEntry *cur = tessera_history_get_current (history);
  TesseraProject *p = tessera_project_new (tessera_history_entry_get_state (cur), history);
  tessera_state_unref (prev);
  return p;
}
