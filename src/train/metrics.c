/* metrics.c - fastai's epoch table, and the progress within an epoch: a terminal bar or
 * plain lines for a log. */
#include "config.h"

#include "collab/train/metrics.h"

#include <math.h>
#include <string.h>

#include <mpi.h>

#include "collab/base/log.h"

double metrics_peak_rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0.0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb / 1024.0;
}

void metrics_print_header(FILE *f)
{
    fprintf(f, "%-6s %-11s %-11s %s\n", "epoch", "train_loss", "valid_loss", "time");
    fflush(f);
}

void metrics_print_row(FILE *f, const EpochRow *r, int verbose)
{
    int secs = (int)lround(r->seconds);
    char valid[32];
    if (isnan(r->valid_loss))
        snprintf(valid, sizeof valid, "%-11s", "-");
    else
        snprintf(valid, sizeof valid, "%-11.6f", r->valid_loss);
    fprintf(f, "%-6d %-11.6f %s %02d:%02d", r->epoch, r->train_loss, valid, secs / 60, secs % 60);
    if (verbose)
        fprintf(f,
                "  | %.3fs: train %.3f (compute %.3f, update %.3f, exchange %.3f), "
                "imbalance %.2f, %llu msgs %.2f MB exchanged, lr %.3g mom %.3g",
                r->seconds, r->train_seconds, r->compute_seconds, r->update_seconds,
                r->exchange_seconds, r->imbalance, (unsigned long long)r->exchange_messages,
                (double)r->exchange_bytes / 1e6, r->lr, r->mom);
    fputc('\n', f);
    fflush(f);
}

void progress_start(Progress *p, ProgressSpec spec, const char *label, const char *unit,
                    int64_t total)
{
    memset(p, 0, sizeof *p);
    p->spec = spec;
    if (log_rank() != 0) /* rank 0 prints */
        p->spec.mode = PROGRESS_OFF;
    p->total = total > 0 ? total : 1;
    p->shown = -1;
    p->t0 = p->last = MPI_Wtime();
    p->unit = unit;
    snprintf(p->label, sizeof p->label, "%s", label);
}

/* Seconds left in the phase at the pace so far. */
static double progress_eta(const Progress *p, int64_t done, double elapsed)
{
    return done > 0 ? elapsed * (double)(p->total - done) / (double)done : 0.0;
}

/* A plain line for a log: no \r, no padding, one line per period. */
static void progress_line(Progress *p, int64_t done, double loss)
{
    const double now = MPI_Wtime();
    if (now - p->last < p->spec.every || done == p->total)
        return; /* the epoch's row follows the last step */
    p->last = now;
    const double el = now - p->t0;
    fprintf(stdout, "progress: %s %s %lld/%lld elapsed_sec %.1f eta_sec %.1f smooth_loss %.6f\n",
            p->label, p->unit, (long long)done, (long long)p->total, el, progress_eta(p, done, el),
            loss);
    fflush(stdout);
}

static void progress_bar(Progress *p, int64_t done, double loss)
{
    /* Redraw at most every 1% of the phase: a terminal is slow next to a batch. */
    int64_t step = done * 100 / p->total;
    if (step == p->shown && done != p->total)
        return;
    p->shown = step;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int fill = (int)(done * WIDTH / p->total);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    double el = MPI_Wtime() - p->t0;
    fprintf(stdout, "\r%-10s [%s] %3d%% %lld/%lld  loss %.4f  %.0fs<%.0fs ", p->label, bar,
            (int)step, (long long)done, (long long)p->total, loss, el, progress_eta(p, done, el));
    fflush(stdout);
}

void progress_update(Progress *p, int64_t done, double loss)
{
    if (p->spec.mode == PROGRESS_BAR)
        progress_bar(p, done, loss);
    else if (p->spec.mode == PROGRESS_LINES)
        progress_line(p, done, loss);
}

void progress_clear(Progress *p)
{
    if (p->spec.mode != PROGRESS_BAR)
        return;
    fprintf(stdout, "\r%90s\r", "");
    fflush(stdout);
}
