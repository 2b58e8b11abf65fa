/* fuzz_text.c - the text machinery under every reader (text.h): splitting a line in
 * each dialect, integers and numbers, UTF-8 validation, Latin-1 conversion and the text
 * shown in messages, on arbitrary bytes. The first byte picks the dialect. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/data/text.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const TextDialect dialects[] = {{',', 0, 1}, {'\t', 0, 0}, {'|', 0, 0},
                                           {':', 1, 0}, {';', 0, 1},  {' ', 0, 0}};
    const TextDialect *d = &dialects[data[0] % 6];
    const size_t len = size - 1;
    char *line = xmalloc(len + 1), *conv = xmalloc(2 * len + 1);
    memcpy(line, data + 1, len);
    line[len] = '\0';
    (void)text_find_invalid_utf8((const unsigned char *)line, len);
    (void)text_latin1_to_utf8(conv, line, len);
    TextShown shown = text_describe(line, len);
    (void)shown;
    TextFields fl = {0};
    if (!text_split(&fl, line, len, d))
        for (size_t i = 0; i < fl.n; i++) {
            int64_t v;
            double x;
            if (!text_parse_int64(fl.f[i].s, fl.f[i].len, &v) && fl.f[i].len)
                (void)text_is_canonical_int(fl.f[i].s, fl.f[i].len);
            (void)text_parse_number(fl.f[i].s, fl.f[i].len, &x);
            shown = text_show(fl.f[i].s, fl.f[i].len);
        }
    text_free_fields(&fl);
    free(conv);
    free(line);
    return 0;
}
