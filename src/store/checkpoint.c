/* checkpoint.c - parallel HDF5 checkpoints: atomic collective writes, validated reads.
 *
 * HDF5's automatic error printing is off (main.c); every call is checked here (h5.h) and
 * a failure becomes a Status naming the file and the problem. */
#include "config.h"

#include "collab/store/checkpoint.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collab/base/check.h"
#include "collab/base/h5.h"
#include "collab/base/hooks.h"
#include "collab/base/log.h"
#include "collab/base/rng.h"
#include "collab/base/watchdog.h"

#define FORMAT_NAME "collab-mpi"

/* ------------------------------------------------------------------ checksums */

/* Order-free checksum of a table's rows: a sum of keyed hashes of (element, bits). */
static uint64_t table_checksum(const CkptTable *t)
{
    uint64_t sum = 0;
    const size_t n = t->rows * t->width;
    for (size_t e = 0; e < n && t->elem == CKPT_F64; e++) {
        uint64_t bits;
        memcpy(&bits, &t->data_f64[e], sizeof bits);
        sum += rng_hash(0xc4ed, t->row0 * t->width + e, bits, t->width);
    }
    for (size_t e = 0; e < n && t->elem == CKPT_F32; e++) {
        uint32_t bits;
        memcpy(&bits, &t->data[e], sizeof bits);
        sum += rng_hash(0xc4ec, t->row0 * t->width + e, bits, t->width);
    }
    return sum;
}

static uint64_t sum_over_ranks(uint64_t v, const Ctx *ctx)
{
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_UINT64_T, MPI_SUM, ctx->comm));
    return v;
}

uint64_t ckpt_fingerprint(const int64_t *gidx, const int32_t *user, const int32_t *item,
                          const float *rating, size_t n, uint64_t salt, const Ctx *ctx)
{
    uint64_t sum = 0;
    for (size_t r = 0; r < n; r++) {
        uint32_t bits;
        memcpy(&bits, &rating[r], sizeof bits);
        uint64_t key = ((uint64_t)(uint32_t)user[r] << 32) | (uint32_t)item[r];
        sum += rng_hash(salt, gidx ? (uint64_t)gidx[r] : 0, key, bits);
    }
    return sum_over_ranks(sum, ctx);
}

/* ------------------------------------------------------------------ writing */

/* Collective: table t (each rank its rows) with its checksum attribute. */
static int write_table(hid_t file, const CkptTable *t, const Ctx *ctx, const char *path, Status *st)
{
    const uint64_t sum = sum_over_ranks(table_checksum(t), ctx);
    const int f64 = t->elem == CKPT_F64;
    hid_t ds = h5_write_rows(file, t->name, f64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE,
                             f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT,
                             f64 ? (const void *)t->data_f64 : (const void *)t->data, t->row0,
                             t->rows, t->total, t->width == 1 ? 0 : t->width);
    H5_OK(ds, t->name);
    H5_OK(h5_attr_write_u64(ds, "checksum", sum), t->name);
fail:
    if (ds >= 0)
        H5Dclose(ds);
    return st->code;
}

