/* test-pipeline-goldens.c — every pipeline case of the goldens (group "pipeline" of the
 * manifest, ../shared/goldens or $TESSERA_GOLDENS) replayed with its recorded uniforms, on the
 * CPU backend and on Vulkan when one works.
 *
 * Everything the replay asks of the pipeline comes from the case: which pipeline (its
 * "pipeline" field), every parameter of its "call" (upstream's defaults only where the call
 * omits one), the transformer folder ("transformer"), the step count it must see
 * ("num_steps_run"), the input image and mask; the model folder is the manifest's
 * tiny_model.dir, the token grid comes from the call or the input image, the codebook from the
 * model. Checked: the conditioning (token ids of prompts and negative prompts, the text
 * encoder's states and pooled embeddings, the micro-conditions), then at every step the
 * guided logits, sampled ids, selected probabilities, confidences, mask_len, masking and the
 * next token map, then the final tokens and images. Generation runs the pipeline's stages
 * (several prompts per batch, which the public API does not take); image-to-image and
 * inpainting run through ts_pipeline_run, seen through the test hooks of
 * ts-pipeline-testing.h. A case whose pipeline or call parameters no runner replays fails
 * with its name; the only skips are absent backends. */
#include "nn-golden.h"
#include "pipeline/ts-pipeline-testing.h"

#include <math.h>
#include <string.h>
#include <sys/resource.h>

/* ---- the case's call, with upstream's defaults (diffusers 0.27.2 __call__) ---- */

typedef enum { PIPE_GENERATE, PIPE_IMG2IMG, PIPE_INPAINT } PipeKind;

typedef struct {
  PipeKind   kind;
  GPtrArray *prompts;      /* char *, one per result row */
  GPtrArray *negatives;    /* char *, one per row ("" where none) */
  int        steps;        /* num_inference_steps (12) */
  double     guidance;     /* guidance_scale (10) */
  double     strength;     /* img2img 0.5, inpaint 1.0 */
  double     aesthetic;    /* micro_conditioning_aesthetic_score (6) */
  int        crop[2];      /* micro_conditioning_crop_coord (0, 0) */
  float      temperature[2]; /* (2, 0); a scalar t means (t, 0.01) */
  int        width, height;  /* generate: 0 = the transformer's sample size × 16 */
} Call;

static void
call_clear (Call *call)
{
  g_clear_pointer (&call->prompts, g_ptr_array_unref);
  g_clear_pointer (&call->negatives, g_ptr_array_unref);
}

/* A string or a list of strings, as upstream takes prompts. */
static GPtrArray *
strings (JsonNode *node, char **why, const char *key)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
    g_ptr_array_add (out, g_strdup (json_node_get_string (node)));
    return out;
  }
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *a = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (a); i++) {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        break;
      g_ptr_array_add (out, g_strdup (json_node_get_string (e)));
    }
    if (out->len == json_array_get_length (a) && out->len > 0)
      return out;
  }
  *why = g_strdup_printf ("call.%s is neither a string nor a list of strings", key);
  g_ptr_array_unref (out);
  return NULL;
}

static gboolean
number_pair (JsonNode *node, double out[2])
{
  if (!JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (json_node_get_array (node)) != 2)
    return FALSE;
  for (int i = 0; i < 2; i++)
    out[i] = json_array_get_double_element (json_node_get_array (node), i);
  return TRUE;
}

/* Reads the case's pipeline and call; FALSE and a reason (g_free) when the replay cannot
 * honour it. */
