/* GGUF reader: mmap the file, validate everything up front, then hand out
 * borrowed pointers. Every number read from the file is hostile until it has
 * been checked against the bytes that remain (and SIZE_MAX) — the checks come
 * before any allocation or multiplication that uses it. */
#include "inference/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_DEFAULT_ALIGNMENT 32
/* ggml keeps tensor names in char[64]; longer names would not load there. */
#define GGUF_MAX_TENSOR_NAME 63

typedef struct gguf_kv {
    gguf_str key;
    enum gguf_vtype type;
    union {
        uint64_t u;
        int64_t i;
        double f;
        gguf_str s;
    } v;
    enum gguf_vtype arr_type; /* GGUF_VT_COUNT unless type == ARRAY */
    size_t arr_n;
    const void *arr; /* arena copy, naturally aligned */
    size_t raw_off, raw_len; /* the whole record (key to end of value) in the file */
} gguf_kv;

struct gguf_file {
    char *path;
    const uint8_t *base;
    size_t size;
    int mapped; /* base is our mmap (else a borrowed buffer) */
    uint32_t version;
    size_t alignment;
    size_t data_start; /* file offset of the data section */
    gguf_kv *kv;
    size_t n_kv;
    gguf_tensor *tensors;
    size_t n_tensors;
    /* open-addressing tables of indices + 1 (0 = empty), power-of-two sized */
    uint32_t *kv_hash, *t_hash;
    size_t kv_hcap, t_hcap;
    pgr_arena arena;
};

/* ---- type tables ---------------------------------------------------------- */

static const ggml_type_info type_info[GGML_TYPE_COUNT] = {
    [GGML_TYPE_F32] = {"f32", 1, 4},        [GGML_TYPE_F16] = {"f16", 1, 2},
    [GGML_TYPE_Q4_0] = {"q4_0", 32, 18},    [GGML_TYPE_Q4_1] = {"q4_1", 32, 20},
    [GGML_TYPE_Q5_0] = {"q5_0", 32, 22},    [GGML_TYPE_Q5_1] = {"q5_1", 32, 24},
    [GGML_TYPE_Q8_0] = {"q8_0", 32, 34},    [GGML_TYPE_Q8_1] = {"q8_1", 32, 36},
    [GGML_TYPE_Q2_K] = {"q2_K", 256, 84},   [GGML_TYPE_Q3_K] = {"q3_K", 256, 110},
    [GGML_TYPE_Q4_K] = {"q4_K", 256, 144},  [GGML_TYPE_Q5_K] = {"q5_K", 256, 176},
    [GGML_TYPE_Q6_K] = {"q6_K", 256, 210},  [GGML_TYPE_Q8_K] = {"q8_K", 256, 292},
    [GGML_TYPE_I8] = {"i8", 1, 1},          [GGML_TYPE_I16] = {"i16", 1, 2},
    [GGML_TYPE_I32] = {"i32", 1, 4},        [GGML_TYPE_I64] = {"i64", 1, 8},
    [GGML_TYPE_F64] = {"f64", 1, 8},        [GGML_TYPE_BF16] = {"bf16", 1, 2},
};

const ggml_type_info *ggml_type_get(uint32_t type)
{
    if (type >= GGML_TYPE_COUNT || !type_info[type].name)
        return NULL;
    return &type_info[type];
}

int ggml_row_bytes(enum ggml_type type, int64_t ne0, size_t *out, pgr_err *err)
{
    const ggml_type_info *ti = ggml_type_get((uint32_t)type);
    if (!ti)
        return pgr_errf(err, PGR_EINVAL, "unknown tensor type %u", (unsigned)type);
    if (ne0 < 0 || ne0 % ti->blck_size != 0)
        return pgr_errf(err, PGR_EINVAL, "row of %" PRId64 " elements is not a multiple of the %s block size %u",
                        ne0, ti->name, ti->blck_size);
    if ((uint64_t)ne0 > SIZE_MAX || !pgr_mul_ok((size_t)ne0 / ti->blck_size, ti->type_size, out))
        return pgr_errf(err, PGR_EINVAL, "row of %" PRId64 " %s elements overflows size_t", ne0,
                        ti->name);
    return 0;
}

