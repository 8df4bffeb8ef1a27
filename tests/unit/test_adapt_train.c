/* peergraph adapt --author end to end on the real model and the seed pages:
 * ingest tests/data/seeds into a fresh SQLite graph, train a seed owner's
 * adapter for a few steps (LoRA prefill, short sequences), then
 * - the file lies in <db dir>/adapters and the loader accepts it against the
 *   model and its hash;
 * - the adapters row carries method, mode, rank, path, base hash and metrics
 *   (held-out losses of base and both modes, disjoint train / held-out work
 *   lists that are the author's works, data hash, seed);
 * - the corpus split is by work and deterministic; sequences keep their prompt;
 * - the file is named by its sha256, which the row's metrics record;
 * - --changed's states: the author is current after training (for any
 *   method), none for another base model; another owner without an adapter
 *   is none, with a hand-registered row untrained, and a newer row for
 *   another model does not hide their current one;
 * - the CLI refuses mixed modes. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "cli.h"
#include "graph/graph.h"
#include "inference/adapt_train.h"
#include "inference/train_data.h"

#define MODEL "models/smollm2-135m-instruct-q4_1.gguf"


static char dir[512], url[600];
static pgr_model *model;
static pgr_tokenizer *tok;
static char sha[65];

static int setup(void)
{
    const char *tmp = getenv("PEERGRAPH_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/adapt_train.%d", tmp ? tmp : "/tmp", (int)getpid());
    if (mkdir(dir, 0755) != 0)
        return -1;
    snprintf(url, sizeof url, "sqlite:%s/g.db", dir);
    char *argv[] = {"ingest",
                    "--db",
                    url,
                    "--as-of",
                    "2026-11-22",
                    "tests/data/seeds/000_d3c4f35904570651.txt",
                    "tests/data/seeds/001_a913e99828b9320d.txt",
                    "tests/data/seeds/002_fcb58e6391e25be6.txt",
                    "tests/data/seeds/003_9aac860f5a5de2fd.txt",
                    "tests/data/seeds/004_048387b8d4aff427.txt",
                    NULL};
    if (cmd_ingest(10, argv) != 0)
        return -1;
    pgr_err err = {0};
    if (pgr_model_load(MODEL, &model, &err) != 0 || pgr_model_sha256(model, sha, &err) != 0 ||
        pgr_tok_load(pgr_model_gguf(model), &tok, &err) != 0) {
        fprintf(stderr, "    %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* The owner with most works (a real corpus with a held-out split). */