static gboolean
parse_call (JsonObject *c, Call *call, char **why)
{
  memset (call, 0, sizeof *call);
  const char *pipeline = json_object_get_string_member_with_default (c, "pipeline", "");
  if (g_str_equal (pipeline, "AmusedPipeline"))
    call->kind = PIPE_GENERATE;
  else if (g_str_equal (pipeline, "AmusedImg2ImgPipeline"))
    call->kind = PIPE_IMG2IMG;
  else if (g_str_equal (pipeline, "AmusedInpaintPipeline"))
    call->kind = PIPE_INPAINT;
  else {
    *why = g_strdup_printf ("pipeline \"%s\" is not one the replay knows", pipeline);
    return FALSE;
  }
  JsonNode *node = json_object_get_member (c, "call");
  if (!node || !JSON_NODE_HOLDS_OBJECT (node)) {
    *why = g_strdup ("the case has no call");
    return FALSE;
  }
  JsonObject *args = json_node_get_object (node);
  call->steps = 12;
  call->guidance = 10.0;
  call->strength = call->kind == PIPE_IMG2IMG ? 0.5 : 1.0;
  call->aesthetic = 6.0;
  call->temperature[0] = 2.0f;
  call->temperature[1] = 0.0f;

  JsonObjectIter iter;
  const char *key;
  JsonNode *v;
  json_object_iter_init (&iter, args);
  while (json_object_iter_next (&iter, &key, &v)) {
    gboolean ok = TRUE;
    double pair[2];
    if (g_str_equal (key, "prompt"))
      ok = (call->prompts = strings (v, why, key)) != NULL;
    else if (g_str_equal (key, "negative_prompt"))
      ok = (call->negatives = strings (v, why, key)) != NULL;
    else if (g_str_equal (key, "num_inference_steps"))
      call->steps = (int) json_node_get_int (v);
    else if (g_str_equal (key, "guidance_scale"))
      call->guidance = json_node_get_double (v);
    else if (g_str_equal (key, "strength") && call->kind != PIPE_GENERATE)
      call->strength = json_node_get_double (v);
    else if (g_str_equal (key, "micro_conditioning_aesthetic_score"))
      call->aesthetic = json_node_get_double (v);
    else if (g_str_equal (key, "micro_conditioning_crop_coord") && (ok = number_pair (v, pair))) {
      call->crop[0] = (int) pair[0];
      call->crop[1] = (int) pair[1];
    } else if (g_str_equal (key, "temperature")) {
      if (number_pair (v, pair)) {
        call->temperature[0] = (float) pair[0];
        call->temperature[1] = (float) pair[1];
      } else if (JSON_NODE_HOLDS_VALUE (v)) {
        call->temperature[0] = (float) json_node_get_double (v);
        call->temperature[1] = 0.01f;
      } else
        ok = FALSE;
    } else if (call->kind == PIPE_GENERATE && g_str_equal (key, "height"))
      call->height = (int) json_node_get_int (v);
    else if (call->kind == PIPE_GENERATE && g_str_equal (key, "width"))
      call->width = (int) json_node_get_int (v);
    else if (call->kind != PIPE_GENERATE && g_str_equal (key, "image"))
      ; /* the case's input_image_uint8 */
    else if (call->kind == PIPE_INPAINT && g_str_equal (key, "mask_image"))
      ; /* the case's mask_image_uint8 */
    else if (g_str_equal (key, "num_images_per_prompt"))
      ok = json_node_get_int (v) == 1;
    else if (g_str_equal (key, "output_type") || g_str_equal (key, "generator"))
      ; /* the stored outputs are the float images; the tape replaces the generator */
    else
      ok = FALSE;
    if (!ok) {
      if (!*why)
        *why = g_strdup_printf ("call.%s is not replayed", key);
      return FALSE;
    }
  }
  if (!call->prompts) {
    *why = g_strdup ("the call has no prompt");
    return FALSE;
  }
  if (!call->negatives) {
    call->negatives = g_ptr_array_new_with_free_func (g_free);
    for (guint i = 0; i < call->prompts->len; i++)
      g_ptr_array_add (call->negatives, g_strdup (""));
  }
  if (call->negatives->len != call->prompts->len) {
    *why = g_strdup ("call.negative_prompt and call.prompt differ in length");
    return FALSE;
  }
  /* ts_pipeline_run takes one prompt (and one negative prompt) for all its rows */
  for (guint i = 1; call->kind != PIPE_GENERATE && i < call->prompts->len; i++)
    if (!g_str_equal (call->prompts->pdata[i], call->prompts->pdata[0]) ||
        !g_str_equal (call->negatives->pdata[i], call->negatives->pdata[0])) {
      *why = g_strdup ("image-to-image and inpainting replay one prompt for every row");
      return FALSE;
    }
  if (call->steps < 1 || !json_object_has_member (c, "num_steps_run") ||
      !json_object_has_member (c, "transformer")) {
    *why = g_strdup ("the case lacks num_steps_run or transformer, or has no steps");
    return FALSE;
  }
  return TRUE;
}

/* Fails the running test and says why in the log: every reason shows, not only the last
 * (which becomes the test's "not ok" line). */
static void G_GNUC_PRINTF (1, 2)
fail_case (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *why = g_strdup_vprintf (format, args);
  va_end (args);
  g_test_message ("FAIL: %s", why);
  g_test_fail_printf ("%s", why);
}

/* ---- the replay state ---- */

typedef struct {
  const char    *name;
  TsSafetensors *st;
  int            rows, h, w, K;
  gboolean       cfg;
  NnTolerance    tol;
  /* mismatch counters, filled by the hooks */
  int            cond_calls, bad_ids, bad_hidden, bad_pooled, bad_micro;
  int            bad_logits, bad_probs, bad_conf, bad_pred, bad_len, bad_masking, bad_prev;
  int            steps_seen, taps, compared_logits, compared_probs, compared_conf;
  int            unrecorded;  /* draws and steps the case has no tensors for */
} Replay;

static char *
step_name (int step, const char *what)
{
  return g_strdup_printf ("step%02d.%s", step, what);
}

