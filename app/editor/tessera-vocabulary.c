/* tessera-vocabulary.c — a model's vocabulary.json: reading it and using it on prompts. */
#include "tessera-vocabulary.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

/* Our model's file is about 60 KB; anything far larger is not a vocabulary. */
#define MAX_FILE_SIZE (8 * 1024 * 1024)
#define MAX_PHRASE_LENGTH 256

struct _TesseraVocabulary {
  GObject parent_instance;
  GStrv concepts, styles, positions, backgrounds, examples;
  GStrv folded_concepts;   /* casefolded, for matching */
};

G_DEFINE_FINAL_TYPE (TesseraVocabulary, tessera_vocabulary, G_TYPE_OBJECT)

static void
tessera_vocabulary_finalize (GObject *object)
{
  TesseraVocabulary *self = TESSERA_VOCABULARY (object);
  g_strfreev (self->concepts);
  g_strfreev (self->styles);
  g_strfreev (self->positions);
  g_strfreev (self->backgrounds);
  g_strfreev (self->examples);
  g_strfreev (self->folded_concepts);
  G_OBJECT_CLASS (tessera_vocabulary_parent_class)->finalize (object);
}

static void
tessera_vocabulary_class_init (TesseraVocabularyClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tessera_vocabulary_finalize;
}

static void
tessera_vocabulary_init (TesseraVocabulary *self)
{
}

static gboolean
refuse (GError **error, const char *name, const char *why)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("“%s” is not a usable prompt vocabulary: %s"), name, why);
  return FALSE;
}

/* The list `member` of `o` as a string vector: absent is empty; anything but a list of
 * short, valid texts is refused. Blank items are skipped. */
static gboolean
read_list (JsonObject *o, const char *member, const char *name, GStrv *out, GError **error)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  JsonNode *n = o ? json_object_get_member (o, member) : NULL;
  if (n && !JSON_NODE_HOLDS_NULL (n)) {
    if (!JSON_NODE_HOLDS_ARRAY (n)) {
      g_autofree char *why = g_strdup_printf (_("“%s” is not a list"), member);
      return refuse (error, name, why);
    }
    JsonArray *a = json_node_get_array (n);
    for (guint i = 0; i < json_array_get_length (a); i++) {
      JsonNode *item = json_array_get_element (a, i);
      const char *s = JSON_NODE_HOLDS_VALUE (item) && json_node_get_value_type (item) == G_TYPE_STRING
                          ? json_node_get_string (item) : NULL;
      /* json-glib passes a lone UTF-16 surrogate escape on as invalid UTF-8. */
      if (!s || !g_utf8_validate (s, -1, NULL) || strlen (s) > MAX_PHRASE_LENGTH) {
        g_autofree char *why = g_strdup_printf (_("item %u of “%s” is not a short text"),
                                                i + 1, member);
        return refuse (error, name, why);
      }
      g_autofree char *trimmed = g_strstrip (g_strdup (s));
      if (*trimmed)
        g_strv_builder_add (b, trimmed);
    }
  }
  *out = g_strv_builder_end (b);
  return TRUE;
}

TesseraVocabulary *
tessera_vocabulary_new_from_data (const char *data, gsize length, const char *name,
                                  GError **error)
{
  if (length > MAX_FILE_SIZE) {
    refuse (error, name, _("the file is too large"));
    return NULL;
  }
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) parse_error = NULL;
  if (!json_parser_load_from_data (parser, data, (gssize) length, &parse_error)) {
    refuse (error, name, parse_error->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    refuse (error, name, _("it is not a JSON object"));
    return NULL;
  }
  JsonObject *o = json_node_get_object (root);
  JsonNode *scene_node = json_object_get_member (o, "scene");
  if (scene_node && !JSON_NODE_HOLDS_NULL (scene_node) && !JSON_NODE_HOLDS_OBJECT (scene_node)) {
    refuse (error, name, _("“scene” is not an object"));
    return NULL;
  }
  JsonObject *scene = scene_node && JSON_NODE_HOLDS_OBJECT (scene_node)
                          ? json_node_get_object (scene_node) : NULL;
  g_autoptr (TesseraVocabulary) self = g_object_new (TESSERA_TYPE_VOCABULARY, NULL);
  if (!read_list (o, "concepts", name, &self->concepts, error)
      || !read_list (o, "styles", name, &self->styles, error)
      || !read_list (scene, "positions", name, &self->positions, error)
      || !read_list (scene, "backgrounds", name, &self->backgrounds, error)
      || !read_list (o, "examples", name, &self->examples, error))
    return NULL;
  if (!self->concepts[0] && !self->styles[0] && !self->examples[0]) {
    refuse (error, name, _("it lists no concepts, styles or examples"));
    return NULL;
  }
  guint n = g_strv_length (self->concepts);
  self->folded_concepts = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    self->folded_concepts[i] = g_utf8_casefold (self->concepts[i], -1);
  return g_steal_pointer (&self);
}

TesseraVocabulary *
tessera_vocabulary_new_from_file (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize length;
  g_autofree char *display = g_filename_display_name (path);
  g_autoptr (GError) read_error = NULL;
  if (!g_file_get_contents (path, &data, &length, &read_error)) {
    refuse (error, display, read_error->message);
    return NULL;
  }
  return tessera_vocabulary_new_from_data (data, length, display, error);
}

