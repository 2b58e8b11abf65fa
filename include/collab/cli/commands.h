/* commands.h - the subcommands' entry points, one file each in src/cli/ (cmd_*.c):
 * each parses nothing itself (cli_parse did), validates through setup.h, orchestrates
 * the layers below and returns the exit status, the same on every rank (0 ok, 1 data
 * or runtime error, 2 usage error). All are collective. */
#ifndef COLLAB_COMMANDS_H
#define COLLAB_COMMANDS_H

#include "collab/base/ctx.h"
#include "collab/cli/cli.h"

/* The subcommands (cmd_*.c). */
int cmd_train(const Ctx *ctx, Options *o);
int cmd_lr_find(const Ctx *ctx, Options *o);
int cmd_show_batch(const Ctx *ctx, Options *o);
int cmd_synth(const Ctx *ctx, Options *o);
int cmd_prepare_data(const Ctx *ctx, Options *o);
int cmd_predict(const Ctx *ctx, Options *o);
int cmd_recommend(const Ctx *ctx, Options *o);
int cmd_similar(const Ctx *ctx, Options *o);
int cmd_biases(const Ctx *ctx, Options *o);
int cmd_pca(const Ctx *ctx, Options *o);
int cmd_evaluate(const Ctx *ctx, Options *o);
int cmd_show_results(const Ctx *ctx, Options *o);
int cmd_sweep(const Ctx *ctx, Options *o);

#endif
