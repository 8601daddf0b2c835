/* ts-clip.h — the CLIP text encoder (transformers' CLIPTextModelWithProjection) as aMUSEd
 * uses it: the penultimate layer's hidden states (before the final LayerNorm) feed the
 * U-ViT's cross-attention, and the projected state at the end-of-text token is the pooled
 * conditioning vector. Causal self-attention, no padding mask (as the pipeline calls it). */
#pragma once

#include "ts-nn-util.h"

G_BEGIN_DECLS

#define TS_CLIP_END_OF_TEXT 49407

typedef struct _TsClipText TsClipText;

/* Weights by their transformers names ("text_model.encoder.layers.0.self_attn.q_proj.weight",
 * "text_projection.weight", ...). Matrices load as `matrix_dtype` (TS_DTYPE_COUNT: as stored). */
TsClipText *ts_clip_text_new (TsBackend *be, const TsClipTextConfig *config, TsWeights *weights,
                              TsDType matrix_dtype, GError **error);
/* A transformers model folder: config.json + model[.fp16].safetensors. */
TsClipText *ts_clip_text_new_from_folder (TsBackend *be, const char *dir, TsDType matrix_dtype,
                                          GError **error);
void        ts_clip_text_free (TsClipText *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsClipText, ts_clip_text_free)

const TsClipTextConfig *ts_clip_text_config (const TsClipText *m);
guint64 ts_clip_text_weight_bytes (const TsClipText *m);
/* Intermediates: "hidden_states.N" (N = 0 embeddings … num_hidden_layers) and
 * "last_hidden_state" (computed for the tap only). */
void ts_clip_text_set_tap (TsClipText *m, TsNnTapFunc tap, gpointer user_data);

/* ids: host [batch, length] token ids (length ≤ max_position_embeddings, each < vocab_size).
 * Outputs (either may be NULL): hidden_states f32 [batch, length, hidden] = hidden_states[-2];
 * text_embeds f32 [batch, projection_dim] at the pooling position (the first end-of-text token
 * for legacy configs whose eos_token_id is 2, else the first eos_token_id). */
gboolean ts_clip_text_encode (TsClipText *m, const int32_t *ids, int batch, int length,
                              TsTensor **hidden_states, TsTensor **text_embeds, GError **error);

/* The position pooled for one row of ids (exposed for tests). */
int ts_clip_text_pool_position (const TsClipTextConfig *config, const int32_t *ids, int length);

G_END_DECLS
