/* pgr_rank_ids (store_author.c: radix sort, run lengths, counting sort by
 * count) against a brute-force count and qsort order, on arrays with
 * duplicates, ids of every size (negative ones and ids differing only in
 * high bytes included) and the edge sizes 0 and 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/store_impl.h"
#include "tests/check.h"

static int cmp_ref(const void *x, const void *y)
{
    const pgr_coauthor *a = x, *b = y;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The expected ranking, the slow way: count each distinct id by scanning. */
static pgr_coauthor *reference(const pgr_id *ids, size_t n, size_t *m)
{
    pgr_coauthor *c = malloc((n ? n : 1) * sizeof *c);
    *m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < *m && c[k].id != ids[i])
            k++;
        if (k == *m)
            c[(*m)++] = (pgr_coauthor){ids[i], 0};
        c[k].n++;
    }
    qsort(c, *m, sizeof *c, cmp_ref);
    return c;
}

static void check_case(const pgr_id *src, size_t n)
{
    pgr_id *ids = malloc((n ? n : 1) * sizeof *ids);
    CHECK(ids != NULL);
    if (n)
        memcpy(ids, src, n * sizeof *ids);
    size_t m_ref, m = 99;
    pgr_coauthor *want = reference(src, n, &m_ref), *got = NULL;
    CHECK_INT(pgr_rank_ids(ids, n, &got, &m), 0);
    CHECK_INT(m, m_ref);
    int same = 1;
    for (size_t i = 0; i < m && same; i++)
        same = got[i].id == want[i].id && got[i].n == want[i].n;
    CHECK(same);
    for (size_t i = 1; i < n; i++) /* ids is left sorted, as documented */
        CHECK(ids[i - 1] <= ids[i]);
    free(ids);
    free(want);
    free(got);
}

static void test_rank_edges(void)
{
    check_case(NULL, 0);
    pgr_id one[] = {42};
    check_case(one, 1);
    pgr_id same[] = {7, 7, 7, 7};
    check_case(same, 4);
    /* ids that differ only in a high byte, negative ids, the extremes */
    pgr_id wide[] = {INT64_MAX, 1, (pgr_id)1 << 40, -5, INT64_MIN, 1, (pgr_id)1 << 40,
                     -5,        0, (pgr_id)3 << 56, 1,  -((pgr_id)1 << 50)};
    check_case(wide, sizeof wide / sizeof wide[0]);
}

static void test_rank_random(void)
{
    for (int round = 0; round < 40; round++) {
        size_t n = (size_t)(next() % 3000);
        uint64_t range = round % 3 == 0 ? 20 : round % 3 == 1 ? 5000 : UINT64_MAX;
        pgr_id *ids = malloc((n ? n : 1) * sizeof *ids);
        CHECK(ids != NULL);
        for (size_t i = 0; i < n; i++)
            ids[i] = range == UINT64_MAX && i % 4 ? ids[i / 2] /* repeats */
                                                  : (pgr_id)(next() % range);
        check_case(ids, n);
        free(ids);
    }
}

int main(void)
{
    RUN(test_rank_edges);
    RUN(test_rank_random);
    return check_summary("test_rank_ids");
}
