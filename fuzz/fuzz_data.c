/* fuzz_data.c - the ratings readers on arbitrary files of every format: the serial reader
 * (data_read), and the two loading paths training uses (at one rank): the reference one
 * (dataset_load_serial: read, split, encode) and the parallel one (dataset_load: byte
 * ranges, keys, duplicates, routing), which must agree on the outcome and the message.
 *
 * Input: byte 0 picks the format and its file names (ML-100k u.data + u.item, ML-1M
 * ratings.dat + movies.dat, ML-CSV ratings.csv + movies.csv, a delimited .csv or .tsv
 * with an items file), byte 1 the options (titles as items, --skip-bad-lines, header,
 * a rating range); the rest is the ratings file, then, after a line "@@", the items file.
 * Every outcome must be a clean Status, never a crash, a leak or undefined behaviour. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collab/data/dataset.h"
#include "collab/data/distribute.h"
#include "fuzz.h"

typedef struct Format {
    DataFormat format;
    const char *ratings, *items; /* file names */
} Format;

static const Format FORMATS[] = {{DATA_ML100K, "u.data", "u.item"},
                                 {DATA_ML1M, "ratings.dat", "movies.dat"},
                                 {DATA_MLCSV, "ratings.csv", "movies.csv"},
                                 {DATA_DELIM, "r.csv", "i.csv"},
                                 {DATA_DELIM, "r.tsv", "i.tsv"},
                                 {DATA_AUTO, "ratings.csv", "movies.csv"}};

/* Splits body at the first "\n@@\n": ratings before, items after (NULL when absent). */
static const uint8_t *split_items(const uint8_t *body, size_t n, size_t *n_ratings, size_t *n_items)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (!memcmp(body + i, "\n@@\n", 4)) {
            *n_ratings = i + 1;
            *n_items = n - i - 4;
            return body + i + 4;
        }
    *n_ratings = n;
    *n_items = 0;
    return NULL;
}

/* Differential check: the reference and the parallel loading paths give the same status
 * and message and, when they succeed, the same sizes; aborts (a finding) otherwise. */
static void compare_loads(const DataOptions *o)
{
    const SplitSpec sp = {NULL, 0.2, 42, 0, 0};
    Dataset a, b;
    Status sa, sb;
    status_clear(&sa);
    status_clear(&sb);
    int ra = dataset_load_serial(&a, o, &sp, MPI_COMM_WORLD, &sa);
    int rb = dataset_load(&b, o, &sp, MPI_COMM_WORLD, &sb);
    int same = ra == rb && !strcmp(sa.msg, sb.msg);
    if (same && ra == STATUS_OK)
        same = a.n_train_total == b.n_train_total && a.n_valid_total == b.n_valid_total &&
               a.users.n == b.users.n && a.items.n == b.items.n;
    if (!same) {
        fprintf(stderr,
                "fuzz_data: the loading paths disagree:\n  reference %d '%s'\n"
                "  parallel  %d '%s'\n",
                ra, sa.msg, rb, sb.msg);
        abort();
    }
    dataset_free(&a);
    dataset_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *dir = fuzz_setup();
    const Format *f = &FORMATS[data[0] % (sizeof FORMATS / sizeof *FORMATS)];
    const uint8_t flags = data[1];
    size_t nr, ni;
    const uint8_t *items = split_items(data + 2, size - 2, &nr, &ni);
    char ratings[512], itemsp[512] = "";
    snprintf(ratings, sizeof ratings, "%s", fuzz_write(dir, f->ratings, data + 2, nr));
    if (items)
        snprintf(itemsp, sizeof itemsp, "%s", fuzz_write(dir, f->items, items, ni));
    DataOptions o;
    data_options_default(&o);
    o.format = f->format;
    /* MovieLens formats read a folder; a delimited file is read as a file. */
    o.path = f->format == DATA_DELIM ? ratings : dir;
    o.item_by_title = flags & 1;
    o.skip_bad_lines = (flags >> 1) & 1;
    o.header = (flags >> 2) % 3 - 1;
    o.has_rating_range = (flags >> 4) & 1;
    o.rating_min = 0.5, o.rating_max = 5;
    o.items_path = f->format == DATA_DELIM && items ? itemsp : NULL;
    o.keep_timestamps = (flags >> 5) & 1;
    Ratings r;
    memset(&r, 0, sizeof r);
    Status st;
    status_clear(&st);
    (void)data_read(&r, &o, &st);
    fuzz_report(&st);
    ratings_free(&r);
    compare_loads(&o);
    unlink(ratings);
    if (items)
        unlink(itemsp);
    return 0;
}
