/* ts-pipeline-private.h — the pipeline's stages, shared by its files and the tests. */
#pragma once

#include "ts-pipeline.h"
#include "ts-rng.h"
#include "ts-run-context.h"
#include "ts-sampler.h"
#include "../model/ts-model-folder.h"
#include "../nn/ts-clip.h"
#include "../nn/ts-uvit.h"
#include "../nn/ts-vqmodel.h"

G_BEGIN_DECLS

struct _TsPipeline {
  TsBackend        *be;
  TsModelFolder    *folder;
  TsClipText       *clip;
  TsUvit           *uvit;
  TsVqModel        *vq;
  TsSchedulerConfig scheduler;
  int               scale;        /* pixels per token */
  int               token_step;   /* token grids are multiples of this (2 when the
                                     transformer downsamples) */
  int               native;       /* native image side, pixels */
  int               mask_id, codebook_size;
  double            load_seconds;
  /* The CPU fallback (see ts_pipeline_run): whether to use it, and the pipeline of its own
   * made on the first request that needs it. What a request writes as it runs is not here
   * but in its TsRunContext (ts-run-context.h). */
  gboolean          cpu_fallback;
  TsBackend        *fallback_be;
  TsPipeline       *fallback;
  /* The weights did not fit on the backend given to ts_pipeline_new: be is then this CPU
   * backend of the pipeline's own, load_error why, load_notice what each result says. */
  TsBackend        *own_be;
  GError           *load_error;
  char             *load_notice;
  /* Tests: taps on the conditioning and every step (ts-pipeline-testing.h); NULL. */
  const struct _TsPipelineTestHooks *test_hooks;
  /* How each network's weights are multiplied (ts_pipeline_new_full). */
  TsPipelineLoadOptions load_options;
};

/* ---- images ---- */
gsize    ts_image_bytes (const TsImage *image);
TsImage *ts_image_crop (const TsImage *image, int x, int y, int w, int h, GError **error);
/* Linear resampling (area-like when shrinking). Same size: a copy. */
TsImage *ts_image_resize (const TsImage *image, int width, int height, GError **error);
/* RGB → planar float [3, H, W] in [0, 1] (g_free), and back (rounded half to even). */
float   *ts_image_to_planar (const TsImage *image, GError **error);
void     ts_planar_to_image (const float *planar, TsImage *image);
/* dst += alpha/255 · (src − dst) over src's rectangle at (x, y) of dst; alpha is 1 channel,
 * dst's size. Where alpha is 0 dst is left byte for byte. */
void     ts_image_blend (TsImage *dst, const TsImage *src, int x, int y, const TsImage *alpha);

/* 3x² − 2x³ of x clamped to [0, 1]: the composite's soft edges. */
static inline float
ts_smoothstep (float x)
{
  x = CLAMP (x, 0.0f, 1.0f);
  return x * x * (3.0f - 2.0f * x);
}

/* ---- conditioning ---- */
typedef struct {
  int                rows;       /* result rows B */
  const char *const *prompts;    /* [rows] */
  const char *const *negatives;  /* [rows] or NULL (all "") */
  double             guidance;   /* > 1: CFG, transformer batch [negatives…, prompts…] */
  int                width, height; /* micro-conditioning, pixels */
  int                crop[2];
  double             aesthetic;
} TsCondRequest;

/* Sets ctx->context_seconds. */
TsUvitCond *ts_pipeline_encode (TsRunContext *ctx, const TsCondRequest *r, GError **error);

/* ---- the sampling loop ---- */

/* Tests: what each step computed for each row; logits_cfg is [L, K] channels-last. */
typedef void (*TsStepTapFunc) (int step, int row, const float *logits_cfg,
                               const TsStepDetail *detail, const int32_t *prev,
                               gpointer user_data);

typedef struct {
  const TsSchedule *schedule;
  int               first;               /* schedule index of the first step run */
  int               rows, h, w;
  gboolean          cfg;
  float             guidance;
  int               guided_steps;        /* cfg only on steps (numbered as for the draws)
                                            below this, the conditional rows after (0: all) */
  float             starting_mask_ratio; /* 1 except for inpainting */
  const guint64    *seeds;               /* [rows] */
  int               step_base;           /* added to the step number of draws and progress */
  int               progress_total;      /* steps reported as n_steps (0: step_base + those
                                            run here) */
  TsDrawFunc        draws;
  gpointer          draws_data;
  TsProgressFunc    progress;
  gpointer          progress_data;
  GCancellable     *cancellable;
  TsStepTapFunc     tap;
  gpointer          tap_data;
} TsSampleLoop;

/* Runs schedule steps first … n_steps−1 on tokens [rows, h, w] in place (on failure or
 * cancellation tokens are left as they were). */
gboolean ts_pipeline_sample (TsRunContext *ctx, TsUvitCond *cond, const TsSampleLoop *loop,
                             int32_t *tokens, GError **error);

/* Uniforms for one row from the request's hook or the counter generator. */
void ts_pipeline_draw (TsDrawFunc draws, gpointer data, TsDrawKind kind, int step, int row,
                       guint64 seed, float *out, int64_t n);

/* Decode [rows, h, w] tokens into rows RGB images of (w·scale)×(h·scale). */
TsImage **ts_pipeline_decode (TsPipeline *p, const int32_t *tokens, int rows, int h, int w,
                              GError **error);

/* Per-mode runners (ts-pipeline-modes.c, ts-pipeline-masked.c), on ctx->pipeline. */
TsPipelineResult *ts_pipeline_run_generate (TsRunContext *ctx, const TsPipelineRequest *r,
                                            GError **error);
TsPipelineResult *ts_pipeline_run_restyle (TsRunContext *ctx, const TsPipelineRequest *r,
                                           GError **error);
TsPipelineResult *ts_pipeline_run_edit (TsRunContext *ctx, const TsPipelineRequest *r,
                                        GError **error);
TsPipelineResult *ts_pipeline_run_masked (TsRunContext *ctx, const TsPipelineRequest *r,
                                          GError **error);
/* Whether the request processes a frame of its picture, and where (ts-pipeline-modes.c). */
gboolean ts_pipeline_frame (const TsPipeline *p, const TsPipelineRequest *r, int *x, int *y,
                            int *w, int *h);
TsPipelineResult *ts_pipeline_run_framed (TsRunContext *ctx, const TsPipelineRequest *r,
                                          GError **error);

/* Shared helpers of the runners. */
TsPipelineResult *ts_pipeline_result_new (int n_images, int token_w, int token_h);
int      ts_pipeline_first_step (int n_steps, double strength);
/* The working size for an image of w×h: scaled down to fit the native size, to multiples of
 * the token size. */
void     ts_pipeline_fit (const TsPipeline *p, int max_side, int w, int h, int *work_w,
                          int *work_h);
/* The request's max_work_size or the native size. */
int      ts_pipeline_max_side (const TsPipeline *p, const TsPipelineRequest *r);
double   ts_pipeline_now (void);

G_END_DECLS
