/* checkpoint.c - parallel HDF5 checkpoints: atomic collective writes, validated reads.
 *
 * HDF5's automatic error printing is off (main.c); every call is checked here and a
 * failure becomes a Status naming the file and the problem. */
#include "config.h"

#include "collab/store/checkpoint.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "collab/base/check.h"
#include "collab/base/hooks.h"
#include "collab/data/dataset.h"
#include "collab/data/keys.h"
#include "collab/base/log.h"
#include "collab/base/rng.h"

#define FORMAT_NAME "collab-mpi"

/* Fails the enclosing function (which has `st`, `path` and a `fail:` label) when an
 * HDF5 call returns a negative id or status. */
#define H5_OK(expr, what)                                                                 \
    do {                                                                                  \
        if ((expr) < 0) {                                                                 \
            status_set(st, STATUS_DATA, "%s: %s failed (%s:%d)%s", path, what, __FILE__,  \
                       __LINE__, io_hint(path));                                          \
            goto fail;                                                                    \
        }                                                                                 \
    } while (0)

/* Why a write to path failed, when it is the disk's fault: the errno of the failed
 * system call when HDF5 and MPI-IO left it in place, else a file system with under 1 MiB
 * free. "" otherwise. */
static const char *io_hint(const char *path)
{
    if (errno == ENOSPC)
        return ": no space left on the device (disk full)";
    if (errno == EDQUOT)
        return ": disk quota exceeded";
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    struct statvfs fs;
    if (statvfs(slash ? dir : ".", &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < (1u << 20))
        return ": no space left on the device (disk full)";
    return errno == EIO ? ": input/output error" : "";
}

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

uint64_t ckpt_strings_checksum(char *const *s, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = s && s[i] ? s[i] : "";
        sum += rng_hash(0x5c4e, i, rng_hash_bytes(t, strlen(t)), 0);
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

/* ------------------------------------------------------------------ attributes */

static herr_t attr_write(hid_t loc, const char *name, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, type, value);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return rc;
}

static herr_t attr_write_str(hid_t loc, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    H5Tset_cset(type, H5T_CSET_UTF8);
    herr_t rc = attr_write(loc, name, type, value);
    H5Tclose(type);
    return rc;
}

static herr_t attr_write_i64(hid_t loc, const char *name, int64_t v)
{
    return attr_write(loc, name, H5T_NATIVE_INT64, &v);
}

static herr_t attr_write_u64(hid_t loc, const char *name, uint64_t v)
{
    return attr_write(loc, name, H5T_NATIVE_UINT64, &v);
}

static herr_t attr_write_f64(hid_t loc, const char *name, double v)
{
    return attr_write(loc, name, H5T_NATIVE_DOUBLE, &v);
}

/* Reads a scalar numeric attribute, checking it exists, is scalar and of type class. */
static int attr_read_num(hid_t loc, const char *name, hid_t mem_type, H5T_class_t cls,
                         void *out)
{
    if (H5Aexists(loc, name) <= 0)
        return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a), s = a < 0 ? -1 : H5Aget_space(a);
    int ok = a >= 0 && t >= 0 && s >= 0 && H5Tget_class(t) == cls &&
             H5Sget_simple_extent_type(s) == H5S_SCALAR && H5Aread(a, mem_type, out) >= 0;
    if (s >= 0)
        H5Sclose(s);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return ok ? 0 : -1;
}

/* Reads a scalar string attribute into out (size len). */
static int attr_read_str(hid_t loc, const char *name, char *out, size_t len)
{
    if (H5Aexists(loc, name) <= 0)
        return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    int ok = t >= 0 && H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) &&
             H5Tget_size(t) < len;
    if (ok) {
        memset(out, 0, len);
        ok = H5Aread(a, t, out) >= 0;
    }
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ writing */

/* Creates group path components of name ("a/b/c" -> groups a, a/b) as needed. */
static hid_t link_props(void)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    return lcpl;
}

/* File dataspace of a table: (total,) for width 1, else (total, width). */
static hid_t table_space(const CkptTable *t)
{
    hsize_t dims[2] = {t->total, t->width};
    return H5Screate_simple(t->width == 1 ? 1 : 2, dims, NULL);
}

