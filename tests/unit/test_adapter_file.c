/* Adapter files and the registry, against the real model's shapes:
 * - save/load round trip (bitwise tensors, every spec field, base hash);
 * - hand-built files with one defect each are refused with an error that
 *   names the field or tensor;
 * - the registry: hits share one copy, LRU eviction within the budget, held
 *   adapters are never evicted, failed loads are not cached, and a thread
 *   acquiring one adapter does not wait for another adapter's load (a FIFO
 *   stands in for a slow disk: its load blocks until the test writes it). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "inference/adapter.h"

#define MODEL "models/smollm2-135m-instruct-q4_1.gguf"

static pgr_model *model;
static char sha[65];
static char tmpdir[512];

static pgr_adapter *make(int method, const char *targets, const char *layers, int rank,
                         uint64_t seed)
{
    pgr_adapter_spec s;
    pgr_err err = {0};
    pgr_adapter *a = NULL;
    pgr_adapter_spec_default(&s, model);
    s.method = method;
    s.rank = rank;
    if (pgr_adapter_parse_targets(targets, &s.targets, &err) != 0 ||
        pgr_adapter_parse_layers(layers, pgr_model_config(model)->n_layer, &s, &err) != 0 ||
        pgr_adapter_new_random(&s, model, seed, &a, &err) != 0) {
        fprintf(stderr, "    make: %s\n", err.msg);
        return NULL;
    }
    memcpy(a->base_sha256, sha, sizeof sha);
    return a;
}

static int same_tensor(const pgr_adapter_tensor *x, const pgr_adapter_tensor *y)
{
    if (!x->data || !y->data)
        return !x->data && !y->data;
    return x->rows == y->rows && x->cols == y->cols &&
           memcmp(x->data, y->data, sizeof(float) * (size_t)x->rows * (size_t)x->cols) == 0;
}

static void test_round_trip(void)
{
    if (!model)
        SKIP("no model at %s", MODEL);
    pgr_adapter *in[3] = {make(PGR_AD_LORA, "q,k,v,o,gate,up,down", "0-3,29", 4, 1),
                          make(PGR_AD_LOREFT, "resid", "5,6", 8, 2),
                          make(PGR_AD_DIREFT, "resid", "all", 2, 3)};
    in[1]->spec.pos_first = 3, in[1]->spec.pos_last = 5;
    in[2]->spec.pos_first = in[2]->spec.pos_last = -1;
    in[2]->spec.mode = PGR_AD_ALL;
    for (int k = 0; k < 3; k++) {
        CHECK(in[k] != NULL);
        char path[600];
        pgr_err err = {0};
        pgr_adapter *out = NULL;
        snprintf(path, sizeof path, "%s/rt%d.pgad", tmpdir, k);
        CHECK_MSG(pgr_adapter_save(in[k], path, &err) == 0, "%s", err.msg);
        CHECK_MSG(pgr_adapter_load(path, model, sha, &out, &err) == 0, "%s", err.msg);
        const pgr_adapter_spec *x = &in[k]->spec, *y = &out->spec;
        CHECK(x->method == y->method && x->mode == y->mode && x->rank == y->rank &&
              x->alpha == y->alpha && x->targets == y->targets && x->n_layers == y->n_layers &&
              x->pos_first == y->pos_first && x->pos_last == y->pos_last);
        CHECK(memcmp(x->layers, y->layers, sizeof(int) * (size_t)x->n_layers) == 0);
        CHECK_STR(out->base_sha256, sha);
        CHECK(out->bytes == in[k]->bytes);
        size_t n = (size_t)out->n_layer * PGR_SITE_COUNT;
        for (size_t i = 0; out->lora_a && i < n; i++)
            CHECK(same_tensor(&in[k]->lora_a[i], &out->lora_a[i]) &&
                  same_tensor(&in[k]->lora_b[i], &out->lora_b[i]));
        for (int l = 0; out->reft_R && l < out->n_layer; l++)
            CHECK(same_tensor(&in[k]->reft_R[l], &out->reft_R[l]) &&
                  same_tensor(&in[k]->reft_W[l], &out->reft_W[l]) &&
                  same_tensor(&in[k]->reft_b[l], &out->reft_b[l]));
        /* another base model's hash is refused, naming the field */
        char other[65];
        memset(other, 'a', 64), other[64] = 0;
        pgr_adapter *bad = NULL;
        CHECK(pgr_adapter_load(path, model, other, &bad, &err) != 0 && bad == NULL);
        CHECK(strstr(err.msg, "base_model_sha256") && strstr(err.msg, path));
        pgr_adapter_free(out);
        pgr_adapter_free(in[k]);
    }
}

