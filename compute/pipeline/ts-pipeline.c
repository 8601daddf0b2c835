/* ts-pipeline.c — loading a model, requests and results, and the stages every mode shares:
 * prompt encoding, the sampling loop, decoding. */
#include "ts-mode-table.h"
#include "ts-pipeline-private.h"
#include "ts-pipeline-testing.h"

#include <math.h>
#include <string.h>

double
ts_pipeline_now (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* The three networks onto p->be; on failure what was loaded is freed again. */
static gboolean
load_networks (TsPipeline *p, GError **error)
{
  TsModelFolder *f = p->folder;
  const TsPipelineLoadOptions *o = &p->load_options;
  ts_weights_set_precision (ts_model_folder_text_encoder_weights (f), o->text_encoder);
  ts_weights_set_precision (ts_model_folder_transformer_weights (f), o->transformer);
  ts_weights_set_precision (ts_model_folder_vq_weights (f), o->vq);
  p->clip = ts_clip_text_new (p->be, ts_model_folder_text_encoder_config (f),
                              ts_model_folder_text_encoder_weights (f), TS_DTYPE_COUNT, error);
  p->uvit = p->clip ? ts_uvit_new (p->be, ts_model_folder_transformer_config (f),
                                   ts_model_folder_transformer_weights (f), TS_DTYPE_COUNT,
                                   error)
                    : NULL;
  p->vq = p->uvit ? ts_vqmodel_new (p->be, ts_model_folder_vq_config (f),
                                    ts_model_folder_vq_weights (f), error)
                  : NULL;
  if (p->vq)
    return TRUE;
  g_clear_pointer (&p->uvit, ts_uvit_free);
  g_clear_pointer (&p->clip, ts_clip_text_free);
  return FALSE;
}

/* Out of memory or a lost device on a GPU: the CPU backend may still do it. */
static gboolean
cpu_may_help (TsPipeline *p, const GError *e)
{
  return p->cpu_fallback && ts_backend_kind (p->be) != TS_BACKEND_CPU &&
         (g_error_matches (e, TS_ERROR, TS_ERROR_OUT_OF_MEMORY) ||
          g_error_matches (e, TS_ERROR, TS_ERROR_DEVICE));
}

/* The weights did not fit on the GPU (`gpu_error`, kept): load them on a CPU backend of the
 * pipeline's own, which then runs every request, each result saying so. */
static gboolean
load_on_cpu (TsPipeline *p, GError *gpu_error, GError **error)
{
  TsBackend *gpu = p->be;
  /* The failed load must not leave its error on the caller's backend. */
  ts_backend_take_error (gpu, NULL);
  p->load_error = gpu_error;
  GError *local = NULL;
  p->own_be = ts_backend_new_cpu (0, &local);
  p->be = p->own_be;
  if (!p->be || !load_networks (p, &local)) {
    g_set_error (error, gpu_error->domain, gpu_error->code, "%s; the CPU backend failed too: %s",
                 gpu_error->message, local->message);
    g_error_free (local);
    return FALSE;
  }
  p->load_notice = g_strdup_printf (
      g_error_matches (gpu_error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY)
          ? "the model's weights do not fit in the memory of %s (%s); the model runs on the "
            "CPU backend instead"
          : "%s failed while loading the model (%s); the model runs on the CPU backend instead",
      ts_backend_name (gpu), gpu_error->message);
  return TRUE;
}

TsPipeline *
ts_pipeline_new (TsBackend *backend, const char *model_dir, GError **error)
{
  return ts_pipeline_new_full (backend, model_dir, NULL, error);
}

const TsPipelineLoadOptions *
ts_pipeline_load_options (const TsPipeline *p)
{
  return &p->load_options;
}

TsPipeline *
ts_pipeline_new_full (TsBackend *backend, const char *model_dir,
                      const TsPipelineLoadOptions *options, GError **error)
{
  g_return_val_if_fail (backend != NULL && model_dir != NULL, NULL);
  double t0 = ts_pipeline_now ();
  g_autoptr (TsPipeline) p = g_new0 (TsPipeline, 1);
  p->be = backend;
  if (options)
    p->load_options = *options;
  p->cpu_fallback = TRUE;
  p->folder = ts_model_folder_open (model_dir, NULL, error);
  if (!p->folder)
    return NULL;
  GError *local = NULL;
  if (!load_networks (p, &local)) {
    if (!cpu_may_help (p, local)) {
      g_propagate_error (error, local);
      return NULL;
    }
    if (!load_on_cpu (p, local, error))
      return NULL;
  }
  p->scheduler = *ts_model_folder_scheduler_config (p->folder);
  p->scale = ts_vqmodel_scale (p->vq);
  p->native = (int) ts_uvit_config (p->uvit)->sample_size * p->scale;
  p->token_step = ts_uvit_config (p->uvit)->downsample ? 2 : 1;
  p->mask_id = ts_uvit_mask_token_id (p->uvit);
  p->codebook_size = (int) ts_uvit_config (p->uvit)->codebook_size;
  p->load_seconds = ts_pipeline_now () - t0;
  return g_steal_pointer (&p);
}

void
ts_pipeline_free (TsPipeline *p)
{
  if (!p)
    return;
  g_clear_pointer (&p->vq, ts_vqmodel_free);
  g_clear_pointer (&p->uvit, ts_uvit_free);
  g_clear_pointer (&p->clip, ts_clip_text_free);
  g_clear_pointer (&p->folder, ts_model_folder_free);
  g_clear_pointer (&p->fallback, ts_pipeline_free);
  g_clear_pointer (&p->fallback_be, ts_backend_free);
  g_clear_pointer (&p->own_be, ts_backend_free);
  g_clear_error (&p->load_error);
  g_free (p->load_notice);
  g_free (p);
}

void
ts_pipeline_set_cpu_fallback (TsPipeline *p, gboolean enabled)
{
  p->cpu_fallback = enabled;
}

void
ts_pipeline_set_test_hooks (TsPipeline *p, const TsPipelineTestHooks *hooks)
{
  p->test_hooks = hooks;
}

TsBackend *
ts_pipeline_backend (TsPipeline *p)
{
  return p->be;
}

void
ts_pipeline_trim (TsPipeline *p)
{
  ts_backend_trim (p->be);
  if (p->fallback_be)
    ts_backend_trim (p->fallback_be);
}

const char *
ts_pipeline_load_notice (const TsPipeline *p)
{
  return p->load_notice;
}

int
ts_pipeline_native_size (const TsPipeline *p)
{
  return p->native;
}

int
ts_pipeline_token_size (const TsPipeline *p)
{
  return p->scale;
}

double
ts_pipeline_load_seconds (const TsPipeline *p)
{
  return p->load_seconds;
}

char *
ts_pipeline_describe (const TsPipeline *p)
{
  const TsUVitConfig *u = ts_uvit_config (p->uvit);
  const TsVQConfig *v = ts_vqmodel_config (p->vq);
  const TsClipTextConfig *c = ts_clip_text_config (p->clip);
  guint64 bytes = ts_uvit_weight_bytes (p->uvit) + ts_vqmodel_weight_bytes (p->vq) +
                  ts_clip_text_weight_bytes (p->clip);
  return g_strdup_printf (
    "Model: %s\n"
    "Native size: %d×%d pixels (%d×%d tokens of %d pixels)\n"
    "Transformer: hidden %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " layers, codebook %d, "
    "mask id %d, %s\n"
    "VQ-GAN: %d levels, codebook %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "\n"
    "Text encoder: width %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " layers\n"
    "Scheduler: %s masking\n"
    "Weights: %.1f MiB on %s, loaded in %.2f s\n%s%s%s",
    ts_model_folder_path (p->folder), p->native, p->native, p->native / p->scale,
    p->native / p->scale, p->scale, u->hidden_size, u->num_hidden_layers, p->codebook_size,
    p->mask_id, u->downsample ? "2×2 down/upsampling" : "no resampling", v->n_blocks,
    v->num_vq_embeddings, v->vq_embed_dim, c->hidden_size, c->num_hidden_layers,
    p->scheduler.masking_schedule == TS_MASKING_COSINE ? "cosine" : "linear",
    bytes / 1048576.0, ts_backend_name (p->be), p->load_seconds,
    p->load_notice ? "Note: " : "", p->load_notice ? p->load_notice : "",
    p->load_notice ? "\n" : "");
}

/* ---- requests and results ---- */

void
ts_pipeline_request_init (TsPipelineRequest *r, TsPipelineMode mode)
{
  memset (r, 0, sizeof *r);
  r->mode = mode;
  r->steps = 12;
  r->guidance = 10.0;
  r->temperature[0] = 2.0;
  r->temperature[1] = 0.0;
  r->n_variants = 1;
  r->aesthetic_score = 6.0;
  const TsModeInfo *m = ts_mode_info (mode);
  r->strength = m ? m->strength : 1.0;
  r->edit_iterations = 8;
  r->edit_fraction = 0.1;
  r->overlap = -1;
  r->grow = 0;
  r->feather = 8;
  r->context_padding = 32;
  r->max_work_size = 0;
  r->use_frame = FALSE;
}

double
ts_pipeline_progress_eta (const TsPipelineProgress *pr)
{
  if (pr->step <= 0 || pr->n_steps <= 0)
    return -1.0;
  if (pr->step >= pr->n_steps)
    return 0.0;
  return pr->steps_seconds / pr->step * (pr->n_steps - pr->step);
}

void
ts_pipeline_request_set_fast (TsPipelineRequest *r)
{
  r->steps = (2 * r->steps + 2) / 3;
  int run = ts_mode_has (r->mode, TS_MODE_ITERATES) ? r->edit_iterations : r->steps;
  r->guided_steps = MAX (1, (run + 3) / 4);
}

TsPipelineResult *
ts_pipeline_result_new (int n_images, int token_w, int token_h)
{
  TsPipelineResult *res = g_new0 (TsPipelineResult, 1);
  res->n_images = n_images;
  res->images = g_new0 (TsImage *, n_images);
  res->seeds = g_new0 (guint64, n_images);
  res->tokens = g_new0 (int32_t *, n_images);
  res->token_width = token_w;
  res->token_height = token_h;
  return res;
}

void
ts_pipeline_result_free (TsPipelineResult *res)
{
  if (!res)
    return;
  for (int i = 0; i < res->n_images; i++) {
    ts_image_free (res->images[i]);
    g_free (res->tokens[i]);
  }
  g_free (res->images);
  g_free (res->tokens);
  g_free (res->seeds);
  ts_image_free (res->grown_mask);
  ts_image_free (res->blend_mask);
  g_free (res->notice);
  g_free (res);
}

/* img2img / inpaint: steps timesteps[start:], start = N − int(N·strength) (Python's float
 * product, truncated). */
int
ts_pipeline_first_step (int n_steps, double strength)
{
  int run = (int) (n_steps * strength);
  return n_steps - CLAMP (run, 0, n_steps);
}

int
ts_pipeline_max_side (const TsPipeline *p, const TsPipelineRequest *r)
{
  return r->max_work_size > 0 ? r->max_work_size : p->native;
}

void
ts_pipeline_fit (const TsPipeline *p, int max_side, int w, int h, int *work_w, int *work_h)
{
  double s = MAX (w, h) > max_side ? (double) max_side / MAX (w, h) : 1.0;
  int q = p->scale * p->token_step;
  *work_w = MAX (q, (int) lround (w * s / q) * q);
  *work_h = MAX (q, (int) lround (h * s / q) * q);
}

/* ---- conditioning ---- */

static gboolean
tokenize (TsPipeline *p, const char *text, int32_t *out, int length, GError **error)
{
  g_autofree int64_t *ids = g_new (int64_t, length);
  if (!ts_tokenizer_encode (ts_model_folder_tokenizer (p->folder), text ? text : "", length,
                            ids, NULL, NULL, error))
    return FALSE;
  for (int i = 0; i < length; i++)
    out[i] = (int32_t) ids[i];
  return TRUE;
}

/* Rows rows[0..n) of t [B, …] stacked along dim 0, for the tests' view of the batch. */
static gboolean
gather_rows (TsPipeline *p, TsTensor *t, const int *rows, int n, TsTensor **out,
             GError **error)
{
  g_autofree TsTensor **parts = g_new0 (TsTensor *, n);
  gboolean ok = TRUE;
  for (int i = 0; i < n; i++)
    ok = (parts[i] = ts_tensor_slice (t, 0, rows[i], 1)) && ok;
  *out = ok ? ts_concat (p->be, parts, n, 0) : NULL;
  for (int i = 0; i < n; i++)
    ts_tensor_unref (parts[i]);
  if (!*out)
    ts_backend_take_error (p->be, error);
  return *out != NULL;
}

/* Distinct texts are encoded once (variants share one prompt), and so is the transformer's
 * context; then the batch is assembled row by row. */
TsUvitCond *
ts_pipeline_encode (TsRunContext *ctx, const TsCondRequest *r, GError **error)
{
  TsPipeline *p = ctx->pipeline;
  gboolean cfg = r->guidance > 1.0;
  int n_rows = cfg ? 2 * r->rows : r->rows;
  int length = ts_tokenizer_model_max_length (ts_model_folder_tokenizer (p->folder));
  g_autoptr (GPtrArray) texts = g_ptr_array_new ();
  g_autofree int *row_text = g_new (int, n_rows);
  for (int i = 0; i < n_rows; i++) {
    const char *t;
    if (cfg && i < r->rows)
      t = r->negatives && r->negatives[i] ? r->negatives[i] : "";
    else
      t = r->prompts[cfg ? i - r->rows : i];
    t = t ? t : "";
    guint found;
    if (!g_ptr_array_find_with_equal_func (texts, t, g_str_equal, &found)) {
      g_ptr_array_add (texts, (gpointer) t);
      found = texts->len - 1;
    }
    row_text[i] = (int) found;
  }
  int n_texts = (int) texts->len;
  g_autofree int32_t *ids = g_new (int32_t, (gsize) n_texts * length);
  for (int i = 0; i < n_texts; i++)
    if (!tokenize (p, texts->pdata[i], ids + (gsize) i * length, length, error))
      return NULL;
  g_autoptr (TsTensor) hidden = NULL, pooled = NULL;
  if (!ts_clip_text_encode (p->clip, ids, n_texts, length, &hidden, &pooled, error))
    return NULL;
  /* Reduced precision is the memory-lean choice: the text encoder's mapped f32 pages leave
   * memory until the next prompt (sampling and decoding never read them), which maps them
   * again from the page cache. */
  const TsPipelineLoadOptions *o = &p->load_options;
  if (o->text_encoder != TS_PRECISION_F32 || o->transformer != TS_PRECISION_F32 ||
      o->vq != TS_PRECISION_F32)
    ts_weights_release_pages (ts_model_folder_text_encoder_weights (p->folder));

  /* [width, height, crop_coord[0], crop_coord[1], aesthetic], the same for every row. */
  int n_micro = MAX (n_rows, n_texts);
  g_autofree float *micro = g_new (float, (gsize) n_micro * TS_UVIT_N_MICRO_CONDS);
  for (int i = 0; i < n_micro; i++) {
    float *m = micro + (gsize) i * TS_UVIT_N_MICRO_CONDS;
    m[0] = (float) r->width;
    m[1] = (float) r->height;
    m[2] = (float) r->crop[0];
    m[3] = (float) r->crop[1];
    m[4] = (float) r->aesthetic;
  }
  if (p->test_hooks && p->test_hooks->cond) {
    g_autoptr (TsTensor) ehs = NULL, pool = NULL;
    if (!gather_rows (p, hidden, row_text, n_rows, &ehs, error) ||
        !gather_rows (p, pooled, row_text, n_rows, &pool, error))
      return NULL;
    p->test_hooks->cond (ids, row_text, n_rows, length, ehs, pool, micro,
                         p->test_hooks->cond_data);
  }
  /* The transformer's context (every cross-attention key and value, every modulation) costs
   * about as much as the text encoder: computed once per distinct text, then given to each
   * row that uses it (variants share their prompt and their negative). */
  double t0 = ts_pipeline_now ();
  g_autoptr (TsUvitCond) per_text = ts_uvit_cond_new (p->uvit, hidden, pooled, micro, error);
  if (!per_text)
    return NULL;
  gboolean same = n_rows == n_texts;
  for (int i = 0; i < n_rows && same; i++)
    same = row_text[i] == i;
  TsUvitCond *cond = same ? g_steal_pointer (&per_text)
                          : ts_uvit_cond_gather (per_text, row_text, n_rows, error);
  ctx->context_seconds = ts_pipeline_now () - t0;
  return cond;
}

/* ---- sampling ---- */

void
ts_pipeline_draw (TsDrawFunc draws, gpointer data, TsDrawKind kind, int step, int row,
                  guint64 seed, float *out, int64_t n)
{
  if (draws)
    draws (kind, step, row, seed, out, n, data);
  else
    ts_rng_fill (seed, (guint32) step, (guint32) kind, out, n);
}

/* uncond + g·(cond − uncond) in float32, each operation rounded as torch does. */
static void
apply_guidance (float *logits, int rows, gsize row_size, float g)
{
  for (int b = 0; b < rows; b++) {
    float *u = logits + (gsize) b * row_size;
    const float *c = logits + (gsize) (rows + b) * row_size;
#pragma omp parallel for schedule(static) if (row_size >= 65536)
    for (gsize i = 0; i < row_size; i++) {
      float d = c[i] - u[i];
      float s = g * d;
      u[i] = u[i] + s;
    }
  }
}

static gboolean
check_cancelled (GCancellable *cancellable, GError **error)
{
  if (cancellable && g_cancellable_is_cancelled (cancellable)) {
    g_set_error (error, TS_ERROR, TS_ERROR_CANCELLED, "cancelled");
    return TRUE;
  }
  return FALSE;
}

/* The logits of `rows` rows into dst (the loop's buffer, reused every step). */
static gboolean
forward_rows (TsPipeline *p, const TsUvitCond *cond, const int32_t *input, int rows, int h,
              int w, int K, float *dst, GError **error)
{
  g_autoptr (TsTensor) logits = ts_uvit_forward (p->uvit, cond, input, h, w, error);
  return logits && ts_tensor_read (logits, dst, (size_t) rows * h * w * K * sizeof (float),
                                   error);
}

/* The CFG batch [uncond…, cond…] in two halves, one after the other: half the activations. */
static gboolean
forward_halves (TsPipeline *p, TsUvitCond *cond, const TsSampleLoop *l, const int32_t *input,
                float *dst, GError **error)
{
  gsize half = (gsize) l->rows * l->h * l->w;
  gsize half_logits = half * (gsize) l->schedule->codebook_size;
  for (int i = 0; i < 2; i++) {
    g_autoptr (TsUvitCond) part = ts_uvit_cond_slice (cond, i * l->rows, l->rows);
    if (!part) {
      g_set_error_literal (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "bad CFG batch");
      return FALSE;
    }
    if (!forward_rows (p, part, input + i * half, l->rows, l->h, l->w,
                       l->schedule->codebook_size, dst + i * half_logits, error))
      return FALSE;
  }
  return TRUE;
}

/* One transformer pass over every row, into dst. When the batched CFG pass runs out of
 * memory the halves are run separately, for this step and the rest of the request. */
static gboolean
step_logits (TsRunContext *ctx, TsUvitCond *cond, const TsSampleLoop *l, gboolean cfg,
             const int32_t *input, float *dst, GError **error)
{
  TsPipeline *p = ctx->pipeline;
  if (cfg && ctx->split_cfg)
    return forward_halves (p, cond, l, input, dst, error);
  GError *local = NULL;
  int rows = cfg ? 2 * l->rows : l->rows;
  if (forward_rows (p, cond, input, rows, l->h, l->w, l->schedule->codebook_size, dst, &local))
    return TRUE;
  if (!cfg || !g_error_matches (local, TS_ERROR, TS_ERROR_OUT_OF_MEMORY)) {
    g_propagate_error (error, local);
    return FALSE;
  }
  ts_run_context_notice (ctx, "the guided batch did not fit in memory (%s); running its "
                         "conditional and unconditional halves separately", local->message);
  g_error_free (local);
  ctx->split_cfg = TRUE;
  return forward_halves (p, cond, l, input, dst, error);
}

gboolean
ts_pipeline_sample (TsRunContext *ctx, TsUvitCond *cond, const TsSampleLoop *l,
                    int32_t *tokens, GError **error)
{
  const TsPipeline *p = ctx->pipeline;
  const TsSchedule *s = l->schedule;
  int64_t L = (int64_t) l->h * l->w;
  gsize row_size = (gsize) L * s->codebook_size;
  int in_rows = l->cfg ? 2 * l->rows : l->rows;
  g_autofree int32_t *work = g_memdup2 (tokens, (gsize) l->rows * L * sizeof (int32_t));
  g_autofree int32_t *input = g_new (int32_t, (gsize) in_rows * L);
  g_autofree int32_t *next = g_new (int32_t, (gsize) l->rows * L);
  g_autofree float *mult = g_new (float, L), *gum = g_new (float, L);
  g_autofree int32_t *pred = g_new (int32_t, L);
  g_autofree float *conf = g_new (float, L), *probs = g_new (float, L);
  g_autofree guint8 *masking = g_new (guint8, L);
  /* The logits of the widest step, allocated once: a fresh buffer every step cost its page
   * faults (2·L·codebook floats, 16 MiB at 256²) on top of the copy. */
  float *logits = g_try_new (float, (gsize) in_rows * row_size);
  if (!logits) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of memory for logits");
    return FALSE;
  }
  /* Steps reported as n_steps: the request's (edit: its iterations, one loop each). */
  int total = l->progress_total > 0 ? l->progress_total : l->step_base + s->n_steps - l->first;
  /* After the guided steps: the batch's conditional half [rows, 2·rows) alone. */
  g_autoptr (TsUvitCond) cond_half = NULL;

  for (int k = l->first; k < s->n_steps; k++) {
    int step = l->step_base + k - l->first;
    if (check_cancelled (l->cancellable, error)) {
      g_free (logits);
      return FALSE;
    }
    if (ctx->steps_started < 0)
      ctx->steps_started = ts_pipeline_now ();
    gboolean cfg = l->cfg && (l->guided_steps <= 0 || step < l->guided_steps);
    if (l->cfg && !cfg && !cond_half &&
        !(cond_half = ts_uvit_cond_slice (cond, l->rows, l->rows))) {
      g_set_error_literal (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "bad CFG batch");
      g_free (logits);
      return FALSE;
    }
    for (int i = 0; i < (cfg ? in_rows : l->rows); i++)
      memcpy (input + (gsize) i * L, work + (gsize) (i % l->rows) * L, L * sizeof (int32_t));
    double f0 = ts_pipeline_now ();
    if (!step_logits (ctx, l->cfg && !cfg ? cond_half : cond, l, cfg, input, logits, error)) {
      g_free (logits);
      return FALSE;
    }
    ctx->forward_seconds += ts_pipeline_now () - f0;
    if (cfg)
      apply_guidance (logits, l->rows, row_size, l->guidance);
    gboolean last = ts_schedule_timestep (s, k) == 0;
    for (int b = 0; b < l->rows; b++) {
      ts_pipeline_draw (l->draws, l->draws_data, TS_DRAW_MULTINOMIAL, step, b, l->seeds[b],
                        mult, L);
      if (!last)
        ts_pipeline_draw (l->draws, l->draws_data, TS_DRAW_GUMBEL, step, b, l->seeds[b], gum, L);
      float mask_len = 0;
      TsStepDetail d = { pred, conf, probs, &mask_len, masking };
      /* the loop's own tap, else the tests' hook */
      const TsPipelineTestHooks *hooks = l->tap ? NULL : p->test_hooks;
      TsStepTapFunc tap = hooks ? hooks->step : l->tap;
      ts_schedule_step_row (s, k, logits + (gsize) b * row_size, work + (gsize) b * L, L,
                            l->starting_mask_ratio, mult, gum, next + (gsize) b * L,
                            tap ? &d : NULL);
      if (tap)
        tap (step, b, logits + (gsize) b * row_size, &d, next + (gsize) b * L,
             hooks ? hooks->step_data : l->tap_data);
    }
    memcpy (work, next, (gsize) l->rows * L * sizeof (int32_t));
    if (l->progress) {
      double now = ts_pipeline_now ();
      TsPipelineProgress pr = { step + 1, total, l->rows, l->w, l->h,
                                s->mask_id, work, now - ctx->run_started,
                                now - ctx->steps_started };
      l->progress (&pr, l->progress_data);
    }
  }
  g_free (logits);
  memcpy (tokens, work, (gsize) l->rows * L * sizeof (int32_t));
  return TRUE;
}

