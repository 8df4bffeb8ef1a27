/* libFuzzer target: the arXiv XML parsers (OAI-PMH and Atom) on the same input. */
#include "tests/fuzz/fuzz_common_md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_run("arxiv-oai", data, size);
    return fz_run("arxiv-atom", data, size);
}
