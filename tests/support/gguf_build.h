#ifndef PEERGRAPH_TESTS_GGUF_BUILD_H
#define PEERGRAPH_TESTS_GGUF_BUILD_H
/* Writes GGUF bytes by hand for tests: valid small files and files that lie.
 * Everything appends to a caller-owned pgr_sb (free with pgr_sb_free). */
#include <stdint.h>

#include "graph/util.h"

void gb_u8(pgr_sb *b, uint8_t v);
void gb_u32(pgr_sb *b, uint32_t v);
void gb_u64(pgr_sb *b, uint64_t v);
void gb_f32(pgr_sb *b, float v);
void gb_str(pgr_sb *b, const char *s); /* u64 length + bytes */
/* "GGUF", version, tensor count, kv count */
void gb_header(pgr_sb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv);
void gb_kv_u32(pgr_sb *b, const char *key, uint32_t v);
void gb_kv_f32(pgr_sb *b, const char *key, float v);
void gb_kv_bool(pgr_sb *b, const char *key, int v);
void gb_kv_str(pgr_sb *b, const char *key, const char *v);
/* array of strings / int32 */
void gb_kv_strs(pgr_sb *b, const char *key, const char *const *v, size_t n);
void gb_kv_i32s(pgr_sb *b, const char *key, const int32_t *v, size_t n);
/* tensor info: name, n_dims, ne[0..n_dims), type, offset */
void gb_tensor(pgr_sb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
               uint64_t offset);
/* zero bytes up to the next multiple of align */
void gb_pad(pgr_sb *b, size_t align);
void gb_zeros(pgr_sb *b, size_t n);

#endif