/* Selects this rank's rows in file space fs and returns the matching memory space. */
static hid_t table_select(hid_t fs, const CkptTable *t)
{
    hsize_t start[2] = {t->row0, 0}, count[2] = {t->rows, t->width};
    hsize_t n = t->rows * t->width;
    hid_t ms = H5Screate_simple(1, &n, NULL);
    if (t->rows == 0) {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
    } else {
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    }
    return ms;
}

static int write_table(hid_t file, hid_t dxpl, const CkptTable *t, const Ctx *ctx,
                       const char *path, Status *st)
{
    hid_t fs = table_space(t), lcpl = link_props(), ds = -1, ms = -1;
    uint64_t sum = sum_over_ranks(table_checksum(t), ctx);
    const int f64 = t->elem == CKPT_F64;
    H5_OK(ds = H5Dcreate2(file, t->name, f64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, fs, lcpl,
                          H5P_DEFAULT, H5P_DEFAULT),
          t->name);
    ms = table_select(fs, t);
    H5_OK(H5Dwrite(ds, f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, ms, fs, dxpl,
                   f64 ? (const void *)t->data_f64 : (const void *)t->data),
          t->name);
    H5_OK(attr_write_u64(ds, "checksum", sum), t->name);
fail:
    if (ms >= 0)
        H5Sclose(ms);
    if (ds >= 0)
        H5Dclose(ds);
    H5Pclose(lcpl);
    H5Sclose(fs);
    return st->code;
}

/* Fixed-length UTF-8 strings (NULL written as ""), all from rank 0, with a checksum
 * attribute (vocabularies decide which row is which item: damage must not pass). */
static int write_strings(hid_t file, hid_t dxpl, const char *name, char *const *s, size_t n,
                         const Ctx *ctx, const char *path, Status *st)
{
    uint64_t width[2] = {1, ctx->rank == 0 ? ckpt_strings_checksum(s, n) : 0};
    for (size_t i = 0; ctx->rank == 0 && s && i < n; i++)
        if (s[i] && strlen(s[i]) + 1 > width[0])
            width[0] = strlen(s[i]) + 1;
    CHECK_MPI(MPI_Bcast(width, 2, MPI_UINT64_T, 0, ctx->comm));
    char *buf = xcalloc(ctx->rank == 0 && n ? n : 1, (size_t)width[0]);
    for (size_t i = 0; ctx->rank == 0 && s && i < n; i++)
        if (s[i])
            memcpy(buf + i * width[0], s[i], strlen(s[i]));
    hsize_t dims = n;
    hid_t type = H5Tcopy(H5T_C_S1), fs = H5Screate_simple(1, &dims, NULL), lcpl = link_props();
    hid_t ms = H5Screate_simple(1, &dims, NULL), ds = -1;
    H5Tset_size(type, (size_t)width[0]);
    H5Tset_cset(type, H5T_CSET_UTF8);
    if (ctx->rank != 0) {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
    }
    H5_OK(ds = H5Dcreate2(file, name, type, fs, lcpl, H5P_DEFAULT, H5P_DEFAULT), name);
    H5_OK(H5Dwrite(ds, type, ms, fs, dxpl, buf), name);
    H5_OK(attr_write_u64(ds, "checksum", width[1]), name);
fail:
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Pclose(lcpl);
    H5Tclose(type);
    free(buf);
    return st->code;
}

