/* test-pipeline-fast.c — the fast mode (guidance on the first steps only) on the tiny model:
 * deterministic, and different from the exact result only as documented: the guided steps
 * give the exact tokens, every later step is an unguided step from there. */
#include "nn-golden.h"
#include "pipeline/ts-pipeline-private.h"

#include <string.h>

#define STEPS 6
#define GUIDED 2

/* The token map after every step, as the progress callback reports it. */
typedef struct {
  int      n, calls;
  int32_t *after[STEPS + 1];
} Trace;

static void
on_progress (const TsPipelineProgress *pr, gpointer data)
{
  Trace *t = data;
  t->n = pr->n_rows * pr->token_width * pr->token_height;
  if (pr->step <= STEPS)
    t->after[pr->step] = g_memdup2 (pr->tokens, (gsize) t->n * sizeof (int32_t));
  t->calls++;
}

static void
trace_clear (Trace *t)
{
  for (int i = 0; i <= STEPS; i++)
    g_free (t->after[i]);
}

static TsPipelineResult *
run_traced (TsPipeline *p, TsPipelineRequest *req, Trace *trace)
{
  g_autoptr (GError) error = NULL;
  memset (trace, 0, sizeof *trace);
  req->progress = on_progress;
  req->progress_data = trace;
  TsPipelineResult *res = ts_pipeline_run (p, req, &error);
  g_assert_no_error (error);
  g_assert_nonnull (res);
  return res;
}

static TsPipeline *
open_tiny (TsBackend **cpu)
{
  g_autofree char *dir = nn_tiny_model_dir (NULL);
  if (!dir)
    return NULL;
  g_autoptr (GError) error = NULL;
  *cpu = ts_backend_new_cpu (0, &error);
  g_assert_no_error (error);
  TsPipeline *p = ts_pipeline_new (*cpu, dir, &error);
  g_assert_no_error (error);
  return p;
}

/* Steps GUIDED … STEPS−1 without guidance, from `tokens` (the map after the guided steps). */
static void
continue_unguided (TsPipeline *p, const TsPipelineRequest *req, int32_t *tokens)
{
  g_autoptr (GError) error = NULL;
  const char *prompts[] = { req->prompt };
  TsCondRequest cr = { .rows = 1, .prompts = prompts, .guidance = 1.0, .width = p->native,
                       .height = p->native, .aesthetic = req->aesthetic_score };
  g_auto (TsRunContext) ctx = { 0 };
  ts_run_context_init (&ctx, p, ts_pipeline_now ());
  g_autoptr (TsUvitCond) cond = ts_pipeline_encode (&ctx, &cr, &error);
  g_assert_no_error (error);
  g_autoptr (TsSchedule) s = ts_schedule_new (STEPS, 2.0f, 0.0f, p->scheduler.masking_schedule,
                                              p->mask_id, p->codebook_size);
  int side = p->native / p->scale;
  TsSampleLoop l = { .schedule = s, .first = GUIDED, .step_base = GUIDED, .rows = 1,
                     .h = side, .w = side, .cfg = FALSE, .starting_mask_ratio = 1.0f,
                     .seeds = &req->seed };
  g_assert_true (ts_pipeline_sample (&ctx, cond, &l, tokens, &error));
  g_assert_no_error (error);
}

