/* tessera-run.h — one request in the run queue (tessera-run-queue.h): what it asks, and
 * whether it is running. The queue's list model holds these; the requests popover shows them. */
#pragma once

#include <gio/gio.h>

#include "tessera-job.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_RUN (tessera_run_get_type ())
G_DECLARE_FINAL_TYPE (TesseraRun, tessera_run, TESSERA, RUN, GObject)

/* Takes request. */
TesseraRun          *tessera_run_new (TesseraJobRequest *request);
const TesseraParams *tessera_run_get_params (TesseraRun *self);
/* The request until the run starts (the engine takes it then); NULL after. */
const TesseraJobRequest *tessera_run_get_request (TesseraRun *self);
gboolean             tessera_run_is_running (TesseraRun *self);

/* For the queue: starting hands over the request and makes the run's cancellable (NULL until
 * then); cancelling a run that never started only marks it. */
TesseraJobRequest   *tessera_run_start (TesseraRun *self);
GCancellable        *tessera_run_get_cancellable (TesseraRun *self);
void                 tessera_run_cancel (TesseraRun *self);

G_END_DECLS
