/* test-shipped-model.c — the model that ships in data/models: its folder is complete and small
 * enough, its card names the data's licences, and a fixed prompt and seed still produce the
 * stored expected image (on the CPU; on Vulkan too where a device exists).
 *
 * After retraining, regenerate the expected images with
 *   TESSERA_UPDATE_EXPECTED=1 meson test -C build shipped-model
 * and look at them before committing. */
#include "model/ts-model-defaults.h"
#include "compute/pipeline/ts-pipeline.h"
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define SHIPPED_MAX_BYTES (40 * 1000 * 1000)
#define BLOCK 16           /* compared blocks: one token of a 16x VQ, 2x2 tokens of an 8x one */
#define BLOCK_TOLERANCE 6  /* a block differs when a pixel channel moves more than this */

typedef struct {
  const char *name;
  const char *prompt;
  guint64     seed;
  int         max_blocks_cpu;    /* blocks allowed to differ: a token flipped by rounding on
                                    another CPU's kernels changes its block, rarely more */
  int         max_blocks_vulkan; /* a GPU's different summation order flips more */
} RegressionCase;

static const RegressionCase cases[] = {
  { "red-apple-3d", "red apple, 3d style", 42, 2, 16 },
  { "cat-left-of-apple", "a cat face left of a red apple on a pink background, flat style", 7, 2, 16 },
};

static char *
shipped_dir (void)
{
  const char *env = g_getenv ("TESSERA_SHIPPED_MODEL");
  if (env)
    return g_strdup (env);
  return g_build_filename (g_getenv ("TESSERA_SOURCE_ROOT"), "data", "models", "tessera-emoji-128",
                           NULL);
}

static gint64
folder_bytes (const char *path)
{
  if (!g_file_test (path, G_FILE_TEST_IS_DIR)) {
    GStatBuf st;
    return g_stat (path, &st) == 0 ? (gint64) st.st_size : 0;
  }
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  gint64 sum = 0;
  const char *name;
  while (dir && (name = g_dir_read_name (dir))) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    sum += folder_bytes (child);
  }
  return sum;
}

static void
test_folder_and_card (void)
{
  g_autofree char *dir = shipped_dir ();
  g_autofree char *index = g_build_filename (dir, "model_index.json", NULL);
  g_assert_true (g_file_test (index, G_FILE_TEST_IS_REGULAR));
  gint64 bytes = folder_bytes (dir);
  g_test_message ("shipped model: %.1f MB", bytes / 1e6);
  g_assert_cmpint (bytes, <=, SHIPPED_MAX_BYTES);

  g_autofree char *card_path = g_build_filename (dir, "README.md", NULL);
  g_autofree char *card = NULL;
  g_assert_true (g_file_get_contents (card_path, &card, NULL, NULL));
  const char *licences[] = { "Apache-2.0", "CC-BY-4.0", "MIT", "modified" };
  for (guint i = 0; i < G_N_ELEMENTS (licences); i++)
    g_assert_nonnull (strstr (card, licences[i]));

  g_autofree char *sources = g_build_filename (dir, "data_sources.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, sources, &error));
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonArray *list = json_object_get_array_member (root, "sources");
  g_assert_cmpuint (json_array_get_length (list), >=, 5);

  /* vocabulary.json: what the editor completes prompts from (tools/data/vocabulary.py) */
  g_autofree char *vocab_path = g_build_filename (dir, "vocabulary.json", NULL);
  g_autoptr (JsonParser) vparser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (vparser, vocab_path, &error));
  g_assert_no_error (error);
  JsonObject *vocab = json_node_get_object (json_parser_get_root (vparser));
  /* every concept of the set it was trained on (tools/data/concepts.json), no other */
  g_autofree char *set_path = g_build_filename (g_getenv ("TESSERA_SOURCE_ROOT"), "tools", "data",
                                                "concepts.json", NULL);
  g_autoptr (JsonParser) sparser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (sparser, set_path, &error));
  g_assert_no_error (error);
  JsonArray *set = json_object_get_array_member (json_node_get_object (json_parser_get_root (sparser)),
                                                 "concepts");
  JsonArray *concepts = json_object_get_array_member (vocab, "concepts");
  g_assert_cmpuint (json_array_get_length (set), >=, 50);
  g_assert_cmpuint (json_array_get_length (concepts), ==, json_array_get_length (set));
  for (guint i = 0; i < json_array_get_length (set); i++) {
    const char *label = json_object_get_string_member (json_array_get_object_element (set, i), "label");
    gboolean found = FALSE;
    for (guint j = 0; j < json_array_get_length (concepts) && !found; j++)
      found = g_str_equal (json_array_get_string_element (concepts, j), label);
    if (!found)
      g_test_message ("concept %s missing from vocabulary.json", label);
    g_assert_true (found);
  }
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (vocab, "styles")), ==, 7);
  JsonObject *scene = json_object_get_object_member (vocab, "scene");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (scene, "positions")), >=, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (scene, "backgrounds")), >=, 2);
  JsonArray *examples = json_object_get_array_member (vocab, "examples");
  g_assert_cmpuint (json_array_get_length (examples), >=, 1);
  g_test_message ("vocabulary: %u concepts, placeholder \"%s\"",
                  json_array_get_length (json_object_get_array_member (vocab, "concepts")),
                  json_array_get_string_element (examples, 0));
}