TsImage **
ts_pipeline_decode (TsPipeline *p, const int32_t *tokens, int rows, int h, int w,
                    GError **error)
{
  g_autofree float *pixels = ts_vqmodel_decode_pixels (p->vq, tokens, rows, h, w, error);
  if (!pixels)
    return NULL;
  TsImage **images = g_new0 (TsImage *, rows);
  gsize image_floats = (gsize) 3 * h * p->scale * w * p->scale;
  for (int b = 0; b < rows; b++) {
    images[b] = ts_image_new (w * p->scale, h * p->scale, 3, error);
    if (!images[b]) {
      for (int i = 0; i < b; i++)
        ts_image_free (images[i]);
      g_free (images);
      return NULL;
    }
    ts_planar_to_image (pixels + b * image_floats, images[b]);
  }
  return images;
}

/* ---- dispatch ---- */

static gboolean
validate (TsPipeline *p, const TsPipelineRequest *r, GError **error)
{
  const TsModeInfo *m = ts_mode_info (r->mode);
  if (!m) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "unknown mode %d", r->mode);
    return FALSE;
  }
  /* What the mode needs, from its row; the messages name the mode by its id. */
  g_autofree char *bad_mode = NULL;
  const char *bad = NULL;
  if (r->steps < 1 || r->steps > 1000)
    bad = "steps must be between 1 and 1000";
  else if (!isfinite (r->guidance) || r->guidance < 0 || r->guidance > 1000)
    bad = "guidance must be between 0 and 1000";
  else if (r->guided_steps < 0 || r->guided_steps > 1000)
    bad = "guided steps must be between 0 (all) and 1000";
  else if (r->n_variants < 1 || r->n_variants > 64)
    bad = "variants must be between 1 and 64";
  else if (!isfinite (r->strength) || r->strength < 0 || r->strength > 1)
    bad = "strength must be between 0 and 1";
  else if (!isfinite (r->temperature[0]) || !isfinite (r->temperature[1]))
    bad = "temperatures must be finite";
  else if ((m->flags & TS_MODE_ITERATES) &&
           (r->edit_iterations < 1 || r->edit_iterations > 1000 ||
            !(r->edit_fraction > 0 && r->edit_fraction <= 1)))
    bad = bad_mode = g_strdup_printf ("%s needs 1 to 1000 iterations and a fraction in (0, 1]",
                                      m->id);
  else if (r->context_padding < 0 || r->context_padding > 8192 || r->feather < 0 ||
           r->feather > 8192 || r->grow < 0 || r->grow > 8192 || r->overlap < -1 ||
           r->overlap > 8192 || r->max_work_size < 0 || r->max_work_size > 8192)
    bad = "padding, grow, feather, overlap and the working size must be between 0 and 8192";
  else if ((m->flags & TS_MODE_NEEDS_IMAGE) && (!r->image || r->image->channels != 3))
    bad = "this mode needs an RGB input image";
  else if (r->image && r->image->channels != 3)
    bad = "the input image must be RGB";
  else if ((m->flags & TS_MODE_TAKES_IMAGE) && r->image && (r->width || r->height))
    bad = bad_mode = g_strdup_printf ("%s takes its size from the image when given one: width "
                                      "and height must be 0", m->id);
  else if ((m->flags & TS_MODE_NEEDS_MASK) && (!r->mask || r->mask->channels != 1))
    bad = "this mode needs a one-channel mask";
  else if (r->mask && r->image && (r->mask->width != r->image->width ||
                                   r->mask->height != r->image->height))
    bad = "the mask must have the image's size";
  else if ((m->flags & TS_MODE_NEEDS_EXTEND) &&
           (r->extend_left < 0 || r->extend_top < 0 || r->extend_right < 0 ||
            r->extend_bottom < 0 ||
            r->extend_left + r->extend_top + r->extend_right + r->extend_bottom == 0 ||
            (gint64) r->extend_left + r->extend_right + (r->image ? r->image->width : 0) > 65536 ||
            (gint64) r->extend_top + r->extend_bottom + (r->image ? r->image->height : 0) > 65536))
    bad = bad_mode = g_strdup_printf ("%s needs non-negative extensions, at least one of "
                                      "them positive", m->id);
  if (bad) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "%s", bad);
    return FALSE;
  }
  return TRUE;
}

