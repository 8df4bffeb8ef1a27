#ifndef PEERGRAPH_GGUF_H
#define PEERGRAPH_GGUF_H
/* GGUF model files (versions 2 and 3), read through mmap.
 *
 * gguf_open validates the whole file before returning it: every count, length
 * and offset is checked against the bytes that remain and against SIZE_MAX
 * before it is used, tensors must lie inside the data section, aligned to
 * general.alignment, without overlapping, with a byte size that is exactly
 * what their type and dims imply. A file that lies is refused with a message
 * naming the file, the byte offset and the key or tensor concerned.
 *
 * Ownership: a gguf_file owns the mapping and every pointer it hands out
 * (strings, arrays, tensor infos, tensor data). They stay valid until
 * gguf_close; callers never free them. A gguf_file is read-only after
 * gguf_open and may be shared between threads. */
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"

typedef struct gguf_file gguf_file;

/* Metadata value types, numbered as in the GGUF specification. */
enum gguf_vtype {
    GGUF_VT_UINT8 = 0,
    GGUF_VT_INT8 = 1,
    GGUF_VT_UINT16 = 2,
    GGUF_VT_INT16 = 3,
    GGUF_VT_UINT32 = 4,
    GGUF_VT_INT32 = 5,
    GGUF_VT_FLOAT32 = 6,
    GGUF_VT_BOOL = 7,
    GGUF_VT_STRING = 8,
    GGUF_VT_ARRAY = 9,
    GGUF_VT_UINT64 = 10,
    GGUF_VT_INT64 = 11,
    GGUF_VT_FLOAT64 = 12,
    GGUF_VT_COUNT
};
const char *gguf_vtype_name(enum gguf_vtype t); /* "uint32", ...; "?" if unknown */

/* Tensor element types, numbered as in ggml (the numbers are in the file).
 * Gaps are types ggml removed; they are refused as unknown. */
enum ggml_type {
    GGML_TYPE_F32 = 0,
    GGML_TYPE_F16 = 1,
    GGML_TYPE_Q4_0 = 2,
    GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6,
    GGML_TYPE_Q5_1 = 7,
    GGML_TYPE_Q8_0 = 8,
    GGML_TYPE_Q8_1 = 9,
    GGML_TYPE_Q2_K = 10,
    GGML_TYPE_Q3_K = 11,
    GGML_TYPE_Q4_K = 12,
    GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14,
    GGML_TYPE_Q8_K = 15,
    GGML_TYPE_I8 = 24,
    GGML_TYPE_I16 = 25,
    GGML_TYPE_I32 = 26,
    GGML_TYPE_I64 = 27,
    GGML_TYPE_F64 = 28,
    GGML_TYPE_BF16 = 30,
    GGML_TYPE_COUNT = 31 /* bound for tables indexed by type */
};

/* Storage layout of a tensor type: blck_size elements are stored in
 * type_size bytes (QK4_1: 32 elements in 20 bytes: fp16 d, fp16 m, 16 nibble
 * bytes). A row of ne[0] elements needs ne[0] % blck_size == 0. */
typedef struct ggml_type_info {
    const char *name; /* "q4_1" */
    uint32_t blck_size;
    uint32_t type_size;
} ggml_type_info;

/* NULL for a number that is not a known type. */
const ggml_type_info *ggml_type_get(uint32_t type);

/* Bytes of one row of ne0 elements; -1 (err set) if ne0 is not a multiple of
 * the block size or the product overflows. */
int ggml_row_bytes(enum ggml_type type, int64_t ne0, size_t *out, pgr_err *err);

/* ---- the file ------------------------------------------------------------- */

/* Opens and validates path. On success *out is a new gguf_file (free with
 * gguf_close). On failure returns -1 with err naming path and the place. */
int gguf_open(const char *path, gguf_file **out, pgr_err *err);

/* Same checks on a caller-owned buffer (tests, fuzzing). The buffer is
 * borrowed: it must outlive the returned file and stay unchanged. name is used
 * in error messages. */
