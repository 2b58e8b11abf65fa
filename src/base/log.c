/* log.c - rank-aware output: rank 0 speaks for the job. The rank and verbosity, set by
 * log_init(), and the capture buffer of log_capture() are the program's only mutable
 * globals. */
#include "config.h"

#include "collab/base/log.h"

#include <stdarg.h>
#include <stdio.h>

static int log_rank_ = 0;
static int log_level_ = LOG_NORMAL;
static char *log_capture_ = NULL; /* log_capture's buffer, or NULL */
static size_t log_capture_len_ = 0;

void log_init(int rank, int verbosity)
{
    log_rank_ = rank;
    log_level_ = verbosity;
}

void log_capture(char *buf, size_t len)
{
    log_capture_ = len ? buf : NULL;
    log_capture_len_ = len;
    if (log_capture_)
        log_capture_[0] = '\0';
}

int log_rank(void)
{
    return log_rank_;
}
int log_verbosity(void)
{
    return log_level_;
}

static void log_vprint(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
    fputs(prefix, f);
    vfprintf(f, fmt, ap);
    fflush(f);
}

void log_info(const char *fmt, ...)
{
    if (log_rank_ != 0 || log_level_ < LOG_NORMAL)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vprint(stdout, "", fmt, ap);
    va_end(ap);
}

void log_verbose(const char *fmt, ...)
{
    if (log_rank_ != 0 || log_level_ < LOG_VERBOSE)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vprint(stdout, "", fmt, ap);
    va_end(ap);
}

void log_error(const char *fmt, ...)
{
    if (log_rank_ != 0)
        return;
    va_list ap;
    if (log_capture_) {
        va_start(ap, fmt);
        vsnprintf(log_capture_, log_capture_len_, fmt, ap);
        va_end(ap);
    }
    va_start(ap, fmt);
    log_vprint(stderr, "collab-mpi: error: ", fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void log_warn(const char *fmt, ...)
{
    if (log_rank_ != 0 || log_level_ < LOG_NORMAL)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vprint(stderr, "collab-mpi: warning: ", fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
