/* test_data.c - the ratings readers on small files written into a temporary folder: each
 * format, Latin-1 and quoting, CRLF and a missing final newline, and every kind of bad
 * input with its message (file, line, expectation). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collab/data/dataset.h"
#include "collab/base/log.h"
#include "../test.h"

/* A temporary folder and the paths created in it (removed in reverse order). */
typedef struct TmpDir {
    char root[256];
    char made[128][512];
    int n;
} TmpDir;

static void tmp_init(TmpDir *t)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(t->root, sizeof t->root, "%s/collab-test-data.XXXXXX", base);
    t->n = 0;
    if (!mkdtemp(t->root)) {
        perror("mkdtemp");
        exit(99);
    }
}

static void tmp_cleanup(TmpDir *t)
{
    while (t->n > 0)
        remove(t->made[--t->n]);
    rmdir(t->root);
}

/* Writes len bytes to root/rel, making root/<dir> first for rel = "dir/file"; returns the
 * path. Paths are recorded in creation order, so removing them in reverse removes every
 * file before its folder. */
static const char *put_bytes(TmpDir *t, const char *rel, const char *bytes, size_t len)
{
    const char *slash = strchr(rel, '/');
    char root[256];
    if (t->n + 2 > (int)(sizeof t->made / sizeof t->made[0])) {
        fprintf(stderr, "test_data: too many temporary files; enlarge TmpDir.made\n");
        exit(99);
    }
    memcpy(root, t->root, sizeof root);
    if (slash) {
        snprintf(t->made[t->n], 512, "%s/%.*s", root, (int)(slash - rel), rel);
        if (mkdir(t->made[t->n], 0755) == 0)
            t->n++;
    }
    char *path = t->made[t->n++];
    snprintf(path, 512, "%s/%s", root, rel);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(99);
    }
    return path;
}

static const char *put(TmpDir *t, const char *rel, const char *text)
{
    return put_bytes(t, rel, text, strlen(text));
}

/* Reads path with the given format and item keying; returns the status code. */
static int read_as(Ratings *r, Status *st, const char *path, DataFormat fmt, int by_title)
{
    DataOptions o;
    data_options_default(&o);
    o.path = path;
    o.format = fmt;
    o.item_by_title = by_title;
    return data_read(r, &o, st);
}

/* The path of the folder holding file. */
static const char *dir_of(const char *file, char *buf)
{
    snprintf(buf, 512, "%s", file);
    *strrchr(buf, '/') = '\0';
    return buf;
}

/* -------------------------------------------------------------------------- formats */

static void test_ml100k(TmpDir *t)
{
    char dir[512];
    const char *data = put(t, "ml100k/u.data",
                           "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
                           "196\t302\t1\t878887116\n22\t543\t5\t880606923\n");
    put(t, "ml100k/u.item",
        "242|Kolya (1996)|24-Jan-1997||http://x|0|0\n"
        "302|L.A. Confidential (1997)|01-Jan-1997||http://x|0|0\n"
        "543|Mis\xE9rables, Les (1995)|01-Jan-1995||http://x|0|0\n");
    Ratings r;
    Status st;
    TEST_CHECK(read_as(&r, &st, dir_of(data, dir), DATA_AUTO, 0) == STATUS_OK);
    TEST_CHECK(r.n == 4 && r.n_user_keys == 3 && r.n_item_keys == 3);
    TEST_CHECK(strcmp(r.user_keys[r.user[2]], "196") == 0 && r.user[0] == r.user[2]);
    TEST_CHECK(strcmp(r.item_keys[r.item[3]], "543") == 0);
    TEST_CLOSE(r.rating[2], 1.0, 0, 0);
    TEST_CHECK(r.timestamp[3] == 880606923);
    TEST_CHECK(r.item_titles &&
               strcmp(r.item_titles[r.item[3]], "Mis\xC3\xA9rables, Les (1995)") == 0);
    TEST_STR_CONTAINS(r.source, "ml100k/u.data");
    ratings_free(&r);
    TEST_CHECK(read_as(&r, &st, dir, DATA_ML100K, 1) == STATUS_OK);
    TEST_CHECK(r.n_item_keys == 3 && strcmp(r.item_keys[r.item[0]], "Kolya (1996)") == 0);
    TEST_CHECK(strcmp(r.item_titles[r.item[1]], "L.A. Confidential (1997)") == 0);
    ratings_free(&r);
}