int gguf_open_buffer(const void *data, size_t size, const char *name, gguf_file **out,
                     pgr_err *err);

void gguf_close(gguf_file *f); /* NULL is fine */

uint32_t gguf_version(const gguf_file *f);
size_t gguf_alignment(const gguf_file *f);
const char *gguf_path(const gguf_file *f);
size_t gguf_file_size(const gguf_file *f);

/* ---- metadata -------------------------------------------------------------
 * Strings in GGUF carry a length and may hold any bytes; every string this
 * API returns is also NUL-terminated (a copy owned by the file), so C string
 * functions work unless the value itself contains a NUL. */
typedef struct gguf_str {
    const char *s;
    size_t len;
} gguf_str;

size_t gguf_n_kv(const gguf_file *f);
/* Index of key or -1 when absent. Keys are unique (duplicates are refused). */
int64_t gguf_find_key(const gguf_file *f, const char *key);
const char *gguf_kv_key(const gguf_file *f, size_t i);
enum gguf_vtype gguf_kv_type(const gguf_file *f, size_t i);
/* For arrays: element type and length (GGUF_VT_COUNT and 0 for non-arrays). */
enum gguf_vtype gguf_kv_arr_type(const gguf_file *f, size_t i);
size_t gguf_kv_arr_len(const gguf_file *f, size_t i);
/* Array elements, naturally aligned: uint8_t/int8_t/.../float/double/uint8_t
 * (bool, 0 or 1) for numbers, gguf_str for strings; NULL for non-arrays.
 * Arrays of arrays are refused at load time (ggml refuses them too). */
const void *gguf_kv_arr_data(const gguf_file *f, size_t i);
/* The i-th pair exactly as stored (key length, key, type, value), validated
 * at load; borrowed from the file. For writers that copy metadata unchanged
 * (the format of every value is the same in GGUF v2 and v3). -1 if out of range. */
int gguf_kv_raw(const gguf_file *f, size_t i, const void **data, size_t *len);

/* Typed getters by key. Return 0 and set *out, or -1 with err->code
 * PGR_ENOTFOUND (key absent) or PGR_EINVAL (wrong type / out of range), the
 * message naming the file and the key. Integer getters accept any integer
 * type whose value fits; float getters accept float32 and float64. */
int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, pgr_err *err);
int gguf_get_i32(const gguf_file *f, const char *key, int32_t *out, pgr_err *err);
int gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out, pgr_err *err);
int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, pgr_err *err);
int gguf_get_f32(const gguf_file *f, const char *key, float *out, pgr_err *err);
int gguf_get_f64(const gguf_file *f, const char *key, double *out, pgr_err *err);
int gguf_get_bool(const gguf_file *f, const char *key, int *out, pgr_err *err);
int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, pgr_err *err);
/* Array of elem type (GGUF_VT_STRING gives const gguf_str *). */
int gguf_get_arr(const gguf_file *f, const char *key, enum gguf_vtype elem, const void **data,
                 size_t *n, pgr_err *err);

/* ---- tensors ---------------------------------------------------------------
 * ne[0] is the innermost (contiguous) dimension, as in ggml; unused dims are
 * 1. A 2-D weight of a linear layer y = W x with x of length K and y of
 * length N has ne = {K, N, 1, 1}: N rows of K elements. */
typedef struct gguf_tensor {
    const char *name;
    enum ggml_type type;
    uint32_t n_dims;   /* 1..4 */
    int64_t ne[4];     /* each >= 1 */
    uint64_t offset;   /* from the start of the data section */
    size_t nbytes;     /* exactly f(type, ne) */
    size_t row_bytes;  /* bytes of one row of ne[0] elements */
    const void *data;  /* inside the mapping, aligned to gguf_alignment */
} gguf_tensor;

size_t gguf_n_tensors(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, size_t i); /* NULL if out of range */
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name); /* NULL if absent */

#endif
