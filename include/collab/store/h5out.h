/* h5out.h - the HDF5 outputs of the commands that use a model (recs.h5, pca.h5).
 *
 * Created collectively through MPI-IO under a temporary name and renamed by rank 0 once
 * closed, like a checkpoint, so a failed run never leaves a complete-looking file. The
 * root carries collab-mpi's attributes (format, format_version, kind, program, created,
 * model); each rank writes its own rows of every table. Layouts: docs/USING.md. */
#ifndef COLLAB_H5OUT_H
#define COLLAB_H5OUT_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/ctx.h"
#include "collab/base/status.h"

/* Element types of h5out_rows. */
typedef enum H5OutType { H5OUT_I32, H5OUT_I64, H5OUT_F32, H5OUT_F64 } H5OutType;

/* An output being written. */
typedef struct H5Out {
    int64_t file;    /* HDF5 id, -1 when not open */
    char path[4096]; /* the final name */
    char tmp[4100];  /* the name written to */
} H5Out;

/* Collective: creates path (through path.tmp) with the root attributes; kind e.g.
 * "recommendations", model the model file used. */
int h5out_create(H5Out *o, const char *path, const char *kind, const char *model, const Ctx *ctx,
                 Status *st);

/* Collective: rows [row0, row0 + rows) of dataset name, shaped (total, width), or
 * (total) when width is 0; every rank passes its own rows (0 rows is fine). */
int h5out_rows(H5Out *o, const char *name, H5OutType type, const void *data, size_t rows,
               size_t row0, size_t total, size_t width, const Ctx *ctx, Status *st);

/* Collective: a scalar attribute on the root (the same value on every rank). */
int h5out_attr_i64(H5Out *o, const char *name, int64_t value, Status *st);
int h5out_attr_f64(H5Out *o, const char *name, double value, Status *st);
int h5out_attr_str(H5Out *o, const char *name, const char *value, Status *st);

/* Collective: closes the file and, when every rank succeeded so far (st), renames it to
 * its final name; otherwise removes it. Returns the agreed status. */
int h5out_close(H5Out *o, const Ctx *ctx, Status *st);

#endif
