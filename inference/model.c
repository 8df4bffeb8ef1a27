/* llama forward pass over a multi-sequence batch with a paged KV cache.
 * The graph mirrors llama.cpp's LLM_ARCH_LLAMA build (see model.h); every op
 * goes through the backend table so kernels/cuda can replace kernels/cpu. */
#include "inference/model.h"

#include "kernels/cuda/cuda_backend.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pgr_layer {
    float *attn_norm; /* (dim) */
    float *ffn_norm;  /* (dim) */
    pgr_wmat w[PGR_SITE_RESID]; /* q (n_head*hd, dim), k/v (kv_dim, dim), o (dim, n_head*hd),
                                   gate/up (ffn, dim), down (dim, ffn) */
} pgr_layer;

struct pgr_model {
    pgr_model_cfg cfg;
    gguf_file *gguf;   /* NULL for random models */
    void *pool;        /* random weights, or the float copies of norms */
    size_t weight_bytes;
    pgr_wmat tok_embd; /* (vocab, dim) */
    pgr_wmat output;   /* (vocab, dim): output.weight or tok_embd (tied) */
    float *output_norm; /* (dim) */
    pgr_layer *layers; /* (n_layer) */
};

static const char *site_names[PGR_SITE_COUNT] = {"q", "k", "v", "o", "gate", "up", "down", "resid"};
static const char *site_tensor[PGR_SITE_RESID] = {"attn_q",   "attn_k", "attn_v",  "attn_output",
                                                  "ffn_gate", "ffn_up", "ffn_down"};

const char *pgr_site_name(int site)
{
    return site >= 0 && site < PGR_SITE_COUNT ? site_names[site] : "?";
}

const pgr_model_cfg *pgr_model_config(const pgr_model *m) { return &m->cfg; }
const gguf_file *pgr_model_gguf(const pgr_model *m) { return m->gguf; }
size_t pgr_model_weight_bytes(const pgr_model *m) { return m->weight_bytes; }

const pgr_wmat *pgr_model_weight(const pgr_model *m, int layer, int site)
{
    if (layer < 0 || layer >= m->cfg.n_layer || site < 0 || site >= PGR_SITE_RESID)
        return NULL;
    return &m->layers[layer].w[site];
}

const pgr_wmat *pgr_model_tok_embd(const pgr_model *m) { return &m->tok_embd; }
const pgr_wmat *pgr_model_output(const pgr_model *m) { return &m->output; }

const float *pgr_model_norm(const pgr_model *m, int layer, int which)
{
    if (layer == -1)
        return m->output_norm;
    if (layer < 0 || layer >= m->cfg.n_layer || which < 0 || which > 1)
        return NULL;
    return which ? m->layers[layer].ffn_norm : m->layers[layer].attn_norm;
}

/* (rows, cols) of each projection */
static void site_shape(const pgr_model_cfg *c, int site, int *rows, int *cols)
{
    const int qd = c->n_head * c->head_dim, kvd = c->n_kv_head * c->head_dim;
    switch (site) {
    case PGR_SITE_Q: *rows = qd, *cols = c->dim; break;
    case PGR_SITE_K:
    case PGR_SITE_V: *rows = kvd, *cols = c->dim; break;
    case PGR_SITE_O: *rows = c->dim, *cols = qd; break;
    case PGR_SITE_GATE:
    case PGR_SITE_UP: *rows = c->ffn_dim, *cols = c->dim; break;
    default: *rows = c->dim, *cols = c->ffn_dim; break;
    }
}

void pgr_model_free(pgr_model *m)
{
    if (!m)
        return;
    gguf_close(m->gguf);
    free(m->pool);
    free(m->layers);
    free(m);
}

static int cfg_check(const pgr_model_cfg *c, const char *name, pgr_err *err)
{
    if (c->n_layer < 1 || c->n_layer > 1024 || c->dim < 1 || c->dim > 65536 || c->n_head < 1 ||
        c->n_head > 1024 || c->n_kv_head < 1 || c->n_head % c->n_kv_head != 0 ||
        c->head_dim < 2 || c->head_dim % 2 || c->head_dim > 1024 || c->ffn_dim < 1 ||
        c->ffn_dim > 1 << 20 || c->vocab < 1 || c->vocab > 1 << 24 ||
        !(c->rope_theta > 0) || !(c->norm_eps > 0))
        return pgr_errf(err, PGR_EINVAL,
                        "%s: implausible shapes: n_layer %d dim %d n_head %d n_kv_head %d "
                        "head_dim %d ffn %d vocab %d",
                        name, c->n_layer, c->dim, c->n_head, c->n_kv_head, c->head_dim,
                        c->ffn_dim, c->vocab);
    return 0;
}

