/* libFuzzer target: the DBLP XML parser (entity rewriting, DOCTYPE line, records). */
#include "tests/fuzz/fuzz_common_md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run("dblp", data, size);
}
