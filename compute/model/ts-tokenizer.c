/* ts-tokenizer.c — turning a prompt into CLIP token ids (see ts-tokenizer.h for the steps). */
#include "ts-tokenizer-private.h"

#include <string.h>

/* CLIP's split pattern (case-insensitive): the two special tokens, English contractions,
 * runs of letters, single digits, and runs of anything else but whitespace. */
#define CLIP_PATTERN \
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|" \
  "[^\\s\\p{L}\\p{N}]+"

/* GPT-2's byte → character table: printable Latin-1 bytes stand for themselves, the other 68
 * bytes take the code points from U+0100 on, in byte order. */
static void
init_byte_chars (TsTokenizer *tok)
{
  gunichar next = 0x100;
  for (int b = 0; b < 256; b++) {
    gboolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                         (b >= 0xAE && b <= 0xFF);
    gunichar c = printable ? (gunichar) b : next++;
    int n = g_unichar_to_utf8 (c, tok->byte_chars[b]);
    tok->byte_chars[b][n] = '\0';
  }
}

static void
added_token_free (TsAddedToken *t)
{
  g_free (t->content);
  g_free (t);
}

TsTokenizer *
ts_tokenizer_alloc (const char *label, GError **error)
{
  GError *re_error = NULL;
  GRegex *pattern = g_regex_new (CLIP_PATTERN, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0,
                                 &re_error);
  if (!pattern) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "tokenizer pattern: %s",
                 re_error->message);
    g_error_free (re_error);
    return NULL;
  }
  TsTokenizer *tok = g_new0 (TsTokenizer, 1);
  tok->label = g_strdup (label);
  tok->pattern = pattern;
  tok->vocab = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  tok->ranks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  tok->added = g_ptr_array_new_with_free_func ((GDestroyNotify) added_token_free);
  tok->added_ids = g_hash_table_new (g_str_hash, g_str_equal);
  init_byte_chars (tok);
  return tok;
}

void
ts_tokenizer_free (TsTokenizer *tok)
{
  if (!tok)
    return;
  g_hash_table_unref (tok->vocab);
  g_hash_table_unref (tok->ranks);
  g_hash_table_unref (tok->added_ids);
  g_ptr_array_unref (tok->added);
  g_regex_unref (tok->pattern);
  g_free (tok->pad_token);
  g_free (tok->label);
  g_free (tok);
}

int
ts_tokenizer_model_max_length (const TsTokenizer *tok)
{
  return tok->model_max_length;
}

int64_t
ts_tokenizer_bos_id (const TsTokenizer *tok)
{
  return tok->bos_id;
}

int64_t
ts_tokenizer_eos_id (const TsTokenizer *tok)
{
  return tok->eos_id;
}

int64_t
ts_tokenizer_pad_id (const TsTokenizer *tok)
{
  return tok->pad_id;
}

const char *
ts_tokenizer_pad_token (const TsTokenizer *tok)
{
  return tok->pad_token;
}

int64_t
ts_tokenizer_vocab_size (const TsTokenizer *tok)
{
  return tok->vocab_size;
}

/* ---- byte-level BPE ------------------------------------------------------------------- */

static int
merge_rank (const TsTokenizer *tok, GString *key, const char *a, const char *b)
{
  g_string_assign (key, a);
  g_string_append_c (key, ' ');
  g_string_append (key, b);
  return GPOINTER_TO_INT (g_hash_table_lookup (tok->ranks, key->str)) - 1; /* -1: none */
}

/* One step: merge every occurrence of the best-ranked adjacent pair, left to right.
 * FALSE when no adjacent pair is a merge. */
static gboolean
merge_best_pair (const TsTokenizer *tok, GPtrArray *sym, GString *key)
{
  int best = -1;
  guint best_at = 0;
  for (guint i = 0; i + 1 < sym->len; i++) {
    int r = merge_rank (tok, key, sym->pdata[i], sym->pdata[i + 1]);
    if (r >= 0 && (best < 0 || r < best)) {
      best = r;
      best_at = i;
    }
  }
  if (best < 0)
    return FALSE;
  g_autofree char *first = g_strdup (sym->pdata[best_at]);
  g_autofree char *second = g_strdup (sym->pdata[best_at + 1]);
  guint out = 0;
  for (guint i = 0; i < sym->len; out++) {
    if (i + 1 < sym->len && g_str_equal (sym->pdata[i], first) &&
        g_str_equal (sym->pdata[i + 1], second)) {
      char *joined = g_strconcat (first, second, NULL);
      g_free (sym->pdata[i]);
      g_free (sym->pdata[i + 1]);
      sym->pdata[out] = joined;
      i += 2;
    } else {
      sym->pdata[out] = sym->pdata[i];
      i++;
    }
  }
  g_ptr_array_set_size (sym, out); /* the moved-from tail holds no owned pointers */
  return TRUE;
}

