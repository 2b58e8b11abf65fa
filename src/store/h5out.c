/* h5out.c - collective HDF5 outputs written through a temporary name. */
#include "config.h"

#include "collab/store/h5out.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collab/base/check.h"
#include "collab/base/h5.h"
#include "collab/store/checkpoint.h"

int h5out_create(H5Out *o, const char *path, const char *kind, const char *model, const Ctx *ctx,
                 Status *st)
{
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, ctx->comm, MPI_INFO_NULL);
    o->file = H5Fcreate(o->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (o->file < 0)
        status_set(st, STATUS_DATA, "cannot create '%s' (is the folder there and writable?)",
                   o->tmp);
    int64_t when = (int64_t)time(NULL);
    CHECK_MPI(MPI_Bcast(&when, 1, MPI_INT64_T, 0, ctx->comm)); /* one date on all ranks */
    char date[32];
    time_t now = (time_t)when;
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (o->file >= 0 && (h5_attr_write_str(o->file, "format", "collab-mpi") < 0 ||
                         h5_attr_write_i64(o->file, "format_version", CKPT_FORMAT_VERSION) < 0 ||
                         h5_attr_write_str(o->file, "kind", kind) < 0 ||
                         h5_attr_write_str(o->file, "program", PACKAGE_STRING) < 0 ||
                         h5_attr_write_str(o->file, "created", date) < 0 ||
                         h5_attr_write_str(o->file, "model", model) < 0))
        status_set(st, STATUS_DATA, "%s: writing the root attributes failed", o->tmp);
    return status_agree(st, ctx->comm);
}

static hid_t mem_type(H5OutType t)
{
    return t == H5OUT_I32   ? H5T_NATIVE_INT32
           : t == H5OUT_I64 ? H5T_NATIVE_INT64
           : t == H5OUT_F32 ? H5T_NATIVE_FLOAT
                            : H5T_NATIVE_DOUBLE;
}

static hid_t file_type(H5OutType t)
{
    return t == H5OUT_I32   ? H5T_STD_I32LE
           : t == H5OUT_I64 ? H5T_STD_I64LE
           : t == H5OUT_F32 ? H5T_IEEE_F32LE
                            : H5T_IEEE_F64LE;
}

int h5out_rows(H5Out *o, const char *name, H5OutType type, const void *data, size_t rows,
               size_t row0, size_t total, size_t width, const Ctx *ctx, Status *st)
{
    if (st->code)
        return st->code;
    hid_t ds = h5_write_rows(o->file, name, file_type(type), mem_type(type), data, row0, rows,
                             total, width);
    if (ds < 0)
        status_set(st, STATUS_DATA, "%s: writing dataset '%s' failed (disk full?)", o->tmp, name);
    else
        H5Dclose(ds);
    return status_agree(st, ctx->comm); /* every rank skips the rest alike after a failure */
}

int h5out_attr_i64(H5Out *o, const char *name, int64_t value, Status *st)
{
    if (!st->code && h5_attr_write_i64(o->file, name, value) < 0)
        status_set(st, STATUS_DATA, "%s: writing attribute '%s' failed", o->tmp, name);
    return st->code;
}

int h5out_attr_f64(H5Out *o, const char *name, double value, Status *st)
{
    if (!st->code && h5_attr_write_f64(o->file, name, value) < 0)
        status_set(st, STATUS_DATA, "%s: writing attribute '%s' failed", o->tmp, name);
    return st->code;
}

int h5out_attr_str(H5Out *o, const char *name, const char *value, Status *st)
{
    if (!st->code && h5_attr_write_str(o->file, name, value) < 0)
        status_set(st, STATUS_DATA, "%s: writing attribute '%s' failed", o->tmp, name);
    return st->code;
}

int h5out_close(H5Out *o, const Ctx *ctx, Status *st)
{
    if (o->file >= 0 && H5Fclose(o->file) < 0)
        status_set(st, STATUS_DATA, "%s: closing the file failed (disk full?)", o->tmp);
    o->file = -1;
    if (status_agree(st, ctx->comm) == STATUS_OK && ctx->rank == 0 && rename(o->tmp, o->path) != 0)
        status_set(st, STATUS_DATA, "cannot rename '%s' to '%s': %s", o->tmp, o->path,
                   strerror(errno));
    if (st->code && ctx->rank == 0)
        unlink(o->tmp);
    return status_agree(st, ctx->comm);
}