static const size_t vtype_size[GGUF_VT_COUNT] = {
    [GGUF_VT_UINT8] = 1, [GGUF_VT_INT8] = 1,    [GGUF_VT_UINT16] = 2,  [GGUF_VT_INT16] = 2,
    [GGUF_VT_UINT32] = 4, [GGUF_VT_INT32] = 4,  [GGUF_VT_FLOAT32] = 4, [GGUF_VT_BOOL] = 1,
    [GGUF_VT_STRING] = 0, [GGUF_VT_ARRAY] = 0,  [GGUF_VT_UINT64] = 8,  [GGUF_VT_INT64] = 8,
    [GGUF_VT_FLOAT64] = 8,
};

const char *gguf_vtype_name(enum gguf_vtype t)
{
    static const char *names[GGUF_VT_COUNT] = {
        "uint8", "int8",  "uint16", "int16",  "uint32", "int32",  "float32",
        "bool",  "string", "array", "uint64", "int64",  "float64",
    };
    return (unsigned)t < GGUF_VT_COUNT ? names[t] : "?";
}

/* ---- reader --------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *p;
    size_t size, pos;
    const char *name;
    pgr_err *err;
    char what[160]; /* "key 'x'" / "tensor 'y'": where the next error happened */
} rd;

#define RD_FAIL(r, at, ...)                                                                \
    do {                                                                                   \
        char m_[512];                                                                      \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                              \
        pgr_errf((r)->err, PGR_EINVAL, "%s: offset %zu%s%s: %s", (r)->name, (size_t)(at),  \
                 (r)->what[0] ? ": " : "", (r)->what, m_);                                 \
        return -1;                                                                         \
    } while (0)

static size_t rd_left(const rd *r) { return r->size - r->pos; }

static int rd_bytes(rd *r, void *dst, size_t n, const char *field)
{
    if (rd_left(r) < n)
        RD_FAIL(r, r->pos, "file ends inside %s (%zu bytes needed, %zu left)", field, n,
                rd_left(r));
    memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return 0;
}

static int rd_u32(rd *r, uint32_t *v, const char *field) { return rd_bytes(r, v, 4, field); }
static int rd_u64(rd *r, uint64_t *v, const char *field) { return rd_bytes(r, v, 8, field); }

/* A length-prefixed string; the copy is NUL-terminated in the arena. */
static int rd_str(rd *r, pgr_arena *a, gguf_str *out, const char *field)
{
    size_t at = r->pos;
    uint64_t len;
    if (rd_u64(r, &len, field) < 0)
        return -1;
    if (len > rd_left(r))
        RD_FAIL(r, at, "%s length %" PRIu64 " runs past end of file (%zu bytes left)", field, len,
                rd_left(r));
    char *s = pgr_arena_strndup(a, (const char *)r->p + r->pos, (size_t)len);
    if (!s)
        return pgr_errf(r->err, PGR_ENOMEM, "%s: out of memory", r->name);
    out->s = s;
    out->len = (size_t)len;
    r->pos += (size_t)len;
    return 0;
}

/* ---- hash tables of names -------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int htab_alloc(pgr_arena *a, size_t n, uint32_t **tab, size_t *cap)
{
    size_t c = 16;
    while (c < n * 2)
        c *= 2; /* n is bounded by the file size, so this terminates */
    *tab = pgr_arena_calloc(a, c, sizeof **tab);
    *cap = c;
    return *tab ? 0 : -1;
}

/* tensors != 0: the table indexes f->tensors (names are C strings), else f->kv. */
static int64_t htab_find(const uint32_t *tab, size_t cap, const char *s, size_t n,
                         const struct gguf_file *f, int tensors)
{
    size_t m = cap - 1, h = (size_t)hash_bytes(s, n) & m;
    for (;; h = (h + 1) & m) {
        uint32_t e = tab[h];
        if (!e)
            return -1;
        size_t i = e - 1;
        const char *name;
        size_t len;
        if (tensors) {
            name = f->tensors[i].name;
            len = strlen(name);
        } else {
            name = f->kv[i].key.s;
            len = f->kv[i].key.len;
        }
        if (len == n && memcmp(name, s, n) == 0)
            return (int64_t)i;
    }
}

