/* ts-pipeline.h — text-to-image and the editing modes on an aMUSEd model: the public API that
 * tessera-cli and the editor call.
 *
 * A TsPipeline holds one loaded model (text encoder, tokenizer, transformer, VQ-GAN) on one
 * backend. ts_pipeline_run is synchronous and may be called from any one thread at a time:
 * a GTK application runs it in a GTask worker thread, passes a GCancellable, and forwards
 * the progress callback (called in that worker thread) to the main loop itself.
 *
 * Images cross this API as 8-bit RGB (or 1-channel masks) in host memory; reading and writing
 * files is the caller's business (the CLI uses GdkPixbuf). */
#pragma once

#include "../ts-backend.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* ---- images ---- */

/* Dense 8-bit pixels: `channels` is 3 (RGB) or 1 (masks: 0 = keep, anything else = the
 * region the mode works on; see "masks and blending" below), rows `width × channels` bytes
 * apart. */
typedef struct {
  int     width, height, channels;
  guint8 *pixels;
} TsImage;

TsImage *ts_image_new (int width, int height, int channels, GError **error);
TsImage *ts_image_copy (const TsImage *image, GError **error);
void     ts_image_free (TsImage *image);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsImage, ts_image_free)

/* ---- randomness ---- */

/* The kinds of random draws; each draw is a float32 uniform in [0, 1) keyed by
 * (seed, step, kind, position) — see ts-rng.h. */
typedef enum {
  TS_DRAW_ADD_NOISE,   /* image-to-image: which tokens start masked (once, step 0) */
  TS_DRAW_MULTINOMIAL, /* per step: one categorical draw per token */
  TS_DRAW_GUMBEL,      /* per step but the last: confidence noise per token */
  TS_DRAW_EDIT_MASK,   /* mask-free edit: which tokens an iteration re-masks */
} TsDrawKind;

/* Fills out[0, n) with the uniforms of one result row (`row`, whose seed is `seed`) for step
 * `step` (0-based count of steps run). Lets tests replay the goldens' recorded draws. */
typedef void (*TsDrawFunc) (TsDrawKind kind, int step, int row, guint64 seed, float *out,
                            int64_t n, gpointer user_data);

/* ---- requests ---- */

typedef enum {
  TS_MODE_GENERATE,   /* prompt → N images */
  TS_MODE_RESTYLE,    /* image-to-image: image + prompt + strength */
  TS_MODE_EDIT,       /* mask-free edit (Muse): re-mask a random fraction, re-sample, repeat */
  TS_MODE_INPAINT,    /* image + mask (non-zero = repaint) */
  TS_MODE_OUTPAINT,   /* image + extend_*: the new border is painted, `overlap` blended */
  TS_MODE_BACKGROUND, /* image + subject mask (non-zero = keep): everything else repainted */
  TS_N_MODES          /* not a mode: their number. What each mode is called, needs and runs
                         is its row in ts-mode-table.h */
} TsPipelineMode;

/* Called after every step. `tokens` [n_rows, token_height, token_width] is the current token
 * map of every result row (mask_id where still hidden); borrowed for the call only. Mask-free
 * edit reports one step per iteration. */
typedef struct {
  int            step, n_steps;     /* step counts from 1 */
  int            n_rows, token_width, token_height;
  int            mask_id;
  const int32_t *tokens;
  double         elapsed;           /* seconds since ts_pipeline_run began (prompt and image
                                       encoding included) */
  double         steps_seconds;     /* seconds from the start of the first step to the end of
                                       this one */
} TsPipelineProgress;

typedef void (*TsProgressFunc) (const TsPipelineProgress *progress, gpointer user_data);

/* Seconds the remaining steps should take at the pace so far: steps_seconds / step ×
 * (n_steps − step); 0 after the last step, −1 before any step has finished. The editor and
 * the CLI both show "Step 5 of 12 · about 0.4 s left" from it (decoding and compositing,
 * which follow the last step, are not included: they take about one step's time). */