static float *
step_f32 (Replay *r, int step, const char *what)
{
  g_autofree char *name = step_name (step, what);
  return nn_has (r->st, name) ? nn_read_f32 (r->st, name, NULL, NULL) : NULL;
}

static int32_t *
step_i32 (Replay *r, int step, const char *what)
{
  g_autofree char *name = step_name (step, what);
  if (!nn_has (r->st, name))
    g_error ("%s: no tensor %s", r->name, name);
  return nn_read_i32 (r->st, name, NULL, NULL);
}

/* U8 tensors (masks, 8-bit images) as stored. */
static guint8 *
read_u8 (TsSafetensors *st, const char *name, int *ndim, int64_t *shape)
{
  const TsSafetensorsTensor *info = ts_safetensors_lookup (st, name);
  g_assert_nonnull (info);
  g_assert_cmpint (info->dtype, ==, TS_DTYPE_U8);
  if (ndim)
    *ndim = info->ndim;
  if (shape)
    for (int i = 0; i < info->ndim; i++)
      shape[i] = info->shape[i];
  return g_memdup2 (ts_safetensors_data (st, info), info->numel);
}

/* The draws hook: the case's tape instead of the counter generator. */
static void
replay_draws (TsDrawKind kind, int step, int row, guint64 seed, float *out, int64_t n,
              gpointer data)
{
  Replay *r = data;
  g_autofree float *tape = NULL;
  if (kind == TS_DRAW_ADD_NOISE)
    tape = nn_has (r->st, "add_noise_uniform")
           ? nn_read_f32 (r->st, "add_noise_uniform", NULL, NULL) : NULL;
  else
    tape = step_f32 (r, step, kind == TS_DRAW_MULTINOMIAL ? "multinomial_uniform"
                                                          : "gumbel_uniform");
  if (!tape) { /* a draw upstream did not make: the test fails after the run */
    g_test_message ("%s: the pipeline draws %s uniforms at step %d, which the case did not "
                    "record", r->name, kind == TS_DRAW_ADD_NOISE ? "add-noise"
                    : kind == TS_DRAW_MULTINOMIAL ? "multinomial"
                    : kind == TS_DRAW_GUMBEL ? "gumbel" : "edit-mask", step);
    r->unrecorded++;
    for (int64_t i = 0; i < n; i++)
      out[i] = 0.5f;
    return;
  }
  memcpy (out, tape + (gsize) row * n, n * sizeof (float));
}

/* Counts the values of one row [L] of a stored [rows, L] tensor outside the tolerance. */
static int64_t
bad_floats (Replay *r, const float *got, const float *ref_all, int row, int64_t L)
{
  return nn_compare (got, ref_all + (gsize) row * L, L, r->tol).n_bad;
}

/* The step hook: each step of each row against the case's stepNN tensors. */
static void
replay_step (int step, int row, const float *logits, const TsStepDetail *d, const int32_t *prev,
             gpointer data)
{
  Replay *r = data;
  int64_t L = (int64_t) r->h * r->w;
  r->taps++;
  r->steps_seen = MAX (r->steps_seen, step + 1);
  /* logits_cfg [B, K, h, w] against ours [L, K] */
  g_autofree float *ref = step_f32 (r, step, "logits_cfg");
  if (!ref) { /* a step upstream did not run */
    r->unrecorded++;
    return;
  }
  {
    g_autofree float *theirs = g_new (float, L * r->K);
    for (int64_t i = 0; i < L; i++)
      for (int k = 0; k < r->K; k++)
        theirs[i * r->K + k] = ref[((gsize) row * r->K + k) * L + i];
    NnCompare c = nn_compare (logits, theirs, L * r->K, r->tol);
    r->compared_logits++;
    if (c.n_bad) {
      r->bad_logits++;
      g_test_message ("step %d row %d: logits_cfg off by %g", step, row, c.max_abs);
    }
  }
  g_autofree float *probs = step_f32 (r, step, "selected_probs");
  if (probs) {
    r->compared_probs++;
    r->bad_probs += bad_floats (r, d->probs, probs, row, L) != 0;
  }
  g_autofree float *conf = step_f32 (r, step, "confidence");
  if (conf) {
    r->compared_conf++;
    r->bad_conf += bad_floats (r, d->confidence, conf, row, L) != 0;
  }
  g_autofree int32_t *pred = step_i32 (r, step, "pred_original_sample");
  g_autofree int32_t *want = step_i32 (r, step, "prev_sample");
  for (int64_t i = 0; i < L; i++) {
    r->bad_pred += d->pred[i] != pred[row * L + i];
    r->bad_prev += prev[i] != want[row * L + i];
  }
  g_autofree float *len = step_f32 (r, step, "mask_len");
  if (len) {
    g_autofree char *mname = step_name (step, "masking");
    g_autofree guint8 *masking = read_u8 (r->st, mname, NULL, NULL);
    r->bad_len += *d->mask_len != len[row];
    for (int64_t i = 0; i < L; i++)
      r->bad_masking += d->masking[i] != (masking[row * L + i] != 0);
  }
}

