/* test-nn-goldens.c — the three networks against the reference outputs of the real upstream
 * code (../shared/goldens or $TESSERA_GOLDENS). The tests come from the manifest: one per
 * network case (groups text, transformer, vq, medium) and backend, and one more with f16
 * weights for every text-encoder and transformer case. What runs a case is read from its
 * fields (its group, the network its config describes, the part its weights_prefix names),
 * its model folder from its "model"; a case no runner can handle fails with its name.
 * Intermediate tensors are compared too, so a failure names the first layer that drifts. */
#include "nn-golden.h"
#include "nn/ts-clip.h"
#include "nn/ts-uvit.h"
#include "nn/ts-vqmodel.h"

#include <string.h>
#include <sys/resource.h>

/* ---- taps: intermediate results read back by name ---- */

typedef struct {
  float  *data;
  int     ndim;
  int64_t shape[4];
} Tapped;

static void
tapped_free (gpointer p)
{
  Tapped *t = p;
  g_free (t->data);
  g_free (t);
}

static void
collect_tap (const char *name, TsTensor *t, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  Tapped *tp = g_new0 (Tapped, 1);
  tp->data = ts_tensor_read_f32 (t, &error);
  g_assert_no_error (error);
  tp->ndim = t->ndim;
  memcpy (tp->shape, t->shape, sizeof tp->shape);
  g_hash_table_replace (user_data, g_strdup (name), tp);
}

static GHashTable *
taps_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, tapped_free);
}

/* Compares every tapped tensor that the case also stores. Reference tensors in NCHW are
 * brought to the networks' channels-last token layout when the tap is 3-D. */
static gboolean
check_taps (GHashTable *taps, TsSafetensors *st, NnTolerance tol, const char *prefix)
{
  gboolean ok = TRUE;
  g_autoptr (GList) names = g_hash_table_get_keys (taps);
  names = g_list_sort (names, (GCompareFunc) strcmp);
  for (GList *l = names; l; l = l->next) {
    const char *name = l->data;
    g_autofree char *ref_name = g_strconcat (prefix ? prefix : "", name, NULL);
    if (!nn_has (st, ref_name))
      continue;
    Tapped *t = g_hash_table_lookup (taps, name);
    int ndim;
    int64_t shape[8], n = 1, tn = 1;
    g_autofree float *ref = nn_read_f32 (st, ref_name, &ndim, shape);
    for (int i = 0; i < ndim; i++)
      n *= shape[i];
    for (int i = 0; i < t->ndim; i++)
      tn *= t->shape[i];
    g_assert_cmpint (n, ==, tn);
    if (ndim == 4 && t->ndim == 3) {
      float *nhwc = nn_nchw_to_nhwc (ref, shape[0], shape[1], shape[2] * shape[3]);
      g_free (ref);
      ref = nhwc;
    }
    ok &= nn_check (ref_name, t->data, ref, n, tol);
  }
  return ok;
}

/* ---- weight precision ---- */

/* Matrices and conv kernels of the text encoder and transformer load in this type for the
 * running case (TS_DTYPE_COUNT: as stored, f32). The VQ model always runs in f32. */
static TsDType matrix_dtype = TS_DTYPE_COUNT;

/* With f16 weights the references (f32 upstream) are met only loosely: rounding every weight
 * to 11 significant bits moves outputs by ~1e-3 relative per layer. This is the documented
 * tolerance for f16 weights; the run must also stay free of NaN and Inf (which fail any
 * tolerance). */
#define F16_ABS 1e-2
#define F16_REL 1e-2

static NnTolerance
case_tolerance (JsonObject *c)
{
  if (matrix_dtype == TS_DTYPE_F16)
    return (NnTolerance) { F16_ABS, F16_REL };
  return nn_case_tolerance (c);
}

/* ---- backends, kept for the whole run ---- */

static TsBackend *backends[2];
static char *backend_skip[2];

static TsBackend *
backend_get (int which)
{
  if (!backends[which] && !backend_skip[which])
    backends[which] = nn_backend_new (which ? "vulkan" : "cpu", &backend_skip[which]);
  return backends[which];
}

