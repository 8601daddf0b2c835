/* tessera-engine.c — model loading and request execution off the main thread.
 *
 * With the pipeline library the engine runs real aMUSEd requests. Without it (the pipeline
 * is being written alongside the editor) it validates the model folder and runs a small
 * preview generator with the same shape: per-step token maps on a cosine schedule, variants
 * by consecutive seeds, cancellation between steps, results confined to the mask. */
#include "tessera-engine.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "ts-types.h"
#ifdef TESSERA_HAVE_PIPELINE
#include "pipeline/ts-pipeline.h"
#else
#include "model/ts-model-folder.h"
#endif

#define PREVIEW_TOKEN 16        /* pixels per token, as the VQ-GAN downsamples */
#define PREVIEW_CODEBOOK 8192
#define PREVIEW_STEP_USEC 25000 /* the preview generator's pretend work per step */

struct _TesseraEngine {
  GObject parent_instance;

  TesseraEngineState state;
  char *status;
  GMutex lock;           /* one request at a time on the model */
#ifdef TESSERA_HAVE_PIPELINE
  TsBackend *backend;
  TsPipeline *pipeline;
#else
  TsModelFolder *folder;
#endif
  guint load_serial;
};

G_DEFINE_FINAL_TYPE (TesseraEngine, tessera_engine, G_TYPE_OBJECT)

enum { PROP_0, PROP_STATE, PROP_STATUS, N_PROPS };
static GParamSpec *props[N_PROPS];

static void
tessera_engine_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  TesseraEngine *self = TESSERA_ENGINE (object);
  switch (id) {
  case PROP_STATE: g_value_set_int (value, self->state); break;
  case PROP_STATUS: g_value_set_string (value, self->status); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
  }
}

static void
free_model (TesseraEngine *self)
{
#ifdef TESSERA_HAVE_PIPELINE
  g_clear_pointer (&self->pipeline, ts_pipeline_free);
  g_clear_pointer (&self->backend, ts_backend_free);
#else
  g_clear_pointer (&self->folder, ts_model_folder_free);
#endif
}

static void
tessera_engine_finalize (GObject *object)
{
  TesseraEngine *self = TESSERA_ENGINE (object);
  free_model (self);
  g_free (self->status);
  g_mutex_clear (&self->lock);
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
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
tessera_engine_init (TesseraEngine *self)
{
  g_mutex_init (&self->lock);
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
tessera_engine_has_pipeline (void)
{
#ifdef TESSERA_HAVE_PIPELINE
  return TRUE;
#else
  return FALSE;
#endif
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

/* ---- loading ---- */

typedef struct {
#ifdef TESSERA_HAVE_PIPELINE
  TsBackend *backend;
  TsPipeline *pipeline;
#else
  TsModelFolder *folder;
#endif
  guint serial;
} LoadResult;

static void
load_worker (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  const char *dir = data;
  GError *error = NULL;
  LoadResult *r = g_new0 (LoadResult, 1);
#ifdef TESSERA_HAVE_PIPELINE
  /* TESSERA_DEVICE (tests, debugging) wins over the preference. */
  const char *device = g_getenv ("TESSERA_DEVICE");
  if (!device)
    device = g_object_get_data (G_OBJECT (task), "device");
  r->backend = ts_backend_new_from_spec (device, NULL, &error);
  if (r->backend)
    r->pipeline = ts_pipeline_new (r->backend, dir, &error);
  if (!r->pipeline) {
    g_clear_pointer (&r->backend, ts_backend_free);
    g_free (r);
    g_task_return_error (task, error);
    return;
  }
#else
  r->folder = ts_model_folder_open (dir, NULL, &error);
  if (!r->folder) {
    g_free (r);
    g_task_return_error (task, error);
    return;
  }
#endif
  g_task_return_pointer (task, r, NULL);
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
    if (r) {
#ifdef TESSERA_HAVE_PIPELINE
      ts_pipeline_free (r->pipeline);
      ts_backend_free (r->backend);
#else
      ts_model_folder_free (r->folder);
#endif
      g_free (r);
    }
    return;
  }
  if (!r) {
    g_autofree char *msg = g_strdup_printf (_("Model failed to load: %s"), error->message);
    set_state (self, TESSERA_ENGINE_FAILED, msg);
    return;
  }
  g_mutex_lock (&self->lock);
  free_model (self);
#ifdef TESSERA_HAVE_PIPELINE
  self->backend = r->backend;
  self->pipeline = r->pipeline;
#else
  self->folder = r->folder;
#endif
  g_mutex_unlock (&self->lock);
  g_free (r);
  set_state (self, TESSERA_ENGINE_READY,
             tessera_engine_has_pipeline () ? _("Model ready")
                                            : _("Model ready (preview generator)"));
}

void
tessera_engine_load (TesseraEngine *self, const char *model_dir, const char *device)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, load_done,
                                       GUINT_TO_POINTER (++self->load_serial));
  g_task_set_source_tag (task, tessera_engine_load);
  g_task_set_task_data (task, g_strdup (model_dir), g_free);
  g_object_set_data_full (G_OBJECT (task), "device", g_strdup (device), g_free);
  set_state (self, TESSERA_ENGINE_LOADING, _("Loading model…"));
  g_task_run_in_thread (task, load_worker);
}

