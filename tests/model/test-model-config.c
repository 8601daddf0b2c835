/* test-model-config.c — component configs and the weight lists derived from them (by the
 * network loaders, run in collect mode), checked against the published aMUSEd
 * configurations and their parameter totals. */
#include "model/ts-model-config.h"
#include "model/ts-weight-specs.h"

#include <string.h>

static char *
fixture (const char *model, const char *file)
{
  return g_build_filename (TESSERA_MODEL_FIXTURES, model, file, NULL);
}

static const TsWeightSpec *
find_spec (const GPtrArray *specs, const char *name)
{
  for (guint i = 0; i < specs->len; i++) {
    const TsWeightSpec *s = specs->pdata[i];
    if (g_str_equal (s->name, name))
      return s;
  }
  return NULL;
}

static void
assert_shape (const GPtrArray *specs, const char *name, int ndim, int64_t d0, int64_t d1,
              int64_t d2, int64_t d3)
{
  const TsWeightSpec *s = find_spec (specs, name);
  if (!s)
    g_error ("no weight \"%s\"", name);
  const int64_t want[4] = { d0, d1, d2, d3 };
  g_assert_cmpint (s->ndim, ==, ndim);
  for (int i = 0; i < ndim; i++)
    g_assert_cmpint (s->shape[i], ==, want[i]);
}

static void
assert_unique (const GPtrArray *specs)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < specs->len; i++)
    g_assert_true (g_hash_table_add (seen, ((TsWeightSpec *) specs->pdata[i])->name));
}

/* The published transformers: 474 / 478 tensors and 603,537,664 / 608,257,792 parameters
 * (amused-spec §0, §1.1). */
static void
test_uvit_published (void)
{
  const struct { const char *model; guint n; int64_t params; gboolean updown; } m[] = {
    { "amused-256", 474, 603537664, FALSE },
    { "amused-512", 478, 608257792, TRUE },
  };
  for (guint k = 0; k < G_N_ELEMENTS (m); k++) {
    g_autofree char *path = fixture (m[k].model, "transformer/config.json");
    g_autoptr (GError) error = NULL;
    TsUVitConfig c;
    g_assert_true (ts_uvit_config_load (path, NULL, &c, &error));
    g_assert_no_error (error);
    g_assert_cmpint (c.hidden_size, ==, 1024);
    g_assert_cmpint (c.num_hidden_layers, ==, 22);
    g_assert_cmpint (c.vocab_size, ==, 8256);
    g_assert_cmpint (c.codebook_size, ==, 8192);
    g_assert_cmpint (c.downsample, ==, m[k].updown);
    g_assert_cmpint (c.upsample, ==, m[k].updown);
    g_assert_cmpfloat (c.layer_norm_eps, ==, 1e-6);
    g_autoptr (GPtrArray) specs = ts_uvit_weight_specs (&c);
    assert_unique (specs);
    g_assert_cmpuint (specs->len, ==, m[k].n);
    g_assert_cmpint (ts_weight_specs_numel (specs), ==, m[k].params);
    /* examples listed in the spec */
    assert_shape (specs, "transformer_layers.21.norm1.linear.weight", 2, 2048, 1024, 0, 0);
    assert_shape (specs, "transformer_layers.0.norm3.norm.weight", 1, 1024, 0, 0, 0);
    assert_shape (specs, "transformer_layers.5.attn2.to_v.weight", 2, 1024, 1024, 0, 0);
    assert_shape (specs, "transformer_layers.0.ff.net.0.proj.weight", 2, 5632, 1024, 0, 0);
    assert_shape (specs, "transformer_layers.0.ff.net.2.weight", 2, 1024, 2816, 0, 0);
    assert_shape (specs, "down_block.res_blocks.2.channelwise_norm.gamma", 4, 1, 1, 1, 3072);
    assert_shape (specs, "down_block.attention_blocks.0.kv_mapper.weight", 2, 768, 1024, 0, 0);
    assert_shape (specs, "mlm_layer.conv2.weight", 4, 8192, 768, 1, 1);
    assert_shape (specs, "embed.embeddings.weight", 2, 8256, 768, 0, 0);
    assert_shape (specs, "cond_embed.linear_1.weight", 2, 1024, 2048, 0, 0);
    g_assert_true ((find_spec (specs, "down_block.downsample.conv.weight") != NULL) == m[k].updown);
    g_assert_true ((find_spec (specs, "up_block.upsample.conv.weight") != NULL) == m[k].updown);
    g_assert_null (find_spec (specs, "encoder_proj.bias"));
    g_assert_null (find_spec (specs, "transformer_layers.22.attn1.to_q.weight"));
  }
}