typedef void (*CaseRunFunc) (TsBackend *be, JsonObject *c, TsSafetensors *st);

/* One registered test: a case of the manifest on one backend, with f32 or f16 weights. */
typedef struct {
  char       *case_name;
  int         backend;     /* 0 cpu, 1 vulkan */
  CaseRunFunc run;         /* NULL: no runner handles the case, `failure` says why */
  char       *failure;
  gboolean    f16;         /* f16 weights */
} GoldenCase;

/* The case's model folder ("model", relative to the goldens folder), g_free. */
static char *
model_dir (JsonObject *c)
{
  const char *model = json_object_get_string_member_with_default (c, "model", NULL);
  if (!model)
    g_error ("case %s names no model folder", json_object_get_string_member (c, "name"));
  return g_build_filename (nn_goldens_dir (), model, NULL);
}

/* The index N of a weights_prefix "<part>N." (e.g. "transformer_layers.0."), or -1. */
static int
prefix_index (const char *prefix, const char *part)
{
  if (!prefix || !g_str_has_prefix (prefix, part))
    return -1;
  const char *digits = prefix + strlen (part);
  char *end = NULL;
  guint64 n = g_ascii_strtoull (digits, &end, 10);
  return end != digits && g_str_equal (end, ".") && n < 1000 ? (int) n : -1;
}

/* The case whose weights a part case borrows (weights_from_case); a name the manifest lacks
 * fails the test with it. */
static JsonObject *
weights_source (JsonObject *c)
{
  char *skip = NULL;
  NnManifest *man = nn_manifest_get (&skip);
  const char *from = json_object_get_string_member_with_default (c, "weights_from_case", "");
  JsonObject *source = man ? nn_manifest_case (man, from) : NULL;
  if (!source)
    g_error ("case %s takes its weights from case \"%s\", which the manifest lacks",
             json_object_get_string_member (c, "name"), from);
  return source;
}

/* ---- text encoder ---- */

static void
run_clip (TsBackend *be, TsClipText *clip, TsSafetensors *st, NnTolerance tol)
{
  int ndim;
  int64_t shape[8];
  g_autofree int32_t *ids = nn_read_i32 (st, "input_ids", &ndim, shape);
  g_autoptr (GHashTable) taps = taps_new ();
  ts_clip_text_set_tap (clip, collect_tap, taps);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsTensor) hidden = NULL;
  g_autoptr (TsTensor) embeds = NULL;
  g_assert_true (ts_clip_text_encode (clip, ids, (int) shape[0], (int) shape[1], &hidden, &embeds,
                                      &error));
  g_assert_no_error (error);

  gboolean ok = check_taps (taps, st, tol, NULL);
  g_autofree float *h = ts_tensor_read_f32 (hidden, &error);
  g_autofree float *e = ts_tensor_read_f32 (embeds, &error);
  g_autofree float *h_ref = nn_read_f32 (st, "encoder_hidden_states", NULL, NULL);
  g_autofree float *e_ref = nn_read_f32 (st, "text_embeds", NULL, NULL);
  ok &= nn_check ("encoder_hidden_states", h, h_ref, ts_tensor_numel (hidden), tol);
  ok &= nn_check ("text_embeds", e, e_ref, ts_tensor_numel (embeds), tol);
  if (nn_has (st, "pooled_index")) {
    g_autofree int32_t *pooled = nn_read_i32 (st, "pooled_index", NULL, NULL);
    for (int b = 0; b < shape[0]; b++)
      g_assert_cmpint (ts_clip_text_pool_position (ts_clip_text_config (clip),
                                                   ids + b * shape[1], (int) shape[1]),
                       ==, pooled[b]);
  }
  g_assert_true (ok);
}

static void
case_text_tiny (TsBackend *be, JsonObject *c, TsSafetensors *st)
{
  g_autofree char *dir = model_dir (c);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsClipText) clip = ts_clip_text_new_from_folder (be, dir, matrix_dtype, &error);
  g_assert_no_error (error);
  run_clip (be, clip, st, case_tolerance (c));
}