/* Two movie IDs with one title: one item when keyed by title, and one user rating both is
 * no duplicate (duplicates are checked on the IDs). */
static void test_title_merge(TmpDir *t)
{
    char dir[512];
    const char *data = put(t, "merge/u.data", "1\t10\t4\t1\n1\t11\t2\t2\n2\t12\t3\t3\n");
    put(t, "merge/u.item", "10|Chaos (2000)|x\n11|Chaos (2000)|x\n12|Other (1999)|x\n");
    Ratings r;
    Status st;
    TEST_CHECK(read_as(&r, &st, dir_of(data, dir), DATA_AUTO, 1) == STATUS_OK);
    TEST_CHECK(r.n == 3 && r.n_item_keys == 2 && r.item[0] == r.item[1]);
    TEST_CHECK(strcmp(r.item_keys[r.item[0]], "Chaos (2000)") == 0);
    ratings_free(&r);
    TEST_CHECK(read_as(&r, &st, dir, DATA_AUTO, 0) == STATUS_OK);
    TEST_CHECK(r.n == 3 && r.n_item_keys == 3 && r.item[0] != r.item[1]);
    ratings_free(&r);
}

static void test_ml1m(TmpDir *t)
{
    char dir[512];
    const char *data = put(t, "ml1m/ratings.dat",
                           "1::1193::5::978300760\n1::661::3::978302109\n"
                           "2::1193::4::978298413\n");
    put(t, "ml1m/movies.dat",
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "661::Caf\xE9 (1996)::Comedy\n"
        "7::Am\xC3\xA9lie (2001)::Comedy\n");
    Ratings r;
    Status st;
    TEST_CHECK(read_as(&r, &st, dir_of(data, dir), DATA_AUTO, 0) == STATUS_OK);
    TEST_CHECK(r.n == 3 && r.n_user_keys == 2 && r.n_item_keys == 2);
    TEST_CHECK(strcmp(r.item_titles[r.item[1]], "Caf\xC3\xA9 (1996)") == 0);
    ratings_free(&r);
    /* A .dat file given directly is read as MovieLens 1M/10M with movies.dat beside it. */
    TEST_CHECK(read_as(&r, &st, data, DATA_AUTO, 1) == STATUS_OK);
    TEST_CHECK(r.n == 3 && strcmp(r.item_keys[r.item[0]], r.item_keys[r.item[2]]) == 0);
    ratings_free(&r);
    /* UTF-8 lines of movies.dat stay as they are (10M). */
    data = put(t, "ml10m/ratings.dat", "5::7::4.5::1\n");
    put(t, "ml10m/movies.dat", "7::Am\xC3\xA9lie (2001)::Comedy\n");
    TEST_CHECK(read_as(&r, &st, dir_of(data, dir), DATA_AUTO, 1) == STATUS_OK);
    TEST_CHECK(r.n == 1 && strcmp(r.item_keys[0], "Am\xC3\xA9lie (2001)") == 0);
    TEST_CLOSE(r.rating[0], 4.5, 0, 0);
    ratings_free(&r);
}

/* MovieLens 1M ships users.dat and has whole stars; 10M has half stars and no users.dat. */
static void test_ml1m_range(TmpDir *t)
{
    char dir[512];
    const char *data = put(t, "ml1mr/ratings.dat", "1::1::5::1\n1::2::0.5::2\n");
    put(t, "ml1mr/users.dat", "1::F::1::10::48067\n");
    Ratings r;
    Status st;
    TEST_CHECK(read_as(&r, &st, dir_of(data, dir), DATA_AUTO, 0) == STATUS_DATA);
    TEST_STR_CONTAINS(st.msg, "ratings.dat:2: Rating 0.5 is out of range (expected 1 to 5)");
    ratings_free(&r);
}

