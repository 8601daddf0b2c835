/* tessera-thumbnail.h — small textures of full-size pictures for the history and variants. */
#pragma once

#include <gtk/gtk.h>

#include "tessera-document.h"

G_BEGIN_DECLS

/* A texture at most `size` pixels on its longer side. */
GdkTexture *tessera_thumbnail_from_state (const TesseraState *state, int size);
/* From straight RGBA of width × height. */
GdkTexture *tessera_thumbnail_from_rgba (GBytes *rgba, int width, int height, int size);

G_END_DECLS