/* The conditioning hook: the transformer batch's token ids (with CFG: negatives, then
 * prompts) against text_encoder_call0 (prompts) and _call1 (negatives), the text states,
 * pooled embeddings and micro-conditions against what upstream fed its transformer. */
static void
replay_cond (const int32_t *text_ids, const int *row_text, int n_rows, int length,
             TsTensor *hidden, TsTensor *pooled, const float *micro, gpointer data)
{
  Replay *r = data;
  r->cond_calls++;
  g_assert_cmpint (n_rows, ==, r->cfg ? 2 * r->rows : r->rows);
  g_autofree int32_t *prompt_ids = nn_read_i32 (r->st, "text_encoder_call0.input_ids", NULL,
                                                NULL);
  g_autofree int32_t *negative_ids = r->cfg ? nn_read_i32 (r->st, "text_encoder_call1.input_ids",
                                                           NULL, NULL) : NULL;
  for (int i = 0; i < n_rows; i++) {
    gboolean negative = r->cfg && i < r->rows;
    const int32_t *want = negative ? negative_ids + (gsize) i * length
                                   : prompt_ids + (gsize) (i - (r->cfg ? r->rows : 0)) * length;
    if (memcmp (text_ids + (gsize) row_text[i] * length, want, length * sizeof (int32_t))) {
      r->bad_ids++;
      g_test_message ("transformer row %d: the %s's token ids differ", i,
                      negative ? "negative prompt" : "prompt");
    }
  }
  g_autoptr (GError) error = NULL;
  g_autofree float *h = ts_tensor_read_f32 (hidden, &error);
  g_autofree float *p = ts_tensor_read_f32 (pooled, &error);
  g_assert_no_error (error);
  g_autofree float *h_ref = nn_read_f32 (r->st, "encoder_hidden_states", NULL, NULL);
  g_autofree float *p_ref = nn_read_f32 (r->st, "prompt_embeds", NULL, NULL);
  g_autofree float *m_ref = nn_read_f32 (r->st, "micro_conds", NULL, NULL);
  r->bad_hidden += !nn_check ("encoder_hidden_states", h, h_ref, ts_tensor_numel (hidden),
                              r->tol);
  r->bad_pooled += !nn_check ("prompt_embeds", p, p_ref, ts_tensor_numel (pooled), r->tol);
  r->bad_micro += !nn_check ("micro_conds", micro, m_ref,
                             (int64_t) n_rows * TS_UVIT_N_MICRO_CONDS, r->tol);
}

/* ---- loading ---- */

/* The manifest's tiny model, with the case's transformer folder in place of the model's own
 * where the case names another. */
static TsPipeline *
load (TsBackend *be, JsonObject *c)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *dir = nn_tiny_model_dir (&reason);
  if (!dir)
    g_error ("%s", reason);
  TsPipeline *p = ts_pipeline_new (be, dir, &error);
  g_assert_no_error (error);
  g_autofree char *transformer = g_build_filename (nn_goldens_dir (),
                                                   json_object_get_string_member (c, "transformer"),
                                                   NULL);
  g_autofree char *own = g_build_filename (dir, "transformer", NULL);
  g_autoptr (GFile) a = g_file_new_for_path (transformer), b = g_file_new_for_path (own);
  if (!g_file_equal (a, b)) {
    ts_uvit_free (p->uvit);
    p->uvit = ts_uvit_new_from_folder (ts_pipeline_backend (p), transformer, TS_DTYPE_COUNT,
                                       &error);
    g_assert_no_error (error);
    g_assert_cmpint (ts_uvit_mask_token_id (p->uvit), ==, p->mask_id);
  }
  return p;
}

static TsImage *
golden_image (TsSafetensors *st, const char *name)
{
  int ndim;
  int64_t shape[4];
  g_autofree guint8 *f = read_u8 (st, name, &ndim, shape);
  TsImage *im = ts_image_new ((int) shape[1], (int) shape[0], ndim == 3 ? (int) shape[2] : 1,
                              NULL);
  memcpy (im->pixels, f, ts_image_bytes (im));
  return im;
}

