/* ts-uvit-cond.c — the U-ViT's per-prompt context: text projection, the conditioning vector
 * from the pooled text embedding and the micro-conditioning sinusoids, every modulation vector
 * and every cross-attention key/value. None of it changes between sampling steps. */
#include "ts-uvit-private.h"

static void
mods_free (UvitMod *mods, int n)
{
  for (int i = 0; mods && i < n; i++) {
    ts_tensor_unref (mods[i].scale1p);
    ts_tensor_unref (mods[i].shift);
  }
  g_free (mods);
}

static void
kvs_free (UvitKV *kvs, int n)
{
  for (int i = 0; kvs && i < n; i++) {
    ts_tensor_unref (kvs[i].k);
    ts_tensor_unref (kvs[i].v);
  }
  g_free (kvs);
}

void
ts_uvit_cond_free (TsUvitCond *c)
{
  if (!c)
    return;
  mods_free (c->down_mod, c->n_res);
  mods_free (c->up_mod, c->n_res);
  kvs_free (c->down_kv, 2 * c->n_res);
  kvs_free (c->up_kv, 2 * c->n_res);
  mods_free (c->layer_mod, 3 * c->n_layers);
  kvs_free (c->layer_kv, c->n_layers);
  g_free (c);
}

static UvitMod *
mods_slice (const UvitMod *mods, int count, int first, int n)
{
  UvitMod *out = g_new0 (UvitMod, count);
  for (int i = 0; i < count; i++) {
    out[i].scale1p = ts_tensor_slice (mods[i].scale1p, 0, first, n);
    out[i].shift = ts_tensor_slice (mods[i].shift, 0, first, n);
  }
  return out;
}

static UvitKV *
kvs_slice (const UvitKV *kvs, int count, int first, int n)
{
  UvitKV *out = g_new0 (UvitKV, count);
  for (int i = 0; i < count; i++) {
    out[i].k = ts_tensor_slice (kvs[i].k, 0, first, n);
    out[i].v = ts_tensor_slice (kvs[i].v, 0, first, n);
  }
  return out;
}

TsUvitCond *
ts_uvit_cond_slice (const TsUvitCond *c, int first, int n)
{
  if (first < 0 || n < 1 || first > c->batch - n)
    return NULL;
  TsUvitCond *s = g_new0 (TsUvitCond, 1);
  s->model = c->model;
  s->batch = n;
  s->n_res = c->n_res;
  s->n_layers = c->n_layers;
  s->down_mod = mods_slice (c->down_mod, c->n_res, first, n);
  s->up_mod = mods_slice (c->up_mod, c->n_res, first, n);
  s->down_kv = kvs_slice (c->down_kv, 2 * c->n_res, first, n);
  s->up_kv = kvs_slice (c->up_kv, 2 * c->n_res, first, n);
  s->layer_mod = mods_slice (c->layer_mod, 3 * c->n_layers, first, n);
  s->layer_kv = kvs_slice (c->layer_kv, c->n_layers, first, n);
  return s;
}

/* Rows rows[0..n) of t [B, …] stacked along dim 0 (a row may repeat). */
static TsTensor *
gather_rows (TsBackend *be, TsTensor *t, const int *rows, int n)
{
  g_autofree TsTensor **parts = g_new0 (TsTensor *, n);
  gboolean ok = TRUE;
  for (int i = 0; i < n; i++)
    ok = (parts[i] = ts_tensor_slice (t, 0, rows[i], 1)) && ok;
  TsTensor *out = ok ? ts_concat (be, parts, n, 0) : NULL;
  for (int i = 0; i < n; i++)
    ts_tensor_unref (parts[i]);
  return out;
}

static UvitMod *
mods_gather (TsBackend *be, const UvitMod *mods, int count, const int *rows, int n)
{
  UvitMod *out = g_new0 (UvitMod, count);
  for (int i = 0; i < count; i++) {
    out[i].scale1p = gather_rows (be, mods[i].scale1p, rows, n);
    out[i].shift = gather_rows (be, mods[i].shift, rows, n);
  }
  return out;
}

static UvitKV *
kvs_gather (TsBackend *be, const UvitKV *kvs, int count, const int *rows, int n)
{
  UvitKV *out = g_new0 (UvitKV, count);
  for (int i = 0; i < count; i++) {
    out[i].k = gather_rows (be, kvs[i].k, rows, n);
    out[i].v = gather_rows (be, kvs[i].v, rows, n);
  }
  return out;
}

