/* tessera-run-queue.c — the running request, the queue behind it, progress and the pending
 * result. */
#include "tessera-run-queue.h"

#include <glib/gi18n.h>

struct _TesseraRunQueue {
  GObject parent_instance;

  TesseraEngine *engine;
  TesseraDocument *document;
  GPtrArray *runs;             /* TesseraRun: the running one first (if any), then the queue */
  int progress_steps;

  TesseraJobResult *pending;   /* finished, waiting for Apply or Discard */
  TesseraParams *pending_params;
  guint selected_variant;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TesseraRunQueue, tessera_run_queue, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum { STARTED, PROGRESS, STOPPED, N_SIGNALS };
static guint signals[N_SIGNALS];

static GType
get_item_type (GListModel *model)
{
  return TESSERA_TYPE_RUN;
}

static guint
get_n_items (GListModel *model)
{
  return TESSERA_RUN_QUEUE (model)->runs->len;
}

static gpointer
get_item (GListModel *model, guint i)
{
  TesseraRunQueue *self = TESSERA_RUN_QUEUE (model);
  return i < self->runs->len ? g_object_ref (g_ptr_array_index (self->runs, i)) : NULL;
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static void start_next (TesseraRunQueue *self);

static void
on_engine_state (TesseraEngine *engine, GParamSpec *pspec, TesseraRunQueue *self)
{
  /* A model loaded (again): what waited for it starts. */
  start_next (self);
}

static void
tessera_run_queue_dispose (GObject *object)
{
  TesseraRunQueue *self = TESSERA_RUN_QUEUE (object);
  /* A run in flight notices and ends; its late result is dropped (on_run_done). */
  for (guint i = 0; i < self->runs->len; i++)
    tessera_run_cancel (g_ptr_array_index (self->runs, i));
  g_ptr_array_set_size (self->runs, 0);
  if (self->engine)
    g_signal_handlers_disconnect_by_data (self->engine, self);
  g_clear_object (&self->engine);
  g_clear_object (&self->document);
  tessera_run_queue_clear_pending (self);
  G_OBJECT_CLASS (tessera_run_queue_parent_class)->dispose (object);
}

static void
tessera_run_queue_finalize (GObject *object)
{
  TesseraRunQueue *self = TESSERA_RUN_QUEUE (object);
  g_ptr_array_unref (self->runs);
  G_OBJECT_CLASS (tessera_run_queue_parent_class)->finalize (object);
}

static void
tessera_run_queue_class_init (TesseraRunQueueClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = tessera_run_queue_dispose;
  object_class->finalize = tessera_run_queue_finalize;

  signals[STARTED] = g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 2, TESSERA_TYPE_RUN,
                                   G_TYPE_POINTER);
  signals[PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[STOPPED] = g_signal_new ("stopped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
tessera_run_queue_init (TesseraRunQueue *self)
{
  self->runs = g_ptr_array_new_with_free_func (g_object_unref);
}

TesseraRunQueue *
tessera_run_queue_new (TesseraEngine *engine, TesseraDocument *document)
{
  TesseraRunQueue *self = g_object_new (TESSERA_TYPE_RUN_QUEUE, NULL);
  self->engine = g_object_ref (engine);
  self->document = g_object_ref (document);
  g_signal_connect (engine, "notify::state", G_CALLBACK (on_engine_state), self);
  return self;
}

TesseraRun *
tessera_run_queue_get_running (TesseraRunQueue *self)
{
  if (self->runs->len == 0)
    return NULL;
  TesseraRun *head = g_ptr_array_index (self->runs, 0);
  return tessera_run_get_cancellable (head) ? head : NULL;
}

gboolean
tessera_run_queue_is_running (TesseraRunQueue *self)
{
  return tessera_run_queue_get_running (self) != NULL;
}

guint
tessera_run_queue_get_n_queued (TesseraRunQueue *self)
{
  return self->runs->len - (tessera_run_queue_is_running (self) ? 1 : 0);
}

int
tessera_run_queue_get_progress_steps (TesseraRunQueue *self)
{
  return self->progress_steps;
}

/* ---- the pending result ---- */

TesseraJobResult *
tessera_run_queue_get_pending (TesseraRunQueue *self)
{
  return self->pending;
}

const TesseraParams *
tessera_run_queue_get_pending_params (TesseraRunQueue *self)
{
  return self->pending_params;
}

guint
tessera_run_queue_get_selected_variant (TesseraRunQueue *self)
{
  return self->selected_variant;
}

gboolean
tessera_run_queue_select_variant (TesseraRunQueue *self, guint index)
{
  if (!self->pending || index >= self->pending->variants->len)
    return FALSE;
  self->selected_variant = index;
  return TRUE;
}

void
tessera_run_queue_clear_pending (TesseraRunQueue *self)
{
  g_clear_pointer (&self->pending, tessera_job_result_free);
  g_clear_pointer (&self->pending_params, tessera_params_free);
  self->selected_variant = 0;
}

/* ---- running ---- */

typedef struct {
  TesseraRunQueue *self;
  TesseraRun *run;
} RunCall;

static void
on_progress (const TesseraJobProgress *progress, gpointer user_data)
{
  TesseraRunQueue *self = user_data;
  self->progress_steps = progress->step;
  g_signal_emit (self, signals[PROGRESS], 0, progress);
}

/* The running one (index 0) leaves the list; the caller says why and starts the next. */
static void
remove_running (TesseraRunQueue *self)
{
  g_ptr_array_remove_index (self->runs, 0);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, 1, 0);
}

static void
on_run_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RunCall *call = user_data;
  g_autoptr (TesseraRunQueue) self = call->self;
  g_autoptr (TesseraRun) run = call->run;
  g_free (call);
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraJobResult) res = tessera_engine_run_finish (TESSERA_ENGINE (source), result,
                                                                &error);
  /* Cancel already took it off and said so; a late result is dropped. */
  if (!self->document || tessera_run_queue_get_running (self) != run)
    return;
  remove_running (self);   /* `run` keeps the call's reference */
  if (res && (res->width != tessera_document_get_width (self->document)
              || res->height != tessera_document_get_height (self->document))) {
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_FAILED,
                         _("The picture changed size while the request ran; result dropped"));
    g_clear_pointer (&res, tessera_job_result_free);
  }
  if (res) {
    tessera_run_queue_clear_pending (self);
    self->pending = g_steal_pointer (&res);
    self->pending_params = tessera_params_copy (tessera_run_get_params (run));
    self->selected_variant = 0;
  }
  g_signal_emit (self, signals[STOPPED], 0, error);
  start_next (self);
}