/* Inserts index i under name; returns the index of an existing equal name, or -1. */
static int64_t htab_insert(uint32_t *tab, size_t cap, const char *s, size_t n,
                           const struct gguf_file *f, int tensors, size_t i)
{
    int64_t prev = htab_find(tab, cap, s, n, f, tensors);
    if (prev >= 0)
        return prev;
    size_t m = cap - 1, h = (size_t)hash_bytes(s, n) & m;
    while (tab[h])
        h = (h + 1) & m;
    tab[h] = (uint32_t)(i + 1);
    return -1;
}

/* ---- metadata ------------------------------------------------------------- */

static int read_value(rd *r, pgr_arena *a, gguf_kv *kv)
{
    size_t at = r->pos;
    uint32_t t;
    if (rd_u32(r, &t, "value type") < 0)
        return -1;
    if (t >= GGUF_VT_COUNT)
        RD_FAIL(r, at, "unknown value type %u", t);
    kv->type = (enum gguf_vtype)t;
    kv->arr_type = GGUF_VT_COUNT;
    switch (kv->type) {
    case GGUF_VT_STRING:
        return rd_str(r, a, &kv->v.s, "string");
    case GGUF_VT_ARRAY: {
        uint32_t et;
        uint64_t n;
        at = r->pos;
        if (rd_u32(r, &et, "array element type") < 0)
            return -1;
        if (et >= GGUF_VT_COUNT)
            RD_FAIL(r, at, "unknown array element type %u", et);
        if (et == GGUF_VT_ARRAY)
            RD_FAIL(r, at, "arrays of arrays are not supported");
        at = r->pos;
        if (rd_u64(r, &n, "array length") < 0)
            return -1;
        kv->arr_type = (enum gguf_vtype)et;
        if (et == GGUF_VT_STRING) {
            /* each string needs at least its 8-byte length */
            if (n > rd_left(r) / 8)
                RD_FAIL(r, at, "array of %" PRIu64 " strings cannot fit in the %zu bytes left", n,
                        rd_left(r));
            gguf_str *v = pgr_arena_calloc(a, (size_t)n, sizeof *v);
            if (!v)
                return pgr_errf(r->err, PGR_ENOMEM, "%s: out of memory", r->name);
            for (size_t i = 0; i < (size_t)n; i++)
                if (rd_str(r, a, &v[i], "array string") < 0)
                    return -1;
            kv->arr = v;
        } else {
            size_t es = vtype_size[et], bytes;
            if (n > SIZE_MAX || !pgr_mul_ok((size_t)n, es, &bytes) || bytes > rd_left(r))
                RD_FAIL(r, at, "array of %" PRIu64 " %s values runs past end of file (%zu bytes left)",
                        n, gguf_vtype_name((enum gguf_vtype)et), rd_left(r));
            void *v = pgr_arena_alloc(a, bytes ? bytes : 1);
            if (!v)
                return pgr_errf(r->err, PGR_ENOMEM, "%s: out of memory", r->name);
            memcpy(v, r->p + r->pos, bytes);
            if (et == GGUF_VT_BOOL)
                for (size_t i = 0; i < bytes; i++)
                    if (((uint8_t *)v)[i] > 1)
                        RD_FAIL(r, r->pos + i, "bool array element %zu is %u, not 0 or 1", i,
                                ((uint8_t *)v)[i]);
            r->pos += bytes;
            kv->arr = v;
        }
        kv->arr_n = (size_t)n;
        return 0;
    }
    default:
        break;
    }
    unsigned char b[8];
    at = r->pos;
    if (rd_bytes(r, b, vtype_size[t], gguf_vtype_name(kv->type)) < 0)
        return -1;
    switch (kv->type) {
    case GGUF_VT_UINT8: kv->v.u = b[0]; break;
    case GGUF_VT_INT8: kv->v.i = (int8_t)b[0]; break;
    case GGUF_VT_BOOL:
        if (b[0] > 1)
            RD_FAIL(r, at, "bool value is %u, not 0 or 1", b[0]);
        kv->v.u = b[0];
        break;
    case GGUF_VT_UINT16: { uint16_t x; memcpy(&x, b, 2); kv->v.u = x; break; }
    case GGUF_VT_INT16: { int16_t x; memcpy(&x, b, 2); kv->v.i = x; break; }
    case GGUF_VT_UINT32: { uint32_t x; memcpy(&x, b, 4); kv->v.u = x; break; }
    case GGUF_VT_INT32: { int32_t x; memcpy(&x, b, 4); kv->v.i = x; break; }
    case GGUF_VT_FLOAT32: { float x; memcpy(&x, b, 4); kv->v.f = x; break; }
    case GGUF_VT_UINT64: memcpy(&kv->v.u, b, 8); break;
    case GGUF_VT_INT64: memcpy(&kv->v.i, b, 8); break;
    case GGUF_VT_FLOAT64: memcpy(&kv->v.f, b, 8); break;
    default: break;
    }
    return 0;
}