static void
case_text_medium (TsBackend *be, JsonObject *c, TsSafetensors *st)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *json = nn_case_config_json (c);
  TsClipTextConfig cfg;
  g_assert_true (ts_clip_text_config_parse (json, strlen (json), "medium config", &cfg, &error));
  g_autoptr (TsWeights) w = nn_medium_weights (c, NULL, "medium text encoder", &error);
  g_assert_no_error (error);
  g_autoptr (TsClipText) clip = ts_clip_text_new (be, &cfg, w, matrix_dtype, &error);
  g_assert_no_error (error);
  run_clip (be, clip, st, case_tolerance (c));
}

/* ---- transformer ---- */

static void
run_uvit (TsBackend *be, TsUvit *m, TsSafetensors *st, NnTolerance tol)
{
  g_autoptr (GError) error = NULL;
  int ndim;
  int64_t ids_shape[8], ehs_shape[8], pooled_shape[8];
  g_autofree int32_t *ids = nn_read_i32 (st, "input_ids", &ndim, ids_shape);
  g_autofree float *ehs = nn_read_f32 (st, "encoder_hidden_states", &ndim, ehs_shape);
  g_autofree float *pooled = nn_read_f32 (st, "pooled_text_emb", &ndim, pooled_shape);
  g_autofree float *micro = nn_read_f32 (st, "micro_conds", NULL, NULL);
  g_autoptr (TsTensor) ehs_t = ts_tensor_new_f32 (be, 3, ehs_shape, ehs);
  g_autoptr (TsTensor) pooled_t = ts_tensor_new_f32 (be, 2, pooled_shape, pooled);

  g_autoptr (GHashTable) taps = taps_new ();
  ts_uvit_set_tap (m, collect_tap, taps);
  g_autoptr (TsUvitCond) cond = ts_uvit_cond_new (m, ehs_t, pooled_t, micro, &error);
  g_assert_no_error (error);
  int h = (int) ids_shape[1], w = (int) ids_shape[2];
  g_autoptr (TsTensor) logits = ts_uvit_forward (m, cond, ids, h, w, &error);
  g_assert_no_error (error);
  ts_uvit_set_tap (m, NULL, NULL);

  gboolean ok = check_taps (taps, st, tol, NULL);
  int64_t lshape[8];
  g_autofree float *ref = nn_read_f32 (st, "logits", &ndim, lshape);
  g_autofree float *ref_nhwc = nn_nchw_to_nhwc (ref, lshape[0], lshape[1], lshape[2] * lshape[3]);
  g_autofree float *got = ts_tensor_read_f32 (logits, &error);
  g_assert_cmpint (ts_tensor_numel (logits), ==, lshape[0] * lshape[1] * lshape[2] * lshape[3]);
  ok &= nn_check ("logits", got, ref_nhwc, ts_tensor_numel (logits), tol);
  g_assert_true (ok);
}

static void
case_transformer_tiny (TsBackend *be, JsonObject *c, TsSafetensors *st)
{
  g_autofree char *dir = model_dir (c);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsUvit) m = ts_uvit_new_from_folder (be, dir, matrix_dtype, &error);
  g_assert_no_error (error);
  if (json_object_has_member (c, "mask_token_id"))
    g_assert_cmpint (ts_uvit_mask_token_id (m), ==,
                     json_object_get_int_member (c, "mask_token_id"));
  run_uvit (be, m, st, case_tolerance (c));
}

static TsUvit *
medium_uvit (TsBackend *be, JsonObject *c)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *json = nn_case_config_json (c);
  TsUVitConfig cfg;
  g_assert_true (ts_uvit_config_parse (json, strlen (json), "medium config", &cfg, &error));
  g_autoptr (TsWeights) w = nn_medium_weights (c, NULL, "medium transformer", &error);
  g_assert_no_error (error);
  TsUvit *m = ts_uvit_new (be, &cfg, w, matrix_dtype, &error);
  g_assert_no_error (error);
  return m;
}

