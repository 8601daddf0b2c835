/* ts-clip.c — CLIP text transformer: token + position embeddings, pre-LN layers with causal
 * multi-head attention and a quick-GELU MLP, final LayerNorm and projection at the pooled
 * position. */
#include "ts-clip.h"
#include "../model/ts-model-folder.h"

#include <math.h>

typedef struct {
  TsTensor *ln1_w, *ln1_b, *ln2_w, *ln2_b;
  TsTensor *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *o_b;
  TsTensor *fc1_w, *fc1_b, *fc2_w, *fc2_b;
} ClipLayer;

struct _TsClipText {
  TsBackend     *be;
  TsClipTextConfig cfg;
  TsTensor      *tok_emb, *pos_emb, *final_ln_w, *final_ln_b, *projection;
  ClipLayer     *layers;
  TsNnWeights   *weights;       /* owns every tensor above */
  guint64        weight_bytes;
  TsNnTapFunc    tap;
  gpointer       tap_data;
};

void
ts_clip_text_free (TsClipText *m)
{
  if (!m)
    return;
  ts_nn_weights_free (m->weights);
  g_free (m->layers);
  g_free (m);
}

static void
load_layer (TsNnWeights *w, const TsClipTextConfig *c, int i, ClipLayer *l)
{
  const int64_t d = c->hidden_size, f = c->intermediate_size;
#define P "text_model.encoder.layers.%d."
  l->ln1_w = ts_nn_weight1 (w, d, P "layer_norm1.weight", i);
  l->ln1_b = ts_nn_weight1 (w, d, P "layer_norm1.bias", i);
  l->ln2_w = ts_nn_weight1 (w, d, P "layer_norm2.weight", i);
  l->ln2_b = ts_nn_weight1 (w, d, P "layer_norm2.bias", i);
  l->q_w = ts_nn_linear_weight (w, d, d, P "self_attn.q_proj.weight", i);
  l->q_b = ts_nn_weight1 (w, d, P "self_attn.q_proj.bias", i);
  l->k_w = ts_nn_linear_weight (w, d, d, P "self_attn.k_proj.weight", i);
  l->k_b = ts_nn_weight1 (w, d, P "self_attn.k_proj.bias", i);
  l->v_w = ts_nn_linear_weight (w, d, d, P "self_attn.v_proj.weight", i);
  l->v_b = ts_nn_weight1 (w, d, P "self_attn.v_proj.bias", i);
  l->o_w = ts_nn_linear_weight (w, d, d, P "self_attn.out_proj.weight", i);
  l->o_b = ts_nn_weight1 (w, d, P "self_attn.out_proj.bias", i);
  l->fc1_w = ts_nn_linear_weight (w, f, d, P "mlp.fc1.weight", i);
  l->fc1_b = ts_nn_weight1 (w, f, P "mlp.fc1.bias", i);
  l->fc2_w = ts_nn_linear_weight (w, d, f, P "mlp.fc2.weight", i);
  l->fc2_b = ts_nn_weight1 (w, d, P "mlp.fc2.bias", i);
#undef P
}

/* Every weight, by name and shape: the one declaration (ts_clip_text_weight_specs runs it
 * in collect mode). */
static void
load_weights (TsNnWeights *w, TsClipText *m)
{
  const TsClipTextConfig *c = &m->cfg;
  m->tok_emb = ts_nn_weight2 (w, c->vocab_size, c->hidden_size,
                              "text_model.embeddings.token_embedding.weight");
  m->pos_emb = ts_nn_weight2 (w, c->max_position_embeddings, c->hidden_size,
                              "text_model.embeddings.position_embedding.weight");
  m->layers = g_new0 (ClipLayer, c->num_hidden_layers);
  for (int i = 0; i < c->num_hidden_layers; i++)
    load_layer (w, c, i, &m->layers[i]);
  m->final_ln_w = ts_nn_weight1 (w, c->hidden_size, "text_model.final_layer_norm.weight");
  m->final_ln_b = ts_nn_weight1 (w, c->hidden_size, "text_model.final_layer_norm.bias");
  m->projection = ts_nn_linear_weight (w, c->projection_dim, c->hidden_size, "text_projection.weight");
}

