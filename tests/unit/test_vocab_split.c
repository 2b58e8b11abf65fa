/* test_vocab_split.c - key tables, fastai-style vocabularies, the random split,
 * dataset_build and ratings_append; with MovieLens 100k present ($COLLAB_ML100K), the
 * vocabulary sizes fastai gets on it (944 users, 1665 titles). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/data/dataset.h"
#include "collab/data/keys.h"
#include "collab/data/split.h"
#include "../test.h"

static void test_keytable(void)
{
    KeyTable t;
    char buf[32];
    keytable_init(&t);
    TEST_CHECK(keytable_find(&t, "a", 1) == -1);
    int ok = 1;
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(buf, sizeof buf, i % 2 ? "%d" : "key-%08d", i);
        ok &= keytable_intern(&t, buf, (size_t)n) == i;
    }
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(buf, sizeof buf, i % 2 ? "%d" : "key-%08d", i);
        ok &= keytable_find(&t, buf, (size_t)n) == i && keytable_intern(&t, buf, (size_t)n) == i;
    }
    TEST_CHECK(ok && t.n == 100000);
    /* Keys that share their first 8 bytes, or are prefixes of each other. */
    const char *near[] = {"abcdefgh", "abcdefg", "abcdefgh1", "abcdefgh2", "", "abcdefgh12"};
    for (int i = 0; i < 6; i++)
        TEST_CHECK(keytable_intern(&t, near[i], strlen(near[i])) == 100000 + i);
    for (int i = 0; i < 6; i++)
        TEST_CHECK(keytable_find(&t, near[i], strlen(near[i])) == 100000 + i);
    TEST_CHECK(keytable_find(&t, "abcdefgh3", 9) == -1 && keytable_find(&t, "abcdef", 6) == -1);
    size_t n;
    char **keys = keytable_release(&t, &n);
    TEST_CHECK(n == 100006 && strcmp(keys[3], "3") == 0 && t.n == 0);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    keytable_free(&t);
}

static void test_vocab_numeric(void)
{
    char *keys[] = {"10", "9", "100", "-1", "9"};
    int32_t idx[] = {0, 1, 2, 3, 4, 1, 0};
    Vocab v;
    vocab_build(&v, keys, idx, 7);
    TEST_CHECK(v.n == 5 && v.numeric == 1);
    const char *want[] = {"#na#", "-1", "9", "10", "100"};
    for (size_t i = 0; i < v.n && i < 5; i++)
        TEST_CHECK(strcmp(v.names[i], want[i]) == 0);
    TEST_CHECK(vocab_find(&v, "10") == 3 && vocab_find(&v, "-1") == 1);
    TEST_CHECK(vocab_find(&v, "11") == 0 && vocab_find(&v, "#na#") == 0);
    vocab_free(&v);
    vocab_free(&v); /* safe twice */
}

static void test_vocab_strings(void)
{
    /* Bytewise order is code-point order: uppercase, lowercase, then é (U+00E9). */
    char *keys[] = {"b", "a", "\xC3\xA9t\xC3\xA9", "B", "10", "9"};
    int32_t idx[] = {0, 1, 2, 3, 4, 5};
    Vocab v;
    vocab_build(&v, keys, idx, 6);
    TEST_CHECK(v.n == 7 && v.numeric == 0);
    const char *want[] = {"#na#", "10", "9", "B", "a", "b", "\xC3\xA9t\xC3\xA9"};
    for (size_t i = 0; i < v.n && i < 7; i++)
        TEST_CHECK(strcmp(v.names[i], want[i]) == 0);
    TEST_CHECK(vocab_find(&v, "\xC3\xA9t\xC3\xA9") == 6 && vocab_find(&v, "c") == 0);
    vocab_free(&v);
    /* Only the keys the indices use; none at all gives just #na#. */
    vocab_build(&v, keys, idx + 4, 2);
    TEST_CHECK(v.n == 3 && v.numeric == 1 && strcmp(v.names[1], "9") == 0);
    vocab_free(&v);
    vocab_build(&v, keys, idx, 0);
    TEST_CHECK(v.n == 1 && strcmp(v.names[0], "#na#") == 0 && vocab_find(&v, "b") == 0);
    vocab_free(&v);
}

/* vocab_build_sorted: keys in vocabulary order are taken as they are, others are sorted
 * (strings in numeric order, and numbers among strings, as a prepared file's subsets). */
