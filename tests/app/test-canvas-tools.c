/* test-canvas-tools.c — the mask tools, the outpaint handles and the frame in the real window
 * (under Xvfb), driven as the pointer drives them (the canvas's drag entry points, which its
 * gestures call) and through the window's shortcuts, with assertions on the mask, the
 * document, the signals and the pixels; window screenshots go to TESSERA_ARTIFACTS. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "window-fixture.h"


/* A widget as its window's renderer draws it; a PNG of it under TESSERA_ARTIFACTS when
 * named. */
static GdkTexture *
render (GtkWidget *w, const char *name)
{
  pump ();
  /* A frame of the whole window first, so styles (a toggled button) are up to date. */
  gtk_test_widget_wait_for_draw (GTK_WIDGET (win));
  gboolean drawn;
  GdkTexture *tex = render_widget (w, FALSE, &drawn);
  if (name)
    save_artifact (tex, name);
  return tex;
}

static TesseraCanvas *
canvas (void)
{
  return tessera_window_get_canvas (win);
}

static TesseraDocument *
document (void)
{
  return tessera_window_get_document (win);
}

/* Opens a w × h picture (a gradient with a checkerboard) through win.open-file. */
static void
open_picture (int w, int h)
{
  g_autofree char *dir = g_dir_make_tmp ("tessera-tools-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "picture.png", NULL);
  guint8 *px = g_malloc ((gsize) w * h * 4);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 *p = px + ((gsize) y * w + x) * 4;
      p[0] = (guint8) (255 * x / MAX (1, w - 1));
      p[1] = (guint8) (255 * y / MAX (1, h - 1));
      p[2] = ((x / 8) + (y / 8)) % 2 ? 200 : 60;
      p[3] = 255;
    }
  g_autoptr (GBytes) bytes = g_bytes_new_take (px, (gsize) w * h * 4);
  g_autoptr (GdkTexture) tex = gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8A8, bytes,
                                                       (gsize) w * 4);
  g_assert_true (gdk_texture_save_to_png (tex, path));
  entry_before = tessera_history_get_current (tessera_window_get_history (win));
  act_unchecked ("open-file", g_variant_new_string (path));
  g_assert_true (wait_for (history_moved_or_asked, 10));
  g_assert_cmpint (tessera_document_get_width (document ()), ==, w);
  g_unlink (path);
  g_rmdir (dir);
}

/* A drag between two picture points, as the pointer makes it, in a few steps. */
static void
drag_image (double ax, double ay, double bx, double by, GdkModifierType mods)
{
  double wx, wy;
  tessera_canvas_image_to_widget (canvas (), ax, ay, &wx, &wy);
  tessera_canvas_drag_begin (canvas (), wx, wy, 1.0, mods);
  for (int i = 1; i <= 4; i++) {
    tessera_canvas_image_to_widget (canvas (), ax + (bx - ax) * i / 4, ay + (by - ay) * i / 4,
                                    &wx, &wy);
    tessera_canvas_drag_update (canvas (), wx, wy, 1.0);
  }
  tessera_canvas_drag_end (canvas ());
  pump ();
}

static gsize
mask_count (void)
{
  return tessera_mask_count (tessera_document_get_mask (document ()), 1);
}

static void
test_startup (void)
{
  window_fixture_show ();
  g_assert_true (wait_for (engine_settled, 60));
  pump ();
  /* The model's blank canvas at fit, for the record. */
  g_autoptr (GdkTexture) shot = render (GTK_WIDGET (win), "canvas-01-fit-blank.png");
}

/* The tool shortcuts: in the window's bubble-phase controller (so text fields keep their
 * letters), each doing what it says, and each listed in the shortcuts window. */
