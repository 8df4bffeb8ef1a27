/* GGUF loader: the real model's metadata and tensors, then one hand-made
 * malformed file per way a file can lie, each refused with the right message. */
#include <stdint.h>
#include <string.h>

#include "inference/gguf.h"
#include "tests/check.h"
#include "tests/support/gguf_build.h"

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

/* ---- hand-made files ------------------------------------------------------ */

enum { VT_U64 = 10, VT_ARRAY = 9, T_F32 = 0, T_Q4_1 = 3 };

/* A valid file: 3 keys, tensors "a" f32[8] at 0 and "b" q4_1[32x2] at 32. */
static void valid_kvs(pgr_sb *b)
{
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_u32(b, "general.alignment", 32);
    gb_kv_f32(b, "llama.rope.freq_base", 10000.0f);
}

static void valid_tensors(pgr_sb *b)
{
    uint64_t ne_a[1] = {8}, ne_b[2] = {32, 2};
    gb_tensor(b, "a", 1, ne_a, T_F32, 0);
    gb_tensor(b, "b", 2, ne_b, T_Q4_1, 32);
}

static void valid_data(pgr_sb *b)
{
    gb_pad(b, 32);
    for (int i = 0; i < 8; i++)
        gb_f32(b, (float)i);
    gb_zeros(b, 40);
}

static void valid_file(pgr_sb *b, uint32_t version)
{
    gb_header(b, version, 2, 3);
    valid_kvs(b);
    valid_tensors(b);
    valid_data(b);
}

/* Opens the bytes and returns the error message ("" if it loaded). */
static const char *try_open(const pgr_sb *b, pgr_err *err)
{
    gguf_file *f = NULL;
    pgr_err_clear(err);
    if (gguf_open_buffer(b->data, b->len, "t.gguf", &f, err) == 0) {
        gguf_close(f);
        return "";
    }
    return err->msg;
}

static void test_valid_handmade(void)
{
    for (uint32_t v = 2; v <= 3; v++) {
        pgr_sb b = {0};
        valid_file(&b, v);
        gguf_file *f = NULL;
        pgr_err err = {0};
        int rc = gguf_open_buffer(b.data, b.len, "t.gguf", &f, &err);
        CHECK_MSG(rc == 0, "version %u: %s", v, err.msg);
        CHECK_INT(gguf_version(f), v);
        CHECK_INT(gguf_n_tensors(f), 2);
        const gguf_tensor *t = gguf_find_tensor(f, "a");
        CHECK(t && t->nbytes == 32 && ((const float *)t->data)[7] == 7.0f);
        t = gguf_find_tensor(f, "b");
        CHECK(t && t->nbytes == 40 && t->row_bytes == 20 && t->ne[1] == 2);
        float x;
        CHECK(gguf_get_f32(f, "llama.rope.freq_base", &x, &err) == 0 && x == 10000.0f);
        gguf_close(f);
        pgr_sb_free(&b);
    }
}

/* One builder per lie. Each returns the bytes in b. */
typedef struct lie {
    const char *name;
    void (*build)(pgr_sb *b);
    const char *expect;  /* substring of the error message */
    const char *expect2; /* a second one (place: offset, key or tensor name) */
} lie;

