/* libFuzzer target: gzip inflation with a small cap (bombs, truncation,
 * corrupt members), then format detection on whatever came out. */
#include <stdint.h>
#include <stdlib.h>

#include "indexer/inflate.h"
#include "indexer/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL;
    size_t n = 0;
    pgr_err err;
    if (ix_gunzip((const char *)data, size, 1u << 20, &out, &n, &err) == 0) {
        (void)ix_format_detect(out, n);
        free(out);
    }
    return 0;
}