static int is_signed(enum gguf_vtype t)
{
    return t == GGUF_VT_INT8 || t == GGUF_VT_INT16 || t == GGUF_VT_INT32 || t == GGUF_VT_INT64;
}
static int is_unsigned(enum gguf_vtype t)
{
    return t == GGUF_VT_UINT8 || t == GGUF_VT_UINT16 || t == GGUF_VT_UINT32 || t == GGUF_VT_UINT64;
}

/* ---- tensors -------------------------------------------------------------- */

static int cmp_by_offset(const void *a, const void *b)
{
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int read_tensor_info(rd *r, gguf_file *f, gguf_tensor *t)
{
    size_t at = r->pos;
    gguf_str name;
    if (rd_str(r, &f->arena, &name, "tensor name") < 0)
        return -1;
    snprintf(r->what, sizeof r->what, "tensor '%.100s'", name.s);
    if (name.len == 0)
        RD_FAIL(r, at, "empty tensor name");
    if (name.len > GGUF_MAX_TENSOR_NAME)
        RD_FAIL(r, at, "tensor name is %zu bytes (at most %d)", name.len, GGUF_MAX_TENSOR_NAME);
    if (memchr(name.s, '\0', name.len))
        RD_FAIL(r, at, "tensor name contains a NUL byte");
    t->name = name.s;
    at = r->pos;
    uint32_t nd;
    if (rd_u32(r, &nd, "n_dims") < 0)
        return -1;
    if (nd == 0 || nd > 4)
        RD_FAIL(r, at, "n_dims is %u (must be 1..4)", nd);
    t->n_dims = nd;
    for (int d = 0; d < 4; d++)
        t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        at = r->pos;
        uint64_t ne;
        if (rd_u64(r, &ne, "dimension") < 0)
            return -1;
        if (ne == 0)
            RD_FAIL(r, at, "dimension %u is zero", d);
        if (ne > (uint64_t)INT64_MAX)
            RD_FAIL(r, at, "dimension %u is %" PRIu64 " (negative as int64)", d, ne);
        t->ne[d] = (int64_t)ne;
    }
    at = r->pos;
    uint32_t type;
    if (rd_u32(r, &type, "tensor type") < 0)
        return -1;
    const ggml_type_info *ti = ggml_type_get(type);
    if (!ti)
        RD_FAIL(r, at, "unknown tensor type %u", type);
    t->type = (enum ggml_type)type;
    /* element count and byte size, overflow-checked in int64 and size_t */
    int64_t nel = t->ne[0];
    for (int d = 1; d < 4; d++)
        if (__builtin_mul_overflow(nel, t->ne[d], &nel))
            RD_FAIL(r, at, "dimensions %" PRId64 "x%" PRId64 "x%" PRId64 "x%" PRId64
                    " overflow the element count",
                    t->ne[0], t->ne[1], t->ne[2], t->ne[3]);
    pgr_err e2;
    if (ggml_row_bytes(t->type, t->ne[0], &t->row_bytes, &e2) < 0)
        RD_FAIL(r, at, "%.300s", e2.msg);
    size_t nb = t->row_bytes;
    for (int d = 1; d < 4; d++)
        if ((uint64_t)t->ne[d] > SIZE_MAX || !pgr_mul_ok(nb, (size_t)t->ne[d], &nb))
            RD_FAIL(r, at, "byte size of %" PRId64 "x%" PRId64 "x%" PRId64 "x%" PRId64
                    " %s overflows size_t",
                    t->ne[0], t->ne[1], t->ne[2], t->ne[3], ti->name);
    t->nbytes = nb;
    at = r->pos;
    if (rd_u64(r, &t->offset, "tensor offset") < 0)
        return -1;
    return 0;
}