/* ---- loading from GGUF ------------------------------------------------------ */
static int get_u32_key(const gguf_file *f, const char *arch, const char *suffix, int required,
                       uint32_t def, int *out, pgr_err *err)
{
    char key[256];
    uint32_t v = def;
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (gguf_get_u32(f, key, &v, err) != 0) {
        if (err && err->code == PGR_ENOTFOUND && !required)
            v = def;
        else
            return -1;
    }
    if (v > INT32_MAX)
        return pgr_errf(err, PGR_EINVAL, "%s: %s = %" PRIu32 " is too large", gguf_path(f), key, v);
    *out = (int)v;
    return 0;
}

static int get_f32_key(const gguf_file *f, const char *arch, const char *suffix, float def,
                       float *out, pgr_err *err)
{
    char key[256];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (gguf_get_f32(f, key, out, err) != 0) {
        if (err && err->code == PGR_ENOTFOUND) {
            *out = def;
            return 0;
        }
        return -1;
    }
    return 0;
}

/* Finds a 2-D tensor of shape (rows, cols) in a supported type. */
static int load_mat(const gguf_file *f, const char *name, int rows, int cols, int required,
                    pgr_wmat *w, pgr_err *err)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t) {
        if (!required)
            return 1;
        return pgr_errf(err, PGR_EINVAL, "%s: tensor %s is missing", gguf_path(f), name);
    }
    if (t->n_dims != 2 || t->ne[0] != cols || t->ne[1] != rows)
        return pgr_errf(err, PGR_EINVAL,
                        "%s: tensor %s has shape [%" PRId64 ", %" PRId64 "], expected [%d, %d]",
                        gguf_path(f), name, t->ne[0], t->ne[1], cols, rows);
    if (!pgr_kernels_cpu()->supports((int)t->type))
        return pgr_errf(err, PGR_EUNSUPPORTED, "%s: tensor %s has type %s, which the engine lacks",
                        gguf_path(f), name, pgr_kt_name((int)t->type));
    w->type = (int)t->type;
    w->rows = rows;
    w->cols = cols;
    w->row_bytes = t->row_bytes;
    w->data = t->data;
    return 0;
}

/* Copies a 1-D weight of n floats (any supported type) into out. */
static int load_vec(const gguf_file *f, const char *name, int n, float *out, pgr_err *err)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t)
        return pgr_errf(err, PGR_EINVAL, "%s: tensor %s is missing", gguf_path(f), name);
    if (t->n_dims != 1 || t->ne[0] != n)
        return pgr_errf(err, PGR_EINVAL, "%s: tensor %s has %" PRId64 " elements, expected %d",
                        gguf_path(f), name, t->ne[0], n);
    if (pgr_dequant_row((int)t->type, t->data, out, (size_t)n) != 0)
        return pgr_errf(err, PGR_EUNSUPPORTED, "%s: tensor %s has unsupported type %s",
                        gguf_path(f), name, pgr_kt_name((int)t->type));
    return 0;
}

