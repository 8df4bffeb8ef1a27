/* libFuzzer target: the BibTeX parser (entries, @string macros, LaTeX, names, crossref). */
#include "tests/fuzz/fuzz_common_md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run("bibtex", data, size);
}
