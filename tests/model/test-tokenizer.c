/* test-tokenizer.c — the CLIP tokenizer's pieces on a small synthetic vocabulary, and a few
 * prompts on the real one (the goldens harness checks all 64 reference prompts). */
#include "model/ts-tokenizer.h"
#include "golden-paths.h"
#include "synthetic-model.h"

#include <string.h>

typedef struct {
  char        *dir;
  TsTokenizer *plain; /* pad "<|endoftext|>", no extra special tokens */
  TsTokenizer *bang;  /* pad "!", which is then special, as in the amused tokenizers */
} Fixture;

static TsTokenizer *
open_synthetic (const char *dir, const char *pad)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (synth_write_tokenizer (dir, pad, &error));
  TsTokenizer *tok = ts_tokenizer_new_from_dir (dir, &error);
  g_assert_no_error (error);
  return tok;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("ts-tokenizer-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (f->dir, "plain", NULL);
  g_autofree char *b = g_build_filename (f->dir, "bang", NULL);
  f->plain = open_synthetic (a, "<|endoftext|>");
  f->bang = open_synthetic (b, "!");
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  ts_tokenizer_free (f->plain);
  ts_tokenizer_free (f->bang);
  synth_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
joined_tokens (const TsTokenizer *tok, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) t = ts_tokenizer_tokenize (tok, text, &error);
  g_assert_no_error (error);
  return g_strjoinv (" ", t);
}

static void
assert_tokens (const TsTokenizer *tok, const char *text, const char *expected)
{
  g_autofree char *got = joined_tokens (tok, text);
  if (!g_str_equal (got, expected))
    g_error ("\"%s\" → \"%s\", expected \"%s\"", text, got, expected);
}

/* ---- clean-up ------------------------------------------------------------------------- */

static void
test_clean_text (void)
{
  const struct { const char *in, *out; } cases[] = {
    { "", "" },
    { "   ", "" },
    { "  A\tB\xc2\xa0" "C\xe2\x80\x8b" "D\x07" "E \r\n", "a b cde" },  /* NBSP, ZWSP, BEL */
    { "soft\xc2\xad" "hyphen", "softhyphen" },
    { "a\xe2\x80\xa8" "b", "a b" },                                    /* U+2028 splits */
    { "\xe4\xb8\x80\xe5\x8f\xaa\xe7\x8c\xab" "abc", "\xe4\xb8\x80 \xe5\x8f\xaa \xe7\x8c\xab abc" },
    { "\xe6\x9d\xb1\xe4\xba\xac\xe3\x82\xbf\xe3\x83\xaf", /* 東京タワ: kana stay together */
      "\xe6\x9d\xb1 \xe4\xba\xac \xe3\x82\xbf\xe3\x83\xaf" },
    { "e\xcc\x81", "\xc3\xa9" },                                       /* NFD → NFC é */
    { "\xc3\x89" "COLE", "\xc3\xa9" "cole" },
    { "\xc4\xb0", "i\xcc\x87" },                                       /* İ → i + U+0307 */
    { "\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82" }, /* ΟΔΟΣ → οδος */
    { "\xce\xa3", "\xcf\x83" },                                        /* lone Σ → σ */
    { "\xce\xa3\xce\x91", "\xcf\x83\xce\xb1" },                        /* ΣΑ → σα */
    { "x\xef\xbf\xbdy\x01z", "xyz" },                                  /* U+FFFD, control */
    { "\xef\xbc\xa1\xef\xbc\xa2", "\xef\xbd\x81\xef\xbd\x82" },        /* full-width ＡＢ → ａｂ */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *got = ts_tokenizer_clean_text (cases[i].in);
    if (!g_str_equal (got, cases[i].out))
      g_error ("case %u: \"%s\" → \"%s\", expected \"%s\"", i, cases[i].in, got, cases[i].out);
  }
}

/* ---- BPE and special tokens ----------------------------------------------------------- */

static void
test_bpe (Fixture *f, gconstpointer data)
{
  assert_tokens (f->plain, "hello", "hello</w>");
  assert_tokens (f->plain, "Hello HELLO", "hello</w> hello</w>");
  assert_tokens (f->plain, "hell", "he l l</w>");  /* "l l</w>" is no merge */
  assert_tokens (f->plain, "cat cats", "cat</w> ca t s</w>");
  assert_tokens (f->plain, "x", "x</w>");
  /* non-ASCII bytes map to their stand-in characters: é = C3 A9 → "Ã" "©</w>" */
  assert_tokens (f->plain, "\xc3\xa9", "\xc3\x83 \xc2\xa9</w>");
  /* CLIP's split: contractions, single digits, punctuation runs */
  assert_tokens (f->plain, "don't 42 ?!.", "d o n</w> ' t</w> 4</w> 2</w> ? ! .</w>");
  assert_tokens (f->plain, "", "");
}

