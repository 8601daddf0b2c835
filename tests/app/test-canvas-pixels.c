/* test-canvas-pixels.c — what the canvas shows, pixel by pixel, against the document.
 *
 * The real window (under Xvfb) shows a picture that is different everywhere: a colour
 * gradient, a checkerboard and a one-pixel magenta frame. The canvas is rendered through the
 * window's own renderer (cairo, or GL where the test runs with it) and every sampled screen
 * pixel is compared with the document through the view's transform
 * (widget = image × zoom + pan): at the zooms a person uses, at fit, after panning, after a
 * result is applied, after undo and after opening a file. A view that is shifted, scaled
 * wrongly or left blank shows colours that are not where the transform says they must be. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "window-fixture.h"

static gboolean want_gl;   /* TESSERA_TEST_RENDERER=gl: the GL renderer, or skip */
static char *skip_reason;  /* why the checks cannot run here */

#define SKIP_IF_NEEDED()                \
  G_STMT_START {                        \
    if (skip_reason) {                  \
      g_test_skip (skip_reason);        \
      return;                           \
    }                                   \
  } G_STMT_END

/* The canvas's CSS background, outside the picture. */
#define BACKGROUND 0x2e2e32

/* The canvas as its window's renderer draws it, one texture pixel per widget pixel; a PNG of
 * it goes to TESSERA_ARTIFACTS. */
static GdkTexture *
render_canvas (const char *name)
{
  GtkWidget *w = GTK_WIDGET (tessera_window_get_canvas (win));
  pump ();
  gboolean drawn;
  GdkTexture *tex = render_widget (w, TRUE, &drawn);
  if (name) {
    g_autofree char *file = g_strdup_printf ("%s-%s.png", want_gl ? "gl" : "cairo", name);
    save_artifact (tex, file);
  }
  return tex;
}

/* The test picture: red grows to the right, green downwards, blue alternates in 8-pixel
 * squares, and the outermost pixels are magenta. Straight RGBA. */
static guint8 *
make_picture (int w, int h)
{
  guint8 *px = g_malloc ((gsize) w * h * 4);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 *p = px + ((gsize) y * w + x) * 4;
      gboolean frame = x == 0 || y == 0 || x == w - 1 || y == h - 1;
      p[0] = frame ? 255 : (guint8) (255 * x / (w - 1));
      p[1] = frame ? 0 : (guint8) (255 * y / (h - 1));
      p[2] = frame ? 255 : (((x / 8) + (y / 8)) % 2 ? 220 : 30);
      p[3] = 255;
    }
  return px;
}

/* Opens the test picture (w × h) through win.open-file, as a user does. */
static void
open_test_picture (int w, int h)
{
  g_autofree char *dir = g_dir_make_tmp ("tessera-pixels-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "pattern.png", NULL);
  g_autoptr (GBytes) bytes = g_bytes_new_take (make_picture (w, h), (gsize) w * h * 4);
  g_autoptr (GdkTexture) tex = gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8A8, bytes,
                                                       (gsize) w * 4);
  g_assert_true (gdk_texture_save_to_png (tex, path));
  entry_before = tessera_history_get_current (tessera_window_get_history (win));
  act ("open-file", g_variant_new_string (path));
  g_assert_true (wait_for (history_moved_or_asked, 10));
  TesseraDocument *doc = tessera_window_get_document (win);
  g_assert_cmpint (tessera_document_get_width (doc), ==, w);
  g_assert_cmpint (tessera_document_get_height (doc), ==, h);
  g_unlink (path);
  g_rmdir (dir);
}

static int
channel (guint32 argb, int k)
{
  return (argb >> (16 - 8 * k)) & 0xff;
}

/* Within the box of one of the outpaint handles on the picture's edges. */
static gboolean
near_handle (TesseraCanvas *c, int x, int y)
{
  for (int side = 0; side < 4; side++) {
    double hx, hy;
    if (tessera_canvas_get_handle_center (c, side, &hx, &hy) && fabs (x - hx) < 32
        && fabs (y - hy) < 32)
      return TRUE;
  }
  return FALSE;
}

