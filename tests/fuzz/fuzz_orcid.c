/* libFuzzer target: the ORCID parser (record, person, activities, works; XML and JSON; errors). */
#include "tests/fuzz/fuzz_common_md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run("orcid", data, size);
}
