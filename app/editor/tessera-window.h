/* tessera-window.h — the editor window: canvas, request bar, variants, history. */
#pragma once

#include <adwaita.h>

#include "tessera-application.h"
#include "tessera-canvas.h"
#include "tessera-history.h"
#include "tessera-prompt-completion.h"
#include "tessera-run-queue.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_WINDOW (tessera_window_get_type ())
G_DECLARE_FINAL_TYPE (TesseraWindow, tessera_window, TESSERA, WINDOW, AdwApplicationWindow)

TesseraWindow   *tessera_window_new (TesseraApplication *app);
TesseraDocument *tessera_window_get_document (TesseraWindow *self);
TesseraHistory  *tessera_window_get_history (TesseraWindow *self);
TesseraCanvas   *tessera_window_get_canvas (TesseraWindow *self);
GtkWidget       *tessera_window_get_prompt_entry (TesseraWindow *self);

/* Request state, for the UI and tests: the window's run queue holds it (the running request,
 * the queue, progress, the pending result); the functions below read it. */
TesseraRunQueue *tessera_window_get_run_queue (TesseraWindow *self);
gboolean tessera_window_is_running (TesseraWindow *self);
/* Requests waiting behind the running one. */
guint    tessera_window_get_n_queued (TesseraWindow *self);
/* The request whose variants wait for Apply or Discard; NULL if none. */
const TesseraParams *tessera_window_get_pending_params (TesseraWindow *self);
/* The finished request waiting for Apply or Discard (its variants, notice and backend);
 * NULL if none. */
const TesseraJobResult *tessera_window_get_pending_result (TesseraWindow *self);
/* Variants of the last finished request still waiting for Apply or Discard. */
guint    tessera_window_get_n_pending_variants (TesseraWindow *self);
/* The pending variant shown on the canvas (hovered, else selected); -1 without variants. */
int      tessera_window_get_previewed_variant (TesseraWindow *self);
/* Compare the picture with an entry's (variant < 0) or one of its variants. */
gboolean tessera_window_compare_with (TesseraWindow *self, TesseraHistoryEntry *entry,
                                      int variant);
/* The message of the newest toast, NULL before the first; for tests, which cannot read the
 * toast overlay's queue. */
const char *tessera_window_get_last_toast (TesseraWindow *self);
/* Steps reported by the running or last request. */
int      tessera_window_get_progress_steps (TesseraWindow *self);
/* The header bar's subtitle: the model's state, or "Step 5 of 12 · about 0.4 s left" while a
 * request runs. */
const char *tessera_window_get_subtitle (TesseraWindow *self);

/* The request Generate would queue now (the request bar, the document, the mask as painted
 * with the preferences' grow and feather, outpaint's extents, the frame), or NULL with the
 * reason in the user's words. */
TesseraJobRequest *tessera_window_build_request (TesseraWindow *self, GError **error);
/* Pixels per token side of the loaded model (16 before one is loaded). */
int tessera_window_get_token_size (TesseraWindow *self);

/* Grows the canvas on each side by the pixels given, rounded up to whole tokens (an empty
 * border), as one undoable step, and runs Outpaint on it when the model is ready. */
gboolean tessera_window_extend (TesseraWindow *self, int left, int top, int right, int bottom);

/* The prompt's concept completion and the style drop-down (hidden for a model without a
 * vocabulary). */
TesseraPromptCompletion *tessera_window_get_prompt_completion (TesseraWindow *self);
/* What the prompt offers: the loaded model's vocabulary (set when a model loads; NULL: free
 * text, no style drop-down). */
void tessera_window_set_vocabulary (TesseraWindow *self, TesseraVocabulary *vocabulary);
GtkWidget *tessera_window_get_style_dropdown (TesseraWindow *self);

/* Loads a picture or an .ora project in the background; ::notify of the history tells when
 * it is in. */
void tessera_window_open_file (TesseraWindow *self, GFile *file);

/* Projects. The file saved to or opened, NULL for a new picture. */
GFile   *tessera_window_get_file (TesseraWindow *self);
gboolean tessera_window_is_dirty (TesseraWindow *self);
/* Whether a project load or save (user or autosave) is still running. */
gboolean tessera_window_is_busy_with_files (TesseraWindow *self);
/* The Open Recent submenu: projects and pictures opened or saved here, newest first. */
GMenuModel *tessera_window_get_recent_menu (TesseraWindow *self);
/* Autosave right away instead of after the usual pause; TRUE when a save started. */
gboolean tessera_window_autosave (TesseraWindow *self);
const char *tessera_window_get_autosave_path (TesseraWindow *self);
/* At start: asks whether to recover the newest autosave a crash left; NULL if none. */
AdwMessageDialog *tessera_window_offer_recovery (TesseraWindow *self);
/* The Ctrl+Z handler: undoes the picture unless a text field has the focus, where the
 * field keeps its own undo. Returns whether it handled the key. */
gboolean tessera_window_undo_shortcut (TesseraWindow *self, gboolean redo);

G_END_DECLS
