/* tessera.h — the public API of libtessera, the engine behind the editor and the CLI. */
#pragma once

#include "ts-types.h"
#include "ts-tensor.h"
#include "ts-backend.h"
#include "ts-ops.h"
#include "ts-op-cases.h"
#include "ts-process.h"