double ts_pipeline_progress_eta (const TsPipelineProgress *progress);

/* ---- masks and blending ----
 *
 * Inpaint and background swap share one definition, in pixels of the input image; callers
 * (the editor, the CLI) pass the mask as the user painted it and the request's grow and
 * feather, and do no growing or blurring of their own:
 *
 *  - The mask is binary: 0 = keep, any other value = repaint (background: = the subject,
 *    kept; everything else is repainted). Intermediate values are NOT a soft mask — a soft
 *    brush edge counts as mask — the edge's softness is `feather` alone.
 *  - `grow`: the region R to repaint is every pixel within `grow` pixels (Euclidean, between
 *    pixel centres) of a mask pixel.
 *  - `feather`: the composite's alpha ramps smoothly (smoothstep) from 1 to 0 across R's edge,
 *    over `feather` pixels centred on it (1 from feather/2 inside, 1/2 on the edge, 0 from
 *    feather/2 outside); 0 = a hard edge exactly at R's edge. Each output pixel is
 *    input + alpha·(generated − input); where alpha is 0 the input pixel is kept byte for byte.
 *  - The model repaints whole tokens (ts_pipeline_token_size pixels square at the working
 *    scale): every token holding a pixel whose alpha is above 0. The result's grown_mask is
 *    those tokens, blend_mask the alpha.
 *
 * Outpaint does not use grow and feather: the new border gets alpha 1 and the `overlap`
 * pixels of the original along each extended side are regenerated too, alpha ramping
 * smoothly from 1 at the old edge to 0 `overlap` pixels in, so no seam shows; the rest of the
 * original is kept byte for byte.
 *
 * Pictures larger than the working size (max_work_size or the model's native size):
 * inpaint, outpaint and background work in a window around R (context_padding around it,
 * reduced so the window fits the working size when R does). For any outpaint, and when R
 * does not fit but is narrow and more than twice the working size long (a long stroke),
 * working-size windows along it are run one after the other, each seeing the pixels the
 * previous ones made (two tokens of them) and blending into them over the next two tokens;
 * progress then counts the steps of every window (n_steps = windows × steps). Any other R
 * that does not fit (an object a little larger than the model, a large blob, a
 * background), or one needing more than 48 windows, is processed in one window scaled to
 * the working size, and the result's notice says so. Generate (given an image), edit and
 * restyle either process a working-size frame the caller places (use_frame), composited
 * back with its edges inside the picture feathered over `feather` pixels, the rest kept
 * byte for byte; or the whole picture at the working size, scaled back to the picture's
 * size, and the result's notice says "processed at W×H and scaled to …". */

typedef struct {
  TsPipelineMode mode;
  const char    *prompt;
  const char    *negative_prompt;   /* NULL: "" (used only with guidance > 1) */
  int            width, height;     /* generate: output size in pixels (0: the model's size) */
  int            steps;             /* scheduler steps (12) */
  double         guidance;          /* classifier-free guidance scale, > 1 enables it (10) */
  int            guided_steps;      /* guidance on the first this many steps run only, the
                                       conditional half alone after (half the work per
                                       step); 0: every step, the exact result (0) */
  double         temperature[2];    /* linspace(t0, t1, steps); (2, 0) */
  guint64        seed;              /* variant i uses seed + i */
  int            n_variants;        /* 1 */
  double         aesthetic_score;   /* micro-conditioning (6) */
  int            crop_coord[2];     /* micro-conditioning crop (0, 0) */
  double         strength;          /* restyle 0.5, inpaint/outpaint/background 1.0 */
  int            edit_iterations;   /* mask-free edit: iterations (8) */
  double         edit_fraction;     /* mask-free edit: fraction re-masked per iteration (0.1) */
  const TsImage *image;             /* every mode but generate: RGB. Generate given an image
                                       (width, height 0): the result has the image's size, the
                                       image stays where no frame is generated (use_frame) */
  const TsImage *mask;              /* inpaint, background: 1 channel, the image's size; binary
                                       (see "masks and blending") */
  int            extend_left, extend_top, extend_right, extend_bottom; /* outpaint, pixels:
                                       any amount on any side */
  int            overlap;           /* outpaint: pixels of the original along each extended
                                       side regenerated and blended; −1: two tokens (−1) */
  int            grow;              /* inpaint, background: pixels R grows beyond the mask (0) */
  int            feather;           /* inpaint, background, frames: width in pixels of the
                                       composite's soft edge, centred on R's edge (8) */
  int            context_padding;   /* pixels kept around R in a context window (32) */
  int            max_work_size;     /* the working size: larger pictures are processed in a
                                       window or frame of this side, or scaled to it (0: the
                                       model's native size) */
  gboolean       use_frame;         /* generate with an image, edit, restyle on a picture larger
                                       than the working size: TRUE processes only the frame,
                                       FALSE the whole picture scaled (FALSE) */
  int            frame_x, frame_y;  /* the frame's top-left corner in the picture, pixels; the
                                       frame is a working-size square (each side at most the
                                       picture's), moved inside the picture if needed (0, 0) */

  TsProgressFunc progress;
  gpointer       progress_data;
  GCancellable  *cancellable;       /* checked between steps */
  TsDrawFunc     draws;             /* NULL: the counter-based generator */
  gpointer       draws_data;
} TsPipelineRequest;

