/* cmd_showbatch.c - `collab-mpi show-batch`: the first training batch like
 * dls.show_batch(): user, title (or item when no title is known), rating. */
#include "config.h"

#include <stdlib.h>

#include "collab/check.h"
#include "collab/cli.h"
#include "collab/log.h"

static void print_batch(const Dataset *ds, const uint32_t *order, size_t n)
{
    printf("%-4s %-10s %-60s %s\n", "", "user", "title", "rating");
    for (size_t j = 0; j < n; j++) {
        uint32_t r = order[j];
        int32_t u = ds->train_user[r], i = ds->train_item[r];
        const char *title = ds->item_titles && ds->item_titles[i] ? ds->item_titles[i]
                                                                  : ds->items.names[i];
        printf("%-4zu %-10s %-60s %g\n", j, ds->users.names[u], title, ds->train_rating[r]);
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
    int rc = cmd_prepare(&ds, ctx, o, &cfg);
    if (rc)
        return rc;
    if (o->info) {
        if (log_rank() == 0)
            printf("rows: %zu train: %zu valid: %zu users: %zu items: %zu\n",
                   ds.n_train + ds.n_valid, ds.n_train, ds.n_valid, ds.users.n, ds.items.n);
    } else if (log_rank() == 0) {
        uint32_t *order = xmalloc(ds.n_train * sizeof(uint32_t));
        train_order(order, ds.n_train, (uint64_t)o->seed, 0);
        print_batch(&ds, order, (size_t)o->max_n < cfg.bs ? (size_t)o->max_n : cfg.bs);
        free(order);
    }
    dataset_free(&ds);
    return 0;
}
