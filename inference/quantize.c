/* Model-file quantisation as llama.cpp's llama-quantize does it (see
 * quantize.h for the promise). What has to match for equal bytes:
 *
 * - tensor order: llama.cpp walks its loader's weight map, sorted by layer
 *   number ("blk.N.", -1 for the rest) and then by name;
 * - per-tensor types: the mixture's default, raised for attn_v and ffn_down
 *   in some layers (use_more_bits) and for the output matrix (or the token
 *   embeddings when they are tied to it), then a fallback when the row length
 *   is not a multiple of the type's block (Q4_K -> Q5_0, Q6_K -> Q8_0, else
 *   F16); a tensor already in its target type is copied unchanged;
 * - metadata: every pair copied in order, except general.quantization_version
 *   and general.file_type, which move to the end with new values, and the
 *   split keys, which go;
 * - layout: GGUF v3, tensor data aligned to 32 bytes, zero padding. */
#include "inference/quantize.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "inference/gguf.h"
#include "kernels/kernels.h"

#define ALIGN 32
#define QNT_VERSION 2 /* ggml's GGML_QNT_VERSION */

int pgr_mix_parse(const char *name)
{
    if (!strcasecmp(name, "Q4_K_M"))
        return PGR_MIX_Q4_K_M;
    if (!strcasecmp(name, "Q6_K"))
        return PGR_MIX_Q6_K;
    if (!strcasecmp(name, "Q8_0"))
        return PGR_MIX_Q8_0;
    return -1;
}

static int mix_default_type(pgr_mix mix)
{
    switch (mix) {
    case PGR_MIX_Q4_K_M: return PGR_KT_Q4_K;
    case PGR_MIX_Q6_K: return PGR_KT_Q6_K;
    default: return PGR_KT_Q8_0;
    }
}

/* ---- order and categories ------------------------------------------------------ */
static int layer_of(const char *name)
{
    int l = -1;
    if (sscanf(name, "blk.%d.", &l) != 1)
        l = -1;
    return l;
}