static void
test_shortcuts (void)
{
  static const struct {
    const char *trigger, *action, *target, *overlay;
  } expected[] = {
    { "b", "win.tool", "brush", "b" },
    { "e", "win.tool", "eraser", "e" },
    { "r", "win.tool", "rectangle", "r" },
    { "l", "win.tool", "lasso", "l" },
    { "bracketleft", "win.brush-smaller", NULL, "bracketleft" },
    { "bracketright", "win.brush-larger", NULL, "bracketright" },
    { "h", "win.show-mask", NULL, "h" },
    { "c", "win.compare", NULL, "c backslash" },
    { "backslash", "win.compare", NULL, "c backslash" },
    { "<Control>i", "win.mask-invert", NULL, "<Primary>i" },
    { "<Control><Shift>a", "win.mask-clear", NULL, "<Primary><Shift>a" },
  };
  GtkShortcutController *keys = NULL;
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (win));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++) {
    g_autoptr (GtkEventController) c = g_list_model_get_item (controllers, i);
    if (g_strcmp0 (gtk_event_controller_get_name (c), "tessera-tool-shortcuts") == 0)
      keys = GTK_SHORTCUT_CONTROLLER (c);
  }
  g_assert_nonnull (keys);
  g_assert_cmpint (gtk_event_controller_get_propagation_phase (GTK_EVENT_CONTROLLER (keys)), ==,
                   GTK_PHASE_BUBBLE);

  g_autoptr (GtkBuilder) overlay = gtk_builder_new_from_resource (
      "/io/github/tessera/Tessera/gtk/help-overlay.ui");
  GSList *objects = gtk_builder_get_objects (overlay);
  for (gsize k = 0; k < G_N_ELEMENTS (expected); k++) {
    gboolean found = FALSE;
    for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (keys)); i++) {
      g_autoptr (GtkShortcut) s = g_list_model_get_item (G_LIST_MODEL (keys), i);
      g_autoptr (GtkShortcutTrigger) want = gtk_shortcut_trigger_parse_string (expected[k].trigger);
      GtkShortcutAction *a = gtk_shortcut_get_action (s);
      if (!gtk_shortcut_trigger_equal (gtk_shortcut_get_trigger (s), want)
          || !GTK_IS_NAMED_ACTION (a)
          || !g_str_equal (gtk_named_action_get_action_name (GTK_NAMED_ACTION (a)),
                           expected[k].action))
        continue;
      GVariant *args = gtk_shortcut_get_arguments (s);
      if (expected[k].target
          && (!args || !g_str_equal (g_variant_get_string (args, NULL), expected[k].target)))
        continue;
      found = TRUE;
    }
    if (!found)
      g_test_message ("no shortcut %s → %s", expected[k].trigger, expected[k].action);
    g_assert_true (found);
    gboolean listed = FALSE;
    for (GSList *l = objects; l; l = l->next) {
      if (!GTK_IS_SHORTCUTS_SHORTCUT (l->data))
        continue;
      g_autofree char *accel = NULL;
      g_object_get (l->data, "accelerator", &accel, NULL);
      listed = listed || g_strcmp0 (accel, expected[k].overlay) == 0;
    }
    if (!listed)
      g_test_message ("the shortcuts window does not list %s", expected[k].overlay);
    g_assert_true (listed);
  }
  g_slist_free (objects);

  /* Each does what it says, activated as a key press would. */
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (keys)); i++) {
    g_autoptr (GtkShortcut) s = g_list_model_get_item (G_LIST_MODEL (keys), i);
    g_autofree char *trigger = gtk_shortcut_trigger_to_string (gtk_shortcut_get_trigger (s));
    if (g_str_equal (trigger, "r")) {
      g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (s), 0,
                                                   GTK_WIDGET (win),
                                                   gtk_shortcut_get_arguments (s)));
      pump ();
      g_assert_cmpint (tessera_canvas_get_tool (canvas ()), ==, TESSERA_CANVAS_TOOL_RECTANGLE);
    } else if (g_str_equal (trigger, "bracketright")) {
      double before = tessera_canvas_get_brush (canvas ())->size;
      g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (s), 0,
                                                   GTK_WIDGET (win), NULL));
      pump ();
      g_assert_cmpfloat (tessera_canvas_get_brush (canvas ())->size, >, before);
    } else if (g_str_equal (trigger, "bracketleft")) {
      double before = tessera_canvas_get_brush (canvas ())->size;
      g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (s), 0,
                                                   GTK_WIDGET (win), NULL));
      pump ();
      g_assert_cmpfloat (tessera_canvas_get_brush (canvas ())->size, <, before);
    } else if (g_str_equal (trigger, "h")) {
      gboolean shown = tessera_document_get_mask_visible (document ());
      g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (s), 0,
                                                   GTK_WIDGET (win), NULL));
      pump ();
      g_assert_cmpint (tessera_document_get_mask_visible (document ()), ==, !shown);
      gtk_shortcut_action_activate (gtk_shortcut_get_action (s), 0, GTK_WIDGET (win), NULL);
      pump ();
      g_assert_cmpint (tessera_document_get_mask_visible (document ()), ==, shown);
    }
  }
  act_unchecked ("tool", g_variant_new_string ("brush"));
  g_assert_cmpint (tessera_canvas_get_tool (canvas ()), ==, TESSERA_CANVAS_TOOL_BRUSH);
}

