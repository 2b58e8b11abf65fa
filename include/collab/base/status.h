/* status.h - recoverable errors as values: a code and one user-facing message.
 *
 * Functions that can fail on bad input return int (0 ok, STATUS_DATA or STATUS_USAGE)
 * and fill a Status with a message that says what, where (file:line, option) and what
 * to do. The caller decides; collective callers agree with status_agree(). */
#ifndef COLLAB_STATUS_H
#define COLLAB_STATUS_H

#include <mpi.h>

enum { STATUS_OK = 0, STATUS_DATA = 1, STATUS_USAGE = 2 };

typedef struct Status {
    int code;       /* STATUS_OK, STATUS_DATA (exit 1) or STATUS_USAGE (exit 2) */
    char msg[1024]; /* one line, no trailing newline; "" when ok */
} Status;

/* Resets st to ok. */
void status_clear(Status *st);
/* Sets code and a printf-formatted message; returns code so callers can
 * `return status_set(st, STATUS_DATA, ...)`. Keeps the first error if one is set. */
int status_set(Status *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Collective over comm: every rank learns the first failing rank's status (lowest rank
 * with code != 0); st is overwritten with it on all ranks. Returns the agreed code. */
int status_agree(Status *st, MPI_Comm comm);

#endif