TesseraVocabulary *
tessera_vocabulary_load_for_model (const char *model_dir, GError **error)
{
  if (!model_dir)
    return NULL;
  g_autofree char *path = g_build_filename (model_dir, TESSERA_VOCABULARY_FILE, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  return tessera_vocabulary_new_from_file (path, error);
}

const char *const *
tessera_vocabulary_get_concepts (TesseraVocabulary *self)
{
  return (const char *const *) self->concepts;
}

const char *const *
tessera_vocabulary_get_styles (TesseraVocabulary *self)
{
  return (const char *const *) self->styles;
}

const char *const *
tessera_vocabulary_get_positions (TesseraVocabulary *self)
{
  return (const char *const *) self->positions;
}

const char *const *
tessera_vocabulary_get_backgrounds (TesseraVocabulary *self)
{
  return (const char *const *) self->backgrounds;
}

const char *const *
tessera_vocabulary_get_examples (TesseraVocabulary *self)
{
  return (const char *const *) self->examples;
}

/* ---- prompts ---- */

static gsize
skip_spaces (const char *s, gsize at)
{
  while (s[at] == ' ')
    at++;
  return at;
}

/* Whether `phrase` occurs in `s` at `at` as whole words, followed by a space. */
static gboolean
phrase_at (const char *s, gsize at, const char *phrase)
{
  gsize n = strlen (phrase);
  return (at == 0 || s[at - 1] == ' ') && g_ascii_strncasecmp (s + at, phrase, n) == 0
         && s[at + n] == ' ';
}

gsize
tessera_vocabulary_fragment_start (TesseraVocabulary *self, const char *prompt)
{
  const char *comma = strrchr (prompt, ',');
  gsize start = skip_spaces (prompt, comma ? (gsize) (comma - prompt) + 1 : 0);
  /* "a cat face left of a red apple": the concept after the last position phrase. */
  for (gsize at = start; prompt[at]; at++)
    for (guint i = 0; self->positions[i]; i++)
      if (phrase_at (prompt, at, self->positions[i])) {
        start = skip_spaces (prompt, at + strlen (self->positions[i]));
        break;
      }
  /* Captions put an article before a concept; the concept list has none. */
  static const char *const articles[] = { "a ", "an ", "the " };
  for (guint i = 0; i < G_N_ELEMENTS (articles); i++)
    if (g_ascii_strncasecmp (prompt + start, articles[i], strlen (articles[i])) == 0) {
      start = skip_spaces (prompt, start + strlen (articles[i]));
      break;
    }
  return start;
}

static gboolean
has_word_starting_with (const char *folded, const char *prefix)
{
  for (const char *p = strchr (folded, ' '); p; p = strchr (p + 1, ' '))
    if (g_str_has_prefix (p + 1, prefix))
      return TRUE;
  return FALSE;
}

GPtrArray *
tessera_vocabulary_complete (TesseraVocabulary *self, const char *fragment, guint max)
{
  GPtrArray *out = g_ptr_array_new ();
  g_autofree char *trimmed = g_strstrip (g_strdup (fragment ? fragment : ""));
  if (g_utf8_strlen (trimmed, -1) < 2 || max == 0)
    return out;
  g_autofree char *folded = g_utf8_casefold (trimmed, -1);
  for (guint i = 0; self->folded_concepts[i] && out->len < max; i++)
    /* A concept already typed in full has nothing left to complete. */
    if (g_str_has_prefix (self->folded_concepts[i], folded)
        && !g_str_equal (self->folded_concepts[i], folded))
      g_ptr_array_add (out, self->concepts[i]);
  for (guint i = 0; self->folded_concepts[i] && out->len < max; i++)
    if (!g_str_has_prefix (self->folded_concepts[i], folded)
        && has_word_starting_with (self->folded_concepts[i], folded))
      g_ptr_array_add (out, self->concepts[i]);
  return out;
}

/* The comma-separated parts of a prompt, trimmed, blank ones dropped. */
static GPtrArray *
prompt_parts (const char *prompt)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) split = g_strsplit (prompt ? prompt : "", ",", -1);
  for (guint i = 0; split[i]; i++) {
    char *p = g_strstrip (g_strdup (split[i]));
    if (*p)
      g_ptr_array_add (parts, p);
    else
      g_free (p);
  }
  return parts;
}

static const char *
style_of_part (TesseraVocabulary *self, const char *part)
{
  for (guint i = 0; self->styles[i]; i++)
    if (g_ascii_strcasecmp (part, self->styles[i]) == 0)
      return self->styles[i];
  return NULL;
}

const char *
tessera_vocabulary_find_style (TesseraVocabulary *self, const char *prompt)
{
  g_autoptr (GPtrArray) parts = prompt_parts (prompt);
  for (guint i = 0; i < parts->len; i++) {
    const char *style = style_of_part (self, g_ptr_array_index (parts, i));
    if (style)
      return style;
  }
  return NULL;
}

char *
tessera_vocabulary_apply_style (TesseraVocabulary *self, const char *prompt, const char *style)
{
  g_autoptr (GPtrArray) parts = prompt_parts (prompt);
  g_autoptr (GString) out = g_string_new (NULL);
  for (guint i = 0; i < parts->len; i++) {
    const char *part = g_ptr_array_index (parts, i);
    if (style_of_part (self, part))
      continue;
    if (out->len)
      g_string_append (out, ", ");
    g_string_append (out, part);
  }
  /* The captions end with the style: it goes last. */
  if (style && *style) {
    if (out->len)
      g_string_append (out, ", ");
    g_string_append (out, style);
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