/* The published VQ-GAN: 146,244,675 parameters, conv_shortcut only where widths change. */
static void
test_vq_published (void)
{
  g_autofree char *path = fixture ("amused-512", "vqvae/config.json");
  g_autoptr (GError) error = NULL;
  TsVQConfig c;
  g_assert_true (ts_vq_config_load (path, NULL, &c, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.n_blocks, ==, 5);
  g_assert_cmpint (c.block_out_channels[4], ==, 768);
  g_assert_cmpint (c.vq_embed_dim, ==, 64); /* null → latent_channels */
  g_assert_false (c.mid_block_add_attention);
  g_assert_true (c.lookup_from_codebook);
  g_autoptr (GPtrArray) specs = ts_vq_weight_specs (&c);
  assert_unique (specs);
  g_assert_cmpint (ts_weight_specs_numel (specs), ==, 146244675);
  assert_shape (specs, "quantize.embedding.weight", 2, 8192, 64, 0, 0);
  assert_shape (specs, "encoder.down_blocks.1.resnets.0.conv_shortcut.weight", 4, 256, 128, 1, 1);
  assert_shape (specs, "decoder.up_blocks.1.resnets.0.conv_shortcut.weight", 4, 512, 768, 1, 1);
  assert_shape (specs, "decoder.up_blocks.4.resnets.2.conv2.weight", 4, 128, 128, 3, 3);
  assert_shape (specs, "decoder.up_blocks.0.upsamplers.0.conv.bias", 1, 768, 0, 0, 0);
  assert_shape (specs, "encoder.down_blocks.3.downsamplers.0.conv.weight", 4, 512, 512, 3, 3);
  g_assert_null (find_spec (specs, "encoder.down_blocks.0.resnets.0.conv_shortcut.weight"));
  g_assert_null (find_spec (specs, "encoder.down_blocks.2.resnets.0.conv_shortcut.weight"));
  g_assert_null (find_spec (specs, "encoder.down_blocks.4.downsamplers.0.conv.weight"));
  g_assert_null (find_spec (specs, "decoder.up_blocks.4.upsamplers.0.conv.weight"));
  g_assert_null (find_spec (specs, "decoder.mid_block.attentions.0.to_q.weight"));
}

/* CLIP ViT-L/14's text tower with projection: 123,650,304 parameters. */
static void
test_clip_published (void)
{
  g_autofree char *path = fixture ("amused-256", "text_encoder/config.json");
  g_autoptr (GError) error = NULL;
  TsClipTextConfig c;
  g_assert_true (ts_clip_text_config_load (path, NULL, &c, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.hidden_act, ==, TS_CLIP_ACT_QUICK_GELU);
  g_assert_cmpint (c.eos_token_id, ==, 2);
  g_assert_cmpfloat (c.layer_norm_eps, ==, 1e-5);
  g_autoptr (GPtrArray) specs = ts_clip_text_weight_specs (&c);
  assert_unique (specs);
  g_assert_cmpuint (specs->len, ==, 2 + 12 * 16 + 2 + 1);
  g_assert_cmpint (ts_weight_specs_numel (specs), ==, 123650304);
  assert_shape (specs, "text_model.encoder.layers.11.mlp.fc1.weight", 2, 3072, 768, 0, 0);
  assert_shape (specs, "text_projection.weight", 2, 768, 768, 0, 0);
  g_assert_null (find_spec (specs, "text_projection.bias"));
}

static void
test_scheduler_published (void)
{
  g_autofree char *path = fixture ("amused-512", "scheduler/scheduler_config.json");
  g_autoptr (GError) error = NULL;
  TsSchedulerConfig c;
  g_assert_true (ts_scheduler_config_load (path, NULL, &c, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.mask_token_id, ==, 8255);
  g_assert_cmpint (c.masking_schedule, ==, TS_MASKING_COSINE);
  const char linear[] = "{\"mask_token_id\":31,\"masking_schedule\":\"linear\"}";
  g_assert_true (ts_scheduler_config_parse (linear, strlen (linear), "s", &c, &error));
  g_assert_cmpint (c.masking_schedule, ==, TS_MASKING_LINEAR);
}

/* "{}" gives the upstream constructor defaults. */
static void
test_defaults (void)
{
  g_autoptr (GError) error = NULL;
  TsUVitConfig u, du;
  ts_uvit_config_init (&du);
  g_assert_true (ts_uvit_config_parse ("{}", 2, "u", &u, &error));
  g_assert_cmpint (u.hidden_size, ==, du.hidden_size);
  g_assert_cmpint (u.hidden_size, ==, 1024);
  g_assert_cmpint (u.block_out_channels, ==, 768);
  g_assert_cmpint (u.num_res_blocks, ==, 3);
  g_assert_false (u.use_bias);
  g_assert_false (u.downsample);
  g_assert_true (u.ln_elementwise_affine);
  g_assert_cmpfloat (u.layer_norm_eps, ==, 1e-6);
  g_assert_cmpint (u.sample_size, ==, 64);
  TsVQConfig v;
  g_assert_true (ts_vq_config_parse ("{}", 2, "v", &v, &error));
  g_assert_cmpint (v.n_blocks, ==, 1);
  g_assert_cmpint (v.block_out_channels[0], ==, 64);
  g_assert_cmpint (v.latent_channels, ==, 3);
  g_assert_cmpint (v.vq_embed_dim, ==, 3);
  g_assert_true (v.mid_block_add_attention);
  TsClipTextConfig c;
  g_assert_true (ts_clip_text_config_parse ("{}", 2, "c", &c, &error));
  g_assert_cmpint (c.hidden_size, ==, 512);
  g_assert_cmpint (c.eos_token_id, ==, 49407);
  /* a full CLIPConfig keeps the text settings nested */
  const char nested[] = "{\"text_config\":{\"hidden_size\":64,\"num_attention_heads\":4}}";
  g_assert_true (ts_clip_text_config_parse (nested, strlen (nested), "c", &c, &error));
  g_assert_cmpint (c.hidden_size, ==, 64);
  g_assert_no_error (error);
}

/* use_bias is a valid UVit2DModel the loader cannot run: the one check of what the loaders
 * support says so, and the derived weight list (the loader's) never names a bias. Without
 * elementwise affine only SkipFF's own norms keep weights. */
static void
test_uvit_options (void)
{
  g_autoptr (GError) error = NULL;
  const char json[] = "{\"use_bias\":true,\"downsample\":true,\"upsample\":true}";
  TsUVitConfig c;
  g_assert_true (ts_uvit_config_parse (json, strlen (json), "u", &c, &error));
  g_assert_false (ts_uvit_config_check_supported (&c, "transformer", &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  c.use_bias = FALSE;
  g_assert_true (ts_uvit_config_check_supported (&c, "transformer", &error));
  g_autoptr (GPtrArray) s = ts_uvit_weight_specs (&c);
  assert_unique (s);
  for (guint i = 0; i < s->len; i++)
    g_assert_false (g_str_has_suffix (((TsWeightSpec *) s->pdata[i])->name, ".bias"));
  g_assert_nonnull (find_spec (s, "down_block.downsample.conv.weight"));
  g_assert_nonnull (find_spec (s, "up_block.upsample.conv.weight"));
  c.upsample = FALSE;
  g_assert_false (ts_uvit_config_check_supported (&c, "transformer", &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  const char plain[] = "{\"ln_elementwise_affine\":false,\"block_out_channels\":1024,"
                       "\"block_num_heads\":16}";
  g_assert_true (ts_uvit_config_parse (plain, strlen (plain), "u", &c, &error));
  g_autoptr (GPtrArray) p = ts_uvit_weight_specs (&c);
  g_assert_null (find_spec (p, "embed.layer_norm.weight"));
  g_assert_null (find_spec (p, "transformer_layers.0.norm2.norm.weight"));
  g_assert_nonnull (find_spec (p, "transformer_layers.0.norm2.linear.weight"));
  g_assert_nonnull (find_spec (p, "up_block.attention_blocks.0.norm1.weight"));
  g_assert_null (find_spec (p, "up_block.attention_blocks.0.kv_mapper.weight")); /* 1024 == 1024 */
}

/* The default VQModel has an attention layer in both mid blocks: a valid config the loader
 * cannot run, said by the one check; a bad group count is invalid. */
static void
test_vq_mid_attention (void)
{
  TsVQConfig c;
  ts_vq_config_init (&c);
  g_autoptr (GError) error = NULL;
  g_assert_true (ts_vq_config_validate (&c, "v", &error));
  g_assert_false (ts_vq_config_check_supported (&c, "VQ model", &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  c.mid_block_add_attention = FALSE;
  g_assert_true (ts_vq_config_check_supported (&c, "VQ model", &error));
  g_autoptr (GPtrArray) s = ts_vq_weight_specs (&c);
  assert_unique (s);
  assert_shape (s, "encoder.mid_block.resnets.1.conv2.weight", 4, 64, 64, 3, 3);
  g_assert_null (find_spec (s, "decoder.mid_block.attentions.0.to_q.bias"));
  c.norm_num_groups = 48;
  g_assert_false (ts_vq_config_validate (&c, "v", &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_CORRUPT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/uvit-published", test_uvit_published);
  g_test_add_func ("/config/vq-published", test_vq_published);
  g_test_add_func ("/config/clip-published", test_clip_published);
  g_test_add_func ("/config/scheduler-published", test_scheduler_published);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/uvit-options", test_uvit_options);
  g_test_add_func ("/config/vq-mid-attention", test_vq_mid_attention);
  return g_test_run ();
}
