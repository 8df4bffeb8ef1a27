/* Adapters: specs, construction, and application through the model hooks.
 * Files and importers are in adapter_file.c, the registry in adapter_reg.c. */
#include "inference/adapter.h"

#include "inference/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *method_names[3] = {"lora", "loreft", "direft"};

const char *pgr_adapter_method_name(int method)
{
    return method >= 0 && method < 3 ? method_names[method] : "?";
}
const char *pgr_adapter_mode_name(int mode)
{
    return mode == PGR_AD_PREFILL ? "prefill" : mode == PGR_AD_ALL ? "all" : "?";
}

int pgr_adapter_parse_method(const char *s, int *method, pgr_err *err)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, method_names[i]) == 0)
            return *method = i, 0;
    if (s && strcmp(s, "reft") == 0)
        return *method = PGR_AD_LOREFT, 0;
    return pgr_errf(err, PGR_EINVAL, "method '%s': expected lora, loreft or direft", s ? s : "");
}

int pgr_adapter_parse_mode(const char *s, int *mode, pgr_err *err)
{
    if (s && strcmp(s, "prefill") == 0)
        return *mode = PGR_AD_PREFILL, 0;
    if (s && strcmp(s, "all") == 0)
        return *mode = PGR_AD_ALL, 0;
    return pgr_errf(err, PGR_EINVAL, "mode '%s': expected prefill or all", s ? s : "");
}

int pgr_adapter_parse_targets(const char *s, uint32_t *targets, pgr_err *err)
{
    uint32_t t = 0;
    const char *p = s;
    if (!s || !*s)
        return pgr_errf(err, PGR_EINVAL, "targets: empty list");
    while (*p) {
        size_t n = strcspn(p, ",");
        int found = -1;
        for (int site = 0; site < PGR_SITE_COUNT; site++) {
            const char *nm = pgr_site_name(site);
            if (strlen(nm) == n && strncmp(p, nm, n) == 0)
                found = site;
        }
        if (found < 0)
            return pgr_errf(err, PGR_EINVAL,
                            "targets '%s': unknown site '%.*s' (q,k,v,o,gate,up,down,resid)", s,
                            (int)(n > 32 ? 32 : n), p);
        t |= 1u << found;
        p += n;
        if (*p == ',')
            p++;
    }
    *targets = t;
    return 0;
}

static int parse_int(const char **p, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (errno || end == *p || **p == '-' || **p == '+' || **p == ' ')
        return -1;
    *p = end;
    *out = v;
    return 0;
}

int pgr_adapter_parse_layers(const char *s, int n_layer, pgr_adapter_spec *spec, pgr_err *err)
{
    uint8_t on[PGR_AD_MAX_LAYERS] = {0};
    if (n_layer < 1 || n_layer > PGR_AD_MAX_LAYERS)
        return pgr_errf(err, PGR_EINVAL, "layers: model has %d layers (max %d)", n_layer,
                        PGR_AD_MAX_LAYERS);
    if (!s || !*s)
        return pgr_errf(err, PGR_EINVAL, "layers: empty list");
    if (strcmp(s, "all") == 0) {
        memset(on, 1, (size_t)n_layer);
    } else {
        const char *p = s;
        while (*p) {
            long a, b;
            if (parse_int(&p, &a) != 0)
                return pgr_errf(err, PGR_EINVAL, "layers '%s': expected N, N-M or all", s);
            b = a;
            if (*p == '-') {
                p++;
                if (parse_int(&p, &b) != 0)
                    return pgr_errf(err, PGR_EINVAL, "layers '%s': bad range", s);
            }
            if (a > b || b >= n_layer)
                return pgr_errf(err, PGR_EINVAL, "layers '%s': layer %ld out of range 0..%d", s, b,
                                n_layer - 1);
            for (long i = a; i <= b; i++)
                on[i] = 1;
            if (*p == ',')
                p++;
            else if (*p)
                return pgr_errf(err, PGR_EINVAL, "layers '%s': unexpected '%c'", s, *p);
        }
    }
    spec->n_layers = 0;
    for (int i = 0; i < n_layer; i++)
        if (on[i])
            spec->layers[spec->n_layers++] = i;
    return 0;
}