/* Compares a rendering of the canvas with the document. For each sampled widget pixel, the
 * image area under it (its footprint through the inverse transform, one source pixel wider
 * on each side for the filtering of zoomed-out tiles) gives the range each channel may have;
 * the screen pixel must lie in it, within a small tolerance. Where the footprint holds one
 * image pixel (zoomed in, nearest neighbour) that range is a single colour. Widget pixels
 * clearly outside the picture must show the background. `shift` (widget pixels) moves the
 * expected picture to the right: the test's own check that a misplaced picture fails it.
 * Returns the number of mismatches; says where the first few are. */
static guint
compare_with_document (GdkTexture *shot, const char *what, double shift)
{
  TesseraCanvas *c = tessera_window_get_canvas (win);
  TesseraDocument *doc = tessera_window_get_document (win);
  int dw = tessera_document_get_width (doc), dh = tessera_document_get_height (doc);
  cairo_surface_t *surface = tessera_document_get_surface (doc);
  cairo_surface_flush (surface);
  const guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  int sw = gdk_texture_get_width (shot), sh = gdk_texture_get_height (shot);
  g_autofree guint32 *px = g_new (guint32, (gsize) sw * sh);
  gdk_texture_download (shot, (guchar *) px, (gsize) sw * 4);
  double zoom = tessera_canvas_get_zoom (c);
  /* Zoomed out the canvas draws reduced tiles (box-filtered, then filtered linearly): allow
   * a neighbourhood as wide as one texel of the coarsest level in use. */
  double reach = zoom >= 1.0 ? 0.02 : 1.0 / zoom;
  const int tolerance = zoom >= 1.0 ? 3 : 12;
  guint bad = 0, inside = 0, outside = 0;
  gboolean quiet = shift != 0;
  int step = 3;
  for (int y = 1; y < sh - 1; y += step)
    for (int x = 1; x < sw - 1; x += step) {
      double ix0, iy0, ix1, iy1;
      tessera_canvas_widget_to_image (c, x - shift, y, &ix0, &iy0);
      tessera_canvas_widget_to_image (c, x + 1 - shift, y + 1, &ix1, &iy1);
      guint32 got = px[(gsize) y * sw + x];
      if (near_handle (c, x, y))
        continue;   /* the outpaint handles lie on the background */
      if (ix1 < -reach - 1 || iy1 < -reach - 1 || ix0 > dw + reach + 1
          || iy0 > dh + reach + 1) {
        /* Clearly outside the picture: the background. */
        outside++;
        if ((got & 0xffffff) != BACKGROUND) {
          if (bad++ < 5 && !quiet)
            g_test_message ("%s: widget (%d, %d) outside the picture shows %06x, not the "
                            "background", what, x, y, got & 0xffffff);
        }
        continue;
      }
      /* Only pixels whose footprint lies wholly inside the picture. */
      int ax = (int) floor (ix0 - reach), ay = (int) floor (iy0 - reach);
      int bx = (int) ceil (ix1 + reach) - 1, by = (int) ceil (iy1 + reach) - 1;
      if (zoom >= 1.0) {
        /* A widget pixel that straddles two image pixels may show either. */
        ax = (int) floor (ix0 + 0.01);
        ay = (int) floor (iy0 + 0.01);
        bx = (int) floor (ix1 - 0.01);
        by = (int) floor (iy1 - 0.01);
      }
      if (ax < 0 || ay < 0 || bx >= dw || by >= dh)
        continue;
      inside++;
      int lo[3] = { 255, 255, 255 }, hi[3] = { 0, 0, 0 };
      for (int iy = ay; iy <= by; iy++)
        for (int ix = ax; ix <= bx; ix++) {
          guint32 v = *(const guint32 *) (data + (gsize) iy * stride + ix * 4);
          for (int k = 0; k < 3; k++) {
            lo[k] = MIN (lo[k], channel (v, k));
            hi[k] = MAX (hi[k], channel (v, k));
          }
        }
      for (int k = 0; k < 3; k++)
        if (channel (got, k) < lo[k] - tolerance || channel (got, k) > hi[k] + tolerance) {
          if (bad++ < 5 && !quiet)
            g_test_message ("%s: widget (%d, %d) shows %06x; image (%.1f, %.1f) has "
                            "%02x..%02x %02x..%02x %02x..%02x there", what, x, y,
                            got & 0xffffff, ix0, iy0, lo[0], hi[0], lo[1], hi[1], lo[2],
                            hi[2]);
          break;
        }
    }
  if (!quiet)
    g_test_message ("%s: zoom %.3f, %u pixels inside the picture, %u outside, %u wrong", what,
                    zoom, inside, outside, bad);
  /* The picture must be on screen at all. */
  g_assert_cmpuint (inside, >, 200);
  return bad;
}