static int write_attrs(hid_t file, const CkptContent *c, const Ctx *ctx, const char *path,
                       Status *st)
{
    hid_t g = -1, lcpl = link_props();
    char date[32];
    time_t now = time(NULL);
    int64_t when = (int64_t)now;
    CHECK_MPI(MPI_Bcast(&when, 1, MPI_INT64_T, 0, ctx->comm)); /* one date on all ranks */
    now = (time_t)when;
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    H5_OK(attr_write_str(file, "format", FORMAT_NAME), "format attribute");
    H5_OK(attr_write_i64(file, "format_version", CKPT_FORMAT_VERSION), "version attribute");
    H5_OK(attr_write_str(file, "kind", c->with_optimizer ? "checkpoint" : "model"), "kind");
    H5_OK(attr_write_str(file, "program", PACKAGE_STRING), "program attribute");
    H5_OK(attr_write_i64(file, "nranks", ctx->size), "nranks attribute");
    H5_OK(attr_write_str(file, "created", date), "created attribute");
    H5_OK(g = H5Gcreate2(file, "progress", lcpl, H5P_DEFAULT, H5P_DEFAULT), "progress group");
    const CkptProgress *p = &c->progress;
    H5_OK(attr_write_i64(g, "epoch", p->epoch) | attr_write_i64(g, "batch", p->batch) |
              attr_write_i64(g, "iter", p->iter) | attr_write_i64(g, "opt_step", p->opt_step) |
              attr_write_f64(g, "smooth_val", p->smooth_val) |
              attr_write_i64(g, "smooth_count", p->smooth_count) |
              attr_write_i64(g, "epochs", p->epochs) |
              attr_write_f64(g, "decay_prod", p->decay_prod),
          "progress attributes");
    H5Gclose(g);
    H5_OK(g = H5Gcreate2(file, "data", lcpl, H5P_DEFAULT, H5P_DEFAULT), "data group");
    const CkptData *d = &c->data;
    H5_OK(attr_write_u64(g, "n_train", d->n_train) | attr_write_u64(g, "n_valid", d->n_valid) |
              attr_write_u64(g, "n_users", d->n_users) | attr_write_u64(g, "n_items", d->n_items) |
              attr_write_u64(g, "fingerprint", d->fingerprint),
          "data attributes");
    H5Gclose(g);
    H5_OK(g = H5Gcreate2(file, "settings", lcpl, H5P_DEFAULT, H5P_DEFAULT), "settings group");
    for (size_t i = 0; i < c->n_settings; i++)
        H5_OK(attr_write_str(g, c->settings[i].name, c->settings[i].value), "settings");
fail:
    if (g >= 0)
        H5Gclose(g);
    H5Pclose(lcpl);
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
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    write_attrs(file, c, ctx, path, st);
    for (size_t i = 0; i < c->n_tables && !status_agree(st, ctx->comm); i++) {
        write_table(file, dxpl, &c->tables[i], ctx, path, st);
        if (i == 0)
            test_slow_write();
    }
    if (!status_agree(st, ctx->comm))
        write_strings(file, dxpl, "vocab/users", c->user_names, c->data.n_users, ctx, path, st);
    if (!status_agree(st, ctx->comm))
        write_strings(file, dxpl, "vocab/items", c->item_names, c->data.n_items, ctx, path, st);
    if (!status_agree(st, ctx->comm))
        write_strings(file, dxpl, "vocab/titles", c->item_titles, c->data.n_items, ctx, path,
                      st);
    H5Pclose(dxpl);
    return status_agree(st, ctx->comm);
}

int ckpt_write(const char *final_path, const Ctx *ctx, const CkptContent *c, Status *st)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.tmp", final_path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), file = -1;
    H5Pset_fapl_mpio(fapl, ctx->comm, MPI_INFO_NULL);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110); /* metadata checksums */
    errno = 0;
    file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (file < 0)
        status_set(st, STATUS_DATA, "cannot create checkpoint '%s' (is the folder there and "
                   "writable?)", path);
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
        status_set(st, STATUS_DATA, "%s: closing the file failed%s", path, io_hint(path));
    H5Pclose(fapl);
    if (status_agree(st, ctx->comm) == STATUS_OK && ctx->rank == 0 &&
        rename(path, final_path) != 0)
        status_set(st, STATUS_DATA, "cannot rename '%s' to '%s': %s", path, final_path,
                   strerror(errno));
    if (st->code != STATUS_OK && ctx->rank == 0)
        unlink(path);
    return status_agree(st, ctx->comm);
}

/* ------------------------------------------------------------------ validation */

/* Settings that may change when a run resumes: how long it runs, where it writes, what
 * it prints. Everything else must match the checkpoint. */
int ckpt_setting_may_change(const char *name)
{
    static const char *const free_names[] = {
        "epochs",          "checkpoint-dir", "checkpoint-every", "checkpoint-minutes",
        "keep",            "resume",         "output",           "metrics",
        "progress",        "quiet",          "verbose",          "dump-params",
        "data",            "max-memory",     NULL};
    for (int i = 0; free_names[i]; i++)
        if (!strcmp(name, free_names[i]))
            return 1;
    return 0;
}