static TsPipelineResult *
run_mode (TsRunContext *ctx, const TsPipelineRequest *r, GError **error)
{
  TsPipeline *p = ctx->pipeline;
  if (p->load_error && !p->cpu_fallback) {
    g_propagate_error (error, g_error_copy (p->load_error));
    return NULL;
  }
  if (p->load_notice)
    ts_run_context_notice (ctx, "%s", p->load_notice);
  if (ts_backend_is_lost (p->be)) {
    g_set_error (error, TS_ERROR, TS_ERROR_DEVICE, "%s: the device was lost earlier and "
                 "cannot run anything more", ts_backend_name (p->be));
    return NULL;
  }
  int fx, fy, fw, fh;
  if (ts_pipeline_frame (p, r, &fx, &fy, &fw, &fh))
    return ts_pipeline_run_framed (ctx, r, error);
  /* validate () made sure the mode has a row. */
  return ts_mode_info (r->mode)->run (ctx, r, error);
}

/* The CPU pipeline of p's own, made on the first request that needs it and kept. */
static TsPipeline *
fallback_pipeline (TsPipeline *p, GError **error)
{
  if (!p->fallback) {
    p->fallback_be = ts_backend_new_cpu (0, error);
    if (!p->fallback_be)
      return NULL;
    p->fallback = ts_pipeline_new_full (p->fallback_be, ts_model_folder_path (p->folder),
                                        &p->load_options, error);
    if (!p->fallback) {
      g_clear_pointer (&p->fallback_be, ts_backend_free);
      return NULL;
    }
    p->fallback->cpu_fallback = FALSE;
  }
  return p->fallback;
}

