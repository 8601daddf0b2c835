/* window-fixture.h — what the tests of the real window (test-window.c, test-canvas-pixels.c,
 * test-canvas-tools.c) share: the application and its window, driving the main loop, the
 * program's set-up and tear-down under Xvfb, and rendering a widget as the screen shows it.
 * One copy, so a fix to how the tests wait for a frame or a job reaches all three. */
#pragma once

#include <adwaita.h>

#include "tessera-application.h"
#include "tessera-window.h"

G_BEGIN_DECLS

/* The application under test and its window (NULL until the startup test opens it). */
extern TesseraApplication *app;
extern TesseraWindow *win;

/* Runs what the main loop has pending, without blocking. */
void pump (void);

/* Iterates the main loop until cond () or the time limit; returns cond (). */
gboolean wait_for (gboolean (*cond) (void), double seconds);

/* Conditions for wait_for. */
gboolean engine_settled (void);
gboolean not_running (void);

/* The history's entry before an action, and whether the current entry is another now. */
extern TesseraHistoryEntry *entry_before;
gboolean history_moved (void);
/* history_moved, answering "Save changes?" with Discard when Open asks it. */
gboolean history_moved_or_asked (void);

/* Activates the window's action NAME, which must exist and be enabled, then pumps. */
void act (const char *name, GVariant *param);
/* The same for an action that may be disabled (activating it then does nothing). */
void act_unchecked (const char *name, GVariant *param);

/* w's next frame (waited for up to 5 s; *drawn says whether it came) rendered through its
 * window's renderer, at the widget's size or else at its paintable's own size. */
GdkTexture *render_widget (GtkWidget *w, gboolean at_widget_size, gboolean *drawn);

/* Writes tex as FILE under TESSERA_ARTIFACTS, where that is set (a test artifact). */
void save_artifact (GdkTexture *tex, const char *file);

/* Activates the application and waits until its window is mapped and drawn; sets win. */
void window_fixture_show (void);

/* Removes a folder of this run with everything in it. */
void remove_tree (const char *path);

/* The program's start: NULL (after printing TAP's whole-program skip) without a display;
 * else a temporary home made from TEMPLATE for XDG state and data (autosaves and recent
 * files stay out of the user's), GTK and libadwaita set up, and app registered with small,
 * quick requests (STEPS, VARIANTS) on TESSERA_MODEL_DIR's model. */
char *window_fixture_start (int *argc, char ***argv, const char *template, int steps,
                            int variants);
/* After g_test_run: the window and the application gone, HOME removed. */
void window_fixture_finish (const char *home);

G_END_DECLS
