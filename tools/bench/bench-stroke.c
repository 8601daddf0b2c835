/* bench-stroke.c — tessera-bench-stroke: how long one frame of mask painting takes on a
 * 2048² picture, against the 16.7 ms a frame has at 60 fps.
 *
 *   xvfb-run -a build/tools/bench/tessera-bench-stroke [--frames N]
 *
 * A real TesseraCanvas in a 1280×800 window paints one long stroke the way the mouse does:
 * two motion samples per frame (a 120 Hz mouse) through tessera_canvas_stroke_to, which
 * stamps the brush into the mask, then the frame GTK draws for it (the canvas rebuilds the
 * overlay tiles the stamps touched and the renderer redraws the damaged region). Frame cost
 * = input handling + GTK's paint phase (layout, snapshot, render), in wall and in main-thread
 * CPU time, at three zooms: fit (the whole picture, from tiles), 100 % (tiles) and 200 %
 * (nearest-neighbour pixels). One JSON line per zoom. Needs a display (Xvfb will do); the
 * renderer is GTK's default or GSK_RENDERER's. Not a test: nothing here fails. */
#include <gtk/gtk.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "tessera-canvas.h"

#define SIDE 2048
#define BUDGET_MS (1000.0 / 60)
#define SAMPLES_PER_FRAME 2

typedef struct {
  GtkWidget *window;
  TesseraCanvas *canvas;
  guint paints;          /* after-paint count */
  double paint_start_wall, paint_start_cpu;
  double paint_wall, paint_cpu;   /* of the last frame */
} Bench;

static double
wall_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static double
cpu_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
on_before_paint (GdkFrameClock *clock, Bench *b)
{
  b->paint_start_wall = wall_ms ();
  b->paint_start_cpu = cpu_ms ();
}

static void
on_after_paint (GdkFrameClock *clock, Bench *b)
{
  b->paint_wall = wall_ms () - b->paint_start_wall;
  b->paint_cpu = cpu_ms () - b->paint_start_cpu;
  b->paints++;
}

