/* tessera-window-private.h — the window's state, shared by the files that implement it
 * (tessera-window.c: canvas and requests; -files.c: projects and autosave; -dnd.c: drops). */
#pragma once

#include "tessera-window.h"

#include "tessera-project.h"
#include "tessera-prompt-completion.h"
#include "tessera-run-queue.h"

G_BEGIN_DECLS

#define THUMB_SIZE 72
#define EXTEND_TOKENS 8   /* tokens added by one Extend Canvas command */
#define DEFAULT_TOKEN_SIDE 16   /* pixels per image token until a model says otherwise */
#define BLANK_SIDE 512    /* the first blank canvas until the model tells its native size */

/* What replaces the document once its unsaved changes are saved or discarded. */
typedef void (*TesseraReplaceFunc) (TesseraWindow *self, gpointer data);

struct _TesseraWindow {
  AdwApplicationWindow parent_instance;

  /* template children */
  AdwToastOverlay *toast_overlay;
  AdwWindowTitle *window_title;
  TesseraCanvas *canvas;
  GtkProgressBar *progress_bar;
  GtkRevealer *history_revealer;
  GtkListBox *history_list;
  GtkRevealer *variants_revealer;
  GtkBox *variants_box;
  GtkDropDown *mode_dropdown;
  GtkEntry *prompt_entry;
  GtkEntry *negative_entry;
  GtkSpinButton *seed_spin;
  GtkCheckButton *random_seed_check;
  GtkSpinButton *variants_spin;
  GtkSpinButton *steps_spin;
  GtkSpinButton *guidance_spin;
  GtkScale *strength_scale;
  GtkWidget *steps_label;
  GtkWidget *strength_label;
  GtkWidget *iterations_label;
  GtkSpinButton *iterations_spin;
  GtkCheckButton *whole_picture_check;
  GtkDropDown *style_dropdown;
  GtkStack *run_stack;
  GtkAdjustment *size_adjustment;
  GtkAdjustment *hardness_adjustment;
  GtkButton *zoom_button;
  GtkMenuButton *queue_button;
  GMenu *recent_menu;
  GtkListBox *queue_list;

  char *last_toast;             /* the newest toast's message */

  /* The loaded model's vocabulary: prompt completion, style drop-down, placeholder. */
  TesseraPromptCompletion *completion;   /* owned by the prompt entry */
  TesseraVocabulary *vocabulary;
  gboolean setting_style;                /* the window itself is changing the drop-down */

  GSettings *settings;
  TesseraEngine *engine;
  TesseraDocument *document;
  TesseraHistory *history;

  /* The request in flight, the queue behind it, its progress and the finished result waiting
   * for Apply / Discard (the variants strip shows it). */
  TesseraRunQueue *runs;
  TesseraRect progress_area;    /* where the running request's live preview draws */
  int hover_variant;   /* -1: none */

  gboolean frame_placed;   /* the user moved the native-size frame: keep it where it is */
  gboolean setting_frame;  /* the window itself is moving it */

  /* Files (tessera-window-files.c). */
  GFile *file;                        /* the project, once saved or opened */
  TesseraHistoryEntry *saved_entry;   /* current when last saved: clean while it still is */
  guint io_in_flight;
  char *autosave_path;
  TesseraPngCache *png_cache;         /* shared by saves: unchanged pictures encode once */
  guint autosave_id;
  gboolean autosave_again;            /* a change came in while an autosave ran */
  AdwMessageDialog *error_dialog;

  /* Closing with unsaved changes (tessera-window-files.c). */
  AdwMessageDialog *close_dialog;     /* "Save changes?" while it is up */
  gboolean close_after_save;          /* answered Save: close once the save succeeds */
  gboolean discard_on_close;          /* answered Discard: close, keep no autosave */

  /* New or Open waiting for "Save changes?" (tessera-window-files.c). */
  TesseraReplaceFunc replace_func;
  gpointer replace_data;
  GDestroyNotify replace_destroy;
  gboolean replace_after_save;        /* answered Save: replace once the save succeeds */
};


void tessera_window_toast (TesseraWindow *self, const char *message);
void tessera_window_update_actions (TesseraWindow *self);
void tessera_window_commit (TesseraWindow *self, TesseraEntryKind kind, const char *label,
                            TesseraChange changed, const TesseraParams *params,
                            TesseraJobResult *variants_of);
void tessera_window_clear_pending (TesseraWindow *self);
void tessera_window_set_mode (TesseraWindow *self, TsPipelineMode mode);
void tessera_window_open_picture (TesseraWindow *self, GFile *file);
void tessera_window_reuse_params (TesseraWindow *self, const TesseraParams *params);
/* The request bar as it is (no random seed drawn), and putting a saved one back. */
TesseraParams *tessera_window_get_draft (TesseraWindow *self);
void tessera_window_restore_draft (TesseraWindow *self, const TesseraParams *params);

/* tessera-window-files.c */
void tessera_window_files_init (TesseraWindow *self);
void tessera_window_files_dispose (TesseraWindow *self);
void tessera_window_history_changed (TesseraWindow *self);
/* The request bar changed: autosave soon if there is unsaved work (recovery restores it). */
void tessera_window_schedule_autosave (TesseraWindow *self);
void tessera_window_apply_project (TesseraWindow *self, TesseraProject *project, GFile *file);
/* ::close-request: FALSE lets the window close; TRUE when unsaved changes made it ask
 * "Save changes?" instead. */
gboolean tessera_window_files_close_request (TesseraWindow *self);
/* The document as it is now counts as saved (a fresh blank canvas: nothing to lose). */
void tessera_window_files_mark_clean (TesseraWindow *self);
/* Runs `then` (New, Open) once the document's unsaved changes are saved or discarded: at once
 * when there are none, else after "Save changes?"; never when the user cancels. */
void tessera_window_replace_document (TesseraWindow *self, TesseraReplaceFunc then,
                                      gpointer data, GDestroyNotify destroy);
/* A new document from straight RGBA (NULL: blank at the model's size) with a fresh history. */
void tessera_window_start_document (TesseraWindow *self, GBytes *rgba, int width, int height,
                                    const char *name);
/* Replaces the document with a blank canvas of the model's size (one-entry history). */
gboolean tessera_window_start_blank (TesseraWindow *self, GError **error);
extern const GActionEntry tessera_window_file_actions[];
extern const gsize tessera_window_n_file_actions;

/* tessera-window-dnd.c */
void tessera_window_dnd_init (TesseraWindow *self);

/* tessera-window-tools.c: mask tools, their tool-bar controls and one-key shortcuts */
void tessera_window_tools_init (TesseraWindow *self);

/* A file chooser for the window; `chosen` gets the file, or NULL when the user cancelled.
 * `filter` (owned by the call) and `initial` / `initial_name` may be NULL. */
typedef void (*TesseraFileChosenFunc) (TesseraWindow *self, GFile *file);
void tessera_window_choose_file (TesseraWindow *self, const char *title,
                                 GtkFileChooserAction action, const char *accept_label,
                                 GtkFileFilter *filter, GFile *initial, const char *initial_name,
                                 TesseraFileChosenFunc chosen);

G_END_DECLS
