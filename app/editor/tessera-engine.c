/* tessera-engine.c — model loading and request execution off the main thread.
 *
 * Each load makes a Model: the backend and the pipeline on it, reference-counted. A run takes
 * a reference to the current one when it starts and keeps it until its worker is done, so a
 * new load (Preferences: another model or device) swaps the engine's model at once, in the
 * main thread, without waiting for the run: the run ends on the model it began on and its
 * result arrives as usual; the old model is freed by whichever lets it go last. Nothing the
 * main thread does waits for a run. */
#include "tessera-engine.h"

#include <glib/gi18n.h>

#include "tessera-engine-run.h"
#include "tessera-vocabulary.h"
#include "model/ts-model-defaults.h"
#include "ts-types.h"
#include "model/ts-model-locate.h"

struct _TesseraEngine {
  GObject parent_instance;

  TesseraEngineState state;
  char *status;
  char *model_dir;       /* the folder loaded (NULL until one is) */
  int native_size;       /* the model's image side in pixels (0 until loaded) */
  int token_size;        /* pixels per token side (0 until loaded) */
  TesseraVocabulary *vocabulary;   /* the model's vocabulary.json, if it has one */
  char *vocabulary_error;          /* why a vocabulary.json there could not be used */
  TsModelDefaults defaults;        /* the model's sampling defaults (tessera-defaults.json) */
  char *defaults_error;            /* why its tessera-defaults.json could not be used */
  gboolean device_lost;  /* the loaded model's GPU was lost: requests run on the CPU */
  GMutex pause_lock;     /* guards paused, signalled through unpaused */
  GCond unpaused;
  gboolean paused;
  struct _Model *model;  /* the current one (main thread only); runs hold their own ref */
  guint load_serial;
};

/* One loaded model. Its pipeline runs one request at a time (lock); only workers take the
 * lock, never the main thread. */
typedef struct _Model {
  gatomicrefcount ref;
  GMutex lock;
  TsBackend *backend;
  TsPipeline *pipeline;
  guint serial;          /* the load that made it */
} Model;

static Model *
model_ref (Model *m)
{
  g_atomic_ref_count_inc (&m->ref);
  return m;
}

/* May run in a worker: the last run on a replaced model frees it there, off the main loop. */
static void
model_unref (Model *m)
{
  if (!g_atomic_ref_count_dec (&m->ref))
    return;
  g_clear_pointer (&m->pipeline, ts_pipeline_free);
  g_clear_pointer (&m->backend, ts_backend_free);
  g_mutex_clear (&m->lock);
  g_free (m);
}

G_DEFINE_FINAL_TYPE (TesseraEngine, tessera_engine, G_TYPE_OBJECT)

enum { PROP_0, PROP_STATE, PROP_STATUS, PROP_DEVICE_LOST, N_PROPS };
static GParamSpec *props[N_PROPS];

static void
tessera_engine_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  TesseraEngine *self = TESSERA_ENGINE (object);
  switch (id) {
  case PROP_STATE: g_value_set_int (value, self->state); break;
  case PROP_STATUS: g_value_set_string (value, self->status); break;
  case PROP_DEVICE_LOST: g_value_set_boolean (value, self->device_lost); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
  }
}

static void
tessera_engine_finalize (GObject *object)
{
  TesseraEngine *self = TESSERA_ENGINE (object);
  g_clear_pointer (&self->model, model_unref);
  g_free (self->status);
  g_free (self->model_dir);
  g_clear_object (&self->vocabulary);
  g_free (self->vocabulary_error);
  g_free (self->defaults_error);
  g_mutex_clear (&self->pause_lock);
  g_cond_clear (&self->unpaused);
  G_OBJECT_CLASS (tessera_engine_parent_class)->finalize (object);
}