/* Checks that a dataset exists at name with the class, element size and dims given. */
static int check_dataset(hid_t file, const char *name, H5T_class_t cls, size_t size,
                         int rank, const hsize_t *dims, const char *path, Status *st)
{
    char parent[256];
    snprintf(parent, sizeof parent, "%s", name);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    if ((slash && H5Lexists(file, parent, H5P_DEFAULT) <= 0) ||
        H5Lexists(file, name, H5P_DEFAULT) <= 0)
        return status_set(st, STATUS_DATA, "%s: dataset '%s' is missing", path, name);
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t t = ds < 0 ? -1 : H5Dget_type(ds), sp = ds < 0 ? -1 : H5Dget_space(ds);
    hsize_t got[2] = {0, 0};
    int nd = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    if (nd >= 1 && nd <= 2)
        H5Sget_simple_extent_dims(sp, got, NULL);
    if (ds < 0 || t < 0 || sp < 0)
        status_set(st, STATUS_DATA, "%s: dataset '%s' cannot be opened (corrupted?)", path, name);
    else if (H5Tget_class(t) != cls || (size && H5Tget_size(t) != size))
        status_set(st, STATUS_DATA, "%s: dataset '%s' has the wrong type (expected %s)", path,
                   name, cls != H5T_FLOAT ? "fixed-length string"
                         : size == 8     ? "64-bit float"
                                         : "32-bit float");
    else if (nd != rank || got[0] != dims[0] || (rank == 2 && got[1] != dims[1]))
        status_set(st, STATUS_DATA, "%s: dataset '%s' has shape (%llu%s%llu), expected "
                   "(%llu%s%llu)", path, name, (unsigned long long)got[0], nd == 2 ? ", " : "",
                   nd == 2 ? (unsigned long long)got[1] : 0ULL, (unsigned long long)dims[0],
                   rank == 2 ? ", " : "", rank == 2 ? (unsigned long long)dims[1] : 0ULL);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (ds >= 0)
        H5Dclose(ds);
    return st->code;
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
    status_set(v->st, STATUS_DATA, "%s: unexpected dataset '%s' (not a %s file of this "
               "model?)", v->path, name, v->expect->with_optimizer ? "checkpoint" : "model");
    return 1;
}

static int check_root(hid_t file, const CkptContent *expect, const char *path, Status *st)
{
    char text[256];
    int64_t version = 0;
    if (attr_read_str(file, "format", text, sizeof text) || strcmp(text, FORMAT_NAME))
        return status_set(st, STATUS_DATA, "%s: not a collab-mpi file (no 'format' attribute "
                          "'collab-mpi')", path);
    if (attr_read_num(file, "format_version", H5T_NATIVE_INT64, H5T_INTEGER, &version))
        return status_set(st, STATUS_DATA, "%s: the 'format_version' attribute is missing",
                          path);
    if (version != CKPT_FORMAT_VERSION)
        return status_set(st, STATUS_DATA, "%s: format version %lld, but this program reads "
                          "version %d", path, (long long)version, CKPT_FORMAT_VERSION);
    if (attr_read_str(file, "kind", text, sizeof text) ||
        (expect->with_optimizer && strcmp(text, "checkpoint")))
        return status_set(st, STATUS_DATA, "%s: is a %s file, not a checkpoint (it holds no "
                          "optimizer state to resume from)", path, text);
    return STATUS_OK;
}

static int check_progress(hid_t file, CkptProgress *p, const char *path, Status *st)
{
    hid_t g = H5Lexists(file, "progress", H5P_DEFAULT) > 0 ? H5Gopen2(file, "progress",
                                                                         H5P_DEFAULT) : -1;
    int bad = g < 0;
    bad = bad || attr_read_num(g, "epoch", H5T_NATIVE_INT64, H5T_INTEGER, &p->epoch) ||
          attr_read_num(g, "batch", H5T_NATIVE_INT64, H5T_INTEGER, &p->batch) ||
          attr_read_num(g, "iter", H5T_NATIVE_INT64, H5T_INTEGER, &p->iter) ||
          attr_read_num(g, "opt_step", H5T_NATIVE_INT64, H5T_INTEGER, &p->opt_step) ||
          attr_read_num(g, "smooth_val", H5T_NATIVE_DOUBLE, H5T_FLOAT, &p->smooth_val) ||
          attr_read_num(g, "smooth_count", H5T_NATIVE_INT64, H5T_INTEGER, &p->smooth_count) ||
          attr_read_num(g, "epochs", H5T_NATIVE_INT64, H5T_INTEGER, &p->epochs);
    /* Absent before the sparse optimizers: such files hold no pending decay. */
    if (!bad && attr_read_num(g, "decay_prod", H5T_NATIVE_DOUBLE, H5T_FLOAT, &p->decay_prod))
        p->decay_prod = 1.0;
    if (g >= 0)
        H5Gclose(g);
    if (bad || p->epoch < 0 || p->batch < 0 || p->iter < 0 || p->opt_step < 0)
        return status_set(st, STATUS_DATA, "%s: the 'progress' group is missing or damaged",
                          path);
    return STATUS_OK;
}

