/* test-vocabulary.c — a model's vocabulary.json: reading good and damaged files, completing
 * a prompt's last concept, replacing its style phrase. No display needed. */
#include <glib/gstdio.h>
#include <string.h>

#include "tessera-vocabulary.h"

static const char fixture[] =
  "{\"concepts\": [\"red apple\", \"green apple\", \"cat face\", \"pineapple\", \"apple pie\","
  "                \"grinning face\", \"sun\"],"
  " \"styles\": [\"3d style\", \"flat style\", \"noto style\"],"
  " \"scene\": {\"positions\": [\"left of\", \"above\", \"in the top left\"],"
  "             \"backgrounds\": [\"on a pink background\"]},"
  " \"examples\": [\"red apple, 3d style\", \"sun, flat style\"]}";

static TesseraVocabulary *
fixture_vocabulary (void)
{
  g_autoptr (GError) error = NULL;
  TesseraVocabulary *v = tessera_vocabulary_new_from_data (fixture, strlen (fixture), "fixture",
                                                           &error);
  g_assert_no_error (error);
  g_assert_nonnull (v);
  return v;
}

static void
test_read (void)
{
  g_autoptr (TesseraVocabulary) v = fixture_vocabulary ();
  g_assert_cmpuint (g_strv_length ((GStrv) tessera_vocabulary_get_concepts (v)), ==, 7);
  g_assert_cmpstr (tessera_vocabulary_get_styles (v)[1], ==, "flat style");
  g_assert_cmpstr (tessera_vocabulary_get_positions (v)[0], ==, "left of");
  g_assert_cmpstr (tessera_vocabulary_get_backgrounds (v)[0], ==, "on a pink background");
  g_assert_cmpstr (tessera_vocabulary_get_examples (v)[0], ==, "red apple, 3d style");
}

static void
test_complete (void)
{
  g_autoptr (TesseraVocabulary) v = fixture_vocabulary ();
  /* Prefix matches first, then concepts with a later word starting so, in file order. */
  g_autoptr (GPtrArray) apple = tessera_vocabulary_complete (v, "ap", 8);
  g_assert_cmpuint (apple->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (apple, 0), ==, "apple pie");
  g_assert_cmpstr (g_ptr_array_index (apple, 1), ==, "red apple");
  g_assert_cmpstr (g_ptr_array_index (apple, 2), ==, "green apple");
  /* Case does not matter; the limit holds; one letter completes nothing. */
  g_autoptr (GPtrArray) cat = tessera_vocabulary_complete (v, "CA", 8);
  g_assert_cmpuint (cat->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (cat, 0), ==, "cat face");
  g_autoptr (GPtrArray) limited = tessera_vocabulary_complete (v, "ap", 1);
  g_assert_cmpuint (limited->len, ==, 1);
  g_autoptr (GPtrArray) one = tessera_vocabulary_complete (v, "a", 8);
  g_assert_cmpuint (one->len, ==, 0);
  g_autoptr (GPtrArray) full = tessera_vocabulary_complete (v, "sun", 8);
  g_assert_cmpuint (full->len, ==, 0);
}