static void
start_next (TesseraRunQueue *self)
{
  if (!self->engine || self->runs->len == 0 || tessera_run_queue_is_running (self)
      || tessera_engine_get_state (self->engine) != TESSERA_ENGINE_READY)
    return;
  TesseraRun *run = g_ptr_array_index (self->runs, 0);
  TesseraJobRequest *request = tessera_run_start (run);
  self->progress_steps = 0;
  /* Its row says "running" now. */
  g_list_model_items_changed (G_LIST_MODEL (self), 0, 1, 1);
  g_signal_emit (self, signals[STARTED], 0, run, request);
  RunCall *call = g_new (RunCall, 1);
  call->self = g_object_ref (self);
  call->run = g_object_ref (run);
  tessera_engine_run_async (self->engine, request, tessera_run_get_cancellable (run), on_progress,
                            self, on_run_done, call);
}

gboolean
tessera_run_queue_push (TesseraRunQueue *self, TesseraJobRequest *request)
{
  gboolean idle = self->runs->len == 0;
  g_ptr_array_add (self->runs, tessera_run_new (request));
  g_list_model_items_changed (G_LIST_MODEL (self), self->runs->len - 1, 0, 1);
  start_next (self);
  return idle;
}

static void
stop_running (TesseraRunQueue *self)
{
  TesseraRun *run = tessera_run_queue_get_running (self);
  if (!run)
    return;
  tessera_run_cancel (run);
  remove_running (self);
  g_autoptr (GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                  _("Cancelled"));
  g_signal_emit (self, signals[STOPPED], 0, error);
}

void
tessera_run_queue_cancel_all (TesseraRunQueue *self)
{
  TesseraRun *running = tessera_run_queue_get_running (self);
  guint first = running ? 1 : 0, n = self->runs->len - first;
  for (guint i = first; i < self->runs->len; i++)
    tessera_run_cancel (g_ptr_array_index (self->runs, i));
  if (n > 0) {
    g_ptr_array_remove_range (self->runs, first, n);
    g_list_model_items_changed (G_LIST_MODEL (self), first, n, 0);
  }
  stop_running (self);
}

void
tessera_run_queue_cancel_nth (TesseraRunQueue *self, guint index)
{
  if (index == 0) {
    if (!tessera_run_queue_is_running (self))
      return;
    stop_running (self);
    start_next (self);
    return;
  }
  guint pos = index - 1 + (tessera_run_queue_is_running (self) ? 1 : 0);
  if (pos >= self->runs->len)
    return;
  tessera_run_cancel (g_ptr_array_index (self->runs, pos));
  g_ptr_array_remove_index (self->runs, pos);
  g_list_model_items_changed (G_LIST_MODEL (self), pos, 1, 0);
}

void
tessera_run_queue_cancel_run (TesseraRunQueue *self, TesseraRun *run)
{
  guint pos;
  if (!g_ptr_array_find (self->runs, run, &pos))
    return;
  /* Positions count the running one; cancel_nth's indices count it as 0 in any case. */
  if (run == tessera_run_queue_get_running (self))
    tessera_run_queue_cancel_nth (self, 0);
  else
    tessera_run_queue_cancel_nth (self, tessera_run_queue_is_running (self) ? pos : pos + 1);
}
