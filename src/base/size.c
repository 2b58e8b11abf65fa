/* size.c - byte sizes as people write them and as messages show them: the one parser of
 * K/M/G/T suffixes (options and test hooks) and the one formatter of memory messages. */
#include "config.h"

#include "collab/base/size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int size_parse(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || !isdigit((unsigned char)s[0]))
        return -1;
    static const char units[] = "KMGT"; /* powers of 1024 */
    const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    const int shift = u ? 10 * (int)(u - units + 1) : 0;
    end += shift ? 1 : 0;
    if (toupper((unsigned char)*end) == 'B')
        end++;
    if (*end || v == 0 || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

SizeText size_text(uint64_t bytes)
{
    SizeText t;
    const double kib = (double)bytes / 1024.0;
    if (kib < 1024.0)
        snprintf(t.s, sizeof t.s, "%.0f KiB", kib);
    else if (kib < 1024.0 * 1024.0)
        snprintf(t.s, sizeof t.s, "%.1f MiB", kib / 1024.0);
    else
        snprintf(t.s, sizeof t.s, "%.2f GiB", kib / (1024.0 * 1024.0));
    return t;
}
