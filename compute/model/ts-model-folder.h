/* ts-model-folder.h — an aMUSEd model in the diffusers folder layout:
 *
 *   model_index.json
 *   transformer/   config.json + diffusion_pytorch_model[.fp16].safetensors   (UVit2DModel)
 *   vqvae/         config.json + diffusion_pytorch_model[.fp16].safetensors   (VQModel)
 *   text_encoder/  config.json + model[.fp16].safetensors          (CLIPTextModelWithProjection)
 *   tokenizer/     vocab.json merges.txt tokenizer_config.json special_tokens_map.json
 *   scheduler/     scheduler_config.json                                      (AmusedScheduler)
 *
 * Opening checks every config, that every weight the configs call for is there with the right
 * shape (and nothing else), and that the components fit together. Weight data stays in the
 * mapped files until a tensor is loaded. */
#pragma once

#include "ts-model-config.h"
#include "ts-tokenizer.h"
#include "ts-weights.h"

G_BEGIN_DECLS

typedef struct _TsModelFolder TsModelFolder;

typedef struct {
  /* NULL: full-precision weights where present, else the fp16 variant; "fp16": only the
   * fp16 files. */
  const char *variant;
} TsModelFolderOptions;

TsModelFolder *ts_model_folder_open (const char *path, const TsModelFolderOptions *options,
                                     GError **error);
void           ts_model_folder_free (TsModelFolder *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsModelFolder, ts_model_folder_free)

const char              *ts_model_folder_path (const TsModelFolder *f);
const TsUVitConfig      *ts_model_folder_transformer_config (const TsModelFolder *f);
const TsVQConfig        *ts_model_folder_vq_config (const TsModelFolder *f);
const TsClipTextConfig  *ts_model_folder_text_encoder_config (const TsModelFolder *f);
const TsSchedulerConfig *ts_model_folder_scheduler_config (const TsModelFolder *f);
TsTokenizer             *ts_model_folder_tokenizer (const TsModelFolder *f);
TsWeights               *ts_model_folder_transformer_weights (const TsModelFolder *f);
TsWeights               *ts_model_folder_vq_weights (const TsModelFolder *f);
TsWeights               *ts_model_folder_text_encoder_weights (const TsModelFolder *f);

/* One component folder (config.json + weights), checked like the whole folder does; e.g. a
 * transformer saved on its own. Returns the weights and fills *config. */
TsWeights *ts_uvit_open (const char *dir, const char *variant, TsUVitConfig *config,
                         GError **error);
TsWeights *ts_vq_open (const char *dir, const char *variant, TsVQConfig *config,
                       GError **error);
TsWeights *ts_clip_text_open (const char *dir, const char *variant, TsClipTextConfig *config,
                              GError **error);

G_END_DECLS