static void
test_fast_generate (void)
{
  TsBackend *cpu = NULL;
  g_autoptr (TsPipeline) p = open_tiny (&cpu);
  if (!p) {
    g_test_skip ("no goldens folder (TESSERA_GOLDENS) with the tiny model");
    return;
  }
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_GENERATE);
  g_assert_cmpint (req.guided_steps, ==, 0);   /* the default is the exact result */
  req.prompt = "a lighthouse";
  req.steps = STEPS;
  req.seed = 11;
  Trace exact, fast, again;
  g_autoptr (TsPipelineResult) e = run_traced (p, &req, &exact);
  req.guided_steps = GUIDED;
  g_autoptr (TsPipelineResult) f = run_traced (p, &req, &fast);
  g_autoptr (TsPipelineResult) f2 = run_traced (p, &req, &again);
  int n = exact.n;
  gsize bytes = (gsize) f->images[0]->width * f->images[0]->height * 3;
  g_assert_cmpint (fast.calls, ==, STEPS);

  /* deterministic */
  g_assert_cmpmem (f->tokens[0], n * 4, f2->tokens[0], n * 4);
  g_assert_cmpmem (f->images[0]->pixels, bytes, f2->images[0]->pixels, bytes);
  /* the guided steps are the exact ones */
  for (int s = 1; s <= GUIDED; s++)
    g_assert_cmpmem (fast.after[s], n * 4, exact.after[s], n * 4);
  /* the rest are unguided steps from there */
  g_autofree int32_t *tokens = g_memdup2 (fast.after[GUIDED], (gsize) n * 4);
  continue_unguided (p, &req, tokens);
  g_assert_cmpmem (tokens, n * 4, f->tokens[0], n * 4);
  /* and guidance matters on this model, so the result is not the exact one */
  int same = 0;
  for (int i = 0; i < n; i++)
    same += f->tokens[0][i] == e->tokens[0][i];
  g_test_message ("fast vs exact: %d of %d tokens identical", same, n);
  g_assert_cmpint (same, <, n);
  trace_clear (&exact);
  trace_clear (&fast);
  trace_clear (&again);
  ts_pipeline_free (g_steal_pointer (&p));
  ts_backend_free (cpu);
}

/* The preset, per mode; mask-free edit counts its iterations as steps. */
static void
test_fast_preset_and_edit (void)
{
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_GENERATE);
  ts_pipeline_request_set_fast (&req);
  g_assert_cmpint (req.steps, ==, 8);
  g_assert_cmpint (req.guided_steps, ==, 2);
  req.steps = 1;
  ts_pipeline_request_set_fast (&req);
  g_assert_cmpint (req.steps, ==, 1);
  g_assert_cmpint (req.guided_steps, ==, 1);
  ts_pipeline_request_init (&req, TS_MODE_EDIT);
  req.edit_iterations = 5;
  ts_pipeline_request_set_fast (&req);
  g_assert_cmpint (req.edit_iterations, ==, 5);
  g_assert_cmpint (req.guided_steps, ==, 2);

  TsBackend *cpu = NULL;
  g_autoptr (TsPipeline) p = open_tiny (&cpu);
  if (!p) {
    g_test_skip ("no goldens folder (TESSERA_GOLDENS) with the tiny model");
    return;
  }
  g_autoptr (GError) error = NULL;
  req.guided_steps = -1;
  g_assert_null (ts_pipeline_run (p, &req, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);

  g_autoptr (TsImage) image = ts_image_new (p->native, p->native, 3, NULL);
  for (gsize i = 0; i < ts_image_bytes (image); i++)
    image->pixels[i] = (guint8) (i * 7 % 251);
  ts_pipeline_request_init (&req, TS_MODE_EDIT);
  req.image = image;
  req.prompt = "in winter";
  req.edit_iterations = 4;
  req.edit_fraction = 0.3;
  Trace exact, fast, again;
  g_autoptr (TsPipelineResult) e = run_traced (p, &req, &exact);
  req.guided_steps = GUIDED;
  g_autoptr (TsPipelineResult) f = run_traced (p, &req, &fast);
  g_autoptr (TsPipelineResult) f2 = run_traced (p, &req, &again);
  int n = exact.n;
  g_assert_cmpmem (f->tokens[0], n * 4, f2->tokens[0], n * 4);
  for (int s = 1; s <= GUIDED; s++)
    g_assert_cmpmem (fast.after[s], n * 4, exact.after[s], n * 4);
  g_assert_true (memcmp (f->tokens[0], e->tokens[0], (gsize) n * 4) != 0);
  trace_clear (&exact);
  trace_clear (&fast);
  trace_clear (&again);
  ts_pipeline_free (g_steal_pointer (&p));
  ts_backend_free (cpu);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pipeline/fast/generate", test_fast_generate);
  g_test_add_func ("/pipeline/fast/preset-edit", test_fast_preset_and_edit);
  return g_test_run ();
}
