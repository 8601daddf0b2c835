/* tessera-window.h — the editor window: canvas, request bar, variants, history. */
#pragma once

#include <adwaita.h>

#include "tessera-application.h"
#include "tessera-canvas.h"
#include "tessera-history.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_WINDOW (tessera_window_get_type ())
G_DECLARE_FINAL_TYPE (TesseraWindow, tessera_window, TESSERA, WINDOW, AdwApplicationWindow)

TesseraWindow   *tessera_window_new (TesseraApplication *app);
TesseraDocument *tessera_window_get_document (TesseraWindow *self);
TesseraHistory  *tessera_window_get_history (TesseraWindow *self);
TesseraCanvas   *tessera_window_get_canvas (TesseraWindow *self);
GtkWidget       *tessera_window_get_prompt_entry (TesseraWindow *self);

/* Request state, for the UI and tests. */
gboolean tessera_window_is_running (TesseraWindow *self);
/* Variants of the last finished request still waiting for Apply or Discard. */
guint    tessera_window_get_n_pending_variants (TesseraWindow *self);
/* Steps reported by the running or last request. */
int      tessera_window_get_progress_steps (TesseraWindow *self);

/* Loads a picture in the background; ::notify of the history tells when it is in. */
void tessera_window_open_file (TesseraWindow *self, GFile *file);
/* The Ctrl+Z handler: undoes the picture unless a text field has the focus, where the
 * field keeps its own undo. Returns whether it handled the key. */
gboolean tessera_window_undo_shortcut (TesseraWindow *self, gboolean redo);

G_END_DECLS
