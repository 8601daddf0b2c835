/* tessera-engine.h — the loaded model and the one worker that runs requests on it.
 *
 * Loading and generation run in GTask threads; progress is forwarded to the main loop and
 * dropped once the request is cancelled, so a cancelled request never touches the UI. Loading
 * another model (or device) while a request runs never waits for it: the request ends on the
 * model it started on and returns its result; requests started after the load use the new
 * one. */
#pragma once

#include <gio/gio.h>

#include "tessera-job.h"
#include "tessera-vocabulary.h"
#include "pipeline/ts-pipeline.h"

#include "model/ts-model-defaults.h"

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
/* Whether the loaded model's GPU was lost (a driver reset or a GPU fault): requests then run
 * on the CPU backend until a model is loaded again. ::notify tells when it happens. */
gboolean            tessera_engine_get_device_lost (TesseraEngine *self);

/* Loads the model folder (NULL: the model that ships with Tessera, ts_model_locate_default)
 * in the background on device ("auto", "cpu", "vulkan", "vulkan:N"; NULL: auto);
 * ::notify::state tells the outcome. */
void tessera_engine_load (TesseraEngine *self, const char *model_dir, const char *device);
/* The same with the pipeline's load options (the CPU backend's weight precision per network);
 * NULL: exact f32. */
void tessera_engine_load_full (TesseraEngine *self, const char *model_dir, const char *device,
                               const TsPipelineLoadOptions *options);
/* The options the current model was loaded with; NULL until one is. */
const TsPipelineLoadOptions *tessera_engine_get_load_options (TesseraEngine *self);
/* The loaded model's folder; NULL unless the state is READY. */
const char *tessera_engine_get_model_dir (TesseraEngine *self);
/* The loaded model's image side in pixels (transformer sample_size × the VQ-GAN's 2^(levels-1)
 * downsampling): what Generate makes and what a new canvas gets; 0 unless READY. */
int         tessera_engine_get_native_size (TesseraEngine *self);
/* Pixels per token side of the loaded model (the VQ-GAN's downsampling): the model repaints
 * whole tokens, so outpaint amounts and repainted areas snap to it; 0 unless READY. */
int         tessera_engine_get_token_size (TesseraEngine *self);
/* What the loaded model understands (its vocabulary.json), NULL when it has none or unless
 * READY; and why one that is there could not be used (NULL if nothing went wrong). */
TesseraVocabulary *tessera_engine_get_vocabulary (TesseraEngine *self);
const char        *tessera_engine_get_vocabulary_error (TesseraEngine *self);
/* The loaded model's sampling defaults (its tessera-defaults.json, else the family's), NULL
 * unless READY; and why a file that is there could not be used (NULL if nothing went wrong). */
const TsModelDefaults *tessera_engine_get_defaults (TesseraEngine *self);
const char            *tessera_engine_get_defaults_error (TesseraEngine *self);

void              tessera_engine_run_async (TesseraEngine *self, TesseraJobRequest *request,
                                            GCancellable *cancellable,
                                            TesseraProgressFunc progress,
                                            gpointer progress_data,
                                            GAsyncReadyCallback callback, gpointer user_data);
/* The result, or NULL with a G_IO_ERROR in the user's words (engine details in brackets);
 * G_IO_ERROR_CANCELLED after cancelling. */
TesseraJobResult *tessera_engine_run_finish (TesseraEngine *self, GAsyncResult *result,
                                             GError **error);
/* While paused, a started request waits before its first step, holding the model it runs on
 * (it stays "running" and can be cancelled): tests use it to hold a queue in place, and a run
 * in the middle of its model while another loads, whatever the machine's speed. It stays here,
 * not in the tests: only the engine's worker can wait at that point. */
void              tessera_engine_set_paused (TesseraEngine *self, gboolean paused);

G_END_DECLS
