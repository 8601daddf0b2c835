/* ts-model-config.h — the config.json of each aMUSEd component, parsed into C structs.
 *
 * Keys missing from a file take the defaults of the upstream constructors (diffusers
 * UVit2DModel / VQModel / AmusedScheduler, transformers CLIPTextConfig); keys we do not use
 * are ignored, as upstream does. Values are then validated (sizes positive and bounded, heads
 * dividing widths, ...), so code building a network from a config can trust it. */
#pragma once

#include "../ts-types.h"

G_BEGIN_DECLS

/* Upper bounds that keep every weight-size product far from overflow. */
#define TS_CONFIG_MAX_WIDTH  (1 << 24)
#define TS_CONFIG_MAX_LAYERS 4096

/* UVit2DModel (transformer/config.json). */
typedef struct {
  int64_t  hidden_size;
  gboolean use_bias;
  double   hidden_dropout;
  int64_t  cond_embed_dim;
  int64_t  micro_cond_encode_dim;
  int64_t  micro_cond_embed_dim;
  int64_t  encoder_hidden_size;
  int64_t  vocab_size;
  int64_t  codebook_size;
  int64_t  in_channels;
  int64_t  block_out_channels;
  int64_t  num_res_blocks;
  gboolean downsample;
  gboolean upsample;
  int64_t  block_num_heads;
  int64_t  num_hidden_layers;
  int64_t  num_attention_heads;
  double   attention_dropout;
  int64_t  intermediate_size;
  double   layer_norm_eps;
  gboolean ln_elementwise_affine;
  int64_t  sample_size;
} TsUVitConfig;

/* The number of micro-conditioning scalars the pipeline passes (width, height, crop top,
 * crop left, aesthetic score). */
#define TS_UVIT_N_MICRO_CONDS 5

#define TS_VQ_MAX_BLOCKS 8

/* VQModel (vqvae/config.json). Only what aMUSEd uses is supported: DownEncoderBlock2D /
 * UpDecoderBlock2D blocks, SiLU, group norm. */
typedef struct {
  int64_t  in_channels;
  int64_t  out_channels;
  int64_t  latent_channels;
  int      n_blocks;
  int64_t  block_out_channels[TS_VQ_MAX_BLOCKS];
  int64_t  layers_per_block;
  int64_t  norm_num_groups;
  int64_t  num_vq_embeddings;
  int64_t  vq_embed_dim;           /* null in the file → latent_channels */
  gboolean mid_block_add_attention;
  gboolean lookup_from_codebook;
  gboolean force_upcast;
  double   scaling_factor;
  int64_t  sample_size;
} TsVQConfig;

typedef enum {
  TS_CLIP_ACT_QUICK_GELU,
  TS_CLIP_ACT_GELU,
} TsClipActivation;

/* CLIPTextModelWithProjection (text_encoder/config.json). */
typedef struct {
  int64_t          vocab_size;
  int64_t          hidden_size;
  int64_t          intermediate_size;
  int64_t          projection_dim;
  int64_t          num_hidden_layers;
  int64_t          num_attention_heads;
  int64_t          max_position_embeddings;
  TsClipActivation hidden_act;
  double           layer_norm_eps;
  int64_t          bos_token_id;
  int64_t          eos_token_id;
  int64_t          pad_token_id;
} TsClipTextConfig;

typedef enum {
  TS_MASKING_COSINE,
  TS_MASKING_LINEAR,
} TsMaskingSchedule;

/* AmusedScheduler (scheduler/scheduler_config.json). */
typedef struct {
  int64_t           mask_token_id;
  TsMaskingSchedule masking_schedule;
} TsSchedulerConfig;

/* Upstream constructor defaults. */
void ts_uvit_config_init (TsUVitConfig *c);
void ts_vq_config_init (TsVQConfig *c);
void ts_clip_text_config_init (TsClipTextConfig *c);

/* Parse `json` (`len` bytes; `file` names it in errors) and validate. */
gboolean ts_uvit_config_parse (const char *json, gsize len, const char *file, TsUVitConfig *c,
                               GError **error);
gboolean ts_vq_config_parse (const char *json, gsize len, const char *file, TsVQConfig *c,
                             GError **error);
gboolean ts_clip_text_config_parse (const char *json, gsize len, const char *file,
                                    TsClipTextConfig *c, GError **error);
gboolean ts_scheduler_config_parse (const char *json, gsize len, const char *file,
                                    TsSchedulerConfig *c, GError **error);

/* The same from a file; `display_name` (or the path) names it in errors. */
gboolean ts_uvit_config_load (const char *path, const char *display_name, TsUVitConfig *c,
                              GError **error);
gboolean ts_vq_config_load (const char *path, const char *display_name, TsVQConfig *c,
                            GError **error);
gboolean ts_clip_text_config_load (const char *path, const char *display_name,
                                   TsClipTextConfig *c, GError **error);
gboolean ts_scheduler_config_load (const char *path, const char *display_name,
                                   TsSchedulerConfig *c, GError **error);

/* Validation alone (configs built in code); `file` names the source in errors. */
gboolean ts_vq_config_validate (const TsVQConfig *c, const char *file, GError **error);

/* The one check of what a valid config asks that the loaders cannot run (upstream can):
 * TS_ERROR_UNSUPPORTED naming `what`. The loaders and ts_*_open call it; parsing does not
 * (a config can be valid and still not runnable here). */
gboolean ts_uvit_config_check_supported (const TsUVitConfig *c, const char *what,
                                         GError **error);
gboolean ts_vq_config_check_supported (const TsVQConfig *c, const char *what, GError **error);

/* Config files are small; anything bigger is refused before parsing. */
#define TS_CONFIG_MAX_FILE_BYTES (1024 * 1024)

G_END_DECLS
