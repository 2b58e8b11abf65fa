/* log.h - rank-aware logging. The only mutable globals in the program: this rank and
 * the verbosity, set by log_init, and where errors are also copied (log_capture). */
#ifndef COLLAB_LOG_H
#define COLLAB_LOG_H

#include <stddef.h>

enum { LOG_QUIET = 0, LOG_NORMAL = 1, LOG_VERBOSE = 2 };

/* Sets this process's rank and verbosity. Local. */
void log_init(int rank, int verbosity);
int log_rank(void);
int log_verbosity(void);

/* Rank 0 only, at LOG_NORMAL or above: printf to stdout. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Rank 0 only, at LOG_VERBOSE: printf to stdout. */
void log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* While buf is not NULL, log_error also copies each message into buf (len bytes, NUL
 * terminated; the last one wins), so that a caller running a command as one part of a
 * larger job (a sweep's trial, on its own communicator) can record why it failed.
 * buf is the caller's; log_capture(NULL, 0) stops the copying. Local. */
void log_capture(char *buf, size_t len);

/* Rank 0 only, always: "collab-mpi: error: MSG\n" to stderr (and into log_capture's
 * buffer when one is set). */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Rank 0 only, unless quiet: "collab-mpi: warning: MSG\n" to stderr. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
