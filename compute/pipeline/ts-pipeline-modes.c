/* ts-pipeline-modes.c — generate, restyle (image-to-image) and the mask-free edit. */
#include "ts-mode-table.h"
#include "ts-pipeline-private.h"

#include <math.h>
#include <string.h>

/* What every mode does around its sampling: the prompt context for n rows with consecutive
 * seeds, and at the end the decode into the result. */
typedef struct {
  int         rows, h, w;
  guint64    *seeds;
  TsUvitCond *cond;
  int32_t    *tokens;  /* [rows, h, w] */
} Job;

static void
job_clear (Job *j)
{
  g_free (j->seeds);
  g_clear_pointer (&j->cond, ts_uvit_cond_free);
  g_free (j->tokens);
}

static gboolean
job_start (TsRunContext *ctx, const TsPipelineRequest *r, int h, int w, Job *j,
           TsPipelineTimings *t, GError **error)
{
  const TsPipeline *p = ctx->pipeline;
  j->rows = r->n_variants;
  j->h = h;
  j->w = w;
  j->seeds = g_new (guint64, j->rows);
  g_autofree const char **prompts = g_new (const char *, j->rows);
  g_autofree const char **negatives = g_new (const char *, j->rows);
  for (int i = 0; i < j->rows; i++) {
    j->seeds[i] = r->seed + (guint64) i;
    prompts[i] = r->prompt ? r->prompt : "";
    negatives[i] = r->negative_prompt ? r->negative_prompt : "";
  }
  j->tokens = g_try_new (int32_t, (gsize) j->rows * h * w);
  if (!j->tokens) {
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of memory for the token map");
    return FALSE;
  }
  double t0 = ts_pipeline_now ();
  TsCondRequest cr = { j->rows, prompts, negatives, r->guidance, w * p->scale, h * p->scale,
                       { r->crop_coord[0], r->crop_coord[1] }, r->aesthetic_score };
  j->cond = ts_pipeline_encode (ctx, &cr, error);
  t->text_encode = ts_pipeline_now () - t0;
  t->text_context = ctx->context_seconds;
  return j->cond != NULL;
}

static void
loop_init (TsSampleLoop *l, const TsPipelineRequest *r, const Job *j, const TsSchedule *s)
{
  *l = (TsSampleLoop) {
    .schedule = s, .rows = j->rows, .h = j->h, .w = j->w, .cfg = r->guidance > 1.0,
    .guidance = (float) r->guidance, .guided_steps = r->guided_steps,
    .starting_mask_ratio = 1.0f, .seeds = j->seeds,
    .draws = r->draws, .draws_data = r->draws_data, .progress = r->progress,
    .progress_data = r->progress_data, .cancellable = r->cancellable,
  };
}

static TsSchedule *
schedule_for (TsPipeline *p, const TsPipelineRequest *r, int n_steps, TsMaskingSchedule m)
{
  return ts_schedule_new (n_steps, (float) r->temperature[0], (float) r->temperature[1], m,
                          p->mask_id, p->codebook_size);
}

/* Decodes the job's tokens into the result, resized to out_w×out_h. */
static TsPipelineResult *
job_finish (TsPipeline *p, Job *j, int out_w, int out_h, TsPipelineTimings *t, GError **error)
{
  double t0 = ts_pipeline_now ();
  TsImage **images = ts_pipeline_decode (p, j->tokens, j->rows, j->h, j->w, error);
  t->decode = ts_pipeline_now () - t0;
  if (!images)
    return NULL;
  t0 = ts_pipeline_now ();
  g_autoptr (TsPipelineResult) res = ts_pipeline_result_new (j->rows, j->w, j->h);
  gboolean ok = TRUE;
  for (int b = 0; b < j->rows; b++) {
    if (ok && (images[b]->width != out_w || images[b]->height != out_h)) {
      res->images[b] = ts_image_resize (images[b], out_w, out_h, error);
      ok = res->images[b] != NULL;
      ts_image_free (images[b]);
    } else {
      res->images[b] = images[b];
    }
    res->seeds[b] = j->seeds[b];
    res->tokens[b] = g_memdup2 (j->tokens + (gsize) b * j->h * j->w,
                                (gsize) j->h * j->w * sizeof (int32_t));
  }
  g_free (images);
  t->composite = ts_pipeline_now () - t0;
  if (!ok)
    return NULL;
  res->timings = *t;
  return g_steal_pointer (&res);
}