/* The tool bar's toggle button for win.tool(name). */
static GtkWidget *
find_tool_button (GtkWidget *w, const char *name)
{
  if (GTK_IS_TOGGLE_BUTTON (w)
      && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (w)), "win.tool") == 0) {
    GVariant *target = gtk_actionable_get_action_target_value (GTK_ACTIONABLE (w));
    if (target && g_str_equal (g_variant_get_string (target, NULL), name))
      return w;
  }
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c)) {
    GtkWidget *found = find_tool_button (c, name);
    if (found)
      return found;
  }
  return NULL;
}

/* Rectangle: the mask gets exactly the rectangle dragged; Ctrl-drag takes a part out;
 * invert and clear act on the whole mask; each is one step of history. */
static void
test_rectangle (void)
{
  open_picture (300, 200);
  act_unchecked ("zoom-fit", NULL);
  act_unchecked ("tool", g_variant_new_string ("rectangle"));
  g_assert_cmpuint (mask_count (), ==, 0);
  /* The tool bar shows the tool chosen. */
  GtkWidget *button = find_tool_button (GTK_WIDGET (win), "rectangle");
  g_assert_nonnull (button);
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (button)));
  g_assert_false (gtk_toggle_button_get_active (
      GTK_TOGGLE_BUTTON (find_tool_button (GTK_WIDGET (win), "brush"))));
  TesseraHistory *h = tessera_window_get_history (win);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (h));

  /* Halfway through the drag: the outline on screen, the mask untouched. */
  double wx, wy;
  tessera_canvas_image_to_widget (canvas (), 50, 40, &wx, &wy);
  tessera_canvas_drag_begin (canvas (), wx, wy, 1.0, 0);
  tessera_canvas_image_to_widget (canvas (), 150, 120, &wx, &wy);
  tessera_canvas_drag_update (canvas (), wx, wy, 1.0);
  g_autoptr (GdkTexture) dragging = render (GTK_WIDGET (win), "canvas-04-rectangle-drag.png");
  g_assert_cmpuint (mask_count (), ==, 0);
  tessera_canvas_drag_end (canvas ());
  pump ();
  TesseraRect b = tessera_mask_bounds (tessera_document_get_mask (document ()));
  g_assert_cmpint (b.x, ==, 50);
  g_assert_cmpint (b.y, ==, 40);
  g_assert_cmpint (b.width, ==, 100);
  g_assert_cmpint (b.height, ==, 80);
  g_assert_cmpuint (mask_count (), ==, 100 * 80);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (h)), ==, n + 1);
  g_autoptr (GdkTexture) selected = render (GTK_WIDGET (win), "canvas-05-rectangle-mask.png");

  /* Ctrl: a 20 × 20 hole. */
  drag_image (60, 50, 80, 70, GDK_CONTROL_MASK);
  g_assert_cmpuint (mask_count (), ==, 100 * 80 - 20 * 20);
  g_assert_cmpint (tessera_document_get_mask_value (document (), 70, 60), ==, 0);
  g_assert_cmpint (tessera_document_get_mask_value (document (), 55, 45), ==, 255);

  act_unchecked ("mask-invert", NULL);
  g_assert_cmpuint (mask_count (), ==, 300 * 200 - (100 * 80 - 20 * 20));
  g_assert_cmpint (tessera_document_get_mask_value (document (), 70, 60), ==, 255);
  act_unchecked ("mask-clear", NULL);
  g_assert_cmpuint (mask_count (), ==, 0);
  act_unchecked ("undo", NULL);
  g_assert_cmpuint (mask_count (), ==, 300 * 200 - (100 * 80 - 20 * 20));
  act_unchecked ("undo", NULL);
  act_unchecked ("undo", NULL);
  g_assert_cmpuint (mask_count (), ==, 100 * 80);
  act_unchecked ("mask-clear", NULL);
}

