/* metrics_file.c - the per-epoch metrics table and the lr_find curve in HDF5, written by
 * rank 0 alone (serial HDF5, single-writer/multiple-reader) so that other processes can
 * read the table while training runs: parallel HDF5 cannot do SWMR. */
#include "config.h"

#include "collab/store/metrics_file.h"

#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "collab/base/h5.h"

/* One row of the "epochs" table as stored. */
typedef struct MetricsRow {
    int32_t epoch;
    double train_loss, valid_loss, rmse, mae, lr, mom, seconds, exchange_seconds;
    uint64_t bytes_exchanged, messages;
    double imbalance;
} MetricsRow;

static hid_t row_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(MetricsRow));
    H5Tinsert(t, "epoch", HOFFSET(MetricsRow, epoch), H5T_NATIVE_INT32);
#define F64(name) H5Tinsert(t, #name, HOFFSET(MetricsRow, name), H5T_NATIVE_DOUBLE)
    F64(train_loss);
    F64(valid_loss);
    F64(rmse);
    F64(mae);
    F64(lr);
    F64(mom);
    F64(seconds);
    F64(exchange_seconds);
#undef F64
    H5Tinsert(t, "bytes_exchanged", HOFFSET(MetricsRow, bytes_exchanged), H5T_NATIVE_UINT64);
    H5Tinsert(t, "messages", HOFFSET(MetricsRow, messages), H5T_NATIVE_UINT64);
    H5Tinsert(t, "imbalance", HOFFSET(MetricsRow, imbalance), H5T_NATIVE_DOUBLE);
    return t;
}

static hid_t latest_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST); /* SWMR needs it */
    return fapl;
}

/* Creates a fresh file at path with an empty "epochs" table (not yet SWMR). */
static hid_t create_table_file(const char *path, hid_t *table)
{
    hid_t fapl = latest_fapl();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0)
        return -1;
    hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = 64;
    hid_t space = H5Screate_simple(1, &zero, &unlimited), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t type = row_type();
    H5Pset_chunk(dcpl, 1, &chunk);
    *table = H5Dcreate2(f, "epochs", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Tclose(type);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (*table < 0) {
        H5Fclose(f);
        return -1;
    }
    return f;
}

/* Appends n rows at the end of the table. */
static herr_t table_append(hid_t table, const MetricsRow *rows, hsize_t n)
{
    if (n == 0)
        return 0;
    hid_t space = H5Dget_space(table), type = row_type();
    hsize_t have = 0;
    H5Sget_simple_extent_dims(space, &have, NULL);
    H5Sclose(space);
    hsize_t grown = have + n;
    herr_t rc = H5Dset_extent(table, &grown);
    space = H5Dget_space(table);
    hid_t mem = H5Screate_simple(1, &n, NULL);
    rc |= H5Sselect_hyperslab(space, H5S_SELECT_SET, &have, NULL, &n, NULL);
    rc |= H5Dwrite(table, type, mem, space, H5P_DEFAULT, rows);
    rc |= H5Dflush(table);
    H5Sclose(mem);
    H5Sclose(space);
    H5Tclose(type);
    return rc;
}

/* The rows of an existing file with epoch < first_epoch, read as a SWMR reader (which
 * works even when a killed writer left the file marked open). *n = -1: unreadable. */
static MetricsRow *read_rows(const char *path, int first_epoch, long *n, hid_t *lr_src)
{
    hid_t fapl = latest_fapl();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    H5Pclose(fapl);
    *n = -1;
    *lr_src = f;
    if (f < 0)
        return NULL;
    hid_t d = H5Dopen2(f, "epochs", H5P_DEFAULT), space = d < 0 ? -1 : H5Dget_space(d);
    hid_t type = row_type();
    hsize_t total = 0;
    if (space >= 0)
        H5Sget_simple_extent_dims(space, &total, NULL);
    MetricsRow *rows = calloc(total ? total : 1, sizeof *rows);
    if (d >= 0 && rows &&
        (total == 0 || H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0)) {
        *n = 0;
        while ((hsize_t)*n < total && rows[*n].epoch < first_epoch)
            (*n)++;
    }
    H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
    return rows;
}

/* Opens or creates the file with an "epochs" table holding the rows of epochs before
 * first_epoch: an existing file is rewritten through path.tmp (keeping its lr_find
 * curve), since a killed writer may have left its chunk index unusable for writing. */