static void test_vocab_sorted(void)
{
    char *keys[] = {"10", "9", "B", "a", "-1", "100"};
    const int32_t cases[][4] = {{4, 1, 0, 5}, {0, 1, 2, 3}, {1, 0, -1, -1}, {0, 1, -1, -1}};
    const int taken[] = {1, 1, 1, 0};
    for (int c = 0; c < 4; c++) {
        const size_t n = cases[c][2] < 0 ? 2 : 4;
        Vocab a, b;
        vocab_build(&a, keys, cases[c], n);
        TEST_CHECK(vocab_build_sorted(&b, keys, cases[c], n) == taken[c]);
        int same = a.n == b.n && a.numeric == b.numeric && a.hcap == b.hcap;
        for (size_t i = 0; same && i < a.n; i++)
            same = strcmp(a.names[i], b.names[i]) == 0;
        TEST_CHECK(same && !memcmp(a.hslot, b.hslot, a.hcap * sizeof *a.hslot));
        vocab_free(&a);
        vocab_free(&b);
    }
}

/* Python: int(valid_pct * n), e.g. int(0.29 * 100) == 28. */
static void test_split_sizes(void)
{
    const size_t ns[] = {0, 1, 7, 10, 100, 12345, 100000};
    const double pcts[] = {0.0, 0.2, 0.29, 0.5, 1.0};
    int ok = 1;
    for (int a = 0; a < 7; a++)
        for (int b = 0; b < 5; b++) {
            size_t n = ns[a], count = 0;
            uint8_t *v = malloc(n + 1);
            size_t nv = split_random(v, n, pcts[b], 42);
            for (size_t i = 0; i < n; i++)
                count += v[i];
            ok &= nv == (size_t)(pcts[b] * (double)n) && count == nv;
            free(v);
        }
    TEST_CHECK(ok);
    uint8_t v[100];
    TEST_CHECK(split_random(v, 100, 0.29, 1) == 28);
    TEST_CHECK(split_random(v, 100, -0.5, 1) == 0 && split_random(v, 100, 2.0, 1) == 100);
}

static void test_split_seeds(void)
{
    size_t n = 1000;
    uint8_t *a = malloc(n), *b = malloc(n), *c = malloc(n);
    split_random(a, n, 0.2, 42);
    split_random(b, n, 0.2, 42);
    split_random(c, n, 0.2, 43);
    TEST_CHECK(memcmp(a, b, n) == 0);
    TEST_CHECK(memcmp(a, c, n) != 0);
    /* Validation rows are spread over the file, not a block. */
    size_t first_half = 0;
    for (size_t i = 0; i < n / 2; i++)
        first_half += a[i];
    TEST_CHECK(first_half > 60 && first_half < 140);
    free(a);
    free(b);
    free(c);
}

/* split_words (perm_apply_many, eight rows at a time) gives split_random's rows, at any
 * start word and with a last word cut short. */
static void test_split_words(void)
{
    const size_t sizes[] = {1, 63, 64, 65, 1000, 4097, 70001};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        const size_t n = sizes[k], nw = (n + 63) / 64;
        uint8_t *v = malloc(n);
        uint64_t *w = calloc(nw + 1, sizeof *w);
        split_random(v, n, 0.3, 7 + k);
        Split s;
        split_init(&s, n, 0.3, 7 + k);
        split_words(w, &s, 0, nw / 2);
        split_words(w + nw / 2, &s, nw / 2, nw - nw / 2);
        int ok = 1;
        for (size_t i = 0; i < 64 * nw; i++)
            ok &= (int)((w[i / 64] >> (i % 64)) & 1) == (i < n ? v[i] : 0);
        TEST_CHECK(ok);
        free(v);
        free(w);
    }
}

/* k folds: every row in exactly one fold, fold sizes floor(n/k) or one more, the same
 * folds for the same (n, k, seed), fold 0 of 5 the random split of 0.2, and split_words
 * agreeing with split_is_valid on a fold. */