static void test_mlcsv(TmpDir *t)
{
    char dir[512];
    const char *data = put(t, "latest/ratings.csv",
                           "userId,movieId,rating,timestamp\r\n"
                           "1,7789,4.0,964982703\r\n"
                           "1,2,3.5,964981247\r\n"
                           "2,7789,0.5,964982224");
    put(t, "latest/movies.csv",
        "movieId,title,genres\n"
        "2,\"City of Lost Children, The (1995)\",Drama\n"
        "7789,\"11'09\"\"01 - September 11 (2002)\",Drama\n");
    Ratings r;
    Status st;
    TEST_CHECK(read_as(&r, &st, dir_of(data, dir), DATA_AUTO, 0) == STATUS_OK);
    TEST_CHECK(r.n == 3 && r.n_item_keys == 2 && r.timestamp[2] == 964982224);
    TEST_CLOSE(r.rating[1], 3.5, 0, 0);
    TEST_CHECK(strcmp(r.item_titles[r.item[1]], "City of Lost Children, The (1995)") == 0);
    TEST_CHECK(strcmp(r.item_titles[r.item[0]], "11'09\"01 - September 11 (2002)") == 0);
    ratings_free(&r);
    /* The ratings file itself: its MovieLens header makes it MovieLens CSV. */
    TEST_CHECK(read_as(&r, &st, data, DATA_AUTO, 1) == STATUS_OK);
    TEST_CHECK(r.n == 3 && strcmp(r.item_keys[r.item[2]], "11'09\"01 - September 11 (2002)") == 0);
    ratings_free(&r);
}

static void test_delim_by_name(TmpDir *t)
{
    const char *data = put(t, "scores.tsv",
                           "score\tuser\tmovie\tday\n"
                           "4.5\talice\tm1\t3\n3\tbob\tm2\t4\n2\talice\tm2\t5\n");
    const char *items = put(t, "titles.tsv", "id\ttitle\nm1\tFirst\nm2\tSecond, part 2\n");
    DataOptions o;
    data_options_default(&o);
    o.path = data;
    o.user_col = "user", o.item_col = "movie", o.rating_col = "score", o.time_col = "day";
    o.items_path = items;
    Ratings r;
    Status st;
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_OK);
    TEST_CHECK(r.n == 3 && r.n_user_keys == 2 && r.n_item_keys == 2);
    TEST_CHECK(strcmp(r.user_keys[r.user[2]], "alice") == 0 && r.timestamp[2] == 5);
    TEST_CLOSE(r.rating[0], 4.5, 0, 0);
    TEST_CHECK(strcmp(r.item_titles[r.item[1]], "Second, part 2") == 0);
    ratings_free(&r);
    o.item_by_title = 1;
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_OK);
    TEST_CHECK(strcmp(r.item_keys[r.item[0]], "First") == 0);
    ratings_free(&r);
}

static void test_delim_by_index(TmpDir *t)
{
    /* No header (auto: the rating column's first value is a number), ';' separator,
     * quoted fields, integer IDs in any spelling. */
    const char *data = put(t, "plain.txt", "x;7;\"a;b\";4\ny;007;c;2.5\nz;+7;\"d\"\"q\";1e0\n");
    DataOptions o;
    data_options_default(&o);
    o.path = data;
    o.sep = ';';
    o.user_col = "1", o.item_col = "2", o.rating_col = "3";
    Ratings r;
    Status st;
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_OK);
    TEST_CHECK(r.n == 3 && r.n_user_keys == 1 && strcmp(r.user_keys[0], "7") == 0);
    TEST_CHECK(r.n_item_keys == 3 && strcmp(r.item_keys[r.item[0]], "a;b") == 0);
    TEST_CHECK(strcmp(r.item_keys[r.item[2]], "d\"q") == 0);
    TEST_CLOSE(r.rating[2], 1.0, 0, 0);
    TEST_CHECK(r.item_titles == NULL && r.timestamp[0] == 0);
    ratings_free(&r);
    /* Defaults: columns 0, 1, 2; tab for files not named .csv. */
    data = put(t, "plain.tsv", "u1\ti1\t5\nu2\ti1\t4\n");
    o.path = data, o.sep = 0, o.user_col = o.item_col = o.rating_col = NULL;
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_OK && r.n == 2 && r.n_user_keys == 2);
    ratings_free(&r);
}