/* Lasso: a freehand triangle fills about its area, inside its bounds. */
static void
test_lasso (void)
{
  act_unchecked ("tool", g_variant_new_string ("lasso"));
  g_assert_cmpuint (mask_count (), ==, 0);
  const double pts[][2] = { { 40, 30 }, { 240, 30 }, { 40, 170 }, { 40, 30 } };
  double wx, wy;
  tessera_canvas_image_to_widget (canvas (), pts[0][0], pts[0][1], &wx, &wy);
  tessera_canvas_drag_begin (canvas (), wx, wy, 1.0, 0);
  for (int k = 1; k < 4; k++)
    for (int i = 1; i <= 20; i++) {
      double x = pts[k - 1][0] + (pts[k][0] - pts[k - 1][0]) * i / 20.0;
      double y = pts[k - 1][1] + (pts[k][1] - pts[k - 1][1]) * i / 20.0;
      tessera_canvas_image_to_widget (canvas (), x, y, &wx, &wy);
      tessera_canvas_drag_update (canvas (), wx, wy, 1.0);
    }
  tessera_canvas_drag_end (canvas ());
  pump ();
  double area = 200.0 * 140 / 2, perimeter = 200 + 140 + hypot (200, 140);
  g_test_message ("lasso: %" G_GSIZE_FORMAT " pixels, triangle area %.0f", mask_count (), area);
  g_assert_cmpfloat (fabs ((double) mask_count () - area), <, perimeter);
  TesseraRect b = tessera_mask_bounds (tessera_document_get_mask (document ()));
  g_assert_cmpint (b.x, >=, 39);
  g_assert_cmpint (b.y, >=, 29);
  g_assert_cmpint (b.x + b.width, <=, 241);
  g_assert_cmpint (b.y + b.height, <=, 171);
  g_assert_cmpint (tessera_document_get_mask_value (document (), 60, 50), ==, 255);
  g_assert_cmpint (tessera_document_get_mask_value (document (), 200, 150), ==, 0);
  act_unchecked ("mask-clear", NULL);
  act_unchecked ("tool", g_variant_new_string ("brush"));
}

static int extend_calls, extended[4];

static void
on_extend (TesseraCanvas *c, int left, int top, int right, int bottom, gpointer data)
{
  extend_calls++;
  extended[0] = left;
  extended[1] = top;
  extended[2] = right;
  extended[3] = bottom;
}

/* Dragging the right-hand handle outwards by 3.4 tokens asks for 3 tokens on the right,
 * shown live while dragging; dragging inwards asks for nothing. */