static TsImage *
load_png (const char *path, GError **error)
{
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file (path, error);
  if (!pb)
    return NULL;
  int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  int n = gdk_pixbuf_get_n_channels (pb), stride = gdk_pixbuf_get_rowstride (pb);
  const guint8 *src = gdk_pixbuf_read_pixels (pb);
  TsImage *image = ts_image_new (w, h, 3, error);
  for (int y = 0; image && y < h; y++)
    for (int x = 0; x < w; x++)
      memcpy (image->pixels + ((gsize) y * w + x) * 3, src + (gsize) y * stride + x * n, 3);
  return image;
}

static gboolean
save_png (const TsImage *image, const char *path, GError **error)
{
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_data (image->pixels, GDK_COLORSPACE_RGB, FALSE,
                                                      8, image->width, image->height,
                                                      image->width * 3, NULL, NULL);
  return gdk_pixbuf_save (pb, path, "png", error, NULL);
}

/* Counts the 16×16 blocks where some channel differs by more than BLOCK_TOLERANCE, and the
 * mean absolute difference over the image. */
static int
differing_blocks (const TsImage *a, const TsImage *b, double *mean_abs)
{
  int blocks = 0;
  double sum = 0;
  for (int by = 0; by < a->height; by += BLOCK)
    for (int bx = 0; bx < a->width; bx += BLOCK) {
      int worst = 0;
      for (int y = by; y < MIN (by + BLOCK, a->height); y++)
        for (int x = bx * 3; x < MIN (bx + BLOCK, a->width) * 3; x++) {
          gsize i = (gsize) y * a->width * 3 + x;
          int d = abs ((int) a->pixels[i] - (int) b->pixels[i]);
          worst = MAX (worst, d);
          sum += d;
        }
      blocks += worst > BLOCK_TOLERANCE;
    }
  *mean_abs = sum / ((double) a->width * a->height * 3);
  return blocks;
}

static void
check_case (TsBackend *backend, const RegressionCase *c, int max_blocks)
{
  g_autofree char *dir = shipped_dir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (TsPipeline) pipeline = ts_pipeline_new (backend, dir, &error);
  g_assert_no_error (error);
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_GENERATE);   /* the product's default steps */
  TsModelDefaults defaults;                            /* and the model's own guidance */
  g_assert_true (ts_model_defaults_read (dir, &defaults, &error));
  g_assert_no_error (error);
  req.guidance = defaults.guidance;
  req.prompt = c->prompt;
  req.seed = c->seed;
  g_autoptr (TsPipelineResult) result = ts_pipeline_run (pipeline, &req, &error);
  g_assert_no_error (error);
  const TsImage *got = result->images[0];
  g_assert_cmpint (got->width, ==, ts_pipeline_native_size (pipeline));

  const char *build = g_getenv ("TESSERA_BUILD_ROOT");
  g_autofree char *artifact = g_strdup_printf ("%s/shipped-%s-%s.png", build ? build : ".",
                                               c->name,
                                               ts_backend_kind (backend) == TS_BACKEND_CPU
                                                 ? "cpu" : "vulkan");
  g_assert_true (save_png (got, artifact, &error));
  g_autofree char *expected_path = g_strdup_printf ("%s/tests/shipped/expected/%s.png",
                                                    g_getenv ("TESSERA_SOURCE_ROOT"), c->name);
  if (g_getenv ("TESSERA_UPDATE_EXPECTED") && ts_backend_kind (backend) == TS_BACKEND_CPU) {
    g_assert_true (save_png (got, expected_path, &error));
    g_test_message ("wrote %s", expected_path);
    return;
  }
  g_autoptr (TsImage) expected = load_png (expected_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (expected->width, ==, got->width);
  g_assert_cmpint (expected->height, ==, got->height);
  double mean_abs;
  int blocks = differing_blocks (expected, got, &mean_abs);
  g_test_message ("%s on %s: %d of %d blocks differ, mean |diff| %.3f (image in %s)", c->name,
                  result->backend, blocks, (got->width / BLOCK) * (got->height / BLOCK), mean_abs,
                  artifact);
  g_assert_cmpint (blocks, <=, max_blocks);
}

static void
test_regression_cpu (gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsBackend) cpu = ts_backend_new_cpu (0, &error);
  g_assert_no_error (error);
  const RegressionCase *c = data;
  check_case (cpu, c, c->max_blocks_cpu);
}

static void
test_regression_vulkan (gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsBackend) vk = ts_backend_new_vulkan (-1, TRUE, &error);
  if (!vk) {
    g_test_skip_printf ("no Vulkan device: %s", error->message);
    return;
  }
  const RegressionCase *c = data;
  check_case (vk, c, c->max_blocks_vulkan);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/shipped/folder-and-card", test_folder_and_card);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *cpu = g_strdup_printf ("/shipped/regression/cpu/%s", cases[i].name);
    g_autofree char *vk = g_strdup_printf ("/shipped/regression/vulkan/%s", cases[i].name);
    g_test_add_data_func (cpu, &cases[i], test_regression_cpu);
    g_test_add_data_func (vk, &cases[i], test_regression_vulkan);
  }
  return g_test_run ();
}