static int write_attrs(hid_t file, const CkptContent *c, const Ctx *ctx, const char *path,
                       Status *st)
{
    hid_t g = -1;
    char date[32];
    time_t now = time(NULL);
    int64_t when = (int64_t)now;
    CHECK_MPI(MPI_Bcast(&when, 1, MPI_INT64_T, 0, ctx->comm)); /* one date on all ranks */
    now = (time_t)when;
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    H5_OK(h5_attr_write_str(file, "format", FORMAT_NAME), "format attribute");
    H5_OK(h5_attr_write_i64(file, "format_version", CKPT_FORMAT_VERSION), "version attribute");
    H5_OK(h5_attr_write_str(file, "kind", c->with_optimizer ? "checkpoint" : "model"), "kind");
    H5_OK(h5_attr_write_str(file, "program", PACKAGE_STRING), "program attribute");
    H5_OK(h5_attr_write_i64(file, "nranks", ctx->size), "nranks attribute");
    H5_OK(h5_attr_write_str(file, "created", date), "created attribute");
    H5_OK(g = H5Gcreate2(file, "progress", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          "progress group");
    const CkptProgress *p = &c->progress;
    H5_OK(h5_attr_write_i64(g, "epoch", p->epoch) | h5_attr_write_i64(g, "batch", p->batch) |
              h5_attr_write_i64(g, "iter", p->iter) |
              h5_attr_write_i64(g, "opt_step", p->opt_step) |
              h5_attr_write_f64(g, "smooth_val", p->smooth_val) |
              h5_attr_write_i64(g, "smooth_count", p->smooth_count) |
              h5_attr_write_i64(g, "epochs", p->epochs) |
              h5_attr_write_f64(g, "decay_prod", p->decay_prod),
          "progress attributes");
    H5Gclose(g);
    H5_OK(g = H5Gcreate2(file, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "data group");
    const CkptData *d = &c->data;
    H5_OK(h5_attr_write_u64(g, "n_train", d->n_train) |
              h5_attr_write_u64(g, "n_valid", d->n_valid) |
              h5_attr_write_u64(g, "n_users", d->n_users) |
              h5_attr_write_u64(g, "n_items", d->n_items) |
              h5_attr_write_u64(g, "fingerprint", d->fingerprint),
          "data attributes");
    H5Gclose(g);
    H5_OK(g = H5Gcreate2(file, "settings", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          "settings group");
    for (size_t i = 0; i < c->n_settings; i++)
        H5_OK(h5_attr_write_str(g, c->settings[i].name, c->settings[i].value), "settings");
fail:
    if (g >= 0)
        H5Gclose(g);
    return st->code;
}

/* Test hook: COLLAB_TEST_SLOW_CHECKPOINT=S sleeps S seconds in the middle of a write, so
 * a test can kill the job while a checkpoint is half written. */
static void test_slow_write(void)
{
    const unsigned s = hooks_slow_checkpoint();
    if (s > 0)
        sleep(s);
}

/* A write can fail on some ranks only (the one whose data hit the full disk): the ranks
 * agree after every step, so that they stop together and none waits in a collective
 * call that the others skipped. */
static int write_body(hid_t file, const CkptContent *c, const Ctx *ctx, const char *path,
                      Status *st)
{
    write_attrs(file, c, ctx, path, st);
    for (size_t i = 0; i < c->n_tables && !status_agree(st, ctx->comm); i++) {
        write_table(file, &c->tables[i], ctx, path, st);
        watchdog_beat(ctx->watch); /* a table written (collectively) is progress */
        if (i == 0)
            test_slow_write();
    }
    if (!status_agree(st, ctx->comm))
        h5_write_strings(file, "vocab/users", c->user_names, c->data.n_users, ctx->comm, path, st);
    if (!status_agree(st, ctx->comm))
        h5_write_strings(file, "vocab/items", c->item_names, c->data.n_items, ctx->comm, path, st);
    if (!status_agree(st, ctx->comm))
        h5_write_strings(file, "vocab/titles", c->item_titles, c->data.n_items, ctx->comm, path,
                         st);
    return status_agree(st, ctx->comm);
}

int ckpt_write(const char *final_path, const Ctx *ctx, const CkptContent *c, Status *st)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.tmp", final_path);
    watchdog_at(ctx->watch, c->with_optimizer ? WATCH_CKPT_WRITE : WATCH_OUTPUT, c->progress.epoch,
                c->progress.batch);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), file = -1;
    H5Pset_fapl_mpio(fapl, ctx->comm, MPI_INFO_NULL);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110); /* metadata checksums */
    errno = 0;
    file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (file < 0)
        status_set(st, STATUS_DATA,
                   "cannot create checkpoint '%s' (is the folder there and "
                   "writable?)",
                   path);
    else
        write_body(file, c, ctx, path, st);
    /* On a full disk, HDF5 1.10 cannot flush the metadata at close, frees the file anyway
     * but keeps its id, and crashes closing it again at exit (HDFFV-11052). So a failed
     * checkpoint is emptied first: truncating it frees the space its tables took, and the
     * metadata then fits (the file is sparse), so the close succeeds. */
    if (file >= 0 && st->code && ctx->rank == 0 && truncate(path, 0) != 0)
        log_warn("%s: cannot empty the failed checkpoint: %s", path, strerror(errno));
    if (file >= 0 && st->code)
        CHECK_MPI(MPI_Barrier(ctx->comm));
    if (file >= 0 && H5Fclose(file) < 0)
        status_set(st, STATUS_DATA, "%s: closing the file failed%s", path, h5_io_hint(path));
    H5Pclose(fapl);
    if (status_agree(st, ctx->comm) == STATUS_OK && ctx->rank == 0 && rename(path, final_path) != 0)
        status_set(st, STATUS_DATA, "cannot rename '%s' to '%s': %s", path, final_path,
                   strerror(errno));
    if (st->code != STATUS_OK && ctx->rank == 0)
        unlink(path);
    return status_agree(st, ctx->comm);
}

