/* prep_file.c - a prepared file opened for reading (prepared.h): the parallel open, the
 * checks of its attributes (kind, version, the options that decide the content) and of
 * its datasets' shapes, and the small parts every rank holds (offsets, keys, titles). */
#include "config.h"

#include "collab/data/prepared.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collab/base/check.h"
#include "collab/base/h5.h"

void prep_file_close(PrepFile *f)
{
    if (f->file >= 0)
        H5Fclose(f->file);
    free(f->offsets);
    for (int k = 0; k < 3; k++)
        free(f->blob[k]);
    free(f->ukeys);
    free(f->ikeys);
    free(f->titles);
    memset(f, 0, sizeof *f);
    f->file = -1;
}

/* ------------------------------------------------------------------------- checks */

static int check_root(const PrepFile *f, Status *st)
{
    char text[256];
    int64_t version = 0;
    if (h5_attr_read_str(f->file, "format", text, sizeof text) || strcmp(text, "collab-mpi"))
        return status_set(st, STATUS_DATA,
                          "%s: not a prepared ratings file (an HDF5 file without the "
                          "'format' attribute 'collab-mpi'; make one with collab-mpi prepare)",
                          f->path);
    if (h5_attr_read_str(f->file, "kind", text, sizeof text) || strcmp(text, "ratings"))
        return status_set(st, STATUS_DATA,
                          "%s: is a collab-mpi %s file, not prepared ratings (make one with "
                          "collab-mpi prepare)",
                          f->path, text);
    if (h5_attr_read_num(f->file, "format_version", H5T_NATIVE_INT64, H5T_INTEGER, &version))
        return status_set(st, STATUS_DATA, "%s: the 'format_version' attribute is missing",
                          f->path);
    if (version != PREP_FORMAT_VERSION)
        return status_set(st, STATUS_DATA,
                          "%s: prepared file version %lld, but this program reads version %d "
                          "(prepare it again with this collab-mpi)",
                          f->path, (long long)version, PREP_FORMAT_VERSION);
    return STATUS_OK;
}

/* A conflict between an option of this run and the file's (exit 2). */
static int conflict(const PrepFile *f, const char *opt, const char *here, const char *there,
                    Status *st)
{
    return status_set(st, STATUS_USAGE,
                      "option --%s: this run has %s, but %s was prepared with %s; give the "
                      "options prepare was given, or prepare the file again",
                      opt, here, f->path, there);
}

/* The options that decide the content must be those prepare was given. */
static int check_options(const PrepFile *f, const DataOptions *o, Status *st)
{
    char fmt[64], item[64], range[128], want[160], have[160];
    int64_t skip = -1;
    if (h5_attr_read_str(f->file, "data_format", fmt, sizeof fmt) ||
        h5_attr_read_str(f->file, "item_name", item, sizeof item) ||
        h5_attr_read_str(f->file, "rating_range", range, sizeof range) ||
        h5_attr_read_num(f->file, "skip_bad_lines", H5T_NATIVE_INT64, H5T_INTEGER, &skip))
        return status_set(st, STATUS_DATA, "%s: the reader option attributes are missing", f->path);
    if (o->format != DATA_AUTO && strcmp(prep_format_name(o->format), fmt)) {
        snprintf(have, sizeof have, "--format %s", prep_format_name(o->format));
        snprintf(want, sizeof want, "--format %s", fmt);
        return conflict(f, "format", have, want, st);
    }
    if (strcmp(o->item_by_title ? "title" : "id", item)) {
        snprintf(have, sizeof have, "--item-name %s", o->item_by_title ? "title" : "id");
        snprintf(want, sizeof want, "--item-name %s", item);
        return conflict(f, "item-name", have, want, st);
    }
    char mine[128] = "none";
    if (o->has_rating_range)
        snprintf(mine, sizeof mine, "%.17g,%.17g", o->rating_min, o->rating_max);
    if (strcmp(mine, range)) {
        snprintf(have, sizeof have, "%s%s", strcmp(mine, "none") ? "--rating-range " : "no ",
                 strcmp(mine, "none") ? mine : "--rating-range");
        snprintf(want, sizeof want, "%s%s", strcmp(range, "none") ? "--rating-range " : "no ",
                 strcmp(range, "none") ? range : "--rating-range");
        return conflict(f, "rating-range", have, want, st);
    }
    if (skip != o->skip_bad_lines)
        return conflict(f, "skip-bad-lines",
                        o->skip_bad_lines ? "--skip-bad-lines" : "no --skip-bad-lines",
                        skip ? "--skip-bad-lines" : "no --skip-bad-lines", st);
    return STATUS_OK;
}

/* Column name must be a one-dimensional dataset of n elements of class cls and size bytes;
 * sum (NULL: none) gets its checksum attribute. */
