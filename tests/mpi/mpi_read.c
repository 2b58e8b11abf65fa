/* mpi_read.c - the parallel loader (dataset_load: every rank reads its own byte range)
 * against the serial reference (dataset_load_serial: rank 0 reads, dataset_distribute
 * scatters), at 1, 2 and 3 ranks. For every case both must end with the same status and
 * message, rank 0 must print the same warnings (its stderr is captured), and every rank's
 * shard must match field for field, bit for bit.
 *
 * Cases: each format (MovieLens 100k, 1M, CSV; delimited files with header, column and
 * separator options), CRLF and a byte-order mark, quoted titles with commas, items by id
 * and by title, random splits and a validation file, a very long line, tiny, header-only
 * and empty files, duplicates and malformed lines far apart (errors and
 * --skip-bad-lines), and random files whose lines fall across the rank boundaries in
 * every way. Also: the exact float sum behind train_mean.
 *
 * Every case that loads without a validation file is also prepared (prep_write) and
 * loaded from the prepared file (prep_load), which must give the same shard again. */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "collab/base/exact.h"
#include "collab/data/distribute.h"
#include "collab/base/log.h"
#include "collab/data/prepared.h"
#include "../test.h"

static char root[256]; /* the temporary folder (rank 0 made it) */
static int rank, nranks;

/* ---------------------------------------------------------------------------- files */

/* Rank 0 writes len bytes to root/rel, making one folder level if rel has a '/'. */
static void put_bytes(const char *rel, const char *bytes, size_t len)
{
    char path[512];
    const char *slash = strchr(rel, '/');
    if (slash) {
        snprintf(path, sizeof path, "%s/%.*s", root, (int)(slash - rel), rel);
        mkdir(path, 0755);
    }
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        MPI_Abort(MPI_COMM_WORLD, 99);
    }
}

static void put(const char *rel, const char *text)
{
    put_bytes(rel, text, strlen(text));
}

/* A growing text buffer. */
typedef struct Text {
    char *s;
    size_t n, cap;
} Text;