/* ------------------------------------------------------------------ validation */

/* Settings that may change when a run resumes: how long it runs, where it writes, what
 * it prints, the folder it runs in. Everything else must match the checkpoint. */
int ckpt_setting_may_change(const char *name)
{
    static const char *const free_names[] = {"epochs",
                                             "checkpoint-dir",
                                             "checkpoint-every",
                                             "checkpoint-minutes",
                                             "keep",
                                             "resume",
                                             "output",
                                             "metrics",
                                             "progress",
                                             "quiet",
                                             "verbose",
                                             "dump-params",
                                             "data",
                                             "max-memory",
                                             "stall-timeout",
                                             "progress-seconds",
                                             "workdir",
                                             NULL};
    for (int i = 0; free_names[i]; i++)
        if (!strcmp(name, free_names[i]))
            return 1;
    return 0;
}

const char *ckpt_setting_absent(const char *name)
{
    static const char *const added[] = {"blocks", "folds", "fold", NULL};
    for (int i = 0; added[i]; i++)
        if (!strcmp(name, added[i]))
            return "0";
    return NULL;
}

/* Every dataset in the file must be one we expect: H5Ovisit callback. */
typedef struct VisitCtx {
    const CkptContent *expect;
    const char *path;
    Status *st;
} VisitCtx;

static herr_t visit_object(hid_t obj, const char *name, const H5O_info_t *info, void *arg)
{
    (void)obj;
    VisitCtx *v = arg;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    const char *known[] = {"vocab/users", "vocab/items", "vocab/titles"};
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(name, known[i]))
            return 0;
    for (size_t i = 0; i < v->expect->n_tables; i++)
        if (!strcmp(name, v->expect->tables[i].name))
            return 0;
    status_set(v->st, STATUS_DATA,
               "%s: unexpected dataset '%s' (not a %s file of this "
               "model?)",
               v->path, name, v->expect->with_optimizer ? "checkpoint" : "model");
    return 1;
}

static int check_root(hid_t file, const CkptContent *expect, const char *path, Status *st)
{
    char text[256];
    int64_t version = 0;
    if (h5_attr_read_str(file, "format", text, sizeof text) || strcmp(text, FORMAT_NAME))
        return status_set(st, STATUS_DATA,
                          "%s: not a collab-mpi file (no 'format' attribute "
                          "'collab-mpi')",
                          path);
    if (h5_attr_read_num(file, "format_version", H5T_NATIVE_INT64, H5T_INTEGER, &version))
        return status_set(st, STATUS_DATA, "%s: the 'format_version' attribute is missing", path);
    if (version != CKPT_FORMAT_VERSION)
        return status_set(st, STATUS_DATA,
                          "%s: format version %lld, but this program reads "
                          "version %d",
                          path, (long long)version, CKPT_FORMAT_VERSION);
    if (h5_attr_read_str(file, "kind", text, sizeof text) ||
        (expect->with_optimizer && strcmp(text, "checkpoint")))
        return status_set(st, STATUS_DATA,
                          "%s: is a %s file, not a checkpoint (it holds no "
                          "optimizer state to resume from)",
                          path, text);
    return STATUS_OK;
}

static int check_progress(hid_t file, CkptProgress *p, const char *path, Status *st)
{
    hid_t g =
        H5Lexists(file, "progress", H5P_DEFAULT) > 0 ? H5Gopen2(file, "progress", H5P_DEFAULT) : -1;
    int bad = g < 0;
    bad = bad || h5_attr_read_num(g, "epoch", H5T_NATIVE_INT64, H5T_INTEGER, &p->epoch) ||
          h5_attr_read_num(g, "batch", H5T_NATIVE_INT64, H5T_INTEGER, &p->batch) ||
          h5_attr_read_num(g, "iter", H5T_NATIVE_INT64, H5T_INTEGER, &p->iter) ||
          h5_attr_read_num(g, "opt_step", H5T_NATIVE_INT64, H5T_INTEGER, &p->opt_step) ||
          h5_attr_read_num(g, "smooth_val", H5T_NATIVE_DOUBLE, H5T_FLOAT, &p->smooth_val) ||
          h5_attr_read_num(g, "smooth_count", H5T_NATIVE_INT64, H5T_INTEGER, &p->smooth_count) ||
          h5_attr_read_num(g, "epochs", H5T_NATIVE_INT64, H5T_INTEGER, &p->epochs);
    /* Absent before the sparse optimizers: such files hold no pending decay. */
    if (!bad && h5_attr_read_num(g, "decay_prod", H5T_NATIVE_DOUBLE, H5T_FLOAT, &p->decay_prod))
        p->decay_prod = 1.0;
    if (g >= 0)
        H5Gclose(g);
    if (bad || p->epoch < 0 || p->batch < 0 || p->iter < 0 || p->opt_step < 0)
        return status_set(st, STATUS_DATA, "%s: the 'progress' group is missing or damaged", path);
    return STATUS_OK;
}