static void
test_fragment (void)
{
  g_autoptr (TesseraVocabulary) v = fixture_vocabulary ();
  const char *cases[][2] = {
    { "red ap", "red ap" },
    { "red apple, 3d st", "3d st" },
    { "a cat face left of a gre", "gre" },
    { "an app", "app" },
    { "cat face above the su", "su" },
    { "", "" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpstr (cases[i][0] + tessera_vocabulary_fragment_start (v, cases[i][0]), ==,
                     cases[i][1]);
}

static void
test_style (void)
{
  g_autoptr (TesseraVocabulary) v = fixture_vocabulary ();
  const char *cases[][3] = {
    { "red apple", "3d style", "red apple, 3d style" },
    { "red apple, flat style", "3d style", "red apple, 3d style" },
    { "red apple, Flat Style, on a pink background", "noto style",
      "red apple, on a pink background, noto style" },
    { "red apple, flat style", "", "red apple" },
    { "", "flat style", "flat style" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *out = tessera_vocabulary_apply_style (v, cases[i][0], cases[i][1]);
    g_assert_cmpstr (out, ==, cases[i][2]);
  }
  g_assert_cmpstr (tessera_vocabulary_find_style (v, "sun, flat style"), ==, "flat style");
  g_assert_null (tessera_vocabulary_find_style (v, "sun"));
}

/* Damaged files are refused with a message naming the file, never read in part. */
static void
test_malformed (void)
{
  const char *bad[] = {
    "",
    "   ",
    "{",
    "[\"red apple\"]",
    "\"red apple\"",
    "null",
    "42",
    "{}",
    "{\"concepts\": []}",
    "{\"concepts\": \"red apple\"}",
    "{\"concepts\": [1, 2]}",
    "{\"concepts\": [[\"red apple\"]]}",
    "{\"concepts\": [{\"name\": \"red apple\"}]}",
    "{\"concepts\": [\"ok\", null]}",
    "{\"styles\": {\"3d style\": true}}",
    "{\"concepts\": [\"a\"], \"scene\": [\"left of\"]}",
    "{\"concepts\": [\"a\"], \"scene\": {\"positions\": \"left of\"}}",
    "{\"concepts\": [\"\\ud83e\"]}",
    "{\"concepts\": [\"red apple\"],}",
    "{\"concepts\": [\"red apple\"]} trailing",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (TesseraVocabulary) v = tessera_vocabulary_new_from_data (bad[i], strlen (bad[i]),
                                                                        "bad.json", &error);
    if (v) {
      /* json-glib accepts some of these (trailing text): then it must still be sane. */
      g_test_message ("accepted: %s", bad[i]);
      g_assert_nonnull (tessera_vocabulary_get_concepts (v));
      continue;
    }
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, "bad.json"));
  }
  /* A very long phrase is refused rather than completed. */
  g_autofree char *huge = g_strnfill (4096, 'x');
  g_autofree char *json = g_strdup_printf ("{\"concepts\": [\"%s\"]}", huge);
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraVocabulary) v = tessera_vocabulary_new_from_data (json, strlen (json),
                                                                      "long.json", &error);
  g_assert_null (v);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

/* Every truncation of the fixture and a few thousand random byte edits: each one is read or
 * refused cleanly, and a vocabulary that is read answers completions. */
static void
test_mutations (void)
{
  gsize n = strlen (fixture);
  g_autoptr (GRand) rand = g_rand_new_with_seed (16);
  guint accepted = 0, refused = 0;
  for (guint round = 0; round < n + 3000; round++) {
    g_autofree char *data = g_strdup (fixture);
    gsize len = n;
    if (round < n) {
      len = round;
    } else {
      static const char alphabet[] = "{}[]\",:\\ 0aZ\xff\xc3";
      for (int k = g_rand_int_range (rand, 1, 4); k > 0; k--)
        data[g_rand_int_range (rand, 0, (gint32) n)] =
            alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
    }
    g_autoptr (GError) error = NULL;
    g_autoptr (TesseraVocabulary) v = tessera_vocabulary_new_from_data (data, len, "m.json",
                                                                        &error);
    if (v) {
      accepted++;
      g_autoptr (GPtrArray) c = tessera_vocabulary_complete (v, "ap", 8);
      g_assert_cmpuint (c->len, <=, 8);
      g_autofree char *styled = tessera_vocabulary_apply_style (v, "red apple, x", "3d style");
      g_assert_true (g_utf8_validate (styled, -1, NULL));
    } else {
      refused++;
      g_assert_nonnull (error);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }
  }
  g_test_message ("%u mutations read, %u refused", accepted, refused);
  g_assert_cmpuint (refused, >, 0);
  g_assert_cmpuint (accepted, >, 0);
}

static void
test_model_folder (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tessera-vocab-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  /* No file: free text, and no error. */
  g_assert_null (tessera_vocabulary_load_for_model (dir, &error));
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, TESSERA_VOCABULARY_FILE, NULL);
  g_assert_true (g_file_set_contents (path, "{\"concepts\": 3}", -1, NULL));
  g_assert_null (tessera_vocabulary_load_for_model (dir, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, fixture, -1, NULL));
  g_autoptr (TesseraVocabulary) v = tessera_vocabulary_load_for_model (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (v);
  g_unlink (path);
  g_rmdir (dir);

  /* The shipped model's own file, when this clone has it. */
  g_autofree char *shipped = g_build_filename (TESSERA_SOURCE_ROOT, "data", "models",
                                               "tessera-emoji-128", NULL);
  g_autoptr (TesseraVocabulary) sv = tessera_vocabulary_load_for_model (shipped, &error);
  g_assert_no_error (error);
  if (!sv) {
    g_test_message ("the shipped model has no %s here", TESSERA_VOCABULARY_FILE);
    return;
  }
  g_assert_nonnull (tessera_vocabulary_get_examples (sv)[0]);
  g_assert_nonnull (tessera_vocabulary_get_styles (sv)[0]);
  g_autoptr (GPtrArray) c = tessera_vocabulary_complete (sv, "red ap", 8);
  g_assert_cmpuint (c->len, >=, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vocabulary/read", test_read);
  g_test_add_func ("/vocabulary/complete", test_complete);
  g_test_add_func ("/vocabulary/fragment", test_fragment);
  g_test_add_func ("/vocabulary/style", test_style);
  g_test_add_func ("/vocabulary/malformed", test_malformed);
  g_test_add_func ("/vocabulary/mutations", test_mutations);
  g_test_add_func ("/vocabulary/model-folder", test_model_folder);
  return g_test_run ();
}
