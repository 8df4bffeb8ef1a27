/* Adapter files: the safetensors container, our .pgad format, and importers
 * from PEFT and llama.cpp's GGUF LoRA. Every length and offset read from a
 * file is hostile; errors name the file and the tensor or field. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inference/adapter.h"

#define ST_MAX_HEADER (100u << 20)
#define ST_MAX_TENSORS 100000

/* ---- safetensors ------------------------------------------------------------------ */

static int st_dtype(const char *s, int *dt, size_t *esize)
{
    if (strcmp(s, "F32") == 0)
        return *dt = PGR_KT_F32, *esize = 4, 0;
    if (strcmp(s, "F16") == 0)
        return *dt = PGR_KT_F16, *esize = 2, 0;
    if (strcmp(s, "BF16") == 0)
        return *dt = PGR_KT_BF16, *esize = 2, 0;
    return -1;
}

static int cmp_offset(const void *a, const void *b)
{
    const pgr_st_tensor *x = a, *y = b;
    return x->data < y->data ? -1 : x->data > y->data;
}

void pgr_st_free(pgr_st_file *f)
{
    if (!f)
        return;
    free(f->tensors);
    free(f->metadata_json);
    memset(f, 0, sizeof *f);
}

int pgr_st_parse(const void *data, size_t len, const char *name, pgr_st_file *out, pgr_err *err)
{
    const uint8_t *p = data;
    json_t *root = NULL;
    pgr_st_tensor *sorted = NULL;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (len < 8)
        return pgr_errf(err, PGR_EINVAL, "%s: %zu bytes: too short for a safetensors header", name,
                        len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | p[i];
    if (hlen < 2 || hlen > ST_MAX_HEADER || hlen > len - 8)
        return pgr_errf(
            err, PGR_EINVAL,
            "%s: header length %llu does not fit the file (%zu bytes) or the %u MB limit", name,
            (unsigned long long)hlen, len, ST_MAX_HEADER >> 20);
    const uint8_t *base = p + 8 + hlen;
    size_t dlen = len - 8 - (size_t)hlen;
    json_error_t jerr;
    root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                      &jerr);
    if (!root) {
        pgr_errf(err, PGR_EINVAL, "%s: header JSON: %s at byte %d", name, jerr.text,
                 jerr.position + 8);
        goto cleanup;
    }
    if (!json_is_object(root)) {
        pgr_errf(err, PGR_EINVAL, "%s: header is not a JSON object", name);
        goto cleanup;
    }
    size_t n = json_object_size(root);
    if (n > ST_MAX_TENSORS) {
        pgr_errf(err, PGR_EINVAL, "%s: %zu header entries (max %d)", name, n, ST_MAX_TENSORS);
        goto cleanup;
    }
    out->tensors = calloc(n ? n : 1, sizeof *out->tensors);
    if (!out->tensors) {
        pgr_errf(err, PGR_ENOMEM, "%s: out of memory", name);
        goto cleanup;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(v)) {
                pgr_errf(err, PGR_EINVAL, "%s: __metadata__ is not an object", name);
                goto cleanup;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv)
            {
                if (!json_is_string(mv)) {
                    pgr_errf(err, PGR_EINVAL, "%s: __metadata__.%.64s is not a string", name, mk);
                    goto cleanup;
                }
            }
            out->metadata_json = json_dumps(v, JSON_COMPACT);
            if (!out->metadata_json) {
                pgr_errf(err, PGR_ENOMEM, "%s: out of memory", name);
                goto cleanup;
            }
            continue;
        }
        pgr_st_tensor *t = &out->tensors[out->n_tensors];
        size_t kl = strlen(key);
        if (kl == 0 || kl >= sizeof t->name || memchr(key, 0, kl) != NULL) {
            pgr_errf(err, PGR_EINVAL, "%s: tensor name '%.64s' empty or over %zu bytes", name, key,
                     sizeof t->name - 1);
            goto cleanup;
        }
        memcpy(t->name, key, kl + 1);
        json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
               *jo = json_object_get(v, "data_offsets");
        size_t esize;
        if (!json_is_object(v) || !json_is_string(jd) ||
            st_dtype(json_string_value(jd), &t->dtype, &esize) != 0) {
            pgr_errf(err, PGR_EINVAL, "%s: tensor %s: dtype missing or not F32/F16/BF16", name,
                     t->name);
            goto cleanup;
        }
        if (!json_is_array(js) || json_array_size(js) > 4) {
            pgr_errf(err, PGR_EINVAL, "%s: tensor %s: shape is not an array of at most 4 sizes",
                     name, t->name);
            goto cleanup;
        }
        size_t elems = 1;
        t->n_dims = (int)json_array_size(js);
        for (int d = 0; d < t->n_dims; d++) {
            json_t *e = json_array_get(js, (size_t)d);
            json_int_t x = json_is_integer(e) ? json_integer_value(e) : -1;
            if (x < 0 || x > (json_int_t)1 << 40 || !pgr_mul_ok(elems, (size_t)x, &elems)) {
                pgr_errf(err, PGR_EINVAL, "%s: tensor %s: shape[%d] invalid", name, t->name, d);
                goto cleanup;
            }
            t->shape[d] = x;
        }
        json_t *o0 = json_array_get(jo, 0), *o1 = json_array_get(jo, 1);
        if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_is_integer(o0) ||
            !json_is_integer(o1)) {
            pgr_errf(err, PGR_EINVAL, "%s: tensor %s: data_offsets is not [begin, end]", name,
                     t->name);
            goto cleanup;
        }
        json_int_t b = json_integer_value(o0), e = json_integer_value(o1);
        size_t nbytes;
        if (b < 0 || e < b || (uint64_t)e > dlen) {
            pgr_errf(
                err, PGR_EINVAL,
                "%s: tensor %s: data_offsets [%lld, %lld] outside the data section (%zu bytes)",
                name, t->name, (long long)b, (long long)e, dlen);
            goto cleanup;
        }
        if (!pgr_mul_ok(elems, esize, &nbytes) || nbytes != (size_t)(e - b)) {
            pgr_errf(err, PGR_EINVAL, "%s: tensor %s: %lld bytes for %zu elements of %zu bytes",
                     name, t->name, (long long)(e - b), elems, esize);
            goto cleanup;
        }
        t->data = base + b;
        t->nbytes = nbytes;
        out->n_tensors++;
    }
    /* tensors must not overlap (a crafted file could alias one onto another) */
    sorted = malloc((out->n_tensors ? out->n_tensors : 1) * sizeof *sorted);
    if (!sorted) {
        pgr_errf(err, PGR_ENOMEM, "%s: out of memory", name);
        goto cleanup;
    }
    memcpy(sorted, out->tensors, out->n_tensors * sizeof *sorted);
    qsort(sorted, out->n_tensors, sizeof *sorted, cmp_offset);
    for (size_t i = 1; i < out->n_tensors; i++)
        if (sorted[i].data < sorted[i - 1].data + sorted[i - 1].nbytes) {
            pgr_errf(err, PGR_EINVAL, "%s: tensors %s and %s overlap", name, sorted[i - 1].name,
                     sorted[i].name);
            goto cleanup;
        }
    rc = 0;