static void test_split_folds(void)
{
    const size_t sizes[] = {2, 7, 100, 1001, 100000};
    const int ks[] = {2, 3, 5, 10};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (size_t b = 0; b < sizeof ks / sizeof *ks; b++) {
            const size_t n = sizes[a];
            const int k = ks[b];
            uint8_t *hits = calloc(n, 1), *v = malloc(n);
            int ok = 1;
            for (int f = 0; f < k; f++) {
                Split s;
                split_init_fold(&s, n, k, f, 9);
                const size_t nv = split_fill(v, &s);
                size_t count = 0;
                for (size_t i = 0; i < n; i++) {
                    count += v[i];
                    hits[i] += v[i];
                }
                ok &= count == nv && (nv == n / (size_t)k || nv == n / (size_t)k + 1);
            }
            for (size_t i = 0; i < n; i++)
                ok &= hits[i] == 1;
            TEST_CHECK(ok);
            free(hits);
            free(v);
        }
    uint8_t *a = malloc(1000), *b = malloc(1000);
    Split s;
    split_init_fold(&s, 1000, 5, 0, 42);
    split_fill(a, &s);
    split_random(b, 1000, 0.2, 42);
    TEST_CHECK(memcmp(a, b, 1000) == 0);
    split_init_fold(&s, 1000, 5, 3, 42);
    uint64_t w[16] = {0};
    split_words(w, &s, 0, 16);
    split_fill(a, &s);
    int same = 1;
    for (size_t i = 0; i < 1000; i++)
        same &= (int)((w[i / 64] >> (i % 64)) & 1) == a[i];
    TEST_CHECK(same);
    const SplitSpec sp = {NULL, 0.2, 42, 5, 3};
    Split t;
    split_init_spec(&t, 1000, &sp);
    TEST_CHECK(t.lo == s.lo && t.hi == s.hi && t.lo == 600 && t.hi == 800);
    free(a);
    free(b);
}

/* A small Ratings built by hand: users u1..u3, items of IDs with titles. */
static void ratings_small(Ratings *r)
{
    static const int32_t user[] = {0, 1, 0, 2, 1, 0};
    static const int32_t item[] = {0, 0, 1, 2, 1, 3};
    static const float rating[] = {4, 2, 3, 5, 1, 4};
    static const char *const ukeys[] = {"u1", "u2", "u3"};
    static const char *const ikeys[] = {"30", "4", "200", "7"};
    static const char *const titles[] = {"Zed", "Alpha", "Mid", NULL};
    memset(r, 0, sizeof *r);
    r->n = 6;
    r->user = malloc(sizeof user), r->item = malloc(sizeof item);
    r->rating = malloc(sizeof rating), r->timestamp = calloc(6, sizeof(int64_t));
    memcpy(r->user, user, sizeof user), memcpy(r->item, item, sizeof item);
    memcpy(r->rating, rating, sizeof rating);
    r->n_user_keys = 3, r->n_item_keys = 4;
    r->user_keys = malloc(3 * sizeof(char *)), r->item_keys = malloc(4 * sizeof(char *));
    r->item_titles = malloc(4 * sizeof(char *));
    for (int i = 0; i < 3; i++)
        r->user_keys[i] = strdup(ukeys[i]);
    for (int i = 0; i < 4; i++) {
        r->item_keys[i] = strdup(ikeys[i]);
        r->item_titles[i] = titles[i] ? strdup(titles[i]) : NULL;
    }
}

static void test_dataset_ids(void)
{
    Ratings r;
    Dataset ds;
    ratings_small(&r);
    const uint8_t valid[] = {0, 0, 0, 1, 0, 1}; /* u3 and item 200, 7 only in validation */
    dataset_build(&ds, &r, valid, 0);
    TEST_CHECK(ds.n_train == 4 && ds.n_valid == 2);
    TEST_CHECK(ds.users.n == 3 && ds.items.n == 3 && ds.items.numeric == 1);
    TEST_CHECK(strcmp(ds.items.names[1], "4") == 0 && strcmp(ds.items.names[2], "30") == 0);
    TEST_CHECK(ds.train_item[0] == 2 && ds.train_item[2] == 1 && ds.train_user[1] == 2);
    TEST_CHECK(ds.valid_user[0] == 0 && ds.valid_item[0] == 0 && ds.valid_item[1] == 0);
    TEST_CHECK(ds.valid_user[1] == 1);
    TEST_CLOSE(ds.valid_rating[0], 5.0, 0, 0);
    TEST_CLOSE(ds.train_mean, 2.5, 0, 1e-12);
    TEST_CHECK(ds.item_titles[0] == NULL && strcmp(ds.item_titles[1], "Alpha") == 0);
    dataset_free(&ds);
    dataset_free(&ds);
    dataset_build(&ds, &r, NULL, 0); /* no validation rows */
    TEST_CHECK(ds.n_train == 6 && ds.n_valid == 0 && ds.items.n == 5);
    TEST_CHECK(ds.item_titles[2] == NULL && strcmp(ds.items.names[3], "30") == 0);
    TEST_CHECK(strcmp(ds.item_titles[3], "Zed") == 0);
    dataset_free(&ds);
    ratings_free(&r);
}

