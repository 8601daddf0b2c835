/* pipeline-fixture.c — see pipeline-fixture.h. */
#include "pipeline-fixture.h"

static TsBackend *cpu;
static TsPipeline *pipe_cpu;

TsPipeline *
pipeline_fixture_tiny (void)
{
  if (!pipe_cpu) {
    g_autofree char *dir = nn_tiny_model_dir (NULL);
    if (!dir)
      return NULL;
    g_autoptr (GError) error = NULL;
    cpu = ts_backend_new_cpu (0, &error);
    g_assert_no_error (error);
    pipe_cpu = ts_pipeline_new (cpu, dir, &error);
    g_assert_no_error (error);
  }
  return pipe_cpu;
}

void
pipeline_fixture_free (void)
{
  g_clear_pointer (&pipe_cpu, ts_pipeline_free);
  g_clear_pointer (&cpu, ts_backend_free);
}

TsPipelineResult *
pipeline_run_ok (TsPipeline *p, const TsPipelineRequest *req)
{
  g_autoptr (GError) error = NULL;
  TsPipelineResult *res = ts_pipeline_run (p, req, &error);
  g_assert_no_error (error);
  g_assert_nonnull (res);
  return res;
}