TsClipText *
ts_clip_text_new (TsBackend *be, const TsClipTextConfig *config, TsWeights *weights,
                  TsDType matrix_dtype, GError **error)
{
  g_autoptr (TsClipText) m = g_new0 (TsClipText, 1);
  m->be = be;
  m->cfg = *config;
  m->weights = ts_nn_weights_new (be, weights, "text encoder", matrix_dtype);
  load_weights (m->weights, m);
  /* Older transformers saved the position-id buffer with the weights. */
  if (!ts_nn_weights_finish (m->weights, "position_ids", error))
    return NULL;
  m->weight_bytes = ts_nn_weights_bytes (m->weights);
  return g_steal_pointer (&m);
}

GPtrArray *
ts_clip_text_weight_specs (const TsClipTextConfig *config)
{
  g_autoptr (TsClipText) m = g_new0 (TsClipText, 1);
  m->cfg = *config;
  m->weights = ts_nn_weights_new_collect ("text encoder");
  load_weights (m->weights, m);
  return ts_nn_weights_take_specs (m->weights);
}

TsClipText *
ts_clip_text_new_from_folder (TsBackend *be, const char *dir, TsDType matrix_dtype,
                              GError **error)
{
  TsClipTextConfig cfg;
  g_autoptr (TsWeights) weights = ts_clip_text_open (dir, NULL, &cfg, error);
  return weights ? ts_clip_text_new (be, &cfg, weights, matrix_dtype, error) : NULL;
}

const TsClipTextConfig *
ts_clip_text_config (const TsClipText *m)
{
  return &m->cfg;
}

guint64
ts_clip_text_weight_bytes (const TsClipText *m)
{
  return m->weight_bytes;
}

void
ts_clip_text_set_tap (TsClipText *m, TsNnTapFunc tap, gpointer user_data)
{
  m->tap = tap;
  m->tap_data = user_data;
}

static void
tap (TsClipText *m, TsTensor *t, const char *name, int i)
{
  if (!m->tap || !t)
    return;
  g_autofree char *full = i >= 0 ? g_strdup_printf ("%s.%d", name, i) : g_strdup (name);
  m->tap (full, t, m->tap_data);
}

int
ts_clip_text_pool_position (const TsClipTextConfig *config, const int32_t *ids, int length)
{
  /* transformers: argmax(ids) for the legacy eos_token_id 2 (the end-of-text token has the
   * largest id), else argmax(ids == eos_token_id); both take the first hit, 0 when none. */
  int best = 0;
  for (int i = 0; i < length; i++) {
    if (config->eos_token_id == 2 ? ids[i] > ids[best] : ids[i] == config->eos_token_id) {
      best = i;
      if (config->eos_token_id != 2)
        break;
    }
  }
  return best;
}

/* x + out_proj(causal_attention(LN1(x))); consumes x. */
static TsTensor *
attention_block (TsClipText *m, const ClipLayer *l, TsTensor *x)
{
  TsBackend *be = m->be;
  int heads = m->cfg.num_attention_heads;
  float scale = 1.0f / sqrtf ((float) (m->cfg.hidden_size / heads));
  float eps = (float) m->cfg.layer_norm_eps;
  g_autoptr (TsTensor) n = ts_layer_norm (be, x, l->ln1_w, l->ln1_b, eps);
  g_autoptr (TsTensor) q = ts_nn_heads_consume (ts_linear (be, n, l->q_w, l->q_b), heads);
  g_autoptr (TsTensor) k = ts_nn_heads_consume (ts_linear (be, n, l->k_w, l->k_b), heads);
  g_autoptr (TsTensor) v = ts_nn_heads_consume (ts_linear (be, n, l->v_w, l->v_b), heads);
  TsTensor *a = ts_nn_merge_heads_consume (ts_attention (be, q, k, v, scale, TRUE));
  TsTensor *o = ts_nn_replace (a, ts_linear (be, a, l->o_w, l->o_b));
  return ts_nn_add_consume (be, x, o);
}

/* x + fc2(act(fc1(LN2(x)))); consumes x. */
static TsTensor *
mlp_block (TsClipText *m, const ClipLayer *l, TsTensor *x)
{
  TsBackend *be = m->be;
  TsTensor *h = ts_layer_norm (be, x, l->ln2_w, l->ln2_b, (float) m->cfg.layer_norm_eps);
  h = ts_nn_replace (h, ts_linear (be, h, l->fc1_w, l->fc1_b));
  h = ts_nn_replace (h, m->cfg.hidden_act == TS_CLIP_ACT_QUICK_GELU ? ts_quick_gelu (be, h)
                                                                    : ts_gelu (be, h));
  h = ts_nn_replace (h, ts_linear (be, h, l->fc2_w, l->fc2_b));
  return ts_nn_add_consume (be, x, h);
}

