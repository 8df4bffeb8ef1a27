/* Sampler and stop strings (inference/sample.c). */
#include <math.h>
#include <string.h>

#include "../check.h"
#include "inference/sample.h"

#define V 1000

static void fill_logits(float *l)
{
    for (int i = 0; i < V; i++)
        l[i] = (float)((i * 7919) % 1000) / 100.0f; /* 0 .. 9.99, a permutation */
}

static int argmax(const float *l)
{
    int b = 0;
    for (int i = 1; i < V; i++)
        if (l[i] > l[b])
            b = i;
    return b;
}

static void test_greedy_and_ties(void)
{
    pgr_sample_cfg c;
    pgr_sample_defaults(&c);
    pgr_sampler *s = pgr_sampler_new(&c, V);
    float l[V];
    fill_logits(l);
    CHECK_INT(pgr_sample(s, l, NULL, 0), argmax(l));
    for (int i = 0; i < V; i++)
        l[i] = 1.0f;
    CHECK_INT(pgr_sample(s, l, NULL, 0), 0); /* ties: lowest id */
    pgr_sampler_free(s);
}

static void test_seeded_sampling_is_deterministic(void)
{
    pgr_sample_cfg c;
    pgr_sample_defaults(&c);
    c.temperature = 1.5f;
    c.top_k = 0;
    c.top_p = 1.0f;
    c.min_p = 0;
    c.seed = 42;
    int32_t a[64], b[64], d[64];
    pgr_sampler *s1 = pgr_sampler_new(&c, V), *s2 = pgr_sampler_new(&c, V);
    c.seed = 43;
    pgr_sampler *s3 = pgr_sampler_new(&c, V);
    float l[V];
    int distinct = 0, differs = 0;
    for (int i = 0; i < 64; i++) {
        fill_logits(l), a[i] = pgr_sample(s1, l, NULL, 0);
        fill_logits(l), b[i] = pgr_sample(s2, l, NULL, 0);
        fill_logits(l), d[i] = pgr_sample(s3, l, NULL, 0);
        differs += a[i] != d[i];
        distinct += i > 0 && a[i] != a[i - 1];
    }
    CHECK(memcmp(a, b, sizeof a) == 0); /* same seed, same tokens */
    CHECK(differs > 0);                 /* another seed, other tokens */
    CHECK(distinct > 10);               /* it does sample, not argmax */
    pgr_sampler_free(s1), pgr_sampler_free(s2), pgr_sampler_free(s3);
}

static void test_filters(void)
{
    pgr_sample_cfg c;
    pgr_sample_defaults(&c);
    c.temperature = 5.0f;
    float l[V];
    /* top_k = 1 is greedy whatever the temperature */
    c.top_k = 1, c.top_p = 1.0f, c.min_p = 0;
    pgr_sampler *s = pgr_sampler_new(&c, V);
    for (int i = 0; i < 20; i++) {
        fill_logits(l);
        CHECK_INT(pgr_sample(s, l, NULL, 0), argmax(l));
    }
    pgr_sampler_free(s);
    /* top_k = 3: only the three best ids ever come out */
    c.top_k = 3;
    s = pgr_sampler_new(&c, V);
    fill_logits(l);
    float best3 = 9.97f;
    for (int i = 0; i < 200; i++) {
        fill_logits(l);
        int t = pgr_sample(s, l, NULL, 0);
        CHECK(l[t] >= best3 - 1e-4);
    }
    pgr_sampler_free(s);
    /* min_p: with one dominant token (p ~ 1) nothing else passes 0.05 */
    c.top_k = 0, c.min_p = 0.05f, c.temperature = 1.0f;
    s = pgr_sampler_new(&c, V);
    for (int i = 0; i < 50; i++) {
        fill_logits(l);
        l[123] = 40.0f;
        CHECK_INT(pgr_sample(s, l, NULL, 0), 123);
    }
    pgr_sampler_free(s);
    /* top_p: 0.5 of a distribution with one token at 0.9 keeps only it */
    c.min_p = 0, c.top_p = 0.5f;
    s = pgr_sampler_new(&c, V);
    for (int i = 0; i < 50; i++) {
        for (int k = 0; k < V; k++)
            l[k] = 0;
        l[7] = logf(0.9f * (V - 1) / 0.1f);
        CHECK_INT(pgr_sample(s, l, NULL, 0), 7);
    }
    pgr_sampler_free(s);
}

static void test_repeat_penalty(void)
{
    pgr_sample_cfg c;
    pgr_sample_defaults(&c);
    c.repeat_penalty = 2.0f;
    pgr_sampler *s = pgr_sampler_new(&c, V);
    float l[V];
    for (int i = 0; i < V; i++)
        l[i] = 0;
    l[5] = 3.0f, l[6] = 2.0f, l[9] = -1.0f;
    int32_t hist[3] = {5, 5, 9};
    CHECK_INT(pgr_sample(s, l, hist, 3), 6); /* 5 drops to 1.5 (once, not twice) */
    CHECK(l[5] == 1.5f && l[9] == -2.0f && l[6] == 2.0f);
    pgr_sampler_free(s);
}

static void test_stop_strings(void)
{
    const char *stops[] = {"<|im_end|>", "\n\nUser:"};
    pgr_stopper st;
    pgr_stop_init(&st, stops, 2);
    const char *out;
    size_t n;
    char shown[256] = "";
    pgr_stop_feed(&st, "Hello", 5, &out, &n);
    strncat(shown, out, n);
    pgr_stop_feed(&st, " world<|im", 10, &out, &n); /* "<|im" might start a stop: held */
    strncat(shown, out, n);
    CHECK_STR(shown, "Hello world");
    pgr_stop_feed(&st, "_end|> trailing", 15, &out, &n);
    strncat(shown, out, n);
    CHECK(st.stopped);
    CHECK_STR(shown, "Hello world");
    pgr_stop_free(&st);

    /* a held prefix that turns out not to be a stop is released */
    pgr_stopper st2;
    pgr_stop_init(&st2, stops, 2);
    shown[0] = 0;
    pgr_stop_feed(&st2, "a\n\nUs", 5, &out, &n);
    strncat(shown, out, n);
    CHECK_STR(shown, "a");
    pgr_stop_feed(&st2, "ually", 5, &out, &n);
    strncat(shown, out, n);
    CHECK_STR(shown, "a\n\nUsually");
    pgr_stop_feed(&st2, " <|im", 5, &out, &n);
    strncat(shown, out, n);
    pgr_stop_finish(&st2, &out, &n); /* end of generation: release the held tail */
    strncat(shown, out, n);
    CHECK_STR(shown, "a\n\nUsually <|im");
    CHECK(!st2.stopped);
    pgr_stop_free(&st2);
}

int main(void)
{
    RUN(test_greedy_and_ties);
    RUN(test_seeded_sampling_is_deterministic);
    RUN(test_filters);
    RUN(test_repeat_penalty);
    RUN(test_stop_strings);
    return check_summary("test_sample");
}
