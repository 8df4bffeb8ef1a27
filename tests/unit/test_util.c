/* graph/util: arena, string buffer, errors, sha256. */
#include "graph/util.h"
#include "tests/check.h"

static void test_arena(void)
{
    pgr_arena a = {.chunk_size = 64};
    char *s = pgr_arena_strdup(&a, "hello");
    CHECK_STR(s, "hello");
    char *big = pgr_arena_alloc(&a, 1000); /* larger than a chunk */
    CHECK(big != NULL);
    CHECK(((uintptr_t)big & 15) == 0);
    CHECK(pgr_arena_calloc(&a, SIZE_MAX / 2, 4) == NULL); /* overflow refused */
    CHECK_STR(pgr_arena_printf(&a, "%d-%s", 42, "x"), "42-x");
    CHECK_STR(s, "hello"); /* earlier allocations survive new chunks */
    pgr_arena_free(&a);
    CHECK(a.head == NULL);
}

static void test_sb(void)
{
    pgr_sb sb = {0};
    for (int i = 0; i < 1000; i++)
        pgr_sb_printf(&sb, "%d,", i);
    CHECK(pgr_sb_ok(&sb));
    CHECK(strncmp(sb.data, "0,1,2,", 6) == 0);
    CHECK_INT(sb.data[sb.len], 0);
    char *s = pgr_sb_steal(&sb);
    CHECK(sb.data == NULL);
    CHECK(strlen(s) > 3000);
    free(s);
    pgr_sb_append(&sb, "abc", 3);
    pgr_sb_reset(&sb);
    CHECK_INT(sb.len, 0);
    pgr_sb_free(&sb);
}

static void test_err(void)
{
    pgr_err e = {0};
    CHECK_INT(pgr_errf(&e, PGR_EINVAL, "line %d: bad", 12), -1);
    pgr_err_prefix(&e, "%s", "file.txt");
    CHECK_STR(e.msg, "file.txt: line 12: bad");
    CHECK_INT(e.code, PGR_EINVAL);
    CHECK_INT(pgr_errf(NULL, PGR_EINVAL, "no target"), -1);
}

static void test_sha256(void)
{
    char hex[65];
    pgr_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_read_file_missing(void)
{
    char *d;
    size_t n;
    pgr_err e = {0};
    CHECK_INT(pgr_read_file("/nonexistent/x", &d, &n, &e), -1);
    CHECK(strstr(e.msg, "/nonexistent/x") != NULL);
}

int main(void)
{
    RUN(test_arena);
    RUN(test_sb);
    RUN(test_err);
    RUN(test_sha256);
    RUN(test_read_file_missing);
    return check_summary("test_util");
}