static gboolean
check_ids (const TsClipTextConfig *c, const int32_t *ids, int batch, int length, GError **error)
{
  if (batch < 1 || length < 1 || length > c->max_position_embeddings) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "text encoder: %dx%d token ids; "
                 "want at least one row of 1 to %d tokens", batch, length,
                 (int) c->max_position_embeddings);
    return FALSE;
  }
  for (int64_t i = 0; i < (int64_t) batch * length; i++) {
    if (ids[i] < 0 || ids[i] >= c->vocab_size) {
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "text encoder: token id %d at "
                   "row %d, position %d is outside the vocabulary [0, %d)", ids[i],
                   (int) (i / length), (int) (i % length), (int) c->vocab_size);
      return FALSE;
    }
  }
  return TRUE;
}

/* The rows of x [B, L, D] at each row's pooling position → [B, D]. */
static TsTensor *
gather_pooled (TsClipText *m, TsTensor *x, const int32_t *ids, int batch, int length)
{
  g_autofree TsTensor **rows = g_new0 (TsTensor *, batch);
  for (int b = 0; b < batch; b++) {
    int pos = ts_clip_text_pool_position (&m->cfg, ids + (int64_t) b * length, length);
    g_autoptr (TsTensor) row = ts_tensor_slice (x, 0, b, 1);
    rows[b] = ts_tensor_slice (row, 1, pos, 1);
  }
  TsTensor *pooled = NULL;
  gboolean all = TRUE;
  for (int b = 0; b < batch; b++)
    all = all && rows[b];
  if (all)
    pooled = ts_concat (m->be, rows, batch, 0);
  for (int b = 0; b < batch; b++)
    ts_tensor_unref (rows[b]);
  int64_t shape[2] = { batch, m->cfg.hidden_size };
  return pooled ? ts_nn_replace (pooled, ts_tensor_reshape (pooled, 2, shape)) : NULL;
}

gboolean
ts_clip_text_encode (TsClipText *m, const int32_t *ids, int batch, int length,
                     TsTensor **hidden_states, TsTensor **text_embeds, GError **error)
{
  TsBackend *be = m->be;
  g_return_val_if_fail (ids != NULL, FALSE);
  if (!check_ids (&m->cfg, ids, batch, length, error))
    return FALSE;
  int64_t id_shape[2] = { batch, length };
  g_autoptr (TsTensor) id_t = ts_tensor_new_from_data (be, TS_DTYPE_I32, 2, id_shape, ids);
  g_autoptr (TsTensor) pos = ts_tensor_slice (m->pos_emb, 0, 0, length);
  TsTensor *x = ts_embedding (be, m->tok_emb, id_t);
  x = ts_nn_replace (x, ts_add (be, x, pos));
  tap (m, x, "hidden_states", 0);

  TsTensor *penultimate = NULL;
  for (int i = 0; i < m->cfg.num_hidden_layers; i++) {
    if (i == m->cfg.num_hidden_layers - 1)
      penultimate = x ? ts_tensor_ref (x) : NULL;
    x = attention_block (m, &m->layers[i], x);
    x = mlp_block (m, &m->layers[i], x);
    tap (m, x, "hidden_states", i + 1);
  }
  if (m->tap && x) {
    g_autoptr (TsTensor) last = ts_layer_norm (be, x, m->final_ln_w, m->final_ln_b,
                                               (float) m->cfg.layer_norm_eps);
    tap (m, last, "last_hidden_state", -1);
  }

  TsTensor *embeds = NULL;
  if (text_embeds) {
    embeds = gather_pooled (m, x, ids, batch, length);
    embeds = ts_nn_replace (embeds, ts_layer_norm (be, embeds, m->final_ln_w, m->final_ln_b,
                                                   (float) m->cfg.layer_norm_eps));
    embeds = ts_nn_linear_consume (be, embeds, m->projection);
  }
  ts_tensor_unref (x);
  if (ts_backend_has_error (be) || (text_embeds && !embeds) || (hidden_states && !penultimate)) {
    ts_tensor_unref (embeds);
    ts_tensor_unref (penultimate);
    ts_nn_finish (be, NULL, "text encoder", error);
    return FALSE;
  }
  if (hidden_states)
    *hidden_states = penultimate;
  else
    ts_tensor_unref (penultimate);
  if (text_embeds)
    *text_embeds = embeds;
  return TRUE;
}