/* Checks placement once the data section start is known. */
static int place_tensors(rd *r, gguf_file *f, size_t tinfo_pos[])
{
    size_t data_size = f->size - f->data_start;
    for (size_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        snprintf(r->what, sizeof r->what, "tensor '%.100s'", t->name);
        if (t->offset % f->alignment != 0)
            RD_FAIL(r, tinfo_pos[i], "data offset %" PRIu64 " is not a multiple of the alignment %zu",
                    t->offset, f->alignment);
        if (t->offset > data_size || t->nbytes > data_size - (size_t)t->offset)
            RD_FAIL(r, tinfo_pos[i],
                    "data [%" PRIu64 ", +%zu) runs past the end of the data section (%zu bytes)",
                    t->offset, t->nbytes, data_size);
        t->data = f->base + f->data_start + t->offset;
    }
    r->what[0] = '\0';
    if (f->n_tensors < 2)
        return 0;
    const gguf_tensor **by = malloc(f->n_tensors * sizeof *by);
    if (!by)
        return pgr_errf(r->err, PGR_ENOMEM, "%s: out of memory", r->name);
    for (size_t i = 0; i < f->n_tensors; i++)
        by[i] = &f->tensors[i];
    qsort(by, f->n_tensors, sizeof *by, cmp_by_offset);
    int rc = 0;
    for (size_t i = 1; i < f->n_tensors; i++) {
        const gguf_tensor *a = by[i - 1], *b = by[i];
        if (a->offset + a->nbytes > b->offset) {
            size_t bi = (size_t)(b - f->tensors);
            snprintf(r->what, sizeof r->what, "tensor '%.60s'", b->name);
            pgr_errf(r->err, PGR_EINVAL,
                     "%s: offset %zu: %s: data [%" PRIu64 ", +%zu) overlaps tensor '%.60s' [%" PRIu64
                     ", +%zu)",
                     r->name, tinfo_pos[bi], r->what, b->offset, b->nbytes, a->name, a->offset,
                     a->nbytes);
            rc = -1;
            break;
        }
    }
    free(by);
    return rc;
}

/* ---- open ----------------------------------------------------------------- */

