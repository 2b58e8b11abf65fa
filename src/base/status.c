/* status.c - recoverable errors as values, and agreeing on them across ranks. */
#include "config.h"

#include "collab/base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "collab/base/check.h"

void status_clear(Status *st)
{
    st->code = STATUS_OK;
    st->msg[0] = '\0';
}

int status_set(Status *st, int code, const char *fmt, ...)
{
    if (st->code != STATUS_OK)
        return st->code; /* the first error is the one worth reporting */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
    st->code = code;
    return code;
}

int status_agree(Status *st, MPI_Comm comm)
{
    int rank, size;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    CHECK_MPI(MPI_Comm_size(comm, &size));
    /* The lowest failing rank speaks for everyone: MINLOC over (failed ? rank : size). */
    int mine = st->code != STATUS_OK ? rank : size, first;
    CHECK_MPI(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
    if (first == size)
        return STATUS_OK;
    int code = st->code;
    CHECK_MPI(MPI_Bcast(&code, 1, MPI_INT, first, comm));
    CHECK_MPI(MPI_Bcast(st->msg, (int)sizeof st->msg, MPI_CHAR, first, comm));
    st->code = code;
    return code;
}