static int check_data(hid_t file, const CkptData *d, const char *path, Status *st)
{
    static const char *const names[] = {"n_train", "n_valid", "n_users", "n_items", "fingerprint"};
    const uint64_t want[] = {d->n_train, d->n_valid, d->n_users, d->n_items, d->fingerprint};
    hid_t g = H5Lexists(file, "data", H5P_DEFAULT) > 0 ? H5Gopen2(file, "data", H5P_DEFAULT) : -1;
    for (int i = 0; i < 5 && st->code == STATUS_OK; i++) {
        uint64_t got = 0;
        if (g < 0 || h5_attr_read_num(g, names[i], H5T_NATIVE_UINT64, H5T_INTEGER, &got))
            status_set(st, STATUS_DATA, "%s: the 'data' group is missing or damaged", path);
        else if (got != want[i] && i < 4)
            status_set(st, STATUS_DATA,
                       "%s: was written for other data: %s is %llu there, "
                       "%llu here (same --data, --valid-pct or --folds and --fold, --seed and "
                       "--item-name?)",
                       path, names[i], (unsigned long long)got, (unsigned long long)want[i]);
        else if (got != want[i])
            status_set(st, STATUS_DATA,
                       "%s: was written for other data: same sizes, but "
                       "different ratings or split (fingerprint mismatch)",
                       path);
    }
    if (g >= 0)
        H5Gclose(g);
    return st->code;
}

static int check_settings(hid_t file, const CkptContent *c, const char *path, Status *st)
{
    hid_t g =
        H5Lexists(file, "settings", H5P_DEFAULT) > 0 ? H5Gopen2(file, "settings", H5P_DEFAULT) : -1;
    if (g < 0)
        return status_set(st, STATUS_DATA, "%s: the 'settings' group is missing", path);
    for (size_t i = 0; i < c->n_settings && st->code == STATUS_OK; i++) {
        const CkptSetting *s = &c->settings[i];
        char got[1024];
        if (ckpt_setting_may_change(s->name))
            continue;
        if (h5_attr_read_str(g, s->name, got, sizeof got)) {
            /* An option that does not apply to this run ("(none)", e.g. --layers of a dot
             * model), or is off (--blocks 0, --folds 0), may be absent from files written
             * before it existed. */
            const char *absent = ckpt_setting_absent(s->name);
            const int off = !strcmp(s->value, "(none)") || (absent && !strcmp(s->value, absent));
            if (!off)
                status_set(st, STATUS_DATA, "%s: setting '%s' is missing from the file", path,
                           s->name);
        } else if (strcmp(got, s->value))
            status_set(st, STATUS_DATA,
                       "%s: was written with --%s %s, this run has --%s %s "
                       "(only --epochs, checkpoint and output options may change on resume)",
                       path, s->name, got, s->name, s->value);
    }
    H5Gclose(g);
    return st->code;
}

/* A string dataset (already checked to be fixed-length strings) against its checksum
 * attribute, when it has one. */
static int check_strings(hid_t file, const char *name, size_t n, const char *path, Status *st)
{
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT), t = ds < 0 ? -1 : H5Dget_type(ds);
    uint64_t want = 0;
    const size_t width = t < 0 || H5Tis_variable_str(t) > 0 ? 0 : H5Tget_size(t);
    char *buf = xcalloc(n ? n : 1, width ? width : 1);
    char **s = xcalloc(n ? n : 1, sizeof(char *));
    if (!width || h5_attr_read_num(ds, "checksum", H5T_NATIVE_UINT64, H5T_INTEGER, &want))
        goto done; /* written before strings had checksums */
    if (H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        status_set(st, STATUS_DATA, "%s: dataset '%s' cannot be read", path, name);
        goto done;
    }
    for (size_t i = 0; i < n; i++) { /* NUL-terminate each within its width */
        s[i] = xcalloc(width + 1, 1);
        memcpy(s[i], buf + i * width, width);
    }
    if (h5_strings_checksum(s, n) != want)
        status_set(st, STATUS_DATA,
                   "%s: dataset '%s' does not match its checksum (the file "
                   "is corrupted)",
                   path, name);
