/* log.h - rank-aware logging. The only mutable globals in the program: this rank and
 * the verbosity, set once by log_init. */
#ifndef COLLAB_LOG_H
#define COLLAB_LOG_H

enum { LOG_QUIET = 0, LOG_NORMAL = 1, LOG_VERBOSE = 2 };

/* Sets this process's rank and verbosity. Local. */
void log_init(int rank, int verbosity);
int log_rank(void);
int log_verbosity(void);

/* Rank 0 only, at LOG_NORMAL or above: printf to stdout. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Rank 0 only, at LOG_VERBOSE: printf to stdout. */
void log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Rank 0 only, always: "collab-mpi: error: MSG\n" to stderr. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Rank 0 only, unless quiet: "collab-mpi: warning: MSG\n" to stderr. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
