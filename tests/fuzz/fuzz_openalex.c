/* libFuzzer target: the OpenAlex parser (entities, list pages, JSON lines). */
#include "tests/fuzz/fuzz_common_md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run("openalex", data, size);
}
