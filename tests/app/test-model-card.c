/* test-model-card.c — data_sources.json as the About window reads it: a good card, a model
 * without one, and broken ones refused with the reason. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "tessera-model-card.h"

static const char good[] =
  "{\"model\": \"tessera-emoji-128\", \"sources\": ["
  " {\"name\": \"emojibase-data\", \"version\": \"17.0.0\", \"role\": \"captions\","
  "  \"licence\": \"MIT (CLDR data: Unicode licence)\"},"
  " {\"name\": \"@iconify-json/twemoji\", \"version\": \"1.2.5\", \"role\": \"style\","
  "  \"licence\": \"CC-BY-4.0\", \"attribution\": \"Twemoji graphics (c) Twitter, Inc\"}],"
  " \"notice\": \"Emoji artwork was rasterised.\"}";

static void
test_good (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraModelCard) card = tessera_model_card_parse (good, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (card->model, ==, "tessera-emoji-128");
  g_assert_cmpstr (card->notice, ==, "Emoji artwork was rasterised.");
  g_assert_cmpuint (card->sources->len, ==, 2);
  TesseraModelSource *a = g_ptr_array_index (card->sources, 0);
  TesseraModelSource *b = g_ptr_array_index (card->sources, 1);
  g_assert_cmpstr (a->name, ==, "emojibase-data");
  g_assert_cmpstr (a->version, ==, "17.0.0");
  g_assert_cmpstr (a->licence, ==, "MIT (CLDR data: Unicode licence)");
  g_assert_null (a->attribution);
  g_assert_cmpstr (b->attribution, ==, "Twemoji graphics (c) Twitter, Inc");
  /* Known roles read as phrases; others as written. */
  g_assert_cmpstr (tessera_model_source_role_label (a), !=, "captions");
  TesseraModelSource odd = { .role = "depth maps" };
  g_assert_cmpstr (tessera_model_source_role_label (&odd), ==, "depth maps");
}

static void
test_load_from_folder (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tessera-card-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  /* A downloaded aMUSEd folder has no card: "not found", which the About window skips. */
  g_assert_null (tessera_model_card_load (dir, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);
  g_autofree char *path = g_build_filename (dir, "data_sources.json", NULL);
  g_assert_true (g_file_set_contents (path, good, -1, NULL));
  g_autoptr (TesseraModelCard) card = tessera_model_card_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (card->sources->len, ==, 2);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_broken (void)
{
  static const struct { const char *json, *reason; } cases[] = {
    { "{\"model\": \"m\", \"sources\": [", "" },                        /* truncated */
    { "[1, 2]", "JSON object" },
    { "{\"sources\": []}", "“model”" },
    { "{\"model\": \"m\"}", "“sources”" },
    { "{\"model\": \"m\", \"sources\": {}}", "“sources”" },
    { "{\"model\": \"m\", \"sources\": [7]}", "object" },
    { "{\"model\": \"m\", \"sources\": [{\"name\": \"n\"}]}", "“licence”" },
    { "{\"model\": \"m\", \"sources\": [{\"name\": 3, \"licence\": \"MIT\"}]}", "“name”" },
    { "{\"model\": \"m\", \"sources\": [{\"name\": \"\", \"licence\": \"MIT\"}]}", "“name”" },
    { "{\"model\": \"m\", \"notice\": [], \"sources\": []}", "“notice”" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    g_assert_null (tessera_model_card_parse (cases[i].json, -1, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, "data_sources.json"));
    g_assert_nonnull (strstr (error->message, cases[i].reason));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model-card/good", test_good);
  g_test_add_func ("/model-card/load-from-folder", test_load_from_folder);
  g_test_add_func ("/model-card/broken", test_broken);
  return g_test_run ();
}