/* Fills every field with its default for `mode`. */
void ts_pipeline_request_init (TsPipelineRequest *request, TsPipelineMode mode);

/* The fast mode (tessera-cli --fast): the request's steps cut to two thirds, rounded up
 * (12 → 8), and guidance on the first quarter of the steps or edit iterations run, rounded
 * up (8 → 2); edit keeps its iterations. On the 2-core CPU a 256×256 generate takes about
 * half the exact time (tools/bench/bench-pipeline.sh measures it). The result is
 * deterministic but not the exact one: the guided steps match it token for token, later
 * ones sample the unguided (conditional) logits, so a different but related image comes out.
 * Call after setting steps. */
void ts_pipeline_request_set_fast (TsPipelineRequest *request);

/* ---- results ---- */

typedef struct {
  double text_encode;   /* tokenizer + text encoder + the transformer's per-prompt context
                           (cross-attention keys/values, modulations), seconds */
  double text_context;  /* of text_encode: the transformer's context alone */
  double image_encode;  /* VQ encoder */
  double sampling;      /* all transformer steps + sampler */
  double transformer;   /* of sampling: the transformer forwards (logits read back) alone */
  double decode;        /* VQ decoder */
  double composite;     /* resampling and compositing */
  double total;
  int    steps_run;
} TsPipelineTimings;

typedef struct {
  int                n_images;
  TsImage          **images;       /* RGB; generate: width×height; edits: the input's size
                                      (outpaint: the extended canvas) */
  guint64           *seeds;        /* the seed of each image */
  int32_t          **tokens;       /* final token map of each image [token_height, token_width]
                                      (inpaint modes in several windows: the last window's) */
  int                token_width, token_height;
  TsImage           *grown_mask;   /* inpaint, outpaint, background: the repainted tokens'
                                      pixels (1 channel, 255 inside), in output coordinates;
                                      frame mode: the frame; else NULL. Outside it no pixel
                                      changes */
  TsImage           *blend_mask;   /* with grown_mask: the composite's alpha (0..255, 0 = the
                                      input pixel kept byte for byte); else NULL */
  TsPipelineTimings  timings;
  char              *notice;       /* what was done differently to get a result (a smaller
                                      batch, the CPU backend, a picture processed at a smaller
                                      size and scaled), for the user; NULL if none */
  const char        *backend;      /* name of the backend that made the images */
} TsPipelineResult;

void ts_pipeline_result_free (TsPipelineResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsPipelineResult, ts_pipeline_result_free)

/* ---- the pipeline ---- */

typedef struct _TsPipeline TsPipeline;

