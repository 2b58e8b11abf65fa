/* h5.c - the HDF5 helpers every collab-mpi file goes through (h5.h): attributes, the
 * dataset check, collective row and string datasets, the strings checksum.
 *
 * Property lists and dataspaces are closed right after use; every id is checked before
 * it is used, and what a failure leaves is reported by the caller with the file's name. */
#include "config.h"

#include "collab/base/h5.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "collab/base/check.h"
#include "collab/base/rng.h"

const char *h5_io_hint(const char *path)
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

herr_t h5_attr_write_str(hid_t loc, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    H5Tset_cset(type, H5T_CSET_UTF8);
    herr_t rc = attr_write(loc, name, type, value);
    H5Tclose(type);
    return rc;
}

herr_t h5_attr_write_i64(hid_t loc, const char *name, int64_t value)
{
    return attr_write(loc, name, H5T_NATIVE_INT64, &value);
}

herr_t h5_attr_write_u64(hid_t loc, const char *name, uint64_t value)
{
    return attr_write(loc, name, H5T_NATIVE_UINT64, &value);
}

herr_t h5_attr_write_f64(hid_t loc, const char *name, double value)
{
    return attr_write(loc, name, H5T_NATIVE_DOUBLE, &value);
}

int h5_attr_read_num(hid_t loc, const char *name, hid_t mem_type, H5T_class_t cls, void *out)
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

int h5_attr_read_str(hid_t loc, const char *name, char *out, size_t len)
{
    if (H5Aexists(loc, name) <= 0)
        return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    int ok =
        t >= 0 && H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) && H5Tget_size(t) < len;
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

/* ------------------------------------------------------------------ checking datasets */

/* What a dataset of class cls and element size bytes (0: any) is, for messages. */
static void type_name(char *out, size_t len, H5T_class_t cls, size_t size)
{
    const char *kind = cls == H5T_FLOAT ? "float" : "integer";
    if (cls == H5T_STRING)
        snprintf(out, len, "fixed-length string");
    else if (size)
        snprintf(out, len, "%zu-bit %s", 8 * size, kind);
    else
        snprintf(out, len, "%s", kind);
}

/* "(d0)", "(d0, d1)" or "of rank nd": a shape of nd dimensions, for messages. */
static void shape_name(char *out, size_t len, int nd, const hsize_t *dims)
{
    if (nd == 1)
        snprintf(out, len, "(%llu)", (unsigned long long)dims[0]);
    else if (nd == 2)
        snprintf(out, len, "(%llu, %llu)", (unsigned long long)dims[0],
                 (unsigned long long)dims[1]);
    else
        snprintf(out, len, "of rank %d", nd);
}

int h5_check_dataset(hid_t file, const char *name, H5T_class_t cls, size_t size, int rank,
                     const hsize_t *dims, const char *path, Status *st)
{
    char parent[256], want[64], shape[2][48];
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
    type_name(want, sizeof want, cls, size);
    shape_name(shape[0], sizeof shape[0], nd, got);
    shape_name(shape[1], sizeof shape[1], rank, dims);
    if (ds < 0 || t < 0 || sp < 0)
        status_set(st, STATUS_DATA, "%s: dataset '%s' cannot be opened (corrupted?)", path, name);
    else if (H5Tget_class(t) != cls || (size && H5Tget_size(t) != size))
        status_set(st, STATUS_DATA, "%s: dataset '%s' has the wrong type (expected %s)", path, name,
                   want);
    else if (nd != rank || got[0] != dims[0] || (rank == 2 && got[1] != dims[1]))
        status_set(st, STATUS_DATA, "%s: dataset '%s' has shape %s, expected %s", path, name,
                   shape[0], shape[1]);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (ds >= 0)
        H5Dclose(ds);
    return st->code;
}

int h5_read_checksum(hid_t file, const char *name, hid_t mem_type, void *out, const char *path,
                     Status *st)
{
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    if (ds < 0 || h5_attr_read_num(ds, "checksum", mem_type, H5T_INTEGER, out))
        status_set(st, STATUS_DATA, "%s: dataset '%s' has no checksum", path, name);
    if (ds >= 0)
        H5Dclose(ds);
    return st->code;
}

/* ------------------------------------------------------------------ rows */

/* Link creation that makes the missing groups of a path ("a/b/c": a, a/b). */
static hid_t link_props(void)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    return lcpl;
}