static void
check_view (const char *what)
{
  g_autoptr (GdkTexture) shot = render_canvas (what);
  g_assert_cmpuint (compare_with_document (shot, what, 0), ==, 0);
  /* The same rendering against the picture placed 12 widget pixels off must fail widely,
   * or the comparison could not have seen a shifted view. */
  guint misplaced = compare_with_document (shot, what, 12);
  g_test_message ("%s: %u mismatches against a picture 12 px off", what, misplaced);
  g_assert_cmpuint (misplaced, >, 100);
}

/* The window's zoom label must say the canvas's real zoom. */
static GtkWidget *
find_zoom_button (GtkWidget *w)
{
  if (GTK_IS_BUTTON (w) && gtk_actionable_get_action_name (GTK_ACTIONABLE (w))
      && g_str_equal (gtk_actionable_get_action_name (GTK_ACTIONABLE (w)), "win.zoom-100"))
    return w;
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c)) {
    GtkWidget *found = find_zoom_button (c);
    if (found)
      return found;
  }
  return NULL;
}

static void
assert_zoom_label (const char *when)
{
  pump ();
  GtkWidget *b = find_zoom_button (GTK_WIDGET (win));
  g_assert_nonnull (b);
  double zoom = tessera_canvas_get_zoom (tessera_window_get_canvas (win));
  g_autofree char *want = g_strdup_printf ("%.0f %%", zoom * 100);
  g_test_message ("zoom label %s: %s (zoom %.4f)", when, gtk_button_get_label (GTK_BUTTON (b)),
                  zoom);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (b)), ==, want);
}

static void
test_startup (void)
{
  window_fixture_show ();
  const char *renderer = G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (win)));
  g_test_message ("renderer: %s", renderer);
  /* GTK falls back to cairo silently where OpenGL cannot be had. */
  if (want_gl && !g_str_has_suffix (renderer, "GLRenderer")) {
    skip_reason = g_strdup_printf ("the GL renderer is not available here (GTK chose %s)",
                                   renderer);
    g_test_skip (skip_reason);
    return;
  }
  g_assert_true (wait_for (engine_settled, 60));
  g_assert_cmpint (tessera_engine_get_state (tessera_application_get_engine (app)), ==,
                   TESSERA_ENGINE_READY);
  pump ();
  /* The blank canvas opens at fit, and the label says so. */
  g_assert_true (tessera_canvas_get_fit (tessera_window_get_canvas (win)));
  assert_zoom_label ("at start");
}

