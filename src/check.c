/* check.c - fatal-error reporting with file:line and checked allocation. */
#include "config.h"

#include "collab/check.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ends the job: MPI_Abort when MPI is running (so no rank hangs), exit(1) otherwise. */
static void check_abort(void) __attribute__((noreturn));
static void check_abort(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

void check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "collab-mpi: fatal: %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    check_abort();
}

void check_mpi_fail(const char *file, int line, const char *call, int rc)
{
    char text[MPI_MAX_ERROR_STRING] = "unknown MPI error";
    int len = 0;
    MPI_Error_string(rc, text, &len);
    check_fail(file, line, "%s failed: %s", call, text);
}

void *check_malloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        check_fail(file, line, "out of memory allocating %zu bytes", n);
    return p;
}

void *check_calloc(size_t n, size_t sz, const char *file, int line)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        check_fail(file, line, "out of memory allocating %zu x %zu bytes", n, sz);
    return p;
}

void *check_realloc(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        check_fail(file, line, "out of memory reallocating to %zu bytes", n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}