static void
case_transformer_medium (TsBackend *be, JsonObject *c, TsSafetensors *st)
{
  g_autoptr (TsUvit) m = medium_uvit (be, c);
  run_uvit (be, m, st, case_tolerance (c));
}

static void
case_transformer_block (TsBackend *be, JsonObject *c, TsSafetensors *st)
{
  JsonObject *source = weights_source (c);
  int layer = prefix_index (json_object_get_string_member (c, "weights_prefix"),
                            "transformer_layers.");
  g_autoptr (TsUvit) m = medium_uvit (be, source);
  g_autoptr (GError) error = NULL;
  int ndim;
  int64_t xs[8], es[8], ps[8];
  g_autofree float *x = nn_read_f32 (st, "hidden_states", &ndim, xs);
  g_autofree float *e = nn_read_f32 (st, "encoder_hidden_states", &ndim, es);
  g_autofree float *p = nn_read_f32 (st, "pooled_text_emb", &ndim, ps);
  g_autoptr (TsTensor) x_t = ts_tensor_new_f32 (be, 3, xs, x);
  g_autoptr (TsTensor) e_t = ts_tensor_new_f32 (be, 3, es, e);
  g_autoptr (TsTensor) p_t = ts_tensor_new_f32 (be, 2, ps, p);
  g_autoptr (TsUvitCond) cond = ts_uvit_cond_new_projected (m, e_t, p_t, &error);
  g_assert_no_error (error);
  g_autoptr (TsTensor) out = ts_uvit_transformer_layer (m, cond, layer, x_t, &error);
  g_assert_no_error (error);
  g_autofree float *got = ts_tensor_read_f32 (out, &error);
  g_autofree float *ref = nn_read_f32 (st, "output", NULL, NULL);
  g_assert_true (nn_check ("output", got, ref, ts_tensor_numel (out), case_tolerance (c)));
}

/* ---- VQ ---- */

static gboolean
check_indices (const int32_t *got, const int32_t *ref, const float *margin, int64_t n)
{
  int64_t exact = 0, ties = 0, wrong = 0;
  for (int64_t i = 0; i < n; i++) {
    if (got[i] == ref[i])
      exact++;
    else if (margin && margin[i] < 1e-4f)
      ties++;
    else
      wrong++;
  }
  g_test_message ("%-40s %" G_GINT64_FORMAT " exact, %" G_GINT64_FORMAT " near-ties differ, %"
                  G_GINT64_FORMAT " wrong%s", "indices", exact, ties, wrong, wrong ? " FAIL" : "");
  return wrong == 0;
}

