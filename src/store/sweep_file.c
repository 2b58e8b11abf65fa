/* sweep_file.c - a sweep's trial records and its table (store/sweep_file.h), serial HDF5
 * written through a temporary name and renamed. */
#include "config.h"

#include "collab/store/sweep_file.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collab/base/check.h"
#include "collab/base/h5.h"

enum { SWEEP_FORMAT_VERSION = 1 };

static const char *const STATUS_NAMES[] = {"pending", "done", "failed"};

/* ------------------------------------------------------------------ shared helpers */

/* The root attributes every collab-mpi file carries, with kind. */
static herr_t write_root(hid_t f, const char *kind)
{
    char date[32];
    const time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (h5_attr_write_str(f, "format", "collab-mpi") < 0 ||
        h5_attr_write_i64(f, "format_version", SWEEP_FORMAT_VERSION) < 0 ||
        h5_attr_write_str(f, "kind", kind) < 0 ||
        h5_attr_write_str(f, "program", PACKAGE_STRING) < 0 ||
        h5_attr_write_str(f, "created", date) < 0)
        return -1;
    return 0;
}

/* A float64 dataset of rows x cols (cols 0: one-dimensional) from data. */
static herr_t write_f64(hid_t f, const char *name, const double *data, size_t rows, size_t cols)
{
    const hsize_t dims[2] = {rows, cols};
    hid_t space = H5Screate_simple(cols ? 2 : 1, dims, NULL);
    hid_t ds = space < 0 ? -1
                         : H5Dcreate2(f, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                                      H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1
                : rows * (cols ? cols : 1) == 0
                    ? 0
                    : H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* A fixed-length UTF-8 string type of n bytes (NUL-terminated inside). */
static hid_t str_type(size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* Closes f and renames tmp to path when ok; else removes tmp. */
static int finish_file(hid_t f, int ok, const char *tmp, const char *path, Status *st)
{
    if (H5Fclose(f) < 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok) {
        remove(tmp);
        return status_set(st, STATUS_DATA, "%s: cannot be written%s", path, h5_io_hint(path));
    }
    return STATUS_OK;
}

/* ------------------------------------------------------------------ trial records */

void sweep_record_free(TrialRecord *r)
{
    free(r->valid_loss);
    free(r->valid_mae);
    free(r->train_loss);
    free(r->seconds);
    r->valid_loss = r->valid_mae = r->train_loss = r->seconds = NULL;
    r->n_epochs = 0;
}

int sweep_record_write(const char *path, const TrialRecord *r, Status *st)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return status_set(st, STATUS_DATA, "cannot create '%s' (is the folder writable?)", tmp);
    const size_t n = r->n_epochs;
    const int ok = write_root(f, "sweep-trial") >= 0 &&
                   h5_attr_write_i64(f, "config", r->config) >= 0 &&
                   h5_attr_write_i64(f, "fold", r->fold) >= 0 &&
                   h5_attr_write_str(f, "status", STATUS_NAMES[r->status]) >= 0 &&
                   h5_attr_write_str(f, "settings", r->settings) >= 0 &&
                   h5_attr_write_str(f, "message", r->message) >= 0 &&
                   h5_attr_write_f64(f, "wall_seconds", r->wall_seconds) >= 0 &&
                   write_f64(f, "valid_loss", r->valid_loss, n, 0) >= 0 &&
                   write_f64(f, "valid_mae", r->valid_mae, n, 0) >= 0 &&
                   write_f64(f, "train_loss", r->train_loss, n, 0) >= 0 &&
                   write_f64(f, "seconds", r->seconds, n, 0) >= 0;
    return finish_file(f, ok, tmp, path, st);
}

/* Reads one-dimensional float64 dataset name of n values into a new array. */
static double *read_f64(hid_t f, const char *name, size_t n, const char *path, Status *st)
{
    const hsize_t dims[1] = {n};
    if (h5_check_dataset(f, name, H5T_FLOAT, 8, 1, dims, path, st))
        return NULL;
    double *v = xcalloc(n ? n : 1, sizeof *v);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1
                : n    ? H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v)
                       : 0;
    if (ds >= 0)
        H5Dclose(ds);
    if (rc < 0) {
        free(v);
        status_set(st, STATUS_DATA, "%s: dataset '%s' cannot be read", path, name);
        return NULL;
    }
    return v;
}

/* The number of epochs a record holds: the length of its valid_loss. */
static int record_epochs(hid_t f, size_t *n, const char *path, Status *st)
{
    hid_t ds = H5Dopen2(f, "valid_loss", H5P_DEFAULT), space = ds < 0 ? -1 : H5Dget_space(ds);
    hsize_t dims[1] = {0};
    const int ok = space >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
                   H5Sget_simple_extent_dims(space, dims, NULL) == 1;
    if (space >= 0)
        H5Sclose(space);
    if (ds >= 0)
        H5Dclose(ds);
    *n = (size_t)dims[0];
    return ok ? STATUS_OK
              : status_set(st, STATUS_DATA, "%s: dataset 'valid_loss' is missing or damaged", path);
}

/* The attributes of a record into r. */
static int record_attrs(hid_t f, TrialRecord *r, const char *path, Status *st)
{
    int64_t config = -1, fold = -1;
    char status[16] = "";
    if (h5_attr_read_num(f, "config", H5T_NATIVE_INT64, H5T_INTEGER, &config) ||
        h5_attr_read_num(f, "fold", H5T_NATIVE_INT64, H5T_INTEGER, &fold) ||
        h5_attr_read_str(f, "status", status, sizeof status) ||
        h5_attr_read_str(f, "settings", r->settings, sizeof r->settings) ||
        h5_attr_read_str(f, "message", r->message, sizeof r->message) ||
        h5_attr_read_num(f, "wall_seconds", H5T_NATIVE_DOUBLE, H5T_FLOAT, &r->wall_seconds))
        return status_set(st, STATUS_DATA,
                          "%s: not a sweep trial record (an attribute is "
                          "missing)",
                          path);
    r->config = (int32_t)config;
    r->fold = (int32_t)fold;
    r->status = !strcmp(status, "done")     ? TRIAL_DONE
                : !strcmp(status, "failed") ? TRIAL_FAILED
                                            : TRIAL_PENDING;
    if (r->status == TRIAL_PENDING)
        return status_set(st, STATUS_DATA, "%s: status '%s' is not done or failed", path, status);
    return STATUS_OK;
}

int sweep_record_read(const char *path, TrialRecord *r, Status *st)
{
    memset(r, 0, sizeof *r);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return status_set(st, STATUS_DATA, "%s: not a readable HDF5 file", path);
    size_t n = 0;
    if (!record_attrs(f, r, path, st) && !record_epochs(f, &n, path, st)) {
        r->n_epochs = n;
        r->valid_loss = read_f64(f, "valid_loss", n, path, st);
        r->valid_mae = st->code ? NULL : read_f64(f, "valid_mae", n, path, st);
        r->train_loss = st->code ? NULL : read_f64(f, "train_loss", n, path, st);
        r->seconds = st->code ? NULL : read_f64(f, "seconds", n, path, st);
    }
    H5Fclose(f);
    if (st->code) {
        sweep_record_free(r);
        memset(r, 0, sizeof *r);
    }
    return st->code;
}

/* ------------------------------------------------------------------ the table */

/* One row of the "trials" table as stored. */
typedef struct TrialRow {
    int32_t config, fold, epochs, best_epoch;
    char status[8];
    char settings[SWEEP_TEXT];
    double valid_rmse, valid_mae, best_rmse, seconds, wall_seconds;
    char message[SWEEP_MSG];
} TrialRow;

/* One row of the "configs" table as stored. */
typedef struct ConfigRow {
    int32_t config, done, failed, pending, rank;
    char settings[SWEEP_TEXT];
    double mean, sd, best_epoch, seconds;
} ConfigRow;

static hid_t trial_row_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(TrialRow));
    hid_t s8 = str_type(8), st = str_type(SWEEP_TEXT), sm = str_type(SWEEP_MSG);