static void
test_outpaint_handles (void)
{
  TesseraCanvas *c = canvas ();
  int token;
  g_object_get (c, "token-size", &token, NULL);
  g_test_message ("token size on the canvas: %d", token);
  g_assert_cmpint (token, >=, 1);
  act_unchecked ("zoom-fit", NULL);
  /* Zoomed out a little, so the whole extension shows beside the picture. */
  tessera_canvas_zoom_at (c, tessera_canvas_get_zoom (c) * 0.6,
                          gtk_widget_get_width (GTK_WIDGET (c)) / 2.0,
                          gtk_widget_get_height (GTK_WIDGET (c)) / 2.0);
  double zoom = tessera_canvas_get_zoom (c);
  gulong id = g_signal_connect (c, "extend-requested", G_CALLBACK (on_extend), NULL);
  extend_calls = 0;

  double hx, hy;
  g_assert_true (tessera_canvas_get_handle_center (c, TESSERA_CANVAS_SIDE_RIGHT, &hx, &hy));
  int w = tessera_document_get_width (document ());
  tessera_canvas_drag_begin (c, hx, hy, 1.0, 0);
  tessera_canvas_drag_update (c, hx + 3.4 * token * zoom, hy + 5, 1.0);
  int pending[4];
  tessera_canvas_get_pending_extension (c, pending);
  g_assert_cmpint (pending[0], ==, 0);
  g_assert_cmpint (pending[1], ==, 0);
  g_assert_cmpint (pending[2], ==, 3 * token);
  g_assert_cmpint (pending[3], ==, 0);
  g_autoptr (GdkTexture) live = render (GTK_WIDGET (win), "canvas-06-outpaint-drag.png");
  /* The new area is shown checkered: two greys alternate just right of the picture. */
  double px, py;
  tessera_canvas_image_to_widget (c, w + 1.5 * token, 30, &px, &py);
  g_autoptr (GdkTexture) cshot = render (GTK_WIDGET (c), NULL);
  int cw = gdk_texture_get_width (cshot), ch = gdk_texture_get_height (cshot);
  g_autofree guint32 *cpx = g_new (guint32, (gsize) cw * ch);
  gdk_texture_download (cshot, (guchar *) cpx, (gsize) cw * 4);
  guint32 lo = 0xff, hi = 0;
  for (int dx = 0; dx < 16; dx++) {
    guint32 v = cpx[(gsize) (int) py * cw + (int) px + dx] & 0xff;
    lo = MIN (lo, v);
    hi = MAX (hi, v);
  }
  g_assert_cmpuint (hi - lo, >, 30);
  tessera_canvas_drag_end (c);
  pump ();
  g_assert_cmpint (extend_calls, ==, 1);
  g_assert_cmpint (extended[0], ==, 0);
  g_assert_cmpint (extended[1], ==, 0);
  g_assert_cmpint (extended[2], ==, 3 * token);
  g_assert_cmpint (extended[3], ==, 0);
  tessera_canvas_get_pending_extension (c, pending);
  g_assert_cmpint (pending[2], ==, 0);
  g_test_message ("document after the drag: %d wide (was %d)",
                  tessera_document_get_width (document ()), w);
  if (tessera_window_is_running (win))
    act_unchecked ("cancel", NULL);

  /* Inwards: nothing. */
  g_assert_true (tessera_canvas_get_handle_center (c, TESSERA_CANVAS_SIDE_TOP, &hx, &hy));
  tessera_canvas_drag_begin (c, hx, hy, 1.0, 0);
  tessera_canvas_drag_update (c, hx, hy + 5 * token * zoom, 1.0);
  tessera_canvas_drag_end (c);
  g_assert_cmpint (extend_calls, ==, 1);
  g_signal_handler_disconnect (c, id);
}

static int frame_notifies;

static void
on_frame_notify (GObject *o, GParamSpec *pspec, gpointer data)
{
  frame_notifies++;
}

/* The frame moves when its outline is dragged, by the distance dragged, kept inside the
 * picture, with a notification; inside it, the tool works as usual. */
