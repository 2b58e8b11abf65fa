/* h5.h - the HDF5 helpers every collab-mpi file goes through: checkpoints, model files,
 * outputs and metrics (store/) and prepared ratings files (data/).
 *
 * One checked-call macro for recoverable HDF5 errors, scalar attributes, the one dataset
 * check, collective row and string datasets, and the order-free checksum of a string
 * dataset. HDF5's automatic error printing is off (main.c): a failing call here returns a
 * negative value or a Status naming the file and the problem, so every rank can agree on
 * it (status_agree). Infrastructure failures (MPI) still end the job (check.h). Layouts:
 * docs/FORMAT.md. */
#ifndef COLLAB_H5_H
#define COLLAB_H5_H

#include <hdf5.h>
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/base/status.h"

/* Fails the enclosing function when an HDF5 call returns a negative id or status: sets
 * STATUS_DATA in `st` as "PATH: WHAT failed (FILE:LINE)" plus h5_io_hint(path), then
 * jumps to its `fail:` label. The function must have `Status *st`, `const char *path`
 * and a `fail:` label that releases what it holds. */
#define H5_OK(expr, what)                                                                          \
    do {                                                                                           \
        if ((expr) < 0) {                                                                          \
            status_set(st, STATUS_DATA, "%s: %s failed (%s:%d)%s", path, what, __FILE__, __LINE__, \
                       h5_io_hint(path));                                                          \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* Why a write to path failed, when it is the disk's fault: ": no space left on the device
 * (disk full)", ": disk quota exceeded" or ": input/output error" from the errno of the
 * failed system call when HDF5 and MPI-IO left it in place, or the first when path's file
 * system has under 1 MiB free; "" otherwise. A static string. Local. */
const char *h5_io_hint(const char *path);

/* ---- Scalar attributes on loc (a file, group or dataset). Local. ---- */

/* Reads fixed-length string attribute name into out (size len, NUL-terminated). Returns 0,
 * or -1 when it is absent, not a fixed-length string, or does not fit. */
int h5_attr_read_str(hid_t loc, const char *name, char *out, size_t len);

/* Reads scalar attribute name, of type class cls (H5T_INTEGER or H5T_FLOAT), into out as
 * mem_type (e.g. H5T_NATIVE_INT64). Returns 0, or -1 when absent or not of that kind. */
int h5_attr_read_num(hid_t loc, const char *name, hid_t mem_type, H5T_class_t cls, void *out);

/* Creates attribute name holding a UTF-8 string (stored fixed-length, strlen + 1 bytes),
 * an int64, a uint64 or a double. Return < 0 on failure. In a file opened with the MPI-IO
 * driver every rank must write the same attributes with the same values. */
herr_t h5_attr_write_str(hid_t loc, const char *name, const char *value);
herr_t h5_attr_write_i64(hid_t loc, const char *name, int64_t value);
herr_t h5_attr_write_u64(hid_t loc, const char *name, uint64_t value);
herr_t h5_attr_write_f64(hid_t loc, const char *name, double value);

/* ---- Datasets ---- */

/* Local: checks that dataset name exists in file with type class cls (H5T_INTEGER,
 * H5T_FLOAT or H5T_STRING), element size bytes (0: any) and rank (1 or 2) dimensions dims.
 * Returns STATUS_OK, or STATUS_DATA with st saying "PATH: dataset 'NAME' is missing /
 * cannot be opened / has the wrong type (expected ...) / has shape (...), expected (...)". */
int h5_check_dataset(hid_t file, const char *name, H5T_class_t cls, size_t size, int rank,
                     const hsize_t *dims, const char *path, Status *st);

/* Local: reads the integer `checksum` attribute of dataset name into out as mem_type
 * (H5T_NATIVE_UINT64 or H5T_NATIVE_INT64). Returns STATUS_OK, or STATUS_DATA with st
 * saying "PATH: dataset 'NAME' has no checksum". */
int h5_read_checksum(hid_t file, const char *name, hid_t mem_type, void *out, const char *path,
                     Status *st);

/* Collective, on a file opened with the MPI-IO driver: creates dataset name (and missing
 * groups on its path) of type file_type, shaped (total) when width is 0, else (total,
 * width), and writes this rank's rows [row0, row0 + rows) from data (rows * max(width, 1)
 * elements of mem_type, the caller's; 0 rows is fine) with a collective transfer. Returns
 * the open dataset, which the caller closes (after adding attributes), or < 0 on failure
 * with errno as the failed call left it (for h5_io_hint). */
hid_t h5_write_rows(hid_t file, const char *name, hid_t file_type, hid_t mem_type, const void *data,
                    size_t row0, size_t rows, size_t total, size_t width);

/* Reads rows [row0, row0 + rows) of dataset name (one- or two-dimensional: a row is one
 * element or one line of the second dimension) into data as mem_type (the caller's
 * buffer, rows * width elements). Collective when collective is 1 (every rank of the
 * file's communicator calls it, 0 rows is fine); Local, independent I/O, when 0. Returns
 * < 0 on failure. */
herr_t h5_read_rows(hid_t file, const char *name, hid_t mem_type, void *data, size_t row0,
                    size_t rows, int collective);

/* ---- String datasets ---- */

/* Order-free checksum of n strings (NULL, or s NULL, counts as ""): the `checksum`
 * attribute of a string dataset, a sum of keyed hashes of (index, text). Local. */
uint64_t h5_strings_checksum(char *const *s, size_t n);

/* Collective over comm (the file's communicator): writes rank 0's n strings s (NULL entries
 * as ""; the other ranks' s is not read) as a one-dimensional dataset name of fixed-length
 * UTF-8 strings as wide as the longest, with its h5_strings_checksum as `checksum`
 * attribute, creating missing groups. Returns STATUS_OK, or STATUS_DATA with st naming path
 * (the file written to) and the dataset. */
int h5_write_strings(hid_t file, const char *name, char *const *s, size_t n, MPI_Comm comm,
                     const char *path, Status *st);

#endif