/* Loads the diffusers model folder `model_dir` onto `backend` (borrowed; must outlive the
 * pipeline). When the weights themselves do not fit on a GPU backend (its memory budget, the
 * driver out of memory) or the device is lost while loading, the model is loaded on a CPU
 * backend of the pipeline's own instead: ts_pipeline_backend is then that one,
 * ts_pipeline_load_notice says why, and every result's `notice` repeats it. */
TsPipeline *ts_pipeline_new (TsBackend *backend, const char *model_dir, GError **error);

/* Per network: the precision its matrix weights are multiplied at on the CPU backend
 * (docs/cpu-precision.md; other backends compute in f32). All-zero = exact f32 everywhere,
 * what ts_pipeline_new does. A network's convolutions follow its precision too, except the
 * small direct ones (depthwise, 3-channel), which stay f32. */
typedef struct {
  TsPrecision text_encoder;
  TsPrecision transformer;
  TsPrecision vq;
} TsPipelineLoadOptions;

TsPipeline *ts_pipeline_new_full (TsBackend *backend, const char *model_dir,
                                  const TsPipelineLoadOptions *options, GError **error);
/* The options the pipeline was loaded with. */
const TsPipelineLoadOptions *ts_pipeline_load_options (const TsPipeline *pipeline);
void        ts_pipeline_free (TsPipeline *pipeline);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsPipeline, ts_pipeline_free)

/* Returns the memory its backends keep for reuse to the system (ts_backend_trim): for an
 * application that may sit idle after a request. The next request maps memory afresh. */
void        ts_pipeline_trim (TsPipeline *pipeline);

/* The model's native image side in pixels (transformer sample_size × the VQ's 2^(levels-1), 8 or 16). */
int         ts_pipeline_native_size (const TsPipeline *pipeline);
/* Pixels per token side: the VQ-GAN's downsampling factor (16 for aMUSEd, 8 for an 8× VQ).
 * Masks are repainted in whole tokens of this size; callers snap to it (outpaint amounts,
 * previews of the repainted area) instead of assuming 16. Generate's sizes must be multiples
 * of twice this when the transformer downsamples. */
int         ts_pipeline_token_size (const TsPipeline *pipeline);
/* Multi-line description of the loaded model (sizes, parameters, schedule). */
char       *ts_pipeline_describe (const TsPipeline *pipeline);
/* Seconds spent loading the model. */
double      ts_pipeline_load_seconds (const TsPipeline *pipeline);

/* Runs one request. On cancellation returns NULL with TS_ERROR_CANCELLED; inputs are never
 * modified.
 *
 * Resource limits: when a step of classifier-free guidance does not fit in the backend's
 * memory budget (or the device runs out of memory), the conditional and unconditional
 * halves run one after the other. When the request still fails on a GPU backend with
 * TS_ERROR_OUT_OF_MEMORY or TS_ERROR_DEVICE (a lost device), it is run again from the start
 * on the CPU backend (the model is loaded there on the first fallback and kept). Either way
 * the result's `notice` says what happened; a lost device stays lost, so later requests go
 * straight to the CPU (check ts_backend_is_lost (ts_pipeline_backend (p)) to tell the user
 * or to make a new pipeline on another device). */
TsPipelineResult *ts_pipeline_run (TsPipeline *pipeline, const TsPipelineRequest *request,
                                   GError **error);

/* Whether ts_pipeline_run may fall back to the CPU backend (default TRUE). When FALSE the
 * GPU's error is returned as is (for a model that had to be loaded on the CPU: the loading
 * error, for every request). */
void        ts_pipeline_set_cpu_fallback (TsPipeline *pipeline, gboolean enabled);
/* The backend the model is loaded on (not the run-time fallback): the one given to
 * ts_pipeline_new, or the CPU backend the weights went to when they did not fit there. */
TsBackend  *ts_pipeline_backend (TsPipeline *pipeline);
/* Why the model is not on the backend given to ts_pipeline_new (for the user), or NULL. */
const char *ts_pipeline_load_notice (const TsPipeline *pipeline);

G_END_DECLS