/* CRLF everywhere, blank lines, a BOM and no final newline. */
static void test_line_endings(TmpDir *t)
{
    const char *data = put(t, "crlf.csv", "\xEF\xBB\xBFuser,item,rating\r\n\r\na,b,1\r\nc,d,2");
    Ratings r;
    Status st;
    TEST_CHECK(read_as(&r, &st, data, DATA_AUTO, 0) == STATUS_OK);
    TEST_CHECK(r.n == 2 && strcmp(r.user_keys[0], "a") == 0 && strcmp(r.item_keys[1], "d") == 0);
    TEST_CLOSE(r.rating[1], 2.0, 0, 0);
    ratings_free(&r);
}

/* A line longer than the reader's 4 MiB chunk. */
static void test_long_line(TmpDir *t)
{
    size_t big = (size_t)9 << 20;
    char *text = malloc(big + 64);
    int n = sprintf(text, "user,item,rating\nu,");
    memset(text + n, 'x', big);
    strcpy(text + n + big, ",3\nv,y,4\n");
    const char *data = put_bytes(t, "long.csv", text, strlen(text));
    Ratings r;
    Status st;
    TEST_CHECK(read_as(&r, &st, data, DATA_AUTO, 0) == STATUS_OK);
    TEST_CHECK(r.n == 2 && strlen(r.item_keys[0]) == big && strcmp(r.item_keys[1], "y") == 0);
    ratings_free(&r);
    free(text);
}

/* ---------------------------------------------------------------------------- errors */

/* Reads path (DATA_AUTO, items by title when by_title) expecting code and a message that
 * contains each of the NULL-terminated fragments. */
static void expect_error(const char *path, int by_title, int code, const char *frag, ...)
{
    Ratings r;
    Status st;
    va_list ap;
    TEST_CHECK(read_as(&r, &st, path, DATA_AUTO, by_title) == code);
    TEST_CHECK(st.code == code && r.n == 0);
    va_start(ap, frag);
    for (const char *f = frag; f; f = va_arg(ap, const char *))
        TEST_STR_CONTAINS(st.msg, f);
    va_end(ap);
    ratings_free(&r);
}

static void test_errors_files(TmpDir *t)
{
    char missing[600], dir[512];
    snprintf(missing, sizeof missing, "%s/nowhere/ratings.csv", t->root);
    char want[700];
    snprintf(want, sizeof want, "cannot open '%s': No such file or directory", missing);
    expect_error(missing, 0, STATUS_DATA, want, NULL);
    expect_error(put(t, "empty.csv", ""), 0, STATUS_DATA, "empty.csv: the file is empty", NULL);
    const char *other = put(t, "nothing/readme.txt", "hello\n");
    expect_error(dir_of(other, dir), 0, STATUS_DATA, "no ratings file in", "u.data", NULL);
    const char *only = put(t, "onlyhead/ratings.csv", "userId,movieId,rating,timestamp\n");
    expect_error(only, 0, STATUS_DATA, "onlyhead/ratings.csv: no ratings after the header line",
                 NULL);
    /* Items keyed by title need the movies file. */
    const char *lone = put(t, "lone/u.data", "1\t2\t3\t4\n");
    expect_error(dir_of(lone, dir), 1, STATUS_DATA, "cannot open '", "lone/u.item'", NULL);
}

