/* libFuzzer target: the "metrics-card" profile-page parser (indexer/seed_*.c). */
#include "tests/fuzz/fuzz_seed_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_seed_run("metrics-card", data, size);
}
