/* replay.c - a fuzz target as a plain program: runs LLVMFuzzerTestOneInput on each file
 * named on the command line, so that the inputs fuzzing found (fuzz/regress/) are
 * replayed by make check (tests/e2e/fuzz-regress.sh) without clang or libFuzzer. */
#include "config.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t cap = 4096;
    uint8_t *buf = malloc(cap);
    *n = 0;
    for (size_t got; buf && (got = fread(buf + *n, 1, cap - *n, f)) > 0;)
        if ((*n += got) == cap)
            buf = realloc(buf, cap *= 2);
    fclose(f);
    if (!buf)
        exit(1);
    return buf;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        size_t n;
        uint8_t *data = read_all(argv[i], &n);
        printf("%s: %zu bytes\n", argv[i], n);
        fflush(stdout);
        LLVMFuzzerTestOneInput(data, n);
        free(data);
    }
    int fin = 0;
    MPI_Finalized(&fin);
    int init = 0;
    MPI_Initialized(&init);
    if (init && !fin)
        MPI_Finalize();
    return 0;
}
