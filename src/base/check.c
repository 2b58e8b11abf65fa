/* check.c - fatal-error reporting with file:line and checked allocation. */
#include "config.h"
/* madvise(MADV_HUGEPAGE) is a Linux extension, declared with the default feature set. */
#define _DEFAULT_SOURCE 1

#include "collab/base/check.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/* Large tables are read at random (a user's row, an item's row per rating): with 4 KiB
 * pages nearly every such read also misses the TLB. Blocks of 8 MiB or more ask the
 * kernel for transparent huge pages over their 2 MiB-aligned interior (Linux; a no-op
 * where the kernel says no). malloc maps such blocks fresh, so this precedes first use. */
static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (n < ((size_t)8 << 20))
        return;
    const uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    const uintptr_t hi = ((uintptr_t)p + n) & ~(huge - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p, (void)n;
#endif
}

void *check_malloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        check_fail(file, line, "out of memory allocating %zu bytes", n);
    advise_huge(p, n);
    return p;
}

void *check_calloc(size_t n, size_t sz, const char *file, int line)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        check_fail(file, line, "out of memory allocating %zu x %zu bytes", n, sz);
    if (sz && n <= SIZE_MAX / sz)
        advise_huge(p, n * sz);
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