static void
tessera_engine_class_init (TesseraEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->get_property = tessera_engine_get_property;
  object_class->finalize = tessera_engine_finalize;

  props[PROP_STATE] = g_param_spec_int ("state", NULL, NULL, TESSERA_ENGINE_EMPTY,
                                        TESSERA_ENGINE_FAILED, TESSERA_ENGINE_EMPTY,
                                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL,
                                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_DEVICE_LOST] = g_param_spec_boolean ("device-lost", NULL, NULL, FALSE,
                                                  G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
tessera_engine_init (TesseraEngine *self)
{
  g_mutex_init (&self->pause_lock);
  g_cond_init (&self->unpaused);
  self->status = g_strdup (_("No model loaded"));
}

TesseraEngine *
tessera_engine_new (void)
{
  return g_object_new (TESSERA_TYPE_ENGINE, NULL);
}

TesseraEngineState
tessera_engine_get_state (TesseraEngine *self)
{
  return self->state;
}

const char *
tessera_engine_get_status (TesseraEngine *self)
{
  return self->status;
}

gboolean
tessera_engine_get_device_lost (TesseraEngine *self)
{
  return self->device_lost;
}

static void
set_state (TesseraEngine *self, TesseraEngineState state, const char *status)
{
  self->state = state;
  g_free (self->status);
  self->status = g_strdup (status);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATUS]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
}

const char *
tessera_engine_get_model_dir (TesseraEngine *self)
{
  return self->state == TESSERA_ENGINE_READY ? self->model_dir : NULL;
}

int
tessera_engine_get_native_size (TesseraEngine *self)
{
  return self->state == TESSERA_ENGINE_READY ? self->native_size : 0;
}

int
tessera_engine_get_token_size (TesseraEngine *self)
{
  return self->state == TESSERA_ENGINE_READY ? self->token_size : 0;
}

TesseraVocabulary *
tessera_engine_get_vocabulary (TesseraEngine *self)
{
  return self->state == TESSERA_ENGINE_READY ? self->vocabulary : NULL;
}

const char *
tessera_engine_get_vocabulary_error (TesseraEngine *self)
{
  return self->state == TESSERA_ENGINE_READY ? self->vocabulary_error : NULL;
}

const TsModelDefaults *
tessera_engine_get_defaults (TesseraEngine *self)
{
  return self->state == TESSERA_ENGINE_READY ? &self->defaults : NULL;
}

const char *
tessera_engine_get_defaults_error (TesseraEngine *self)
{
  return self->state == TESSERA_ENGINE_READY ? self->defaults_error : NULL;
}

/* ---- loading ---- */

typedef struct {
  TsBackend *backend;
  TsPipeline *pipeline;
  char *dir;
  TesseraVocabulary *vocabulary;
  char *vocabulary_error;
  TsModelDefaults defaults;
  char *defaults_error;
} LoadResult;

static void
load_result_free (LoadResult *r)
{
  g_clear_pointer (&r->pipeline, ts_pipeline_free);
  g_clear_pointer (&r->backend, ts_backend_free);
  g_free (r->dir);
  g_free (r->defaults_error);
  g_clear_object (&r->vocabulary);
  g_free (r->vocabulary_error);
  g_free (r);
}

/* The folder to load: the one asked for, else the model that ships with Tessera (found the
 * way tessera-cli finds it). */
static char *
resolve_model_dir (const char *asked, GError **error)
{
  if (asked)
    return g_strdup (asked);
  g_autoptr (GError) local = NULL;
  char *dir = ts_model_locate_default (&local);
  if (!dir)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("Tessera’s own model is not installed (%s). Choose a model folder in "
                   "Preferences."), local->message);
  return dir;
}

static void
load_worker (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  LoadResult *r = g_new0 (LoadResult, 1);
  r->dir = resolve_model_dir (data, &error);
  /* TESSERA_DEVICE (tests, debugging) wins over the preference. */
  const char *device = g_getenv ("TESSERA_DEVICE");
  if (!device)
    device = g_object_get_data (G_OBJECT (task), "device");
  if (r->dir)
    r->backend = ts_backend_new_from_spec (device, NULL, &error);
  const TsPipelineLoadOptions *options = g_object_get_data (G_OBJECT (task), "options");
  if (r->backend)
    r->pipeline = ts_pipeline_new_full (r->backend, r->dir, options, &error);
  if (!r->pipeline) {
    load_result_free (r);
    g_task_return_error (task, error);
    return;
  }
  /* A damaged vocabulary costs the prompt its completion, not the model. */
  g_autoptr (GError) vocabulary_error = NULL;
  r->vocabulary = tessera_vocabulary_load_for_model (r->dir, &vocabulary_error);
  if (vocabulary_error)
    r->vocabulary_error = g_strdup (vocabulary_error->message);
  /* Likewise damaged sampling defaults: the family's are used instead. */
  g_autoptr (GError) defaults_error = NULL;
  if (!ts_model_defaults_read (r->dir, &r->defaults, &defaults_error))
    r->defaults_error = g_strdup (defaults_error->message);
  g_task_return_pointer (task, r, (GDestroyNotify) load_result_free);
}

