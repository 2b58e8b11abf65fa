/* fullfs.c - an LD_PRELOAD shim that makes a disk fill up, for tests/e2e/disk-full.sh.
 *
 * Writes to files whose path contains COLLAB_FULL_MATCH (default ".tmp", the name under
 * which checkpoints are written) succeed until this process has written
 * COLLAB_FULL_AFTER bytes to such files; from then on they fail with ENOSPC, as on a
 * full file system. Every other file is untouched. The shim sits under HDF5 and MPI-IO,
 * so the failure travels the same path a real full disk does. Needs no privileges,
 * unlike a small tmpfs mount. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long written = 0; /* bytes written to matching files by this process */

/* 1 when a write of n bytes to fd must fail: fd's file matches and the budget is spent. */
static int full(int fd, size_t n)
{
    const char *after = getenv("COLLAB_FULL_AFTER"), *match = getenv("COLLAB_FULL_MATCH");
    char link[64], path[4096];
    if (!after)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, path, sizeof path - 1);
    if (len <= 0)
        return 0;
    path[len] = '\0';
    if (!strstr(path, match ? match : ".tmp"))
        return 0;
    if (written + (long long)n > atoll(after)) {
        errno = ENOSPC;
        return 1;
    }
    written += (long long)n;
    return 0;
}

static size_t iov_bytes(const struct iovec *iov, int cnt)
{
    size_t n = 0;
    for (int i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    return n;
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

ssize_t write(int fd, const void *buf, size_t n)
{
    if (full(fd, n))
        return -1;
    return REAL("write", ssize_t(*)(int, const void *, size_t))(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (full(fd, n))
        return -1;
    return REAL("pwrite", ssize_t(*)(int, const void *, size_t, off_t))(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    if (full(fd, n))
        return -1;
    return REAL("pwrite64", ssize_t(*)(int, const void *, size_t, off_t))(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    if (full(fd, iov_bytes(iov, cnt)))
        return -1;
    return REAL("writev", ssize_t(*)(int, const struct iovec *, int))(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    if (full(fd, iov_bytes(iov, cnt)))
        return -1;
    return REAL("pwritev", ssize_t(*)(int, const struct iovec *, int, off_t))(fd, iov, cnt, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    if (full(fd, iov_bytes(iov, cnt)))
        return -1;
    return REAL("pwritev64", ssize_t(*)(int, const struct iovec *, int, off_t))(fd, iov, cnt, off);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    if (full(fd, 0)) /* reserving space fails once the budget is spent */
        return -1;
    return REAL("fallocate", int (*)(int, int, off_t, off_t))(fd, mode, off, len);
}