static gboolean
replay_init (Replay *r, JsonObject *c, const Call *call, int h, int w, int K)
{
  g_autoptr (GError) error = NULL;
  memset (r, 0, sizeof *r);
  r->name = json_object_get_string_member (c, "name");
  r->st = nn_case_open (c, &error);
  g_assert_no_error (error);
  r->rows = (int) call->prompts->len;
  r->h = h;
  r->w = w;
  r->K = K;
  r->cfg = call->guidance > 1.0;
  r->tol = nn_case_tolerance (c);
  /* the grid the case recorded must be the one its call and image give */
  int ndim;
  int64_t shape[8];
  g_autofree int32_t *final = nn_read_i32 (r->st, "final_latents", &ndim, shape);
  if (ndim != 3 || shape[0] != r->rows || shape[1] != h || shape[2] != w) {
    fail_case ("%s: final_latents is not [%d, %d, %d], the batch and token grid of "
                        "its call", r->name, r->rows, h, w);
    return FALSE;
  }
  return TRUE;
}

static void
check_temperatures (Replay *r, const TsSchedule *s)
{
  g_autofree float *t = nn_read_f32 (r->st, "scheduler_temperatures", NULL, NULL);
  for (int i = 0; i < s->n_steps; i++)
    if (s->temperatures[i] != t[i])
      fail_case ("%s: temperature %d is %g, upstream's %g", r->name, i,
                          s->temperatures[i], t[i]);
}

/* ---- checks after the run ---- */

/* Fails the test with the case's name when the hooks saw differences, or not every step. */
static void
check_hooks (Replay *r, int steps_run)
{
  g_test_message ("%s: conditioning %d (ids %d, states %d, pooled %d, micro %d); %d steps, "
                  "%d rows: mismatches logits %d/%d, probs %d/%d, confidence %d/%d, pred %d, "
                  "mask_len %d, masking %d, prev %d", r->name, r->cond_calls, r->bad_ids,
                  r->bad_hidden, r->bad_pooled, r->bad_micro, r->steps_seen, r->rows,
                  r->bad_logits, r->compared_logits, r->bad_probs, r->compared_probs,
                  r->bad_conf, r->compared_conf, r->bad_pred, r->bad_len, r->bad_masking,
                  r->bad_prev);
  if (r->cond_calls != 1 || r->bad_ids + r->bad_hidden + r->bad_pooled + r->bad_micro)
    fail_case ("%s: the conditioning differs from upstream's (%d encodes; ids %d, "
                        "states %d, pooled %d, micro-conditions %d)", r->name, r->cond_calls,
                        r->bad_ids, r->bad_hidden, r->bad_pooled, r->bad_micro);
  if (r->steps_seen != steps_run || r->taps != steps_run * r->rows ||
      r->compared_logits != r->taps || r->compared_probs < (steps_run - 1) * r->rows ||
      r->compared_conf < (steps_run - 1) * r->rows)
    fail_case ("%s: %d steps seen (%d row-steps, %d with logits, %d with probs), "
                        "the case ran %d", r->name, r->steps_seen, r->taps, r->compared_logits,
                        r->compared_probs, steps_run);
  if (r->unrecorded)
    fail_case ("%s: %d draws or steps that upstream did not make", r->name, r->unrecorded);
  int bad = r->bad_logits + r->bad_probs + r->bad_conf + r->bad_pred + r->bad_len +
            r->bad_masking + r->bad_prev;
  if (bad)
    fail_case ("%s: the steps differ from upstream's (logits %d, probs %d, "
                        "confidence %d, pred %d, mask_len %d, masking %d, prev %d)", r->name,
                        r->bad_logits, r->bad_probs, r->bad_conf, r->bad_pred, r->bad_len,
                        r->bad_masking, r->bad_prev);
}

/* Final tokens and images. Inpainting composites the input outside its grown mask, so the
 * 8-bit images are compared inside it and must equal the input outside. */