static void l_magic(pgr_sb *b)
{
    valid_file(b, 3);
    b->data[3] = 'X';
}
static void l_version1(pgr_sb *b) { valid_file(b, 1); }
static void l_version4(pgr_sb *b) { valid_file(b, 4); }
static void l_empty(pgr_sb *b) { (void)b; }
static void l_trunc_header(pgr_sb *b)
{
    valid_file(b, 3);
    b->len = 14;
}
static void l_huge_tensors(pgr_sb *b)
{
    gb_header(b, 3, UINT64_C(1) << 62, 0);
    gb_zeros(b, 64);
}
static void l_huge_kvs(pgr_sb *b)
{
    gb_header(b, 3, 0, UINT64_MAX);
    gb_zeros(b, 64);
}
static void l_key_past_eof(pgr_sb *b)
{
    gb_header(b, 3, 0, 1);
    gb_u64(b, UINT64_MAX); /* key length */
    gb_zeros(b, 16);
}
static void l_string_past_eof(pgr_sb *b)
{
    gb_header(b, 3, 0, 1);
    gb_str(b, "general.name");
    gb_u32(b, 8);
    gb_u64(b, 1000); /* string length, 4 bytes follow */
    gb_u32(b, 0);
}
static void l_array_overflow(pgr_sb *b)
{
    gb_header(b, 3, 0, 1);
    gb_str(b, "x.arr");
    gb_u32(b, VT_ARRAY);
    gb_u32(b, VT_U64);
    gb_u64(b, (UINT64_C(1) << 61) + 1); /* x 8 bytes wraps to 8 */
    gb_zeros(b, 16);
}
static void l_string_array_huge(pgr_sb *b)
{
    gb_header(b, 3, 0, 1);
    gb_str(b, "tokenizer.ggml.tokens");
    gb_u32(b, VT_ARRAY);
    gb_u32(b, 8);
    gb_u64(b, UINT64_C(1) << 40);
    gb_zeros(b, 64);
}
static void l_unknown_vtype(pgr_sb *b)
{
    gb_header(b, 3, 0, 1);
    gb_str(b, "x.y");
    gb_u32(b, 13);
    gb_zeros(b, 8);
}
static void l_nested_array(pgr_sb *b)
{
    gb_header(b, 3, 0, 1);
    gb_str(b, "x.nested");
    gb_u32(b, VT_ARRAY);
    gb_u32(b, VT_ARRAY);
    gb_u64(b, 1);
    gb_zeros(b, 16);
}
static void l_bad_bool(pgr_sb *b)
{
    gb_header(b, 3, 0, 1);
    gb_kv_bool(b, "x.flag", 2);
}
static void l_dup_key(pgr_sb *b)
{
    gb_header(b, 3, 0, 2);
    gb_kv_u32(b, "llama.block_count", 30);
    gb_kv_u32(b, "llama.block_count", 31);
}
static void l_bad_alignment(pgr_sb *b)
{
    gb_header(b, 3, 0, 1);
    gb_kv_u32(b, "general.alignment", 48);
}
static void l_alignment_type(pgr_sb *b)
{
    gb_header(b, 3, 0, 1);
    gb_kv_str(b, "general.alignment", "32");
}
static void l_empty_key(pgr_sb *b)
{
    gb_header(b, 3, 0, 1);
    gb_kv_u32(b, "", 1);
}
/* one tensor "t" after the valid keys, with the given fields, then data */
static void one_tensor(pgr_sb *b, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type,
                       uint64_t off, size_t data)
{
    gb_header(b, 3, 1, 3);
    valid_kvs(b);
    gb_tensor(b, name, nd, ne, type, off);
    gb_pad(b, 32);
    gb_zeros(b, data);
}
static void l_offset_past_eof(pgr_sb *b)
{
    uint64_t ne[1] = {8};
    one_tensor(b, "t", 1, ne, T_F32, 1024, 32);
}
static void l_size_past_eof(pgr_sb *b)
{
    uint64_t ne[1] = {16};
    one_tensor(b, "t", 1, ne, T_F32, 0, 32); /* 64 bytes, 32 present */
}
static void l_offset_wraps(pgr_sb *b)
{
    uint64_t ne[1] = {8};
    one_tensor(b, "t", 1, ne, T_F32, UINT64_MAX - 31, 32);
}
static void l_misaligned(pgr_sb *b)
{
    uint64_t ne[1] = {4};
    one_tensor(b, "t", 1, ne, T_F32, 4, 64);
}
static void l_overlap(pgr_sb *b)
{
    uint64_t ne[1] = {16};
    gb_header(b, 3, 2, 3);
    valid_kvs(b);
    gb_tensor(b, "first", 1, ne, T_F32, 0);   /* [0, 64) */
    gb_tensor(b, "second", 1, ne, T_F32, 32); /* [32, 96) */
    gb_pad(b, 32);
    gb_zeros(b, 128);
}
static void l_dims_overflow(pgr_sb *b)
{
    uint64_t ne[4] = {UINT64_C(1) << 32, UINT64_C(1) << 32, 4, 1};
    one_tensor(b, "t", 4, ne, T_F32, 0, 32);
}
static void l_bytes_overflow(pgr_sb *b)
{
    uint64_t ne[2] = {UINT64_C(1) << 31, UINT64_C(1) << 31}; /* 2^62 elements x 4 bytes */
    one_tensor(b, "t", 2, ne, T_F32, 0, 32);
}
static void l_negative_dim(pgr_sb *b)
{
    uint64_t ne[1] = {UINT64_C(1) << 63};
    one_tensor(b, "t", 1, ne, T_F32, 0, 32);
}
static void l_zero_dim(pgr_sb *b)
{
    uint64_t ne[2] = {8, 0};
    one_tensor(b, "t", 2, ne, T_F32, 0, 32);
}
static void l_n_dims_5(pgr_sb *b)
{
    uint64_t ne[5] = {1, 1, 1, 1, 1};
    one_tensor(b, "t", 5, ne, T_F32, 0, 32);
}
static void l_n_dims_0(pgr_sb *b) { one_tensor(b, "t", 0, NULL, T_F32, 0, 32); }
static void l_unknown_type(pgr_sb *b)
{
    uint64_t ne[1] = {32};
    one_tensor(b, "t", 1, ne, 4 /* removed Q4_2 */, 0, 64);
}
static void l_type_too_big(pgr_sb *b)
{
    uint64_t ne[1] = {32};
    one_tensor(b, "t", 1, ne, 1000, 0, 64);
}
static void l_partial_block(pgr_sb *b)
{
    uint64_t ne[1] = {48};
    one_tensor(b, "t", 1, ne, T_Q4_1, 0, 64);
}
static void l_dup_tensor(pgr_sb *b)
{
    uint64_t ne[1] = {8};
    gb_header(b, 3, 2, 3);
    valid_kvs(b);
    gb_tensor(b, "w", 1, ne, T_F32, 0);
    gb_tensor(b, "w", 1, ne, T_F32, 32);
    gb_pad(b, 32);
    gb_zeros(b, 64);
}
static void l_empty_name(pgr_sb *b)
{
    uint64_t ne[1] = {8};
    one_tensor(b, "", 1, ne, T_F32, 0, 32);
}
static void l_long_name(pgr_sb *b)
{
    uint64_t ne[1] = {8};
    one_tensor(b, "blk.0.a_tensor_name_that_is_much_longer_than_ggml_allows_it_to_be.weight", 1, ne,
               T_F32, 0, 32);
}
static void l_trunc_tensor_info(pgr_sb *b)
{
    gb_header(b, 3, 1, 0);
    gb_str(b, "truncated.tensor.name");
    gb_u32(b, 2);
    gb_u64(b, 8); /* the second dimension is missing */
}
static void l_no_data_section(pgr_sb *b)
{
    uint64_t ne[1] = {8};
    gb_header(b, 3, 1, 0);
    gb_tensor(b, "t", 1, ne, T_F32, 0); /* file ends here */
}

