/* ts-tokenizer.h — the CLIP byte-level BPE tokenizer, as transformers' CLIPTokenizer runs it
 * in a standard diffusers install (no ftfy: text cleaned by its BasicTokenizer).
 *
 * Pipeline per prompt: split out added/special tokens from the raw text (the amused
 * tokenizers make the pad token "!" special, so every "!" becomes its own token), clean each
 * remaining piece (drop control and format characters, whitespace → space, spaces around CJK
 * ideographs, NFC, lower-case), split it with CLIP's pattern, byte-encode and BPE-merge each
 * piece with "</w>" marking word ends, then add start/end tokens, truncate and pad. */
#pragma once

#include "../ts-types.h"

G_BEGIN_DECLS

typedef struct _TsTokenizer TsTokenizer;

/* Settings that transformers takes from tokenizer_config.json / special_tokens_map.json.
 * NULL members take CLIPTokenizer's defaults. */
typedef struct {
  const char        *bos_token;            /* "<|startoftext|>" */
  const char        *eos_token;            /* "<|endoftext|>" */
  const char        *unk_token;            /* "<|endoftext|>" */
  const char        *pad_token;            /* "<|endoftext|>" */
  const char *const *extra_special_tokens; /* more tokens never split, NULL-terminated */
  int                model_max_length;     /* <= 0: 77 */
} TsTokenizerOptions;

/* From vocab.json and merges.txt, with `options` (NULL: plain CLIP settings). */
TsTokenizer *ts_tokenizer_new (const char *vocab_path, const char *merges_path,
                               const TsTokenizerOptions *options, GError **error);
/* The same from memory; `label` names the source in errors. */
TsTokenizer *ts_tokenizer_new_from_data (const char *vocab_json, gsize vocab_len,
                                         const char *merges, gsize merges_len,
                                         const TsTokenizerOptions *options, const char *label,
                                         GError **error);
/* A tokenizer/ folder as saved by transformers: vocab.json, merges.txt, and (optional)
 * tokenizer_config.json and special_tokens_map.json for the special tokens. */
TsTokenizer *ts_tokenizer_new_from_dir (const char *dir, GError **error);
void         ts_tokenizer_free (TsTokenizer *tok);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsTokenizer, ts_tokenizer_free)

int         ts_tokenizer_model_max_length (const TsTokenizer *tok);
int64_t     ts_tokenizer_bos_id (const TsTokenizer *tok);
int64_t     ts_tokenizer_eos_id (const TsTokenizer *tok);
int64_t     ts_tokenizer_pad_id (const TsTokenizer *tok);
const char *ts_tokenizer_pad_token (const TsTokenizer *tok);
/* Largest token id + 1. */
int64_t     ts_tokenizer_vocab_size (const TsTokenizer *tok);

/* The BPE token strings of `text` (no start/end tokens), NULL-terminated; g_strfreev. */
char **ts_tokenizer_tokenize (const TsTokenizer *tok, const char *text, GError **error);

/* Token ids of `text` as the aMUSEd pipeline asks for them (padding to max_length,
 * truncation): [bos, t1..tn, eos, pad...] with n <= max_length - 2. `ids` and `mask` (may be
 * NULL) receive max_length values (max_length <= 0: model_max_length); *n_untruncated (may be
 * NULL) the length with start/end tokens before truncation. Fails only on invalid UTF-8. */
gboolean ts_tokenizer_encode (const TsTokenizer *tok, const char *text, int max_length,
                              int64_t *ids, int64_t *mask, int *n_untruncated, GError **error);

/* transformers' BasicTokenizer clean-up (as CLIPTokenizer configures it): the cleaned words
 * joined by single spaces. `text` must be valid UTF-8. */
char *ts_tokenizer_clean_text (const char *text);

G_END_DECLS