static void
check_final (Replay *r, TsPipeline *p, const TsPipelineResult *res, const TsImage *input)
{
  g_autofree int32_t *final = nn_read_i32 (r->st, "final_latents", NULL, NULL);
  int64_t L = (int64_t) r->h * r->w;
  int bad_tokens = 0;
  for (int b = 0; b < r->rows; b++)
    for (int64_t i = 0; i < L; i++)
      bad_tokens += res->tokens[b][i] != final[b * L + i];
  if (bad_tokens)
    fail_case ("%s: %d final tokens differ", r->name, bad_tokens);

  /* Float images straight from the decoder, then the 8-bit outputs within ±1. */
  g_autoptr (GError) error = NULL;
  g_autofree float *dec = ts_vqmodel_decode_pixels (p->vq, final, r->rows, r->h, r->w, &error);
  g_assert_no_error (error);
  int64_t shape[8];
  int ndim;
  g_autofree float *ref = nn_read_f32 (r->st, "images", &ndim, shape);
  g_assert_cmpint (ndim, ==, 4);
  int out_h = (int) shape[1], out_w = (int) shape[2];
  gsize plane = (gsize) out_w * out_h;
  g_autofree float *nhwc = g_new (float, plane * 3 * r->rows);
  for (int b = 0; b < r->rows; b++)
    for (gsize i = 0; i < plane; i++)
      for (int c = 0; c < 3; c++)
        nhwc[(b * plane + i) * 3 + c] = dec[(b * 3 + c) * plane + i];
  if (!nn_check ("images", nhwc, ref, plane * 3 * r->rows, r->tol))
    fail_case ("%s: the decoded images differ", r->name);

  g_autofree guint8 *ref8 = read_u8 (r->st, "images_uint8", NULL, NULL);
  int worst = 0;
  gint64 changed_outside = 0;
  for (int b = 0; b < r->rows; b++) {
    g_assert_cmpint (res->images[b]->width, ==, out_w);
    g_assert_cmpint (res->images[b]->height, ==, out_h);
    for (gsize i = 0; i < plane; i++) {
      gboolean inside = !res->grown_mask || res->grown_mask->pixels[i];
      for (int c = 0; c < 3; c++) {
        int got = res->images[b]->pixels[i * 3 + c];
        if (inside)
          worst = MAX (worst, abs (got - (int) ref8[(b * plane + i) * 3 + c]));
        else
          changed_outside += got != input->pixels[i * 3 + c];
      }
    }
  }
  g_test_message ("images_uint8: largest difference %d", worst);
  if (worst > 1 || changed_outside)
    fail_case ("%s: 8-bit images differ by up to %d, %" G_GINT64_FORMAT " values "
                        "outside the mask changed", r->name, worst, changed_outside);
}

/* ---- the runners ---- */

typedef struct {
  char *name;
  char *backend;
  char *failure;   /* no runner handles the case: why */
} CaseRun;

static TsPipelineTestHooks
hooks_for (Replay *r)
{
  return (TsPipelineTestHooks) { replay_step, r, replay_cond, r };
}

/* Generation through the pipeline's stages: prompts per row, the sampling loop, decode. */
static void
run_generate (TsPipeline *p, JsonObject *c, const Call *call)
{
  int width = call->width ? call->width : ts_pipeline_native_size (p);
  int height = call->height ? call->height : ts_pipeline_native_size (p);
  int h = height / p->scale, w = width / p->scale;
  Replay r;
  if (!replay_init (&r, c, call, h, w, p->codebook_size))
    return;
  TsPipelineTestHooks hooks = hooks_for (&r);
  ts_pipeline_set_test_hooks (p, &hooks);
  int rows = r.rows;
  TsCondRequest cond_req = { rows, (const char *const *) call->prompts->pdata,
                             (const char *const *) call->negatives->pdata, call->guidance,
                             width, height, { call->crop[0], call->crop[1] }, call->aesthetic };
  g_autoptr (GError) error = NULL;
  g_auto (TsRunContext) ctx = { 0 };
  ts_run_context_init (&ctx, p, ts_pipeline_now ());
  g_autoptr (TsUvitCond) cond = ts_pipeline_encode (&ctx, &cond_req, &error);
  g_assert_no_error (error);
  g_autoptr (TsSchedule) s = ts_schedule_new (call->steps, call->temperature[0],
                                              call->temperature[1],
                                              p->scheduler.masking_schedule, p->mask_id,
                                              p->codebook_size);
  check_temperatures (&r, s);
  g_autofree guint64 *seeds = g_new0 (guint64, rows);
  TsSampleLoop l = { .schedule = s, .rows = rows, .h = h, .w = w, .cfg = r.cfg,
                     .guidance = (float) call->guidance, .starting_mask_ratio = 1,
                     .seeds = seeds, .draws = replay_draws, .draws_data = &r };
  g_autofree int32_t *tokens = g_new (int32_t, rows * h * w);
  for (int i = 0; i < rows * h * w; i++)
    tokens[i] = p->mask_id;
  g_assert_true (ts_pipeline_sample (&ctx, cond, &l, tokens, &error));
  g_assert_no_error (error);
  ts_pipeline_set_test_hooks (p, NULL);
  g_autoptr (TsPipelineResult) res = ts_pipeline_result_new (rows, w, h);
  TsImage **images = ts_pipeline_decode (p, tokens, rows, h, w, &error);
  g_assert_no_error (error);
  for (int b = 0; b < rows; b++) {
    res->images[b] = images[b];
    res->tokens[b] = g_memdup2 (tokens + b * h * w, h * w * 4);
  }
  g_free (images);
  check_hooks (&r, (int) json_object_get_int_member (c, "num_steps_run"));
  check_final (&r, p, res, NULL);
  ts_safetensors_unref (r.st);
}

/* The token mask of an inpainting case, from its mask image: upstream resizes the mask to the
 * token grid and binarises it at 0.5; a token here is masked when at least half of its
 * pixels are (for masks that follow token edges, as a case's must for an exact replay, both
 * agree; the result is checked against the case's mask_latent_res). */
