/* mpi_watchdog.c - the stall watchdog's parts at 1, 2 and 3 ranks (watchdog.h): the
 * message names the phase, the ranks not heard from and the exit status; the probe hears
 * every rank that probes within its window and not one that comes too late; a thread
 * whose stamp keeps moving never fires (if it did, the process would end with status 76
 * before the summary). The end of a stalled job itself is tested across virtual hosts by
 * tests/e2e/stall-*.sh. */
#include "config.h"

#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "collab/base/watchdog.h"
#include "../test.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The phase and the silent ranks, as the message words them. */
static void check_message(Watchdog *w)
{
    char msg[2048];
    watchdog_at(w, WATCH_BATCH, 1, 212);
    memset(w->heard, 1, (size_t)w->size);
    w->heard[w->size - 1] = w->size == 1;
    watchdog_message(msg, sizeof msg, w);
    TEST_STR_CONTAINS(msg, "stalled: no progress for 5 s (--stall-timeout)");
    TEST_STR_CONTAINS(msg, "in training batch 212 of epoch 1;");
    TEST_STR_CONTAINS(msg, "exit status 76");
    char silent[64];
    snprintf(silent, sizeof silent, "ranks not heard from: %d;", w->size - 1);
    if (w->size > 1)
        TEST_STR_CONTAINS(msg, silent);
    else
        TEST_STR_CONTAINS(msg, "ranks not heard from: none");
    watchdog_at(w, WATCH_CKPT_WRITE, 0, 200);
    watchdog_message(msg, sizeof msg, w);
    TEST_STR_CONTAINS(msg, "in the checkpoint write of epoch 0, batch 200;");
    watchdog_at(w, WATCH_VALID, 3, 0);
    watchdog_message(msg, sizeof msg, w);
    TEST_STR_CONTAINS(msg, "in validation (chunk 0, epoch 3);");
    w->threads = 0; /* a library without MPI_THREAD_MULTIPLE */
    watchdog_message(msg, sizeof msg, w);
    TEST_STR_CONTAINS(msg, "ranks not heard from: unknown");
    w->threads = 1;
}

/* Every rank probes: every rank hears every other. */
static void check_probe_all(Watchdog *w)
{
    TEST_CHECK(watchdog_probe(w, 5.0) == w->size - 1);
    for (int r = 0; r < w->size; r++)
        TEST_CHECK(w->heard[r] == 1);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* The last rank probes only after the others' windows closed: they do not hear it, it
 * hears them (their messages wait for it). Run last: its messages stay unmatched. */
static void check_probe_late(Watchdog *w)
{
    const int late = w->size - 1;
    if (w->size < 2)
        return;
    if (w->rank == late) {
        sleep_ms(700);
        TEST_CHECK(watchdog_probe(w, 2.0) == w->size - 1);
    } else {
        TEST_CHECK(watchdog_probe(w, 0.3) == w->size - 2);
        TEST_CHECK(w->heard[late] == 0);
        TEST_CHECK(w->heard[w->rank] == 1);
    }
}

int main(int argc, char **argv)
{
    int level;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &level);
    Ctx ctx;
    ctx_init(&ctx);
    Watchdog w;
    watchdog_start(&w, &ctx, 5);
    TEST_CHECK(w.running && w.size == ctx.size && w.rank == ctx.rank);
    check_message(&w);
    watchdog_stop(&w);
    watchdog_stop(&w); /* twice is safe */

    /* A stamp that moves every 20 ms keeps a 0.2 s watchdog quiet for 0.8 s. */
    watchdog_start(&w, &ctx, 0.2);
    for (int i = 0; i < 40; i++) {
        watchdog_at(&w, WATCH_BATCH, 0, i);
        sleep_ms(20);
    }
    watchdog_stop(&w);

    watchdog_start(&w, &ctx, 0); /* off: no thread, the probe still works */
    TEST_CHECK(!w.running);
    if (level >= MPI_THREAD_MULTIPLE) {
        check_probe_all(&w);
        check_probe_late(&w);
    }
    watchdog_stop(&w);
    ctx_free(&ctx);
    const int rc = test_done("mpi_watchdog");
    MPI_Finalize();
    return rc;
}