/* The request again on the CPU backend, after `gpu_error` (consumed), in a context of its
 * own; its notices and transformer time then join ctx's. */
static TsPipelineResult *
run_on_cpu (TsRunContext *ctx, const TsPipelineRequest *r, GError *gpu_error, GError **error)
{
  GError *local = NULL;
  TsPipelineResult *res = NULL;
  TsPipeline *cpu = fallback_pipeline (ctx->pipeline, &local);
  g_auto (TsRunContext) cpu_ctx = { 0 };
  if (cpu) {
    /* Progress goes on counting from the caller's start; the steps start again. */
    ts_run_context_init (&cpu_ctx, cpu, ctx->run_started);
    res = run_mode (&cpu_ctx, r, &local);
  }
  if (!res) {
    if (g_error_matches (local, TS_ERROR, TS_ERROR_CANCELLED))
      g_propagate_error (error, g_steal_pointer (&local));
    else
      g_set_error (error, gpu_error->domain, gpu_error->code, "%s; the CPU backend failed "
                   "too: %s", gpu_error->message, local->message);
    g_clear_error (&local);
    g_error_free (gpu_error);
    return NULL;
  }
  g_string_truncate (ctx->notices, 0);
  ts_run_context_notice (ctx, "%s; the request ran on the CPU backend instead",
                         gpu_error->message);
  if (cpu_ctx.notices->len > 0)
    ts_run_context_notice (ctx, "%s", cpu_ctx.notices->str);
  ctx->forward_seconds += cpu_ctx.forward_seconds;
  res->backend = ts_backend_name (cpu->be);
  g_error_free (gpu_error);
  return res;
}

TsPipelineResult *
ts_pipeline_run (TsPipeline *p, const TsPipelineRequest *r, GError **error)
{
  g_return_val_if_fail (p != NULL && r != NULL, NULL);
  if (!validate (p, r, error))
    return NULL;
  double t0 = ts_pipeline_now ();
  /* Everything this call writes as it runs; p itself is only read (but for the CPU
   * fallback pipeline, made once). */
  g_auto (TsRunContext) ctx = { 0 };
  ts_run_context_init (&ctx, p, t0);
  GError *local = NULL;
  TsPipelineResult *res = run_mode (&ctx, r, &local);
  if (res)
    res->backend = ts_backend_name (p->be);
  else if (cpu_may_help (p, local))
    res = run_on_cpu (&ctx, r, g_steal_pointer (&local), error);
  else
    g_propagate_error (error, g_steal_pointer (&local));
  if (res) {
    res->timings.total = ts_pipeline_now () - t0;
    res->timings.transformer = ctx.forward_seconds;
    res->notice = ctx.notices->len > 0 ? g_strdup (ctx.notices->str) : NULL;
  }
  return res;
}
