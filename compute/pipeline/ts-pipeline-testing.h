/* ts-pipeline-testing.h — hooks for the goldens replay (tests only): what every conditioning
 * and every sampling step of a pipeline computed, including the sampling loops that
 * ts_pipeline_run starts itself (image-to-image, inpainting), which take no tap from the
 * request. Not part of the public API. */
#pragma once

#include "ts-pipeline-private.h"

G_BEGIN_DECLS

/* The conditioning ts_pipeline_encode assembled for the transformer batch of n_rows rows
 * (with CFG the negatives first): row i was tokenized as text_ids + row_text[i]·length,
 * hidden [n_rows, length, D] and pooled [n_rows, P] are the text encoder's outputs as fed to
 * the transformer, micro [n_rows, TS_UVIT_N_MICRO_CONDS] the micro-conditions. */
typedef void (*TsCondTapFunc) (const int32_t *text_ids, const int *row_text, int n_rows,
                               int length, TsTensor *hidden, TsTensor *pooled,
                               const float *micro, gpointer user_data);

typedef struct _TsPipelineTestHooks {
  TsStepTapFunc step;      /* every step of every loop whose TsSampleLoop has no tap */
  gpointer      step_data;
  TsCondTapFunc cond;      /* every ts_pipeline_encode */
  gpointer      cond_data;
} TsPipelineTestHooks;

/* Borrowed until replaced; NULL removes them. */
void ts_pipeline_set_test_hooks (TsPipeline *p, const TsPipelineTestHooks *hooks);

G_END_DECLS