static void
run_vq (TsBackend *be, TsVqModel *m, TsSafetensors *st, NnTolerance tol)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) taps = taps_new ();
  ts_vqmodel_set_tap (m, collect_tap, taps);
  gboolean ok = TRUE;
  int ndim;
  int64_t shape[8];
  g_autofree int32_t *ids = nn_read_i32 (st, "indices", &ndim, shape);
  int64_t n_ids = shape[0] * shape[1] * shape[2];

  if (nn_has (st, "image")) {
    int64_t ishape[8];
    g_autofree float *image = nn_read_f32 (st, "image", &ndim, ishape);
    g_autoptr (TsTensor) image_t = ts_tensor_new_f32 (be, 4, ishape, image);
    g_autoptr (TsTensor) latents = ts_vqmodel_encode (m, image_t, &error);
    g_assert_no_error (error);
    g_autofree float *lat = ts_tensor_read_f32 (latents, &error);
    g_autofree float *lat_ref = nn_read_f32 (st, "latents", NULL, NULL);
    ok &= nn_check ("latents", lat, lat_ref, ts_tensor_numel (latents), tol);
    g_autoptr (TsTensor) tokens = ts_vqmodel_quantize (m, latents, &error);
    g_assert_no_error (error);
    g_autofree int32_t *got_ids = g_new (int32_t, n_ids);
    g_assert_true (ts_tensor_read (tokens, got_ids, n_ids * 4, &error));
    g_autofree float *margin = nn_has (st, "nearest_margin")
                               ? nn_read_f32 (st, "nearest_margin", NULL, NULL) : NULL;
    ok &= check_indices (got_ids, ids, margin, n_ids);
  }

  /* Decoding starts from the reference ids, so it is checked on its own. */
  int b = (int) shape[0], h = (int) shape[1], w = (int) shape[2];
  g_autoptr (TsTensor) decoded = ts_vqmodel_decode (m, ids, b, h, w, &error);
  g_assert_no_error (error);
  ts_vqmodel_set_tap (m, NULL, NULL);
  ok &= check_taps (taps, st, tol, NULL);
  g_autofree float *dec = ts_tensor_read_f32 (decoded, &error);
  g_autofree float *dec_ref = nn_read_f32 (st, "decoded", NULL, NULL);
  ok &= nn_check ("decoded", dec, dec_ref, ts_tensor_numel (decoded), tol);
  if (nn_has (st, "decoded_clipped")) {
    /* Clipped here rather than decoded again (on lavapipe the real VQ's decoder is most of the
     * suite's time): the pipeline replays check ts_vqmodel_decode_pixels, decode and clip. */
    int64_t n = ts_tensor_numel (decoded);
    g_autofree float *px = g_new (float, n);
    for (int64_t i = 0; i < n; i++)
      px[i] = CLAMP (dec[i], 0.0f, 1.0f);
    g_autofree float *px_ref = nn_read_f32 (st, "decoded_clipped", NULL, NULL);
    ok &= nn_check ("decoded_clipped", px, px_ref, n, tol);
  }
  g_assert_true (ok);
}

static void
case_vq_tiny (TsBackend *be, JsonObject *c, TsSafetensors *st)
{
  g_autofree char *dir = model_dir (c);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsVqModel) m = ts_vqmodel_new_from_folder (be, dir, &error);
  g_assert_no_error (error);
  run_vq (be, m, st, case_tolerance (c));
}

static TsVqModel *
medium_vq (TsBackend *be, JsonObject *c)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *json = nn_case_config_json (c);
  TsVQConfig cfg;
  g_assert_true (ts_vq_config_parse (json, strlen (json), "medium config", &cfg, &error));
  g_autoptr (TsWeights) w = nn_medium_weights (c, NULL, "medium VQ", &error);
  g_assert_no_error (error);
  TsVqModel *m = ts_vqmodel_new (be, &cfg, w, &error);
  g_assert_no_error (error);
  return m;
}

static void
case_vq_medium (TsBackend *be, JsonObject *c, TsSafetensors *st)
{
  g_autoptr (TsVqModel) m = medium_vq (be, c);
  run_vq (be, m, st, case_tolerance (c));
}

/* A decoder level alone (weights_prefix "decoder.up_blocks.N."): its input, its output, and
 * every intermediate the case stores under the level's own names ("resnets.0", …). */
static void
case_vq_upblock (TsBackend *be, JsonObject *c, TsSafetensors *st)
{
  JsonObject *source = weights_source (c);
  int level = prefix_index (json_object_get_string_member (c, "weights_prefix"),
                            "decoder.up_blocks.");
  g_autoptr (TsVqModel) m = medium_vq (be, source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) taps = taps_new ();
  ts_vqmodel_set_tap (m, collect_tap, taps);
  int ndim;
  int64_t shape[8];
  g_autofree float *x = nn_read_f32 (st, "input", &ndim, shape);
  g_autoptr (TsTensor) x_t = ts_tensor_new_f32 (be, 4, shape, x);
  g_autoptr (TsTensor) out = ts_vqmodel_decoder_level (m, level, x_t, &error);
  g_assert_no_error (error);
  ts_vqmodel_set_tap (m, NULL, NULL);
  /* the taps carry the decoder's prefix, the case stores the level's own names */
  g_autofree char *tap_prefix = g_strdup_printf ("dec.up_blocks.%d.", level);
  g_autoptr (GHashTable) level_taps = taps_new ();
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, taps);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_str_has_prefix (key, tap_prefix)) {
      g_hash_table_iter_steal (&iter);
      g_hash_table_insert (level_taps, g_strdup ((char *) key + strlen (tap_prefix)), value);
      g_free (key);
    }
  NnTolerance tol = case_tolerance (c);
  gboolean ok = check_taps (level_taps, st, tol, NULL);
  g_autofree float *got = ts_tensor_read_f32 (out, &error);
  g_autofree float *ref = nn_read_f32 (st, "output", NULL, NULL);
  ok &= nn_check ("output", got, ref, ts_tensor_numel (out), tol);
  g_assert_true (ok);
}