/* BPE of one piece of the split text: its UTF-8 bytes as stand-in characters, the last one
 * marked "</w>", merged until no known pair is left. Appends the symbols to `out`. */
static void
bpe_piece (const TsTokenizer *tok, const char *piece, GPtrArray *out)
{
  GString *encoded = g_string_new (NULL);
  for (const guchar *p = (const guchar *) piece; *p; p++)
    g_string_append (encoded, tok->byte_chars[*p]);

  GPtrArray *sym = g_ptr_array_new ();
  for (const char *p = encoded->str; *p; p = g_utf8_next_char (p))
    g_ptr_array_add (sym, g_strndup (p, g_utf8_next_char (p) - p));
  g_string_free (encoded, TRUE);
  if (sym->len == 0) {
    g_ptr_array_unref (sym);
    return;
  }
  char *last = sym->pdata[sym->len - 1];
  sym->pdata[sym->len - 1] = g_strconcat (last, "</w>", NULL);
  g_free (last);

  GString *key = g_string_new (NULL);
  while (sym->len > 1 && merge_best_pair (tok, sym, key))
    ;
  g_string_free (key, TRUE);
  for (guint i = 0; i < sym->len; i++)
    g_ptr_array_add (out, sym->pdata[i]);
  g_ptr_array_free (sym, TRUE); /* no free func: the strings now belong to `out` */
}

/* A piece of text holding no added token: clean, split, BPE. */
static void
tokenize_text (const TsTokenizer *tok, const char *text, gsize len, GPtrArray *out)
{
  g_autofree char *chunk = g_strndup (text, len);
  g_autofree char *clean = ts_tokenizer_clean_text (chunk);
  GMatchInfo *match = NULL;
  g_regex_match (tok->pattern, clean, 0, &match);
  while (g_match_info_matches (match)) {
    char *piece = g_match_info_fetch (match, 0);
    /* CLIP's BPE cache passes these two through whole */
    if (g_str_equal (piece, "<|startoftext|>") || g_str_equal (piece, "<|endoftext|>")) {
      g_ptr_array_add (out, piece);
    } else {
      bpe_piece (tok, piece, out);
      g_free (piece);
    }
    g_match_info_next (match, NULL);
  }
  g_match_info_free (match);
}

/* ---- added tokens --------------------------------------------------------------------- */

/* A piece of the prompt: an added token, or text (token == NULL). Mirrors the list of
 * strings transformers' PreTrainedTokenizer.tokenize works on. */
typedef struct {
  char               *text;
  const TsAddedToken *token;
} Piece;

static void
piece_free (Piece *p)
{
  g_free (p->text);
  g_free (p);
}

static void
add_piece (GPtrArray *pieces, const char *text, gsize len, const TsAddedToken *token)
{
  Piece *p = g_new (Piece, 1);
  p->text = g_strndup (text, len);
  p->token = token;
  g_ptr_array_add (pieces, p);
}

/* The longest added token at `p`, or NULL. */
static const TsAddedToken *
added_token_at (const TsTokenizer *tok, const char *p)
{
  for (guint i = 0; i < tok->added->len; i++) {
    const TsAddedToken *t = tok->added->pdata[i];
    if (g_str_has_prefix (p, t->content))
      return t;
  }
  return NULL;
}

/* Splits `text` at added tokens, leftmost-longest first (transformers' Trie.split); no empty
 * pieces. */
static GPtrArray *
split_added (const TsTokenizer *tok, const char *text)
{
  GPtrArray *pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) piece_free);
  const char *plain = text, *p = text;
  while (*p) {
    const TsAddedToken *t = added_token_at (tok, p);
    if (!t) {
      p = g_utf8_next_char (p);
      continue;
    }
    if (p > plain)
      add_piece (pieces, plain, p - plain, NULL);
    add_piece (pieces, t->content, strlen (t->content), t);
    p += strlen (t->content);
    plain = p;
  }
  if (p > plain)
    add_piece (pieces, plain, p - plain, NULL);
  return pieces;
}

