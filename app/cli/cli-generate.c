/* cli-generate.c — `tessera-cli MODE`, a subcommand for each row of the mode table
 * (generate, inpaint, outpaint, background, edit, restyle): one pipeline request from the
 * command line, images in and out through GdkPixbuf. The options a subcommand takes and its
 * checks follow from its row's flags. */
#include "cli.h"
#include "model/ts-model-defaults.h"
#include "model/ts-model-locate.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Which subcommands an option belongs to: those whose row has any of these flags; FOR_ALL
 * (no flag) is every subcommand. */
#define FOR_ALL 0

/* The positional arguments, as the usage line shows them. */
static const char *
mode_args (const TsModeInfo *m)
{
  if (!(m->flags & TS_MODE_NEEDS_IMAGE))
    return N_("PROMPT");
  return m->flags & TS_MODE_PROMPT_OPTIONAL ? N_("IMAGE [PROMPT]") : N_("IMAGE PROMPT");
}

/* Whether the option taken by the modes with `flags` (FOR_ALL: every mode) belongs to m. */
static gboolean
mode_takes (const TsModeInfo *m, TsModeFlags flags)
{
  return flags == FOR_ALL || (m->flags & flags) != 0;
}

/* Numbers arrive as strings so that every bad one gets the same clear message. */
typedef struct {
  char *model, *device, *prompt_option, *negative, *output, *mask, *extend, *image_option;
  char *seed, *steps, *guidance, *variants, *strength, *width, *height, *iterations, *fraction,
       *aesthetic, *max_size, *grow, *feather, *overlap, *left, *right, *top, *bottom, *frame,
       *precision;
  gboolean quiet, verbose, progress, fast, whole;
  char   **rest;
  const char *prompt; /* --prompt or the positional PROMPT */
} CliArgs;

static void
args_clear (CliArgs *a)
{
  char **all[] = { &a->model, &a->device, &a->prompt_option, &a->negative, &a->output,
                   &a->image_option, &a->mask, &a->extend, &a->seed, &a->steps, &a->guidance,
                   &a->variants, &a->strength, &a->width, &a->height, &a->iterations,
                   &a->fraction, &a->aesthetic, &a->max_size, &a->grow, &a->feather,
                   &a->overlap, &a->left, &a->right, &a->top, &a->bottom, &a->frame,
                   &a->precision };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_clear_pointer (all[i], g_free);
  g_clear_pointer (&a->rest, g_strfreev);
}

static gboolean
parse_int (const char *what, const char *text, gint64 min, gint64 max, gint64 *out,
           GError **error)
{
  if (!text)
    return TRUE;
  if (!g_ascii_string_to_signed (text, 10, min, max, out, NULL)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 /* %lld, not G_GINT64_FORMAT: xgettext cannot see through the macro. */
                 _("invalid %s “%s”: expected a whole number from %lld to %lld"), what, text,
                 (long long) min, (long long) max);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_double (const char *what, const char *text, double min, double max, double *out,
              GError **error)
{
  if (!text)
    return TRUE;
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod (text, &end);
  if (!*text || *end || errno || !isfinite (v) || v < min || v > max) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 _("invalid %s “%s”: expected a number from %g to %g"), what, text, min, max);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

/* "left=64,top=32" (any of left, top, right, bottom) */
static gboolean
parse_extend (const char *text, TsPipelineRequest *r, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  for (int i = 0; parts[i]; i++) {
    g_auto (GStrv) kv = g_strsplit (parts[i], "=", 2);
    gint64 v = 0;
    int *slot = NULL;
    if (kv[0] && kv[1]) {
      const char *k = g_strstrip (kv[0]);
      slot = g_str_equal (k, "left") ? &r->extend_left : g_str_equal (k, "top") ? &r->extend_top
           : g_str_equal (k, "right") ? &r->extend_right
           : g_str_equal (k, "bottom") ? &r->extend_bottom : NULL;
    }
    if (!slot) {
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                   _("invalid --extend “%s”: expected side=pixels with side left, top, right "
                     "or bottom"), parts[i]);
      return FALSE;
    }
    if (!parse_int ("--extend", g_strstrip (kv[1]), 0, 8192, &v, error))
      return FALSE;
    *slot = (int) v;
  }
  return TRUE;
}

