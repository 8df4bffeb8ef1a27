/* libFuzzer target: the arXiv snapshot (JSON lines) parser. */
#include "tests/fuzz/fuzz_common_md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run("arxiv-snapshot", data, size);
}