TsPipelineResult *
ts_pipeline_run_generate (TsRunContext *ctx, const TsPipelineRequest *r, GError **error)
{
  TsPipeline *p = ctx->pipeline;
  int width = r->width > 0 ? r->width : p->native;
  int height = r->height > 0 ? r->height : p->native;
  int out_w = width, out_h = height;
  if (r->image) {
    /* A picture to paint over: its size, generated at the working size. */
    int max_side = ts_pipeline_max_side (p, r);
    out_w = r->image->width;
    out_h = r->image->height;
    ts_pipeline_fit (p, max_side, out_w, out_h, &width, &height);
    ts_run_context_notice_scaled (ctx, max_side, width, height, out_w, out_h);
  }
  int q = p->scale * p->token_step;
  if (width % q || height % q || width > 8192 || height > 8192) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "the image size %d×%d must be a multiple of %d up to 8192", width, height, q);
    return NULL;
  }
  TsPipelineTimings t = { 0 };
  Job j = { 0 };
  TsPipelineResult *res = NULL;
  if (job_start (ctx, r, height / p->scale, width / p->scale, &j, &t, error)) {
    for (gsize i = 0; i < (gsize) j.rows * j.h * j.w; i++)
      j.tokens[i] = p->mask_id;
    g_autoptr (TsSchedule) s = schedule_for (p, r, r->steps, p->scheduler.masking_schedule);
    TsSampleLoop l;
    loop_init (&l, r, &j, s);
    double t0 = ts_pipeline_now ();
    gboolean ok = ts_pipeline_sample (ctx, j.cond, &l, j.tokens, error);
    t.sampling = ts_pipeline_now () - t0;
    t.steps_run = r->steps;
    if (ok)
      res = job_finish (p, &j, out_w, out_h, &t, error);
  }
  job_clear (&j);
  return res;
}

/* The input image at the working size, as VQ token ids for every row. */
static gboolean
encode_image (TsPipeline *p, const TsImage *image, int work_w, int work_h, Job *j,
              TsPipelineTimings *t, GError **error)
{
  double t0 = ts_pipeline_now ();
  g_autoptr (TsImage) work = ts_image_resize (image, work_w, work_h, error);
  g_autofree float *planar = work ? ts_image_to_planar (work, error) : NULL;
  gboolean ok = planar && ts_vqmodel_encode_ids (p->vq, planar, 1, work_h, work_w, j->tokens,
                                                 error);
  for (int b = 1; ok && b < j->rows; b++)
    memcpy (j->tokens + (gsize) b * j->h * j->w, j->tokens, (gsize) j->h * j->w * 4);
  t->image_encode = ts_pipeline_now () - t0;
  return ok;
}

/* Restyle and edit start alike: the image scaled to the working size, one job of its token
 * grid, the image's tokens in every row. */
static gboolean
image_job_start (TsRunContext *ctx, const TsPipelineRequest *r, Job *j, TsPipelineTimings *t,
                 GError **error)
{
  TsPipeline *p = ctx->pipeline;
  int work_w, work_h, max_side = ts_pipeline_max_side (p, r);
  ts_pipeline_fit (p, max_side, r->image->width, r->image->height, &work_w, &work_h);
  ts_run_context_notice_scaled (ctx, max_side, work_w, work_h, r->image->width,
                                r->image->height);
  return job_start (ctx, r, work_h / p->scale, work_w / p->scale, j, t, error) &&
         encode_image (p, r->image, work_w, work_h, j, t, error);
}

TsPipelineResult *
ts_pipeline_run_restyle (TsRunContext *ctx, const TsPipelineRequest *r, GError **error)
{
  TsPipeline *p = ctx->pipeline;
  TsPipelineTimings t = { 0 };
  Job j = { 0 };
  TsPipelineResult *res = NULL;
  if (image_job_start (ctx, r, &j, &t, error)) {
    g_autoptr (TsSchedule) s = schedule_for (p, r, r->steps, p->scheduler.masking_schedule);
    int first = ts_pipeline_first_step (r->steps, r->strength);
    int64_t L = (int64_t) j.h * j.w;
    g_autofree float *u = g_new (float, L);
    for (int b = 0; b < j.rows; b++) {
      int32_t *row = j.tokens + b * L;
      if (first == 0) {
        /* Upstream adds noise at timestep 0 here and so masks nothing; strength 1 means
         * "from scratch" to a user, so start from all masks. */
        for (int64_t i = 0; i < L; i++)
          row[i] = p->mask_id;
      } else {
        ts_pipeline_draw (r->draws, r->draws_data, TS_DRAW_ADD_NOISE, 0, b, j.seeds[b], u, L);
        ts_schedule_add_noise (s, first - 1, row, u, L);
      }
    }
    TsSampleLoop l;
    loop_init (&l, r, &j, s);
    l.first = first;
    double t0 = ts_pipeline_now ();
    gboolean ok = first >= r->steps || ts_pipeline_sample (ctx, j.cond, &l, j.tokens, error);
    t.sampling = ts_pipeline_now () - t0;
    t.steps_run = r->steps - first;
    if (ok)
      res = job_finish (p, &j, r->image->width, r->image->height, &t, error);
  }
  job_clear (&j);
  return res;
}

/* Muse's mask-free editing: each iteration re-masks a random fraction of the tokens and
 * samples them all back in one step under the new prompt. */
