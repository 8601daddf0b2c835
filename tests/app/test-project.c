/* test-project.c — OpenRaster projects: round trip of picture, mask and history, the zip
 * layout other programs rely on, atomic saving under an injected write failure, and files
 * that survive the saving process being killed at any moment. */
#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "project-fixture.h"
#include "tessera-atomic-file.h"
#include "ts-fault.h"

static char *
tmp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("tessera-project-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
}

static void
assert_params_equal (const TesseraParams *a, const TesseraParams *b)
{
  g_assert_true ((a == NULL) == (b == NULL));
  if (!a)
    return;
  g_assert_cmpint (a->mode, ==, b->mode);
  g_assert_cmpstr (a->prompt, ==, b->prompt);
  g_assert_cmpstr (a->negative_prompt, ==, b->negative_prompt);
  g_assert_cmpuint (a->seed, ==, b->seed);
  g_assert_cmpint (a->n_variants, ==, b->n_variants);
  g_assert_cmpint (a->steps, ==, b->steps);
  g_assert_cmpfloat (a->guidance, ==, b->guidance);
  g_assert_cmpfloat (a->strength, ==, b->strength);
}

static void
assert_projects_equal (TesseraProject *a, TesseraProject *b)
{
  g_assert_cmpint (a->state->width, ==, b->state->width);
  g_assert_cmpint (a->state->height, ==, b->state->height);
  g_assert_true (g_bytes_equal (a->state->image, b->state->image));
  g_assert_true (g_bytes_equal (a->state->mask, b->state->mask));
  g_assert_cmpuint (a->entries->len, ==, b->entries->len);
  g_assert_cmpuint (a->position, ==, b->position);
  for (guint i = 0; i < a->entries->len; i++) {
    TesseraHistoryEntry *ea = g_ptr_array_index (a->entries, i);
    TesseraHistoryEntry *eb = g_ptr_array_index (b->entries, i);
    g_assert_cmpint (tessera_history_entry_get_kind (ea), ==, tessera_history_entry_get_kind (eb));
    g_assert_cmpstr (tessera_history_entry_get_label (ea), ==,
                     tessera_history_entry_get_label (eb));
    TesseraState *sa = tessera_history_entry_get_state (ea);
    TesseraState *sb = tessera_history_entry_get_state (eb);
    g_assert_true (g_bytes_equal (sa->image, sb->image));
    g_assert_true (g_bytes_equal (sa->mask, sb->mask));
    assert_params_equal (tessera_history_entry_get_params (ea),
                         tessera_history_entry_get_params (eb));
    guint n = tessera_history_entry_get_n_variants (ea);
    g_assert_cmpuint (n, ==, tessera_history_entry_get_n_variants (eb));
    if (n)
      g_assert_cmpuint (tessera_history_entry_get_selected_variant (ea), ==,
                        tessera_history_entry_get_selected_variant (eb));
    for (guint v = 0; v < n; v++)
      g_assert_true (g_bytes_equal (tessera_history_entry_get_variant (ea, v),
                                    tessera_history_entry_get_variant (eb, v)));
  }
}

static void
test_round_trip (void)
{
  g_autoptr (TesseraProject) p = fixture_project (7, 42);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) ora = tessera_project_encode (p, &error);
  g_assert_no_error (error);
  g_autoptr (TesseraProject) q = tessera_project_decode (ora, &error);
  g_assert_no_error (error);
  assert_projects_equal (p, q);

  /* Entries that shared pixels in the editor share them after loading too (memory). */
  TesseraState *s0 = tessera_history_entry_get_state (g_ptr_array_index (q->entries, 0));
  TesseraState *s1 = tessera_history_entry_get_state (g_ptr_array_index (q->entries, 1));
  g_assert_true (s0->image == s1->image);

  /* Rebuilt into a history at the saved position. */
  g_autoptr (TesseraHistory) h = tessera_history_new (64);
  g_assert_true (tessera_project_fill_history (q, h));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (h)), ==, 7);
  g_assert_cmpuint (tessera_history_get_position (h), ==, 5);
  g_assert_true (tessera_history_can_redo (h));
}

/* With a cache, unchanged pictures are encoded once; the file is the same either way, and
 * pictures no longer in the project leave the cache. */
static void
test_png_cache (void)
{
  g_autoptr (TesseraProject) p = fixture_project (7, 11);
  g_autoptr (GBytes) plain = tessera_project_encode (p, NULL);
  g_assert_nonnull (plain);
  g_autoptr (TesseraPngCache) cache = tessera_png_cache_new ();
  p->cache = tessera_png_cache_ref (cache);
  g_autoptr (GBytes) first = tessera_project_encode (p, NULL);
  guint n = tessera_png_cache_get_size (cache);
  /* 7 entries: 5 pictures (mask-only entries share one), 7 masks, 2 × 3 variants. */
  g_assert_cmpuint (n, ==, 5 + 7 + 6);
  g_autoptr (GBytes) second = tessera_project_encode (p, NULL);
  g_assert_true (g_bytes_equal (plain, first));
  g_assert_true (g_bytes_equal (first, second));
  g_assert_cmpuint (tessera_png_cache_get_size (cache), ==, n);

  g_autoptr (TesseraProject) small = fixture_project (2, 12);
  small->cache = tessera_png_cache_ref (cache);
  g_autoptr (GBytes) third = tessera_project_encode (small, NULL);
  g_assert_nonnull (third);
  g_assert_cmpuint (tessera_png_cache_get_size (cache), ==, 1 + 2);
}