static guint8 *
token_mask_of (const TsImage *mask, int scale, int h, int w)
{
  guint8 *tokens = g_new0 (guint8, (gsize) h * w);
  for (int ty = 0; ty < h; ty++)
    for (int tx = 0; tx < w; tx++) {
      double sum = 0;
      for (int y = ty * scale; y < (ty + 1) * scale; y++)
        for (int x = tx * scale; x < (tx + 1) * scale; x++)
          sum += mask->pixels[(gsize) y * mask->width + x] / 255.0;
      tokens[ty * w + tx] = sum / (scale * scale) >= 0.5;
    }
  return tokens;
}

/* Image-to-image and inpainting through ts_pipeline_run, seen through the test hooks. */
static void
run_edit (TsPipeline *p, JsonObject *c, const Call *call)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsSafetensors) st = nn_case_open (c, &error);
  g_assert_no_error (error);
  g_autoptr (TsImage) image = golden_image (st, "input_image_uint8");
  const char *name = json_object_get_string_member (c, "name");
  if (image->width % p->scale || image->height % p->scale) {
    fail_case ("%s: the input image (%d×%d) is not a multiple of the token size %d",
                        name, image->width, image->height, p->scale);
    return;
  }
  int h = image->height / p->scale, w = image->width / p->scale;
  Replay r;
  if (!replay_init (&r, c, call, h, w, p->codebook_size))
    return;
  gboolean inpaint = call->kind == PIPE_INPAINT;
  g_autoptr (TsImage) mask = NULL;
  g_autofree guint8 *token_mask = NULL;
  if (inpaint) {
    g_autoptr (TsImage) case_mask = golden_image (r.st, "mask_image_uint8");
    g_assert_cmpint (case_mask->width, ==, image->width);
    g_assert_cmpint (case_mask->height, ==, image->height);
    token_mask = token_mask_of (case_mask, p->scale, h, w);
    int mdim;
    int64_t mshape[8];
    g_autofree float *want = nn_read_f32 (r.st, "mask_latent_res", &mdim, mshape);
    if (mdim < 2 || mshape[mdim - 2] != h || mshape[mdim - 1] != w) {
      fail_case ("%s: mask_latent_res is not on the %d×%d token grid (upstream rounds the "
                 "mask's grid down to a multiple of 16)", name, w, h);
      ts_safetensors_unref (r.st);
      return;
    }
    int differ = 0;
    for (int i = 0; i < h * w; i++)
      differ += token_mask[i] != (want[i] >= 0.5f);
    if (differ)
      fail_case ("%s: the token mask from the case's mask differs from its "
                          "mask_latent_res at %d tokens", name, differ);
    /* the request's mask is that token mask at pixel resolution */
    mask = ts_image_new (image->width, image->height, 1, NULL);
    for (int y = 0; y < image->height; y++)
      for (int x = 0; x < image->width; x++)
        mask->pixels[(gsize) y * image->width + x] =
          token_mask[(y / p->scale) * w + x / p->scale] ? 255 : 0;
  }
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, inpaint ? TS_MODE_INPAINT : TS_MODE_RESTYLE);
  req.prompt = call->prompts->pdata[0];
  req.negative_prompt = call->negatives->pdata[0];
  req.n_variants = r.rows;
  req.steps = call->steps;
  req.guidance = call->guidance;
  req.temperature[0] = call->temperature[0];
  req.temperature[1] = call->temperature[1];
  req.strength = call->strength;
  req.aesthetic_score = call->aesthetic;
  req.crop_coord[0] = call->crop[0];
  req.crop_coord[1] = call->crop[1];
  req.image = image;
  req.mask = mask;
  req.feather = 0;
  req.max_work_size = MAX (image->width, image->height); /* upstream works at the image size */
  req.draws = replay_draws;
  req.draws_data = &r;
  TsPipelineTestHooks hooks = hooks_for (&r);
  ts_pipeline_set_test_hooks (p, &hooks);
  g_autoptr (TsPipelineResult) res = ts_pipeline_run (p, &req, &error);
  ts_pipeline_set_test_hooks (p, NULL);
  g_assert_no_error (error);
  g_autoptr (TsSchedule) s = ts_schedule_new (call->steps, call->temperature[0],
                                              call->temperature[1],
                                              p->scheduler.masking_schedule, p->mask_id,
                                              p->codebook_size);
  check_temperatures (&r, s);
  check_hooks (&r, (int) json_object_get_int_member (c, "num_steps_run"));

  if (inpaint) { /* the region the pipeline repainted is the token mask */
    int differ = 0;
    for (int y = 0; y < image->height; y++)
      for (int x = 0; x < image->width; x++)
        differ += (res->grown_mask->pixels[(gsize) y * image->width + x] != 0) !=
                  token_mask[(y / p->scale) * w + x / p->scale];
    if (differ)
      fail_case ("%s: the repainted region differs from the token mask at %d pixels",
                          name, differ);
  }
  if (nn_has (r.st, "vq_indices_flat")) {
    g_autofree int32_t *ids = nn_read_i32 (r.st, "vq_indices_flat", NULL, NULL);
    g_autofree int32_t *mine = g_new (int32_t, h * w);
    g_autofree float *planar = ts_image_to_planar (image, NULL);
    g_assert_true (ts_vqmodel_encode_ids (p->vq, planar, 1, h * p->scale, w * p->scale, mine,
                                          &error));
    if (memcmp (mine, ids, (gsize) h * w * 4))
      fail_case ("%s: the input image's VQ indices differ", name);
  }
  check_final (&r, p, res, image);
  ts_safetensors_unref (r.st);
}