/* ---- which runner: read from the case's fields ---- */

typedef enum { NET_NONE, NET_TEXT, NET_TRANSFORMER, NET_VQ } Network;

/* The network a medium case's "config" describes, by the keys only that network's config
 * has. */
static Network
config_network (JsonObject *c)
{
  JsonNode *node = json_object_get_member (c, "config");
  if (!node || !JSON_NODE_HOLDS_OBJECT (node))
    return NET_NONE;
  JsonObject *config = json_node_get_object (node);
  if (json_object_has_member (config, "projection_dim"))
    return NET_TEXT;
  if (json_object_has_member (config, "micro_cond_encode_dim"))
    return NET_TRANSFORMER;
  if (json_object_has_member (config, "latent_channels"))
    return NET_VQ;
  return NET_NONE;
}

/* Chooses the runner of a case and whether its network may take f16 weights; NULL and a
 * reason (g_free) when none fits. */
static CaseRunFunc
choose_runner (JsonObject *c, gboolean *f16_capable, char **why)
{
  const char *group = json_object_get_string_member_with_default (c, "group", "");
  *f16_capable = FALSE;
  if (g_str_equal (group, "text") || g_str_equal (group, "transformer") ||
      g_str_equal (group, "vq")) {
    if (!json_object_get_string_member_with_default (c, "model", NULL)) {
      *why = g_strdup_printf ("a %s case without a \"model\" folder", group);
      return NULL;
    }
    *f16_capable = !g_str_equal (group, "vq");
    return g_str_equal (group, "text") ? case_text_tiny
         : g_str_equal (group, "transformer") ? case_transformer_tiny : case_vq_tiny;
  }
  if (!g_str_equal (group, "medium")) {
    *why = g_strdup_printf ("group \"%s\" is not a network group", group);
    return NULL;
  }
  /* Real-width pieces: a whole network from "config" + "weights", or one part of another
   * case's network ("weights_from_case" + "weights_prefix"). */
  if (json_object_has_member (c, "weights")) {
    Network net = config_network (c);
    *f16_capable = net == NET_TEXT || net == NET_TRANSFORMER;
    if (net != NET_NONE)
      return net == NET_TEXT ? case_text_medium
           : net == NET_TRANSFORMER ? case_transformer_medium : case_vq_medium;
    *why = g_strdup ("its config describes none of the text encoder, transformer, VQ");
    return NULL;
  }
  const char *from = json_object_get_string_member_with_default (c, "weights_from_case", NULL);
  const char *prefix = json_object_get_string_member_with_default (c, "weights_prefix", "");
  char *skip = NULL;
  NnManifest *man = nn_manifest_get (&skip);
  g_free (skip);
  JsonObject *source = from && man ? nn_manifest_case (man, from) : NULL;
  if (!source) {
    *why = from ? g_strdup_printf ("weights_from_case \"%s\" is not in the manifest", from)
                : g_strdup ("neither weights nor weights_from_case");
    return NULL;
  }
  Network net = config_network (source);
  if (net == NET_TRANSFORMER && prefix_index (prefix, "transformer_layers.") >= 0) {
    *f16_capable = TRUE;
    return case_transformer_block;
  }
  if (net == NET_VQ && prefix_index (prefix, "decoder.up_blocks.") >= 0)
    return case_vq_upblock;
  *why = g_strdup_printf ("no runner for the part \"%s\" of case %s", prefix, from);
  return NULL;
}