static void test_errors_fields(TmpDir *t)
{
    const char *h = "userId,movieId,rating,timestamp\n";
    char text[512];
    snprintf(text, sizeof text, "%s1,2,4.0,5\n1,3,4.0\n", h);
    expect_error(put(t, "short/ratings.csv", text), 0, STATUS_DATA,
                 "short/ratings.csv:3: expected 4 fields (userId,movieId,rating,timestamp), "
                 "found 3",
                 NULL);
    snprintf(text, sizeof text, "%s1,2,4.0,5,6\n", h);
    expect_error(put(t, "long/ratings.csv", text), 0, STATUS_DATA,
                 "long/ratings.csv:2: expected 4 fields", "found 5", NULL);
    expect_error(put(t, "u1/u.data", "1\t2\t3\t4\nabc\t2\t3\t4\n"), 0, STATUS_DATA,
                 "u1/u.data:2: expected an integer user id, found 'abc'", NULL);
    expect_error(put(t, "u2/u.data", "1\t2.5\t3\t4\n"), 0, STATUS_DATA,
                 "u2/u.data:1: expected an integer item id, found '2.5'", NULL);
    expect_error(put(t, "u3/u.data", "1\t2\tgood\t4\n"), 0, STATUS_DATA,
                 "u3/u.data:1: expected a number for rating, found 'good'", NULL);
    expect_error(put(t, "u4/u.data", "1\t2\t6\t4\n"), 0, STATUS_DATA,
                 "u4/u.data:1: rating 6 is out of range (expected 1 to 5)", NULL);
    expect_error(put(t, "u5/u.data", "1\t2\t3\t4\n1\t3\tNaN\t4\n"), 0, STATUS_DATA,
                 "u5/u.data:2: expected a finite number for rating, found 'NaN'", NULL);
    expect_error(put(t, "u6/u.data", "1\t2\t3\t4\n1\t3\t-inf\t4\n"), 0, STATUS_DATA,
                 "u6/u.data:2:", "finite", NULL);
    expect_error(put(t, "u7/u.data", "1\t2\t3\tnoon\n"), 0, STATUS_DATA,
                 "u7/u.data:1: expected an integer timestamp, found 'noon'", NULL);
    expect_error(put(t, "q.csv", "u,i,r\na,\"b,3\n"), 0, STATUS_DATA,
                 "q.csv:2: unterminated quoted field", NULL);
    expect_error(put(t, "r.csv", "u,i,r\na,b,1e999\n"), 0, STATUS_DATA,
                 "r.csv:2: expected a finite number for rating (column 'r')", NULL);
    expect_error(put(t, "f.csv", "u,i,r\na,b,\n"), 0, STATUS_DATA,
                 "f.csv:2: expected a number for rating (column 'r'), found an empty field", NULL);
    expect_error(put(t, "e.csv", "u,i,r\na,,1\n"), 0, STATUS_DATA,
                 "e.csv:2: expected a value for item (column 'i'), found an empty field", NULL);
}

static void test_errors_content(TmpDir *t)
{
    char dir[512];
    const char *bad = put(t, "badhead/ratings.csv", "user,movie,rating,timestamp\n1,2,3,4\n");
    expect_error(dir_of(bad, dir), 0, STATUS_DATA,
                 "badhead/ratings.csv:1: expected the header "
                 "'userId,movieId,rating,timestamp', found 'user,movie,rating,timestamp'",
                 NULL);
    const char *r = "userId,movieId,rating,timestamp\n1,2,3,4\n";
    put(t, "badutf/movies.csv", "movieId,title,genres\n2,Caf\xE9,Drama\n");
    expect_error(put(t, "badutf/ratings.csv", r), 0, STATUS_DATA,
                 "badutf/movies.csv:2: invalid UTF-8 at byte 6", NULL);
    put(t, "nomovie/movies.csv", "movieId,title,genres\n2,Two,Drama\n");
    expect_error(put(t, "nomovie/ratings.csv",
                     "userId,movieId,rating,timestamp\n1,2,3,4\n"
                     "1,9,3,4\n"),
                 1, STATUS_DATA, "nomovie/ratings.csv:3: movieId '9' is not in ",
                 "nomovie/movies.csv", NULL);
    /* A blank line and the header shift the line numbers of the duplicate check. */
    expect_error(put(t, "dup/u.data", "1\t2\t3\t4\n\n2\t2\t3\t4\n1\t2\t5\t6\n"), 0, STATUS_DATA,
                 "dup/u.data:4: duplicate rating of item id '2' by user id '1' (first on line 1)",
                 NULL);
    expect_error(put(t, "dupcsv.csv", "u,i,r\nb,x,1\na,x,1\nb,y,1\na,x,2\n"), 0, STATUS_DATA,
                 "dupcsv.csv:5: duplicate rating", "(first on line 3)", NULL);
    expect_error(put_bytes(t, "nul.csv", "u,i,r\na,b\0c,1\n", 14), 0, STATUS_DATA,
                 "nul.csv:2: NUL byte at byte 4", NULL);
}