/* "--frame X,Y": the top-left corner of the working-size frame, in pixels. */
static gboolean
parse_frame (const char *text, TsPipelineRequest *r, GError **error)
{
  g_auto (GStrv) xy = g_strsplit (text, ",", -1);
  gint64 x = 0, y = 0;
  if (g_strv_length (xy) != 2 ||
      !g_ascii_string_to_signed (g_strstrip (xy[0]), 10, 0, 8192, &x, NULL) ||
      !g_ascii_string_to_signed (g_strstrip (xy[1]), 10, 0, 8192, &y, NULL)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 _("invalid --frame “%s”: expected X,Y, the frame's top-left corner in "
                   "pixels, e.g. --frame 64,32"), text);
    return FALSE;
  }
  r->use_frame = TRUE;
  r->frame_x = (int) x;
  r->frame_y = (int) y;
  return TRUE;
}

/* "generate [OPTION…] PROMPT": the usage line that errors about arguments repeat. */
static char *
usage_line (const TsModeInfo *m)
{
  return g_strdup_printf ("tessera-cli %s [OPTION…] %s", m->id, _(mode_args (m)));
}

/* IMAGE and PROMPT from the positional arguments; the prompt may also come with --prompt. */
static gboolean
take_positionals (const TsModeInfo *m, CliArgs *a, GError **error)
{
  int n_images = m->flags & TS_MODE_NEEDS_IMAGE ? 1 : 0;
  int n_rest = a->rest ? (int) g_strv_length (a->rest) : 0;
  gboolean prompt_optional = (m->flags & TS_MODE_PROMPT_OPTIONAL) != 0;
  g_autofree char *usage = usage_line (m);
  if (n_rest > n_images + 1) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 _("too many arguments; usage: %s (put quotes around a prompt with spaces)"),
                 usage);
    return FALSE;
  }
  if (n_rest < n_images) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 _("an input image is required; usage: %s"), usage);
    return FALSE;
  }
  a->prompt = a->prompt_option;
  if (n_rest == n_images + 1) {
    if (a->prompt_option) {
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                   _("the prompt is given twice: with --prompt and as “%s”"),
                   a->rest[n_images]);
      return FALSE;
    }
    a->prompt = a->rest[n_images];
  }
  /* --prompt arrives as UTF-8 (GOption converts it); the argument as the shell gave it. */
  if (a->prompt && !g_utf8_validate (a->prompt, -1, NULL)) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                         _("the prompt is not valid UTF-8 text"));
    return FALSE;
  }
  if (!a->prompt && !prompt_optional) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 _("a prompt is required; usage: %s"), usage);
    return FALSE;
  }
  return TRUE;
}

/* Without --guidance, the model's own default (ts-model-defaults.h). */
static gboolean
take_model_guidance (const char *model, TsPipelineRequest *r, GError **error)
{
  TsModelDefaults d;
  if (!ts_model_defaults_read (model, &d, error))
    return FALSE;
  r->guidance = d.guidance;
  return TRUE;
}