#define I32(name) H5Tinsert(t, #name, HOFFSET(TrialRow, name), H5T_NATIVE_INT32)
#define F64(name) H5Tinsert(t, #name, HOFFSET(TrialRow, name), H5T_NATIVE_DOUBLE)
    I32(config);
    I32(fold);
    H5Tinsert(t, "status", HOFFSET(TrialRow, status), s8);
    H5Tinsert(t, "settings", HOFFSET(TrialRow, settings), st);
    I32(epochs);
    I32(best_epoch);
    F64(valid_rmse);
    F64(valid_mae);
    F64(best_rmse);
    F64(seconds);
    F64(wall_seconds);
    H5Tinsert(t, "message", HOFFSET(TrialRow, message), sm);
#undef I32
#undef F64
    H5Tclose(s8);
    H5Tclose(st);
    H5Tclose(sm);
    return t;
}

static hid_t config_row_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(ConfigRow));
    hid_t st = str_type(SWEEP_TEXT);
#define I32(name) H5Tinsert(t, #name, HOFFSET(ConfigRow, name), H5T_NATIVE_INT32)
#define F64(name) H5Tinsert(t, #name, HOFFSET(ConfigRow, name), H5T_NATIVE_DOUBLE)
    I32(config);
    H5Tinsert(t, "settings", HOFFSET(ConfigRow, settings), st);
    I32(done);
    I32(failed);
    I32(pending);
    F64(mean);
    F64(sd);
    F64(best_epoch);
    F64(seconds);
    I32(rank);
#undef I32
#undef F64
    H5Tclose(st);
    return t;
}