done:
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
    free(buf);
    if (t >= 0)
        H5Tclose(t);
    if (ds >= 0)
        H5Dclose(ds);
    return st->code;
}

static int check_tables(hid_t file, const CkptContent *c, uint64_t *sums, const char *path,
                        Status *st)
{
    for (size_t i = 0; i < c->n_tables && st->code == STATUS_OK; i++) {
        const CkptTable *t = &c->tables[i];
        hsize_t dims[2] = {t->total, t->width};
        const size_t size = t->elem == CKPT_F64 ? 8 : 4;
        if (!h5_check_dataset(file, t->name, H5T_FLOAT, size, t->width == 1 ? 1 : 2, dims, path,
                              st))
            h5_read_checksum(file, t->name, H5T_NATIVE_UINT64, &sums[i], path, st);
    }
    const char *vocab[] = {"vocab/users", "vocab/items", "vocab/titles"};
    const hsize_t counts[] = {c->data.n_users, c->data.n_items, c->data.n_items};
    for (int i = 0; i < 3 && st->code == STATUS_OK; i++)
        if (!h5_check_dataset(file, vocab[i], H5T_STRING, 0, 1, &counts[i], path, st))
            check_strings(file, vocab[i], counts[i], path, st);
    if (st->code == STATUS_OK) {
        VisitCtx v = {c, path, st};
        H5Ovisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, visit_object, &v);
    }
    return st->code;
}

/* Rank 0: the whole validation, on a serial open of the file. */
static int validate(const char *path, CkptContent *c, uint64_t *sums, Status *st)
{
    if (access(path, R_OK) != 0)
        return status_set(st, STATUS_DATA, "cannot open checkpoint '%s': %s", path,
                          strerror(errno));
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return status_set(st, STATUS_DATA,
                          "%s: not a readable HDF5 file (truncated or "
                          "corrupted?)",
                          path);
    if (!check_root(file, c, path, st) && !check_progress(file, &c->progress, path, st) &&
        !check_data(file, &c->data, path, st) && !check_settings(file, c, path, st))
        check_tables(file, c, sums, path, st);
    H5Fclose(file);
    return st->code;
}

/* ------------------------------------------------------------------ reading */

static int read_tables(const char *path, const Ctx *ctx, CkptContent *c, const uint64_t *sums,
                       Status *st)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, ctx->comm, MPI_INFO_NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5_OK(file, "opening the file in parallel");
    for (size_t i = 0; i < c->n_tables; i++) {
        const CkptTable *t = &c->tables[i];
        const int f64 = t->elem == CKPT_F64;
        H5_OK(h5_read_rows(file, t->name, f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT,
                           f64 ? (void *)t->data_f64 : (void *)t->data, t->row0, t->rows, 1),
              t->name);
    }
fail:
    if (file >= 0)
        H5Fclose(file);
    H5Pclose(fapl);
    if (status_agree(st, ctx->comm))
        return st->code;
    for (size_t i = 0; i < c->n_tables; i++)
        if (sum_over_ranks(table_checksum(&c->tables[i]), ctx) != sums[i])
            return status_set(st, STATUS_DATA,
                              "%s: dataset '%s' does not match its checksum "
                              "(the file is corrupted)",
                              path, c->tables[i].name);
    return STATUS_OK;
}

int ckpt_read(const char *path, const Ctx *ctx, CkptContent *c, Status *st)
{
    uint64_t *sums = xcalloc(c->n_tables ? c->n_tables : 1, sizeof(uint64_t));
    watchdog_at(ctx->watch, WATCH_CKPT_READ, 0, 0);
    if (ctx->rank == 0)
        validate(path, c, sums, st);
    if (status_agree(st, ctx->comm) == STATUS_OK) {
        CHECK_MPI(MPI_Bcast(sums, (int)c->n_tables, MPI_UINT64_T, 0, ctx->comm));
        CHECK_MPI(MPI_Bcast(&c->progress, sizeof c->progress, MPI_BYTE, 0, ctx->comm));
        read_tables(path, ctx, c, sums, st);
    }
    free(sums);
    return st->code;
}

/* ------------------------------------------------------------------ for modelfile.c */

int ckpt_read_rows(const char *path, const Ctx *ctx, CkptTable *tables, size_t n,
                   const uint64_t *sums, Status *st)
{
    CkptContent c;
    memset(&c, 0, sizeof c);
    c.tables = tables;
    c.n_tables = n;
    read_tables(path, ctx, &c, sums, st);
    return status_agree(st, ctx->comm);
}