static int check_data(hid_t file, const CkptData *d, const char *path, Status *st)
{
    static const char *const names[] = {"n_train", "n_valid", "n_users", "n_items",
                                        "fingerprint"};
    const uint64_t want[] = {d->n_train, d->n_valid, d->n_users, d->n_items, d->fingerprint};
    hid_t g = H5Lexists(file, "data", H5P_DEFAULT) > 0 ? H5Gopen2(file, "data", H5P_DEFAULT)
                                                        : -1;
    for (int i = 0; i < 5 && st->code == STATUS_OK; i++) {
        uint64_t got = 0;
        if (g < 0 || attr_read_num(g, names[i], H5T_NATIVE_UINT64, H5T_INTEGER, &got))
            status_set(st, STATUS_DATA, "%s: the 'data' group is missing or damaged", path);
        else if (got != want[i] && i < 4)
            status_set(st, STATUS_DATA, "%s: was written for other data: %s is %llu there, "
                       "%llu here (same --data, --valid-pct, --seed and --item-name?)", path,
                       names[i], (unsigned long long)got, (unsigned long long)want[i]);
        else if (got != want[i])
            status_set(st, STATUS_DATA, "%s: was written for other data: same sizes, but "
                       "different ratings or split (fingerprint mismatch)", path);
    }
    if (g >= 0)
        H5Gclose(g);
    return st->code;
}

