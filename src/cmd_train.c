/* cmd_train.c - `collab-mpi train`: parse -> validate -> load -> fit -> report. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "collab/cli.h"
#include "collab/log.h"

/* What the epoch callback keeps for the summary line. */
typedef struct FitLog {
    int verbose;
    int epochs;
    double seconds, train_seconds;
} FitLog;

static void on_epoch(const EpochRow *row, void *arg)
{
    FitLog *log = arg;
    log->epochs++;
    log->seconds += row->seconds;
    log->train_seconds += row->train_seconds;
    if (log_rank() == 0 && log_verbosity() >= LOG_NORMAL)
        metrics_print_row(stdout, row, log->verbose);
}

/* Loads the dataset and checks it can feed at least one batch; errors are reported. */
int cmd_prepare(Dataset *ds, const Ctx *ctx, const Options *o, const TrainConfig *cfg)
{
    Status st;
    status_clear(&st);
    if (cli_load_dataset(ds, ctx, o, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    if (ds->n_train_total < cfg->bs) {
        log_error("the training set has %zu ratings, fewer than one batch (--bs %zu): use a "
                  "smaller --bs or more data", ds->n_train_total, cfg->bs);
        dataset_free(ds);
        return STATUS_DATA;
    }
    return STATUS_OK;
}

int cmd_train(const Ctx *ctx, Options *o)
{
    TrainConfig cfg;
    Status st;
    status_clear(&st);
    if (cli_train_config(&cfg, o, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    Dataset ds;
    int rc = cmd_prepare(&ds, ctx, o, &cfg);
    if (rc)
        return rc;
    cli_print_settings(&CLI_COMMANDS[0], o, &ds);
    Trainer t;
    trainer_init(&t, ctx, &ds, &cfg);
    FitLog log = {.verbose = o->verbose};
    if (log_rank() == 0 && log_verbosity() >= LOG_NORMAL && cfg.epochs > 0)
        metrics_print_header(stdout);
    const double t0 = MPI_Wtime();
    trainer_fit(&t, on_epoch, &log);
    double mae = NAN, mse = trainer_validate(&t, &mae);
    if (log_rank() == 0)
        printf("summary: epochs %d valid_loss %.6f rmse %.6f mae %.6f sec_per_epoch %.4f "
               "train_sec_per_epoch %.4f total_sec %.3f\n",
               cfg.epochs, mse, sqrt(mse), mae, log.epochs ? log.seconds / log.epochs : 0.0,
               log.epochs ? log.train_seconds / log.epochs : 0.0, MPI_Wtime() - t0);
    char msg[1200];
    if (o->dump_params && trainer_dump_params(&t, o->dump_params, msg, sizeof msg)) {
        log_error("--dump-params: %s", msg);
        rc = STATUS_DATA;
    }
    trainer_free(&t);
    dataset_free(&ds);
    return rc;
}
