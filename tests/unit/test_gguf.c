/* GGUF loader: the real model's metadata and tensors, then one hand-made
 * malformed file per way a file can lie, each refused with the right message. */
#include <stdint.h>
#include <string.h>

#include "inference/gguf.h"
#include "tests/check.h"

#define MODEL_PATH "models/smollm2-135m-instruct-q4_1.gguf"

static gguf_file *open_model(void)
{
    pgr_err err = {0};
    gguf_file *f = NULL;
    if (gguf_open(MODEL_PATH, &f, &err) < 0) {
        fprintf(stderr, "    %s\n", err.msg);
        return NULL;
    }
    return f;
}

static void test_model_metadata(void)
{
    gguf_file *f = open_model();
    CHECK_MSG(f, "model did not load (make model fetches it)");
    pgr_err err = {0};
    gguf_str s;
    uint32_t u;
    float x;
    int b;
    CHECK_INT(gguf_version(f), 3);
    CHECK_INT(gguf_alignment(f), 32);
    CHECK(gguf_get_str(f, "general.architecture", &s, &err) == 0);
    CHECK_STR(s.s, "llama");
    CHECK(gguf_get_str(f, "tokenizer.ggml.pre", &s, &err) == 0);
    CHECK_STR(s.s, "smollm");
    CHECK(gguf_get_str(f, "tokenizer.ggml.model", &s, &err) == 0);
    CHECK_STR(s.s, "gpt2");
    CHECK(gguf_get_u32(f, "llama.block_count", &u, &err) == 0);
    CHECK_INT(u, 30);
    CHECK(gguf_get_u32(f, "llama.context_length", &u, &err) == 0);
    CHECK_INT(u, 8192);
    CHECK(gguf_get_u32(f, "llama.embedding_length", &u, &err) == 0);
    CHECK_INT(u, 576);
    CHECK(gguf_get_u32(f, "llama.feed_forward_length", &u, &err) == 0);
    CHECK_INT(u, 1536);
    CHECK(gguf_get_u32(f, "llama.attention.head_count", &u, &err) == 0);
    CHECK_INT(u, 9);
    CHECK(gguf_get_u32(f, "llama.attention.head_count_kv", &u, &err) == 0);
    CHECK_INT(u, 3);
    CHECK(gguf_get_u32(f, "llama.vocab_size", &u, &err) == 0);
    CHECK_INT(u, 49152);
    CHECK(gguf_get_f32(f, "llama.rope.freq_base", &x, &err) == 0);
    CHECK_NEAR(x, 100000.0, 0);
    CHECK(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &x, &err) == 0);
    CHECK_NEAR(x, 1e-5, 1e-12);
    CHECK(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b, &err) == 0);
    CHECK_INT(b, 0);

    const void *arr;
    size_t n;
    CHECK(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_VT_STRING, &arr, &n, &err) == 0);
    CHECK_INT(n, 49152);
    const gguf_str *toks = arr;
    CHECK_STR(toks[0].s, "<|endoftext|>");
    CHECK_STR(toks[1].s, "<|im_start|>");
    CHECK_STR(toks[2].s, "<|im_end|>");
    CHECK(gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_VT_INT32, &arr, &n, &err) == 0);
    CHECK_INT(n, 49152);
    CHECK_INT(((const int32_t *)arr)[0], 3); /* control */
    CHECK(gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_VT_STRING, &arr, &n, &err) == 0);
    CHECK_INT(n, 48900);

    /* typed getters refuse the wrong type and name the key */
    CHECK(gguf_get_str(f, "llama.block_count", &s, &err) < 0);
    CHECK_INT(err.code, PGR_EINVAL);
    CHECK(strstr(err.msg, "llama.block_count") && strstr(err.msg, "uint32"));
    CHECK(gguf_get_u32(f, "no.such.key", &u, &err) < 0);
    CHECK_INT(err.code, PGR_ENOTFOUND);
    CHECK(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_VT_INT32, &arr, &n, &err) < 0);
    CHECK(strstr(err.msg, "array of string"));
    CHECK(gguf_find_key(f, "general.architecture") >= 0);
    CHECK(gguf_find_key(f, "general.architectur") < 0);
    gguf_close(f);
}

static void test_model_tensors(void)
{
    gguf_file *f = open_model();
    CHECK_MSG(f, "model did not load");
    CHECK_INT(gguf_n_tensors(f), 272); /* 30 blocks x 9 + token_embd + output_norm */
    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    CHECK(t);
    CHECK_INT(t->type, GGML_TYPE_Q8_0);
    CHECK_INT(t->n_dims, 2);
    CHECK_INT(t->ne[0], 576);
    CHECK_INT(t->ne[1], 49152);
    CHECK_INT(t->nbytes, 576 / 32 * 34 * 49152);
    CHECK_INT(t->row_bytes, 576 / 32 * 34);
    t = gguf_find_tensor(f, "blk.29.ffn_down.weight");
    CHECK(t);
    CHECK_INT(t->type, GGML_TYPE_Q4_1);
    CHECK_INT(t->ne[0], 1536);
    CHECK_INT(t->ne[1], 576);
    CHECK_INT(t->nbytes, 1536 / 32 * 20 * 576);
    t = gguf_find_tensor(f, "output_norm.weight");
    CHECK(t);
    CHECK_INT(t->type, GGML_TYPE_F32);
    CHECK_INT(t->n_dims, 1);
    CHECK(gguf_find_tensor(f, "output.weight") == NULL); /* tied embeddings */
    /* every tensor's data is aligned and inside the file; RMSNorm weights are
     * ordinary floats (a wrong data offset would show as garbage) */
    for (size_t i = 0; i < gguf_n_tensors(f); i++) {
        t = gguf_tensor_at(f, i);
        CHECK(((uintptr_t)t->data % 32) == 0);
        CHECK((const uint8_t *)t->data + t->nbytes <=
              (const uint8_t *)gguf_tensor_at(f, 0)->data + gguf_file_size(f));
    }
    t = gguf_find_tensor(f, "blk.0.attn_norm.weight");
    const float *w = t->data;
    for (int i = 0; i < 576; i++)
        CHECK_MSG(w[i] == w[i] && w[i] > -100 && w[i] < 100, "attn_norm[%d] = %g", i, w[i]);
    gguf_close(f);
}

int main(void)
{
    RUN(test_model_metadata);
    RUN(test_model_tensors);
    return check_summary("test_gguf");
}
