/* cmd_lrfind.c - `collab-mpi lr-find`: fastai's learning-rate sweep and suggestion. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/cli/commands.h"
#include "collab/cli/setup.h"
#include "collab/base/log.h"
#include "collab/store/params.h"
#include "collab/train/signals.h"

static void print_curve(const double *lrs, const double *losses, size_t n, size_t mark)
{
    printf("%-5s %-12s %s\n", "batch", "lr", "smooth_loss");
    for (size_t i = 0; i < n; i++)
        printf("%-5zu %-12.6e %.6f%s\n", i, lrs[i], losses[i], i == mark ? "  <- suggestion" : "");
}

int cmd_lr_find(const Ctx *ctx, Options *o)
{
    static const char *const names[] = {"valley", "minimum", "steep"};
    TrainConfig cfg;
    LrSuggest which;
    Status st;
    status_clear(&st);
    if (cli_train_config(&cfg, o, &st) || cli_suggest(&which, o, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    cfg.epochs = 1; /* only sizes the (unused) schedule */
    Dataset ds;
    Trainer t;
    int rc = cli_setup_trainer(&t, &ds, ctx, o, &cfg, "lr-find");
    if (rc)
        return rc;
    double *lrs = xmalloc((size_t)o->num_it * sizeof(double));
    double *losses = xmalloc((size_t)o->num_it * sizeof(double));
    size_t n = trainer_lr_find(&t, o->start_lr, o->end_lr, o->num_it, !o->no_stop_div, lrs, losses);
    const int stopped = t.flags[FLAG_STOP] != 0;
    size_t idx = 0;
    double lr = lrfind_suggest(which, lrs, losses, n, o->num_it, &idx);
    if (o->metrics && log_rank() == 0)
        metrics_file_lr_find(o->metrics, lrs, losses, n, names[which], lr, stopped, &st);
    if (status_agree(&st, ctx->comm)) {
        log_error("%s", st.msg);
        rc = STATUS_DATA;
    }
    if (stopped) {
        const int sig = signals_agree(ctx->comm);
        log_error("lr-find stopped by signal %d after %zu batches; the model is unchanged%s", sig,
                  n, o->metrics ? " and the partial curve is saved" : "");
        rc = 128 + sig;
    }
    if (log_rank() == 0) {
        if (log_verbosity() >= LOG_NORMAL)
            print_curve(lrs, losses, n, idx);
        printf("suggestion: %s %.6e (%zu batches%s)\n", names[which], lr, n,
               n < (size_t)o->num_it ? ", stopped: loss diverged" : "");
    }
    if (!stopped && isnan(lr)) {
        log_error("lr-find recorded %zu batches, too few for a suggestion: raise --num-it or "
                  "--end-lr",
                  n);
        rc = STATUS_DATA;
    }
    char msg[1200];
    if (o->dump_params && params_dump(&t.model, &ds.layout, ctx, o->dump_params, msg, sizeof msg)) {
        log_error("--dump-params: %s", msg);
        rc = STATUS_DATA;
    }
    free(lrs);
    free(losses);
    trainer_free(&t);
    dataset_free(&ds);
    return rc;
}
