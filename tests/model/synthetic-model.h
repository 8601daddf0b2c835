/* synthetic-model.h — writing model folders with random weights, for tests and benchmarks:
 * the shapes come from the configs (through the same weight specs the loader checks). */
#pragma once

#include "model/ts-weight-specs.h"

/* Writes `path` with one tensor per spec, random values in [-scale, scale] (norm weights and
 * GRN gammas around 1), as `dtype` (F32, F16 or BF16). `seed` makes it reproducible. */
gboolean synth_write_weights (const char *path, const GPtrArray *specs, TsDType dtype,
                              guint32 seed, GError **error);

/* A small byte-level vocabulary (256 byte tokens, 256 "</w>" ones, a few merges, the two CLIP
 * specials) and tokenizer configs naming `pad_token`; a stand-in for CLIP's 49408 tokens. */
gboolean synth_write_tokenizer (const char *dir, const char *pad_token, GError **error);

/* A complete aMUSEd folder in `dir`: the configs are copied from `config_dir` (which has
 * model_index.json, transformer/, vqvae/, text_encoder/ and scheduler/ configs), the weights
 * are random, and the tokenizer files are copied from `tokenizer_dir` or, when NULL,
 * written by synth_write_tokenizer. `variant` NULL writes full-precision file names,
 * "fp16" the fp16 variant names. */
gboolean synth_write_folder (const char *dir, const char *config_dir, const char *tokenizer_dir,
                             TsDType dtype, const char *variant, guint32 seed, GError **error);

/* Recursively deletes a folder written by the functions above. */
void synth_remove_tree (const char *dir);
