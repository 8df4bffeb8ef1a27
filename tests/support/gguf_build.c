#include "tests/support/gguf_build.h"

#include <string.h>

void gb_u8(pgr_sb *b, uint8_t v) { pgr_sb_append(b, (const char *)&v, 1); }
void gb_u32(pgr_sb *b, uint32_t v) { pgr_sb_append(b, (const char *)&v, 4); }
void gb_u64(pgr_sb *b, uint64_t v) { pgr_sb_append(b, (const char *)&v, 8); }
void gb_f32(pgr_sb *b, float v) { pgr_sb_append(b, (const char *)&v, 4); }

void gb_str(pgr_sb *b, const char *s)
{
    gb_u64(b, strlen(s));
    pgr_sb_append(b, s, strlen(s));
}

void gb_header(pgr_sb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    pgr_sb_append(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}

void gb_kv_u32(pgr_sb *b, const char *key, uint32_t v)
{
    gb_str(b, key);
    gb_u32(b, 4); /* GGUF_VT_UINT32 */
    gb_u32(b, v);
}

void gb_kv_f32(pgr_sb *b, const char *key, float v)
{
    gb_str(b, key);
    gb_u32(b, 6);
    gb_f32(b, v);
}

void gb_kv_bool(pgr_sb *b, const char *key, int v)
{
    gb_str(b, key);
    gb_u32(b, 7);
    gb_u8(b, (uint8_t)v);
}

void gb_kv_str(pgr_sb *b, const char *key, const char *v)
{
    gb_str(b, key);
    gb_u32(b, 8);
    gb_str(b, v);
}

void gb_kv_strs(pgr_sb *b, const char *key, const char *const *v, size_t n)
{
    gb_str(b, key);
    gb_u32(b, 9);
    gb_u32(b, 8);
    gb_u64(b, n);
    for (size_t i = 0; i < n; i++)
        gb_str(b, v[i]);
}

void gb_kv_i32s(pgr_sb *b, const char *key, const int32_t *v, size_t n)
{
    gb_str(b, key);
    gb_u32(b, 9);
    gb_u32(b, 5);
    gb_u64(b, n);
    pgr_sb_append(b, (const char *)v, n * sizeof *v);
}

void gb_tensor(pgr_sb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
               uint64_t offset)
{
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        gb_u64(b, ne[i]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

void gb_pad(pgr_sb *b, size_t align)
{
    while (b->len % align)
        gb_u8(b, 0);
}

void gb_zeros(pgr_sb *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gb_u8(b, 0);
}