static void test_errors_columns(TmpDir *t)
{
    const char *data = put(t, "cols.csv", "who,what,stars\na,b,1\n");
    DataOptions o;
    data_options_default(&o);
    o.path = data;
    o.rating_col = "rating";
    Ratings r;
    Status st;
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_DATA);
    TEST_STR_CONTAINS(st.msg, "cols.csv:1: no column named 'rating'");
    TEST_STR_CONTAINS(st.msg, "'who', 'what', 'stars'");
    ratings_free(&r);
    o.header = 0;
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_USAGE);
    TEST_STR_CONTAINS(st.msg, "has no header line");
    ratings_free(&r);
    o.header = -1, o.rating_col = "7";
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_DATA);
    TEST_STR_CONTAINS(st.msg, "index 7 is out of range");
    ratings_free(&r);
    o.rating_col = NULL, o.has_rating_range = 1, o.rating_min = 2, o.rating_max = 3;
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_DATA);
    TEST_STR_CONTAINS(st.msg, "cols.csv:2: rating (column 'stars') 1 is out of range");
    ratings_free(&r);
}

/* --------------------------------------------------------------------------- skipping */

static void test_skip(TmpDir *t)
{
    const char *data = put(t, "skip/u.data",
                           "1\t1\t3\t1\n1\t2\tx\t1\n2\t1\t9\t1\nshort\n"
                           "\n1\t1\t4\t1\n2\t2\t5\t1\n3\t3\t3\n4\t4\t4\t4");
    DataOptions o;
    data_options_default(&o);
    o.path = data;
    o.skip_bad_lines = 1;
    Ratings r;
    Status st;
    log_init(0, LOG_QUIET); /* the warnings are checked through the counts */
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_OK);
    TEST_CHECK(r.n == 3 && r.n_skipped == 5); /* x, 9, short, duplicate (1,1), 3 fields */
    TEST_CHECK(r.n_user_keys == 3);           /* users of bad lines are not kept */
    TEST_CHECK(strcmp(r.user_keys[r.user[1]], "2") == 0 && r.timestamp[2] == 4);
    TEST_CLOSE(r.rating[1], 5.0, 0, 0);
    ratings_free(&r);
    o.path = put(t, "skipall/u.data", "a\tb\tc\td\n1\t1\t7\t1\n");
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_DATA);
    TEST_STR_CONTAINS(st.msg, "skipall/u.data: no ratings left after skipping 2 bad lines");
    ratings_free(&r);
    log_init(0, LOG_NORMAL);
}

int main(void)
{
    TmpDir t;
    tmp_init(&t);
    test_ml100k(&t);
    test_title_merge(&t);
    test_ml1m(&t);
    test_ml1m_range(&t);
    test_mlcsv(&t);
    test_delim_by_name(&t);
    test_delim_by_index(&t);
    test_line_endings(&t);
    test_long_line(&t);
    test_errors_files(&t);
    test_errors_fields(&t);
    test_errors_content(&t);
    test_errors_columns(&t);
    test_skip(&t);
    tmp_cleanup(&t);
    return test_done("test_data");
}
