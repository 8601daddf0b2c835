/* tessera-model-card.h — what a model folder says about its training data
 * (data_sources.json), for the About window's legal sections.
 *
 *   { "model": "tessera-emoji-128",
 *     "sources": [ { "name", "version", "role", "licence", "attribution" (optional) }, … ],
 *     "notice": "…" }
 *
 * No widgets: parsed and checked here, shown by tessera-about.c. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *name;
  char *version;
  char *role;          /* what the data was used for, e.g. "captions", "style" */
  char *licence;
  char *attribution;   /* NULL when the licence asks for none */
} TesseraModelSource;

typedef struct {
  char *model;         /* the model's name */
  GPtrArray *sources;  /* TesseraModelSource */
  char *notice;        /* NULL if none */
} TesseraModelCard;

/* Reads dir/data_sources.json. NULL with G_FILE_ERROR_NOENT when the folder has none (a
 * downloaded model), another G_FILE_ERROR when it cannot be read, or
 * G_IO_ERROR_INVALID_DATA naming what is wrong in it. */
TesseraModelCard *tessera_model_card_load (const char *dir, GError **error);
TesseraModelCard *tessera_model_card_parse (const char *json, gssize length, GError **error);
void              tessera_model_card_free (TesseraModelCard *card);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TesseraModelCard, tessera_model_card_free)

/* A translated phrase for a source's role ("captions" → "picture descriptions"); unknown
 * roles come back as they are. */
const char *tessera_model_source_role_label (const TesseraModelSource *source);

G_END_DECLS
