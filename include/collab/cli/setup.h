/* setup.h - what the subcommands share between parsing and running: validation of the
 * parsed options into typed configurations (each error names the option), loading the
 * data, the resolved settings stored in output files, and opening a trained model. */
#ifndef COLLAB_SETUP_H
#define COLLAB_SETUP_H

#include <stddef.h>

#include "collab/base/ctx.h"
#include "collab/base/status.h"
#include "collab/cli/cli.h"
#include "collab/data/dataset.h"
#include "collab/model/schedule.h"
#include "collab/store/checkpoint.h"
#include "collab/store/modelfile.h"
#include "collab/train/train.h"
#include "collab/use/usemodel.h"

/* Validation, separate from parsing: each turns Options into a typed config or returns
 * STATUS_USAGE naming the offending option. Local. */
int cli_data_options(DataOptions *d, const Options *o, Status *st);
int cli_train_config(TrainConfig *c, const Options *o, Status *st);
int cli_suggest(LrSuggest *s, const Options *o, Status *st);
/* The stall watchdog's timeout (watchdog.h) in seconds: --stall-timeout, else the
 * environment's COLLAB_STALL_TIMEOUT (for batch scripts), else 600; 0 turns it off. Both
 * are parsed strictly (whole seconds, digits only, up to a week); a bad value is
 * STATUS_USAGE naming the option or the variable. Local: the caller agrees over ranks,
 * since the environment may differ between them. */
int cli_stall_timeout(double *secs, const Options *o, Status *st);

/* Collective: every rank reads its part of the data named by o (or the embedded
 * default): text (distribute.h), or a prepared file (prepared.h, found by its HDF5
 * signature; the text-only options are then a usage error); the ranks split and encode
 * it together and each ends with its shard. Returns the agreed status (the message is
 * on every rank). */
int cli_load_dataset(Dataset *ds, const Ctx *ctx, const Options *o, Status *st);

/* Every option of cmd as resolved name/value text, and "workdir", the folder the run
 * started in, for checkpoints and model files (cli_settings_free). */
CkptSetting *cli_settings(const Command *cmd, const Options *o, size_t *n);
void cli_settings_free(CkptSetting *s, size_t n);

/* A resumed run's view of its checkpoint: the file, and the stored settings the options
 * it takes from it point into. */
enum { CLI_RESUME_PATHS = 8 };
typedef struct CliResume {
    char path[4096]; /* the checkpoint resumed from; "" without --resume, or when --resume
                        auto finds none yet */
    ModelFile mf;    /* its settings (modelfile_read_settings) */
    char *paths[CLI_RESUME_PATHS]; /* stored relative paths, joined to the stored workdir */
    size_t n_paths;
} CliResume;

/* With --resume PATH|auto (auto: the newest checkpoint in --checkpoint-dir), the options
 * of cmd not given on the command line take the checkpoint's values, except --resume and
 * the display options (--progress, --progress-seconds, --quiet, --verbose); stored
 * relative paths are taken relative to the folder the checkpointed run started in (its
 * "workdir" setting), so a run resumes from any folder. A given option that may not
 * change (ckpt_setting_may_change) and differs from the checkpoint's value is a usage
 * error naming the option and both values. A file whose settings cannot be read is left
 * to ckpt_read to report. Collective; returns the agreed status (r is freeable either
 * way: cli_resume_free, after the last use of o). */
int cli_resume_settings(CliResume *r, Options *o, const Command *cmd, const Ctx *ctx, Status *st);
void cli_resume_free(CliResume *r);

/* Rank 0 prints "name: value" for every option of cmd as resolved. */
void cli_print_settings(const Command *cmd, const Options *o, const Dataset *ds);

/* Loads the dataset (cli_load_dataset) and checks it holds at least one training batch
 * of cfg->bs; reports errors from rank 0 (ds is then freed). Returns the agreed status.
 * Collective. */
int cli_load_training_data(Dataset *ds, const Ctx *ctx, const Options *o, const TrainConfig *cfg);

/* The prologue of the subcommands that train, `command` ("train" or "lr-find", its name
 * in CLI_COMMANDS), once their options are validated into cfg: installs the signal
 * handlers, loads the data (cli_load_training_data), refuses tables that would not fit
 * before anything is allocated (memory.h; lr-find counts the copies its sweep keeps),
 * prints command's resolved settings (rank 0) and initialises t from cfg, printing
 * MODEL_NN's architecture. On success the caller owns t and ds (trainer_free, then
 * dataset_free); on failure the error is reported and nothing is left to free. Returns
 * the agreed status. Collective. */
int cli_setup_trainer(Trainer *t, Dataset *ds, const Ctx *ctx, const Options *o,
                      const TrainConfig *cfg, const char *command);

/* Opens the trained model of o->model_file for a model-using command (usemodel_open),
 * rebuilding its training data from the stored settings when with_data (o->data may
 * name a moved copy). Collective; returns the agreed status. */
int cli_open_model(UseModel *u, const Ctx *ctx, const Options *o, int with_data);

#endif
