/* tessera-run-queue.h — the window's requests as session state: the one running on the engine,
 * the queue behind it, the running one's progress, and the finished result waiting for Apply
 * or Discard. A GListModel of TesseraRun (the running one first, then the queue in order) for
 * the requests popover.
 *
 * One request runs at a time, and only on a ready model: while the engine loads another model
 * (Preferences), the queue waits and starts again on the new one. A result whose picture
 * changed size meanwhile is dropped, saying so.
 *
 * Signals, in the main thread:
 *   ::started (TesseraRun *run, gpointer request): the run was handed to the engine; request
 *       (const TesseraJobRequest *) is valid during the emission only.
 *   ::progress (gpointer progress): a step of the running request (const TesseraJobProgress *).
 *   ::stopped (GError *error): the running request ended: NULL when its result is now the
 *       pending one, G_IO_ERROR_CANCELLED after a cancel, else why it failed in the user's
 *       words. The next request starts after the emission. */
#pragma once

#include <gio/gio.h>

#include "tessera-document.h"
#include "tessera-engine.h"
#include "tessera-run.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_RUN_QUEUE (tessera_run_queue_get_type ())
G_DECLARE_FINAL_TYPE (TesseraRunQueue, tessera_run_queue, TESSERA, RUN_QUEUE, GObject)

/* Runs on engine; results must match document's size. */
TesseraRunQueue *tessera_run_queue_new (TesseraEngine *engine, TesseraDocument *document);

/* Queues request (taken) and starts it if nothing runs; FALSE when it waits behind another. */
gboolean    tessera_run_queue_push (TesseraRunQueue *self, TesseraJobRequest *request);
/* Cancels the running request and empties the queue. */
void        tessera_run_queue_cancel_all (TesseraRunQueue *self);
/* Cancels one: 0 the running one (the next starts), n the n-th queued. */
void        tessera_run_queue_cancel_nth (TesseraRunQueue *self, guint index);
/* Cancels run, running or queued. */
void        tessera_run_queue_cancel_run (TesseraRunQueue *self, TesseraRun *run);

/* The running request, or NULL. */
TesseraRun *tessera_run_queue_get_running (TesseraRunQueue *self);
gboolean    tessera_run_queue_is_running (TesseraRunQueue *self);
/* Requests waiting behind the running one. */
guint       tessera_run_queue_get_n_queued (TesseraRunQueue *self);
/* Steps reported by the running or last request. */
int         tessera_run_queue_get_progress_steps (TesseraRunQueue *self);

/* The finished request waiting for Apply or Discard (its variants, notice and backend), its
 * parameters and the variant chosen; NULL / 0 when none. */
TesseraJobResult    *tessera_run_queue_get_pending (TesseraRunQueue *self);
const TesseraParams *tessera_run_queue_get_pending_params (TesseraRunQueue *self);
guint       tessera_run_queue_get_selected_variant (TesseraRunQueue *self);
/* FALSE when there is no such variant. */
gboolean    tessera_run_queue_select_variant (TesseraRunQueue *self, guint index);
/* Applied or discarded: the result is gone. */
void        tessera_run_queue_clear_pending (TesseraRunQueue *self);

G_END_DECLS
