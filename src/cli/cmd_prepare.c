/* cmd_prepare.c - `collab-mpi prepare INPUT --output FILE`: validate -> parse the text
 * once, every rank its byte range -> write the prepared HDF5 file collectively -> report.
 * Training reads the file with --data FILE (prepared.h, docs/FORMAT.md). */
#include "config.h"

#include "collab/cli/commands.h"
#include "collab/cli/setup.h"
#include "collab/base/log.h"
#include "collab/data/prepared.h"

/* Options -> DataOptions, or a usage error naming what is missing. Local. */
static int prepare_config(DataOptions *d, Options *o, Status *st)
{
    if (!o->input)
        return status_set(st, STATUS_USAGE,
                          "prepare needs the ratings to read: collab-mpi prepare INPUT --output "
                          "FILE (INPUT: a MovieLens folder or a ratings file)");
    if (!o->output || !*o->output)
        return status_set(st, STATUS_USAGE,
                          "option --output is required: the prepared HDF5 file to write");
    o->data = o->input;
    o->valid_pct = 0.0; /* the split is the training run's */
    return cli_data_options(d, o, st);
}

static void print_summary(const PrepSummary *s, const char *in, const char *out)
{
    if (log_rank() != 0)
        return;
    printf("prepare: wrote %llu ratings (%llu users, %llu items) from %s to %s in %.2f s; "
           "parsed in %.2f s (%.1f M ratings/s)\n",
           (unsigned long long)s->n_rows, (unsigned long long)s->n_users,
           (unsigned long long)s->n_items, in, out, s->total_seconds, s->parse_seconds,
           s->parse_seconds > 0 ? (double)s->n_rows / s->parse_seconds / 1e6 : 0.0);
    fflush(stdout);
}

int cmd_prepare_data(const Ctx *ctx, Options *o)
{
    DataOptions d;
    Status st;
    status_clear(&st);
    if (prepare_config(&d, o, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    if (prep_is_file(d.path, ctx->comm)) {
        log_error("%s is already a prepared file (give the ratings text to prepare, or use "
                  "it directly with --data)",
                  d.path);
        return STATUS_USAGE;
    }
    cli_print_settings(cli_command("prepare"), o, NULL);
    PrepSummary sum;
    if (prep_write(&sum, o->output, &d, ctx->comm, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    print_summary(&sum, o->input, o->output);
    return STATUS_OK;
}
