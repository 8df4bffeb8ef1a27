/* See golden_gen.h. */
#include "golden_gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int32_t *ids_of(json_t *arr, int *n)
{
    *n = (int)json_array_size(arr);
    int32_t *v = malloc(sizeof(int32_t) * (size_t)(*n > 0 ? *n : 1));
    for (int i = 0; v && i < *n; i++)
        v[i] = (int32_t)json_integer_value(json_array_get(arr, (size_t)i));
    return v;
}

int golden_load(const char *path, golden_set *g)
{
    memset(g, 0, sizeof *g);
    json_error_t je;
    g->root = json_load_file(path, 0, &je);
    if (!g->root) {
        fprintf(stderr, "    %s:%d: %s\n", path, je.line, je.text);
        return -1;
    }
    json_t *arr = json_object_get(g->root, "prompts");
    for (size_t i = 0; i < json_array_size(arr) && g->n < 32; i++) {
        golden_prompt *p = &g->p[g->n++];
        p->j = json_array_get(arr, i);
        p->name = json_string_value(json_object_get(p->j, "name"));
        p->ids = ids_of(json_object_get(p->j, "prompt_ids"), &p->n_ids);
        p->gen = ids_of(json_object_get(p->j, "gen_ids"), &p->n_gen);
        if (!p->name || !p->ids || !p->gen || p->n_ids == 0) {
            fprintf(stderr, "    %s: prompt %zu is incomplete\n", path, i);
            return -1;
        }
    }
    return 0;
}

void golden_free(golden_set *g)
{
    for (int k = 0; k < g->n; k++)
        free(g->p[k].ids), free(g->p[k].gen);
    json_decref(g->root);
    memset(g, 0, sizeof *g);
}

int golden_argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

int golden_run_alone(pgr_engine *e, pgr_kv *kv, const pgr_model *m, const golden_prompt *p,
                     int one_by_one, int max_gen, int32_t *out, float *prompt_logits, pgr_err *err)
{
    const int V = pgr_model_config(m)->vocab;
    float *lg = malloc(sizeof(float) * (size_t)V);
    int32_t *seq = malloc(sizeof(int32_t) * (size_t)p->n_ids), *pos = malloc(sizeof(int32_t) * (size_t)p->n_ids);
    int s = -1, n = -1;
    if (!lg || !seq || !pos || (s = pgr_kv_seq_open(kv, err)) < 0)
        goto done;
    for (int i = 0; i < p->n_ids; i++)
        seq[i] = s, pos[i] = i;
    for (int i = 0; i < p->n_ids; i += one_by_one ? 1 : p->n_ids) {
        pgr_batch b = {one_by_one ? 1 : p->n_ids, p->ids + i, seq + i, pos + i, NULL};
        if (pgr_forward(e, kv, &b, lg, err))
            goto done;
    }
    if (prompt_logits)
        memcpy(prompt_logits, lg, sizeof(float) * (size_t)V);
    for (n = 0; n < max_gen;) {
        int32_t t = golden_argmax(lg, V), sp = s, pp = p->n_ids + n;
        out[n++] = t;
        if (t == 0 || t == 2 || n == max_gen)
            break;
        pgr_batch b1 = {1, &t, &sp, &pp, NULL};
        if (pgr_forward(e, kv, &b1, lg, err)) {
            n = -1;
            goto done;
        }
    }
done:
    if (s >= 0)
        pgr_kv_seq_close(kv, s);
    free(lg), free(seq), free(pos);
    return n;
}

int golden_check(pgr_engine *e, pgr_kv *kv, const pgr_model *m, const golden_set *g, int n,
                 int one_by_one, int max_gen, double tol, double *worst, pgr_err *err)
{
    const int V = pgr_model_config(m)->vocab;
    float *lg = malloc(sizeof(float) * (size_t)V);
    int failed = 0;
    *worst = 0;
    for (int k = 0; k < n && k < g->n && lg; k++) {
        const golden_prompt *p = &g->p[k];
        int32_t gen[64];
        const int want = max_gen > 0 && p->n_gen > max_gen ? max_gen : p->n_gen < 64 ? p->n_gen : 64;
        const int got = golden_run_alone(e, kv, m, p, one_by_one, want, gen, lg, err);
        if (got < 0) {
            failed = -1;
            break;
        }
        json_t *tid = json_object_get(p->j, "top_ids"), *tlg = json_object_get(p->j, "top_logits");
        double maxd = 0, mean = 0, var = 0;
        for (size_t i = 0; i < json_array_size(tid); i++) {
            const int id = (int)json_integer_value(json_array_get(tid, i));
            const double d = id >= 0 && id < V ? fabs(lg[id] - json_real_value(json_array_get(tlg, i))) : INFINITY;
            maxd = d > maxd ? d : maxd;
        }
        for (int i = 0; i < V; i++)
            mean += lg[i];
        mean /= V;
        for (int i = 0; i < V; i++)
            var += (lg[i] - mean) * (lg[i] - mean);
        const double dmean = fabs(mean - json_real_value(json_object_get(p->j, "logits_mean")));
        const double dstd = fabs(sqrt(var / V) - json_real_value(json_object_get(p->j, "logits_std")));
        *worst = maxd > *worst ? maxd : *worst;
        const int same = got == want && memcmp(gen, p->gen, sizeof(int32_t) * (size_t)got) == 0;
        int first_diff = 0;
        while (first_diff < got && first_diff < p->n_gen && gen[first_diff] == p->gen[first_diff])
            first_diff++;
        fprintf(stderr, "    %-16s prompt %3d tok: top-50 max|d| %.5f, mean d %.5f, std d %.5f, greedy %s (%d/%d)\n",
                p->name, p->n_ids, maxd, dmean, dstd, same ? "identical" : "DIFFERS", first_diff, want);
        if (!same || maxd > tol || dmean > tol || dstd > tol)
            failed++;
    }
    free(lg);
    return failed;
}
