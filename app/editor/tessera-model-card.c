/* tessera-model-card.c — parsing and checking data_sources.json. */
#include "tessera-model-card.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#define MAX_SOURCES 256   /* a card, not a database: more is a broken file */

static void
source_free (TesseraModelSource *s)
{
  g_free (s->name);
  g_free (s->version);
  g_free (s->role);
  g_free (s->licence);
  g_free (s->attribution);
  g_free (s);
}

void
tessera_model_card_free (TesseraModelCard *card)
{
  if (!card)
    return;
  g_free (card->model);
  g_clear_pointer (&card->sources, g_ptr_array_unref);
  g_free (card->notice);
  g_free (card);
}

static gboolean
invalid (GError **error, const char *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("The model’s data_sources.json is not valid: %s"), what);
  return FALSE;
}

/* A string member: required ones must be non-empty strings; absent optional ones are NULL. */
static gboolean
get_string (JsonObject *o, const char *member, gboolean required, char **out, GError **error)
{
  JsonNode *n = json_object_get_member (o, member);
  if (!n || JSON_NODE_HOLDS_NULL (n)) {
    if (!required)
      return TRUE;
    g_autofree char *what = g_strdup_printf (_("“%s” is missing"), member);
    return invalid (error, what);
  }
  const char *s = JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
                      ? json_node_get_string (n) : NULL;
  if (!s || (required && !*s)) {
    g_autofree char *what = g_strdup_printf (_("“%s” is not a text"), member);
    return invalid (error, what);
  }
  /* json-glib passes lone surrogate escapes on as invalid UTF-8; GTK labels want it valid. */
  *out = g_utf8_make_valid (s, -1);
  return TRUE;
}

static TesseraModelSource *
parse_source (JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    invalid (error, _("a source is not an object"));
    return NULL;
  }
  JsonObject *o = json_node_get_object (node);
  TesseraModelSource *s = g_new0 (TesseraModelSource, 1);
  if (!get_string (o, "name", TRUE, &s->name, error)
      || !get_string (o, "version", FALSE, &s->version, error)
      || !get_string (o, "role", FALSE, &s->role, error)
      || !get_string (o, "licence", TRUE, &s->licence, error)
      || !get_string (o, "attribution", FALSE, &s->attribution, error)) {
    source_free (s);
    return NULL;
  }
  return s;
}

TesseraModelCard *
tessera_model_card_parse (const char *json, gssize length, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, json, length, &local)) {
    invalid (error, local->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    invalid (error, _("it is not a JSON object"));
    return NULL;
  }
  JsonObject *o = json_node_get_object (root);
  g_autoptr (TesseraModelCard) card = g_new0 (TesseraModelCard, 1);
  card->sources = g_ptr_array_new_with_free_func ((GDestroyNotify) source_free);
  if (!get_string (o, "model", TRUE, &card->model, error)
      || !get_string (o, "notice", FALSE, &card->notice, error))
    return NULL;
  JsonNode *sources = json_object_get_member (o, "sources");
  if (!sources || !JSON_NODE_HOLDS_ARRAY (sources)) {
    invalid (error, _("“sources” is not a list"));
    return NULL;
  }
  JsonArray *a = json_node_get_array (sources);
  if (json_array_get_length (a) > MAX_SOURCES) {
    invalid (error, _("too many sources"));
    return NULL;
  }
  for (guint i = 0; i < json_array_get_length (a); i++) {
    TesseraModelSource *s = parse_source (json_array_get_element (a, i), error);
    if (!s)
      return NULL;
    g_ptr_array_add (card->sources, s);
  }
  return g_steal_pointer (&card);
}

TesseraModelCard *
tessera_model_card_load (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "data_sources.json", NULL);
  g_autofree char *json = NULL;
  gsize length;
  if (!g_file_get_contents (path, &json, &length, error))
    return NULL;   /* G_FILE_ERROR_NOENT: a model without a card */
  return tessera_model_card_parse (json, (gssize) length, error);
}

const char *
tessera_model_source_role_label (const TesseraModelSource *source)
{
  if (g_strcmp0 (source->role, "captions") == 0)
    return _("picture descriptions for training");
  if (g_strcmp0 (source->role, "style") == 0)
    return _("pictures for training");
  return source->role;
}
