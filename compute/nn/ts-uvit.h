/* ts-uvit.h — aMUSEd's masked-token transformer (diffusers UVit2DModel).
 *
 * token embedding → [2×2 downsample] → ConvNeXt + text cross-attention blocks → transformer
 * layers with adaptive norms → ConvNeXt + cross-attention blocks → [2×2 upsample] → logits over
 * the codebook. Both published paths: amused-256 (no resampling) and amused-512 (with).
 *
 * Everything that depends only on the text and the micro-conditioning is computed once per
 * prompt into a TsUvitCond and reused by every sampling step. */
#pragma once

#include "ts-nn-util.h"

G_BEGIN_DECLS

typedef struct _TsUvit     TsUvit;
typedef struct _TsUvitCond TsUvitCond;

/* Weights by their diffusers names ("transformer_layers.0.attn1.to_q.weight", ...). Matrices
 * and conv kernels load as `matrix_dtype` (TS_DTYPE_COUNT: as stored). */
TsUvit *ts_uvit_new (TsBackend *be, const TsUVitConfig *config, TsWeights *weights,
                     TsDType matrix_dtype, GError **error);
/* A diffusers component folder: config.json + diffusion_pytorch_model[.fp16].safetensors. */
TsUvit *ts_uvit_new_from_folder (TsBackend *be, const char *dir, TsDType matrix_dtype,
                                 GError **error);
void    ts_uvit_free (TsUvit *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsUvit, ts_uvit_free)

const TsUVitConfig *ts_uvit_config (const TsUvit *m);
guint64 ts_uvit_weight_bytes (const TsUvit *m);
/* The mask token id (vocab_size − 1, as every aMUSEd scheduler config has it). */
int     ts_uvit_mask_token_id (const TsUvit *m);
/* Intermediates named like the diffusers modules: "encoder_hidden_states_projected",
 * "cond_embed", "embed", "down_block.downsample", "down_block.res_blocks.N",
 * "down_block.attention_blocks.N", "down_block", "project_to_hidden", "transformer_layers.N",
 * "project_from_hidden", "up_block.res_blocks.N", "up_block.attention_blocks.N", "up_block".
 * Image-shaped ones are channels-last tokens [B, h·w, C] (diffusers has [B, C, h, w]). */
void    ts_uvit_set_tap (TsUvit *m, TsNnTapFunc tap, gpointer user_data);

/* The per-prompt context. encoder_hidden_states: [B, L, encoder_hidden_size] (the text
 * encoder's penultimate states); pooled: [B, cond_embed_dim]; micro_conds: host [B, n] with
 * n = micro_cond_embed_dim / micro_cond_encode_dim (aMUSEd: width, height, crop top, crop
 * left, aesthetic score). */
TsUvitCond *ts_uvit_cond_new (TsUvit *m, TsTensor *encoder_hidden_states, TsTensor *pooled,
                              const float *micro_conds, GError **error);
/* The same from the already projected text states [B, L, hidden_size] and the conditioning
 * vector [B, hidden_size] (the output of cond_embed). */
TsUvitCond *ts_uvit_cond_new_projected (TsUvit *m, TsTensor *projected, TsTensor *cond,
                                        GError **error);
void        ts_uvit_cond_free (TsUvitCond *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsUvitCond, ts_uvit_cond_free)
/* Rows [first, first + n) of a context, as views (no copy): lets a caller run a batch in
 * smaller pieces when the whole does not fit in memory. NULL when the range is invalid. */
TsUvitCond *ts_uvit_cond_slice (const TsUvitCond *c, int first, int n);
/* A batch of n rows, row i a copy of c's row rows[i] (rows may repeat): the context of many
 * rows that share few prompts, computed once per prompt. NULL with *error on failure. */
TsUvitCond *ts_uvit_cond_gather (const TsUvitCond *c, const int *rows, int n, GError **error);

/* ids: host [batch, h, w] token ids in [0, vocab_size) with batch = the context's batch;
 * h and w must be even for a model that downsamples. Returns the logits f32
 * [batch, h, w, codebook_size] (channels-last: one row of logits per token). */
TsTensor *ts_uvit_forward (TsUvit *m, const TsUvitCond *cond, const int32_t *ids, int h, int w,
                           GError **error);

/* One transformer layer alone on hidden states x [B, N, hidden_size] (tests, benchmarks).
 * Does not consume x. */
TsTensor *ts_uvit_transformer_layer (TsUvit *m, const TsUvitCond *cond, int layer, TsTensor *x,
                                     GError **error);

G_END_DECLS