/* Python's str.lstrip() / str.rstrip() in place. */
static void
strip_left (char *s)
{
  char *p = s;
  while (*p && g_unichar_isspace (g_utf8_get_char (p)))
    p = g_utf8_next_char (p);
  memmove (s, p, strlen (p) + 1);
}

static void
strip_right (char *s)
{
  char *end = s + strlen (s);
  while (end > s) {
    char *prev = g_utf8_prev_char (end);
    if (!g_unichar_isspace (g_utf8_get_char (prev)))
      break;
    end = prev;
  }
  *end = '\0';
}

/* The lstrip / rstrip / single_word rules, in transformers' order. */
static void
apply_token_rules (GPtrArray *pieces)
{
  for (guint i = 0; i < pieces->len; i++) {
    Piece *p = pieces->pdata[i];
    if (!p->token)
      continue;
    Piece *left = i > 0 ? pieces->pdata[i - 1] : NULL;
    Piece *right = i + 1 < pieces->len ? pieces->pdata[i + 1] : NULL;
    if (p->token->rstrip && right && *right->text)
      strip_left (right->text);
    if (p->token->lstrip && left && *left->text)
      strip_right (left->text);
    if (!p->token->single_word)
      continue;
    if (left && *left->text && left->text[strlen (left->text) - 1] != ' ') {
      char *joined = g_strconcat (left->text, p->text, NULL);
      g_free (left->text);
      left->text = joined;
      left->token = NULL;
      p->text[0] = '\0';
      p->token = NULL;
    } else if (right && *right->text && right->text[0] != ' ') {
      char *joined = g_strconcat (p->text, right->text, NULL);
      g_free (p->text);
      p->text = joined;
      p->token = NULL;
      right->text[0] = '\0';
      right->token = NULL;
    }
  }
}

/* Token strings of `text` (valid UTF-8), owned by the returned array. */
static GPtrArray *
tokenize (const TsTokenizer *tok, const char *text)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) pieces = split_added (tok, text);
  apply_token_rules (pieces);
  for (guint i = 0; i < pieces->len; i++) {
    Piece *p = pieces->pdata[i];
    if (!*p->text)
      continue;
    if (p->token)
      g_ptr_array_add (out, g_strdup (p->token->content));
    else
      tokenize_text (tok, p->text, strlen (p->text), out);
  }
  return out;
}

static gboolean
check_text (const TsTokenizer *tok, const char *text, GError **error)
{
  if (text && g_utf8_validate (text, -1, NULL))
    return TRUE;
  g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "prompt is not valid UTF-8");
  return FALSE;
}

char **
ts_tokenizer_tokenize (const TsTokenizer *tok, const char *text, GError **error)
{
  if (!check_text (tok, text, error))
    return NULL;
  GPtrArray *tokens = tokenize (tok, text);
  g_ptr_array_set_free_func (tokens, NULL);
  g_ptr_array_add (tokens, NULL);
  return (char **) g_ptr_array_free (tokens, FALSE);
}

static int64_t
token_id (const TsTokenizer *tok, const char *token)
{
  const TsAddedToken *t = g_hash_table_lookup (tok->added_ids, token);
  if (t)
    return t->id;
  gpointer v = g_hash_table_lookup (tok->vocab, token);
  return v ? GPOINTER_TO_INT (v) - 1 : tok->unk_id;
}

gboolean
ts_tokenizer_encode (const TsTokenizer *tok, const char *text, int max_length, int64_t *ids,
                     int64_t *mask, int *n_untruncated, GError **error)
{
  if (max_length <= 0)
    max_length = tok->model_max_length;
  if (max_length < 2) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "max_length %d leaves no room for "
                 "the start and end tokens", max_length);
    return FALSE;
  }
  if (!check_text (tok, text, error))
    return FALSE;
  g_autoptr (GPtrArray) tokens = tokenize (tok, text);
  guint kept = MIN (tokens->len, (guint) max_length - 2);
  int n = 0;
  ids[n++] = tok->bos_id;
  for (guint i = 0; i < kept; i++)
    ids[n++] = token_id (tok, tokens->pdata[i]);
  ids[n++] = tok->eos_id;
  for (int i = 0; i < max_length; i++) {
    if (i >= n)
      ids[i] = tok->pad_id;
    if (mask)
      mask[i] = i < n;
  }
  if (n_untruncated)
    *n_untruncated = (int) MIN (tokens->len + 2, (guint) G_MAXINT);
  return TRUE;
}