static void text_add(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(Text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->n + (size_t)k + 1 > t->cap) {
        t->cap = 2 * (t->n + (size_t)k + 1);
        t->s = realloc(t->s, t->cap);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    t->n += (size_t)k;
}

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

/* MovieLens CSV, grouped by user: a byte-order mark, CRLF on some lines, a blank line,
 * quoted titles with commas, two IDs with one title, no final newline. Item 99 has no
 * title here; valid1's movies.csv has one. */
static void write_mlcsv(void)
{
    Text t = {0};
    text_add(&t, "\xEF\xBB\xBFuserId,movieId,rating,timestamp\r\n");
    uint64_t x = 7;
    for (int u = 1; u <= 9; u++)
        for (int i = 0; i < 3 + (int)(lcg(&x) % 6); i++)
            text_add(&t, "%d,%d,%s,%llu%s", u, i == 2 ? 99 : 1 + (u * 7 + i * 13) % 17,
                     (const char *[]){"4.0", "3.5", "0.5", "5", "2.50"}[lcg(&x) % 5],
                     (unsigned long long)(978300000 + lcg(&x)),
                     lcg(&x) % 3 ? "\n" : (lcg(&x) % 2 ? "\r\n" : "\n\n"));
    text_add(&t, "10,3,4.5,1");
    put_bytes("csv1/ratings.csv", t.s, t.n);
    t.n = 0;
    text_add(&t, "movieId,title,genres\n");
    for (int i = 1; i <= 17; i++)
        text_add(&t, i % 4 ? "%d,\"Film %d, The (19%02d)\",Drama\n" : "%d,Plain %d (19%02d),X\n", i,
                 i % 5 == 1 ? 1 : i, i);
    put_bytes("csv1/movies.csv", t.s, t.n);
    put("valid1/ratings.csv", "userId,movieId,rating,timestamp\n1,99,3.0,5\n2,3,4.0,6\n"
                              "77,5,1.0,7\n3,200,2.0,8\n");
    put("valid1/movies.csv", "movieId,title,genres\n99,\"Ninety-nine, A (1999)\",X\n"
                             "3,Other title (2003),X\n5,Five (2005),X\n200,New (2020),X\n");
    free(t.s);
}

/* MovieLens 100k with users in random order (duplicates are then found across ranks),
 * Latin-1 titles; and MovieLens 1M with users.dat (whole stars). */
static void write_ml100k_ml1m(void)
{
    Text t = {0}, m = {0};
    uint64_t x = 11;
    for (int k = 0; k < 120; k++)
        text_add(&t, "%llu\t%d\t%llu\t%llu\n", (unsigned long long)(1 + lcg(&x) % 30), k,
                 (unsigned long long)(1 + lcg(&x) % 5), (unsigned long long)lcg(&x));
    put_bytes("ml100k/u.data", t.s, t.n);
    for (int k = 0; k < 120; k++)
        text_add(&m, "%d|Caf\xE9 %d (19%02d)|01-Jan-1995||http://x|0|1\n", k, k % 50, k % 100);
    put_bytes("ml100k/u.item", m.s, m.n);
    t.n = m.n = 0;
    for (int u = 1; u <= 12; u++)
        for (int i = 1; i <= 1 + u % 5; i++)
            text_add(&t, "%d::%d::%d::%d\n", u, i * 3 + u % 2, 1 + (u + i) % 5, u * i);
    put_bytes("ml1m/ratings.dat", t.s, t.n);
    for (int i = 1; i <= 20; i++)
        text_add(&m, "%d::%s %d (2000)::Drama\n", i, i % 2 ? "Am\xC3\xA9lie" : "Caf\xE9", i);
    put_bytes("ml1m/movies.dat", m.s, m.n);
    put("ml1m/users.dat", "1::F::1::10::48067\n");
    free(t.s);
    free(m.s);
}

/* Delimited files: named columns with string IDs; no header with quoted commas, 007 vs 7
 * and a very long line; tiny, header-only, empty and blank-line files. */
static void write_delim(void)
{
    Text t = {0};
    text_add(&t, "who\twhen\twhat\tstars\n");
    for (int k = 0; k < 40; k++)
        text_add(&t, "%s%d\t%d\tx%d\t%d.%d\n", k % 3 ? "alice" : "bob", k % 7, k, k % 11, k % 5,
                 k % 10);
    put_bytes("named.tsv", t.s, t.n);
    t.n = 0;
    text_add(&t, "what\tname\n");
    for (int k = 0; k < 11; k += 1 + k % 2)
        text_add(&t, "x%d\t\"Item, %d\"\n", k, k % 4);
    put_bytes("named_items.tsv", t.s, t.n);
    t.n = 0;
    text_add(&t, "\"Smith, J\",\"item, one\",4\n007,i2,3\n7,i3,2\n");
    text_add(&t, "\"");
    for (int k = 0; k < 3000; k++)
        text_add(&t, "%c", 'a' + k % 26);
    text_add(&t, "\",i1,5\n");
    for (int k = 0; k < 20; k++)
        text_add(&t, "u%d,\"i%d\",%d\r\n", k % 4, k, 1 + k % 5);
    put_bytes("noheader.csv", t.s, t.n);
    put("tiny.csv", "u,i,r\n1,2,3\n");
    put("one.tsv", "5\t6\t7");
    put("two.tsv", "\xEF\xBB\xBF"
                   "1\t2\t3\n2\t3\t4\n");
    put("headonly/ratings.csv", "userId,movieId,rating,timestamp\n");
    put("empty.csv", "");
    put("blanks.tsv", "\n\n\r\n1\t2\t3\n\n2\t3\t4\n\n\n3\t4\t5");
    free(t.s);
}

/* Bad lines and duplicates far apart, on every rank's part. */
static void write_bad(void)
{
    Text t = {0};
    for (int k = 0; k < 60; k++) /* duplicates: (1,2) at lines 2 and 49, (5,6) at 12 and 30 */
        text_add(&t, "%d\t%d\t3\t1\n",
                 k == 1 || k == 48    ? 1
                 : k == 11 || k == 29 ? 5
                                      : 100 + k,
                 k == 1 || k == 48    ? 2
                 : k == 11 || k == 29 ? 6
                                      : k);
    put_bytes("dup/u.data", t.s, t.n);
    t.n = 0;
    for (int k = 0; k < 60; k++) /* bad lines at 41 and 55: the first is the error */
        text_add(&t, k == 40 || k == 54 ? "%d\t%d\t3\n" : "%d\t%d\t3\t1\n", k, k);
    put_bytes("late/u.data", t.s, t.n);
    t.n = 0;
    text_add(&t, "userId,movieId,rating,timestamp\n");
    for (int k = 0; k < 80; k++) {
        if (k % 9 == 4)
            text_add(&t, "%d,%d,four,1\n", k, k); /* bad rating */
        else if (k % 13 == 7)
            text_add(&t, "%d,%d,4\n", k, k); /* short line */
        else
            text_add(&t, "%d,%d,4.0,1\n", k % 10, k % 6); /* many repeats */
    }
    put_bytes("bad/ratings.csv", t.s, t.n);
    put("bad/movies.csv", "movieId,title,genres\n1,One,X\n2,Two,X\n3,Three,X\n0,Zero,X\n"
                          "4,Four,X\n5,Five,X\n9,,X\n");
    put("miss/ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,1\n1,8,4,1\n2,1,3,1\n"
                            "2,9,3,1\n3,1,2,1\n3,2,1,1\n");
    put("miss/movies.csv", "movieId,title,genres\n1,One,X\n2,Two,X\n");
    free(t.s);
}

/* Random delimited files: IDs of 1 to 9 digits, ratings spelled many ways, CRLF and blank
 * lines at random, some long lines, some repeats and bad lines. */
static void write_random(int seed)
{
    Text t = {0};
    uint64_t x = 1000 + (uint64_t)seed;
    int n = 5 + (int)(lcg(&x) % 90), bad = seed % 3 == 0;
    if (seed % 2)
        text_add(&t, "user,item,rating\n");
    for (int k = 0; k < n; k++) {
        unsigned long long u = lcg(&x) % (seed % 4 ? 1000000000ULL : 7);
        unsigned long long i = lcg(&x) % (seed % 4 == 1 ? 5 : 1000);
        if (lcg(&x) % 17 == 0)
            text_add(&t, "long%0*llu,%llu,3\n", (int)(200 + lcg(&x) % 900), u, i);
        else if (bad && lcg(&x) % 11 == 0)
            text_add(&t, "%llu,%llu\n", u, i);
        else
            text_add(&t, "%llu,%llu,%s%s", u, i,
                     (const char *[]){"1", "2.5", "3.0", " 4 ", "5e0", "0.25"}[lcg(&x) % 6],
                     (const char *[]){"\n", "\r\n", "\n\n", "\n"}[lcg(&x) % 4]);
    }
    char name[64];
    snprintf(name, sizeof name, "rand%d.csv", seed);
    put_bytes(name, t.s, t.n);
    free(t.s);
}

/* ---------------------------------------------------------------------------- cases */

/* Options from words: title skip pct=P seed=S folds=K/F valid=PATH sep=C header=yes|no user=C
 * item=C rating=C time=C items=PATH range=LO,HI fmt=100k|1m|csv|delim. */
static void case_options(DataOptions *d, SplitSpec *sp, char *paths, const char *file,
                         const char *words)
{
    data_options_default(d);
    d->keep_timestamps = 0;
    snprintf(paths, 512, "%s/%s", root, file);
    d->path = paths;
    *sp = (SplitSpec){NULL, 0.2, 42, 0, 0};
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", words);
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        char *v = strchr(w, '=');
        v = v ? v + 1 : "";
        if (!strcmp(w, "title"))
            d->item_by_title = 1;
        else if (!strcmp(w, "skip"))
            d->skip_bad_lines = 1;
        else if (!strncmp(w, "pct=", 4))
            sp->valid_pct = strtod(v, NULL);
        else if (!strncmp(w, "seed=", 5))
            sp->seed = strtoull(v, NULL, 10);
        else if (!strncmp(w, "folds=", 6))
            sp->folds = (int)strtol(v, &v, 10), sp->fold = (int)strtol(v + 1, NULL, 10);
        else if (!strncmp(w, "valid=", 6))
            snprintf(paths + 512, 512, "%s/%s", root, v), sp->valid_path = paths + 512;
        else if (!strncmp(w, "sep=", 4))
            d->sep = !strcmp(v, "tab") ? '\t' : v[0];
        else if (!strncmp(w, "header=", 7))
            d->header = !strcmp(v, "yes");
        else if (!strncmp(w, "items=", 6))
            snprintf(paths + 1024, 512, "%s/%s", root, v), d->items_path = paths + 1024;
        else if (!strncmp(w, "range=", 6))
            d->has_rating_range = 1, d->rating_min = strtod(v, &v),
            d->rating_max = strtod(v + 1, NULL);
        else if (!strncmp(w, "fmt=", 4))
            d->format = !strcmp(v, "100k")  ? DATA_ML100K
                        : !strcmp(v, "1m")  ? DATA_ML1M
                        : !strcmp(v, "csv") ? DATA_MLCSV
                                            : DATA_DELIM;
        else /* user= item= rating= time= */
            *(w[0] == 'u'   ? &d->user_col
              : w[0] == 'i' ? &d->item_col
              : w[0] == 'r' ? &d->rating_col
                            : &d->time_col) = strdup(v);
    }
}

