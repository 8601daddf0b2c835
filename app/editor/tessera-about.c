/* tessera-about.c — the About window and the licences of the model's training data. */
#include "tessera-about.h"

#include <glib/gi18n.h>

#include "tessera-application.h"
#include "tessera-model-card.h"

/* A section's licence text is markup: escape what comes from the file. The attribution goes
 * in it too, not in the section's copyright: libadwaita 1.2 never frees a legal section's
 * copyright string (found under LeakSanitizer). */
static char *
source_licence_markup (const TesseraModelSource *s)
{
  g_autofree char *licence = g_markup_escape_text (s->licence, -1);
  const char *role = tessera_model_source_role_label (s);
  g_autofree char *used = role ? g_markup_escape_text (role, -1) : NULL;
  g_autofree char *terms = used ? g_strdup_printf (_("Licence: %s. Used as %s."), licence, used)
                                : g_strdup_printf (_("Licence: %s"), licence);
  if (!s->attribution)
    return g_steal_pointer (&terms);
  g_autofree char *attribution = g_markup_escape_text (s->attribution, -1);
  return g_strdup_printf ("%s\n%s", attribution, terms);
}

static void
add_source_section (AdwAboutWindow *about, const TesseraModelSource *s)
{
  g_autofree char *title = s->version ? g_strdup_printf ("%s %s", s->name, s->version)
                                      : g_strdup (s->name);
  g_autofree char *licence = source_licence_markup (s);
  adw_about_window_add_legal_section (about, title, NULL, GTK_LICENSE_CUSTOM, licence);
}

/* The model's own section first (its notice), then one per source. */
static void
add_model_sections (AdwAboutWindow *about, const char *model_dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraModelCard) card = tessera_model_card_load (model_dir, &error);
  if (!card) {
    /* A downloaded aMUSEd folder has no card: nothing to show, nothing wrong. */
    if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return;
    g_autofree char *body = g_markup_escape_text (error->message, -1);
    adw_about_window_add_legal_section (about, _("Model Training Data"), NULL,
                                        GTK_LICENSE_CUSTOM, body);
    return;
  }
  g_autofree char *title = g_strdup_printf (_("Model “%s”"), card->model);
  g_autofree char *notice = card->notice ? g_markup_escape_text (card->notice, -1)
                                         : g_strdup (_("Trained on the data listed below."));
  adw_about_window_add_legal_section (about, title, NULL, GTK_LICENSE_CUSTOM, notice);
  for (guint i = 0; i < card->sources->len; i++)
    add_source_section (about, g_ptr_array_index (card->sources, i));
}

GtkWidget *
tessera_about_window_new (GtkWindow *parent, const char *model_dir)
{
  const char *developers[] = { _("The Tessera developers"), NULL };
  GtkWidget *about = adw_about_window_new ();
  g_object_set (about, "transient-for", parent, "application-name", _("Tessera"),
                "application-icon", TESSERA_APP_ID, "version", PACKAGE_VERSION,
                "developer-name", _("The Tessera developers"), "developers", developers,
                "license-type", GTK_LICENSE_GPL_3_0,
                "website", "https://github.com/tessera/tessera",
                "issue-url", "https://github.com/tessera/tessera/issues",
                "comments", _("Paint a mask, type a prompt: a local image model fills, extends "
                              "and restyles your picture."),
                NULL);
  if (model_dir)
    add_model_sections (ADW_ABOUT_WINDOW (about), model_dir);
  return about;
}
