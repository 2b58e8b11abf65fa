/* cmd_showbatch.c - `collab-mpi show-batch`: the first training batch like
 * dls.show_batch(): user, title (or item when no title is known), rating. */
#include "config.h"

#include <stdlib.h>

#include "collab/base/check.h"
#include "collab/cli/commands.h"
#include "collab/cli/setup.h"
#include "collab/data/distribute.h"
#include "collab/base/log.h"

static void print_batch(const Dataset *ds, const int32_t *user, const int32_t *item,
                        const float *rating, size_t n)
{
    printf("%-4s %-10s %-60s %s\n", "", "user", "title", "rating");
    for (size_t j = 0; j < n; j++) {
        const char *title = ds->item_titles && ds->item_titles[item[j]] ? ds->item_titles[item[j]]
                                                                        : ds->items.names[item[j]];
        printf("%-4zu %-10s %-60s %g\n", j, ds->users.names[user[j]], title, rating[j]);
    }
}

int cmd_show_batch(const Ctx *ctx, Options *o)
{
    if (o->max_n < 1 || o->bs < 1) {
        log_error("option --%s: %lld is not positive", o->bs < 1 ? "bs" : "max-n",
                  (long long)(o->bs < 1 ? o->bs : o->max_n));
        return STATUS_USAGE;
    }
    TrainConfig cfg = {.bs = (size_t)o->bs};
    Dataset ds;
    int rc = cli_load_training_data(&ds, ctx, o, &cfg);
    if (rc)
        return rc;
    if (o->info) {
        if (log_rank() == 0)
            printf("rows: %zu train: %zu valid: %zu users: %zu items: %zu\n",
                   ds.n_train_total + ds.n_valid_total, ds.n_train_total, ds.n_valid_total,
                   ds.users.n, ds.items.n);
    } else {
        size_t n = (size_t)o->max_n < cfg.bs ? (size_t)o->max_n : cfg.bs;
        int32_t *user = xmalloc(n * sizeof(int32_t)), *item = xmalloc(n * sizeof(int32_t));
        float *rating = xmalloc(n * sizeof(float));
        dataset_gather_first(user, item, rating, &ds, (uint64_t)o->seed, 0, n, ctx->comm);
        if (log_rank() == 0)
            print_batch(&ds, user, item, rating, n);
        free(user);
        free(item);
        free(rating);
    }
    dataset_free(&ds);
    return 0;
}
