/* fuzz-tokenizer.c — fuzz target for the tokenizer: any bytes as a prompt. Valid UTF-8 must
 * encode to a well-formed id row; anything else must be refused. Uses the tiny model's CLIP
 * vocabulary that the goldens' manifest names (more merges to exercise), else a small
 * byte-level one built here, and says on stderr which and why. */
#include "model/ts-tokenizer.h"
#include "golden-paths.h"

#include <stdio.h>
#include <string.h>

static TsTokenizer *
small_tokenizer (void)
{
  GString *vocab = g_string_new ("{");
  gunichar next = 0x100;
  for (int suffix = 0; suffix < 2; suffix++) {
    next = 0x100;
    for (int b = 0; b < 256; b++) {
      gboolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      gunichar c = printable ? (gunichar) b : next++;
      char utf8[8] = { 0 };
      g_unichar_to_utf8 (c, utf8);
      /* every stand-in is printable: only the quote and the backslash need escaping */
      g_string_append_printf (vocab, "\"%s%s%s\":%d,", c == '"' || c == '\\' ? "\\" : "",
                              utf8, suffix ? "</w>" : "", suffix * 256 + b);
    }
  }
  g_string_append (vocab, "\"<|startoftext|>\":512,\"<|endoftext|>\":513}");
  const char merges[] = "#version: 0.2\nh e\nl l\nhe ll\nhell o</w>\n";
  TsTokenizerOptions o = { .pad_token = "!" };
  TsTokenizer *tok = ts_tokenizer_new_from_data (vocab->str, vocab->len, merges,
                                                 strlen (merges), &o, "fuzz", NULL);
  g_string_free (vocab, TRUE);
  return tok;
}

static TsTokenizer *
get_tokenizer (void)
{
  static TsTokenizer *tok;
  if (!tok) {
    g_autoptr (GError) error = NULL;
    g_autofree char *dir = golden_paths_tiny_model (&error, "tokenizer", NULL);
    if (dir)
      tok = ts_tokenizer_new_from_dir (dir, &error);
    if (tok) {
      fprintf (stderr, "fuzz-tokenizer: the goldens' tokenizer %s\n", dir);
    } else {
      fprintf (stderr, "fuzz-tokenizer: a small byte-level tokenizer (no goldens tokenizer: %s)\n",
               error ? error->message : "unknown");
      tok = small_tokenizer ();
    }
    g_assert (tok);
  }
  return tok;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  TsTokenizer *tok = get_tokenizer ();
  g_autofree char *text = g_strndup ((const char *) data, size);
  int64_t ids[77], mask[77];
  int n = -1;
  GError *error = NULL;
  gboolean valid = g_utf8_validate (text, -1, NULL);
  gboolean ok = ts_tokenizer_encode (tok, text, 77, ids, mask, &n, &error);
  g_assert (ok == valid);
  if (!ok) {
    g_error_free (error);
    return 0;
  }
  g_assert (n >= 2 && ids[0] == ts_tokenizer_bos_id (tok));
  int kept = MIN (n, 77);
  g_assert (ids[kept - 1] == ts_tokenizer_eos_id (tok));
  for (int i = 0; i < 77; i++) {
    g_assert (ids[i] >= 0 && ids[i] < ts_tokenizer_vocab_size (tok));
    g_assert (mask[i] == (i < kept));
  }
  return 0;
}