static int parse(gguf_file *f, pgr_err *err)
{
    rd r = {.p = f->base, .size = f->size, .name = f->path, .err = err};
    size_t *tinfo_pos = NULL;
    int rc = -1;
    char magic[4];
    if (rd_bytes(&r, magic, 4, "magic") < 0)
        goto cleanup;
    if (memcmp(magic, "GGUF", 4) != 0) {
        pgr_errf(err, PGR_EINVAL, "%s: offset 0: bad magic (not a GGUF file)", f->path);
        goto cleanup;
    }
    if (rd_u32(&r, &f->version, "version") < 0)
        goto cleanup;
    if (f->version != 2 && f->version != 3) {
        pgr_errf(err, f->version > 3 ? PGR_EVERSION : PGR_EINVAL,
                 "%s: offset 4: GGUF version %u is not supported (2 and 3 are)", f->path,
                 f->version);
        goto cleanup;
    }
    uint64_t nt, nkv;
    if (rd_u64(&r, &nt, "tensor count") < 0 || rd_u64(&r, &nkv, "metadata count") < 0)
        goto cleanup;
    /* a key-value pair takes at least 8 (key length) + 4 (type) + 1 bytes; a
     * tensor info at least 8 + 4 + 8 + 4 + 8 */
    if (nkv > rd_left(&r) / 13 || nkv > UINT32_MAX - 1) {
        pgr_errf(err, PGR_EINVAL, "%s: offset 16: metadata count %" PRIu64
                 " cannot fit in the %zu bytes left", f->path, nkv, rd_left(&r));
        goto cleanup;
    }
    if (nt > rd_left(&r) / 32 || nt > UINT32_MAX - 1) {
        pgr_errf(err, PGR_EINVAL, "%s: offset 8: tensor count %" PRIu64
                 " cannot fit in the %zu bytes left", f->path, nt, rd_left(&r));
        goto cleanup;
    }
    f->n_kv = (size_t)nkv;
    f->n_tensors = (size_t)nt;
    f->kv = pgr_arena_calloc(&f->arena, f->n_kv ? f->n_kv : 1, sizeof *f->kv);
    f->tensors = pgr_arena_calloc(&f->arena, f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
    tinfo_pos = malloc((f->n_tensors ? f->n_tensors : 1) * sizeof *tinfo_pos);
    if (!f->kv || !f->tensors || !tinfo_pos || htab_alloc(&f->arena, f->n_kv, &f->kv_hash, &f->kv_hcap) < 0 ||
        htab_alloc(&f->arena, f->n_tensors, &f->t_hash, &f->t_hcap) < 0) {
        pgr_errf(err, PGR_ENOMEM, "%s: out of memory", f->path);
        goto cleanup;
    }

    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < f->n_kv; i++) {
        gguf_kv *kv = &f->kv[i];
        size_t at = r.pos;
        r.what[0] = '\0';
        if (rd_str(&r, &f->arena, &kv->key, "key") < 0)
            goto cleanup;
        snprintf(r.what, sizeof r.what, "key '%.100s'", kv->key.s);
        if (kv->key.len == 0 || memchr(kv->key.s, '\0', kv->key.len)) {
            pgr_errf(err, PGR_EINVAL, "%s: offset %zu: key %zu is empty or contains a NUL byte",
                     f->path, at, i);
            goto cleanup;
        }
        if (htab_insert(f->kv_hash, f->kv_hcap, kv->key.s, kv->key.len, f, 0, i) >= 0) {
            pgr_errf(err, PGR_EINVAL, "%s: offset %zu: duplicate key '%.100s'", f->path, at,
                     kv->key.s);
            goto cleanup;
        }
        if (read_value(&r, &f->arena, kv) < 0)
            goto cleanup;
        kv->raw_off = at;
        kv->raw_len = r.pos - at;
        if (strcmp(kv->key.s, "general.alignment") == 0) {
            if (kv->type != GGUF_VT_UINT32 || kv->v.u == 0 || (kv->v.u & (kv->v.u - 1)) != 0) {
                pgr_errf(err, PGR_EINVAL,
                         "%s: offset %zu: key 'general.alignment' must be a uint32 power of two "
                         "(got %s %" PRIu64 ")",
                         f->path, at, gguf_vtype_name(kv->type),
                         kv->type == GGUF_VT_UINT32 ? kv->v.u : 0);
                goto cleanup;
            }
            f->alignment = (size_t)kv->v.u;
        }
    }
    r.what[0] = '\0';

    for (size_t i = 0; i < f->n_tensors; i++) {
        tinfo_pos[i] = r.pos;
        r.what[0] = '\0';
        if (read_tensor_info(&r, f, &f->tensors[i]) < 0)
            goto cleanup;
        const char *nm = f->tensors[i].name;
        if (htab_insert(f->t_hash, f->t_hcap, nm, strlen(nm), f, 1, i) >= 0) {
            pgr_errf(err, PGR_EINVAL, "%s: offset %zu: duplicate tensor name '%.100s'", f->path,
                     tinfo_pos[i], nm);
            goto cleanup;
        }
    }
    r.what[0] = '\0';

    /* The data section starts at the next multiple of the alignment. A file
     * without tensors may end right after the infos (no padding). */
    size_t pad = (f->alignment - r.pos % f->alignment) % f->alignment;
    if (f->n_tensors == 0 && pad > rd_left(&r)) {
        f->data_start = f->size;
    } else if (pad > rd_left(&r)) {
        pgr_errf(err, PGR_EINVAL, "%s: offset %zu: file ends before the data section (padding to %zu)",
                 f->path, r.pos, f->alignment);
        goto cleanup;
    } else {
        f->data_start = r.pos + pad;
    }
    if (place_tensors(&r, f, tinfo_pos) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    free(tinfo_pos);
    return rc;
}

static gguf_file *file_new(const char *name)
{
    gguf_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->path = strdup(name ? name : "(buffer)");
    if (!f->path) {
        free(f);
        return NULL;
    }
    return f;
}

int gguf_open_buffer(const void *data, size_t size, const char *name, gguf_file **out,
                     pgr_err *err)
{
    *out = NULL;
    gguf_file *f = file_new(name);
    if (!f)
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    f->base = data;
    f->size = size;
    if (parse(f, err) < 0) {
        gguf_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

int gguf_open(const char *path, gguf_file **out, pgr_err *err)
{
    *out = NULL;
    int fd = -1, rc = -1;
    gguf_file *f = file_new(path);
    if (!f)
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        pgr_errf(err, PGR_EIO, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        pgr_errf(err, PGR_EIO, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        pgr_errf(err, PGR_EINVAL, "%s: not a regular file", path);
        goto cleanup;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        pgr_errf(err, PGR_EINVAL, "%s: file too large to map", path);
        goto cleanup;
    }
    f->size = (size_t)st.st_size;
    if (f->size == 0) {
        pgr_errf(err, PGR_EINVAL, "%s: offset 0: empty file (not a GGUF file)", path);
        goto cleanup;
    }
    void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        pgr_errf(err, PGR_EIO, "%s: mmap: %s", path, strerror(errno));
        goto cleanup;
    }
    f->base = m;
    f->mapped = 1;
    if (parse(f, err) < 0)
        goto cleanup;
    *out = f;
    f = NULL;
    rc = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    gguf_close(f);
    return rc;
}

void gguf_close(gguf_file *f)
{
    if (!f)
        return;
    if (f->mapped)
        munmap((void *)f->base, f->size);
    pgr_arena_free(&f->arena);
    free(f->path);
    free(f);
}

uint32_t gguf_version(const gguf_file *f) { return f->version; }
size_t gguf_alignment(const gguf_file *f) { return f->alignment; }
const char *gguf_path(const gguf_file *f) { return f->path; }
size_t gguf_file_size(const gguf_file *f) { return f->size; }

size_t gguf_n_kv(const gguf_file *f) { return f->n_kv; }

int64_t gguf_find_key(const gguf_file *f, const char *key)
{
    return htab_find(f->kv_hash, f->kv_hcap, key, strlen(key), f, 0);
}

const char *gguf_kv_key(const gguf_file *f, size_t i) { return i < f->n_kv ? f->kv[i].key.s : NULL; }
enum gguf_vtype gguf_kv_type(const gguf_file *f, size_t i)
{
    return i < f->n_kv ? f->kv[i].type : GGUF_VT_COUNT;
}
int gguf_kv_raw(const gguf_file *f, size_t i, const void **data, size_t *len)
{
    if (i >= f->n_kv)
        return -1;
    *data = f->base + f->kv[i].raw_off;
    *len = f->kv[i].raw_len;
    return 0;
}

enum gguf_vtype gguf_kv_arr_type(const gguf_file *f, size_t i)
{
    return i < f->n_kv ? f->kv[i].arr_type : GGUF_VT_COUNT;
}
size_t gguf_kv_arr_len(const gguf_file *f, size_t i) { return i < f->n_kv ? f->kv[i].arr_n : 0; }
const void *gguf_kv_arr_data(const gguf_file *f, size_t i)
{
    return i < f->n_kv && f->kv[i].type == GGUF_VT_ARRAY ? f->kv[i].arr : NULL;
}

static const gguf_kv *get_kv(const gguf_file *f, const char *key, pgr_err *err)
{
    int64_t i = gguf_find_key(f, key);
    if (i < 0) {
        pgr_errf(err, PGR_ENOTFOUND, "%s: key '%s' is missing", f->path, key);
        return NULL;
    }
    return &f->kv[i];
}

static int wrong_type(const gguf_file *f, const gguf_kv *kv, const char *want, pgr_err *err)
{
    return pgr_errf(err, PGR_EINVAL, "%s: key '%s' is %s, expected %s", f->path, kv->key.s,
                    gguf_vtype_name(kv->type), want);
}

/* Integer value as a signed/unsigned pair: returns 0 if kv is an integer. */
static int get_int(const gguf_kv *kv, int *neg, uint64_t *mag)
{
    if (is_unsigned(kv->type)) {
        *neg = 0;
        *mag = kv->v.u;
        return 0;
    }
    if (is_signed(kv->type)) {
        *neg = kv->v.i < 0;
        *mag = *neg ? (uint64_t)0 - (uint64_t)kv->v.i : (uint64_t)kv->v.i;
        return 0;
    }
    return -1;
}

static int get_ranged(const gguf_file *f, const char *key, int allow_neg, uint64_t max_pos,
                      uint64_t max_neg, int *neg, uint64_t *mag, pgr_err *err)
{
    const gguf_kv *kv = get_kv(f, key, err);
    if (!kv)
        return -1;
    if (get_int(kv, neg, mag) < 0)
        return wrong_type(f, kv, "an integer", err);
    if ((*neg && (!allow_neg || *mag > max_neg)) || (!*neg && *mag > max_pos))
        return pgr_errf(err, PGR_EINVAL, "%s: key '%s' value %s%" PRIu64 " is out of range",
                        f->path, key, *neg ? "-" : "", *mag);
    return 0;
}

int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, pgr_err *err)
{
    int neg;
    uint64_t m;
    if (get_ranged(f, key, 0, UINT32_MAX, 0, &neg, &m, err) < 0)
        return -1;
    *out = (uint32_t)m;
    return 0;
}

int gguf_get_i32(const gguf_file *f, const char *key, int32_t *out, pgr_err *err)
{
    int neg;
    uint64_t m;
    if (get_ranged(f, key, 1, INT32_MAX, (uint64_t)INT32_MAX + 1, &neg, &m, err) < 0)
        return -1;
    *out = neg ? (int32_t)(-(int64_t)m) : (int32_t)m;
    return 0;
}

int gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out, pgr_err *err)
{
    int neg;
    return get_ranged(f, key, 0, UINT64_MAX, 0, &neg, out, err);
}

int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, pgr_err *err)
{
    int neg;
    uint64_t m;
    if (get_ranged(f, key, 1, INT64_MAX, (uint64_t)INT64_MAX + 1, &neg, &m, err) < 0)
        return -1;
    *out = neg ? (int64_t)(0 - m) : (int64_t)m;
    return 0;
}