/* CPU time of the process, every thread (lavapipe's too): on the shared test machine the
 * wall time says more about the load than about the case. */
static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Backends by name, made once for the whole run (a Vulkan device compiles its pipelines once),
 * and why one is absent. */
static GHashTable *open_backends, *backend_skips;

static TsBackend *
backend_get (const char *kind)
{
  if (!g_hash_table_contains (open_backends, kind) && !g_hash_table_contains (backend_skips, kind)) {
    char *reason = NULL;
    TsBackend *be = nn_backend_new (kind, &reason);
    if (be)
      g_hash_table_insert (open_backends, g_strdup (kind), be);
    else
      g_hash_table_insert (backend_skips, g_strdup (kind), reason);
  }
  return g_hash_table_lookup (open_backends, kind);
}

static void
test_case (gconstpointer data)
{
  const CaseRun *cr = data;
  if (cr->failure) {
    fail_case ("case %s: no runner handles it: %s", cr->name, cr->failure);
    return;
  }
  char *reason = NULL;
  NnManifest *man = nn_manifest_get (&reason);
  JsonObject *c = nn_manifest_case (man, cr->name);
  g_assert_nonnull (c);
  g_autofree char *why = NULL;
  Call call;
  g_assert_true (parse_call (c, &call, &why));
  TsBackend *be = backend_get (cr->backend);
  if (!be) {
    g_test_skip (g_hash_table_lookup (backend_skips, cr->backend));
    call_clear (&call);
    return;
  }
  g_autoptr (TsPipeline) p = load (be, c);
  g_test_message ("%s on %s: %u row(s), %d steps, guidance %g", cr->name,
                  ts_backend_name (be), call.prompts->len, call.steps, call.guidance);
  double wall = g_get_monotonic_time (), cpu = cpu_seconds ();
  if (call.kind == PIPE_GENERATE)
    run_generate (p, c, &call);
  else
    run_edit (p, c, &call);
  call_clear (&call);
  g_test_message ("%s: %.1f s, %.1f s of CPU", cr->name, (g_get_monotonic_time () - wall) / 1e6,
                  cpu_seconds () - cpu);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  char *reason = NULL;
  NnManifest *man = nn_manifest_get (&reason);
  if (!man) {
    g_test_add_data_func ("/pipeline-goldens/manifest", reason, golden_paths_no_goldens_test);
    return g_test_run ();
  }
  JsonArray *cases = json_object_get_array_member (man->root, "cases");
  GPtrArray *runs = g_ptr_array_new ();
  static const char *const backends[] = { "cpu", "vulkan" };
  for (guint i = 0; cases && i < json_array_get_length (cases); i++) {
    JsonObject *c = json_array_get_object_element (cases, i);
    if (!g_str_equal (json_object_get_string_member_with_default (c, "group", ""), "pipeline"))
      continue;
    Call call;
    char *why = NULL;
    parse_call (c, &call, &why);
    call_clear (&call);
    for (guint b = 0; b < G_N_ELEMENTS (backends); b++) {
      CaseRun *cr = g_new0 (CaseRun, 1);
      cr->name = g_strdup (json_object_get_string_member (c, "name"));
      cr->backend = g_strdup (backends[b]);
      cr->failure = g_strdup (why);
      g_ptr_array_add (runs, cr);
      g_autofree char *path = g_strdup_printf ("/pipeline-goldens/%s/%s", backends[b],
                                               cr->name);
      g_test_add_data_func (path, cr, test_case);
    }
    g_free (why);
  }
  g_test_message ("%u tests from the manifest", runs->len);
  open_backends = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) ts_backend_free);
  backend_skips = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  int rc = g_test_run ();
  g_hash_table_unref (open_backends);
  g_hash_table_unref (backend_skips);
  for (guint i = 0; i < runs->len; i++) {
    CaseRun *cr = runs->pdata[i];
    g_free (cr->name);
    g_free (cr->backend);
    g_free (cr->failure);
    g_free (cr);
  }
  g_ptr_array_free (runs, TRUE);
  return rc;
}