/* ---- hand-built files ------------------------------------------------------------ */

static const char *META =
    "\"__metadata__\":{\"format\":\"peergraph-adapter\",\"version\":\"1\","
    "\"base_model_sha256\":\"\",\"method\":\"lora\",\"mode\":\"prefill\",\"targets\":\"q\","
    "\"rank\":\"1\",\"alpha\":\"1\",\"layers\":\"%s\",\"positions\":\"all\"}";

/* q at layer 0, rank 1: A (1, 576) then B (576, 1), F32: 2 * 2304 bytes. */
#define QA "\"layers.0.q.lora_a\":{\"dtype\":\"%s\",\"shape\":[1,576],\"data_offsets\":[0,%d]}"
#define QB "\"layers.0.q.lora_b\":{\"dtype\":\"F32\",\"shape\":[%d,1],\"data_offsets\":[%d,%d]}"

static size_t build(uint8_t *buf, size_t cap, const char *hdr, size_t data_len, uint64_t hlen_lie)
{
    size_t hl = strlen(hdr);
    uint64_t h = hlen_lie ? hlen_lie : hl;
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(h >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    if (8 + hl + data_len > cap)
        return 0;
    for (size_t i = 0; i < data_len; i++) /* small finite floats: bytes 00 00 80 3f = 1.0f */
        buf[8 + hl + i] = (uint8_t)((i % 4) == 3 ? 0x3f : (i % 4) == 2 ? 0x80 : 0);
    return 8 + hl + data_len;
}

static void expect_error(const char *what, const uint8_t *buf, size_t len, const char *needle1,
                         const char *needle2, int *failed)
{
    pgr_err err = {0};
    pgr_adapter *a = NULL;
    int rc = pgr_adapter_parse(buf, len, "case.pgad", model, NULL, &a, &err);
    if (rc == 0 || a || !strstr(err.msg, "case.pgad") || !strstr(err.msg, needle1) ||
        (needle2 && !strstr(err.msg, needle2))) {
        fprintf(stderr, "    %s: rc %d, message '%s' (wanted '%s'%s%s)\n", what, rc, err.msg,
                needle1, needle2 ? " and " : "", needle2 ? needle2 : "");
        (*failed)++;
    }
    pgr_adapter_free(a);
}

static void test_validation_errors(void)
{
    if (!model)
        SKIP("no model");
    static uint8_t buf[1 << 16];
    char hdr[4096], meta0[1024], meta_bad[1024], qa[256], qb[256];
    int failed = 0;
    size_t n;
    snprintf(meta0, sizeof meta0, META, "0");
    snprintf(qa, sizeof qa, QA, "F32", 2304);
    snprintf(qb, sizeof qb, QB, 576, 2304, 4608);
    /* the well-formed file parses */
    snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta0, qa, qb);
    n = build(buf, sizeof buf, hdr, 4608, 0);
    pgr_err err = {0};
    pgr_adapter *ok = NULL;
    CHECK_MSG(pgr_adapter_parse(buf, n, "ok.pgad", model, NULL, &ok, &err) == 0, "%s", err.msg);
    CHECK(ok->lora_a[PGR_SITE_Q].data[0] == 1.0f && ok->lora_b[PGR_SITE_Q].data[575] == 1.0f);
    pgr_adapter_free(ok);

    expect_error("short", buf, 5, "too short", NULL, &failed);
    n = build(buf, sizeof buf, hdr, 4608, (uint64_t)1 << 40);
    expect_error("header length", buf, n, "header length", NULL, &failed);
    n = build(buf, sizeof buf, "{\"a\":[1,,]}", 0, 0);
    expect_error("json", buf, n, "header JSON", NULL, &failed);
    n = build(buf, sizeof buf, "[1,2]", 0, 0);
    expect_error("not object", buf, n, "not a JSON object", NULL, &failed);

    snprintf(qa, sizeof qa, QA, "I64", 2304);
    snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta0, qa, qb);
    n = build(buf, sizeof buf, hdr, 4608, 0);
    expect_error("dtype", buf, n, "layers.0.q.lora_a", "dtype", &failed);

    snprintf(qa, sizeof qa, QA, "F32", 2300);
    snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta0, qa, qb);
    n = build(buf, sizeof buf, hdr, 4608, 0);
    expect_error("nbytes", buf, n, "layers.0.q.lora_a", "bytes for 576 elements", &failed);

    snprintf(qa, sizeof qa, QA, "F32", 2304);
    snprintf(qb, sizeof qb, QB, 576, 2304, 4608);
    snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta0, qa, qb);
    n = build(buf, sizeof buf, hdr, 4000, 0);
    expect_error("past end", buf, n, "layers.0.q.lora_b", "outside the data section", &failed);

    snprintf(qb, sizeof qb, QB, 576, 1000, 3304);
    snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta0, qa, qb);
    n = build(buf, sizeof buf, hdr, 4608, 0);
    expect_error("overlap", buf, n, "overlap", NULL, &failed);

    snprintf(qb, sizeof qb, QB, 575, 2304, 4604);
    snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta0, qa, qb);
    n = build(buf, sizeof buf, hdr, 4604, 0);
    expect_error("shape", buf, n, "layers.0.q.lora_b", "expected [576, 1]", &failed);

    snprintf(qb, sizeof qb, QB, 576, 2304, 4608);
    snprintf(meta_bad, sizeof meta_bad, META, "0,1");
    snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta_bad, qa, qb);
    n = build(buf, sizeof buf, hdr, 4608, 0);
    expect_error("missing", buf, n, "layers.1.q.lora_a", "missing", &failed);

    snprintf(meta_bad, sizeof meta_bad, META, "0,30");
    snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta_bad, qa, qb);
    n = build(buf, sizeof buf, hdr, 4608, 0);
    expect_error("layer range", buf, n, "__metadata__", "out of range 0..29", &failed);

    snprintf(hdr, sizeof hdr,
             "{%s,%s,%s,\"layers.3.q.lora_a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":["
             "4608,4612]}}",
             meta0, qa, qb);
    n = build(buf, sizeof buf, hdr, 4612, 0);
    expect_error("unexpected", buf, n, "not named by the metadata", NULL, &failed);

    snprintf(hdr, sizeof hdr, "{%s,%s}", qa, qb);
    n = build(buf, sizeof buf, hdr, 4608, 0);
    expect_error("no metadata", buf, n, "no __metadata__", NULL, &failed);

    snprintf(meta_bad, sizeof meta_bad, "%s", meta0);
    char *r = strstr(meta_bad, "\"rank\":\"1\"");
    r[8] = 'x';
    snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta_bad, qa, qb);
    n = build(buf, sizeof buf, hdr, 4608, 0);
    expect_error("rank", buf, n, "__metadata__.rank", NULL, &failed);

    snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta0, qa, qb);
    n = build(buf, sizeof buf, hdr, 4608, 0);
    memcpy(buf + n - 4, "\x00\x00\xc0\x7f", 4); /* NaN in the last element of B */
    expect_error("nan", buf, n, "layers.0.q.lora_b", "not finite", &failed);
    CHECK_MSG(failed == 0, "%d malformed files not refused as expected", failed);
}