static void
test_frame (void)
{
  TesseraCanvas *c = canvas ();
  open_picture (400, 300);
  act_unchecked ("zoom-fit", NULL);
  g_object_set (c, "frame-size", 128, "frame-x", 20, "frame-y", 30, "frame-visible", TRUE,
                NULL);
  int x, y;
  g_object_get (c, "frame-x", &x, "frame-y", &y, NULL);
  g_assert_cmpint (x, ==, 20);
  g_assert_cmpint (y, ==, 30);
  gulong id = g_signal_connect (c, "notify::frame-x", G_CALLBACK (on_frame_notify), NULL);
  frame_notifies = 0;
  double zoom = tessera_canvas_get_zoom (c);
  double wx, wy;
  /* On the left edge of the frame, halfway down. */
  tessera_canvas_image_to_widget (c, 20, 30 + 64, &wx, &wy);
  tessera_canvas_drag_begin (c, wx, wy, 1.0, 0);
  tessera_canvas_drag_update (c, wx + 50 * zoom, wy + 10 * zoom, 1.0);
  g_autoptr (GdkTexture) moving = render (GTK_WIDGET (win), "canvas-07-frame-drag.png");
  tessera_canvas_drag_end (c);
  g_object_get (c, "frame-x", &x, "frame-y", &y, NULL);
  g_assert_cmpint (x, ==, 70);
  g_assert_cmpint (y, ==, 40);
  g_assert_cmpint (frame_notifies, >=, 1);
  g_assert_cmpuint (mask_count (), ==, 0);   /* it moved the frame, it did not paint */
  /* Far to the right: it stops at the picture's edge. */
  tessera_canvas_image_to_widget (c, 70, 40 + 64, &wx, &wy);
  tessera_canvas_drag_begin (c, wx, wy, 1.0, 0);
  tessera_canvas_drag_update (c, wx + 1000 * zoom, wy, 1.0);
  tessera_canvas_drag_end (c);
  g_object_get (c, "frame-x", &x, NULL);
  g_assert_cmpint (x, ==, 400 - 128);
  /* Inside the frame the brush paints. */
  act_unchecked ("tool", g_variant_new_string ("brush"));
  drag_image (330, 100, 340, 110, 0);
  g_assert_cmpuint (mask_count (), >, 0);
  g_object_get (c, "frame-x", &x, NULL);
  g_assert_cmpint (x, ==, 400 - 128);
  act_unchecked ("mask-clear", NULL);
  g_signal_handler_disconnect (c, id);
  g_object_set (c, "frame-visible", FALSE, NULL);
}

/* Comparing labels each side: dark pills near the top corners of a light picture. */
static void
test_compare_labels (void)
{
  TesseraCanvas *c = canvas ();
  open_picture (320, 240);
  act_unchecked ("zoom-fit", NULL);
  /* A step to compare with: a selection far from the label corners, then hidden. */
  act_unchecked ("tool", g_variant_new_string ("rectangle"));
  drag_image (150, 200, 170, 220, 0);
  act_unchecked ("tool", g_variant_new_string ("brush"));
  g_action_group_change_action_state (G_ACTION_GROUP (win), "show-mask",
                                      g_variant_new_boolean (FALSE));
  g_action_group_change_action_state (G_ACTION_GROUP (win), "compare",
                                      g_variant_new_boolean (TRUE));
  pump ();
  g_autoptr (GVariant) on = g_action_group_get_action_state (G_ACTION_GROUP (win), "compare");
  g_assert_true (g_variant_get_boolean (on));
  tessera_canvas_set_split (c, 0.5);
  g_autoptr (GdkTexture) labelled = render (GTK_WIDGET (c), "canvas-08-compare-labels.png");
  g_autoptr (GdkTexture) full = render (GTK_WIDGET (win), "canvas-08-compare-window.png");
  g_action_group_change_action_state (G_ACTION_GROUP (win), "compare",
                                      g_variant_new_boolean (FALSE));
  pump ();
  g_autoptr (GdkTexture) plain = render (GTK_WIDGET (c), NULL);
  int w = gdk_texture_get_width (plain), h = gdk_texture_get_height (plain);
  g_autofree guint32 *a = g_new (guint32, (gsize) w * h), *b = g_new (guint32, (gsize) w * h);
  gdk_texture_download (labelled, (guchar *) a, (gsize) w * 4);
  gdk_texture_download (plain, (guchar *) b, (gsize) w * 4);
  double x0, y0, x1, y1;
  tessera_canvas_image_to_widget (c, 0, 0, &x0, &y0);
  tessera_canvas_image_to_widget (c, 320, 240, &x1, &y1);
  /* Count pixels that changed in the top band of each half (dark pill, white text); the
   * divider in the middle is left out. */
  guint darker_left = 0, darker_right = 0;
  double mid = (x0 + x1) / 2;
  for (int y = (int) y0 + 6; y < (int) y0 + 30; y++)
    for (int x = (int) x0 + 2; x < (int) x1 - 2; x++) {
      if (fabs (x - mid) < 4)
        continue;
      int change = 0;
      for (int k = 0; k < 24; k += 8)
        change = MAX (change, abs ((int) ((a[(gsize) y * w + x] >> k) & 0xff)
                                   - (int) ((b[(gsize) y * w + x] >> k) & 0xff)));
      if (change > 40) {
        if (x < mid)
          darker_left++;
        else
          darker_right++;
      }
    }
  g_test_message ("label pixels: %u left, %u right", darker_left, darker_right);
  g_assert_cmpuint (darker_left, >, 100);
  g_assert_cmpuint (darker_right, >, 100);
  g_action_group_change_action_state (G_ACTION_GROUP (win), "show-mask",
                                      g_variant_new_boolean (TRUE));
  act_unchecked ("mask-clear", NULL);
}

