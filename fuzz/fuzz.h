/* fuzz.h - what the fuzz targets share: a scratch folder, writing the input to a file,
 * and MPI started once (the readers that need MPI run at one rank). The targets build
 * as libFuzzer programs (make fuzz, clang) and as plain programs that replay files
 * (fuzz/replay.c, gcc, in make check: tests/e2e/fuzz-regress.sh). */
#ifndef COLLAB_FUZZ_H
#define COLLAB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/status.h"

/* Starts MPI (once), silences the log and HDF5's error printing, and makes a scratch
 * folder; returns its path. */
const char *fuzz_setup(void);

/* Writes len bytes to dir/name and returns the path (static buffer). */
const char *fuzz_write(const char *dir, const char *name, const uint8_t *data, size_t len);

/* With COLLAB_FUZZ_VERBOSE set, prints the outcome (the message, or "ok") on stderr:
 * for looking at what a replayed input does. */
void fuzz_report(const Status *st);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