/* What other OpenRaster readers check: "mimetype" is the first member, stored, so the
 * type can be read at a fixed offset; the layers and merged image are there. */
static void
test_layout (void)
{
  g_autoptr (TesseraProject) p = fixture_project (3, 5);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) ora = tessera_project_encode (p, &error);
  g_assert_no_error (error);
  gsize len;
  const char *d = g_bytes_get_data (ora, &len);
  g_assert_cmpuint (len, >, 100);
  g_assert_cmpint (memcmp (d, "PK\003\004", 4), ==, 0);
  g_assert_cmpint (d[8] | d[9] << 8, ==, 0);   /* compression method: stored */
  g_assert_cmpint (memcmp (d + 30, "mimetype", 8), ==, 0);
  int extra = (guint8) d[28] | (guint8) d[29] << 8;
  g_assert_cmpint (memcmp (d + 38 + extra, "image/openraster", 16), ==, 0);
  const char *members[] = { "stack.xml", "data/picture.png", "data/mask.png", "mergedimage.png",
                            "Thumbnails/thumbnail.png", "tessera/history.json" };
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    g_assert_nonnull (memmem (d, len, members[i], strlen (members[i])));
}

static void
test_rejects_garbage (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) junk = g_bytes_new_static ("PK\003\004 not really a zip", 24);
  g_assert_null (tessera_project_decode (junk, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);

  /* A truncated project (as a crash mid-write would leave without atomic saving). */
  g_autoptr (TesseraProject) p = fixture_project (3, 9);
  g_autoptr (GBytes) ora = tessera_project_encode (p, NULL);
  g_autoptr (GBytes) half = g_bytes_new_from_bytes (ora, 0, g_bytes_get_size (ora) / 2);
  g_clear_error (&error);
  g_assert_null (tessera_project_decode (half, &error));
  g_assert_nonnull (error);
}

static void
test_atomic_failure_keeps_old_file (void)
{
  g_autofree char *dir = tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "keep.ora", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraProject) old = fixture_project (3, 1);
  g_assert_true (tessera_project_save (old, path, &error));
  g_assert_no_error (error);
  g_autofree char *before = NULL;
  gsize before_len;
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));

  g_autoptr (TesseraProject) newer = fixture_project (5, 2);
  /* The next file write fails halfway with ENOSPC, as on a full disk. */
  g_assert_true (ts_fault_configure ("write:1", NULL));
  gboolean ok = tessera_project_save (newer, path, &error);
  ts_fault_configure (NULL, NULL);
  g_assert_false (ok);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, "keep.ora"));

  g_autofree char *after = NULL;
  gsize after_len;
  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_cmpmem (before, before_len, after, after_len);
  /* No temporary file left behind. */
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (g_dir_read_name (d))
    n++;
  g_assert_cmpuint (n, ==, 1);
  g_clear_error (&error);
  g_autoptr (TesseraProject) back = tessera_project_load (path, &error);
  g_assert_no_error (error);
  assert_projects_equal (old, back);
  remove_dir (dir);
}

/* Kill -9 a process that saves in a loop, many times at random moments: whatever file is
 * there must open and be one whole project. */
static void
test_kill_during_saves (void)
{
  const char *saver = g_getenv ("TESSERA_PROJECT_SAVER");
  if (!saver) {
    g_test_skip ("TESSERA_PROJECT_SAVER is not set (run through meson test)");
    return;
  }
  g_autofree char *dir = tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "autosave.ora", NULL);
  guint opened = 0;
  for (int round = 0; round < 12; round++) {
    g_autoptr (GError) error = NULL;
    const char *argv[] = { saver, path, NULL };
    GPid pid;
    g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                  NULL, &pid, &error));
    g_assert_no_error (error);
    g_usleep (g_test_rand_int_range (30, 250) * 1000);
    g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
    int status;
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    g_assert_true (WIFSIGNALED (status));
    g_spawn_close_pid (pid);

    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (d))) {
      g_autofree char *file = g_build_filename (dir, name, NULL);
      if (tessera_atomic_is_temp_name (name)) {
        g_unlink (file);   /* what recovery does with leftovers */
        continue;
      }
      g_assert_cmpstr (name, ==, "autosave.ora");
      g_autoptr (TesseraProject) p = tessera_project_load (file, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (p->entries->len, >, 0);
      guint i, seed;
      g_assert_cmpint (sscanf (tessera_history_entry_get_label (g_ptr_array_index (p->entries, 0)),
                               "Entry %u of project %u", &i, &seed), ==, 2);
      g_autoptr (TesseraProject) expect = fixture_project (2 + seed % 6, seed);
      assert_projects_equal (expect, p);
      opened++;
    }
  }
  g_test_message ("%u recovered files opened whole", opened);
  g_assert_cmpuint (opened, >, 0);
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/project/round-trip", test_round_trip);
  g_test_add_func ("/project/layout", test_layout);
  g_test_add_func ("/project/png-cache", test_png_cache);
  g_test_add_func ("/project/rejects-garbage", test_rejects_garbage);
  g_test_add_func ("/project/atomic-failure-keeps-old-file", test_atomic_failure_keeps_old_file);
  g_test_add_func ("/project/kill-during-saves", test_kill_during_saves);
  return g_test_run ();
}