static hid_t open_table_file(const char *path, int first_epoch, hid_t *table, int *damaged)
{
    char tmp[1100];
    long n = 0;
    hid_t old = -1;
    MetricsRow *rows = NULL;
    *damaged = 0;
    if (access(path, F_OK) == 0) {
        rows = read_rows(path, first_epoch, &n, &old);
        *damaged = n < 0;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = create_table_file(tmp, table);
    if (f >= 0 && n > 0 && table_append(*table, rows, (hsize_t)n) < 0)
        f = (H5Dclose(*table), H5Fclose(f), -1);
    if (f >= 0 && old >= 0 && H5Lexists(old, "lr_find", H5P_DEFAULT) > 0)
        H5Ocopy(old, "lr_find", f, "lr_find", H5P_DEFAULT, H5P_DEFAULT);
    if (old >= 0)
        H5Fclose(old);
    free(rows);
    if (f >= 0 && rename(tmp, path) != 0)
        f = (H5Dclose(*table), H5Fclose(f), -1);
    return f;
}

int metrics_file_open(MetricsFile *m, const char *path, int first_epoch, Status *st)
{
    hid_t table = -1;
    int damaged = 0;
    m->file = m->table = -1;
    snprintf(m->path, sizeof m->path, "%s", path);
    hid_t f = open_table_file(path, first_epoch, &table, &damaged);
    if (f < 0 || H5Fstart_swmr_write(f) < 0) {
        if (f >= 0) {
            H5Dclose(table);
            H5Fclose(f);
        }
        return status_set(st, STATUS_DATA,
                          "cannot create the metrics file '%s' (is the "
                          "folder writable?)",
                          path);
    }
    if (damaged)
        fprintf(stderr,
                "collab-mpi: warning: %s was unreadable; its old rows are lost and "
                "it starts afresh\n",
                path);
    m->file = f;
    m->table = table;
    return STATUS_OK;
}

int metrics_file_append(MetricsFile *m, const EpochRow *r, Status *st)
{
    if (m->table < 0)
        return STATUS_OK;
    MetricsRow row;
    memset(&row, 0, sizeof row); /* the padding after epoch goes to the file too */
    row.epoch = r->epoch;
    row.train_loss = r->train_loss;
    row.valid_loss = r->valid_loss;
    row.rmse = sqrt(r->valid_loss);
    row.mae = r->valid_mae;
    row.lr = r->lr;
    row.mom = r->mom;
    row.seconds = r->seconds;
    row.exchange_seconds = r->exchange_seconds;
    row.bytes_exchanged = r->exchange_bytes;
    row.messages = r->exchange_messages;
    row.imbalance = r->imbalance;
    if (table_append(m->table, &row, 1) < 0)
        return status_set(st, STATUS_DATA,
                          "%s: cannot append the metrics of epoch %d (disk "
                          "full?)",
                          m->path, r->epoch);
    return STATUS_OK;
}

int metrics_file_read(const char *path, EpochRow **rows, size_t *n, Status *st)
{
    long got = -1;
    hid_t f = -1;
    MetricsRow *raw = read_rows(path, INT_MAX, &got, &f);
    if (f >= 0)
        H5Fclose(f);
    *rows = NULL;
    *n = 0;
    if (got < 0) {
        free(raw);
        return status_set(st, STATUS_DATA, "%s: not a readable metrics file", path);
    }
    EpochRow *out = calloc((size_t)got + 1, sizeof *out);
    if (!out) {
        free(raw);
        return status_set(st, STATUS_DATA, "%s: out of memory reading it", path);
    }
    for (long i = 0; i < got; i++) {
        const MetricsRow *r = &raw[i];
        out[i] = (EpochRow){.epoch = r->epoch,
                            .train_loss = r->train_loss,
                            .valid_loss = r->valid_loss,
                            .valid_mae = r->mae,
                            .seconds = r->seconds,
                            .lr = r->lr,
                            .mom = r->mom,
                            .exchange_seconds = r->exchange_seconds,
                            .imbalance = r->imbalance,
                            .exchange_bytes = r->bytes_exchanged,
                            .exchange_messages = r->messages};
    }
    free(raw);
    *rows = out;
    *n = (size_t)got;
    return STATUS_OK;
}

void metrics_file_close(MetricsFile *m)
{
    if (m->table >= 0)
        H5Dclose(m->table);
    if (m->file >= 0)
        H5Fclose(m->file);
    m->file = m->table = -1;
}

static herr_t write_vector(hid_t g, const char *name, const double *v, size_t n)
{
    hsize_t dims = n;
    hid_t space = H5Screate_simple(1, &dims, NULL);
    hid_t ds = H5Dcreate2(g, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(space);
    return rc;
}

int metrics_file_lr_find(const char *path, const double *lrs, const double *losses, size_t n,
                         const char *method, double suggestion, int interrupted, Status *st)
{
    hid_t table = -1;
    int damaged = 0;
    hid_t f = open_table_file(path, INT_MAX, &table, &damaged); /* keeps every epoch row */
    if (f < 0)
        return status_set(st, STATUS_DATA, "cannot open or create the metrics file '%s'", path);
    H5Dclose(table);
    if (H5Lexists(f, "lr_find", H5P_DEFAULT) > 0)
        H5Ldelete(f, "lr_find", H5P_DEFAULT); /* the newest sweep replaces the last */
    hid_t g = H5Gcreate2(f, "lr_find", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = g < 0 ? -1 : 0;
    if (rc == 0)
        rc = write_vector(g, "lr", lrs, n) | write_vector(g, "loss", losses, n) |
             h5_attr_write_f64(g, "suggestion", suggestion) |
             h5_attr_write_str(g, "method", method) |
             h5_attr_write_i64(g, "interrupted", interrupted);
    if (g >= 0)
        H5Gclose(g);
    if (H5Fclose(f) < 0 || rc < 0)
        return status_set(st, STATUS_DATA, "%s: cannot write the lr_find curve", path);
    return STATUS_OK;
}