TsPipelineResult *
ts_pipeline_run_edit (TsRunContext *ctx, const TsPipelineRequest *r, GError **error)
{
  TsPipeline *p = ctx->pipeline;
  TsPipelineTimings t = { 0 };
  Job j = { 0 };
  TsPipelineResult *res = NULL;
  if (image_job_start (ctx, r, &j, &t, error)) {
    /* One step at timestep 0: every masked token is revealed; its temperature is unused. */
    g_autoptr (TsSchedule) s = schedule_for (p, r, 1, p->scheduler.masking_schedule);
    int64_t L = (int64_t) j.h * j.w;
    g_autofree float *u = g_new (float, L);
    g_autofree int32_t *work = g_memdup2 (j.tokens, (gsize) j.rows * L * 4);
    gboolean ok = TRUE;
    double t0 = ts_pipeline_now ();
    for (int it = 0; ok && it < r->edit_iterations; it++) {
      for (int b = 0; b < j.rows; b++) {
        ts_pipeline_draw (r->draws, r->draws_data, TS_DRAW_EDIT_MASK, it, b, j.seeds[b], u, L);
        for (int64_t i = 0; i < L; i++)
          if (u[i] < (float) r->edit_fraction)
            work[b * L + i] = p->mask_id;
      }
      TsSampleLoop l;
      loop_init (&l, r, &j, s);
      l.step_base = it;
      l.progress_total = r->edit_iterations;
      ok = ts_pipeline_sample (ctx, j.cond, &l, work, error);
    }
    t.sampling = ts_pipeline_now () - t0;
    t.steps_run = r->edit_iterations;
    if (ok) {
      memcpy (j.tokens, work, (gsize) j.rows * L * 4);
      res = job_finish (p, &j, r->image->width, r->image->height, &t, error);
    }
  }
  job_clear (&j);
  return res;
}

/* ---- frames: a working-size part of a larger picture ---- */

gboolean
ts_pipeline_frame (const TsPipeline *p, const TsPipelineRequest *r, int *x, int *y, int *w,
                   int *h)
{
  const TsImage *im = r->image;
  int side = ts_pipeline_max_side (p, r);
  if (!r->use_frame || !im || !ts_mode_has (r->mode, TS_MODE_FRAMES) ||
      MAX (im->width, im->height) <= side)
    return FALSE;
  *w = MIN (side, im->width);
  *h = MIN (side, im->height);
  *x = CLAMP (r->frame_x, 0, im->width - *w);
  *y = CLAMP (r->frame_y, 0, im->height - *h);
  return TRUE;
}

/* The frame's alpha in the picture: 1 inside, ramping down over `feather` pixels towards
 * the frame's sides that lie inside the picture (a side on the picture's edge stays hard). */
static TsImage *
frame_alpha (const TsImage *im, int fx, int fy, int fw, int fh, int feather, GError **error)
{
  TsImage *alpha = ts_image_new (im->width, im->height, 1, error);
  if (!alpha)
    return NULL;
  for (int y = 0; y < fh; y++)
    for (int x = 0; x < fw; x++) {
      float e = G_MAXFLOAT; /* from the nearest inner side, pixel centres */
      if (fx > 0)
        e = MIN (e, x + 0.5f);
      if (fx + fw < im->width)
        e = MIN (e, fw - x - 0.5f);
      if (fy > 0)
        e = MIN (e, y + 0.5f);
      if (fy + fh < im->height)
        e = MIN (e, fh - y - 0.5f);
      float a = feather > 0 ? ts_smoothstep (e / (float) feather) : 1.0f;
      alpha->pixels[(gsize) (fy + y) * im->width + fx + x] = (guint8) MAX (1, lroundf (255 * a));
    }
  return alpha;
}

TsPipelineResult *
ts_pipeline_run_framed (TsRunContext *ctx, const TsPipelineRequest *r, GError **error)
{
  int fx, fy, fw, fh;
  g_return_val_if_fail (ts_pipeline_frame (ctx->pipeline, r, &fx, &fy, &fw, &fh), NULL);
  g_autoptr (TsImage) crop = ts_image_crop (r->image, fx, fy, fw, fh, error);
  if (!crop)
    return NULL;
  TsPipelineRequest part = *r;
  part.image = crop;
  part.use_frame = FALSE;
  g_autoptr (TsPipelineResult) res = ts_mode_info (r->mode)->run (ctx, &part, error);
  if (!res)
    return NULL;
  double t0 = ts_pipeline_now ();
  res->blend_mask = frame_alpha (r->image, fx, fy, fw, fh, r->feather, error);
  res->grown_mask = res->blend_mask ? ts_image_new (r->image->width, r->image->height, 1, error)
                                    : NULL;
  if (!res->grown_mask)
    return NULL;
  for (int y = 0; y < fh; y++)
    memset (res->grown_mask->pixels + (gsize) (fy + y) * r->image->width + fx, 255, fw);
  for (int b = 0; b < res->n_images; b++) {
    TsImage *whole = ts_image_copy (r->image, error);
    if (!whole)
      return NULL;
    ts_image_blend (whole, res->images[b], fx, fy, res->blend_mask);
    ts_image_free (res->images[b]);
    res->images[b] = whole;
  }
  res->timings.composite += ts_pipeline_now () - t0;
  return g_steal_pointer (&res);
}