int pgr_adapter_parse_positions(const char *s, int *first, int *last, pgr_err *err)
{
    if (s && strcmp(s, "all") == 0)
        return *first = -1, *last = -1, 0;
    long f, l;
    const char *p = s;
    if (!s || *p != 'f')
        goto bad;
    p++;
    if (parse_int(&p, &f) != 0 || *p != '+' || p[1] != 'l')
        goto bad;
    p += 2;
    if (parse_int(&p, &l) != 0 || *p || f > 1000000 || l > 1000000)
        goto bad;
    *first = (int)f, *last = (int)l;
    return 0;
bad:
    return pgr_errf(err, PGR_EINVAL, "positions '%s': expected f<N>+l<M> (as f7+l7) or all",
                    s ? s : "");
}

void pgr_adapter_spec_default(pgr_adapter_spec *s, const pgr_model *m)
{
    memset(s, 0, sizeof *s);
    s->method = PGR_AD_LORA;
    s->mode = PGR_AD_PREFILL;
    s->rank = 8;
    s->alpha = 16;
    s->targets = (1u << PGR_SITE_Q) | (1u << PGR_SITE_V);
    int n = pgr_model_config(m)->n_layer;
    if (n > PGR_AD_MAX_LAYERS)
        n = PGR_AD_MAX_LAYERS;
    for (int i = 0; i < n; i++)
        s->layers[i] = i;
    s->n_layers = n;
    s->pos_first = 7, s->pos_last = 7;
}

int pgr_adapter_spec_check(const pgr_adapter_spec *s, const pgr_model *m, pgr_err *err)
{
    const pgr_model_cfg *c = pgr_model_config(m);
    if (s->method < 0 || s->method > PGR_AD_DIREFT)
        return pgr_errf(err, PGR_EINVAL, "method %d unknown", s->method);
    if (s->mode != PGR_AD_PREFILL && s->mode != PGR_AD_ALL)
        return pgr_errf(err, PGR_EINVAL, "mode %d unknown", s->mode);
    if (s->rank < 1 || s->rank > PGR_AD_MAX_RANK || s->rank > c->dim)
        return pgr_errf(err, PGR_EINVAL, "rank %d out of range 1..%d", s->rank,
                        c->dim < PGR_AD_MAX_RANK ? c->dim : PGR_AD_MAX_RANK);
    if (!isfinite(s->alpha))
        return pgr_errf(err, PGR_EINVAL, "alpha is not finite");
    if (s->method == PGR_AD_LORA) {
        if (!s->targets || (s->targets & (1u << PGR_SITE_RESID)) || (s->targets >> PGR_SITE_COUNT))
            return pgr_errf(err, PGR_EINVAL, "lora targets must be among q,k,v,o,gate,up,down");
    } else if (s->targets != (1u << PGR_SITE_RESID)) {
        return pgr_errf(err, PGR_EINVAL, "%s targets must be resid",
                        pgr_adapter_method_name(s->method));
    }
    if (s->n_layers < 1 || s->n_layers > c->n_layer || s->n_layers > PGR_AD_MAX_LAYERS)
        return pgr_errf(err, PGR_EINVAL, "%d layers chosen; the model has %d", s->n_layers,
                        c->n_layer);
    for (int i = 0; i < s->n_layers; i++) {
        if (s->layers[i] < 0 || s->layers[i] >= c->n_layer)
            return pgr_errf(err, PGR_EINVAL, "layer %d out of range 0..%d", s->layers[i],
                            c->n_layer - 1);
        if (i && s->layers[i] <= s->layers[i - 1])
            return pgr_errf(err, PGR_EINVAL, "layers must ascend without repeats (%d after %d)",
                            s->layers[i], s->layers[i - 1]);
    }
    if (!((s->pos_first == -1 && s->pos_last == -1) || (s->pos_first >= 0 && s->pos_last >= 0)))
        return pgr_errf(err, PGR_EINVAL, "positions f%d+l%d invalid", s->pos_first, s->pos_last);
    return 0;
}