/* A photo-sized picture at 112 %, where the canvas once drew it 47 px to the right. */
static void
test_photo_112 (void)
{
  open_picture (480, 640);
  int cw = gtk_widget_get_width (GTK_WIDGET (canvas ()));
  int ch = gtk_widget_get_height (GTK_WIDGET (canvas ()));
  tessera_canvas_zoom_at (canvas (), 1.12, cw / 2.0, ch / 2.0);
  tessera_canvas_pan (canvas (), 0, 200);
  g_autoptr (GdkTexture) shot = render (GTK_WIDGET (win), "canvas-02-photo-112.png");
  act_unchecked ("zoom-fit", NULL);
}

/* A generated picture applied, at fit: the model's picture fills the canvas (its pixels
 * are checked in test-canvas-pixels.c; this is the screenshot a person looks at). */
static void
test_generated_fit (void)
{
  int native = tessera_engine_get_native_size (tessera_application_get_engine (app));
  open_picture (native, native);
  g_action_group_change_action_state (G_ACTION_GROUP (win), "mode",
                                      g_variant_new_string ("generate"));
  gtk_editable_set_text (GTK_EDITABLE (tessera_window_get_prompt_entry (win)),
                         "red apple, 3d style");
  act_unchecked ("generate", NULL);
  g_assert_true (wait_for (not_running, 120));
  g_assert_cmpuint (tessera_window_get_n_pending_variants (win), >, 0);
  act_unchecked ("apply", NULL);
  act_unchecked ("zoom-fit", NULL);
  g_autoptr (GdkTexture) shot = render (GTK_WIDGET (win), "canvas-03-generated-fit.png");
}

int
main (int argc, char **argv)
{
  g_autofree char *home = window_fixture_start (&argc, &argv, "tessera-tools-XXXXXX", 4, 1);
  if (!home)
    return 0;

  g_test_add_func ("/canvas-tools/startup", test_startup);
  g_test_add_func ("/canvas-tools/shortcuts", test_shortcuts);
  g_test_add_func ("/canvas-tools/rectangle", test_rectangle);
  g_test_add_func ("/canvas-tools/lasso", test_lasso);
  g_test_add_func ("/canvas-tools/outpaint-handles", test_outpaint_handles);
  g_test_add_func ("/canvas-tools/frame", test_frame);
  g_test_add_func ("/canvas-tools/compare-labels", test_compare_labels);
  g_test_add_func ("/canvas-tools/photo-112", test_photo_112);
  g_test_add_func ("/canvas-tools/generated-fit", test_generated_fit);
  int rc = g_test_run ();
  window_fixture_finish (home);
  return rc;
}
