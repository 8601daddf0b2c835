/* ts-tokenizer-private.h — the tokenizer's tables, shared by the loader and the encoder. */
#pragma once

#include "ts-tokenizer.h"

G_BEGIN_DECLS

/* A token transformers never splits ("added token"): special tokens and the like. */
typedef struct {
  char    *content;
  int64_t  id;
  gboolean lstrip;      /* eats whitespace on its left */
  gboolean rstrip;      /* eats whitespace on its right */
  gboolean single_word; /* only matches as a whole word */
} TsAddedToken;

struct _TsTokenizer {
  char       *label;
  GHashTable *vocab;       /* token string → id + 1 (GINT_TO_POINTER) */
  GHashTable *ranks;       /* "first second" → merge rank + 1 */
  GPtrArray  *added;       /* TsAddedToken*, longest content first */
  GHashTable *added_ids;   /* content → TsAddedToken* */
  char        byte_chars[256][4]; /* UTF-8 of the character standing for each byte */
  GRegex     *pattern;
  int64_t     bos_id, eos_id, unk_id, pad_id;
  char       *pad_token;
  int         model_max_length;
  int64_t     vocab_size;
};

/* Ids are kept below this so they fit pointer-sized hash values everywhere. */
#define TS_TOKENIZER_MAX_ID (1 << 24)

/* Loader pieces (ts-tokenizer-load.c). */
gboolean ts_tokenizer_load_vocab (TsTokenizer *tok, const char *json, gsize len, GError **error);
gboolean ts_tokenizer_load_merges (TsTokenizer *tok, const char *text, gsize len,
                                   GError **error);
/* Adds (or updates) an added token; its id must be given or found in the vocabulary. */
gboolean ts_tokenizer_add_token (TsTokenizer *tok, const char *content, int64_t id,
                                 gboolean lstrip, gboolean rstrip, gboolean single_word,
                                 GError **error);
/* Allocates an empty tokenizer with the byte table and the split pattern. */
TsTokenizer *ts_tokenizer_alloc (const char *label, GError **error);
/* Resolves bos/eos/unk/pad (adding them as special tokens) and sorts the added tokens. */
gboolean ts_tokenizer_finish (TsTokenizer *tok, const TsTokenizerOptions *options,
                              GError **error);

G_END_DECLS