/* ---- running ---- */

typedef struct {
  TesseraJobRequest *request;
  TesseraProgressFunc progress;
  gpointer progress_data;
  GCancellable *cancellable;
} RunData;

static void
run_data_free (gpointer data)
{
  RunData *d = data;
  tessera_job_request_free (d->request);
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

static void
post_progress (GTask *task, TesseraJobProgress *progress)
{
  ProgressMsg *m = g_new (ProgressMsg, 1);
  m->task = g_object_ref (task);
  m->progress = progress;
  g_main_context_invoke_full (g_task_get_context (task), G_PRIORITY_DEFAULT, deliver_progress, m,
                              progress_msg_free);
}

#ifndef TESSERA_HAVE_PIPELINE
/* The region a mode repaints, as coverage 0..255 per pixel. */
static guint8 *
request_coverage (const TesseraJobRequest *r)
{
  gsize n = (gsize) r->width * r->height;
  guint8 *cov = g_malloc (n);
  const guint8 *mask = r->mask ? g_bytes_get_data (r->mask, NULL) : NULL;
  TesseraMode mode = r->params->mode;
  for (gsize i = 0; i < n; i++) {
    guint8 m = mask ? mask[i] : 0;
    switch (mode) {
    case TESSERA_MODE_INPAINT:
    case TESSERA_MODE_OUTPAINT: cov[i] = m; break;
    case TESSERA_MODE_BACKGROUND: cov[i] = 255 - m; break;
    case TESSERA_MODE_EDIT:
    case TESSERA_MODE_RESTYLE: cov[i] = (guint8) lround (255 * r->params->strength); break;
    default: cov[i] = 255;
    }
  }
  return cov;
}

static guint32
mix32 (guint32 x)
{
  x ^= x >> 16; x *= 0x7feb352d;
  x ^= x >> 15; x *= 0x846ca68b;
  x ^= x >> 16;
  return x;
}

/* The preview generator: reveals a seeded mosaic on the cosine schedule. */
static GPtrArray *
preview_generate (GTask *task, RunData *d, GError **error)
{
  const TesseraJobRequest *r = d->request;
  int tw = (r->width + PREVIEW_TOKEN - 1) / PREVIEW_TOKEN;
  int th = (r->height + PREVIEW_TOKEN - 1) / PREVIEW_TOKEN;
  int rows = MAX (1, r->params->n_variants), steps = MAX (1, r->params->steps);
  gsize nt = (gsize) tw * th;
  g_autofree int32_t *tokens = g_new (int32_t, rows * nt);
  g_autofree guint32 *order = g_new (guint32, rows * nt);
  for (int v = 0; v < rows; v++)
    for (gsize i = 0; i < nt; i++) {
      guint32 seed = r->params->seed + v;
      order[v * nt + i] = mix32 (seed * 0x9e3779b9u + (guint32) i);
      tokens[v * nt + i] = PREVIEW_CODEBOOK;
    }
  for (int s = 1; s <= steps; s++) {
    if (g_cancellable_set_error_if_cancelled (d->cancellable, error))
      return NULL;
    g_usleep (PREVIEW_STEP_USEC);
    /* Tokens still hidden after step s: cos(π/2 · s/steps) of them. */
    guint32 limit = (guint32) (G_MAXUINT32 * (1.0 - cos (G_PI_2 * s / steps)));
    if (s == steps)
      limit = G_MAXUINT32;
    for (gsize i = 0; i < rows * nt; i++)
      if (order[i] <= limit)
        tokens[i] = (int32_t) (mix32 (order[i]) % PREVIEW_CODEBOOK);
    post_progress (task, tessera_job_progress_new (s, steps, rows, tw, th, PREVIEW_CODEBOOK,
                                                   tokens));
  }
  g_autofree guint8 *cov = request_coverage (r);
  const guint8 *src = g_bytes_get_data (r->rgba, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (int v = 0; v < rows; v++) {
    gsize n = (gsize) r->width * r->height;
    guint8 *px = g_malloc (n * 4);
    for (int y = 0; y < r->height; y++)
      for (int x = 0; x < r->width; x++) {
        gsize i = (gsize) y * r->width + x;
        guint32 c = tessera_token_color (tokens[v * nt + (y / PREVIEW_TOKEN) * tw
                                                + x / PREVIEW_TOKEN]);
        guint8 gen[4] = { c >> 16, c >> 8, c, 255 };
        for (int k = 0; k < 4; k++)
          px[i * 4 + k] = (guint8) ((gen[k] * cov[i] + src[i * 4 + k] * (255 - cov[i]) + 127)
                                    / 255);
      }
    g_ptr_array_add (out, g_bytes_new_take (px, n * 4));
  }
  return out;
}
#else
static void
pipeline_progress (const TsPipelineProgress *p, gpointer user_data)
{
  post_progress (user_data, tessera_job_progress_new (p->step, p->n_steps, p->n_rows,
                                                      p->token_width, p->token_height,
                                                      p->mask_id, p->tokens));
}

static const TsPipelineMode pipeline_modes[TESSERA_N_MODES] = {
  [TESSERA_MODE_GENERATE] = TS_MODE_GENERATE,
  [TESSERA_MODE_INPAINT] = TS_MODE_INPAINT,
  /* The editor grows the canvas itself and masks the new border. */
  [TESSERA_MODE_OUTPAINT] = TS_MODE_INPAINT,
  [TESSERA_MODE_BACKGROUND] = TS_MODE_BACKGROUND,
  [TESSERA_MODE_EDIT] = TS_MODE_EDIT,
  [TESSERA_MODE_RESTYLE] = TS_MODE_RESTYLE,
};

static GPtrArray *
pipeline_generate (TesseraEngine *self, GTask *task, RunData *d, GError **error)
{
  const TesseraJobRequest *r = d->request;
  gsize n = (gsize) r->width * r->height;
  g_autoptr (TsImage) image = ts_image_new (r->width, r->height, 3, error);
  g_autoptr (TsImage) mask = image ? ts_image_new (r->width, r->height, 1, error) : NULL;
  if (!mask)
    return NULL;
  const guint8 *src = g_bytes_get_data (r->rgba, NULL);
  for (gsize i = 0; i < n; i++)
    memcpy (image->pixels + i * 3, src + i * 4, 3);
  if (r->mask)
    memcpy (mask->pixels, g_bytes_get_data (r->mask, NULL), n);

  TsPipelineRequest req;
  TsPipelineMode mode = pipeline_modes[r->params->mode];
  ts_pipeline_request_init (&req, mode);
  req.prompt = r->params->prompt;
  req.negative_prompt = r->params->negative_prompt;
  req.steps = r->params->steps;
  req.guidance = r->params->guidance;
  req.seed = r->params->seed;
  req.n_variants = r->params->n_variants;
  if (mode == TS_MODE_EDIT || mode == TS_MODE_RESTYLE)
    req.strength = r->params->strength;
  if (mode != TS_MODE_GENERATE)
    req.image = image;
  if (mode == TS_MODE_INPAINT || mode == TS_MODE_BACKGROUND)
    req.mask = mask;
  req.progress = pipeline_progress;
  req.progress_data = task;
  req.cancellable = d->cancellable;

  g_mutex_lock (&self->lock);
  g_autoptr (TsPipelineResult) res = self->pipeline ? ts_pipeline_run (self->pipeline, &req, error)
                                                    : NULL;
  g_mutex_unlock (&self->lock);
  if (!res)
    return NULL;

  /* Edits come back at the input's size, already composited by the pipeline; Generate comes
   * back at the model's size and replaces the canvas, scaled to cover it. */
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (int v = 0; v < res->n_images; v++) {
    const TsImage *im = res->images[v];
    guint8 *px = g_malloc (n * 4);
    for (int y = 0; y < r->height; y++)
      for (int x = 0; x < r->width; x++) {
        const guint8 *g = im->pixels + ((gsize) (y * im->height / r->height) * im->width
                                        + x * im->width / r->width) * 3;
        guint8 *o = px + ((gsize) y * r->width + x) * 4;
        o[0] = g[0]; o[1] = g[1]; o[2] = g[2]; o[3] = 255;
      }
    g_ptr_array_add (out, g_bytes_new_take (px, n * 4));
  }
  return out;
}
#endif

static void
run_worker (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  TesseraEngine *self = source;
  RunData *d = data;
  GError *error = NULL;
#ifdef TESSERA_HAVE_PIPELINE
  GPtrArray *variants = pipeline_generate (self, task, d, &error);
#else
  (void) self;
  GPtrArray *variants = preview_generate (task, d, &error);
#endif
  if (!variants) {
    g_task_return_error (task, error);
    return;
  }
  TesseraJobResult *res = g_new0 (TesseraJobResult, 1);
  res->width = d->request->width;
  res->height = d->request->height;
  res->variants = variants;
  res->first_seed = d->request->params->seed;
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
  d->request = request;
  d->progress = progress;
  d->progress_data = progress_data;
  d->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  g_task_set_task_data (task, d, run_data_free);
  g_task_run_in_thread (task, run_worker);
}

TesseraJobResult *
tessera_engine_run_finish (TesseraEngine *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