cleanup:
    free(sorted);
    json_decref(root);
    if (rc != 0)
        pgr_st_free(out);
    return rc;
}

const pgr_st_tensor *pgr_st_find(const pgr_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

/* Copies a 2-D file tensor (or 1-D as one row) into t, which must have the
 * same shape; converts F16/BF16 to float. */
static int st_copy(const pgr_st_tensor *s, pgr_adapter_tensor *t, const char *file, pgr_err *err)
{
    int64_t rows = s->n_dims == 2 ? s->shape[0] : 1;
    int64_t cols = s->n_dims == 2 ? s->shape[1] : s->n_dims == 1 ? s->shape[0] : -1;
    if (cols < 0 || rows != t->rows || cols != t->cols)
        return pgr_errf(err, PGR_EINVAL, "%s: tensor %s: shape [%lld, %lld], expected [%d, %d]",
                        file, s->name, (long long)rows, (long long)cols, t->rows, t->cols);
    size_t n = (size_t)rows * (size_t)cols;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *q = s->data;
        float v;
        if (s->dtype == PGR_KT_F32) {
            uint32_t u = (uint32_t)q[4 * i] | (uint32_t)q[4 * i + 1] << 8 |
                         (uint32_t)q[4 * i + 2] << 16 | (uint32_t)q[4 * i + 3] << 24;
            memcpy(&v, &u, 4);
        } else {
            uint16_t u = (uint16_t)(q[2 * i] | q[2 * i + 1] << 8);
            v = s->dtype == PGR_KT_F16 ? pgr_f16_to_f32(u) : pgr_bf16_to_f32(u);
        }
        if (!isfinite(v))
            return pgr_errf(err, PGR_EINVAL, "%s: tensor %s: element %zu is not finite", file,
                            s->name, i);
        t->data[i] = v;
    }
    return 0;
}

/* ---- our format -------------------------------------------------------------------- */

static void tensor_name(char *buf, size_t n, int layer, const char *what)
{
    snprintf(buf, n, "layers.%d.%s", layer, what);
}

