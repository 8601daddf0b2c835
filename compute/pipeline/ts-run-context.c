/* ts-run-context.c — a request's own state while ts_pipeline_run runs it (see the header). */
#include "ts-run-context.h"

#include <stdarg.h>

void
ts_run_context_init (TsRunContext *ctx, TsPipeline *pipeline, double started)
{
  *ctx = (TsRunContext) { .pipeline = pipeline, .notices = g_string_new (NULL),
                          .run_started = started, .steps_started = -1.0 };
}

void
ts_run_context_clear (TsRunContext *ctx)
{
  if (ctx->notices)
    g_string_free (ctx->notices, TRUE);
  ctx->notices = NULL;
}

void
ts_run_context_notice (TsRunContext *ctx, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  if (ctx->notices->len > 0)
    g_string_append (ctx->notices, "; ");
  g_string_append_vprintf (ctx->notices, format, args);
  va_end (args);
}

void
ts_run_context_notice_scaled (TsRunContext *ctx, int max_side, int work_w, int work_h, int w,
                              int h)
{
  if (MAX (w, h) > max_side)
    ts_run_context_notice (ctx, "processed at %d×%d and scaled to %d×%d (the working size is "
                           "%d×%d)", work_w, work_h, w, h, max_side, max_side);
}
