/* watchdog.c - the stall watchdog (watchdog.h): the progress stamp, the thread that
 * watches it, the probe that finds the ranks still there, and the message. */
#include "config.h"

#include "collab/base/watchdog.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collab/base/check.h"

/* The probe's tag on its own communicator. */
enum { WATCH_TAG = 7611 };
/* At most this many ranks are named in a message; the rest are counted. */
enum { WATCH_NAMED = 32 };

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* ------------------------------------------------------------------ the stamp */

/* The label packs the phase (8 bits), the epoch (24 bits, --epochs is at most 10^6) and
 * the step (32 bits; larger steps are shown modulo 2^32, which no real run reaches). */
void watchdog_at(Watchdog *w, WatchPhase phase, int64_t epoch, int64_t step)
{
    if (!w)
        return;
    const uint64_t where =
        (uint64_t)phase << 56 | ((uint64_t)epoch & 0xffffff) << 32 | ((uint64_t)step & 0xffffffff);
    atomic_store_explicit(&w->where, where, memory_order_relaxed);
    watchdog_beat(w);
}

void watchdog_beat(Watchdog *w)
{
    if (!w)
        return;
    /* Only the main thread writes: a load and a store, no locked add. */
    const uint64_t b = atomic_load_explicit(&w->beats, memory_order_relaxed);
    atomic_store_explicit(&w->beats, b + 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------ the message */

/* The phase of a packed label, as words. */
static void phase_text(char *out, size_t len, uint64_t where)
{
    const int phase = (int)(where >> 56);
    const long long epoch = (long long)(where >> 32 & 0xffffff);
    const long long step = (long long)(where & 0xffffffff);
    switch (phase) {
    case WATCH_BATCH:
        snprintf(out, len, "training batch %lld of epoch %lld", step, epoch);
        break;
    case WATCH_STRATUM:
        snprintf(out, len, "training stratum %lld of epoch %lld", step, epoch);
        break;
    case WATCH_VALID:
        snprintf(out, len, "validation (chunk %lld, epoch %lld)", step, epoch);
        break;
    case WATCH_CKPT_WRITE:
        snprintf(out, len, "the checkpoint write of epoch %lld, batch %lld", epoch, step);
        break;
    case WATCH_CKPT_READ:
        snprintf(out, len, "the checkpoint read (resume)");
        break;
    case WATCH_OUTPUT:
        snprintf(out, len, "the final model write (--output, --dump-params)");
        break;
    default:
        snprintf(out, len, "setup (before the first training step)");
    }
}

/* The ranks not heard from, as "2", "1, 5" or "none", at most WATCH_NAMED of them. */
static void silent_text(char *out, size_t len, const Watchdog *w)
{
    size_t used = 0;
    int named = 0, more = 0;
    out[0] = '\0';
    if (!w->threads) {
        snprintf(out, len,
                 "unknown (the MPI library gives no MPI_THREAD_MULTIPLE, so the "
                 "watchdog cannot ask)");
        return;
    }
    for (int r = 0; r < w->size; r++) {
        if (w->heard[r])
            continue;
        if (named == WATCH_NAMED) {
            more++;
            continue;
        }
        int n = snprintf(out + used, len - used, "%s%d", named ? ", " : "", r);
        used += n > 0 && (size_t)n < len - used ? (size_t)n : 0;
        named++;
    }
    if (more)
        snprintf(out + used, len - used, " and %d more", more);
    if (!named)
        snprintf(out, len,
                 "none (every rank answered: the stall is elsewhere, e.g. a file "
                 "system that stopped answering)");
}

void watchdog_message(char *out, size_t len, const Watchdog *w)
{
    char phase[160], silent[512];
    phase_text(phase, sizeof phase, atomic_load_explicit(&w->where, memory_order_relaxed));
    silent_text(silent, sizeof silent, w);
    snprintf(out, len,
             "rank %d of %d: stalled: no progress for %g s (--stall-timeout) in %s; ranks not "
             "heard from: %s; ending the job with exit status %d: the last complete checkpoint "
             "is intact, resume with --resume auto on the hosts that remain",
             w->rank, w->size, w->timeout, phase, silent, EXIT_STALL);
}

/* ------------------------------------------------------------------ the probe */

int watchdog_probe(Watchdog *w, double window)
{
    const int n = w->size, me = w->rank;
    MPI_Request *recv = w->reqs, *send = w->reqs + n;
    memset(w->heard, 0, (size_t)n);
    w->heard[me] = 1;
    w->msgs[me] = me; /* the send buffer: it must outlive a send that never completes */
    for (int r = 0; r < n; r++) {
        recv[r] = send[r] = MPI_REQUEST_NULL;
        if (r == me)
            continue;
        /* Errors are returned (the communicator's handler), and a failed call is a rank
         * not heard from: nothing here may abort or wait. */
        MPI_Irecv(&w->msgs[r], 1, MPI_INT64_T, r, WATCH_TAG, w->comm, &recv[r]);
        MPI_Isend(&w->msgs[me], 1, MPI_INT64_T, r, WATCH_TAG, w->comm, &send[r]);
    }
    int heard = 0;
    for (const double end = now_seconds() + window; heard < n - 1 && now_seconds() < end;) {
        for (int r = 0; r < n; r++) {
            int done = 0;
            if (recv[r] != MPI_REQUEST_NULL &&
                MPI_Test(&recv[r], &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && done) {
                w->heard[r] = 1;
                heard++;
            }
        }
        if (heard < n - 1)
            sleep_seconds(0.001);
    }
    for (int r = 0; r < n; r++) { /* leave nothing that a later MPI call would wait for */
        int done = 0;
        if (recv[r] != MPI_REQUEST_NULL) {
            MPI_Cancel(&recv[r]);
            MPI_Request_free(&recv[r]);
        }
        if (send[r] != MPI_REQUEST_NULL &&
            MPI_Test(&send[r], &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done)
            MPI_Request_free(&send[r]);
    }
    return heard;
}

/* ------------------------------------------------------------------ the thread */

/* No step for the timeout: ask who is there, say so, and end this process. Only
 * async-signal-safe output from here (write, not stdio: the main thread may hold a
 * stdio lock wherever it is stuck). */
static void watch_fire(Watchdog *w) __attribute__((noreturn));
static void watch_fire(Watchdog *w)
{
    char msg[2048], line[2100];
    if (w->threads)
        watchdog_probe(w, w->window);
    watchdog_message(msg, sizeof msg, w);
    const int n = snprintf(line, sizeof line, "collab-mpi: error: %s\n", msg);
    const ssize_t wrote =
        n > 0 ? write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line) : 0;
    (void)wrote; /* nothing to do about a failed write to stderr */
    _exit(EXIT_STALL);
}

/* Wakes a few times per timeout; fires when the stamp has not moved for the timeout. */
static void *watch_main(void *arg)
{
    Watchdog *w = arg;
    const double poll = clamp(w->timeout / 8, 0.01, 1.0);
    uint64_t seen = atomic_load_explicit(&w->beats, memory_order_relaxed);
    double since = now_seconds();
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        const double t = (double)until.tv_nsec * 1e-9 + poll;
        until.tv_sec += (time_t)t;
        until.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
        const uint64_t b = atomic_load_explicit(&w->beats, memory_order_relaxed);
        const double at = now_seconds();
        if (w->stop || b != seen) {
            seen = b;
            since = at;
        } else if (at - since >= w->timeout) {
            pthread_mutex_unlock(&w->lock);
            watch_fire(w);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Starts the thread with every signal blocked in it, so that the main thread keeps
 * receiving SIGTERM and friends (signals.h) as before. */
static void watch_thread_start(Watchdog *w)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->lock, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    const int rc = pthread_create(&w->thread, NULL, watch_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        check_fail(__FILE__, __LINE__, "cannot start the stall watchdog's thread: %s",
                   strerror(rc));
    w->running = 1;
}

void watchdog_start(Watchdog *w, const Ctx *ctx, double timeout)
{
    memset(w, 0, sizeof *w);
    atomic_init(&w->beats, 0);
    atomic_init(&w->where, (uint64_t)WATCH_SETUP << 56);
    /* One timeout for the job (rank 0's), so that every rank starts a thread or none. */
    CHECK_MPI(MPI_Bcast(&timeout, 1, MPI_DOUBLE, 0, ctx->comm));
    int level = MPI_THREAD_SINGLE;
    CHECK_MPI(MPI_Query_thread(&level));
    w->threads = level >= MPI_THREAD_MULTIPLE;
    w->timeout = timeout;
    w->window = clamp(timeout / 2, 2.0, 10.0);
    w->rank = ctx->rank;
    w->size = ctx->size;
    CHECK_MPI(MPI_Comm_dup(ctx->comm, &w->comm));
    CHECK_MPI(MPI_Comm_set_errhandler(w->comm, MPI_ERRORS_RETURN));
    w->heard = xcalloc((size_t)w->size, 1);
    w->msgs = xcalloc((size_t)w->size, sizeof(int64_t));
    w->reqs = xcalloc(2 * (size_t)w->size, sizeof(MPI_Request));
    if (timeout > 0)
        watch_thread_start(w);
}

void watchdog_stop(Watchdog *w)
{
    if (w->running) {
        pthread_mutex_lock(&w->lock);
        w->stop = 1;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        w->running = 0;
    }
    if (w->heard) /* made by watchdog_start: the communicator too */
        MPI_Comm_free(&w->comm);
    free(w->heard);
    free(w->msgs);
    free(w->reqs);
    w->heard = NULL;
    w->msgs = NULL;
    w->reqs = NULL;
}