/* Calls fn for every tensor the adapter has, with its file name. */
typedef int (*tensor_fn)(void *u, const char *name, pgr_adapter_tensor *t, pgr_err *err);
static int each_tensor(const pgr_adapter *a, tensor_fn fn, void *u, pgr_err *err)
{
    char nm[96], what[48];
    for (int i = 0; i < a->spec.n_layers; i++) {
        int l = a->spec.layers[i];
        if (a->spec.method == PGR_AD_LORA) {
            for (int site = 0; site < PGR_SITE_RESID; site++) {
                size_t k = (size_t)l * PGR_SITE_COUNT + (size_t)site;
                if (!a->lora_a[k].data)
                    continue;
                snprintf(what, sizeof what, "%s.lora_a", pgr_site_name(site));
                tensor_name(nm, sizeof nm, l, what);
                if (fn(u, nm, &a->lora_a[k], err) != 0)
                    return -1;
                snprintf(what, sizeof what, "%s.lora_b", pgr_site_name(site));
                tensor_name(nm, sizeof nm, l, what);
                if (fn(u, nm, &a->lora_b[k], err) != 0)
                    return -1;
            }
        } else {
            tensor_name(nm, sizeof nm, l, "reft.R");
            if (fn(u, nm, &a->reft_R[l], err) != 0)
                return -1;
            tensor_name(nm, sizeof nm, l, "reft.W");
            if (fn(u, nm, &a->reft_W[l], err) != 0)
                return -1;
            tensor_name(nm, sizeof nm, l, "reft.b");
            if (fn(u, nm, &a->reft_b[l], err) != 0)
                return -1;
        }
    }
    return 0;
}

typedef struct save_ctx {
    json_t *hdr;
    size_t off;
    FILE *f;
} save_ctx;

static int save_header_fn(void *u, const char *name, pgr_adapter_tensor *t, pgr_err *err)
{
    save_ctx *c = u;
    size_t nb = (size_t)t->rows * (size_t)t->cols * 4;
    json_t *e =
        t->rows == 1 && strstr(name, "reft.b")
            ? json_pack("{s:s, s:[I], s:[I,I]}", "dtype", "F32", "shape", (json_int_t)t->cols,
                        "data_offsets", (json_int_t)c->off, (json_int_t)(c->off + nb))
            : json_pack("{s:s, s:[I,I], s:[I,I]}", "dtype", "F32", "shape", (json_int_t)t->rows,
                        (json_int_t)t->cols, "data_offsets", (json_int_t)c->off,
                        (json_int_t)(c->off + nb));
    if (!e || json_object_set_new(c->hdr, name, e) != 0)
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    c->off += nb;
    return 0;
}

static int save_data_fn(void *u, const char *name, pgr_adapter_tensor *t, pgr_err *err)
{
    save_ctx *c = u;
    size_t n = (size_t)t->rows * (size_t)t->cols;
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, &t->data[i], 4);
        uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        if (fwrite(b, 1, 4, c->f) != 4)
            return pgr_errf(err, PGR_EIO, "writing tensor %s: %s", name, strerror(errno));
    }
    return 0;
}

static char *targets_str(uint32_t targets, char *buf, size_t n)
{
    buf[0] = 0;
    for (int s = 0; s < PGR_SITE_COUNT; s++)
        if (targets & (1u << s)) {
            if (buf[0])
                strncat(buf, ",", n - strlen(buf) - 1);
            strncat(buf, pgr_site_name(s), n - strlen(buf) - 1);
        }
    return buf;
}

