/* tessera-engine-run.h — one editor request run on the engine's pipeline: the editor's
 * TesseraJobRequest translated into a TsPipelineRequest, and the pipeline's result back. The
 * engine (tessera-engine.c) calls it in its worker thread. */
#pragma once

#include "tessera-job.h"
#include "pipeline/ts-pipeline.h"

G_BEGIN_DECLS

/* Runs `request` on `pipeline` (any thread, one at a time). The result's variants are at the
 * request's size; its notice, backend and device_lost say how it went. On failure NULL, and
 * *device_lost (may be NULL) tells whether the pipeline's GPU is lost. */
TesseraJobResult *tessera_engine_run_request (TsPipeline *pipeline,
                                              const TesseraJobRequest *request,
                                              GCancellable *cancellable,
                                              TsProgressFunc progress, gpointer progress_data,
                                              gboolean *device_lost, GError **error);

/* The pieces, for tests: the request's picture (outpaint: without the new border) and mask
 * in the pipeline's image type, and the pipeline request they go into (borrowing them and
 * `r`), for a model of native_size pixels. */
gboolean tessera_engine_run_request_images (const TesseraJobRequest *r, TsImage **image,
                                            TsImage **mask, GError **error);
void     tessera_engine_run_fill_request (const TesseraJobRequest *r, int native_size,
                                          const TsImage *image, const TsImage *mask,
                                          TsPipelineRequest *req);

G_END_DECLS