/* The options into a request; usage errors only (files are read later). */
static gboolean
build_request (const TsModeInfo *m, CliArgs *a, TsPipelineRequest *r, GError **error)
{
  ts_pipeline_request_init (r, m->mode);
  gint64 seed = 0, steps = r->steps, variants = 1, width = 0, height = 0,
         iterations = r->edit_iterations, max_size = 0, grow = r->grow, feather = r->feather,
         overlap = r->overlap, left = 0, right = 0, top = 0, bottom = 0;
  double guidance = r->guidance, strength = r->strength, fraction = r->edit_fraction,
         aesthetic = r->aesthetic_score;
  if (!take_positionals (m, a, error) ||
      !parse_int ("--seed", a->seed, 0, G_MAXINT64, &seed, error) ||
      !parse_int ("--steps", a->steps, 1, 1000, &steps, error) ||
      !parse_int ("--variants", a->variants, 1, 64, &variants, error) ||
      !parse_int ("--width", a->width, 16, 8192, &width, error) ||
      !parse_int ("--height", a->height, 16, 8192, &height, error) ||
      !parse_int ("--iterations", a->iterations, 1, 1000, &iterations, error) ||
      !parse_int ("--max-size", a->max_size, 16, 8192, &max_size, error) ||
      !parse_int ("--grow", a->grow, 0, 8192, &grow, error) ||
      !parse_int ("--feather", a->feather, 0, 8192, &feather, error) ||
      !parse_int ("--overlap", a->overlap, 0, 8192, &overlap, error) ||
      !parse_int ("--left", a->left, 0, 8192, &left, error) ||
      !parse_int ("--right", a->right, 0, 8192, &right, error) ||
      !parse_int ("--top", a->top, 0, 8192, &top, error) ||
      !parse_int ("--bottom", a->bottom, 0, 8192, &bottom, error) ||
      !parse_double ("--guidance", a->guidance, 0, 1000, &guidance, error) ||
      !parse_double ("--strength", a->strength, 0, 1, &strength, error) ||
      !parse_double ("--fraction", a->fraction, 1e-6, 1, &fraction, error) ||
      !parse_double ("--aesthetic", a->aesthetic, -100, 100, &aesthetic, error))
    return FALSE;
  if (a->extend && !parse_extend (a->extend, r, error))
    return FALSE;
  if (a->frame && a->whole) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                         _("--frame and --whole exclude each other: a frame of the picture, or "
                           "the whole picture scaled"));
    return FALSE;
  }
  if (a->frame && !parse_frame (a->frame, r, error))
    return FALSE;
  if (!(m->flags & TS_MODE_NEEDS_IMAGE) && (a->frame || a->whole) && !a->image_option) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                         _("--frame and --whole are for a picture: add --image FILE"));
    return FALSE;
  }
  if (a->image_option && (a->width || a->height)) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                         _("--width and --height do not go with --image: the result has the "
                           "picture's size"));
    return FALSE;
  }
  /* --left and the others win over the same side in --extend. */
  if (a->left)
    r->extend_left = (int) left;
  if (a->right)
    r->extend_right = (int) right;
  if (a->top)
    r->extend_top = (int) top;
  if (a->bottom)
    r->extend_bottom = (int) bottom;
  r->seed = (guint64) seed;
  r->steps = (int) steps;
  r->n_variants = (int) variants;
  r->width = (int) width;
  r->height = (int) height;
  r->edit_iterations = (int) iterations;
  r->max_work_size = (int) max_size;
  r->grow = (int) grow;
  r->feather = (int) feather;
  r->overlap = (int) overlap;
  r->guidance = guidance;
  r->strength = strength;
  r->edit_fraction = fraction;
  r->aesthetic_score = aesthetic;
  if (a->fast)
    ts_pipeline_request_set_fast (r);
  r->prompt = a->prompt ? a->prompt : "";
  r->negative_prompt = a->negative;

  const char *problem = NULL;
  if (!a->output)
    problem = _("an output file is required (-o FILE)");
  else if ((m->flags & TS_MODE_NEEDS_MASK) && !a->mask)
    problem = _("a mask is required (--mask FILE)");
  else if ((m->flags & TS_MODE_NEEDS_EXTEND) &&
           r->extend_left + r->extend_right + r->extend_top + r->extend_bottom == 0)
    problem = _("say how far to extend, e.g. --left 64 --right 64");
  if (problem) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, problem);
    return FALSE;
  }
  return TRUE;
}

/* out.png → out-1.png, out-2.png … when there are several variants. */
static char *
numbered_output (const char *path, int index, int n)
{
  if (n == 1)
    return g_strdup (path);
  const char *dot = strrchr (path, '.');
  const char *slash = strrchr (path, '/');
  if (!dot || (slash && dot < slash))
    return g_strdup_printf ("%s-%d", path, index + 1);
  return g_strdup_printf ("%.*s-%d%s", (int) (dot - path), path, index + 1, dot);
}

static int
fail (const char *cmd, const GError *error, int status)
{
  fprintf (stderr, "tessera-cli %s: %s\n", cmd, error->message);
  return status;
}

/* "inpaint and background", "inpaint, outpaint and background": the subcommands that take
 * an option of the modes with `flags`, in the table's order. */