/* ---- mapped loading ------------------------------------------------------------------ */

static int write_file(const char *path, const uint8_t *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf, 1, n, f) == n;
    return (f && fclose(f) == 0 && ok) ? 0 : -1;
}

static int in_map(const pgr_adapter *a, const float *p)
{
    const char *m = a->map, *q = (const char *)p;
    return m && q >= m && q < m + a->map_len;
}

/* pgr_adapter_load maps the file: aligned F32 tensors are used in place
 * (and may be written: the map is private, the file stays as it was),
 * F16 and unaligned F32 tensors are converted copies, a NaN is refused with
 * the file and tensor named, and a failed load leaks nothing (ASan). */
static void test_mapped_load(void)
{
    if (!model)
        SKIP("no model");
    pgr_err err = {0};
    char path[600], path2[600];
    snprintf(path, sizeof path, "%s/mapped.pgad", tmpdir);
    snprintf(path2, sizeof path2, "%s/handmade.pgad", tmpdir);
    pgr_adapter *in = make(PGR_AD_LORA, "q,down", "0,7", 4, 11), *a = NULL, *b = NULL;
    CHECK(in != NULL);
    CHECK_MSG(pgr_adapter_save(in, path, &err) == 0, "%s", err.msg);
    CHECK_MSG(pgr_adapter_load(path, model, sha, &a, &err) == 0, "%s", err.msg);
    size_t k = 7 * PGR_SITE_COUNT + PGR_SITE_DOWN;
    CHECK(a->map != NULL && in_map(a, a->lora_a[k].data) && in_map(a, a->lora_b[k].data) &&
          in_map(a, a->lora_a[PGR_SITE_Q].data));
    CHECK(same_tensor(&a->lora_b[k], &in->lora_b[k]));
    float was = a->lora_b[k].data[3];
    a->lora_b[k].data[3] = was + 1.0f; /* copy-on-write: the file keeps its value */
    CHECK_MSG(pgr_adapter_load(path, model, sha, &b, &err) == 0, "%s", err.msg);
    CHECK(b->lora_b[k].data[3] == was && same_tensor(&b->lora_b[k], &in->lora_b[k]));
    pgr_adapter_free(a), pgr_adapter_free(b), pgr_adapter_free(in);

    static uint8_t buf[1 << 16];
    char hdr[4096], meta0[1024], qa[256], qb[256];
    snprintf(meta0, sizeof meta0, META, "0");
    /* A in F16 (converted), B in F32 behind a header padded to keep it aligned */
    snprintf(qa, sizeof qa, QA, "F16", 1152);
    snprintf(qb, sizeof qb, QB, 576, 1152, 3456);
    for (int unaligned = 0; unaligned < 2; unaligned++) {
        snprintf(hdr, sizeof hdr, "{%s,%s,%s}", meta0, qa, qb);
        size_t hl = strlen(hdr);
        while ((8 + hl) % 4 != (size_t)unaligned) /* JSON allows trailing blanks */
            hdr[hl++] = ' ', hdr[hl] = 0;
        size_t n = build(buf, sizeof buf, hdr, 3456, 0);
        CHECK(n > 0 && write_file(path2, buf, n) == 0);
        a = NULL;
        CHECK_MSG(pgr_adapter_load(path2, model, NULL, &a, &err) == 0, "%s", err.msg);
        if (!a)
            continue;
        const float *A = a->lora_a[PGR_SITE_Q].data, *B = a->lora_b[PGR_SITE_Q].data;
        /* F16 pairs 00 00 / 80 3f: 0 and 1.875; B's floats 00 00 80 3f: 1 */
        CHECK(A[0] == 0.0f && A[1] == 1.875f && B[0] == 1.0f && B[575] == 1.0f);
        CHECK(!in_map(a, A));
        CHECK_MSG(in_map(a, B) == !unaligned, "unaligned %d: B %s the map", unaligned,
                  in_map(a, B) ? "in" : "not in");
        pgr_adapter_free(a);
        /* a NaN in the mapped B: refused, naming file, tensor and element */
        memcpy(buf + n - 8, "\x00\x00\xc0\x7f", 4);
        CHECK(write_file(path2, buf, n) == 0);
        a = NULL;
        CHECK(pgr_adapter_load(path2, model, NULL, &a, &err) != 0 && a == NULL);
        CHECK_MSG(strstr(err.msg, path2) && strstr(err.msg, "layers.0.q.lora_b") &&
                      strstr(err.msg, "element 574 is not finite"),
                  "%s", err.msg);
    }
    /* a tiny file is read, and the parser says what is wrong */
    CHECK(write_file(path2, (const uint8_t *)"abc", 3) == 0);
    CHECK(pgr_adapter_load(path2, model, NULL, &a, &err) != 0 && strstr(err.msg, "too short"));
}