/* ---- construction ---------------------------------------------------------------- */

static int site_shape(const pgr_model *m, int site, int *rows, int *cols)
{
    const pgr_wmat *w = pgr_model_weight(m, 0, site);
    if (!w)
        return -1;
    *rows = w->rows, *cols = w->cols;
    return 0;
}

/* The data of a tensor whose shape is set but whose floats the file loader
 * has not placed yet (pgr_adapter_new_ex with alloc = 0): never freed, never
 * read (each_tensor sets every such tensor or the load fails). */
float pgr_adapter_unset_[1];

static int tensor_alloc(pgr_adapter *a, pgr_adapter_tensor *t, int rows, int cols, int alloc,
                        pgr_err *err)
{
    size_t n;
    if (!pgr_mul_ok((size_t)rows, (size_t)cols, &n) || !pgr_mul_ok(n, sizeof(float), &n))
        return pgr_errf(err, PGR_EINVAL, "tensor %d x %d too large", rows, cols);
    t->data = alloc ? calloc(n ? n : 1, 1) : pgr_adapter_unset_;
    if (!t->data)
        return pgr_errf(err, PGR_ENOMEM, "out of memory for a %d x %d adapter tensor", rows, cols);
    t->rows = rows, t->cols = cols;
    a->bytes += n;
    return 0;
}

int pgr_adapter_new(const pgr_adapter_spec *s, const pgr_model *m, pgr_adapter **out, pgr_err *err)
{
    return pgr_adapter_new_ex(s, m, 1, out, err);
}

int pgr_adapter_new_ex(const pgr_adapter_spec *s, const pgr_model *m, int alloc, pgr_adapter **out,
                       pgr_err *err)
{
    *out = NULL;
    if (pgr_adapter_spec_check(s, m, err) != 0)
        return -1;
    const pgr_model_cfg *c = pgr_model_config(m);
    static _Atomic uint64_t next_uid = 1;
    pgr_adapter *a = calloc(1, sizeof *a);
    if (!a)
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    a->spec = *s;
    a->uid = next_uid++;
    a->n_layer = c->n_layer, a->dim = c->dim;
    a->scale = s->method == PGR_AD_LORA ? s->alpha / (float)s->rank : 1.0f;
    size_t nl = (size_t)c->n_layer;
    if (s->method == PGR_AD_LORA) {
        a->lora_a = calloc(nl * PGR_SITE_COUNT, sizeof *a->lora_a);
        a->lora_b = calloc(nl * PGR_SITE_COUNT, sizeof *a->lora_b);
        if (!a->lora_a || !a->lora_b)
            goto oom;
        for (int i = 0; i < s->n_layers; i++)
            for (int site = 0; site < PGR_SITE_RESID; site++) {
                if (!(s->targets & (1u << site)))
                    continue;
                int rows, cols;
                size_t k = (size_t)s->layers[i] * PGR_SITE_COUNT + (size_t)site;
                if (site_shape(m, site, &rows, &cols) != 0 ||
                    tensor_alloc(a, &a->lora_a[k], s->rank, cols, alloc, err) != 0 ||
                    tensor_alloc(a, &a->lora_b[k], rows, s->rank, alloc, err) != 0)
                    goto fail;
            }
    } else {
        a->reft_R = calloc(nl, sizeof *a->reft_R);
        a->reft_W = calloc(nl, sizeof *a->reft_W);
        a->reft_b = calloc(nl, sizeof *a->reft_b);
        if (!a->reft_R || !a->reft_W || !a->reft_b)
            goto oom;
        for (int i = 0; i < s->n_layers; i++) {
            int l = s->layers[i];
            if (tensor_alloc(a, &a->reft_R[l], s->rank, c->dim, alloc, err) != 0 ||
                tensor_alloc(a, &a->reft_W[l], s->rank, c->dim, alloc, err) != 0 ||
                tensor_alloc(a, &a->reft_b[l], 1, s->rank, alloc, err) != 0)
                goto fail;
        }
    }
    *out = a;
    return 0;
oom:
    pgr_errf(err, PGR_ENOMEM, "out of memory");
fail:
    pgr_adapter_free(a);
    return -1;
}