static int check_column(const PrepFile *f, const char *name, H5T_class_t cls, size_t size,
                        uint64_t n, int64_t *sum, Status *st)
{
    const hsize_t dims = n;
    if (h5_check_dataset(f->file, name, cls, size, 1, &dims, f->path, st) || !sum)
        return st->code;
    return h5_read_checksum(f->file, name, H5T_NATIVE_INT64, sum, f->path, st);
}

static int check_layout(PrepFile *f, Status *st)
{
    int64_t n[3];
    static const char *const names[3] = {"n_rows", "n_users", "n_items"};
    for (int k = 0; k < 3; k++)
        if (h5_attr_read_num(f->file, names[k], H5T_NATIVE_INT64, H5T_INTEGER, &n[k]) || n[k] < 1 ||
            n[k] > (k ? INT32_MAX - 1 : INT64_MAX / 2))
            return status_set(st, STATUS_DATA, "%s: the '%s' attribute is missing or damaged",
                              f->path, names[k]);
    f->n_rows = (uint64_t)n[0], f->n_users = (uint64_t)n[1], f->n_items = (uint64_t)n[2];
    if (check_column(f, "ratings/row", H5T_INTEGER, 8, f->n_rows, &f->sums[0], st) ||
        check_column(f, "ratings/item", H5T_INTEGER, 4, f->n_rows, &f->sums[1], st) ||
        check_column(f, "ratings/rating", H5T_FLOAT, 4, f->n_rows, &f->sums[2], st) ||
        check_column(f, "users/offsets", H5T_INTEGER, 8, f->n_users + 1, NULL, st) ||
        check_column(f, "users/keys", H5T_STRING, 0, f->n_users, NULL, st) ||
        check_column(f, "items/keys", H5T_STRING, 0, f->n_items, NULL, st))
        return st->code;
    return check_column(f, "items/titles", H5T_STRING, 0, f->n_items, NULL, st);
}

/* ------------------------------------------------------------------------- reading */

/* Local: a whole dataset of n fixed-length strings; "" becomes NULL when empty_null. */
static char **read_strings(char **blob, const PrepFile *f, const char *name, size_t n,
                           int empty_null, Status *st)
{
    hid_t ds = H5Dopen2(f->file, name, H5P_DEFAULT), t = ds < 0 ? -1 : H5Dget_type(ds);
    size_t w = t < 0 || H5Tis_variable_str(t) ? 0 : H5Tget_size(t);
    char **s = xcalloc(n ? n : 1, sizeof *s);
    *blob = xmalloc(n * w + 1);
    if (w == 0 || H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, *blob) < 0)
        status_set(st, STATUS_DATA, "%s: dataset '%s' cannot be read (damaged?)", f->path, name);
    for (size_t i = 0; st->code == STATUS_OK && i < n; i++) {
        char *k = *blob + i * w;
        if (k[w - 1] != '\0')
            status_set(st, STATUS_DATA, "%s: dataset '%s' is damaged", f->path, name);
        s[i] = empty_null && !*k ? NULL : k;
    }
    if (t >= 0)
        H5Tclose(t);
    if (ds >= 0)
        H5Dclose(ds);
    return s;
}

static int read_small(PrepFile *f, Status *st)
{
    f->offsets = xmalloc((f->n_users + 1) * sizeof *f->offsets);
    if (h5_read_rows(f->file, "users/offsets", H5T_NATIVE_UINT64, f->offsets, 0, f->n_users + 1,
                     0) < 0)
        return status_set(st, STATUS_DATA, "%s: 'users/offsets' cannot be read (damaged?)",
                          f->path);
    int ok = f->offsets[0] == 0 && f->offsets[f->n_users] == f->n_rows;
    for (uint64_t u = 0; ok && u < f->n_users; u++)
        ok = f->offsets[u] < f->offsets[u + 1];
    if (!ok)
        return status_set(st, STATUS_DATA, "%s: 'users/offsets' is damaged", f->path);
    f->ukeys = read_strings(&f->blob[0], f, "users/keys", f->n_users, 0, st);
    f->ikeys = read_strings(&f->blob[1], f, "items/keys", f->n_items, 0, st);
    f->titles = read_strings(&f->blob[2], f, "items/titles", f->n_items, 1, st);
    return st->code;
}

int prep_file_open(PrepFile *f, const char *path, const DataOptions *o, MPI_Comm comm, Status *st)
{
    memset(f, 0, sizeof *f);
    f->file = -1;
    f->path = path;
    if (access(path, R_OK) != 0)
        status_set(st, STATUS_DATA, "cannot open '%s': %s", path, strerror(errno));
    if (status_agree(st, comm))
        return st->code;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    f->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f->file < 0)
        status_set(st, STATUS_DATA, "%s: not a readable HDF5 file (truncated or damaged?)", path);
    else if (!check_root(f, st) && !check_options(f, o, st) && !check_layout(f, st))
        read_small(f, st);
    return status_agree(st, comm);
}