static int cmp_tensor(const void *a, const void *b)
{
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    int lx = layer_of(x->name), ly = layer_of(y->name);
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int ggml_dims(const gguf_tensor *t)
{
    for (int i = 3; i >= 1; i--)
        if (t->ne[i] > 1)
            return i + 1;
    return 1;
}

enum cat { CAT_OTHER, CAT_OUTPUT, CAT_TOKEN_EMBD, CAT_ATTN_V, CAT_FFN_DOWN };

static enum cat category(const char *name)
{
    if (!strcmp(name, "output.weight"))
        return CAT_OUTPUT;
    if (!strcmp(name, "token_embd.weight") || !strcmp(name, "per_layer_token_embd.weight"))
        return CAT_TOKEN_EMBD;
    /* attn_qkv and attn_kv_b count as attn_v in llama.cpp's rules */
    if (strstr(name, "attn_qkv.weight") || strstr(name, "attn_kv_b.weight") ||
        strstr(name, "attn_v.weight"))
        return CAT_ATTN_V;
    if (strstr(name, "attn_k.weight") || strstr(name, "attn_q.weight") ||
        strstr(name, "attn_output.weight") || strstr(name, "ffn_up") || strstr(name, "ffn_gate"))
        return CAT_OTHER;
    if (strstr(name, "ffn_down"))
        return CAT_FFN_DOWN;
    return CAT_OTHER;
}

/* Matrices only, named *weight, minus the ones llama.cpp keeps as they are. */
static int allows_quantization(const gguf_tensor *t)
{
    static const char *const keep[] = {
        "_norm.weight", "ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj",
        "ssm_conv1d", "shortconv.conv.weight", "time_mix_", "attn_rel_b.weight", ".position_embd",
        ".rel_pos", ".patch_embd", ".patch_merger", "indexer.k_proj.weight", "indexer.q_proj.weight"};
    size_t n = strlen(t->name);
    if (ggml_dims(t) < 2 || n < 6 || strcmp(t->name + n - 6, "weight") != 0)
        return 0;
    if (!strcmp(t->name, "position_embd.weight") || !strcmp(t->name, "token_types.weight"))
        return 0;
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (strstr(t->name, keep[i]))
            return 0;
    return 1;
}

static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

struct rules {
    pgr_mix mix;
    int tied; /* no output.weight: the token embeddings are the output matrix */
    int n_attn_v, i_attn_v, n_layer, i_ffn_down;
};

static int target_type(struct rules *q, const gguf_tensor *t)
{
    if (!allows_quantization(t))
        return (int)t->type;
    const enum cat c = category(t->name);
    int ty = mix_default_type(q->mix);
    if (c == CAT_OUTPUT || (q->tied && c == CAT_TOKEN_EMBD)) {
        if (t->ne[0] % pgr_kt_block_elems(ty) != 0)
            ty = PGR_KT_Q8_0;
        else if (ty != PGR_KT_Q8_0)
            ty = PGR_KT_Q6_K;
    } else if (c == CAT_ATTN_V) {
        if (q->mix == PGR_MIX_Q4_K_M && use_more_bits(q->i_attn_v, q->n_attn_v))
            ty = PGR_KT_Q6_K;
        q->i_attn_v++;
    } else if (c == CAT_FFN_DOWN) {
        if (q->mix == PGR_MIX_Q4_K_M && use_more_bits(q->i_ffn_down, q->n_layer))
            ty = PGR_KT_Q6_K;
        q->i_ffn_down++;
    }
    if (t->ne[0] % pgr_kt_block_elems(ty) != 0) {
        ty = ty == PGR_KT_Q4_K ? PGR_KT_Q5_0 : ty == PGR_KT_Q6_K ? PGR_KT_Q8_0 : ty;
        if (t->ne[0] % pgr_kt_block_elems(ty) != 0)
            ty = PGR_KT_F16;
    }
    return ty;
}

/* ---- threaded conversion of one tensor ----------------------------------------- */
struct conv {
    const gguf_tensor *t;
    int type;
    size_t rows, cols, out_rb;
    uint8_t *out;
    atomic_size_t next; /* next chunk of rows */
    atomic_int failed;
};
#define CONV_ROWS 16

static void *conv_worker(void *arg)
{
    struct conv *c = arg;
    float *row = malloc(sizeof(float) * c->cols);
    if (!row) {
        atomic_store(&c->failed, 1);
        return NULL;
    }
    for (;;) {
        size_t r0 = atomic_fetch_add(&c->next, CONV_ROWS);
        if (r0 >= c->rows)
            break;
        size_t r1 = r0 + CONV_ROWS < c->rows ? r0 + CONV_ROWS : c->rows;
        for (size_t r = r0; r < r1; r++) {
            const uint8_t *src = (const uint8_t *)c->t->data + r * c->t->row_bytes;
            if (pgr_dequant_row((int)c->t->type, src, row, c->cols) != 0 ||
                pgr_quant_row_ggml(c->type, row, c->out + r * c->out_rb, c->cols) != 0)
                atomic_store(&c->failed, 1);
        }
    }
    free(row);
    return NULL;
}

/* out (rows, out_rb) = t converted to type, rows shared by n_threads */
static int convert(const gguf_tensor *t, int type, uint8_t *out, size_t out_rb, int n_threads)
{
    struct conv c = {.t = t, .type = type, .cols = (size_t)t->ne[0], .out_rb = out_rb, .out = out};
    c.rows = t->nbytes / t->row_bytes;
    atomic_init(&c.next, 0);
    atomic_init(&c.failed, 0);
    pthread_t th[64];
    int started = 0;
    for (int i = 1; i < n_threads && i < 64; i++)
        if (pthread_create(&th[started], NULL, conv_worker, &c) == 0)
            started++;
    conv_worker(&c);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    return atomic_load(&c.failed) ? -1 : 0;
}

/* ---- writing ------------------------------------------------------------------- */
static int put(FILE *fp, const void *p, size_t n) { return fwrite(p, 1, n, fp) == n ? 0 : -1; }
static int put_u32(FILE *fp, uint32_t v) { return put(fp, &v, 4); }
static int put_u64(FILE *fp, uint64_t v) { return put(fp, &v, 8); }
static int put_str(FILE *fp, const char *s) { return put_u64(fp, strlen(s)) || put(fp, s, strlen(s)); }
static int put_zeros(FILE *fp, size_t n)
{
    static const uint8_t z[ALIGN];
    return put(fp, z, n);
}
static size_t pad(size_t n) { return (ALIGN - n % ALIGN) % ALIGN; }

static int skip_key(const char *k)
{
    return !strcmp(k, "general.quantization_version") || !strcmp(k, "general.file_type") ||
           !strcmp(k, "split.no") || !strcmp(k, "split.count") || !strcmp(k, "split.tensors.count");
}

int pgr_gguf_quantize(const char *in, const char *out, pgr_mix mix, int n_threads, pgr_err *err)
{
    int rc = -1;
    gguf_file *f = NULL;
    FILE *fp = NULL;
    const gguf_tensor **ts = NULL;
    int *types = NULL;
    size_t *sizes = NULL;
    uint8_t *buf = NULL;
    char *tmp = NULL;
    if (pgr_mix_parse(mix == PGR_MIX_Q4_K_M ? "Q4_K_M" : mix == PGR_MIX_Q6_K ? "Q6_K" : "Q8_0") !=
        (int)mix)
        return pgr_errf(err, PGR_EINVAL, "quantize: unknown mixture %d", (int)mix);
    if (gguf_open(in, &f, err) != 0)
        return -1;
    uint32_t u;
    if (gguf_get_u32(f, "llama.expert_count", &u, NULL) == 0 && u > 1) {
        pgr_errf(err, PGR_EUNSUPPORTED, "%s: mixture-of-experts models are not supported", in);
        goto cleanup;
    }
    if (gguf_alignment(f) != ALIGN) {
        pgr_errf(err, PGR_EUNSUPPORTED, "%s: general.alignment %zu is not supported (only %d)", in,
                 gguf_alignment(f), ALIGN);
        goto cleanup;
    }
    struct rules q = {.mix = mix, .tied = gguf_find_tensor(f, "output.weight") == NULL};
    if (gguf_get_u32(f, "llama.block_count", &u, err) != 0)
        goto cleanup;
    if (u == 80 && mix == PGR_MIX_Q4_K_M) { /* llama.cpp's 70B rule raises attn_v to Q5_K */
        pgr_errf(err, PGR_EUNSUPPORTED, "%s: 80-layer (70B) models need Q5_K, not supported", in);
        goto cleanup;
    }
    q.n_layer = (int)u;
    const size_t nt = gguf_n_tensors(f);
    ts = malloc(sizeof *ts * (nt ? nt : 1));
    types = malloc(sizeof *types * (nt ? nt : 1));
    sizes = malloc(sizeof *sizes * (nt ? nt : 1));
    if (!ts || !types || !sizes) {
        pgr_errf(err, PGR_ENOMEM, "quantize: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < nt; i++) {
        ts[i] = gguf_tensor_at(f, i);
        q.n_attn_v += category(ts[i]->name) == CAT_ATTN_V;
    }
    qsort(ts, nt, sizeof *ts, cmp_tensor);
    for (size_t i = 0; i < nt; i++) {
        types[i] = target_type(&q, ts[i]);
        size_t rb;
        if (types[i] == (int)ts[i]->type) {
            sizes[i] = ts[i]->nbytes;
        } else if (pgr_kt_row_bytes(types[i], (size_t)ts[i]->ne[0], &rb) != 0 ||
                   !pgr_mul_ok(rb, ts[i]->nbytes / ts[i]->row_bytes, &sizes[i])) {
            pgr_errf(err, PGR_EUNSUPPORTED, "%s: tensor %s: cannot write type %s", in, ts[i]->name,
                     pgr_kt_name(types[i]));
            goto cleanup;
        }
    }

    size_t tl = strlen(out) + 8;
    tmp = malloc(tl);
    if (!tmp) {
        pgr_errf(err, PGR_ENOMEM, "quantize: out of memory");
        goto cleanup;
    }
    snprintf(tmp, tl, "%s.part", out);
    fp = fopen(tmp, "wb");
    if (!fp) {
        pgr_errf(err, PGR_EIO, "%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    /* header and metadata */
    size_t nkv = 0;
    for (size_t i = 0; i < gguf_n_kv(f); i++)
        nkv += !skip_key(gguf_kv_key(f, i));
    int bad = put(fp, "GGUF", 4) || put_u32(fp, 3) || put_u64(fp, nt) || put_u64(fp, nkv + 2);
    for (size_t i = 0; i < gguf_n_kv(f) && !bad; i++) {
        const void *raw;
        size_t len;
        if (!skip_key(gguf_kv_key(f, i)))
            bad = gguf_kv_raw(f, i, &raw, &len) || put(fp, raw, len);
    }
    bad = bad || put_str(fp, "general.quantization_version") || put_u32(fp, 4 /* u32 */) ||
          put_u32(fp, QNT_VERSION) || put_str(fp, "general.file_type") || put_u32(fp, 4) ||
          put_u32(fp, (uint32_t)mix);
    /* tensor infos; offsets from the start of the (aligned) data section */
    size_t off = 0;
    for (size_t i = 0; i < nt && !bad; i++) {
        const int nd = ggml_dims(ts[i]);
        bad = put_str(fp, ts[i]->name) || put_u32(fp, (uint32_t)nd);
        for (int d = 0; d < nd && !bad; d++)
            bad = put_u64(fp, (uint64_t)ts[i]->ne[d]);
        bad = bad || put_u32(fp, (uint32_t)types[i]) || put_u64(fp, off);
        off += sizes[i] + pad(sizes[i]);
    }
    long pos = ftell(fp);
    bad = bad || pos < 0 || put_zeros(fp, pad((size_t)pos));
    /* data */
    for (size_t i = 0; i < nt && !bad; i++) {
        const void *data = ts[i]->data;
        if (types[i] != (int)ts[i]->type) {
            uint8_t *nb = realloc(buf, sizes[i] ? sizes[i] : 1);
            if (!nb) {
                pgr_errf(err, PGR_ENOMEM, "quantize: out of memory for tensor %s", ts[i]->name);
                goto cleanup;
            }
            buf = nb;
            if (convert(ts[i], types[i], buf, sizes[i] / (ts[i]->nbytes / ts[i]->row_bytes),
                        n_threads < 1 ? 1 : n_threads) != 0) {
                pgr_errf(err, PGR_EUNSUPPORTED, "%s: tensor %s: cannot convert %s to %s", in,
                         ts[i]->name, pgr_kt_name((int)ts[i]->type), pgr_kt_name(types[i]));
                goto cleanup;
            }
            data = buf;
        }
        bad = put(fp, data, sizes[i]) || put_zeros(fp, pad(sizes[i]));
    }
    if (bad || fflush(fp) != 0) {
        pgr_errf(err, PGR_EIO, "%s: write failed: %s", tmp, strerror(errno));
        goto cleanup;
    }
    int cerr = fclose(fp);
    fp = NULL;
    if (cerr != 0 || rename(tmp, out) != 0) {
        pgr_errf(err, PGR_EIO, "%s: %s", out, strerror(errno));
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (fp)
        fclose(fp);
    if (rc != 0 && tmp)
        unlink(tmp);
    free(tmp);
    free(buf);
    free(ts);
    free(types);
    free(sizes);
    gguf_close(f);
    return rc;
}

/* ---- peergraph quantize ------------------------------------------------------------ */
static void usage(FILE *out)
{
    fprintf(out, "usage: peergraph quantize --out PATH [--model PATH] [--type Q4_K_M|Q6_K|Q8_0] "
                 "[--threads N]\n"
                 "  rewrites a llama-family GGUF in a k-quant mixture, byte-identical to\n"
                 "  llama.cpp's llama-quantize (no importance matrix); default model %s,\n"
                 "  type Q4_K_M, 2 threads\n",
                 PGR_DEFAULT_MODEL);
}

int cmd_quantize(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"out", required_argument, 0, 'o'},
                                         {"type", required_argument, 0, 't'},
                                         {"threads", required_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *in = PGR_DEFAULT_MODEL, *out = NULL;
    int mix = PGR_MIX_Q4_K_M, threads = 2, c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': in = optarg; break;
        case 'o': out = optarg; break;
        case 't':
            mix = pgr_mix_parse(optarg);
            if (mix < 0) {
                fprintf(stderr, "peergraph quantize: --type: '%s' is not Q4_K_M, Q6_K or Q8_0\n", optarg);
                return 2;
            }
            break;
        case 'j':
            errno = 0;
            threads = (int)strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || threads < 1 || threads > 64) {
                fprintf(stderr, "peergraph quantize: --threads: '%s' is not in [1, 64]\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!out || optind != argc) {
        usage(stderr);
        return 2;
    }
    pgr_err err = {0};
    if (pgr_gguf_quantize(in, out, (pgr_mix)mix, threads, &err) != 0) {
        fprintf(stderr, "peergraph quantize: %s\n", err.msg);
        return 1;
    }
    return 0;
}