/* Frees what the adapter owns: not the unset placeholder, not data inside
 * the mapped file. */
static void free_tensors(const pgr_adapter *a, pgr_adapter_tensor *t, size_t n)
{
    if (!t)
        return;
    const char *m0 = a->map, *m1 = m0 ? m0 + a->map_len : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *d = (const char *)t[i].data;
        if (t[i].data != pgr_adapter_unset_ && !(m0 && d >= m0 && d < m1))
            free(t[i].data);
    }
    free(t);
}

void pgr_adapter_free(pgr_adapter *a)
{
    if (!a)
        return;
    size_t nl = (size_t)a->n_layer;
    free_tensors(a, a->lora_a, nl * PGR_SITE_COUNT);
    free_tensors(a, a->lora_b, nl * PGR_SITE_COUNT);
    free_tensors(a, a->reft_R, nl);
    free_tensors(a, a->reft_W, nl);
    free_tensors(a, a->reft_b, nl);
    if (a->map)
        munmap(a->map, a->map_len);
    free(a);
}

/* splitmix64: a tiny deterministic generator (no global state). */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float rng_uniform(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)((rng_next(s) >> 40) * (1.0 / 16777216.0));
}
static void fill_uniform(pgr_adapter_tensor *t, uint64_t *rng, float lo, float hi)
{
    size_t n = (size_t)t->rows * (size_t)t->cols;
    for (size_t i = 0; i < n; i++)
        t->data[i] = rng_uniform(rng, lo, hi);
}

void pgr_adapter_orthonormalise(pgr_adapter_tensor *t)
{
    int r = t->rows, d = t->cols;
    for (int i = 0; i < r; i++) {
        float *ri = t->data + (size_t)i * d;
        for (int j = 0; j < i; j++) {
            const float *rj = t->data + (size_t)j * d;
            double dot = 0;
            for (int k = 0; k < d; k++)
                dot += (double)ri[k] * rj[k];
            for (int k = 0; k < d; k++)
                ri[k] -= (float)(dot * rj[k]);
        }
        double nrm = 0;
        for (int k = 0; k < d; k++)
            nrm += (double)ri[k] * ri[k];
        nrm = sqrt(nrm);
        for (int k = 0; k < d; k++)
            ri[k] = nrm > 0 ? (float)(ri[k] / nrm) : (k == i);
    }
}

int pgr_adapter_new_random(const pgr_adapter_spec *s, const pgr_model *m, uint64_t seed,
                           pgr_adapter **out, pgr_err *err)
{
    pgr_adapter *a;
    if (pgr_adapter_new(s, m, &a, err) != 0)
        return -1;
    uint64_t rng = seed ^ 0x5eedadab7e5ull;
    for (int i = 0; i < s->n_layers; i++) {
        int l = s->layers[i];
        if (s->method == PGR_AD_LORA) {
            for (int site = 0; site < PGR_SITE_RESID; site++) {
                size_t k = (size_t)l * PGR_SITE_COUNT + (size_t)site;
                if (!a->lora_a[k].data)
                    continue;
                float lim = 1.0f / sqrtf((float)a->lora_a[k].cols);
                fill_uniform(&a->lora_a[k], &rng, -lim, lim);
                fill_uniform(&a->lora_b[k], &rng, -0.05f, 0.05f);
            }
        } else {
            fill_uniform(&a->reft_R[l], &rng, -1, 1);
            pgr_adapter_orthonormalise(&a->reft_R[l]);
            fill_uniform(&a->reft_W[l], &rng, -0.05f, 0.05f);
            fill_uniform(&a->reft_b[l], &rng, -0.05f, 0.05f);
        }
    }
    *out = a;
    return 0;
}