static char *
mode_list (TsModeFlags flags)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (guint i = 0; i < ts_mode_count (); i++)
    if (mode_takes (ts_mode_nth (i), flags))
      g_ptr_array_add (names, (gpointer) ts_mode_nth (i)->id);
  if (names->len == 1)
    return g_strdup (names->pdata[0]);
  g_autoptr (GString) head = g_string_new (names->pdata[0]);
  for (guint i = 1; i + 1 < names->len; i++)
    g_string_append_printf (head, ", %s", (const char *) names->pdata[i]);
  /* TRANSLATORS: the last two of a list of subcommands, e.g. "inpaint, outpaint and background" */
  return g_strdup_printf (_("%s and %s"), head->str, (const char *) names->pdata[names->len - 1]);
}

/* An option of another subcommand (hidden from this one's --help, but parsed so that the
 * mistake gets a message naming the right subcommand instead of "Unknown option"). */
static gboolean
option_given (const GOptionEntry *e)
{
  if (e->arg == G_OPTION_ARG_NONE)
    return *(gboolean *) e->arg_data;
  return *(char **) e->arg_data != NULL;
}

typedef struct {
  GOptionEntry entry;
  TsModeFlags  modes; /* the option belongs to the modes with any of these (FOR_ALL: all) */
} CliOption;

/* FALSE, with a message naming the subcommands it belongs to, when an option of another
 * subcommand was given. */
static gboolean
options_belong (const TsModeInfo *m, const CliOption *options, guint n_options)
{
  for (guint i = 0; i < n_options; i++) {
    if (mode_takes (m, options[i].modes) || !option_given (&options[i].entry))
      continue;
    g_autofree char *owners = mode_list (options[i].modes);
    const char *first = NULL;
    for (guint k = 0; k < ts_mode_count () && !first; k++)
      if (mode_takes (ts_mode_nth (k), options[i].modes))
        first = ts_mode_nth (k)->id;
    fprintf (stderr, _("tessera-cli %s: --%s is an option of %s, not of %s; use “tessera-cli "
                       "%s”\n"), m->id, options[i].entry.long_name, owners, m->id, first);
    return FALSE;
  }
  return TRUE;
}

/* Before the work, on a picture larger than the working size: that it will be processed
 * whole and scaled unless a frame is placed (with the way out), or where the frame really
 * goes (the pipeline keeps it inside the picture). */
static void
warn_about_framing (const TsModeInfo *m, const CliArgs *a, const TsPipelineRequest *req,
                    const TsImage *image, int work_side)
{
  if (!(m->flags & TS_MODE_FRAMES) || !image || a->quiet)
    return;
  gboolean larger = MAX (image->width, image->height) > work_side;
  if (!a->frame) {
    if (larger && !a->whole)
      fprintf (stderr, _("tessera-cli %s: warning: the picture (%d×%d) is larger than the "
                         "%d×%d the model works at; it is processed whole and scaled back, "
                         "which loses detail: --frame X,Y works on a %d×%d frame of it instead "
                         "(--whole: no warning)\n"), m->id, image->width, image->height,
               work_side, work_side, work_side, work_side);
    return;
  }
  int frame_w = MIN (work_side, image->width), frame_h = MIN (work_side, image->height);
  int x = CLAMP (req->frame_x, 0, image->width - frame_w);
  int y = CLAMP (req->frame_y, 0, image->height - frame_h);
  if (!larger)
    fprintf (stderr, _("tessera-cli %s: warning: the picture (%d×%d) fits the model, so "
                       "--frame changes nothing: all of it is processed\n"), m->id,
             image->width, image->height);
  else if (x != req->frame_x || y != req->frame_y)
    fprintf (stderr, _("tessera-cli %s: warning: a %d×%d frame at %d,%d would leave the "
                       "picture; it is moved to %d,%d\n"), m->id, frame_w, frame_h,
             req->frame_x, req->frame_y, x, y);
}