static const lie lies[] = {
    {"bad magic", l_magic, "bad magic", "offset 0"},
    {"version 1", l_version1, "GGUF version 1 is not supported", "offset 4"},
    {"version 4", l_version4, "GGUF version 4 is not supported", "offset 4"},
    {"empty buffer", l_empty, "file ends inside magic", "offset 0"},
    {"truncated header", l_trunc_header, "file ends inside tensor count", "offset 8"},
    {"huge tensor count", l_huge_tensors, "tensor count 4611686018427387904 cannot fit", "offset 8"},
    {"huge metadata count", l_huge_kvs, "metadata count 18446744073709551615 cannot fit",
     "offset 16"},
    {"key length past EOF", l_key_past_eof, "key length 18446744073709551615 runs past end of file",
     "offset 24"},
    {"string past EOF", l_string_past_eof, "string length 1000 runs past end of file",
     "key 'general.name'"},
    {"array count overflow", l_array_overflow, "array of 2305843009213693953 uint64 values",
     "key 'x.arr'"},
    {"string array too long", l_string_array_huge, "array of 1099511627776 strings cannot fit",
     "key 'tokenizer.ggml.tokens'"},
    {"unknown value type", l_unknown_vtype, "unknown value type 13", "key 'x.y'"},
    {"nested array", l_nested_array, "arrays of arrays are not supported", "key 'x.nested'"},
    {"bool not 0/1", l_bad_bool, "bool value is 2", "key 'x.flag'"},
    {"duplicate key", l_dup_key, "duplicate key 'llama.block_count'", "offset "},
    {"alignment not power of two", l_bad_alignment, "must be a uint32 power of two", "got uint32 48"},
    {"alignment wrong type", l_alignment_type, "must be a uint32 power of two", "got string"},
    {"empty key", l_empty_key, "is empty", "offset 24"},
    {"tensor offset past EOF", l_offset_past_eof, "runs past the end of the data section",
     "tensor 't'"},
    {"tensor size past EOF", l_size_past_eof, "data [0, +64) runs past the end", "tensor 't'"},
    {"tensor offset wraps", l_offset_wraps, "runs past the end of the data section", "tensor 't'"},
    {"misaligned offset", l_misaligned, "data offset 4 is not a multiple of the alignment 32",
     "tensor 't'"},
    {"overlapping tensors", l_overlap, "overlaps tensor 'first'", "tensor 'second'"},
    {"dims overflow", l_dims_overflow, "overflow the element count", "tensor 't'"},
    {"byte size overflow", l_bytes_overflow, "overflows size_t", "tensor 't'"},
    {"negative dim", l_negative_dim, "negative as int64", "tensor 't'"},
    {"zero dim", l_zero_dim, "dimension 1 is zero", "tensor 't'"},
    {"n_dims > 4", l_n_dims_5, "n_dims is 5", "tensor 't'"},
    {"n_dims 0", l_n_dims_0, "n_dims is 0", "tensor 't'"},
    {"unknown tensor type", l_unknown_type, "unknown tensor type 4", "tensor 't'"},
    {"tensor type out of table", l_type_too_big, "unknown tensor type 1000", "tensor 't'"},
    {"partial block row", l_partial_block, "not a multiple of the q4_1 block size 32", "tensor 't'"},
    {"duplicate tensor", l_dup_tensor, "duplicate tensor name 'w'", "offset "},
    {"empty tensor name", l_empty_name, "empty tensor name", "tensor ''"},
    {"tensor name too long", l_long_name, "at most 63", "offset "},
    {"truncated tensor info", l_trunc_tensor_info, "file ends inside dimension",
     "offset 65: tensor 'truncated.tensor.name'"},
    {"no data section", l_no_data_section, "file ends before the data section", "offset "},
};