int pgr_model_sha256(const pgr_model *m, char out[65], pgr_err *err)
{
    const gguf_file *g = pgr_model_gguf(m);
    out[0] = 0;
    if (!g)
        return 0;
    const char *path = gguf_path(g);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pgr_errf(err, PGR_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        return pgr_errf(err, PGR_EIO, "%s: cannot stat", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return pgr_errf(err, PGR_EIO, "%s: mmap: %s", path, strerror(errno));
    pgr_sha256_hex(p, (size_t)st.st_size, out);
    munmap(p, (size_t)st.st_size);
    return 0;
}

/* ---- application --------------------------------------------------------------- */

typedef struct binding {
    const pgr_adapter *ad; /* NULL = base */
    int mode, prompt_len;
} binding;

struct pgr_adapter_set {
    const pgr_model *m;
    int max_seqs;
    binding *bind; /* (max_seqs) */
    /* scratch, grown on demand (hooks run on the engine's calling thread) */
    struct tok_ref *idx;  /* (n_tok) active tokens, grouped by adapter */
    int32_t *rows;        /* (n_tok) their batch rows, segment after segment */
    pgr_sgmv_seg *segs;   /* one per adapter present */
    size_t cap_tok, cap_rows, cap_segs;
};

int pgr_adapter_set_new(const pgr_model *m, int max_seqs, pgr_adapter_set **out, pgr_err *err)
{
    *out = NULL;
    if (max_seqs < 1 || max_seqs > (1 << 20))
        return pgr_errf(err, PGR_EINVAL, "adapter set: max_seqs %d out of range", max_seqs);
    pgr_adapter_set *s = calloc(1, sizeof *s);
    if (!s || !(s->bind = calloc((size_t)max_seqs, sizeof *s->bind))) {
        free(s);
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    }
    s->m = m, s->max_seqs = max_seqs;
    *out = s;
    return 0;
}

void pgr_adapter_set_free(pgr_adapter_set *s)
{
    if (!s)
        return;
    free(s->bind);
    free(s->idx);
    free(s->rows);
    free(s->segs);
    free(s);
}

int pgr_adapter_set_bind(pgr_adapter_set *s, int seq, const pgr_adapter *a, int mode,
                         int prompt_len, pgr_err *err)
{
    if (seq < 0 || seq >= s->max_seqs)
        return pgr_errf(err, PGR_EINVAL, "adapter set: sequence %d out of range", seq);
    if (mode != PGR_AD_PREFILL && mode != PGR_AD_ALL)
        return pgr_errf(err, PGR_EINVAL, "adapter set: mode %d unknown", mode);
    if (prompt_len < 0)
        return pgr_errf(err, PGR_EINVAL, "adapter set: prompt length %d", prompt_len);
    const pgr_model_cfg *c = pgr_model_config(s->m);
    if (a && (a->n_layer != c->n_layer || a->dim != c->dim))
        return pgr_errf(err, PGR_EINVAL, "adapter set: adapter made for another model shape");
    s->bind[seq] = (binding){a, mode, prompt_len};
    return 0;
}

void pgr_adapter_set_unbind(pgr_adapter_set *s, int seq)
{
    if (seq >= 0 && seq < s->max_seqs)
        s->bind[seq] = (binding){NULL, 0, 0};
}

int pgr_adapter_acts_at(const pgr_adapter *a, int mode, int prompt_len, int pos)
{
    if (!a)
        return 0;
    if (pos >= prompt_len)
        return mode == PGR_AD_ALL;
    if (a->spec.method == PGR_AD_LORA || a->spec.pos_first < 0)
        return 1;
    /* pyreft: each of first/last capped at half the prompt (integer division) */
    int half = prompt_len / 2;
    int f = a->spec.pos_first < half ? a->spec.pos_first : half;
    int l = a->spec.pos_last < half ? a->spec.pos_last : half;
    return pos < f || pos >= prompt_len - l;
}

static const binding *tok_binding(const pgr_adapter_set *s, const pgr_batch *b, int t)
{
    int seq = b->seq[t];
    if (seq < 0 || seq >= s->max_seqs)
        return NULL;
    return &s->bind[seq];
}

int pgr_adapter_set_active(const pgr_adapter_set *s, const pgr_batch *b)
{
    for (int t = 0; t < b->n_tok; t++) {
        const binding *bd = tok_binding(s, b, t);
        if (bd && bd->ad && pgr_adapter_acts_at(bd->ad, bd->mode, bd->prompt_len, b->pos[t]))
            return 1;
    }
    return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem, pgr_err *err)
{
    if (need <= *cap)
        return 0;
    size_t bytes;
    if (!pgr_mul_ok(need, elem, &bytes))
        return pgr_errf(err, PGR_ENOMEM, "adapter scratch too large");
    void *q = realloc(*p, bytes);
    if (!q)
        return pgr_errf(err, PGR_ENOMEM, "out of memory for adapter scratch");
    *p = q, *cap = need;
    return 0;
}

/* Tokens of the batch that an adapter acts on at this hook, grouped by
 * adapter (sorted by adapter, then batch order; no sort when already
 * grouped), so that each adapter is one segment for the backend's sgmv
 * (Punica SGMV: shrink x·A^T over the segment, then expand ·B^T). Each
 * token's result depends only on its own row, so batching never changes a
 * sequence's output. */
typedef struct tok_ref {
    const pgr_adapter *ad;
    int t;
} tok_ref;

static int cmp_tok_ref(const void *x, const void *y)
{
    const tok_ref *a = x, *b = y;
    if (a->ad != b->ad)
        return (uintptr_t)a->ad < (uintptr_t)b->ad ? -1 : 1;
    return (a->t > b->t) - (a->t < b->t);
}

/* Collects the acting tokens (is_lora: LoRA adapters with tensors at slot k;
 * else ReFT adapters with tensors at layer k) and groups them by adapter.
 * Returns the count, or -1 with err. */
static int collect(pgr_adapter_set *s, const pgr_batch *b, int is_lora, size_t k, pgr_err *err)
{
    if (grow((void **)&s->idx, &s->cap_tok, (size_t)b->n_tok, sizeof *s->idx, err) != 0)
        return -1;
    tok_ref *refs = s->idx;
    int n = 0, sorted = 1;
    for (int t = 0; t < b->n_tok; t++) {
        const binding *bd = tok_binding(s, b, t);
        if (!bd || !bd->ad || (bd->ad->spec.method == PGR_AD_LORA) != is_lora)
            continue;
        if (is_lora ? !bd->ad->lora_a[k].data : !bd->ad->reft_R[k].data)
            continue;
        if (!pgr_adapter_acts_at(bd->ad, bd->mode, bd->prompt_len, b->pos[t]))
            continue;
        if (n && cmp_tok_ref(&refs[n - 1], &(tok_ref){bd->ad, t}) > 0)
            sorted = 0;
        refs[n++] = (tok_ref){bd->ad, t};
    }
    if (!sorted)
        qsort(refs, (size_t)n, sizeof *refs, cmp_tok_ref);
    return n;
}

/* Rows and one segment per adapter from the grouped tokens, then the
 * backend's sgmv (the reference one when the backend has none). */
static int run_segments(pgr_adapter_set *s, const pgr_hook_args *h, int n, int is_lora, size_t k,
                        const float *x, int in_dim, pgr_err *err)
{
    if (grow((void **)&s->rows, &s->cap_rows, (size_t)n, sizeof *s->rows, err) != 0 ||
        grow((void **)&s->segs, &s->cap_segs, (size_t)n, sizeof *s->segs, err) != 0)
        return -1;
    int n_seg = 0;
    for (int i0 = 0; i0 < n;) {
        const pgr_adapter *ad = s->idx[i0].ad;
        int i1 = i0;
        while (i1 < n && s->idx[i1].ad == ad) {
            s->rows[i1] = s->idx[i1].t;
            i1++;
        }
        pgr_sgmv_seg *g = &s->segs[n_seg++];
        memset(g, 0, sizeof *g);
        g->begin = i0, g->end = i1;
        if (is_lora) {
            const pgr_adapter_tensor *A = &ad->lora_a[k], *B = &ad->lora_b[k];
            if (A->cols != in_dim || B->rows != h->out_dim || B->cols != A->rows)
                return pgr_errf(err, PGR_EINTERNAL, "lora at layer %d %s: shape mismatch",
                                h->layer, pgr_site_name(h->site));
            g->rank = A->rows, g->a = A->data, g->b = B->data, g->scale = ad->scale;
        } else {
            const pgr_adapter_tensor *R = &ad->reft_R[k], *W = &ad->reft_W[k];
            if (R->cols != h->out_dim || W->cols != R->cols || W->rows != R->rows)
                return pgr_errf(err, PGR_EINTERNAL, "reft at layer %d: dim mismatch", h->layer);
            /* LoReFT u = W h + b - R h; DiReFT u = W h + b; then h += R^T u */
            g->rank = R->rows, g->a = W->data, g->bias = ad->reft_b[k].data, g->scale = 1.0f;
            g->a2 = ad->spec.method == PGR_AD_LOREFT ? R->data : NULL;
            g->b = R->data, g->b_rows = 1;
        }
        if (g->rank < 1 || g->rank > PGR_SGMV_MAX_RANK)
            return pgr_errf(err, PGR_EINTERNAL, "adapter rank %d out of range", g->rank);
        i0 = i1;
    }
    const pgr_kernels *K = h->kernels && h->kernels->sgmv ? h->kernels : pgr_kernels_ref();
    K->sgmv(h->kctx, n_seg, s->segs, s->rows, x, in_dim, h->out, h->out_dim);
    return 0;
}

static int hook_lora(void *user, const pgr_hook_args *h, pgr_err *err)
{
    pgr_adapter_set *s = user;
    size_t k = (size_t)h->layer * PGR_SITE_COUNT + (size_t)h->site;
    int n = collect(s, h->batch, 1, k, err);
    if (n <= 0)
        return n;
    return run_segments(s, h, n, 1, k, h->in, h->in_dim, err);
}

/* ReFT at the residual stream, in place: h += R^T (W h + b - R h) (LoReFT)
 * or h += R^T (W h + b) (DiReFT). W h and R h use the same dot product, so
 * W = R, b = 0 gives exactly zero. */
static int hook_reft(void *user, const pgr_hook_args *h, pgr_err *err)
{
    pgr_adapter_set *s = user;
    int n = collect(s, h->batch, 0, (size_t)h->layer, err);
    if (n <= 0)
        return n;
    return run_segments(s, h, n, 0, (size_t)h->layer, h->out, h->out_dim, err);
}

const pgr_adapter_set *pgr_adapter_set_of_hooks(const pgr_hooks *h)
{
    if (!h || h->fn[PGR_SITE_Q] != hook_lora || h->fn[PGR_SITE_RESID] != hook_reft)
        return NULL;
    return h->user;
}

const pgr_adapter *pgr_adapter_set_binding(const pgr_adapter_set *s, int seq, int *mode,
                                           int *prompt_len)
{
    if (!s || seq < 0 || seq >= s->max_seqs || !s->bind[seq].ad)
        return NULL;
    *mode = s->bind[seq].mode;
    *prompt_len = s->bind[seq].prompt_len;
    return s->bind[seq].ad;
}

void pgr_adapter_set_hooks(pgr_adapter_set *s, pgr_hooks *out)
{
    memset(out, 0, sizeof *out);
    for (int site = 0; site < PGR_SITE_RESID; site++)
        out->fn[site] = hook_lora;
    out->fn[PGR_SITE_RESID] = hook_reft;
    out->user = s;
}

/* ---- scheduler glue ---- */
static int sched_bind(void *user, int seq, const void *adapter, int mode, int prompt_len,
                      pgr_err *err)
{
    return pgr_adapter_set_bind(user, seq, adapter,
                                mode == PGR_SCHED_MODE_ALL ? PGR_AD_ALL : PGR_AD_PREFILL,
                                prompt_len, err);
}
static void sched_unbind(void *user, int seq) { pgr_adapter_set_unbind(user, seq); }
static int sched_active(void *user, const pgr_batch *b) { return pgr_adapter_set_active(user, b); }

void pgr_adapter_set_sched(pgr_adapter_set *s, struct pgr_sched_adapt *out)
{
    out->bind = sched_bind;
    out->unbind = sched_unbind;
    out->active = sched_active;
    pgr_adapter_set_hooks(s, &out->hooks);
    out->user = s;
}