/* Items keyed by title: the vocabulary covers every row, validation included. */
static void test_dataset_titles(void)
{
    Ratings r;
    Dataset ds;
    ratings_small(&r);
    for (int i = 0; i < 4; i++) {
        free(r.item_keys[i]);
        free(r.item_titles[i]);
        r.item_keys[i] = strdup((const char *[]){"Zed", "Alpha", "Mid", "Beta"}[i]);
        r.item_titles[i] = strdup(r.item_keys[i]);
    }
    const uint8_t valid[] = {0, 0, 0, 1, 0, 1};
    dataset_build(&ds, &r, valid, 1);
    TEST_CHECK(ds.items.n == 5 && ds.items.numeric == 0 && ds.users.n == 3);
    const char *want[] = {"#na#", "Alpha", "Beta", "Mid", "Zed"};
    for (int i = 0; i < 5; i++)
        TEST_CHECK(strcmp(ds.items.names[i], want[i]) == 0);
    TEST_CHECK(ds.valid_item[0] == 3 && ds.valid_item[1] == 2 && ds.valid_user[0] == 0);
    TEST_CHECK(strcmp(ds.item_titles[2], "Beta") == 0 && ds.item_titles[0] == NULL);
    dataset_free(&ds);
    ratings_free(&r);
}

static void test_append(void)
{
    Ratings a, b;
    ratings_small(&a);
    ratings_small(&b);
    free(b.user_keys[0]), b.user_keys[0] = strdup("u9"); /* new user */
    free(b.item_keys[3]), b.item_keys[3] = strdup("8");  /* new item, no title */
    free(b.item_titles[2]), b.item_titles[2] = NULL;     /* known item, title kept */
    b.item_titles[3] = strdup("Eight");
    ratings_append(&a, &b);
    TEST_CHECK(a.n == 12 && a.n_user_keys == 4 && a.n_item_keys == 5);
    TEST_CHECK(strcmp(a.user_keys[a.user[6]], "u9") == 0 && a.user[7] == 1);
    TEST_CHECK(strcmp(a.item_keys[a.item[11]], "8") == 0 && a.item[9] == 2);
    TEST_CHECK(strcmp(a.item_titles[4], "Eight") == 0 && strcmp(a.item_titles[2], "Mid") == 0);
    TEST_CHECK(a.item_titles[3] == NULL);
    TEST_CLOSE(a.rating[9], 5.0, 0, 0);
    TEST_CHECK(b.n == 6 && strcmp(b.user_keys[0], "u9") == 0); /* src unchanged */
    ratings_free(&a);
    ratings_free(&b);
    ratings_free(&b);
}

/* The numbers fastai reports on MovieLens 100k with items keyed by title. */
static void test_ml100k(void)
{
    const char *dir = getenv("COLLAB_ML100K");
    char path[1024];
    snprintf(path, sizeof path, "%s/u.data", dir ? dir : "");
    FILE *f = dir ? fopen(path, "r") : NULL;
    if (!f) {
        printf("MovieLens 100k not found (set COLLAB_ML100K): its checks are skipped\n");
        return;
    }
    fclose(f);
    DataOptions o;
    data_options_default(&o);
    o.path = dir;
    o.item_by_title = 1;
    Ratings r;
    Status st;
    Dataset ds;
    TEST_CHECK(data_read(&r, &o, &st) == STATUS_OK);
    uint8_t *valid = malloc(r.n);
    TEST_CHECK(r.n == 100000 && split_random(valid, r.n, 0.2, 42) == 20000);
    dataset_build(&ds, &r, valid, 1);
    TEST_CHECK(ds.users.n == 944 && ds.items.n == 1665);
    TEST_CHECK(ds.n_train == 80000 && ds.n_valid == 20000);
    TEST_CHECK(vocab_find(&ds.items, "Star Wars (1977)") > 0);
    dataset_free(&ds);
    free(valid);
    ratings_free(&r);
}

int main(void)
{
    test_keytable();
    test_vocab_numeric();
    test_vocab_strings();
    test_split_sizes();
    test_split_seeds();
    test_split_words();
    test_split_folds();
    test_vocab_sorted();
    test_dataset_ids();
    test_dataset_titles();
    test_append();
    test_ml100k();
    return test_done("test_vocab_split");
}