int pgr_model_load(const char *path, pgr_model **out, pgr_err *err)
{
    int rc = -1;
    *out = NULL;
    pgr_model *m = calloc(1, sizeof *m);
    if (!m)
        return pgr_errf(err, PGR_ENOMEM, "%s: out of memory", path);
    if (gguf_open(path, &m->gguf, err) != 0)
        goto cleanup;
    const gguf_file *f = m->gguf;
    gguf_str arch;
    if (gguf_get_str(f, "general.architecture", &arch, err) != 0)
        goto cleanup;
    if (strcmp(arch.s, "llama") != 0) {
        pgr_errf(err, PGR_EUNSUPPORTED, "%s: architecture '%s' is not supported (llama only)",
                 path, arch.s);
        goto cleanup;
    }
    pgr_model_cfg *c = &m->cfg;
    int rope_dims = 0, key_len = 0;
    if (get_u32_key(f, "llama", "block_count", 1, 0, &c->n_layer, err) ||
        get_u32_key(f, "llama", "embedding_length", 1, 0, &c->dim, err) ||
        get_u32_key(f, "llama", "feed_forward_length", 1, 0, &c->ffn_dim, err) ||
        get_u32_key(f, "llama", "attention.head_count", 1, 0, &c->n_head, err) ||
        get_u32_key(f, "llama", "attention.head_count_kv", 0, 0, &c->n_kv_head, err) ||
        get_u32_key(f, "llama", "context_length", 0, 4096, &c->ctx_len, err) ||
        get_u32_key(f, "llama", "rope.dimension_count", 0, 0, &rope_dims, err) ||
        get_u32_key(f, "llama", "attention.key_length", 0, 0, &key_len, err) ||
        get_f32_key(f, "llama", "rope.freq_base", 10000.0f, &c->rope_theta, err) ||
        get_f32_key(f, "llama", "attention.layer_norm_rms_epsilon", 1e-5f, &c->norm_eps, err))
        goto cleanup;
    if (c->n_kv_head == 0)
        c->n_kv_head = c->n_head;
    c->head_dim = key_len ? key_len : (c->n_head ? c->dim / c->n_head : 0);
    const gguf_tensor *te = gguf_find_tensor(f, "token_embd.weight");
    if (!te || te->n_dims != 2) {
        pgr_errf(err, PGR_EINVAL, "%s: tensor token_embd.weight is missing or not 2-D", path);
        goto cleanup;
    }
    c->vocab = te->ne[1] > INT32_MAX ? 0 : (int)te->ne[1];
    if (cfg_check(c, path, err))
        goto cleanup;
    if (rope_dims && rope_dims != c->head_dim) {
        pgr_errf(err, PGR_EUNSUPPORTED, "%s: partial RoPE (rope.dimension_count %d != head dim %d)",
                 path, rope_dims, c->head_dim);
        goto cleanup;
    }
    if (gguf_find_key(f, "llama.rope.scaling.type") >= 0 || gguf_find_tensor(f, "rope_freqs.weight")) {
        gguf_str st = {"", 0};
        gguf_get_str(f, "llama.rope.scaling.type", &st, NULL);
        if (gguf_find_tensor(f, "rope_freqs.weight") || (st.s && strcmp(st.s, "none") != 0 && st.len)) {
            pgr_errf(err, PGR_EUNSUPPORTED, "%s: RoPE scaling (%s) is not supported", path,
                     st.len ? st.s : "rope_freqs.weight");
            goto cleanup;
        }
    }
    /* norms as float copies: (2 * n_layer + 1) * dim */
    size_t nf;
    if (!pgr_mul_ok((size_t)(2 * c->n_layer + 1), (size_t)c->dim, &nf) ||
        !(m->pool = calloc(nf, sizeof(float))) ||
        !(m->layers = calloc((size_t)c->n_layer, sizeof *m->layers))) {
        pgr_errf(err, PGR_ENOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    float *fp = m->pool;
    m->output_norm = fp;
    fp += c->dim;
    if (load_mat(f, "token_embd.weight", c->vocab, c->dim, 1, &m->tok_embd, err) ||
        load_vec(f, "output_norm.weight", c->dim, m->output_norm, err))
        goto cleanup;
    int r = load_mat(f, "output.weight", c->vocab, c->dim, 0, &m->output, err);
    if (r < 0)
        goto cleanup;
    if (r == 1)
        m->output = m->tok_embd; /* tied embeddings */
    for (int l = 0; l < c->n_layer; l++) {
        pgr_layer *L = &m->layers[l];
        char name[96];
        L->attn_norm = fp;
        fp += c->dim;
        L->ffn_norm = fp;
        fp += c->dim;
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        if (load_vec(f, name, c->dim, L->attn_norm, err))
            goto cleanup;
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
        if (load_vec(f, name, c->dim, L->ffn_norm, err))
            goto cleanup;
        for (int s = 0; s < PGR_SITE_RESID; s++) {
            int rows, cols;
            site_shape(c, s, &rows, &cols);
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, site_tensor[s]);
            if (load_mat(f, name, rows, cols, 1, &L->w[s], err))
                goto cleanup;
        }
    }
    m->weight_bytes = gguf_file_size(f);
    *out = m;
    m = NULL;
    rc = 0;
cleanup:
    pgr_model_free(m);
    return rc;
}

/* ---- random models ------------------------------------------------------------ */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int pgr_model_new_random(const pgr_model_cfg *cfg, int wtype, uint64_t seed, pgr_model **out,
                         pgr_err *err)
{
    int rc = -1;
    float *row = NULL;
    *out = NULL;
    if (cfg_check(cfg, "random model", err))
        return -1;
    if (!pgr_kernels_cpu()->supports(wtype) || wtype == PGR_KT_Q8_1)
        return pgr_errf(err, PGR_EUNSUPPORTED, "random model: weight type %s not supported",
                        pgr_kt_name(wtype));
    pgr_model *m = calloc(1, sizeof *m);
    if (!m)
        return pgr_errf(err, PGR_ENOMEM, "random model: out of memory");
    m->cfg = *cfg;
    const pgr_model_cfg *c = &m->cfg;
    /* sizes: every matrix + the float norms, each rounded up to 64 bytes */
    size_t total = 0, sz;
    int ok = 1;
#define ADD_BYTES(n) ok = ok && pgr_add_ok(total, ((n) + 63) & ~(size_t)63, &total)
    size_t rb;
    ok = ok && !pgr_kt_row_bytes(wtype, (size_t)c->dim, &rb) && pgr_mul_ok(rb, (size_t)c->vocab, &sz);
    ADD_BYTES(sz);
    for (int s = 0; ok && s < PGR_SITE_RESID; s++) {
        int rows, cols;
        site_shape(c, s, &rows, &cols);
        size_t one;
        ok = !pgr_kt_row_bytes(wtype, (size_t)cols, &rb) && pgr_mul_ok(rb, (size_t)rows, &one) &&
             pgr_mul_ok(one, (size_t)c->n_layer, &sz);
        ADD_BYTES(sz + 64 * (size_t)c->n_layer);
    }
    ok = ok && pgr_mul_ok((size_t)(2 * c->n_layer + 1) * sizeof(float), (size_t)c->dim, &sz);
    ADD_BYTES(sz);
#undef ADD_BYTES
    if (!ok) {
        pgr_errf(err, PGR_EINVAL, "random model: sizes overflow or are not multiples of %d",
                 pgr_kt_block_elems(wtype));
        goto cleanup;
    }
    m->pool = aligned_alloc(64, total);
    m->layers = calloc((size_t)c->n_layer, sizeof *m->layers);
    int maxc = c->dim > c->ffn_dim ? c->dim : c->ffn_dim;
    if (c->n_head * c->head_dim > maxc)
        maxc = c->n_head * c->head_dim;
    row = malloc((size_t)maxc * sizeof(float));
    if (!m->pool || !m->layers || !row) {
        pgr_errf(err, PGR_ENOMEM, "random model: out of memory for %zu bytes of weights", total);
        goto cleanup;
    }
    m->weight_bytes = total;
    uint8_t *p = m->pool;
    uint64_t st = seed;
    /* uniform in [-a, a] with a = sqrt(3 / cols): unit-variance outputs */
#define CARVE(W, ROWS, COLS)                                                                 \
    do {                                                                                     \
        (W).type = wtype, (W).rows = (ROWS), (W).cols = (COLS);                              \
        pgr_kt_row_bytes(wtype, (size_t)(COLS), &(W).row_bytes);                             \
        (W).data = p;                                                                        \
        float a_ = sqrtf(3.0f / (float)(COLS));                                              \
        for (int r_ = 0; r_ < (ROWS); r_++) {                                                \
            for (int i_ = 0; i_ < (COLS); i_++)                                              \
                row[i_] = a_ * ((float)(splitmix(&st) >> 40) / 8388608.0f - 1.0f);           \
            pgr_quant_row(wtype, row, p + (size_t)r_ * (W).row_bytes, (size_t)(COLS));       \
        }                                                                                    \
        p += ((size_t)(ROWS) * (W).row_bytes + 63) & ~(size_t)63;                            \
    } while (0)
    CARVE(m->tok_embd, c->vocab, c->dim);
    m->output = m->tok_embd;
    for (int l = 0; l < c->n_layer; l++)
        for (int s = 0; s < PGR_SITE_RESID; s++) {
            int rows, cols;
            site_shape(c, s, &rows, &cols);
            CARVE(m->layers[l].w[s], rows, cols);
        }
#undef CARVE
    float *fp = (float *)p;
    m->output_norm = fp;
    for (int i = 0; i < (2 * c->n_layer + 1) * c->dim; i++)
        fp[i] = 1.0f;
    fp += c->dim;
    for (int l = 0; l < c->n_layer; l++) {
        m->layers[l].attn_norm = fp;
        m->layers[l].ffn_norm = fp + c->dim;
        fp += 2 * c->dim;
    }
    *out = m;
    m = NULL;
    rc = 0;
cleanup:
    free(row);
    pgr_model_free(m);
    return rc;
}

/* ---- KV cache ----------------------------------------------------------------- */
struct pgr_kv {
    uint64_t uid; /* unique in the process: a device engine keys its copy on it */
    int n_layer, kv_dim, n_blocks, block_size, max_seqs;
    uint16_t *k, *v;      /* (n_layer, n_blocks, block_size, kv_dim) fp16 */
    size_t layer_stride;  /* halves per layer */
    int32_t *free_list;   /* (n_blocks) stack of free block ids */
    int n_free;
    int *len;             /* (max_seqs) length, -1 = closed */
    int32_t *table;       /* (max_seqs, n_blocks) block tables */
};

int pgr_kv_new(const pgr_model *m, int n_blocks, int block_size, int max_seqs, pgr_kv **out,
               pgr_err *err)
{
    *out = NULL;
    if (n_blocks < 1 || block_size < 1 || max_seqs < 1 || block_size > 1 << 16)
        return pgr_errf(err, PGR_EINVAL, "kv cache: bad sizes (%d blocks of %d, %d sequences)",
                        n_blocks, block_size, max_seqs);
    pgr_kv *kv = calloc(1, sizeof *kv);
    if (!kv)
        return pgr_errf(err, PGR_ENOMEM, "kv cache: out of memory");
    static _Atomic uint64_t next_uid = 1;
    kv->uid = next_uid++;
    kv->n_layer = m->cfg.n_layer;
    kv->kv_dim = m->cfg.n_kv_head * m->cfg.head_dim;
    kv->n_blocks = n_blocks;
    kv->block_size = block_size;
    kv->max_seqs = max_seqs;
    size_t per_layer, total, tab;
    if (!pgr_mul_ok((size_t)n_blocks * (size_t)block_size, (size_t)kv->kv_dim, &per_layer) ||
        !pgr_mul_ok(per_layer, (size_t)kv->n_layer * sizeof(uint16_t), &total) ||
        !pgr_mul_ok((size_t)max_seqs, (size_t)n_blocks * sizeof(int32_t), &tab))
        goto oom;
    kv->layer_stride = per_layer;
    kv->k = malloc(total);
    kv->v = malloc(total);
    kv->free_list = malloc((size_t)n_blocks * sizeof(int32_t));
    kv->len = malloc((size_t)max_seqs * sizeof(int));
    kv->table = malloc(tab);
    if (!kv->k || !kv->v || !kv->free_list || !kv->len || !kv->table)
        goto oom;
    /* pop order 0, 1, 2, ...: a fresh cache hands out blocks in order */
    for (int i = 0; i < n_blocks; i++)
        kv->free_list[i] = n_blocks - 1 - i;
    kv->n_free = n_blocks;
    for (int s = 0; s < max_seqs; s++)
        kv->len[s] = -1;
    *out = kv;
    return 0;
oom:
    pgr_kv_free(kv);
    return pgr_errf(err, PGR_ENOMEM, "kv cache: out of memory for %d blocks of %d positions",
                    n_blocks, block_size);
}

void pgr_kv_free(pgr_kv *kv)
{
    if (!kv)
        return;
    free(kv->k);
    free(kv->v);
    free(kv->free_list);
    free(kv->len);
    free(kv->table);
    free(kv);
}

int pgr_kv_seq_open(pgr_kv *kv, pgr_err *err)
{
    for (int s = 0; s < kv->max_seqs; s++)
        if (kv->len[s] < 0) {
            kv->len[s] = 0;
            return s;
        }
    return pgr_errf(err, PGR_EBUSY, "kv cache: all %d sequences are in use", kv->max_seqs);
}

static int blocks_for(const pgr_kv *kv, int len) { return (len + kv->block_size - 1) / kv->block_size; }

void pgr_kv_seq_truncate(pgr_kv *kv, int seq, int len)
{
    if (seq < 0 || seq >= kv->max_seqs || kv->len[seq] < 0 || len < 0 || len > kv->len[seq])
        return;
    int32_t *tab = kv->table + (size_t)seq * kv->n_blocks;
    for (int b = blocks_for(kv, len); b < blocks_for(kv, kv->len[seq]); b++)
        kv->free_list[kv->n_free++] = tab[b];
    kv->len[seq] = len;
}

void pgr_kv_seq_close(pgr_kv *kv, int seq)
{
    if (seq < 0 || seq >= kv->max_seqs || kv->len[seq] < 0)
        return;
    pgr_kv_seq_truncate(kv, seq, 0);
    kv->len[seq] = -1;
}

int pgr_kv_seq_len(const pgr_kv *kv, int seq)
{
    return seq >= 0 && seq < kv->max_seqs ? kv->len[seq] : -1;
}
int pgr_kv_free_blocks(const pgr_kv *kv) { return kv->n_free; }
int pgr_kv_block_size(const pgr_kv *kv) { return kv->block_size; }
size_t pgr_kv_bytes(const pgr_kv *kv) { return 2 * kv->layer_stride * kv->n_layer * sizeof(uint16_t); }

const int32_t *pgr_kv_seq_blocks(const pgr_kv *kv, int seq, int *n_blocks)
{
    if (seq < 0 || seq >= kv->max_seqs || kv->len[seq] < 0)
        return NULL;
    *n_blocks = blocks_for(kv, kv->len[seq]);
    return kv->table + (size_t)seq * kv->n_blocks;
}

/* ---- engine ------------------------------------------------------------------- */
struct pgr_engine {
    const pgr_model *m;
    const pgr_kernels *k;
    pgr_kctx *ctx;
    pgr_cuda_engine *cuda; /* set: every forward runs on the GPU (kernels/cuda) */
    pgr_hooks hooks;
    int cap; /* tokens the buffers hold */
    float *x;    /* (cap, dim) residual stream */
    float *xb;   /* (cap, max(dim, q_dim)) normed input / projection output */
    float *q;    /* (cap, q_dim) */
    float *kb;   /* (cap, kv_dim) */
    float *vb;   /* (cap, kv_dim) */
    float *att;  /* (cap, q_dim) */
    float *hb;   /* (cap, ffn) */
    float *hb2;  /* (cap, ffn) */
    const int32_t **tables; /* (cap) block table per token */
    int32_t *rows;          /* (cap) indices of tokens that want logits */
    int *seen;              /* (max_seqs of the last kv) per-sequence counter */
    int seen_cap;
};

int pgr_engine_new(const pgr_model *m, const pgr_kernels *kernels, int n_threads,
                   pgr_engine **out, pgr_err *err)
{
    *out = NULL;
    pgr_engine *e = calloc(1, sizeof *e);
    if (!e)
        return pgr_errf(err, PGR_ENOMEM, "engine: out of memory");
    e->m = m;
    e->k = kernels ? kernels : pgr_kernels_cpu();
    e->ctx = pgr_kctx_new(n_threads < 1 ? 1 : n_threads);
    if (!e->ctx) {
        free(e);
        return pgr_errf(err, PGR_ENOMEM, "engine: cannot start %d threads", n_threads);
    }
    *out = e;
    return 0;
}

static void engine_free_bufs(pgr_engine *e)
{
    free(e->x), free(e->xb), free(e->q), free(e->kb), free(e->vb), free(e->att), free(e->hb);
    free(e->hb2), free(e->tables), free(e->rows);
    e->x = e->xb = e->q = e->kb = e->vb = e->att = e->hb = e->hb2 = NULL;
    e->tables = NULL;
    e->rows = NULL;
    e->cap = 0;
}

int pgr_engine_new_on(const pgr_model *m, const char *device, int n_threads, pgr_engine **out,
                      pgr_err *err)
{
    *out = NULL;
    if (!device || strcmp(device, "cpu") == 0)
        return pgr_engine_new(m, NULL, n_threads, out, err);
    if (strcmp(device, "cuda") != 0)
        return pgr_errf(err, PGR_EINVAL, "engine: unknown device '%s' (cpu or cuda)", device);
    pgr_engine *e = NULL;
    if (pgr_engine_new(m, NULL, 1, &e, err))
        return -1;
    if (pgr_cuda_engine_new(m, &e->cuda, err)) {
        pgr_engine_free(e);
        return -1;
    }
    *out = e;
    return 0;
}

const char *pgr_engine_device(const pgr_engine *e) { return e->cuda ? "cuda" : "cpu"; }
struct pgr_cuda_engine *pgr_engine_cuda(const pgr_engine *e) { return e->cuda; }

int pgr_device_usable(const char *device, char *desc, size_t desc_len, pgr_err *err)
{
    if (!device || strcmp(device, "cpu") == 0) {
        if (desc && desc_len)
            snprintf(desc, desc_len, "cpu (%s)", pgr_kernels_cpu_isa());
        return 0;
    }
    if (strcmp(device, "cuda") == 0)
        return pgr_cuda_available(desc, desc_len, err);
    return pgr_errf(err, PGR_EINVAL, "unknown device '%s' (cpu or cuda)", device);
}

void pgr_engine_free(pgr_engine *e)
{
    if (!e)
        return;
    pgr_cuda_engine_free(e->cuda);
    engine_free_bufs(e);
    free(e->seen);
    pgr_kctx_free(e->ctx);
    free(e);
}

void pgr_engine_set_hooks(pgr_engine *e, const pgr_hooks *hooks)
{
    if (hooks)
        e->hooks = *hooks;
    else
        memset(&e->hooks, 0, sizeof e->hooks);
}

static int engine_reserve(pgr_engine *e, int n, pgr_err *err)
{
    if (n <= e->cap)
        return 0;
    engine_free_bufs(e);
    const pgr_model_cfg *c = &e->m->cfg;
    const size_t q_dim = (size_t)c->n_head * c->head_dim, kv_dim = (size_t)c->n_kv_head * c->head_dim;
    const size_t wide = q_dim > (size_t)c->dim ? q_dim : (size_t)c->dim;
    size_t nn = (size_t)n;
    e->x = malloc(nn * c->dim * sizeof(float));
    e->xb = malloc(nn * wide * sizeof(float));
    e->q = malloc(nn * q_dim * sizeof(float));
    e->kb = malloc(nn * kv_dim * sizeof(float));
    e->vb = malloc(nn * kv_dim * sizeof(float));
    e->att = malloc(nn * q_dim * sizeof(float));
    e->hb = malloc(nn * c->ffn_dim * sizeof(float));
    e->hb2 = malloc(nn * c->ffn_dim * sizeof(float));
    e->tables = malloc(nn * sizeof *e->tables);
    e->rows = malloc(nn * sizeof *e->rows);
    if (!e->x || !e->xb || !e->q || !e->kb || !e->vb || !e->att || !e->hb || !e->hb2 ||
        !e->tables || !e->rows) {
        engine_free_bufs(e);
        return pgr_errf(err, PGR_ENOMEM, "engine: out of memory for a batch of %d tokens", n);
    }
    e->cap = n;
    return 0;
}

static int call_hook(pgr_engine *e, int layer, int site, const pgr_batch *b, const float *in,
                     int in_dim, float *out, int out_dim, pgr_err *err)
{
    pgr_hook_args a = {layer, site, b, in, in_dim, out, out_dim, e->k, e->ctx};
    if (e->hooks.fn[site](e->hooks.user, &a, err) != 0) {
        if (err && err->code == PGR_OK)
            pgr_errf(err, PGR_EINTERNAL, "hook at layer %d site %s failed", layer,
                     pgr_site_name(site));
        return -1;
    }
    return 0;
}

#define HOOK(site, in, in_dim, out, out_dim)                                                 \
    do {                                                                                     \
        if (e->hooks.fn[site] && call_hook(e, l, site, b, in, in_dim, out, out_dim, err))    \
            goto cleanup;                                                                    \
    } while (0)

/* Checks the batch and reserves the blocks it needs; nothing changes on failure. */
static int batch_admit(pgr_engine *e, pgr_kv *kv, const pgr_batch *b, pgr_err *err)
{
    if (e->seen_cap < kv->max_seqs) {
        int *s = realloc(e->seen, (size_t)kv->max_seqs * sizeof(int));
        if (!s)
            return pgr_errf(err, PGR_ENOMEM, "engine: out of memory");
        e->seen = s;
        e->seen_cap = kv->max_seqs;
    }
    memset(e->seen, 0, (size_t)kv->max_seqs * sizeof(int));
    const int vocab = e->m->cfg.vocab;
    for (int t = 0; t < b->n_tok; t++) {
        int s = b->seq[t];
        if (b->token[t] < 0 || b->token[t] >= vocab)
            return pgr_errf(err, PGR_EINVAL, "batch token %d: id %d out of range [0, %d)", t,
                            b->token[t], vocab);
        if (s < 0 || s >= kv->max_seqs || kv->len[s] < 0)
            return pgr_errf(err, PGR_EINVAL, "batch token %d: sequence %d is not open", t, s);
        if (b->pos[t] != kv->len[s] + e->seen[s])
            return pgr_errf(err, PGR_EINVAL,
                            "batch token %d: position %d does not continue sequence %d (next is %d)",
                            t, b->pos[t], s, kv->len[s] + e->seen[s]);
        if (b->pos[t] >= kv->n_blocks * kv->block_size)
            return pgr_errf(err, PGR_EBUSY, "batch token %d: position %d exceeds the cache", t,
                            b->pos[t]);
        e->seen[s]++;
    }
    int need = 0;
    for (int s = 0; s < kv->max_seqs; s++)
        if (e->seen[s])
            need += blocks_for(kv, kv->len[s] + e->seen[s]) - blocks_for(kv, kv->len[s]);
    if (need > kv->n_free)
        return pgr_errf(err, PGR_EBUSY, "kv cache: batch needs %d blocks, %d free", need,
                        kv->n_free);
    for (int s = 0; s < kv->max_seqs; s++) {
        if (!e->seen[s])
            continue;
        int32_t *tab = kv->table + (size_t)s * kv->n_blocks;
        for (int bk = blocks_for(kv, kv->len[s]); bk < blocks_for(kv, kv->len[s] + e->seen[s]); bk++)
            tab[bk] = kv->free_list[--kv->n_free];
    }
    return 0;
}

/* The GPU path: the host keeps the bookkeeping (admission, block tables,
 * lengths); kernels/cuda does the arithmetic and holds the K/V data. */
/* logits or (greedy) ids: one of them is NULL */
static int forward_cuda(pgr_engine *e, pgr_kv *kv, const pgr_batch *b, float *logits,
                        int32_t *ids, pgr_err *err)
{
    if (batch_admit(e, kv, b, err))
        return -1;
    for (int t = 0; t < b->n_tok; t++)
        kv->len[b->seq[t]]++;
    const pgr_cuda_batch cb = {b->n_tok,        b->token,       b->seq,       b->pos,
                               b->want_logits,  kv->uid,        kv->n_blocks, kv->block_size,
                               kv->max_seqs,    kv->n_layer,    kv->table};
    const pgr_hooks *h = &e->hooks;
    if ((ids ? pgr_cuda_forward_ids(e->cuda, &cb, h, ids, err)
             : pgr_cuda_forward(e->cuda, &cb, h, logits, err)) != 0) {
        for (int t = 0; t < b->n_tok; t++) /* the first token of each sequence cuts it back */
            pgr_kv_seq_truncate(kv, b->seq[t], b->pos[t]);
        return -1;
    }
    return 0;
}

int pgr_forward_greedy(pgr_engine *e, pgr_kv *kv, const pgr_batch *b, int32_t *ids,
                       pgr_err *err)
{
    if (!e->cuda)
        return pgr_errf(err, PGR_EUNSUPPORTED,
                        "forward_greedy: only CUDA engines take the argmax on the device");
    if (b->n_tok < 1)
        return pgr_errf(err, PGR_EINVAL, "batch: no tokens");
    if (kv->n_layer != e->m->cfg.n_layer ||
        kv->kv_dim != e->m->cfg.n_kv_head * e->m->cfg.head_dim)
        return pgr_errf(err, PGR_EINVAL, "kv cache was made for another model");
    return forward_cuda(e, kv, b, NULL, ids, err);
}

int pgr_forward(pgr_engine *e, pgr_kv *kv, const pgr_batch *b, float *logits, pgr_err *err)
{
    int rc = -1;
    const pgr_model *m = e->m;
    const pgr_model_cfg *c = &m->cfg;
    const pgr_kernels *K = e->k;
    pgr_kctx *ctx = e->ctx;
    const int n = b->n_tok, dim = c->dim, hd = c->head_dim;
    const int q_dim = c->n_head * hd, kv_dim = c->n_kv_head * hd, ffn = c->ffn_dim;
    if (n < 1)
        return pgr_errf(err, PGR_EINVAL, "batch: no tokens");
    if (kv->n_layer != c->n_layer || kv->kv_dim != kv_dim)
        return pgr_errf(err, PGR_EINVAL, "kv cache was made for another model");
    if (e->cuda)
        return forward_cuda(e, kv, b, logits, NULL, err);
    if (engine_reserve(e, n, err) || batch_admit(e, kv, b, err))
        return -1;
    /* the sequences grow now; on failure below they are cut back */
    for (int t = 0; t < n; t++)
        e->tables[t] = kv->table + (size_t)b->seq[t] * kv->n_blocks;
    for (int t = 0; t < n; t++)
        kv->len[b->seq[t]]++;

    const float scale = 1.0f / sqrtf((float)hd);
    K->embed(ctx, &m->tok_embd, b->token, e->x, n);
    for (int l = 0; l < c->n_layer; l++) {
        const pgr_layer *L = &m->layers[l];
        uint16_t *kc = kv->k + (size_t)l * kv->layer_stride, *vc = kv->v + (size_t)l * kv->layer_stride;
        /* attention */
        K->rmsnorm(ctx, e->x, L->attn_norm, e->xb, n, dim, c->norm_eps);
        {
            const pgr_wmat *w3[3] = {&L->w[PGR_SITE_Q], &L->w[PGR_SITE_K], &L->w[PGR_SITE_V]};
            float *y3[3] = {e->q, e->kb, e->vb};
            K->matmul(ctx, 3, w3, e->xb, y3, n);
        }
        HOOK(PGR_SITE_Q, e->xb, dim, e->q, q_dim);
        HOOK(PGR_SITE_K, e->xb, dim, e->kb, kv_dim);
        HOOK(PGR_SITE_V, e->xb, dim, e->vb, kv_dim);
        K->rope(ctx, e->q, b->pos, n, c->n_head, hd, c->rope_theta);
        K->rope(ctx, e->kb, b->pos, n, c->n_kv_head, hd, c->rope_theta);
        K->kv_store(ctx, kc, vc, e->kb, e->vb, n, b->pos, e->tables, kv->block_size, kv_dim);
        K->attention(ctx, e->q, e->att, n, b->pos, e->tables, kc, vc, kv->block_size, c->n_head,
                     c->n_kv_head, hd, scale);
        {
            const pgr_wmat *wo[1] = {&L->w[PGR_SITE_O]};
            float *yo[1] = {e->xb};
            K->matmul(ctx, 1, wo, e->att, yo, n);
        }
        HOOK(PGR_SITE_O, e->att, q_dim, e->xb, dim);
        for (size_t i = 0; i < (size_t)n * dim; i++)
            e->x[i] += e->xb[i];
        /* feed-forward */
        K->rmsnorm(ctx, e->x, L->ffn_norm, e->xb, n, dim, c->norm_eps);
        {
            const pgr_wmat *w2[2] = {&L->w[PGR_SITE_GATE], &L->w[PGR_SITE_UP]};
            float *y2[2] = {e->hb, e->hb2};
            K->matmul(ctx, 2, w2, e->xb, y2, n);
        }
        HOOK(PGR_SITE_GATE, e->xb, dim, e->hb, ffn);
        HOOK(PGR_SITE_UP, e->xb, dim, e->hb2, ffn);
        K->swiglu(ctx, e->hb, e->hb2, e->hb, (size_t)n * ffn);
        {
            const pgr_wmat *wd[1] = {&L->w[PGR_SITE_DOWN]};
            float *yd[1] = {e->xb};
            K->matmul(ctx, 1, wd, e->hb, yd, n);
        }
        HOOK(PGR_SITE_DOWN, e->hb, ffn, e->xb, dim);
        for (size_t i = 0; i < (size_t)n * dim; i++)
            e->x[i] += e->xb[i];
        HOOK(PGR_SITE_RESID, NULL, 0, e->x, dim);
    }
    /* logits only for the tokens that want them: gather their rows first */
    int nw = 0;
    for (int t = 0; t < n; t++)
        if (b->want_logits ? b->want_logits[t] != 0 : t == n - 1)
            e->rows[nw++] = t;
    if (nw > 0) {
        for (int i = 0; i < nw; i++)
            memmove(e->xb + (size_t)i * dim, e->x + (size_t)e->rows[i] * dim, (size_t)dim * sizeof(float));
        K->rmsnorm(ctx, e->xb, m->output_norm, e->xb, nw, dim, c->norm_eps);
        const pgr_wmat *wout[1] = {&m->output};
        float *yl[1] = {logits};
        K->matmul(ctx, 1, wout, e->xb, yl, nw);
    }
    rc = 0;
cleanup:
    if (rc != 0)
        for (int t = 0; t < n; t++) /* the first token of each sequence cuts it back */
            pgr_kv_seq_truncate(kv, b->seq[t], b->pos[t]);
    return rc;
}