static void
load_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TesseraEngine *self = TESSERA_ENGINE (source);
  guint serial = GPOINTER_TO_UINT (user_data);
  g_autoptr (GError) error = NULL;
  LoadResult *r = g_task_propagate_pointer (G_TASK (result), &error);
  if (serial != self->load_serial) {
    /* A newer load superseded this one. */
    if (r)
      load_result_free (r);
    return;
  }
  if (!r) {
    g_autofree char *msg = g_strdup_printf (_("Model failed to load: %s"), error->message);
    set_state (self, TESSERA_ENGINE_FAILED, msg);
    return;
  }
  /* A run still going keeps the old model alive until it ends; new runs get this one. */
  Model *m = g_new0 (Model, 1);
  g_atomic_ref_count_init (&m->ref);
  g_mutex_init (&m->lock);
  m->backend = g_steal_pointer (&r->backend);
  m->pipeline = g_steal_pointer (&r->pipeline);
  m->serial = serial;
  g_clear_pointer (&self->model, model_unref);
  self->model = m;
  g_free (self->model_dir);
  self->model_dir = g_steal_pointer (&r->dir);
  self->native_size = ts_pipeline_native_size (m->pipeline);
  self->token_size = ts_pipeline_token_size (m->pipeline);
  g_clear_object (&self->vocabulary);
  self->vocabulary = g_steal_pointer (&r->vocabulary);
  g_free (self->vocabulary_error);
  self->vocabulary_error = g_steal_pointer (&r->vocabulary_error);
  self->defaults = r->defaults;
  g_free (self->defaults_error);
  self->defaults_error = g_steal_pointer (&r->defaults_error);
  load_result_free (r);
  if (self->device_lost) {
    self->device_lost = FALSE;   /* a new backend */
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DEVICE_LOST]);
  }
  set_state (self, TESSERA_ENGINE_READY, _("Model ready"));
}

void
tessera_engine_load (TesseraEngine *self, const char *model_dir, const char *device)
{
  tessera_engine_load_full (self, model_dir, device, NULL);
}

void
tessera_engine_load_full (TesseraEngine *self, const char *model_dir, const char *device,
                          const TsPipelineLoadOptions *options)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, load_done,
                                       GUINT_TO_POINTER (++self->load_serial));
  g_task_set_source_tag (task, tessera_engine_load);
  g_task_set_task_data (task, g_strdup (model_dir), g_free);   /* NULL: the shipped model */
  g_object_set_data_full (G_OBJECT (task), "device", g_strdup (device), g_free);
  if (options)
    g_object_set_data_full (G_OBJECT (task), "options", g_memdup2 (options, sizeof *options),
                            g_free);
  set_state (self, TESSERA_ENGINE_LOADING, _("Loading model…"));
  g_task_run_in_thread (task, load_worker);
}

const TsPipelineLoadOptions *
tessera_engine_get_load_options (TesseraEngine *self)
{
  return self->model ? ts_pipeline_load_options (self->model->pipeline) : NULL;
}

/* ---- running ---- */

/* One run's own state: what it asks, the model it runs on, how it went. The engine's fields
 * are not touched by the worker, so nothing is shared with the main thread but the pause. */
typedef struct {
  TesseraEngine *engine;  /* for the pause only */
  TesseraJobRequest *request;
  Model *model;           /* the model current when the run started; released by the worker */
  guint model_serial;
  TesseraProgressFunc progress;
  gpointer progress_data;
  GCancellable *cancellable;
  gboolean device_lost;   /* set by the worker: the GPU is lost (the request may still have
                             run on the CPU) */
} RunData;

static void
run_data_free (gpointer data)
{
  RunData *d = data;
  tessera_job_request_free (d->request);
  g_clear_pointer (&d->model, model_unref);
  g_clear_object (&d->cancellable);
  g_free (d);
}

typedef struct {
  GTask *task;
  TesseraJobProgress *progress;
} ProgressMsg;

static gboolean
deliver_progress (gpointer data)
{
  ProgressMsg *m = data;
  RunData *d = g_task_get_task_data (m->task);
  /* After Cancel the UI has moved on; a late step must not redraw the canvas. */
  if (!g_cancellable_is_cancelled (d->cancellable) && d->progress)
    d->progress (m->progress, d->progress_data);
  return G_SOURCE_REMOVE;
}

static void
progress_msg_free (gpointer data)
{
  ProgressMsg *m = data;
  g_object_unref (m->task);
  g_free (m->progress);
  g_free (m);
}

