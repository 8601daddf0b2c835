/* pipeline-fixture.h — what the pipeline tests on the tiny model share: one CPU pipeline
 * loaded once per test program (loading it is most of a small test's time), the skip when
 * the goldens' tiny model is absent, and a run that must succeed. */
#pragma once

#include "nn-golden.h"
#include "pipeline/ts-pipeline-private.h"

G_BEGIN_DECLS

/* The tiny model's CPU pipeline, loaded on first use and kept until pipeline_fixture_free;
 * NULL where the goldens folder with the tiny model is absent. */
TsPipeline *pipeline_fixture_tiny (void);

/* After g_test_run: frees the pipeline and its backend, if they were loaded. */
void pipeline_fixture_free (void);

/* ts_pipeline_run that must succeed: no error and a result. */
TsPipelineResult *pipeline_run_ok (TsPipeline *p, const TsPipelineRequest *req);

/* Declares P as the tiny pipeline, or skips the test (not fails) where it cannot be had, so
 * the suite runs on a clone without the goldens checkout. */
#define NEED_TINY(p)                                                                      \
  TsPipeline *p = pipeline_fixture_tiny ();                                               \
  if (!p) {                                                                               \
    g_test_skip ("no goldens folder (TESSERA_GOLDENS) with the tiny model");              \
    return;                                                                               \
  }

G_END_DECLS