TsUvitCond *
ts_uvit_cond_gather (const TsUvitCond *c, const int *rows, int n, GError **error)
{
  for (int i = 0; i < n; i++)
    if (rows[i] < 0 || rows[i] >= c->batch) {
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "transformer conditioning: row "
                   "%d of a batch of %d", rows[i], c->batch);
      return NULL;
    }
  TsBackend *be = c->model->be;
  g_autoptr (TsUvitCond) g = g_new0 (TsUvitCond, 1);
  g->model = c->model;
  g->batch = n;
  g->n_res = c->n_res;
  g->n_layers = c->n_layers;
  g->down_mod = mods_gather (be, c->down_mod, c->n_res, rows, n);
  g->up_mod = mods_gather (be, c->up_mod, c->n_res, rows, n);
  g->down_kv = kvs_gather (be, c->down_kv, 2 * c->n_res, rows, n);
  g->up_kv = kvs_gather (be, c->up_kv, 2 * c->n_res, rows, n);
  g->layer_mod = mods_gather (be, c->layer_mod, 3 * c->n_layers, rows, n);
  g->layer_kv = kvs_gather (be, c->layer_kv, c->n_layers, rows, n);
  if (!ts_nn_check (be, "transformer conditioning", error))
    return NULL;
  return g_steal_pointer (&g);
}

/* linear(silu(c)) → [scale | shift], kept as (1 + scale) and shift, each [B, 1, D]. */
static void
make_mod (TsBackend *be, TsTensor *silu_c, TsTensor *weight, UvitMod *mod)
{
  g_autoptr (TsTensor) both = ts_linear (be, silu_c, weight, NULL);
  if (!both)
    return;
  int64_t b = both->shape[0], d = both->shape[1] / 2;
  int64_t shape[3] = { b, 1, d };
  g_autoptr (TsTensor) scale = ts_tensor_slice (both, 1, 0, d);
  g_autoptr (TsTensor) shift = ts_tensor_slice (both, 1, d, d);
  g_autoptr (TsTensor) s1p = ts_scale (be, scale, 1.0f, 1.0f);
  g_autoptr (TsTensor) sh = ts_copy (be, shift, TS_DTYPE_F32);
  mod->scale1p = ts_tensor_reshape (s1p, 3, shape);
  mod->shift = ts_tensor_reshape (sh, 3, shape);
}

static void
make_kv (TsBackend *be, TsTensor *text, TsTensor *k_w, TsTensor *v_w, int heads, UvitKV *kv)
{
  kv->k = ts_nn_heads_consume (ts_linear (be, text, k_w, NULL), heads);
  kv->v = ts_nn_heads_consume (ts_linear (be, text, v_w, NULL), heads);
}

/* Modulations and keys/values of one conv stage. */
static void
stage_context (TsUvit *m, const UvitStage *s, TsTensor *silu_c, TsTensor *text,
               TsTensor *silu_text, UvitMod *mods, UvitKV *kvs)
{
  TsBackend *be = m->be;
  for (int i = 0; i < m->cfg.num_res_blocks; i++) {
    make_mod (be, silu_c, s->res[i].cond_mapper, &mods[i]);
    const UvitSkipFF *a = &s->attn[i];
    /* diffusers maps silu(text) only when the widths differ; otherwise the text goes in as is. */
    g_autoptr (TsTensor) e = a->kv_mapper ? ts_linear (be, silu_text, a->kv_mapper, NULL)
                                          : ts_tensor_ref (text);
    for (int j = 0; j < 2; j++)
      make_kv (be, e, a->k[j], a->v[j], (int) m->cfg.block_num_heads, &kvs[2 * i + j]);
  }
}