static void
test_special_tokens (Fixture *f, gconstpointer data)
{
  /* in the text, the two CLIP specials are tokens of their own */
  assert_tokens (f->plain, "<|startoftext|>cat<|endoftext|> x",
                 "<|startoftext|> cat</w> <|endoftext|> x</w>");
  /* upper-case ones are not split out, but lower-casing makes the pattern catch them */
  assert_tokens (f->plain, "a<|ENDOFTEXT|>", "a</w> <|endoftext|>");
  /* "!" as the pad token is special: split out before BPE, so no "!</w>" */
  assert_tokens (f->plain, "hello!", "hello</w> !</w>");
  assert_tokens (f->bang, "hello!", "hello</w> !");
  assert_tokens (f->bang, "?!?", "?</w> ! ?</w>");
  assert_tokens (f->bang, "!!", "! !");
  g_assert_cmpint (ts_tokenizer_pad_id (f->bang), ==, '!');  /* the byte's id here */
  g_assert_cmpstr (ts_tokenizer_pad_token (f->bang), ==, "!");
  g_assert_cmpint (ts_tokenizer_pad_id (f->plain), ==, ts_tokenizer_eos_id (f->plain));
}

static void
test_encode (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  int64_t ids[77], mask[77];
  int n = -1;
  const TsTokenizer *t = f->bang;
  int64_t bos = ts_tokenizer_bos_id (t), eos = ts_tokenizer_eos_id (t), pad = ts_tokenizer_pad_id (t);
  g_assert_cmpint (ts_tokenizer_model_max_length (t), ==, 77);

  g_assert_true (ts_tokenizer_encode (t, "", 0, ids, mask, &n, &error));
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpint (ids[0], ==, bos);
  g_assert_cmpint (ids[1], ==, eos);
  for (int i = 2; i < 77; i++) {
    g_assert_cmpint (ids[i], ==, pad);
    g_assert_cmpint (mask[i], ==, 0);
  }
  g_assert_cmpint (mask[0] + mask[1], ==, 2);

  /* 100 words: 75 kept, then the end token; nothing is padded */
  GString *s = g_string_new (NULL);
  for (int i = 0; i < 100; i++)
    g_string_append (s, "cat ");
  g_assert_true (ts_tokenizer_encode (t, s->str, 0, ids, mask, &n, &error));
  g_string_free (s, TRUE);
  g_assert_cmpint (n, ==, 102);
  g_assert_cmpint (ids[0], ==, bos);
  g_assert_cmpint (ids[75], ==, ids[1]);
  g_assert_cmpint (ids[76], ==, eos);
  for (int i = 0; i < 77; i++)
    g_assert_cmpint (mask[i], ==, 1);

  /* shorter max_length; unknown tokens map to unk (= <|endoftext|>) */
  int64_t few[4];
  g_assert_true (ts_tokenizer_encode (t, "hello cat", 4, few, NULL, NULL, &error));
  g_assert_cmpint (few[3], ==, eos);
  g_assert_true (ts_tokenizer_encode (t, "\xe2\x82\xac", 4, few, NULL, &n, &error)); /* € */
  g_assert_cmpint (n, ==, 5);
  g_assert_no_error (error);

  g_assert_false (ts_tokenizer_encode (t, "bad \xff utf-8", 0, ids, mask, &n, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (ts_tokenizer_encode (t, "x", 1, ids, mask, &n, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
}

/* Token flags from tokenizer_config.json's added_tokens_decoder. */
static void
test_added_token_flags (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ts-tokenizer-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (synth_write_tokenizer (dir, "<|endoftext|>", &error));
  g_autofree char *config = g_build_filename (dir, "tokenizer_config.json", NULL);
  const char json[] =
    "{\"added_tokens_decoder\":{"
    "\"520\":{\"content\":\"ca\",\"single_word\":true,\"special\":true},"
    "\"521\":{\"content\":\"he\",\"lstrip\":true,\"rstrip\":true}},"
    "\"pad_token\":{\"content\":\"<|endoftext|>\"},\"model_max_length\":16}";
  g_assert_true (g_file_set_contents (config, json, -1, &error));
  g_autoptr (TsTokenizer) tok = ts_tokenizer_new_from_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ts_tokenizer_model_max_length (tok), ==, 16);
  /* single_word: "ca" glued to letters stays text; alone it is the token */
  assert_tokens (tok, "ca", "ca");
  assert_tokens (tok, "x ca y", "x</w> ca y</w>");
  assert_tokens (tok, "cat", "cat</w>");
  /* "he" is never split, wherever it is */
  assert_tokens (tok, "a he b", "a</w> he b</w>");
  assert_tokens (tok, "hello", "he ll o</w>");
  synth_remove_tree (dir);
}

static void
test_bad_files (void)
{
  g_autoptr (GError) error = NULL;
  const char vocab[] = "{\"a\":0,\"b\":\"one\"}";
  g_assert_null (ts_tokenizer_new_from_data (vocab, strlen (vocab), "", 0, NULL, "tok", &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "\"b\""));
  g_clear_error (&error);

  /* the special tokens must exist */
  const char small[] = "{\"a\":0,\"<|startoftext|>\":1}";
  g_assert_null (ts_tokenizer_new_from_data (small, strlen (small), "#v\na b\n", 7, NULL, "tok",
                                             &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "<|endoftext|>"));
  g_clear_error (&error);

  const char ok[] = "{\"a\":0,\"<|startoftext|>\":1,\"<|endoftext|>\":2}";
  g_assert_null (ts_tokenizer_new_from_data (ok, strlen (ok), "#v\n\xff\n", 5, NULL, "tok", &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "merges.txt"));
  g_clear_error (&error);

  TsTokenizerOptions o = { .pad_token = "zz" };
  g_assert_null (ts_tokenizer_new_from_data (ok, strlen (ok), "", 0, &o, "tok", &error));
  g_assert_nonnull (strstr (error->message, "\"zz\" is not in the vocabulary"));
  g_clear_error (&error);

  g_assert_null (ts_tokenizer_new_from_dir ("/nonexistent", &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_IO);
}

/* ---- the real CLIP vocabulary --------------------------------------------------------- */

static void
test_real_vocab (void)
{
  g_autoptr (GError) why = NULL;
  g_autofree char *dir = golden_paths_tiny_model (&why, "tokenizer", NULL);
  if (!dir) {
    g_test_skip (why->message);
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (TsTokenizer) tok = ts_tokenizer_new_from_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ts_tokenizer_vocab_size (tok), ==, 49408);
  g_assert_cmpint (ts_tokenizer_bos_id (tok), ==, 49406);
  g_assert_cmpint (ts_tokenizer_eos_id (tok), ==, 49407);
  g_assert_cmpint (ts_tokenizer_pad_id (tok), ==, 0);
  assert_tokens (tok, "A photo of a cat", "a</w> photo</w> of</w> a</w> cat</w>");
  assert_tokens (tok, "hello, world!", "hello</w> ,</w> world</w> !");

  g_autofree char *vocab = g_build_filename (dir, "vocab.json", NULL);
  g_autofree char *merges = g_build_filename (dir, "merges.txt", NULL);
  g_autoptr (TsTokenizer) plain = ts_tokenizer_new (vocab, merges, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ts_tokenizer_pad_id (plain), ==, 49407);
  assert_tokens (plain, "hello, world!", "hello</w> ,</w> world</w> !</w>");
  int64_t ids[77];
  g_assert_true (ts_tokenizer_encode (plain, "?!", 0, ids, NULL, NULL, &error));
  g_assert_cmpint (ids[1], ==, 2835); /* "?!</w>" (goldens README) */
  g_assert_true (ts_tokenizer_encode (tok, "?!", 0, ids, NULL, NULL, &error));
  g_assert_cmpint (ids[2], ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tokenizer/clean-text", test_clean_text);
  g_test_add ("/tokenizer/bpe", Fixture, NULL, fixture_set_up, test_bpe, fixture_tear_down);
  g_test_add ("/tokenizer/special-tokens", Fixture, NULL, fixture_set_up, test_special_tokens,
              fixture_tear_down);
  g_test_add ("/tokenizer/encode", Fixture, NULL, fixture_set_up, test_encode,
              fixture_tear_down);
  g_test_add_func ("/tokenizer/added-token-flags", test_added_token_flags);
  g_test_add_func ("/tokenizer/bad-files", test_bad_files);
  g_test_add_func ("/tokenizer/real-vocab", test_real_vocab);
  return g_test_run ();
}
