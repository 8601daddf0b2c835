/* tessera-vocabulary.h — what a model understands, from the vocabulary.json beside it.
 *
 * A model trained here lists the words of its captions: concepts ("red apple"), style
 * phrases ("3d style"), scene words (positions, backgrounds) and whole example prompts. The
 * editor completes the prompt from the concepts, offers the styles in a drop-down and shows
 * an example as the entry's placeholder. Models without the file get free text.
 *
 *   {"concepts": [...], "styles": [...],
 *    "scene": {"positions": [...], "backgrounds": [...]}, "examples": [...]}
 *
 * Reading is forgiving about what is missing (an absent list is empty) and strict about what
 * is wrong (not JSON, not an object, a list that is not a list): a damaged file is refused
 * with a message naming it, never half used. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TESSERA_VOCABULARY_FILE "vocabulary.json"

#define TESSERA_TYPE_VOCABULARY (tessera_vocabulary_get_type ())
G_DECLARE_FINAL_TYPE (TesseraVocabulary, tessera_vocabulary, TESSERA, VOCABULARY, GObject)

/* From JSON text; `name` (e.g. the path) goes into error messages. */
TesseraVocabulary *tessera_vocabulary_new_from_data (const char *data, gsize length,
                                                     const char *name, GError **error);
TesseraVocabulary *tessera_vocabulary_new_from_file (const char *path, GError **error);
/* The vocabulary of the model folder `model_dir`: NULL without an error when the folder has
 * no vocabulary.json (a model from elsewhere), NULL with one when the file is damaged. */
TesseraVocabulary *tessera_vocabulary_load_for_model (const char *model_dir, GError **error);

/* NULL-terminated lists, possibly empty, never NULL. */
const char *const *tessera_vocabulary_get_concepts (TesseraVocabulary *self);
const char *const *tessera_vocabulary_get_styles (TesseraVocabulary *self);
const char *const *tessera_vocabulary_get_positions (TesseraVocabulary *self);
const char *const *tessera_vocabulary_get_backgrounds (TesseraVocabulary *self);
const char *const *tessera_vocabulary_get_examples (TesseraVocabulary *self);

/* The part of `prompt` a completion replaces: after the last comma and after a position
 * phrase ("… left of "), without a leading article. Returns its byte offset in `prompt`. */
gsize      tessera_vocabulary_fragment_start (TesseraVocabulary *self, const char *prompt);
/* Up to `max` concepts for the fragment (case-insensitive): those starting with it first,
 * then those with a word starting with it, each group in the file's order. A fragment under
 * two characters completes nothing. */
GPtrArray *tessera_vocabulary_complete (TesseraVocabulary *self, const char *fragment,
                                        guint max);
/* `prompt` with its style phrase (any of the vocabulary's styles, as a comma-separated part)
 * replaced by `style`, or `style` appended after a comma; NULL or "" removes it. */
char      *tessera_vocabulary_apply_style (TesseraVocabulary *self, const char *prompt,
                                           const char *style);
/* The style phrase `prompt` carries, or NULL. */
const char *tessera_vocabulary_find_style (TesseraVocabulary *self, const char *prompt);

G_END_DECLS