static int check_settings(hid_t file, const CkptContent *c, const char *path, Status *st)
{
    hid_t g = H5Lexists(file, "settings", H5P_DEFAULT) > 0
                  ? H5Gopen2(file, "settings", H5P_DEFAULT) : -1;
    if (g < 0)
        return status_set(st, STATUS_DATA, "%s: the 'settings' group is missing", path);
    for (size_t i = 0; i < c->n_settings && st->code == STATUS_OK; i++) {
        const CkptSetting *s = &c->settings[i];
        char got[1024];
        if (ckpt_setting_may_change(s->name))
            continue;
        if (attr_read_str(g, s->name, got, sizeof got)) {
            /* An option that does not apply to this run ("(none)", e.g. --layers of a dot
             * model), or is off (--blocks 0), may be absent from files written before it
             * existed. */
            const int off = !strcmp(s->value, "(none)") ||
                            (!strcmp(s->name, "blocks") && !strcmp(s->value, "0"));
            if (!off)
                status_set(st, STATUS_DATA, "%s: setting '%s' is missing from the file", path,
                           s->name);
        } else if (strcmp(got, s->value))
            status_set(st, STATUS_DATA, "%s: was written with --%s %s, this run has --%s %s "
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
    if (!width || attr_read_num(ds, "checksum", H5T_NATIVE_UINT64, H5T_INTEGER, &want))
        goto done; /* written before strings had checksums */
    if (H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        status_set(st, STATUS_DATA, "%s: dataset '%s' cannot be read", path, name);
        goto done;
    }
    for (size_t i = 0; i < n; i++) { /* NUL-terminate each within its width */
        s[i] = xcalloc(width + 1, 1);
        memcpy(s[i], buf + i * width, width);
    }
    if (ckpt_strings_checksum(s, n) != want)
        status_set(st, STATUS_DATA, "%s: dataset '%s' does not match its checksum (the file "
                   "is corrupted)", path, name);
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
        if (check_dataset(file, t->name, H5T_FLOAT, size, t->width == 1 ? 1 : 2, dims, path, st))
            break;
        hid_t ds = H5Dopen2(file, t->name, H5P_DEFAULT);
        if (attr_read_num(ds, "checksum", H5T_NATIVE_UINT64, H5T_INTEGER, &sums[i]))
            status_set(st, STATUS_DATA, "%s: dataset '%s' has no checksum", path, t->name);
        H5Dclose(ds);
    }
    const char *vocab[] = {"vocab/users", "vocab/items", "vocab/titles"};
    const hsize_t counts[] = {c->data.n_users, c->data.n_items, c->data.n_items};
    for (int i = 0; i < 3 && st->code == STATUS_OK; i++)
        if (!check_dataset(file, vocab[i], H5T_STRING, 0, 1, &counts[i], path, st))
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
        return status_set(st, STATUS_DATA, "%s: not a readable HDF5 file (truncated or "
                          "corrupted?)", path);
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
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_fapl_mpio(fapl, ctx->comm, MPI_INFO_NULL);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5_OK(file, "opening the file in parallel");
    for (size_t i = 0; i < c->n_tables; i++) {
        const CkptTable *t = &c->tables[i];
        hid_t ds = H5Dopen2(file, t->name, H5P_DEFAULT), fs = H5Dget_space(ds);
        hid_t ms = table_select(fs, t);
        const int f64 = t->elem == CKPT_F64;
        herr_t rc = H5Dread(ds, f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, ms, fs, dxpl,
                            f64 ? (void *)t->data_f64 : (void *)t->data);
        H5Sclose(ms);
        H5Sclose(fs);
        H5Dclose(ds);
        H5_OK(rc, t->name);
    }
fail:
    if (file >= 0)
        H5Fclose(file);
    H5Pclose(dxpl);
    H5Pclose(fapl);
    if (status_agree(st, ctx->comm))
        return st->code;
    for (size_t i = 0; i < c->n_tables; i++)
        if (sum_over_ranks(table_checksum(&c->tables[i]), ctx) != sums[i])
            return status_set(st, STATUS_DATA, "%s: dataset '%s' does not match its checksum "
                              "(the file is corrupted)", path, c->tables[i].name);
    return STATUS_OK;
}

int ckpt_read(const char *path, const Ctx *ctx, CkptContent *c, Status *st)
{
    uint64_t *sums = xcalloc(c->n_tables ? c->n_tables : 1, sizeof(uint64_t));
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

/* ------------------------------------------------------------------ shared helpers */

/* Thin public faces of the helpers above, for modelfile.c and the outputs of the
 * model-using commands; the checkpoint code itself keeps calling the static ones. */

uint64_t ckpt_table_checksum(const CkptTable *t)
{
    return table_checksum(t);
}

int ckpt_attr_read_str(int64_t loc, const char *name, char *out, size_t len)
{
    return attr_read_str(loc, name, out, len);
}

int ckpt_attr_read_num(int64_t loc, const char *name, int64_t mem_type, int cls, void *out)
{
    return attr_read_num(loc, name, mem_type, (H5T_class_t)cls, out);
}

int ckpt_attr_write_str(int64_t loc, const char *name, const char *value)
{
    return attr_write_str(loc, name, value);
}

int ckpt_attr_write_i64(int64_t loc, const char *name, int64_t value)
{
    return attr_write_i64(loc, name, value);
}

int ckpt_attr_write_f64(int64_t loc, const char *name, double value)
{
    return attr_write_f64(loc, name, value);
}

int ckpt_check_dataset(int64_t file, const char *name, int cls, size_t size, int rank,
                       const uint64_t *dims, const char *path, Status *st)
{
    hsize_t d[2] = {dims[0], rank == 2 ? dims[1] : 0};
    return check_dataset(file, name, (H5T_class_t)cls, size, rank, d, path, st);
}

static hid_t collective_dxpl(void)
{
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    return dxpl;
}

int ckpt_write_table(int64_t file, const CkptTable *t, const Ctx *ctx, const char *path,
                     Status *st)
{
    hid_t dxpl = collective_dxpl();
    write_table(file, dxpl, t, ctx, path, st);
    H5Pclose(dxpl);
    return st->code;
}

int ckpt_write_strings(int64_t file, const char *name, char *const *s, size_t n,
                       const Ctx *ctx, const char *path, Status *st)
{
    hid_t dxpl = collective_dxpl();
    write_strings(file, dxpl, name, s, n, ctx, path, st);
    H5Pclose(dxpl);
    return st->code;
}

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
