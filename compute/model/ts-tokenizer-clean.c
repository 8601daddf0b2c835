/* ts-tokenizer-clean.c — text clean-up before CLIP's split pattern, matching transformers'
 * BasicTokenizer(do_lower_case=True, strip_accents=False, do_split_on_punc=False): the path
 * CLIPTokenizer takes when ftfy is not installed.
 *
 *   1. drop U+0000, U+FFFD and every character of category C* except \t \n \r;
 *      \t \n \r and category Zs become a space
 *   2. put spaces around CJK ideographs
 *   3. NFC
 *   4. split at whitespace, lower-case each word (Python's str.lower), join with spaces
 *
 * Character properties come from GLib's Unicode tables. */
#include "ts-tokenizer.h"

#include <string.h>

static gboolean
is_control (gunichar c)
{
  if (c == '\t' || c == '\n' || c == '\r')
    return FALSE;
  switch (g_unichar_type (c)) {
  case G_UNICODE_CONTROL:
  case G_UNICODE_FORMAT:
  case G_UNICODE_UNASSIGNED:
  case G_UNICODE_PRIVATE_USE:
  case G_UNICODE_SURROGATE:
    return TRUE;
  default:
    return FALSE;
  }
}

static gboolean
is_whitespace (gunichar c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
         g_unichar_type (c) == G_UNICODE_SPACE_SEPARATOR;
}

/* BasicTokenizer's notion of a "Chinese character": the CJK Unified Ideographs blocks and
 * their compatibility block, as its _is_chinese_char lists them (not all of Han script:
 * kana, hangul and CJK punctuation are left alone). */
static gboolean
is_cjk_ideograph (gunichar c)
{
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Steps 1 and 2. */
static char *
clean_and_space_cjk (const char *text)
{
  GString *out = g_string_sized_new (strlen (text) + 16);
  for (const char *p = text; *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    if (c == 0 || c == 0xFFFD || is_control (c))
      continue;
    if (is_whitespace (c)) {
      g_string_append_c (out, ' ');
    } else if (is_cjk_ideograph (c)) {
      g_string_append_c (out, ' ');
      g_string_append_unichar (out, c);
      g_string_append_c (out, ' ');
    } else {
      g_string_append_unichar (out, c);
    }
  }
  return g_string_free (out, FALSE);
}

/* ---- Python's str.lower ------------------------------------------------------------- */

/* Unicode's "Cased": letters with case, or anything case mapping changes. */
static gboolean
is_cased (gunichar c)
{
  GUnicodeType t = g_unichar_type (c);
  return t == G_UNICODE_UPPERCASE_LETTER || t == G_UNICODE_LOWERCASE_LETTER ||
         t == G_UNICODE_TITLECASE_LETTER || g_unichar_tolower (c) != c ||
         g_unichar_toupper (c) != c;
}

/* Unicode's "Case_Ignorable": marks, format characters, modifiers, and the word-internal
 * punctuation of Word_Break MidLetter / MidNumLet / Single_Quote (the common ones). */
static gboolean
is_case_ignorable (gunichar c)
{
  switch (g_unichar_type (c)) {
  case G_UNICODE_NON_SPACING_MARK:
  case G_UNICODE_ENCLOSING_MARK:
  case G_UNICODE_FORMAT:
  case G_UNICODE_MODIFIER_LETTER:
  case G_UNICODE_MODIFIER_SYMBOL:
    return TRUE;
  default:
    return c == '\'' || c == '.' || c == ':' || c == 0x00B7 || c == 0x2018 || c == 0x2019 ||
           c == 0x2024 || c == 0x2027;
  }
}

/* Capital sigma lower-cases to final ς after a cased letter when no cased letter follows
 * (both skipping case-ignorables), else to σ — Python's Final_Sigma rule. */
static gunichar
lower_sigma (const gunichar *w, glong n, glong i)
{
  glong j = i - 1;
  while (j >= 0 && is_case_ignorable (w[j]))
    j--;
  if (j < 0 || !is_cased (w[j]))
    return 0x03C3;
  j = i + 1;
  while (j < n && is_case_ignorable (w[j]))
    j++;
  return j == n || !is_cased (w[j]) ? 0x03C2 : 0x03C3;
}

/* Full lower-case mapping without locale: the simple mapping, plus the one unconditional
 * multi-character mapping (İ → i + combining dot) and the sigma rule. g_utf8_strdown would
 * follow a Turkish or Lithuanian locale; Python never does. */
static void
append_lower_word (GString *out, const gunichar *w, glong n)
{
  for (glong i = 0; i < n; i++) {
    if (w[i] == 0x0130) {
      g_string_append (out, "i\xcc\x87");
    } else if (w[i] == 0x03A3) {
      g_string_append_unichar (out, lower_sigma (w, n, i));
    } else {
      g_string_append_unichar (out, g_unichar_tolower (w[i]));
    }
  }
}

/* Steps 3 and 4 on the output of steps 1–2. Python's str.split() splits at every character
 * for which str.isspace() holds; after step 1 only space, U+2028 and U+2029 are left, which
 * is what g_unichar_isspace() also accepts. */
char *
ts_tokenizer_clean_text (const char *text)
{
  g_autofree char *spaced = clean_and_space_cjk (text);
  g_autofree char *nfc = g_utf8_normalize (spaced, -1, G_NORMALIZE_NFC);
  glong n = 0;
  g_autofree gunichar *chars = g_utf8_to_ucs4_fast (nfc ? nfc : "", -1, &n);
  GString *out = g_string_sized_new (strlen (spaced));
  glong i = 0;
  while (i < n) {
    while (i < n && g_unichar_isspace (chars[i]))
      i++;
    glong start = i;
    while (i < n && !g_unichar_isspace (chars[i]))
      i++;
    if (i > start) {
      if (out->len)
        g_string_append_c (out, ' ');
      append_lower_word (out, chars + start, i - start);
    }
  }
  return g_string_free (out, FALSE);
}