/* ---- driver ---- */

/* CPU time of the process, every thread (lavapipe's too), for the timing line of each test:
 * on the shared test machine the wall time says more about the load than about the case. */
static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
run_golden (gconstpointer data)
{
  const GoldenCase *gc = data;
  if (!gc->run) {
    g_test_fail_printf ("case %s: no runner handles it: %s", gc->case_name, gc->failure);
    return;
  }
  char *reason = NULL;
  NnManifest *man = nn_manifest_get (&reason);
  JsonObject *c = nn_manifest_case (man, gc->case_name);
  g_assert_nonnull (c);
  TsBackend *be = backend_get (gc->backend);
  if (!be) {
    g_test_skip (backend_skip[gc->backend]);
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (TsSafetensors) st = nn_case_open (c, &error);
  g_assert_no_error (error);
  g_test_message ("%s on %s%s", gc->case_name, ts_backend_name (be),
                  gc->f16 ? " with f16 weights" : "");
  matrix_dtype = gc->f16 ? TS_DTYPE_F16 : TS_DTYPE_COUNT;
  double wall = g_get_monotonic_time (), cpu = cpu_seconds ();
  gc->run (be, c, st);
  matrix_dtype = TS_DTYPE_COUNT;
  g_assert_false (ts_backend_has_error (be));
  g_test_message ("%s: %.1f s, %.1f s of CPU", gc->case_name,
                  (g_get_monotonic_time () - wall) / 1e6, cpu_seconds () - cpu);
}

/* The network groups; the others belong to the model-file harness (tests/model/goldens) and
 * the pipeline replays (tests/pipeline), which fail their own unhandled cases. */
static gboolean
network_group (JsonObject *c)
{
  const char *group = json_object_get_string_member_with_default (c, "group", "");
  return g_str_equal (group, "text") || g_str_equal (group, "transformer") ||
         g_str_equal (group, "vq") || g_str_equal (group, "medium");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  char *reason = NULL;
  NnManifest *man = nn_manifest_get (&reason);
  if (!man) {
    g_test_add_data_func ("/goldens/manifest", reason, golden_paths_no_goldens_test);
    return g_test_run ();
  }
  g_test_message ("goldens: %s", nn_goldens_dir ());
  JsonArray *cases = json_object_get_array_member (man->root, "cases");
  GPtrArray *registered = g_ptr_array_new ();
  for (guint i = 0; cases && i < json_array_get_length (cases); i++) {
    JsonObject *c = json_array_get_object_element (cases, i);
    if (!network_group (c))
      continue;
    const char *name = json_object_get_string_member (c, "name");
    gboolean f16_capable;
    char *why = NULL;
    CaseRunFunc run = choose_runner (c, &f16_capable, &why);
    for (int b = 0; b < 2; b++)
      for (int f16 = 0; f16 <= f16_capable; f16++) {
        GoldenCase *gc = g_new0 (GoldenCase, 1);
        *gc = (GoldenCase) { g_strdup (name), b, run, g_strdup (why), f16 };
        g_ptr_array_add (registered, gc);
        g_autofree char *path = g_strdup_printf ("/goldens/%s%s/%s", b ? "vulkan" : "cpu",
                                                 f16 ? "/f16" : "", name);
        g_test_add_data_func (path, gc, run_golden);
      }
    g_free (why);
  }
  g_test_message ("%u tests from the manifest", registered->len);
  int rc = g_test_run ();
  for (guint i = 0; i < registered->len; i++) {
    GoldenCase *gc = registered->pdata[i];
    g_free (gc->case_name);
    g_free (gc->failure);
    g_free (gc);
  }
  g_ptr_array_free (registered, TRUE);
  for (int b = 0; b < 2; b++) {
    if (backends[b])
      ts_backend_free (backends[b]);
    g_free (backend_skip[b]);
  }
  return rc;
}