/* ---- registry ---------------------------------------------------------------------- */

typedef struct acq {
    pgr_adapter_reg *r;
    const char *path;
    const pgr_adapter *got;
    int rc;
    volatile int done;
} acq;

static void *acquire_thread(void *p)
{
    acq *a = p;
    pgr_err err = {0};
    a->rc = pgr_adapter_reg_acquire(a->r, a->path, &a->got, &err);
    a->done = 1;
    return NULL;
}

static void test_registry(void)
{
    if (!model)
        SKIP("no model");
    char paths[4][600];
    size_t one = 0;
    for (int k = 0; k < 4; k++) {
        pgr_err err = {0};
        pgr_adapter *a = make(PGR_AD_LORA, "q,v", "all", 4, 10 + (uint64_t)k);
        CHECK(a != NULL);
        one = a->bytes;
        snprintf(paths[k], sizeof paths[k], "%s/reg%d.pgad", tmpdir, k);
        CHECK_MSG(pgr_adapter_save(a, paths[k], &err) == 0, "%s", err.msg);
        pgr_adapter_free(a);
    }
    pgr_adapter_reg *r;
    pgr_err err = {0};
    pgr_adapter_reg_stats st;
    const pgr_adapter *a0, *a0b, *a1, *a2, *a3;
    CHECK(pgr_adapter_reg_new(model, sha, 2 * one + one / 2, &r, &err) == 0); /* room for 2 */
    CHECK(pgr_adapter_reg_acquire(r, paths[0], &a0, &err) == 0);
    CHECK(pgr_adapter_reg_acquire(r, paths[0], &a0b, &err) == 0);
    CHECK(a0 == a0b); /* one copy, two references */
    CHECK(pgr_adapter_reg_acquire(r, paths[1], &a1, &err) == 0);
    pgr_adapter_reg_release(r, a1);
    CHECK(pgr_adapter_reg_acquire(r, paths[2], &a2, &err) == 0); /* evicts 1, not held 0 */
    pgr_adapter_reg_stats_get(r, &st);
    CHECK_INT(st.loads, 3);
    CHECK_INT(st.hits, 1);
    CHECK_INT(st.evictions, 1);
    CHECK_INT(st.n_loaded, 2);
    CHECK(st.bytes <= 2 * one + one / 2);
    /* while held, over budget is allowed: 0 and 2 held, 3 loads -> 3 loaded */
    CHECK(pgr_adapter_reg_acquire(r, paths[3], &a3, &err) == 0);
    pgr_adapter_reg_stats_get(r, &st);
    CHECK_INT(st.n_loaded, 3);
    pgr_adapter_reg_release(r, a0);
    pgr_adapter_reg_stats_get(r, &st);
    CHECK_INT(st.n_loaded, 3); /* 0 still held once */
    pgr_adapter_reg_release(r, a0b);
    pgr_adapter_reg_stats_get(r, &st);
    CHECK_INT(st.n_loaded, 2); /* 0 was least recently used of the unheld */
    CHECK_INT(st.evictions, 2);
    /* a missing file fails and is not cached */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope.pgad", tmpdir);
    const pgr_adapter *none = NULL;
    CHECK(pgr_adapter_reg_acquire(r, missing, &none, &err) != 0 && none == NULL);
    CHECK(strstr(err.msg, "nope.pgad") != NULL);

    /* a slow load (a FIFO nobody writes yet) does not hold up another adapter */
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/slow.pgad", tmpdir);
    unlink(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    acq slow = {r, fifo, NULL, -1, 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, acquire_thread, &slow) == 0);
    usleep(50000);
    const pgr_adapter *a1b;
    uint64_t t0 = pgr_now_us();
    CHECK(pgr_adapter_reg_acquire(r, paths[1], &a1b, &err) == 0); /* completes meanwhile */
    CHECK(!slow.done);
    printf("    acquire during another adapter's pending load: %.1f ms\n",
           (double)(pgr_now_us() - t0) / 1000.0);
    /* now feed the FIFO the bytes of adapter 0 */
    char *data;
    size_t len;
    CHECK(pgr_read_file(paths[0], &data, &len, &err) == 0);
    FILE *w = fopen(fifo, "wb");
    CHECK(w != NULL);
    CHECK(fwrite(data, 1, len, w) == len);
    fclose(w);
    free(data);
    pthread_join(th, NULL);
    CHECK_INT(slow.rc, 0);
    CHECK(slow.got != NULL && slow.got->spec.rank == 4);
    pgr_adapter_reg_release(r, slow.got);
    pgr_adapter_reg_release(r, a1b);
    pgr_adapter_reg_release(r, a2);
    pgr_adapter_reg_release(r, a3);
    pgr_adapter_reg_stats_get(r, &st);
    CHECK(st.bytes <= 2 * one + one / 2);
    pgr_adapter_reg_free(r);
    unlink(fifo);
}

int main(void)
{
    pgr_err err = {0};
    const char *t = getenv("PEERGRAPH_TEST_TMP");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_adapter_file.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror(tmpdir);
        return 1;
    }
    if (pgr_model_load(MODEL, &model, &err) != 0 || pgr_model_sha256(model, sha, &err) != 0) {
        fprintf(stderr, "    %s\n", err.msg);
        pgr_model_free(model);
        model = NULL;
    }
    RUN(test_round_trip);
    RUN(test_validation_errors);
    RUN(test_mapped_load);
    RUN(test_registry);
    pgr_model_free(model);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "    could not remove %s\n", tmpdir);
    return check_summary("test_adapter_file");
}
