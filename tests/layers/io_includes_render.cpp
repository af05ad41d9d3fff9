// Must not compile: src/io is a layer below src/render (docs/architecture.md).
// The ctest "layers: a folder cannot include a layer above it" compiles this
// file as the io library's own files are compiled and expects the include of
// render/render.h to fail.
#include "io/npy.h"
#include "render/render.h"
