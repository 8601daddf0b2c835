/* ts-run-context.h — what one ts_pipeline_run call writes while it runs.
 *
 * A TsPipeline holds what loading the model made (networks, configuration, the CPU fallback
 * pipeline it makes once); every value a request changes as it goes lives here instead, in a
 * context made by ts_pipeline_run for that call alone, so a run leaves nothing of itself in
 * the pipeline for the next one to reset or to race with. The stages that need it (prompt
 * encoding, the sampling loop, the mode runners) take the context; the ones that only read
 * the model (decode, the working-size helpers) take the pipeline. */
#pragma once

#include "ts-pipeline.h"

G_BEGIN_DECLS

typedef struct _TsRunContext {
  TsPipeline *pipeline;        /* what it runs on (the CPU fallback's own context on retry) */
  gboolean    split_cfg;       /* runs CFG's halves separately: the batched pass ran out of
                                  memory earlier in this request (tests may set it first) */
  GString    *notices;         /* what it did differently from what was asked, for the
                                  result's notice; "; "-separated */
  double      run_started;     /* ts_pipeline_now () at the request's start, for progress */
  double      steps_started;   /* at its first sampling step; < 0 until then */
  double      forward_seconds; /* the transformer forwards so far */
  double      context_seconds; /* of its last ts_pipeline_encode: the transformer's context,
                                  after the text encoder */
} TsRunContext;

/* A fresh context on `pipeline` for a request that started at `started` (ts_pipeline_now). */
void ts_run_context_init (TsRunContext *ctx, TsPipeline *pipeline, double started);
/* Frees what init made; a zeroed context is fine too (g_auto). */
void ts_run_context_clear (TsRunContext *ctx);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TsRunContext, ts_run_context_clear)

/* Records what the request does differently from what was asked (a fallback). */
void ts_run_context_notice (TsRunContext *ctx, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* Says that a w×h picture was processed at work_w×work_h and scaled back, when it was
 * scaled down to fit the working size max_side. */
void ts_run_context_notice_scaled (TsRunContext *ctx, int max_side, int work_w, int work_h,
                                   int w, int h);

G_END_DECLS