/* Iterates the main loop until the next frame has been painted (5 s at most). */
static gboolean
wait_frame (Bench *b)
{
  guint target = b->paints + 1;
  double end = wall_ms () + 5000;
  gtk_widget_queue_draw (GTK_WIDGET (b->canvas));
  while (b->paints < target && wall_ms () < end)
    g_main_context_iteration (NULL, TRUE);
  return b->paints >= target;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* The q-quantile (0..1) of n values; sorts them. */
static double
quantile (double *v, int n, double q)
{
  qsort (v, n, sizeof *v, compare_doubles);
  return v[MIN (n - 1, (int) floor (q * (n - 1) + 0.5))];
}

/* A long stroke over the part of the picture in view: a Lissajous curve, about 10 widget
 * pixels per frame (a quick but ordinary hand). */
static void
stroke_point (TesseraCanvas *c, int i, double *x, double *y)
{
  TesseraDocument *doc = tessera_canvas_get_document (c);
  double x0, y0, x1, y1;
  tessera_canvas_image_to_widget (c, 0, 0, &x0, &y0);
  tessera_canvas_image_to_widget (c, tessera_document_get_width (doc),
                                  tessera_document_get_height (doc), &x1, &y1);
  x0 = MAX (x0, 0);
  y0 = MAX (y0, 0);
  x1 = MIN (x1, gtk_widget_get_width (GTK_WIDGET (c)));
  y1 = MIN (y1, gtk_widget_get_height (GTK_WIDGET (c)));
  double t = i * 0.006;
  *x = (x0 + x1) / 2 + 0.4 * (x1 - x0) * sin (3 * t + 0.3);
  *y = (y0 + y1) / 2 + 0.4 * (y1 - y0) * sin (2 * t);
}

static double
load_average (void)
{
  double load = -1;
  g_autofree char *text = NULL;
  if (g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    load = g_ascii_strtod (text, NULL);
  return load;
}

static void
bench_zoom (Bench *b, const char *zoom_name, double zoom, int frames)
{
  TesseraCanvas *c = b->canvas;
  TesseraDocument *doc = tessera_canvas_get_document (c);
  tessera_document_mask_clear (doc);
  if (zoom <= 0)
    tessera_canvas_zoom_fit (c);
  else
    tessera_canvas_zoom_at (c, zoom, gtk_widget_get_width (GTK_WIDGET (c)) / 2.0,
                            gtk_widget_get_height (GTK_WIDGET (c)) / 2.0);
  /* Settle: the first frame at a zoom builds every tile. */
  wait_frame (b);
  wait_frame (b);
  tessera_canvas_take_tile_uploads (c);

  double *wall = g_new (double, frames), *cpu = g_new (double, frames);
  double *input_cpu = g_new (double, frames), *paint_cpu = g_new (double, frames);
  int done = 0, k = 0;
  double x, y;
  stroke_point (c, k++, &x, &y);
  tessera_canvas_stroke_begin (c, x, y, 1.0);
  for (; done < frames; done++) {
    double w0 = wall_ms (), c0 = cpu_ms ();
    for (int s = 0; s < SAMPLES_PER_FRAME; s++) {
      stroke_point (c, k++, &x, &y);
      tessera_canvas_stroke_to (c, x, y, 1.0);
    }
    double input_wall = wall_ms () - w0;
    input_cpu[done] = cpu_ms () - c0;
    if (!wait_frame (b))
      break;
    paint_cpu[done] = b->paint_cpu;
    wall[done] = input_wall + b->paint_wall;
    cpu[done] = input_cpu[done] + b->paint_cpu;
  }
  tessera_canvas_stroke_end (c);
  guint uploads = tessera_canvas_take_tile_uploads (c);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (b->window));
  if (done == 0) {
    printf ("{\"bench\":\"stroke\",\"zoom\":\"%s\",\"error\":\"no frame was drawn\"}\n",
            zoom_name);
  } else {
    double p95_cpu = quantile (cpu, done, 0.95), p95_wall = quantile (wall, done, 0.95);
    printf ("{\"bench\":\"stroke\",\"zoom\":\"%s\",\"zoom_factor\":%.3f,\"image\":%d,"
            "\"renderer\":\"%s\",\"frames\":%d,\"brush_px\":%.0f,"
            "\"frame_cpu_ms\":{\"median\":%.2f,\"p95\":%.2f,\"max\":%.2f},"
            "\"input_cpu_ms_median\":%.2f,\"paint_cpu_ms_median\":%.2f,"
            "\"frame_wall_ms\":{\"median\":%.2f,\"p95\":%.2f,\"max\":%.2f},"
            "\"tiles_rebuilt_per_frame\":%.2f,\"budget_ms\":%.1f,"
            "\"p95_cpu_within_budget\":%s,\"load_1min\":%.2f}\n",
            zoom_name, tessera_canvas_get_zoom (c), SIDE, G_OBJECT_TYPE_NAME (renderer), done,
            tessera_canvas_get_brush (c)->size, quantile (cpu, done, 0.5), p95_cpu,
            quantile (cpu, done, 1.0), quantile (input_cpu, done, 0.5),
            quantile (paint_cpu, done, 0.5), quantile (wall, done, 0.5), p95_wall,
            quantile (wall, done, 1.0), (double) uploads / done, BUDGET_MS,
            p95_cpu <= BUDGET_MS ? "true" : "false", load_average ());
  }
  fflush (stdout);
  g_free (wall);
  g_free (cpu);
  g_free (input_cpu);
  g_free (paint_cpu);
}

int
main (int argc, char **argv)
{
  int frames = 240;
  GOptionEntry entries[] = {
    { "frames", 'n', 0, G_OPTION_ARG_INT, &frames, "Frames per zoom (default 240)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || frames < 1) {
    fprintf (stderr, "usage: tessera-bench-stroke [--frames N]%s%s\n", error ? ": " : "",
             error ? error->message : "");
    return 2;
  }
  if (!gtk_init_check ()) {
    printf ("{\"bench\":\"stroke\",\"error\":\"no display (run it under xvfb-run -a)\"}\n");
    return 1;
  }
  g_autoptr (TesseraDocument) doc = tessera_document_new (SIDE, SIDE, &error);
  if (!doc) {
    printf ("{\"bench\":\"stroke\",\"error\":\"%s\"}\n", error->message);
    return 1;
  }
  Bench b = { 0 };
  b.window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (b.window), 1280, 800);
  b.canvas = TESSERA_CANVAS (tessera_canvas_new ());
  gtk_window_set_child (GTK_WINDOW (b.window), GTK_WIDGET (b.canvas));
  tessera_canvas_set_document (b.canvas, doc);
  tessera_canvas_set_brush (b.canvas, 48, 0.7, FALSE);
  gtk_window_present (GTK_WINDOW (b.window));
  while (!gtk_widget_get_mapped (b.window))
    g_main_context_iteration (NULL, TRUE);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (b.window);
  g_signal_connect (clock, "before-paint", G_CALLBACK (on_before_paint), &b);
  g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &b);
  printf ("{\"bench\":\"stroke-setup\",\"load_1min\":%.2f}\n", load_average ());
  bench_zoom (&b, "fit", 0, frames);
  bench_zoom (&b, "100%", 1.0, frames);
  bench_zoom (&b, "200%", 2.0, frames);
  gtk_window_destroy (GTK_WINDOW (b.window));
  return 0;
}