/* What rank 0 printed on stderr while fn ran (static buffer, "" elsewhere). */
typedef int (*LoadFn)(Dataset *, const DataOptions *, const SplitSpec *, MPI_Comm, Status *);
static int load_captured(LoadFn fn, Dataset *ds, const DataOptions *d, const SplitSpec *sp,
                         Status *st, char *err, size_t cap)
{
    char path[300];
    snprintf(path, sizeof path, "%s/stderr.txt", root);
    int saved = -1;
    fflush(stderr);
    if (rank == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        saved = dup(2);
        dup2(fd, 2);
        close(fd);
    }
    int rc = fn(ds, d, sp, MPI_COMM_WORLD, st);
    fflush(stderr);
    err[0] = '\0';
    if (rank == 0) {
        dup2(saved, 2);
        close(saved);
        FILE *f = fopen(path, "rb");
        size_t n = f ? fread(err, 1, cap - 1, f) : 0;
        err[n] = '\0';
        if (f)
            fclose(f);
    }
    return rc;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_vocab(const Vocab *a, const Vocab *b)
{
    int ok = a->n == b->n && a->numeric == b->numeric && a->hcap == b->hcap;
    for (size_t i = 0; ok && i < a->n; i++)
        ok = same_str(a->names[i], b->names[i]);
    return ok && !memcmp(a->hslot, b->hslot, a->hcap * sizeof *a->hslot);
}

#define SAME_ROWS(a, b, f, n) (!memcmp((a)->f, (b)->f, (n) * sizeof *(a)->f))

/* Field by field; prints the first field that differs. */
static int same_dataset(const Dataset *a, const Dataset *b, const char *name)
{
    const char *bad = NULL;
    int titles = a->items.n == b->items.n;
    for (size_t i = 0; titles && i < a->items.n; i++)
        titles = same_str(a->item_titles[i], b->item_titles[i]);
    if (!same_vocab(&a->users, &b->users))
        bad = "users";
    else if (!same_vocab(&a->items, &b->items))
        bad = "items";
    else if (!titles)
        bad = "item_titles";
    else if (a->n_train != b->n_train || a->n_valid != b->n_valid ||
             a->n_train_total != b->n_train_total || a->n_valid_total != b->n_valid_total)
        bad = "row counts";
    else if (!SAME_ROWS(a, b, train_user, a->n_train) || !SAME_ROWS(a, b, train_item, a->n_train) ||
             !SAME_ROWS(a, b, train_rating, a->n_train) || !SAME_ROWS(a, b, train_gidx, a->n_train))
        bad = "training rows";
    else if (!SAME_ROWS(a, b, valid_user, a->n_valid) || !SAME_ROWS(a, b, valid_item, a->n_valid) ||
             !SAME_ROWS(a, b, valid_rating, a->n_valid))
        bad = "validation rows";
    else if (memcmp(&a->train_mean, &b->train_mean, sizeof a->train_mean))
        bad = "train_mean";
    else if (a->layout.nranks != b->layout.nranks || a->layout.n_users != b->layout.n_users ||
             a->layout.n_items != b->layout.n_items ||
             memcmp(a->layout.user_start, b->layout.user_start,
                    ((size_t)a->layout.nranks + 1) * sizeof(size_t)))
        bad = "layout";
    if (bad)
        fprintf(stderr, "rank %d: %s: %s differ\n", rank, name, bad);
    return !bad;
}

/* Frees the column names case_options strdup'ed. */
static void case_options_free(DataOptions *d)
{
    free((char *)d->user_col);
    free((char *)d->item_col);
    free((char *)d->rating_col);
    free((char *)d->time_col);
}

/* The case prepared into root/prep.h5 and loaded back must be par, field for field. */
static int check_prepared(const Dataset *par, const DataOptions *d, const SplitSpec *sp,
                          const char *name)
{
    char out[300];
    Status st;
    PrepSummary sum;
    Dataset ds;
    snprintf(out, sizeof out, "%s/prep.h5", root);
    log_init(rank, LOG_QUIET); /* the reader's warnings were compared above */
    int rc = prep_write(&sum, out, d, MPI_COMM_WORLD, &st);
    log_init(rank, LOG_NORMAL);
    DataOptions o = *d;
    o.path = out;
    if (rc == STATUS_OK)
        rc = prep_load(&ds, &o, sp, MPI_COMM_WORLD, &st);
    if (rc != STATUS_OK && rank == 0)
        fprintf(stderr, "%s: prepared: %s\n", name, st.msg);
    char what[340];
    snprintf(what, sizeof what, "%s (prepared)", name);
    int ok = rc == STATUS_OK && same_dataset(par, &ds, what);
    if (rc == STATUS_OK)
        dataset_free(&ds);
    return ok;
}

/* Loads file with words both ways and compares everything; returns the status code. */
static int check_case(const char *file, const char *words)
{
    static char err_ref[8192], err_par[8192];
    char name[300], paths[1536];
    DataOptions d;
    SplitSpec sp;
    Dataset ref, par;
    Status st_ref, st_par;
    case_options(&d, &sp, paths, file, words);
    snprintf(name, sizeof name, "%s [%s] at -np %d", file, words, nranks);
    int rc_ref =
        load_captured(dataset_load_serial, &ref, &d, &sp, &st_ref, err_ref, sizeof err_ref);
    int rc_par = load_captured(dataset_load, &par, &d, &sp, &st_par, err_par, sizeof err_par);
    int ok = rc_ref == rc_par && !strcmp(st_ref.msg, st_par.msg) && !strcmp(err_ref, err_par);
    if (!ok && rank == 0)
        fprintf(stderr, "%s:\n  serial   %d '%s'\n%s  parallel %d '%s'\n%s", name, rc_ref,
                st_ref.msg, err_ref, rc_par, st_par.msg, err_par);
    if (ok && rc_ref == STATUS_OK)
        ok = same_dataset(&ref, &par, name);
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (all && rc_ref == STATUS_OK && !sp.valid_path)
        ok = check_prepared(&par, &d, &sp, name);
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    TEST_CHECK(all);
    dataset_free(&ref);
    dataset_free(&par);
    case_options_free(&d);
    return rc_par;
}

/* Like check_case, and the error message must contain want. */
static void check_error(const char *file, const char *words, const char *want)
{
    Status st;
    char paths[1536];
    DataOptions d;
    SplitSpec sp;
    Dataset ds;
    TEST_CHECK(check_case(file, words) == STATUS_DATA);
    case_options(&d, &sp, paths, file, words);
    dataset_load(&ds, &d, &sp, MPI_COMM_WORLD, &st);
    TEST_STR_CONTAINS(st.msg, want);
    case_options_free(&d);
}

static void check_formats(void)
{
    TEST_CHECK(check_case("csv1", "") == STATUS_OK);
    check_case("csv1", "title pct=0.3 seed=5");
    check_case("csv1", "pct=0");
    check_case("csv1/ratings.csv", "valid=valid1/ratings.csv");
    check_case("csv1", "title valid=valid1");
    check_case("ml100k", "");
    check_case("ml100k", "title pct=0.5 seed=9");
    check_case("ml1m", "title");
    check_case("ml1m/ratings.dat", "pct=0.1");
    check_case("named.tsv", "user=who item=what rating=stars time=when");
    check_case("named.tsv", "user=who item=what rating=3 header=yes title pct=0.4");
    check_case("named.tsv", "user=who item=what rating=stars items=named_items.tsv");
    check_case("named.tsv", "user=who item=what rating=stars items=named_items.tsv title skip");
    check_case("noheader.csv", "header=no pct=0.25 seed=3");
    check_case("noheader.csv", "title");
    check_case("tiny.csv", "pct=0");
    check_case("one.tsv", "pct=0");
    check_case("two.tsv", "pct=0.5 seed=1");
    check_case("blanks.tsv", "pct=0.34");
    check_case("csv1", "folds=3/0");
    check_case("csv1", "title folds=3/2 seed=5");
    check_case("ml100k", "folds=5/4");
    check_case("two.tsv", "folds=2/1 seed=1");
}

static void check_errors(void)
{
    check_error("headonly", "", "headonly/ratings.csv: no ratings after the header line");
    check_error("empty.csv", "", "empty.csv: the file is empty");
    check_error("dup", "",
                "dup/u.data:30: duplicate rating of item id '6' by user id '5' (first on line 12)");
    check_case("dup", "skip");
    check_error("bad", "", "bad/movies.csv:8: expected a title, found an empty field");
    check_error("late", "", "late/u.data:41: expected 4 fields (user id, item id, rating, ");
    check_case("late", "skip");
    check_case("bad", "skip");
    check_case("bad", "skip title");
    check_error("miss", "title", "miss/ratings.csv:3: movieId '8' is not in");
    check_case("miss", "title skip");
    check_error("named.tsv", "user=nobody", "no column named 'nobody'");
    check_error("ml1m", "range=2,5",
                "ml1m/ratings.dat:5: Rating 1 is out of range (expected 2 to 5)");
}

static void check_random(void)
{
    for (int seed = 0; seed < 24; seed++) {
        char name[64], words[64];
        snprintf(name, sizeof name, "rand%d.csv", seed);
        snprintf(words, sizeof words, "pct=0.%d seed=%d", seed % 7, seed);
        check_case(name, words);
        snprintf(words, sizeof words, "skip pct=0.3 seed=%d", seed);
        check_case(name, words);
    }
}

/* floatsum: exact whatever the order; equal to a wide reference on sums that fit. */
static void check_floatsum(void)
{
    float xs[64];
    FloatSum a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    long double ref = 0;
    uint64_t x = 3;
    for (int k = 0; k < 64; k++) {
        xs[k] = (float)((int64_t)(lcg(&x) % 2000) - 1000) / (float)(1 << (lcg(&x) % 20));
        ref += xs[k];
        floatsum_add(&a, xs[k]);
    }
    for (int k = 63; k >= 0; k--)
        floatsum_add(&b, xs[k]);
    TEST_CHECK(floatsum_value(&a) == (double)ref && floatsum_value(&b) == floatsum_value(&a));
    memset(&a, 0, sizeof a);
    floatsum_add(&a, 1e30f);
    floatsum_add(&a, 1.0f);
    floatsum_add(&a, -1e30f);
    TEST_CHECK(floatsum_value(&a) == 1.0);
    floatsum_add(&a, 1e-45f); /* a subnormal: 1 + 2^-149 rounds to 1 */
    TEST_CHECK(floatsum_value(&a) == 1.0);
}

static void write_files(void)
{
    if (rank == 0) {
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(root, sizeof root, "%s/collab-mpi-read.XXXXXX", base);
        if (!mkdtemp(root)) {
            perror("mkdtemp");
            MPI_Abort(MPI_COMM_WORLD, 99);
        }
        write_mlcsv();
        write_ml100k_ml1m();
        write_delim();
        write_bad();
        for (int seed = 0; seed < 24; seed++)
            write_random(seed);
    }
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    log_init(rank, LOG_NORMAL); /* warnings are printed, and compared */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    write_files();
    check_floatsum();
    check_formats();
    check_errors();
    check_random();
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", root);
    }
    int failed = test_failures, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    char name[32];
    snprintf(name, sizeof name, "mpi_read[%d/%d]", rank, nranks);
    int rc = test_done(name);
    MPI_Finalize();
    return any ? 1 : rc;
}