TsUvitCond *
ts_uvit_cond_new_projected (TsUvit *m, TsTensor *projected, TsTensor *cond, GError **error)
{
  TsBackend *be = m->be;
  const TsUVitConfig *c = &m->cfg;
  if (!projected || !cond || projected->ndim != 3 || cond->ndim != 2 ||
      projected->shape[0] != cond->shape[0] || projected->shape[2] != c->hidden_size ||
      cond->shape[1] != c->hidden_size) {
    g_autofree char *dp = ts_tensor_describe (projected);
    g_autofree char *dc = ts_tensor_describe (cond);
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "transformer: text states %s and "
                 "conditioning %s do not fit a hidden size of %d", dp, dc, (int) c->hidden_size);
    return NULL;
  }
  g_autoptr (TsUvitCond) ctx = g_new0 (TsUvitCond, 1);
  ctx->model = m;
  ctx->n_res = (int) c->num_res_blocks;
  ctx->n_layers = (int) c->num_hidden_layers;
  ctx->batch = (int) cond->shape[0];
  ctx->down_mod = g_new0 (UvitMod, ctx->n_res);
  ctx->up_mod = g_new0 (UvitMod, ctx->n_res);
  ctx->down_kv = g_new0 (UvitKV, 2 * ctx->n_res);
  ctx->up_kv = g_new0 (UvitKV, 2 * ctx->n_res);
  ctx->layer_mod = g_new0 (UvitMod, 3 * ctx->n_layers);
  ctx->layer_kv = g_new0 (UvitKV, ctx->n_layers);

  g_autoptr (TsTensor) silu_c = ts_silu (be, cond);
  g_autoptr (TsTensor) silu_text = ts_silu (be, projected);
  stage_context (m, &m->down, silu_c, projected, silu_text, ctx->down_mod, ctx->down_kv);
  stage_context (m, &m->up, silu_c, projected, silu_text, ctx->up_mod, ctx->up_kv);
  for (int i = 0; i < ctx->n_layers; i++) {
    const UvitLayer *l = &m->layers[i];
    for (int j = 0; j < 3; j++)
      make_mod (be, silu_c, l->ada_linear[j], &ctx->layer_mod[3 * i + j]);
    make_kv (be, projected, l->k[1], l->v[1], (int) c->num_attention_heads, &ctx->layer_kv[i]);
  }
  if (!ts_nn_check (be, "transformer conditioning", error))
    return NULL;
  return g_steal_pointer (&ctx);
}

/* [pooled | sinusoids(micro_conds)] → linear → SiLU → linear. */
static TsTensor *
cond_embed (TsUvit *m, TsTensor *pooled, const float *micro_conds, int batch)
{
  const TsUVitConfig *c = &m->cfg;
  int per = (int) c->micro_cond_encode_dim, n = (int) (c->micro_cond_embed_dim / per);
  g_autofree float *emb = g_new (float, (size_t) batch * c->micro_cond_embed_dim);
  for (int i = 0; i < batch * n; i++)
    ts_nn_sinusoid_embedding (micro_conds[i], per, emb + (size_t) i * per);
  int64_t shape[2] = { batch, c->micro_cond_embed_dim };
  g_autoptr (TsTensor) micro = ts_tensor_new_f32 (m->be, 2, shape, emb);
  TsTensor *parts[2] = { pooled, micro };
  TsTensor *x = micro ? ts_concat (m->be, parts, 2, 1) : NULL;
  x = ts_nn_linear_consume (m->be, x, m->cond_linear_1);
  x = ts_nn_replace (x, ts_silu (m->be, x));
  return ts_nn_linear_consume (m->be, x, m->cond_linear_2);
}

TsUvitCond *
ts_uvit_cond_new (TsUvit *m, TsTensor *encoder_hidden_states, TsTensor *pooled,
                  const float *micro_conds, GError **error)
{
  TsBackend *be = m->be;
  const TsUVitConfig *c = &m->cfg;
  TsTensor *ehs = encoder_hidden_states;
  g_return_val_if_fail (micro_conds != NULL, NULL);
  if (!ehs || !pooled || ehs->ndim != 3 || pooled->ndim != 2 ||
      ehs->shape[0] != pooled->shape[0] || ehs->shape[2] != c->encoder_hidden_size ||
      pooled->shape[1] != c->cond_embed_dim || pooled->dtype != TS_DTYPE_F32) {
    g_autofree char *de = ts_tensor_describe (ehs);
    g_autofree char *dp = ts_tensor_describe (pooled);
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "transformer: text states %s and "
                 "pooled embedding %s do not fit (want f32 [B, L, %d] and [B, %d])", de, dp,
                 (int) c->encoder_hidden_size, (int) c->cond_embed_dim);
    return NULL;
  }
  int batch = (int) ehs->shape[0];
  TsTensor *proj = ts_linear (be, ehs, m->encoder_proj, NULL);
  proj = ts_nn_replace (proj, ts_rms_norm (be, proj, m->encoder_proj_norm,
                                           (float) c->layer_norm_eps));
  ts_uvit_tap (m, proj, "encoder_hidden_states_projected");
  g_autoptr (TsTensor) cvec = cond_embed (m, pooled, micro_conds, batch);
  ts_uvit_tap (m, cvec, "cond_embed");
  g_autoptr (TsTensor) projected = proj;
  if (!ts_nn_check (be, "transformer conditioning", error))
    return NULL;
  return ts_uvit_cond_new_projected (m, projected, cvec, error);
}