static void test_malformed_files(void)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
        pgr_sb b = {0};
        lies[i].build(&b);
        pgr_err err;
        const char *msg = try_open(&b, &err);
        int ok = msg[0] && strstr(msg, lies[i].expect) && strstr(msg, lies[i].expect2) &&
                 strstr(msg, "t.gguf: ") == msg && err.code != PGR_OK;
        if (!ok) {
            fprintf(stderr, "    lie '%s': got \"%s\", want \"%s\" and \"%s\"\n", lies[i].name,
                    msg[0] ? msg : "(loaded)", lies[i].expect, lies[i].expect2);
            bad++;
        }
        pgr_sb_free(&b);
    }
    CHECK_INT(bad, 0);
}

/* Every prefix of a valid file is refused (never crashes, never loads). */
static void test_every_truncation(void)
{
    pgr_sb b = {0};
    valid_file(&b, 3);
    size_t refused = 0;
    for (size_t n = 0; n < b.len; n++) {
        /* a copy of exactly n bytes so ASan sees any read past the end */
        char *copy = malloc(n ? n : 1);
        CHECK(copy);
        memcpy(copy, b.data, n);
        gguf_file *f = NULL;
        pgr_err err;
        if (gguf_open_buffer(copy, n, "t.gguf", &f, &err) < 0)
            refused++;
        gguf_close(f);
        free(copy);
    }
    CHECK_INT(refused, b.len);
    pgr_sb_free(&b);
}

static void test_getter_ranges(void)
{
    pgr_sb b = {0};
    gb_header(&b, 3, 0, 3);
    gb_str(&b, "neg");
    gb_u32(&b, 5); /* int32 */
    gb_u32(&b, (uint32_t)-5);
    gb_str(&b, "big");
    gb_u32(&b, VT_U64);
    gb_u64(&b, UINT64_C(1) << 40);
    gb_kv_bool(&b, "flag", 1);
    gguf_file *f = NULL;
    pgr_err err = {0};
    CHECK_MSG(gguf_open_buffer(b.data, b.len, "r.gguf", &f, &err) == 0, "%s", err.msg);
    uint32_t u;
    int32_t i;
    int64_t l;
    uint64_t ul;
    CHECK(gguf_get_i32(f, "neg", &i, &err) == 0 && i == -5);
    CHECK(gguf_get_i64(f, "neg", &l, &err) == 0 && l == -5);
    CHECK(gguf_get_u32(f, "neg", &u, &err) < 0 && strstr(err.msg, "out of range"));
    CHECK(gguf_get_u32(f, "big", &u, &err) < 0 && strstr(err.msg, "'big'"));
    CHECK(gguf_get_u64(f, "big", &ul, &err) == 0 && ul == (UINT64_C(1) << 40));
    CHECK(gguf_get_i32(f, "flag", &i, &err) < 0 && strstr(err.msg, "is bool"));
    int fl;
    CHECK(gguf_get_bool(f, "flag", &fl, &err) == 0 && fl == 1);
    gguf_close(f);
    pgr_sb_free(&b);
}

static void test_open_errors(void)
{
    gguf_file *f = NULL;
    pgr_err err;
    CHECK(gguf_open("/nonexistent/x.gguf", &f, &err) < 0 && err.code == PGR_EIO);
    CHECK(strstr(err.msg, "/nonexistent/x.gguf"));
    CHECK(gguf_open("tests", &f, &err) < 0 && strstr(err.msg, "not a regular file"));
    CHECK(f == NULL);
}

int main(void)
{
    RUN(test_model_metadata);
    RUN(test_model_tensors);
    RUN(test_valid_handmade);
    RUN(test_malformed_files);
    RUN(test_every_truncation);
    RUN(test_getter_ranges);
    RUN(test_open_errors);
    return check_summary("test_gguf");
}