static hid_t collective_dxpl(void)
{
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    return dxpl;
}

/* Selects rows [row0, row0 + rows) in file space fs (a row: one element of a 1-D space,
 * one line of a 2-D one), or nothing, and returns the matching 1-D memory space. */
static hid_t select_rows(hid_t fs, size_t row0, size_t rows)
{
    hsize_t dims[2] = {0, 1};
    if (H5Sget_simple_extent_ndims(fs) == 2)
        H5Sget_simple_extent_dims(fs, dims, NULL);
    hsize_t start[2] = {row0, 0}, count[2] = {rows, dims[1]}, n = rows * dims[1];
    hid_t ms = H5Screate_simple(1, &n, NULL);
    if (rows == 0) {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
    } else {
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    }
    return ms;
}

hid_t h5_write_rows(hid_t file, const char *name, hid_t file_type, hid_t mem_type, const void *data,
                    size_t row0, size_t rows, size_t total, size_t width)
{
    hsize_t dims[2] = {total, width};
    hid_t fs = H5Screate_simple(width ? 2 : 1, dims, NULL), lcpl = link_props();
    hid_t ds = H5Dcreate2(file, name, file_type, fs, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ms = select_rows(fs, row0, rows), dxpl = collective_dxpl();
    int err = 0;
    if (ds < 0 || H5Dwrite(ds, mem_type, ms, fs, dxpl, data) < 0) {
        err = errno; /* the caller's h5_io_hint reads it after the cleanup below */
        if (ds >= 0)
            H5Dclose(ds);
        ds = -1;
    }
    H5Pclose(dxpl);
    H5Sclose(ms);
    H5Pclose(lcpl);
    H5Sclose(fs);
    if (ds < 0)
        errno = err;
    return ds;
}

herr_t h5_read_rows(hid_t file, const char *name, hid_t mem_type, void *data, size_t row0,
                    size_t rows, int collective)
{
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hid_t fs = H5Dget_space(ds), ms = select_rows(fs, row0, rows);
    hid_t dxpl = collective ? collective_dxpl() : H5P_DEFAULT;
    herr_t rc = H5Dread(ds, mem_type, ms, fs, dxpl, data);
    if (collective)
        H5Pclose(dxpl);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(ds);
    return rc;
}

/* ------------------------------------------------------------------ strings */

uint64_t h5_strings_checksum(char *const *s, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = s && s[i] ? s[i] : "";
        sum += rng_hash(0x5c4e, i, rng_hash_bytes(t, strlen(t)), 0);
    }
    return sum;
}

/* Vocabularies decide which row is which item: the checksum makes damage visible. */
int h5_write_strings(hid_t file, const char *name, char *const *s, size_t n, MPI_Comm comm,
                     const char *path, Status *st)
{
    int rank;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    uint64_t width[2] = {1, rank == 0 ? h5_strings_checksum(s, n) : 0};
    for (size_t i = 0; rank == 0 && s && i < n; i++)
        if (s[i] && strlen(s[i]) + 1 > width[0])
            width[0] = strlen(s[i]) + 1;
    CHECK_MPI(MPI_Bcast(width, 2, MPI_UINT64_T, 0, comm));
    char *buf = xcalloc(rank == 0 && n ? n : 1, (size_t)width[0]);
    for (size_t i = 0; rank == 0 && s && i < n; i++)
        if (s[i])
            memcpy(buf + i * width[0], s[i], strlen(s[i]));
    hsize_t dims = n;
    hid_t type = H5Tcopy(H5T_C_S1), fs = H5Screate_simple(1, &dims, NULL), lcpl = link_props();
    hid_t ms = H5Screate_simple(1, &dims, NULL), ds = -1, dxpl = collective_dxpl();
    H5Tset_size(type, (size_t)width[0]);
    H5Tset_cset(type, H5T_CSET_UTF8);
    if (rank != 0) {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
    }
    H5_OK(ds = H5Dcreate2(file, name, type, fs, lcpl, H5P_DEFAULT, H5P_DEFAULT), name);
    H5_OK(H5Dwrite(ds, type, ms, fs, dxpl, buf), name);
    H5_OK(h5_attr_write_u64(ds, "checksum", width[1]), name);
fail:
    if (ds >= 0)
        H5Dclose(ds);
    H5Pclose(dxpl);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Pclose(lcpl);
    H5Tclose(type);
    free(buf);
    return st->code;
}