/* --precision: one precision for every network, or NAME=P items (text, transformer, vq). */
static gboolean
parse_precision (const char *arg, TsPipelineLoadOptions *load, GError **error)
{
  TsPrecision all;
  if (!arg)
    return TRUE;
  if (ts_precision_from_string (arg, &all)) {
    *load = (TsPipelineLoadOptions) { all, all, all };
    return TRUE;
  }
  g_auto (GStrv) items = g_strsplit (arg, ",", -1);
  for (int i = 0; items[i]; i++) {
    g_auto (GStrv) kv = g_strsplit (items[i], "=", 2);
    TsPrecision p;
    TsPrecision *slot = !kv[0] || !kv[1] ? NULL
                        : g_str_equal (kv[0], "text") ? &load->text_encoder
                        : g_str_equal (kv[0], "transformer") ? &load->transformer
                        : g_str_equal (kv[0], "vq") ? &load->vq : NULL;
    if (!slot || !ts_precision_from_string (kv[1], &p)) {
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                   _("--precision: “%s” is not f32, bf16, int8 or a list like "
                     "transformer=int8,text=bf16"), arg);
      return FALSE;
    }
    *slot = p;
  }
  return TRUE;
}

/* The op profile as JSON lines on stderr, most time first. */
static void
cli_print_profile (TsBackend *be)
{
  guint n = 0;
  g_autofree TsProfileEntry *prof = ts_backend_profile (be, &n);
  for (guint i = 0; i < n; i++)
    fprintf (stderr, "{\"profile\":\"%s\",\"count\":%" G_GUINT64_FORMAT ",\"seconds\":%.4f,"
             "\"gflops\":%.1f}\n", prof[i].name, prof[i].count, prof[i].seconds,
             prof[i].seconds > 0 ? prof[i].flops * 1e-9 / prof[i].seconds : 0.0);
}

