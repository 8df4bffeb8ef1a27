/* libFuzzer target: the Semantic Scholar parser (objects, pages, batches, wrappers). */
#include "tests/fuzz/fuzz_common_md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run("s2", data, size);
}