/* A one-dimensional compound dataset of n rows. */
static herr_t write_compound(hid_t f, const char *name, hid_t type, const void *rows, size_t n)
{
    const hsize_t dims[1] = {n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t ds =
        space < 0 ? -1 : H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : n ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) : 0;
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* The lowest validation MSE's epoch of a record, -1 without epochs. */
static int32_t best_epoch(const TrialRecord *r)
{
    int32_t best = -1;
    for (size_t e = 0; e < r->n_epochs; e++)
        if (best < 0 || r->valid_loss[e] < r->valid_loss[best])
            best = (int32_t)e;
    return best;
}

static void trial_row(TrialRow *row, const TrialRecord *r)
{
    memset(row, 0, sizeof *row);
    const size_t n = r->n_epochs;
    const int32_t b = best_epoch(r);
    row->config = r->config;
    row->fold = r->fold;
    snprintf(row->status, sizeof row->status, "%s", STATUS_NAMES[r->status]);
    snprintf(row->settings, sizeof row->settings, "%s", r->settings);
    row->epochs = (int32_t)n;
    row->best_epoch = b;
    row->valid_rmse = n ? sqrt(r->valid_loss[n - 1]) : NAN;
    row->valid_mae = n ? r->valid_mae[n - 1] : NAN;
    row->best_rmse = b >= 0 ? sqrt(r->valid_loss[b]) : NAN;
    row->seconds = 0.0;
    for (size_t e = 0; e < n; e++)
        row->seconds += r->seconds[e];
    row->wall_seconds = r->wall_seconds;
    snprintf(row->message, sizeof row->message, "%s", r->message);
}

/* Per-epoch values of every trial as (n, width), NaN past a trial's epochs. */
static double *epoch_matrix(const TrialRecord *trials, size_t n, size_t width, int which)
{
    double *m = xmalloc((n * width > 0 ? n * width : 1) * sizeof *m);
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < width; e++) {
            const TrialRecord *r = &trials[i];
            const double *v = which == 0   ? r->valid_loss
                              : which == 1 ? r->valid_mae
                                           : r->train_loss;
            m[i * width + e] = e < r->n_epochs ? v[e] : NAN;
        }
    return m;
}

static herr_t write_epochs(hid_t f, const TrialRecord *trials, size_t n)
{
    static const char *const names[] = {"valid_loss", "valid_mae", "train_loss"};
    size_t width = 1;
    for (size_t i = 0; i < n; i++)
        width = trials[i].n_epochs > width ? trials[i].n_epochs : width;
    herr_t rc = 0;
    for (int k = 0; k < 3 && rc >= 0; k++) {
        double *m = epoch_matrix(trials, n, width, k);
        rc = write_f64(f, names[k], m, n, width);
        free(m);
    }
    return rc;
}

static herr_t write_info(hid_t f, const SweepInfo *info, size_t n_trials, size_t n_configs)
{
    return write_root(f, "sweep") < 0 || h5_attr_write_str(f, "metric", info->metric) < 0 ||
                   h5_attr_write_str(f, "folds", info->folds) < 0 ||
                   h5_attr_write_i64(f, "n_folds", info->n_folds) < 0 ||
                   h5_attr_write_i64(f, "n_configs", (int64_t)n_configs) < 0 ||
                   h5_attr_write_i64(f, "n_trials", (int64_t)n_trials) < 0 ||
                   h5_attr_write_i64(f, "ranks_per_trial", info->ranks_per_trial) < 0 ||
                   h5_attr_write_i64(f, "groups", info->groups) < 0 ||
                   h5_attr_write_i64(f, "complete", info->complete) < 0
               ? -1
               : 0;
}

int sweep_table_write(const char *path, const SweepInfo *info, const TrialRecord *trials,
                      size_t n_trials, const ConfigSummary *configs, size_t n_configs, Status *st)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return status_set(st, STATUS_DATA, "cannot create '%s' (is the folder writable?)", tmp);
    TrialRow *tr = xcalloc(n_trials ? n_trials : 1, sizeof *tr);
    ConfigRow *cr = xcalloc(n_configs ? n_configs : 1, sizeof *cr);
    for (size_t i = 0; i < n_trials; i++)
        trial_row(&tr[i], &trials[i]);
    for (size_t c = 0; c < n_configs; c++) {
        const ConfigSummary *s = &configs[c];
        cr[c] = (ConfigRow){s->config, s->done, s->failed, s->pending,    s->rank,
                            "",        s->mean, s->sd,     s->best_epoch, s->seconds};
        snprintf(cr[c].settings, sizeof cr[c].settings, "%s", s->settings);
    }
    hid_t tt = trial_row_type(), ct = config_row_type();
    const int ok = write_info(f, info, n_trials, n_configs) >= 0 &&
                   write_compound(f, "trials", tt, tr, n_trials) >= 0 &&
                   write_epochs(f, trials, n_trials) >= 0 &&
                   write_compound(f, "configs", ct, cr, n_configs) >= 0;
    H5Tclose(tt);
    H5Tclose(ct);
    free(tr);
    free(cr);
    return finish_file(f, ok, tmp, path, st);
}
