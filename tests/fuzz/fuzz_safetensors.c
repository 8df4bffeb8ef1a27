/* libFuzzer target: the safetensors container parser and the adapter-file
 * parser on arbitrary bytes. Every tensor a parsed file hands out is touched
 * end to end (so ASan sees any pointer outside the buffer). The adapter
 * parser validates against a tiny random model (2 layers, dim 64) made once. */
#include <stdint.h>
#include <string.h>

#include "inference/adapter.h"

static pgr_model *tiny;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgr_err err;
    pgr_st_file st;
    volatile unsigned sink = 0;
    if (!tiny) {
        pgr_model_cfg c = {2, 64, 4, 2, 16, 128, 300, 256, 10000.0f, 1e-5f};
        if (pgr_model_new_random(&c, PGR_KT_F32, 1, &tiny, &err) != 0)
            return 0;
    }
    if (pgr_st_parse(data, size, "fuzz.safetensors", &st, &err) == 0) {
        for (size_t i = 0; i < st.n_tensors; i++) {
            const pgr_st_tensor *t = &st.tensors[i];
            sink += (unsigned)strlen(t->name);
            if (t->nbytes)
                sink += t->data[0] + t->data[t->nbytes - 1];
        }
        if (st.metadata_json)
            sink += (unsigned)strlen(st.metadata_json);
        pgr_st_free(&st);
    }
    pgr_adapter *a = NULL;
    if (pgr_adapter_parse(data, size, "fuzz.pgad", tiny, NULL, &a, &err) == 0) {
        sink += (unsigned)a->bytes;
        pgr_adapter_free(a);
    }
    (void)sink;
    return 0;
}