/* Called in the worker after each step: the main loop gets a copy. */
static void
forward_progress (const TsPipelineProgress *p, gpointer user_data)
{
  GTask *task = user_data;
  ProgressMsg *m = g_new (ProgressMsg, 1);
  m->task = g_object_ref (task);
  m->progress = tessera_job_progress_new (p->step, p->n_steps, p->n_rows, p->token_width,
                                          p->token_height, p->mask_id, p->tokens);
  m->progress->seconds_left = ts_pipeline_progress_eta (p);
  g_main_context_invoke_full (g_task_get_context (task), G_PRIORITY_DEFAULT, deliver_progress, m,
                              progress_msg_free);
}

void
tessera_engine_set_paused (TesseraEngine *self, gboolean paused)
{
  g_mutex_lock (&self->pause_lock);
  self->paused = paused;
  g_cond_broadcast (&self->unpaused);
  g_mutex_unlock (&self->pause_lock);
}

/* While paused, a request waits here, holding its model, before its first step; cancelling
 * still ends it. */
static void
wait_while_paused (TesseraEngine *self, GCancellable *cancellable)
{
  g_mutex_lock (&self->pause_lock);
  while (self->paused && !g_cancellable_is_cancelled (cancellable))
    g_cond_wait_until (&self->unpaused, &self->pause_lock,
                       g_get_monotonic_time () + 20 * G_TIME_SPAN_MILLISECOND);
  g_mutex_unlock (&self->pause_lock);
}

static void
run_worker (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  RunData *d = data;
  GError *error = NULL;
  g_mutex_lock (&d->model->lock);
  wait_while_paused (d->engine, d->cancellable);
  TesseraJobResult *res = tessera_engine_run_request (d->model->pipeline, d->request,
                                                      d->cancellable, forward_progress, task,
                                                      &d->device_lost, &error);
  g_mutex_unlock (&d->model->lock);
  /* A model replaced meanwhile is freed here, in the worker, if this run was its last user. */
  g_clear_pointer (&d->model, model_unref);
  if (!res)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, res, (GDestroyNotify) tessera_job_result_free);
}

void
tessera_engine_run_async (TesseraEngine *self, TesseraJobRequest *request,
                          GCancellable *cancellable, TesseraProgressFunc progress,
                          gpointer progress_data, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tessera_engine_run_async);
  /* The worker reports cancellation itself, after the step in flight. */
  g_task_set_return_on_cancel (task, FALSE);
  if (self->state != TESSERA_ENGINE_READY) {
    tessera_job_request_free (request);
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                             _("The model is not loaded yet"));
    return;
  }
  RunData *d = g_new0 (RunData, 1);
  d->engine = self;   /* the task holds a reference */
  d->request = request;
  d->model = model_ref (self->model);
  d->model_serial = self->model->serial;
  d->progress = progress;
  d->progress_data = progress_data;
  d->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  g_task_set_task_data (task, d, run_data_free);
  g_task_run_in_thread (task, run_worker);
}

/* The GPU went away: from now on the pipeline runs every request on the CPU backend. */
static void
mark_device_lost (TesseraEngine *self)
{
  if (self->device_lost)
    return;
  self->device_lost = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DEVICE_LOST]);
  set_state (self, self->state, _("Model ready · running on the processor"));
}

/* The engine's errors in the user's words; the details stay in the message. */
static void
explain_error (TesseraEngine *self, GError **error)
{
  if ((*error)->domain != TS_ERROR)
    return;
  int code = (*error)->code;
  g_autofree char *detail = g_strdup ((*error)->message);
  g_clear_error (error);
  if (code == TS_ERROR_OUT_OF_MEMORY)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                 _("Not enough memory for this request; nothing was changed. Try fewer "
                   "variants or a smaller picture. (%s)"), detail);
  else if (code == TS_ERROR_DEVICE && self->device_lost)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 _("The graphics card stopped working during the request; nothing was "
                   "changed. Run it again: it will use the processor. (%s)"), detail);
  else if (code == TS_ERROR_CANCELLED)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, detail);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The request failed: %s"), detail);
}

TesseraJobResult *
tessera_engine_run_finish (TesseraEngine *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  RunData *d = g_task_get_task_data (G_TASK (result));
  /* A GPU lost under a model since replaced is no news: the new one has its own backend. */
  if (d && d->device_lost && self->model && d->model_serial == self->model->serial)
    mark_device_lost (self);
  GError *local = NULL;
  TesseraJobResult *res = g_task_propagate_pointer (G_TASK (result), &local);
  if (!res) {
    explain_error (self, &local);
    g_propagate_error (error, local);
  }
  return res;
}
