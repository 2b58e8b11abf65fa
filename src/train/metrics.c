/* metrics.c - fastai's epoch table and a terminal progress bar. */
#include "config.h"

#include "collab/train/metrics.h"

#include <math.h>
#include <string.h>

#include <mpi.h>

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

void progress_start(Progress *p, int enabled, const char *label, int64_t total)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->total = total > 0 ? total : 1;
    p->shown = -1;
    p->t0 = MPI_Wtime();
    snprintf(p->label, sizeof p->label, "%s", label);
}

void progress_update(Progress *p, int64_t done, double loss)
{
    if (!p->enabled)
        return;
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
    double eta = done > 0 ? el * (double)(p->total - done) / (double)done : 0.0;
    fprintf(stdout, "\r%-10s [%s] %3d%% %lld/%lld  loss %.4f  %.0fs<%.0fs ", p->label, bar,
            (int)step, (long long)done, (long long)p->total, loss, el, eta);
    fflush(stdout);
}

void progress_clear(Progress *p)
{
    if (!p->enabled)
        return;
    fprintf(stdout, "\r%90s\r", "");
    fflush(stdout);
}