int pgr_adapter_save(const pgr_adapter *a, const char *path, pgr_err *err)
{
    save_ctx c = {json_object(), 0, NULL};
    char *text = NULL, tmp[4096];
    int rc = -1;
    pgr_sb layers = {0};
    if (!c.hdr)
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    for (int i = 0; i < a->spec.n_layers; i++)
        pgr_sb_printf(&layers, "%s%d", i ? "," : "", a->spec.layers[i]);
    char rank[16], alpha[32], pos[48], targets[64];
    snprintf(rank, sizeof rank, "%d", a->spec.rank);
    snprintf(alpha, sizeof alpha, "%.9g", (double)a->spec.alpha);
    if (a->spec.pos_first < 0)
        snprintf(pos, sizeof pos, "all");
    else
        snprintf(pos, sizeof pos, "f%d+l%d", a->spec.pos_first, a->spec.pos_last);
    json_t *meta = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "format", "peergraph-adapter",
        "version", "1", "base_model_sha256", a->base_sha256, "method",
        pgr_adapter_method_name(a->spec.method), "mode", pgr_adapter_mode_name(a->spec.mode),
        "targets", targets_str(a->spec.targets, targets, sizeof targets), "rank", rank, "alpha",
        alpha, "layers", layers.data ? layers.data : "", "positions", pos);
    if (!meta || !pgr_sb_ok(&layers) || json_object_set_new(c.hdr, "__metadata__", meta) != 0) {
        pgr_errf(err, PGR_ENOMEM, "out of memory");
        goto cleanup;
    }
    if (each_tensor(a, save_header_fn, &c, err) != 0)
        goto cleanup;
    text = json_dumps(c.hdr, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        pgr_errf(err, PGR_ENOMEM, "out of memory");
        goto cleanup;
    }
    size_t hl = strlen(text), pad = (8 - hl % 8) % 8; /* keep tensors 8-byte aligned */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    c.f = fopen(tmp, "wb");
    if (!c.f) {
        pgr_errf(err, PGR_EIO, "%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    uint64_t h = hl + pad;
    uint8_t hb[8];
    for (int i = 0; i < 8; i++)
        hb[i] = (uint8_t)(h >> (8 * i));
    if (fwrite(hb, 1, 8, c.f) != 8 || fwrite(text, 1, hl, c.f) != hl ||
        fwrite("        ", 1, pad, c.f) != pad) {
        pgr_errf(err, PGR_EIO, "%s: write: %s", tmp, strerror(errno));
        goto cleanup;
    }
    if (each_tensor(a, save_data_fn, &c, err) != 0) {
        pgr_err_prefix(err, "%s", tmp);
        goto cleanup;
    }
    if (fclose(c.f) != 0) {
        c.f = NULL;
        pgr_errf(err, PGR_EIO, "%s: close: %s", tmp, strerror(errno));
        goto cleanup;
    }
    c.f = NULL;
    if (rename(tmp, path) != 0) {
        pgr_errf(err, PGR_EIO, "%s: rename: %s", path, strerror(errno));
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (c.f) {
        fclose(c.f);
        remove(tmp);
    }
    free(text);
    pgr_sb_free(&layers);
    json_decref(c.hdr);
    return rc;
}

typedef struct load_ctx {
    const pgr_st_file *st;
    const char *file;
    size_t used;
    int borrow; /* F32 tensors may point into the (mapped) file */
} load_ctx;

/* Index of the first non-finite float of n little-endian F32 values, or n.
 * One pass of bit tests the compiler vectorises: the mapped path's
 * replacement for st_copy's per-element check. */
static size_t first_nonfinite_f32(const uint8_t *p, size_t n)
{
    const uint32_t *u = (const uint32_t *)(const void *)p; /* 4-aligned: checked by the caller */
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= (u[i] & 0x7f800000u) == 0x7f800000u;
    if (!bad)
        return n;
    size_t i = 0;
    while ((u[i] & 0x7f800000u) != 0x7f800000u)
        i++;
    return i;
}

/* Places a file tensor in t (shape set, data = pgr_adapter_unset_): points
 * into the file when borrowing and the tensor is 4-aligned F32 on a
 * little-endian host, else a malloc'd converted copy. */
static int load_fn(void *u, const char *name, pgr_adapter_tensor *t, pgr_err *err)
{
    load_ctx *c = u;
    const pgr_st_tensor *s = pgr_st_find(c->st, name);
    if (!s)
        return pgr_errf(err, PGR_EINVAL, "%s: tensor %s missing", c->file, name);
    c->used++;
    int64_t rows = s->n_dims == 2 ? s->shape[0] : 1;
    int64_t cols = s->n_dims == 2 ? s->shape[1] : s->n_dims == 1 ? s->shape[0] : -1;
    if (cols < 0 || rows != t->rows || cols != t->cols) /* st_copy names the shapes */
        return st_copy(s, t, c->file, err);
    size_t n = (size_t)rows * (size_t)cols;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (c->borrow && s->dtype == PGR_KT_F32 && (uintptr_t)s->data % sizeof(float) == 0) {
        size_t bad = first_nonfinite_f32(s->data, n);
        if (bad < n)
            return pgr_errf(err, PGR_EINVAL, "%s: tensor %s: element %zu is not finite", c->file,
                            s->name, bad);
        t->data = (float *)(uintptr_t)s->data; /* writable: the map is private */
        return 0;
    }
#endif
    float *d = malloc(n ? n * sizeof(float) : 1);
    if (!d)
        return pgr_errf(err, PGR_ENOMEM, "%s: tensor %s: out of memory", c->file, s->name);
    t->data = d;
    return st_copy(s, t, c->file, err);
}

static const char *meta_str(json_t *meta, const char *key)
{
    return json_string_value(json_object_get(meta, key));
}

/* pgr_adapter_parse, and pgr_adapter_load's mapped file: when map is
 * non-NULL it is data (len bytes, from mmap), F32 tensors point into it and
 * the adapter owns the mapping; on failure the mapping is unmapped here. */
static int parse_impl(const void *data, size_t len, void *map, const char *name,
                      const pgr_model *m, const char *model_sha256, pgr_adapter **out,
                      pgr_err *err)
{
    pgr_st_file st;
    json_t *meta = NULL;
    pgr_adapter *a = NULL;
    int rc = -1;
    *out = NULL;
    if (pgr_st_parse(data, len, name, &st, err) != 0) {
        if (map)
            munmap(map, len);
        return -1;
    }
    if (!st.metadata_json || !(meta = json_loads(st.metadata_json, 0, NULL))) {
        pgr_errf(err, PGR_EINVAL, "%s: no __metadata__: not a peergraph adapter", name);
        goto cleanup;
    }
    const char *fmt = meta_str(meta, "format"), *ver = meta_str(meta, "version");
    if (!fmt || strcmp(fmt, "peergraph-adapter") != 0) {
        pgr_errf(err, PGR_EINVAL, "%s: __metadata__.format is '%s', not peergraph-adapter", name,
                 fmt ? fmt : "(missing)");
        goto cleanup;
    }
    if (!ver || strcmp(ver, "1") != 0) {
        pgr_errf(err, PGR_EVERSION, "%s: __metadata__.version '%s' not understood (1)", name,
                 ver ? ver : "(missing)");
        goto cleanup;
    }
    static const char *fields[] = {
        "base_model_sha256", "method", "mode", "targets", "rank", "alpha", "layers", "positions"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (!meta_str(meta, fields[i])) {
            pgr_errf(err, PGR_EINVAL, "%s: __metadata__.%s missing", name, fields[i]);
            goto cleanup;
        }
    pgr_adapter_spec spec;
    memset(&spec, 0, sizeof spec);
    const char *hash = meta_str(meta, "base_model_sha256");
    if (strlen(hash) != 0 && strlen(hash) != 64) {
        pgr_errf(err, PGR_EINVAL, "%s: __metadata__.base_model_sha256 is not a sha256", name);
        goto cleanup;
    }
    if (model_sha256 && model_sha256[0] && strcmp(hash, model_sha256) != 0) {
        pgr_errf(err, PGR_EINVAL,
                 "%s: __metadata__.base_model_sha256 %.12s... is not the loaded model's %.12s...",
                 name, hash[0] ? hash : "(none)", model_sha256);
        goto cleanup;
    }
    char *end;
    long rank = strtol(meta_str(meta, "rank"), &end, 10);
    if (*end || rank < 1 || rank > PGR_AD_MAX_RANK) {
        pgr_errf(err, PGR_EINVAL, "%s: __metadata__.rank '%s' invalid", name,
                 meta_str(meta, "rank"));
        goto cleanup;
    }
    spec.rank = (int)rank;
    double alpha = strtod(meta_str(meta, "alpha"), &end);
    if (*end || !isfinite(alpha) || fabs(alpha) > 1e6) {
        pgr_errf(err, PGR_EINVAL, "%s: __metadata__.alpha invalid", name);
        goto cleanup;
    }
    spec.alpha = (float)alpha;
    if (pgr_adapter_parse_method(meta_str(meta, "method"), &spec.method, err) != 0 ||
        pgr_adapter_parse_mode(meta_str(meta, "mode"), &spec.mode, err) != 0 ||
        pgr_adapter_parse_targets(meta_str(meta, "targets"), &spec.targets, err) != 0 ||
        pgr_adapter_parse_layers(meta_str(meta, "layers"), pgr_model_config(m)->n_layer, &spec,
                                 err) != 0 ||
        pgr_adapter_parse_positions(meta_str(meta, "positions"), &spec.pos_first, &spec.pos_last,
                                    err) != 0 ||
        pgr_adapter_new_ex(&spec, m, 0, &a, err) != 0) {
        pgr_err_prefix(err, "%s: __metadata__", name);
        goto cleanup;
    }
    if (map) /* from here the adapter frees the mapping, and never frees what lies in it */
        a->map = map, a->map_len = len;
    memcpy(a->base_sha256, hash, strlen(hash) + 1);
    load_ctx lc = {&st, name, 0, map != NULL};
    if (each_tensor(a, load_fn, &lc, err) != 0)
        goto cleanup;
    if (lc.used != st.n_tensors) {
        /* name the first tensor we did not expect */
        for (size_t i = 0; i < st.n_tensors; i++) {
            int l;
            char what[64];
            if (sscanf(st.tensors[i].name, "layers.%d.%63s", &l, what) != 2 || l < 0 ||
                l >= a->n_layer) {
                pgr_errf(err, PGR_EINVAL, "%s: unexpected tensor %s", name, st.tensors[i].name);
                goto cleanup;
            }
        }
        pgr_errf(err, PGR_EINVAL, "%s: %zu tensors not named by the metadata (layers/targets)",
                 name, st.n_tensors - lc.used);
        goto cleanup;
    }
    *out = a;
    a = NULL;
    rc = 0;
cleanup:
    if (rc != 0 && map && !(a && a->map == map))
        munmap(map, len);
    pgr_adapter_free(a);
    json_decref(meta);
    pgr_st_free(&st);
    return rc;
}

int pgr_adapter_parse(const void *data, size_t len, const char *name, const pgr_model *m,
                      const char *model_sha256, pgr_adapter **out, pgr_err *err)
{
    return parse_impl(data, len, NULL, name, m, model_sha256, out, err);
}

/* The file is mapped, not read: F32 tensors are used where they lie in the
 * page cache (no heap copy, no file buffer beside the parsed tensors, no
 * zeroed pages to fault in; they count as file-backed resident pages). The
 * map is private, so the adapter may be written (training) without touching
 * the file, and a file replaced by rename (pgr_adapter_save) leaves the old
 * inode mapped; truncating a loaded file in place is not supported (SIGBUS). */
int pgr_adapter_load(const char *path, const pgr_model *m, const char *model_sha256,
                     pgr_adapter **out, pgr_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pgr_errf(err, PGR_EIO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return pgr_errf(err, PGR_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size < 8 || (uint64_t)sb.st_size > SIZE_MAX / 2) {
        /* not mappable as an adapter: read it, and let the parser say why.
         * Read through the descriptor already open: reopening a FIFO or a
         * device would lose what the first open was given (a writer that
         * saw its reader go away gets SIGPIPE). */
        FILE *f = fdopen(fd, "rb");
        if (!f) {
            int e = errno;
            close(fd);
            return pgr_errf(err, PGR_EIO, "%s: %s", path, strerror(e));
        }
        char *data;
        size_t n;
        if (pgr_read_stream(f, path, &data, &n, err) != 0)
            return -1;
        int rc = parse_impl(data, n, NULL, path, m, model_sha256, out, err);
        free(data);
        return rc;
    }
    size_t len = (size_t)sb.st_size;
    /* No MAP_POPULATE: on a writable private map it prefaults for write,
     * copying every page into anonymous memory (the copy this avoids). Read
     * faults map the page-cache pages themselves, several per fault
     * (fault-around); MADV_WILLNEED starts reading what is not cached. */
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED)
        return pgr_errf(err, PGR_EIO, "%s: mmap: %s", path, strerror(e));
    madvise(map, len, MADV_WILLNEED);
    return parse_impl(map, len, map, path, m, model_sha256, out, err);
}

/* An importer's zero adapter: layers are those seen in the file (on[]), the
 * base hash the loaded model's (imported files carry none of ours). */
static int new_imported(pgr_adapter_spec *spec, const uint8_t *on, const pgr_model *m,
                        const char *model_sha256, const char *path, pgr_adapter **a, pgr_err *err)
{
    int n_layer = pgr_model_config(m)->n_layer;
    for (int l = 0; l < n_layer && l < PGR_AD_MAX_LAYERS; l++)
        if (on[l])
            spec->layers[spec->n_layers++] = l;
    if (pgr_adapter_new(spec, m, a, err) != 0) {
        pgr_err_prefix(err, "%s", path);
        return -1;
    }
    if (model_sha256)
        snprintf((*a)->base_sha256, sizeof(*a)->base_sha256, "%s", model_sha256);
    return 0;
}

/* ---- PEFT ---------------------------------------------------------------------------- */

static const char *peft_module[PGR_SITE_RESID] = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};

/* llama.cpp's convert_hf_to_gguf permute(): rows of each head (2, hd/2)
 * become (hd/2, 2), i.e. GGUF row h*hd + 2i + j = HF row h*hd + j*hd/2 + i. */
static int permute_rows(pgr_adapter_tensor *t, int n_head, pgr_err *err)
{
    if (n_head < 1 || t->rows % n_head || (t->rows / n_head) % 2)
        return pgr_errf(err, PGR_EINVAL, "cannot permute %d rows into %d heads", t->rows, n_head);
    int hd = t->rows / n_head, cols = t->cols;
    size_t rb = (size_t)cols * sizeof(float);
    float *tmp = malloc((size_t)t->rows * rb);
    if (!tmp)
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    for (int h = 0; h < n_head; h++)
        for (int i = 0; i < hd / 2; i++)
            for (int j = 0; j < 2; j++)
                memcpy(tmp + (size_t)(h * hd + 2 * i + j) * cols,
                       t->data + (size_t)(h * hd + j * (hd / 2) + i) * cols, rb);
    memcpy(t->data, tmp, (size_t)t->rows * rb);
    free(tmp);
    return 0;
}

int pgr_adapter_import_peft(const char *dir, const pgr_model *m, const char *model_sha256,
                            pgr_adapter **out, pgr_err *err)
{
    char path[4096], *cfg_text = NULL, *st_data = NULL;
    size_t cfg_len, st_len;
    json_t *cfg = NULL;
    pgr_st_file st = {0};
    pgr_adapter *a = NULL;
    int rc = -1;
    const pgr_model_cfg *mc = pgr_model_config(m);
    *out = NULL;
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    if (pgr_read_file(path, &cfg_text, &cfg_len, err) != 0)
        goto cleanup;
    json_error_t jerr;
    cfg = json_loadb(cfg_text, cfg_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!cfg || !json_is_object(cfg)) {
        pgr_errf(err, PGR_EINVAL, "%s: JSON: %s", path, cfg ? "not an object" : jerr.text);
        goto cleanup;
    }
    json_t *jr = json_object_get(cfg, "r"), *ja = json_object_get(cfg, "lora_alpha");
    const char *ptype = json_string_value(json_object_get(cfg, "peft_type"));
    if (ptype && strcmp(ptype, "LORA") != 0) {
        pgr_errf(err, PGR_EUNSUPPORTED, "%s: peft_type %s (only LORA)", path, ptype);
        goto cleanup;
    }
    if (!json_is_integer(jr) || json_integer_value(jr) < 1 ||
        json_integer_value(jr) > PGR_AD_MAX_RANK || !json_is_number(ja)) {
        pgr_errf(err, PGR_EINVAL, "%s: r or lora_alpha missing or invalid", path);
        goto cleanup;
    }
    pgr_adapter_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.method = PGR_AD_LORA, spec.mode = PGR_AD_PREFILL;
    spec.rank = (int)json_integer_value(jr);
    spec.alpha = (float)json_number_value(ja);
    if (json_is_true(json_object_get(cfg, "use_rslora"))) /* scale alpha/sqrt(r) */
        spec.alpha *= sqrtf((float)spec.rank);
    spec.pos_first = spec.pos_last = -1;

    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    if (pgr_read_file(path, &st_data, &st_len, err) != 0 ||
        pgr_st_parse(st_data, st_len, path, &st, err) != 0)
        goto cleanup;
    /* layers and targets from the tensor names (PEFT may skip layers) */
    uint8_t on[PGR_AD_MAX_LAYERS] = {0};
    for (size_t i = 0; i < st.n_tensors; i++) {
        const char *nm = st.tensors[i].name;
        int l, found = -1;
        char rest[200];
        if (sscanf(nm, "base_model.model.model.layers.%d.%199s", &l, rest) != 2 || l < 0 ||
            l >= mc->n_layer || l >= PGR_AD_MAX_LAYERS) {
            pgr_errf(err, PGR_EINVAL,
                     "%s: tensor %s: not a llama layer's LoRA tensor (layers 0..%d)", path, nm,
                     mc->n_layer - 1);
            goto cleanup;
        }
        for (int s = 0; s < PGR_SITE_RESID; s++) {
            size_t ml = strlen(peft_module[s]);
            if (strncmp(rest, peft_module[s], ml) == 0 &&
                (strcmp(rest + ml, ".lora_A.weight") == 0 ||
                 strcmp(rest + ml, ".lora_B.weight") == 0))
                found = s;
        }
        if (found < 0) {
            pgr_errf(err, PGR_EINVAL, "%s: tensor %s: unknown module (q,k,v,o,gate,up,down_proj)",
                     path, nm);
            goto cleanup;
        }
        on[l] = 1;
        spec.targets |= 1u << found;
    }
    if (new_imported(&spec, on, m, model_sha256, path, &a, err) != 0)
        goto cleanup;
    for (size_t i = 0; i < st.n_tensors; i++) {
        const pgr_st_tensor *t = &st.tensors[i];
        int l, s = -1;
        char rest[200];
        sscanf(t->name, "base_model.model.model.layers.%d.%199s", &l, rest);
        for (int k = 0; k < PGR_SITE_RESID; k++)
            if (strncmp(rest, peft_module[k], strlen(peft_module[k])) == 0)
                s = k;
        int is_b = strstr(rest, ".lora_B.") != NULL;
        size_t k = (size_t)l * PGR_SITE_COUNT + (size_t)s;
        pgr_adapter_tensor *dst = is_b ? &a->lora_b[k] : &a->lora_a[k];
        if (st_copy(t, dst, path, err) != 0)
            goto cleanup;
        if (is_b && (s == PGR_SITE_Q || s == PGR_SITE_K) &&
            permute_rows(dst, s == PGR_SITE_Q ? mc->n_head : mc->n_kv_head, err) != 0) {
            pgr_err_prefix(err, "%s: tensor %s", path, t->name);
            goto cleanup;
        }
    }
    *out = a;
    a = NULL;
    rc = 0;
cleanup:
    pgr_adapter_free(a);
    pgr_st_free(&st);
    free(st_data);
    json_decref(cfg);
    free(cfg_text);
    return rc;
}

/* ---- llama.cpp GGUF LoRA ------------------------------------------------------------- */

static const char *gguf_site[PGR_SITE_RESID] = {"attn_q",   "attn_k", "attn_v",  "attn_output",
                                                "ffn_gate", "ffn_up", "ffn_down"};

static int gguf_copy(const gguf_tensor *g, pgr_adapter_tensor *t, const char *path, pgr_err *err)
{
    if (g->n_dims != 2 || g->ne[0] != t->cols || g->ne[1] != t->rows)
        return pgr_errf(err, PGR_EINVAL, "%s: tensor %s: shape [%lld, %lld], expected [%d, %d]",
                        path, g->name, (long long)g->ne[0], (long long)g->ne[1], t->cols, t->rows);
    for (int r = 0; r < t->rows; r++)
        if (pgr_dequant_row((int)g->type, (const uint8_t *)g->data + (size_t)r * g->row_bytes,
                            t->data + (size_t)r * t->cols, (size_t)t->cols) != 0)
            return pgr_errf(err, PGR_EUNSUPPORTED, "%s: tensor %s: type %s unsupported", path,
                            g->name, pgr_kt_name((int)g->type));
    return 0;
}

int pgr_adapter_import_gguf(const char *path, const pgr_model *m, const char *model_sha256,
                            pgr_adapter **out, pgr_err *err)
{
    gguf_file *g = NULL;
    pgr_adapter *a = NULL;
    int rc = -1;
    const pgr_model_cfg *mc = pgr_model_config(m);
    *out = NULL;
    if (gguf_open(path, &g, err) != 0)
        return -1;
    gguf_str gt;
    float alpha = 0;
    if (gguf_get_str(g, "general.type", &gt, err) != 0 || gt.len != 7 ||
        memcmp(gt.s, "adapter", 7) != 0) {
        pgr_errf(err, PGR_EINVAL, "%s: general.type is not 'adapter'", path);
        goto cleanup;
    }
    if (gguf_find_key(g, "adapter.type") >= 0) {
        gguf_str at;
        if (gguf_get_str(g, "adapter.type", &at, err) != 0 || at.len != 4 ||
            memcmp(at.s, "lora", 4) != 0) {
            pgr_errf(err, PGR_EUNSUPPORTED, "%s: adapter.type is not 'lora'", path);
            goto cleanup;
        }
    }
    if (gguf_get_f32(g, "adapter.lora.alpha", &alpha, err) != 0)
        goto cleanup;
    pgr_adapter_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.method = PGR_AD_LORA, spec.mode = PGR_AD_PREFILL, spec.alpha = alpha;
    spec.pos_first = spec.pos_last = -1;
    uint8_t on[PGR_AD_MAX_LAYERS] = {0};
    for (size_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        int l, found = -1;
        char rest[128];
        if (sscanf(t->name, "blk.%d.%127s", &l, rest) != 2 || l < 0 || l >= mc->n_layer ||
            l >= PGR_AD_MAX_LAYERS) {
            pgr_errf(err, PGR_EINVAL, "%s: tensor %s: not blk.N.* of this model's %d layers", path,
                     t->name, mc->n_layer);
            goto cleanup;
        }
        for (int s = 0; s < PGR_SITE_RESID; s++) {
            size_t sl = strlen(gguf_site[s]);
            if (strncmp(rest, gguf_site[s], sl) == 0 && (strcmp(rest + sl, ".weight.lora_a") == 0 ||
                                                         strcmp(rest + sl, ".weight.lora_b") == 0))
                found = s;
        }
        if (found < 0) {
            pgr_errf(err, PGR_EINVAL, "%s: tensor %s: not a LoRA tensor of a known projection",
                     path, t->name);
            goto cleanup;
        }
        if (strstr(rest, "lora_a") && t->n_dims == 2) {
            if (spec.rank && spec.rank != t->ne[1]) {
                pgr_errf(err, PGR_EINVAL, "%s: tensor %s: rank %lld differs from %d", path, t->name,
                         (long long)t->ne[1], spec.rank);
                goto cleanup;
            }
            spec.rank = (int)(t->ne[1] > PGR_AD_MAX_RANK ? PGR_AD_MAX_RANK + 1 : t->ne[1]);
        }
        on[l] = 1;
        spec.targets |= 1u << found;
    }
    if (new_imported(&spec, on, m, model_sha256, path, &a, err) != 0)
        goto cleanup;
    for (size_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        int l, s = -1;
        char rest[128];
        sscanf(t->name, "blk.%d.%127s", &l, rest);
        for (int k = 0; k < PGR_SITE_RESID; k++)
            if (strncmp(rest, gguf_site[k], strlen(gguf_site[k])) == 0 &&
                rest[strlen(gguf_site[k])] == '.')
                s = k;
        size_t k = (size_t)l * PGR_SITE_COUNT + (size_t)s;
        if (gguf_copy(t, strstr(rest, "lora_b") ? &a->lora_b[k] : &a->lora_a[k], path, err) != 0)
            goto cleanup;
    }
    *out = a;
    a = NULL;
    rc = 0;
cleanup:
    pgr_adapter_free(a);
    gguf_close(g);
    return rc;
}
