/* libFuzzer target: the GGUF loader on arbitrary bytes, then everything a
 * loaded file hands out is touched (so ASan sees any pointer outside the
 * buffer), and when the file carries a tokenizer, it is loaded and used. */
#include <stdint.h>
#include <string.h>

#include "inference/gguf.h"
#include "inference/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f = NULL;
    pgr_err err;
    if (gguf_open_buffer(data, size, "fuzz.gguf", &f, &err) < 0)
        return 0;
    volatile unsigned sink = 0;
    for (size_t i = 0; i < gguf_n_kv(f); i++) {
        const char *key = gguf_kv_key(f, i);
        sink += (unsigned)strlen(key);
        if (gguf_kv_type(f, i) == GGUF_VT_STRING) {
            gguf_str s;
            if (gguf_get_str(f, key, &s, &err) == 0 && s.len)
                sink += (unsigned char)s.s[s.len - 1];
        }
        size_t n = gguf_kv_arr_len(f, i);
        const void *arr = gguf_kv_arr_data(f, i);
        if (arr && n) {
            if (gguf_kv_arr_type(f, i) == GGUF_VT_STRING) {
                const gguf_str *v = arr;
                for (size_t k = 0; k < n; k++)
                    sink += v[k].len ? (unsigned char)v[k].s[v[k].len - 1] : 0;
            } else {
                sink += ((const unsigned char *)arr)[0];
            }
        }
    }
    for (size_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        const unsigned char *p = t->data;
        sink += p[0] + p[t->nbytes - 1];
        if (gguf_find_tensor(f, t->name) == NULL)
            __builtin_trap();
    }
    pgr_tokenizer *tok = NULL;
    if (pgr_tok_load(f, &tok, &err) == 0) {
        static const char text[] = "Hello <|im_end|> wörld 123 \xff\xfe 日本 ";
        pgr_tokvec v = {0};
        if (pgr_tok_encode(tok, text, sizeof text - 1, PGR_TOK_PARSE_SPECIAL, &v, &err) == 0) {
            pgr_sb sb = {0};
            pgr_tok_decode(tok, v.v, v.n, 1, &sb);
            pgr_sb_free(&sb);
        }
        pgr_tokvec_free(&v);
        pgr_tok_free(tok);
    }
    gguf_close(f);
    (void)sink;
    return 0;
}
