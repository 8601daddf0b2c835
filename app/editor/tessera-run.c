/* tessera-run.c — one queued or running request. */
#include "tessera-run.h"

struct _TesseraRun {
  GObject parent_instance;

  TesseraParams *params;        /* a copy: outlives the request, which the engine takes */
  TesseraJobRequest *request;   /* until started */
  GCancellable *cancellable;    /* from the start on */
};

G_DEFINE_FINAL_TYPE (TesseraRun, tessera_run, G_TYPE_OBJECT)

static void
tessera_run_finalize (GObject *object)
{
  TesseraRun *self = TESSERA_RUN (object);
  tessera_params_free (self->params);
  g_clear_pointer (&self->request, tessera_job_request_free);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (tessera_run_parent_class)->finalize (object);
}

static void
tessera_run_class_init (TesseraRunClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tessera_run_finalize;
}

static void
tessera_run_init (TesseraRun *self)
{
}

TesseraRun *
tessera_run_new (TesseraJobRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  TesseraRun *self = g_object_new (TESSERA_TYPE_RUN, NULL);
  self->request = request;
  self->params = tessera_params_copy (request->params);
  return self;
}

const TesseraParams *
tessera_run_get_params (TesseraRun *self)
{
  return self->params;
}

const TesseraJobRequest *
tessera_run_get_request (TesseraRun *self)
{
  return self->request;
}

gboolean
tessera_run_is_running (TesseraRun *self)
{
  return self->cancellable != NULL && !g_cancellable_is_cancelled (self->cancellable);
}

TesseraJobRequest *
tessera_run_start (TesseraRun *self)
{
  g_return_val_if_fail (self->cancellable == NULL, NULL);
  self->cancellable = g_cancellable_new ();
  return g_steal_pointer (&self->request);
}

GCancellable *
tessera_run_get_cancellable (TesseraRun *self)
{
  return self->cancellable;
}

void
tessera_run_cancel (TesseraRun *self)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->request, tessera_job_request_free);
}
