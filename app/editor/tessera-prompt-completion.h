/* tessera-prompt-completion.h — completes the prompt entry's last concept from the loaded
 * model's vocabulary, in a small list under the entry.
 *
 * Typing shows up to eight concepts for the part being typed (after the last comma or
 * position phrase); Down/Up choose, Enter or Tab (or a click) puts the concept in its place,
 * Escape closes the list. Without a vocabulary the entry is plain free text. */
#pragma once

#include <gtk/gtk.h>

#include "tessera-vocabulary.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_PROMPT_COMPLETION (tessera_prompt_completion_get_type ())
G_DECLARE_FINAL_TYPE (TesseraPromptCompletion, tessera_prompt_completion, TESSERA,
                      PROMPT_COMPLETION, GObject)

/* Attaches to `entry` (which keeps the completion alive: it goes with the entry). */
TesseraPromptCompletion *tessera_prompt_completion_attach (GtkEntry *entry);
void tessera_prompt_completion_set_vocabulary (TesseraPromptCompletion *self,
                                               TesseraVocabulary *vocabulary);

/* For tests and the window: the concepts on offer now (empty when the list is closed), and
 * whether the list is open. */
guint       tessera_prompt_completion_get_n_offered (TesseraPromptCompletion *self);
const char *tessera_prompt_completion_get_offered (TesseraPromptCompletion *self, guint index);
gboolean    tessera_prompt_completion_is_open (TesseraPromptCompletion *self);
/* The list's popover (screenshots). */
GtkWidget  *tessera_prompt_completion_get_popover (TesseraPromptCompletion *self);
/* Puts the index-th offered concept in place of the part being typed and closes the list. */
void        tessera_prompt_completion_accept (TesseraPromptCompletion *self, guint index);

G_END_DECLS