int
cli_run_mode (const TsModeInfo *m, int argc, char **argv)
{
  CliArgs a = { 0 };
  const CliOption options[] = {
    { { "prompt", 'p', 0, G_OPTION_ARG_STRING, &a.prompt_option, N_("What to paint"),
        N_("TEXT") }, FOR_ALL },
    { { "negative", 'n', 0, G_OPTION_ARG_STRING, &a.negative, N_("What to avoid (default: "
        "nothing)"), N_("TEXT") }, FOR_ALL },
    { { "output", 'o', 0, G_OPTION_ARG_FILENAME, &a.output, N_("Output image (.png, .jpg, "
        ".webp); variants are numbered out-1.png, out-2.png…"), N_("FILE") }, FOR_ALL },
    { { "mask", 0, 0, G_OPTION_ARG_FILENAME, &a.mask, N_("Mask image of the input's size "
        "(white = the region)"), N_("FILE") }, TS_MODE_NEEDS_MASK },
    { { "grow", 0, 0, G_OPTION_ARG_STRING, &a.grow, N_("Pixels the repainted region reaches "
        "beyond the mask (0)"), N_("PIXELS") }, TS_MODE_NEEDS_MASK },
    { { "image", 0, 0, G_OPTION_ARG_FILENAME, &a.image_option, N_("Paint over this picture, "
        "at its size (with --frame, only a model-size frame of it)"), N_("FILE") },
      TS_MODE_TAKES_IMAGE },
    { { "feather", 0, 0, G_OPTION_ARG_STRING, &a.feather, N_("Pixels over which the new "
        "part blends into the old (8)"), N_("PIXELS") },
      TS_MODE_NEEDS_MASK | TS_MODE_FRAMES },
    { { "frame", 0, 0, G_OPTION_ARG_STRING, &a.frame, N_("On a picture larger than the "
        "model: work on the model-size frame whose top-left corner is X,Y and keep the rest"),
        N_("X,Y") }, TS_MODE_FRAMES },
    { { "whole", 0, 0, G_OPTION_ARG_NONE, &a.whole, N_("On a picture larger than the model: "
        "process it whole at the model's size and scale it back (loses detail)"), NULL },
      TS_MODE_FRAMES },
    { { "left", 0, 0, G_OPTION_ARG_STRING, &a.left, N_("Pixels to add on the left"),
        N_("PIXELS") }, TS_MODE_NEEDS_EXTEND },
    { { "right", 0, 0, G_OPTION_ARG_STRING, &a.right, N_("Pixels to add on the right"),
        N_("PIXELS") }, TS_MODE_NEEDS_EXTEND },
    { { "top", 0, 0, G_OPTION_ARG_STRING, &a.top, N_("Pixels to add at the top"),
        N_("PIXELS") }, TS_MODE_NEEDS_EXTEND },
    { { "bottom", 0, 0, G_OPTION_ARG_STRING, &a.bottom, N_("Pixels to add at the bottom"),
        N_("PIXELS") }, TS_MODE_NEEDS_EXTEND },
    { { "extend", 0, 0, G_OPTION_ARG_STRING, &a.extend, N_("The same in one option, e.g. "
        "left=64,top=32"), N_("SIDES") }, TS_MODE_NEEDS_EXTEND },
    { { "overlap", 0, 0, G_OPTION_ARG_STRING, &a.overlap, N_("Pixels of the picture along "
        "each extended side repainted and blended, so no seam shows (two tokens)"),
        N_("PIXELS") }, TS_MODE_NEEDS_EXTEND },
    { { "width", 0, 0, G_OPTION_ARG_STRING, &a.width, N_("Width in pixels (default: the "
        "model's size)"), N_("W") }, TS_MODE_TAKES_SIZE },
    { { "height", 0, 0, G_OPTION_ARG_STRING, &a.height, N_("Height in pixels (default: the "
        "model's size)"), N_("H") }, TS_MODE_TAKES_SIZE },
    { { "strength", 0, 0, G_OPTION_ARG_STRING, &a.strength, N_("How much may change, 0 to 1 "
        "(restyle 0.5, others 1)"), N_("S") },
      TS_MODE_TAKES_STRENGTH },
    { { "iterations", 0, 0, G_OPTION_ARG_STRING, &a.iterations, N_("Iterations (8)"),
        N_("N") }, TS_MODE_ITERATES },
    { { "fraction", 0, 0, G_OPTION_ARG_STRING, &a.fraction, N_("Fraction re-masked per "
        "iteration (0.1)"), N_("F") }, TS_MODE_ITERATES },
    { { "max-size", 0, 0, G_OPTION_ARG_STRING, &a.max_size, N_("Largest working side; bigger "
        "images are edited in a context window (default: the model's size)"), N_("PIXELS") },
      TS_MODE_NEEDS_IMAGE },
    { { "seed", 's', 0, G_OPTION_ARG_STRING, &a.seed, N_("Random seed (0)"), N_("N") },
      FOR_ALL },
    { { "variants", 0, 0, G_OPTION_ARG_STRING, &a.variants, N_("Number of images, with "
        "consecutive seeds (1)"), N_("N") }, FOR_ALL },
    { { "steps", 0, 0, G_OPTION_ARG_STRING, &a.steps, N_("Sampling steps (12)"), N_("N") },
      FOR_ALL },
    { { "guidance", 'g', 0, G_OPTION_ARG_STRING, &a.guidance, N_("Guidance scale (default: the model's, 10 for aMUSEd)"),
        N_("G") }, FOR_ALL },
    { { "aesthetic", 0, 0, G_OPTION_ARG_STRING, &a.aesthetic, N_("Aesthetic-score "
        "micro-conditioning (6)"), N_("A") }, FOR_ALL },
    { { "fast", 0, 0, G_OPTION_ARG_NONE, &a.fast, N_("Fast mode, about half the time: two "
        "thirds of the steps, guidance on the first quarter only (not the exact result)"),
        NULL }, FOR_ALL },
    { { "model", 'm', 0, G_OPTION_ARG_FILENAME, &a.model, N_("Model folder (default: the "
        "shipped model)"), N_("DIR") }, FOR_ALL },
    { { "device", 'd', 0, G_OPTION_ARG_STRING, &a.device, N_("Compute device: auto, cpu, "
        "vulkan or vulkan:N"), N_("DEVICE") }, FOR_ALL },
    { { "precision", 0, 0, G_OPTION_ARG_STRING, &a.precision, N_("CPU weight precision: f32 "
        "(exact, default), bf16 or int8, for every network or per network as "
        "text=P,transformer=P,vq=P"), N_("P") }, FOR_ALL },
    { { "progress", 0, 0, G_OPTION_ARG_NONE, &a.progress, N_("Show progress even when "
        "stderr is not a terminal"), NULL }, FOR_ALL },
    { { "quiet", 'q', 0, G_OPTION_ARG_NONE, &a.quiet, N_("Print nothing but errors"), NULL },
      FOR_ALL },
    { { "verbose", 'v', 0, G_OPTION_ARG_NONE, &a.verbose, N_("Also say which device runs "
        "and why, and the model's load time"), NULL }, FOR_ALL },
  };
  GOptionEntry entries[G_N_ELEMENTS (options) + 2];
  for (guint i = 0; i < G_N_ELEMENTS (options); i++) {
    entries[i] = options[i].entry;
    if (!mode_takes (m, options[i].modes))
      entries[i].flags |= G_OPTION_FLAG_HIDDEN;
  }
  entries[G_N_ELEMENTS (options)] = (GOptionEntry) { G_OPTION_REMAINING, 0, 0,
      G_OPTION_ARG_FILENAME_ARRAY, &a.rest, NULL, NULL };
  entries[G_N_ELEMENTS (options) + 1] = (GOptionEntry) { NULL };

  g_autoptr (GOptionContext) ctx = g_option_context_new (_(mode_args (m)));
  g_option_context_set_summary (ctx, _(m->help));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    args_clear (&a);
    return fail (m->id, error, CLI_EXIT_USAGE);
  }
  if (!options_belong (m, options, G_N_ELEMENTS (options))) {
    args_clear (&a);
    return CLI_EXIT_USAGE;
  }

  TsPipelineRequest req;
  TsPipelineLoadOptions precision = { 0 };
  int status = CLI_EXIT_OK;
  if (!build_request (m, &a, &req, &error) || !cli_image_format_ok (a.output, &error) ||
      !parse_precision (a.precision, &precision, &error)) {
    args_clear (&a);
    return fail (m->id, error, CLI_EXIT_USAGE);
  }

  /* Everything that can be checked is, before the model loads: a mistake should cost a
   * second, not a generation. */
  g_autoptr (TsImage) image = NULL, mask = NULL;
  g_autofree char *model = NULL;
  int native = 0;
  if (!cli_output_writable (a.output, &error))
    status = fail (m->id, error, CLI_EXIT_FAILURE);
  else if (!(model = cli_model_dir (a.model, &error)))
    status = fail (m->id, error, CLI_EXIT_FAILURE);
  else if (!a.guidance && !take_model_guidance (model, &req, &error))
    status = fail (m->id, error, CLI_EXIT_FAILURE);
  else if (((m->flags & TS_MODE_NEEDS_IMAGE) || a.image_option) &&
           !(image = cli_image_load (a.image_option ? a.image_option : a.rest[0], 3, &error)))
    status = fail (m->id, error, CLI_EXIT_FAILURE);
  else if (a.mask && !(mask = cli_image_load (a.mask, 1, &error)))
    status = fail (m->id, error, CLI_EXIT_FAILURE);
  else if (mask && (mask->width != image->width || mask->height != image->height)) {
    fprintf (stderr, _("tessera-cli %s: the mask is %d×%d but the image is %d×%d\n"), m->id,
             mask->width, mask->height, image->width, image->height);
    status = CLI_EXIT_FAILURE;
  } else if (!cli_check_model_request (m->id, model, &req, !a.quiet, &native, &error))
    status = fail (m->id, error, CLI_EXIT_FAILURE);
  else if (a.frame && (req.frame_x >= image->width || req.frame_y >= image->height)) {
    fprintf (stderr, _("tessera-cli %s: --frame %d,%d is outside the %d×%d picture\n"), m->id,
             req.frame_x, req.frame_y, image->width, image->height);
    status = CLI_EXIT_USAGE;
  }
  if (status != CLI_EXIT_OK) {
    args_clear (&a);
    return status;
  }
  warn_about_framing (m, &a, &req, image,
                      req.max_work_size > 0 ? req.max_work_size : native);
  req.image = image;
  req.mask = mask;
  gboolean terminal = isatty (fileno (stderr));
  CliProgress progress;
  cli_progress_init (&progress, m->id, terminal);
  gboolean show_progress = a.progress || (terminal && !a.quiet);
  if (show_progress) {
    req.progress = cli_progress_step;
    req.progress_data = &progress;
  }

  /* The phases before the first step say what is going on too: a large model takes seconds
   * to load, a large picture to encode. */
  g_autoptr (TsBackend) be = cli_open_backend (a.device, a.verbose);
  if (be && show_progress)
    cli_progress_phase (&progress, _("loading the model…"));
  g_autoptr (TsPipeline) pipe = be ? ts_pipeline_new_full (be, model, &precision, &error) : NULL;
  cli_progress_finish (&progress);
  if (pipe && a.verbose)
    fprintf (stderr, _("tessera-cli %s: model “%s” loaded on %s in %.2f s\n"), m->id, model,
             ts_backend_name (ts_pipeline_backend (pipe)), ts_pipeline_load_seconds (pipe));
  /* A developer's aid (docs/cpu-precision.md): where the generation's time went, op by op. */
  gboolean profile = pipe && g_getenv ("TESSERA_PROFILE") != NULL;
  if (profile)
    ts_backend_set_profiling (ts_pipeline_backend (pipe), TRUE);
  if (pipe && show_progress)
    cli_progress_phase (&progress, _("preparing…"));
  g_autoptr (TsPipelineResult) res = pipe ? ts_pipeline_run (pipe, &req, &error) : NULL;
  cli_progress_finish (&progress);
  if (!res) {
    status = be ? fail (m->id, error, CLI_EXIT_FAILURE) : CLI_EXIT_FAILURE;
    args_clear (&a);
    return status;
  }
  if (profile)
    cli_print_profile (ts_pipeline_backend (pipe));
  /* What the pipeline did differently from what was asked (a smaller working size, a
   * smaller batch, the CPU instead of the GPU). */
  if (res->notice && !a.quiet)
    fprintf (stderr, _("tessera-cli %s: warning: %s\n"), m->id, res->notice);
  for (int i = 0; i < res->n_images && status == CLI_EXIT_OK; i++) {
    g_autofree char *path = numbered_output (a.output, i, res->n_images);
    if (!cli_image_save (res->images[i], path, &error))
      status = fail (m->id, error, CLI_EXIT_FAILURE);
    else if (!a.quiet) {
      g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, res->seeds[i]);
      printf (_("%s (seed %s)\n"), path, seed);
    }
  }
  if (!a.quiet) {
    const TsPipelineTimings *t = &res->timings;
    double load = ts_pipeline_load_seconds (pipe);
    fprintf (stderr, _("%s on %s: %d steps; text %.2f s, image encode %.2f s, sampling %.2f s, "
                       "decode %.2f s, composite %.2f s; total %.2f s (%.2f s with the model "
                       "load)\n"), m->id, res->backend, t->steps_run, t->text_encode,
             t->image_encode, t->sampling, t->decode, t->composite, t->total, t->total + load);
    /* A line of its own: scripts parse the one above. */
    if (a.verbose)
      fprintf (stderr, _("%s: text stage: text encoder %.2f s, the transformer's per-prompt "
                         "context %.2f s\n"), m->id, t->text_encode - t->text_context,
               t->text_context);
    if (a.verbose)
      fprintf (stderr, _("%s: sampling: transformer %.2f s, the rest (guidance, sampler) "
                         "%.2f s\n"), m->id, t->transformer, t->sampling - t->transformer);
  }
  args_clear (&a);
  return status;
}

/* The model given with --model, else the shipped one (ts_model_locate_default: the editor
 * finds the same). */
char *
cli_model_dir (const char *option, GError **error)
{
  if (option) {
    if (!g_file_test (option, G_FILE_TEST_IS_DIR)) {
      g_set_error (error, TS_ERROR, TS_ERROR_IO, _("model folder “%s” does not exist"), option);
      return NULL;
    }
    /* A plain folder given by mistake: say so, not that some file in it fails to open. */
    g_autofree char *index = g_build_filename (option, "model_index.json", NULL);
    if (!g_file_test (index, G_FILE_TEST_IS_REGULAR)) {
      g_set_error (error, TS_ERROR, TS_ERROR_IO,
                   _("“%s” is not a model folder (no model_index.json)"), option);
      return NULL;
    }
    return g_strdup (option);
  }
  char *found = ts_model_locate_default (NULL);
  if (found)
    return found;
  const char *const *dirs = ts_model_search_dirs ();
  g_set_error (error, TS_ERROR, TS_ERROR_IO, _("no model given (--model DIR) and no shipped "
               "model in %s or %s"), dirs[0], dirs[1]);
  return NULL;
}
