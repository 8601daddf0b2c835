/* tessera-engine.h — the loaded model and the one worker that runs requests on it.
 *
 * Loading and generation run in GTask threads; progress is forwarded to the main loop and
 * dropped once the request is cancelled, so a cancelled request never touches the UI. */
#pragma once

#include <gio/gio.h>

#include "tessera-job.h"

G_BEGIN_DECLS

typedef enum {
  TESSERA_ENGINE_EMPTY,
  TESSERA_ENGINE_LOADING,
  TESSERA_ENGINE_READY,
  TESSERA_ENGINE_FAILED,
} TesseraEngineState;

#define TESSERA_TYPE_ENGINE (tessera_engine_get_type ())
G_DECLARE_FINAL_TYPE (TesseraEngine, tessera_engine, TESSERA, ENGINE, GObject)

/* Called in the main thread for each step of a running request. */
typedef void (*TesseraProgressFunc) (const TesseraJobProgress *progress, gpointer user_data);

TesseraEngine      *tessera_engine_new (void);
TesseraEngineState  tessera_engine_get_state (TesseraEngine *self);
/* A one-line description of the state for the window subtitle. */
const char         *tessera_engine_get_status (TesseraEngine *self);
/* Whether real generation is available (FALSE: the built-in preview generator). */
gboolean            tessera_engine_has_pipeline (void);

/* Loads the model folder in the background on device ("auto", "cpu", "vulkan", "vulkan:N";
 * NULL: auto); ::notify::state tells the outcome. */
void tessera_engine_load (TesseraEngine *self, const char *model_dir, const char *device);

void              tessera_engine_run_async (TesseraEngine *self, TesseraJobRequest *request,
                                            GCancellable *cancellable,
                                            TesseraProgressFunc progress,
                                            gpointer progress_data,
                                            GAsyncReadyCallback callback, gpointer user_data);
TesseraJobResult *tessera_engine_run_finish (TesseraEngine *self, GAsyncResult *result,
                                             GError **error);

G_END_DECLS