static int pick_owner(pgr_store *s, char key[32], pgr_id *other)
{
    pgr_id *ids = NULL;
    size_t n = 0, best = 0;
    pgr_err err = {0};
    *other = 0;
    key[0] = 0;
    if (pgr_adapter_candidates(s, &ids, &n, &err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        pgr_id *w = NULL;
        size_t nw = 0;
        pgr_author_work_ids(s, ids[i], &w, &nw, &err);
        free(w);
        if (nw > best) {
            if (key[0])
                *other = atoll(key + 1);
            best = nw;
            snprintf(key, 32, "A%lld", (long long)ids[i]);
        } else if (!*other)
            *other = ids[i];
    }
    free(ids);
    return key[0] ? 0 : -1;
}

static void test_corpus_split(void)
{
    pgr_store *s = NULL;
    pgr_err err = {0};
    pgr_train_corpus *c1 = NULL, *c2 = NULL;
    char key[32];
    pgr_id other;
    CHECK(pgr_store_open(url, &s, &err) == 0);
    CHECK(pick_owner(s, key, &other) == 0);
    int ok = pgr_train_corpus_load(s, key, tok, 64, &c1, &err) == 0 &&
             pgr_train_corpus_load(s, key, tok, 64, &c2, &err) == 0;
    int bad = !ok;
    if (ok) {
        size_t held = 0;
        for (size_t i = 0; i < c1->n_works; i++) {
            held += c1->heldout[i];
            bad +=
                strcmp(c1->work_keys[i], c2->work_keys[i]) != 0 || c1->heldout[i] != c2->heldout[i];
        }
        bad += !(c1->n_works >= 2 && held == (c1->n_works + 4) / 5);
        bad += c1->n_train + c1->n_test > 2 * c1->n_works || c1->n_test < 1 || c1->n_train < 2;
        for (size_t i = 0; i < c1->n_train; i++)
            bad += !(c1->train[i].n_tok <= 64 && c1->train[i].prompt_len >= 1 &&
                     c1->train[i].prompt_len < c1->train[i].n_tok);
        bad += strcmp(c1->data_sha256, c2->data_sha256) != 0;
        char ds[65];
        bad += pgr_train_data_sha256(s, key, ds, &err) != 0 || strcmp(ds, c1->data_sha256) != 0;
    } else
        fprintf(stderr, "    corpus: %s\n", err.msg);
    pgr_train_corpus_free(c1);
    pgr_train_corpus_free(c2);
    pgr_store_close(s);
    CHECK_INT(bad, 0);
}

static void test_adapt_author(void)
{
    if (SANITIZED)
        SKIP("real-model training is too slow under the sanitizers (test_train covers the code)");
    pgr_store *s = NULL;
    pgr_err err = {0};
    char key[32];
    pgr_id other, aid = 0;
    json_t *list = NULL;
    pgr_adapter *loaded = NULL;
    CHECK(pgr_store_open(url, &s, &err) == 0);
    CHECK(pick_owner(s, key, &other) == 0);
    pgr_adapt_args a;
    pgr_adapt_args_default(&a);
    a.db_url = url;
    a.steps = 2;
    a.batch = 1;
    a.max_tok = 40;
    a.max_eval = 2;
    a.compare = 1;
    a.n_threads = 1;
    int rc = pgr_adapt_author(s, model, sha, tok, key, &a, &aid, &err);
    if (rc != 0)
        fprintf(stderr, "    adapt: %s\n", err.msg);
    int bad = rc != 0 || aid <= 0;
    pgr_id author_id = atoll(key + 1);
    if (!bad && pgr_adapter_list(s, author_id, &list, &err) == 0 && json_array_size(list) == 1) {
        json_t *row = json_array_get(list, 0);
        const char *path = json_string_value(json_object_get(row, "path"));
        char want_dir[700];
        snprintf(want_dir, sizeof want_dir, "%s/adapters/", dir);
        bad += !path || !strstr(path, "/adapters/") || strncmp(path, want_dir, strlen(want_dir));
        bad += strcmp(json_string_value(json_object_get(row, "method")), "lora") != 0;
        bad += strcmp(json_string_value(json_object_get(row, "mode")), "prefill") != 0;
        bad += json_integer_value(json_object_get(row, "rank")) != 8;
        bad += strcmp(json_string_value(json_object_get(row, "base_model_sha256")), sha) != 0;
        if (path && pgr_adapter_load(path, model, sha, &loaded, &err) != 0) {
            fprintf(stderr, "    load: %s\n", err.msg);
            bad++;
        }
        if (loaded)
            bad += loaded->spec.method != PGR_AD_LORA || loaded->spec.rank != 8 ||
                   loaded->spec.n_layers != pgr_model_config(model)->n_layer;
        json_t *m = json_object_get(row, "metrics");
        json_t *hl = json_object_get(m, "heldout_loss");
        double base = json_real_value(json_object_get(hl, "base"));
        double pre = json_real_value(json_object_get(hl, "prefill"));
        double all = json_real_value(json_object_get(hl, "all"));
        bad += !(base > 0.5 && base < 15 && pre > 0.5 && pre < 15 && all > 0.5 && all < 15);
        bad += json_integer_value(json_object_get(m, "seed")) != 1;
        bad += json_integer_value(json_object_get(m, "steps")) != 2;
        bad += strlen(json_string_value(json_object_get(m, "data_sha256")) ?: "") != 64;
        /* train and held-out works: disjoint, the author's own */
        pgr_id *wids = NULL;
        size_t nw = 0;
        pgr_author_work_ids(s, author_id, &wids, &nw, &err);
        json_t *tr = json_object_get(m, "works_train"), *ho = json_object_get(m, "works_heldout");
        bad += json_array_size(tr) < 1 || json_array_size(ho) < 1;
        for (int k = 0; k < 2; k++) {
            json_t *arr = k ? ho : tr, *v;
            size_t i;
            json_array_foreach(arr, i, v)
            {
                const char *wk = json_string_value(v);
                int mine = 0;
                for (size_t j = 0; wk && j < nw; j++)
                    mine |= atoll(wk + 1) == wids[j];
                bad += !mine;
                if (k)
                    for (size_t j = 0; j < json_array_size(tr); j++)
                        bad += strcmp(wk, json_string_value(json_array_get(tr, j))) == 0;
            }
        }
        free(wids);
        if (bad)
            fprintf(stderr, "    row: %s\n", json_dumps(row, JSON_COMPACT));
    } else
        bad++;
    /* the file is named by its content and the row says so */
    if (!bad && list) {
        json_t *row = json_array_get(list, 0);
        const char *path = json_string_value(json_object_get(row, "path"));
        const char *fs = json_string_value(
            json_object_get(json_object_get(row, "metrics"), "adapter_sha256"));
        char *bytes = NULL, hex[65] = "", want_name[128];
        size_t nb = 0;
        if (path && pgr_read_file(path, &bytes, &nb, &err) == 0)
            pgr_sha256_hex(bytes, nb, hex);
        free(bytes);
        snprintf(want_name, sizeof want_name, "/%s-lora-prefill-%.16s.pgad", key, hex);
        if (!fs || strcmp(fs, hex) != 0 || !path || !strstr(path, want_name)) {
            fprintf(stderr, "    file %s: sha256 %s, row says %s\n", path, hex, fs ? fs : "-");
            bad++;
        }
    }
    /* --changed's test: the author is current, whatever method is asked next */
    int state = -1;
    pgr_id cur = 0;
    if (pgr_adapt_state(s, key, sha, &state, &cur, &err) != 0 || state != PGR_ADAPT_CURRENT ||
        cur != aid) {
        fprintf(stderr, "    %s after training: %s (adapter %lld, want %lld) %s\n", key,
                pgr_adapt_state_name(state), (long long)cur, (long long)aid, err.msg);
        bad++;
    }
    /* another base model's current adapter is none of ours */
    if (pgr_adapt_state(s, key, "0123", &state, &cur, &err) != 0 || state != PGR_ADAPT_NONE ||
        cur != 0)
        bad++;
    if (other) {
        char ok2[32];
        snprintf(ok2, sizeof ok2, "A%lld", (long long)other);
        bad += pgr_adapt_state(s, ok2, sha, &state, NULL, &err) != 0 || state != PGR_ADAPT_NONE;
        /* a hand-registered file (no training record) is left alone */
        pgr_adapter_rec rec = {other, "lora", "prefill", 4, "/nonexistent/hand.pgad", sha, NULL};
        pgr_id hid = 0;
        bad += pgr_adapter_register(s, &rec, &hid, NULL, &err) != 0;
        bad += pgr_adapt_state(s, ok2, sha, &state, &cur, &err) != 0 ||
               state != PGR_ADAPT_UNTRAINED || cur != hid;
        /* a row for another model added later does not hide it */
        pgr_adapter_rec rec2 = {other, "lora", "prefill", 4, "/nonexistent/x.pgad", "0123", NULL};
        pgr_id xid = 0;
        bad += pgr_adapter_add(s, &rec2, &xid, &err) != 0 || xid <= hid;
        json_t *crow = NULL, *orow = NULL;
        bad += pgr_adapter_current(s, other, sha, &crow, &orow, &err) != 0 || !crow || !orow ||
               json_integer_value(json_object_get(crow, "id")) != hid ||
               json_integer_value(json_object_get(orow, "id")) != xid;
        json_decref(crow);
        json_decref(orow);
    }
    json_decref(list);
    pgr_adapter_free(loaded);
    pgr_store_close(s);
    CHECK_INT(bad, 0);
}

static void test_cli_usage(void)
{
    char *a4[] = {"adapt", "--author", "A1", "--dry-run", NULL};
    CHECK_INT(cmd_adapt(4, a4), 2);
    char *a1[] = {"adapt", "--author", "A1", "--changed", NULL};
    char *a2[] = {"adapt", "--author", "A1", "--random", "--seed", "1", "--out", "/dev/null", NULL};
    char *a3[] = {"adapt", "--author", "A1", "--steps", "0", NULL};
    CHECK_INT(cmd_adapt(4, a1), 2);
    CHECK_INT(cmd_adapt(8, a2), 2);
    CHECK_INT(cmd_adapt(5, a3), 2);
}

int main(void)
{
    if (access(MODEL, R_OK) != 0) {
        printf("test_adapt_train: 0 passed, 0 failed, 1 skipped\n");
        return 0;
    }
    if (setup() != 0) {
        fprintf(stderr, "setup failed\n");
        printf("test_adapt_train: 0 passed, 1 failed, 0 skipped\n");
        return 1;
    }
    RUN(test_corpus_split);
    RUN(test_adapt_author);
    RUN(test_cli_usage);
    pgr_tok_free(tok);
    pgr_model_free(model);
    return check_summary("test_adapt_train");
}