int gguf_get_f64(const gguf_file *f, const char *key, double *out, pgr_err *err)
{
    const gguf_kv *kv = get_kv(f, key, err);
    if (!kv)
        return -1;
    if (kv->type != GGUF_VT_FLOAT32 && kv->type != GGUF_VT_FLOAT64)
        return wrong_type(f, kv, "float32 or float64", err);
    *out = kv->v.f;
    return 0;
}

int gguf_get_f32(const gguf_file *f, const char *key, float *out, pgr_err *err)
{
    double d = 0;
    if (gguf_get_f64(f, key, &d, err) < 0)
        return -1;
    *out = (float)d;
    return 0;
}

int gguf_get_bool(const gguf_file *f, const char *key, int *out, pgr_err *err)
{
    const gguf_kv *kv = get_kv(f, key, err);
    if (!kv)
        return -1;
    if (kv->type != GGUF_VT_BOOL)
        return wrong_type(f, kv, "bool", err);
    *out = (int)kv->v.u;
    return 0;
}

int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, pgr_err *err)
{
    const gguf_kv *kv = get_kv(f, key, err);
    if (!kv)
        return -1;
    if (kv->type != GGUF_VT_STRING)
        return wrong_type(f, kv, "string", err);
    *out = kv->v.s;
    return 0;
}

int gguf_get_arr(const gguf_file *f, const char *key, enum gguf_vtype elem, const void **data,
                 size_t *n, pgr_err *err)
{
    const gguf_kv *kv = get_kv(f, key, err);
    if (!kv)
        return -1;
    if (kv->type != GGUF_VT_ARRAY || kv->arr_type != elem) {
        char want[48];
        snprintf(want, sizeof want, "array of %s", gguf_vtype_name(elem));
        if (kv->type == GGUF_VT_ARRAY)
            return pgr_errf(err, PGR_EINVAL, "%s: key '%s' is array of %s, expected %s", f->path,
                            key, gguf_vtype_name(kv->arr_type), want);
        return wrong_type(f, kv, want, err);
    }
    *data = kv->arr;
    *n = kv->arr_n;
    return 0;
}

size_t gguf_n_tensors(const gguf_file *f) { return f->n_tensors; }

const gguf_tensor *gguf_tensor_at(const gguf_file *f, size_t i)
{
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    int64_t i = htab_find(f->t_hash, f->t_hcap, name, strlen(name), f, 1);
    return i < 0 ? NULL : &f->tensors[i];
}
