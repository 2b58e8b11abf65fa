/* pairs.h - the (user, item) lines `predict` reads.
 *
 * A MovieLens file or folder (u.data, ratings.dat, ratings.csv, by --format or detected as
 * data.c detects them) is read by data_read itself, with its checks and its title
 * mapping. Any other file is a delimited file read with the training reader's column
 * options (--sep, --header, --user-col, --item-col: name or 0-based index, default 0 and
 * 1), but needs no rating column and may repeat pairs. Its header is detected (auto)
 * when a column is given by name, or when the model's user IDs are integers and the
 * first line's user field is not. Integer IDs are put in canonical form ("007" is 7), as
 * training does. Local. */
#ifndef COLLAB_PAIRS_H
#define COLLAB_PAIRS_H

#include "collab/data/dataset.h"

/* Reads opt->path into r: rows in file order with user and item keys (ratings are those
 * of the file when it has them, else 0). users_numeric: the model's user IDs are
 * integers (for the auto header). Errors name the file and the line. */
int pairs_read(Ratings *r, const DataOptions *opt, int users_numeric, Status *st);

#endif