/* A picture opened from a file, at each zoom a person uses and after panning. */
static void
test_zooms (void)
{
  SKIP_IF_NEEDED ();
  TesseraCanvas *c = tessera_window_get_canvas (win);
  open_test_picture (480, 640);
  g_assert_true (tessera_canvas_get_fit (c));
  assert_zoom_label ("after open");
  check_view ("open-fit");

  int cw = gtk_widget_get_width (GTK_WIDGET (c)), ch = gtk_widget_get_height (GTK_WIDGET (c));
  static const double zooms[] = { 0.25, 0.618, 0.75, 1.0, 1.12, 2.0 };
  for (guint i = 0; i < G_N_ELEMENTS (zooms); i++) {
    /* From fit, around an off-centre point with a fraction, as a wheel does under the
     * pointer. */
    act ("zoom-fit", NULL);
    tessera_canvas_zoom_at (c, zooms[i], cw * 0.37 + 0.3, ch * 0.61 + 0.7);
    assert_zoom_label ("after zoom");
    g_autofree char *name = g_strdup_printf ("zoom-%.0f", zooms[i] * 1000);
    check_view (name);
    /* Panned by fractions of a pixel, as touchpad scrolling does. */
    tessera_canvas_pan (c, -57.4, 31.6);
    g_autofree char *panned = g_strdup_printf ("zoom-%.0f-panned", zooms[i] * 1000);
    check_view (panned);
  }
  /* Zoom steps from the buttons, then back to fit. */
  act ("zoom-100", NULL);
  act ("zoom-in", NULL);
  assert_zoom_label ("after zoom in");
  check_view ("zoom-in");
  act ("zoom-fit", NULL);
  assert_zoom_label ("after fit");
  check_view ("fit-again");
}

/* The model's result applied onto a picture of its native size, then undone: the view
 * follows the document both times, at fit (above 100 % for small models) and at 2×. */
static void
test_apply_undo (void)
{
  SKIP_IF_NEEDED ();
  TesseraCanvas *c = tessera_window_get_canvas (win);
  TesseraDocument *doc = tessera_window_get_document (win);
  int native = tessera_engine_get_native_size (tessera_application_get_engine (app));
  open_test_picture (native, native);
  assert_zoom_label ("after opening a native-size picture");
  check_view ("native-fit");
  g_autoptr (TesseraState) opened = tessera_document_snapshot (doc);

  g_action_group_change_action_state (G_ACTION_GROUP (win), "mode",
                                      g_variant_new_string ("generate"));
  gtk_editable_set_text (GTK_EDITABLE (tessera_window_get_prompt_entry (win)),
                         "red apple, 3d style");
  act ("generate", NULL);
  g_assert_true (wait_for (not_running, 120));
  g_assert_cmpuint (tessera_window_get_n_pending_variants (win), >, 0);
  act ("apply", NULL);
  g_autoptr (TesseraState) applied = tessera_document_snapshot (doc);
  g_assert_false (g_bytes_equal (applied->image, opened->image));
  act ("zoom-fit", NULL);
  check_view ("applied-fit");
  tessera_canvas_zoom_at (c, 2.0, 13.3, 27.9);
  check_view ("applied-200");
  tessera_canvas_zoom_at (c, 0.75, 40.2, 10.1);
  check_view ("applied-75");

  act ("undo", NULL);
  g_autoptr (TesseraState) undone = tessera_document_snapshot (doc);
  g_assert_true (g_bytes_equal (undone->image, opened->image));
  check_view ("undone-75");
  act ("zoom-fit", NULL);
  check_view ("undone-fit");
}

int
main (int argc, char **argv)
{
  want_gl = g_strcmp0 (g_getenv ("TESSERA_TEST_RENDERER"), "gl") == 0;
  g_autofree char *home = window_fixture_start (&argc, &argv, "tessera-pixels-XXXXXX", 4, 1);
  if (!home)
    return 0;

  g_test_add_func ("/canvas-pixels/startup", test_startup);
  g_test_add_func ("/canvas-pixels/zooms", test_zooms);
  g_test_add_func ("/canvas-pixels/apply-undo", test_apply_undo);
  int rc = g_test_run ();
  window_fixture_finish (home);
  g_free (skip_reason);
  return rc;
}
