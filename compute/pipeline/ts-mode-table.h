/* ts-mode-table.h — the editing modes, one row each: the mode's id and names, what a request
 * of it needs and takes, its defaults and its runner.
 *
 * Every place that treats modes differently reads the row instead of naming modes: the
 * pipeline validates and dispatches a request from it, tessera-cli makes a subcommand of
 * each row (usage line, the options it takes, the checks before the model loads), and the
 * editor its mode menu, the states of its `win.mode` action and the settings it shows per
 * mode. Adding a mode is a TS_MODE_ value, a row in ts-mode-table.c and its runner. */
#pragma once

#include "ts-pipeline.h"

G_BEGIN_DECLS

/* What a mode needs (a request without it is refused) and takes (a caller offers it). */
typedef enum {
  TS_MODE_NEEDS_IMAGE     = 1 << 0,  /* an RGB picture to work on */
  TS_MODE_TAKES_IMAGE     = 1 << 1,  /* optionally a picture to paint over, at its size
                                        (generate); then no width and height */
  TS_MODE_TAKES_SIZE      = 1 << 2,  /* width and height of a new picture */
  TS_MODE_NEEDS_MASK      = 1 << 3,  /* a one-channel mask of the picture's size, grown and
                                        feathered by the request's grow and feather */
  TS_MODE_MASK_KEEPS      = 1 << 4,  /* the mask marks what is kept (background's subject),
                                        everything else is repainted */
  TS_MODE_NEEDS_EXTEND    = 1 << 5,  /* extend_*: at least one side, and overlap */
  TS_MODE_TAKES_STRENGTH  = 1 << 6,  /* strength applies (from the row's default) */
  TS_MODE_ASKS_STRENGTH   = 1 << 7,  /* strength is the mode's own setting, worth showing
                                        (restyle: how far the picture may drift); the modes
                                        that only take it repaint fully by default */
  TS_MODE_ITERATES        = 1 << 8,  /* edit_iterations and edit_fraction: one sampling loop
                                        per iteration, counted instead of steps */
  TS_MODE_FRAMES          = 1 << 9,  /* on a picture larger than the working size: a frame
                                        of it (use_frame) or all of it scaled */
  TS_MODE_PROMPT_OPTIONAL = 1 << 10, /* the picture alone says enough (extend, swap) */
} TsModeFlags;

/* A request's own state while it runs: the pipeline's private ts-run-context.h. */
typedef struct _TsRunContext TsRunContext;

typedef TsPipelineResult *(*TsModeRunner) (TsRunContext *ctx, const TsPipelineRequest *request,
                                           GError **error);

/* One mode. The texts are marked N_() and in English: callers translate them with _() in
 * their own text domain (compute/ has none). */
typedef struct {
  TsPipelineMode mode;
  const char    *id;       /* stable: tessera-cli's subcommand, the editor's `win.mode`
                              state, project files */
  const char    *label;    /* the editor's menu: "Replace Background" */
  const char    *summary;  /* one line: tessera-cli's command list */
  const char    *help;     /* tessera-cli SUBCOMMAND --help's summary (names its options) */
  TsModeFlags    flags;
  double         strength; /* the request's default strength (ts_pipeline_request_init) */
  TsModeRunner   run;      /* the pipeline's own, called by ts_pipeline_run after it has
                              validated the request; callers use ts_pipeline_run */
} TsModeInfo;

/* The rows in the order menus and lists show them: generate, the masked modes, then the
 * whole-picture edits. */
guint             ts_mode_count (void);
const TsModeInfo *ts_mode_nth (guint index);
/* The row of `mode`, or NULL for a value that is no mode. */
const TsModeInfo *ts_mode_info (TsPipelineMode mode);
/* The row whose id is `id`, or NULL. */
const TsModeInfo *ts_mode_from_id (const char *id);
/* The index of `mode`'s row in the list order (what a menu shows at that position). */
guint             ts_mode_index (TsPipelineMode mode);
/* Whether `mode`'s row has every flag of `flags`; FALSE for a value that is no mode. */
gboolean          ts_mode_has (TsPipelineMode mode, TsModeFlags flags);

G_END_DECLS
