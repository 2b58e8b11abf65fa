/* check.h - error checking with file:line for MPI, HDF5, allocation and I/O.
 *
 * Infrastructure failures (out of memory, an MPI or HDF5 call failing) end the whole
 * job with MPI_Abort after printing where they happened. Data and usage errors are
 * not handled here: they travel as Status values (status.h) and are agreed on by all
 * ranks before anyone exits. */
#ifndef COLLAB_CHECK_H
#define COLLAB_CHECK_H

#include <stddef.h>

/* Prints "collab-mpi: fatal: FILE:LINE: MSG" on stderr and aborts every rank with
 * MPI_Abort (or exit(1) when MPI is not initialised). Never returns. */
void check_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* Checks an MPI return code (communicators use MPI_ERRORS_RETURN). */
#define CHECK_MPI(call)                                                                            \
    do {                                                                                           \
        int check_rc_ = (call);                                                                    \
        if (check_rc_ != 0)                                                                        \
            check_mpi_fail(__FILE__, __LINE__, #call, check_rc_);                                  \
    } while (0)
void check_mpi_fail(const char *file, int line, const char *call, int rc) __attribute__((noreturn));

/* malloc/calloc/realloc that abort with file:line and the size on failure.
 * A request for 0 bytes returns a valid pointer. */
#define xmalloc(n) check_malloc((n), __FILE__, __LINE__)
#define xcalloc(n, sz) check_calloc((n), (sz), __FILE__, __LINE__)
#define xrealloc(p, n) check_realloc((p), (n), __FILE__, __LINE__)
void *check_malloc(size_t n, const char *file, int line);
void *check_calloc(size_t n, size_t sz, const char *file, int line);
void *check_realloc(void *p, size_t n, const char *file, int line);
/* strdup that aborts on failure. */
char *xstrdup(const char *s);

#endif
