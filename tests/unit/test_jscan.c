/* jscan, the snapshot's one-pass JSON reader (indexer/jscan.c): decoded
 * values, and each way a document can be malformed, with its offset. The
 * differential fuzz target (tests/fuzz/fuzz_jscan.c) checks it against
 * Jansson on arbitrary input. */
#include "indexer/jscan.h"
#include "tests/check.h"

static int parse(const char *text, jv *v, pgr_arena *a, jscan *s)
{
    return jscan_parse(s, a, text, strlen(text), v);
}

static void test_values(void)
{
    pgr_arena a = {0};
    jscan s = {0};
    jv v;
    const char *doc = "{\"s\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/\",\"n\":-12.5e1,"
                      "\"a\":[true,false,null,[]],\"o\":{},\"k\":1,\"k\":2,\"u\":\"\xe2\x82\xac\"}";
    CHECK_INT(parse(doc, &v, &a, &s), 0);
    CHECK_INT(v.type, JV_OBJ);
    CHECK_INT(v.n, 7);
    const jv *str = jv_get(&v, "s");
    CHECK(str && str->type == JV_STR);
    CHECK_STR(str->u.s, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ /");
    CHECK_INT(str->n, strlen(str->u.s));
    CHECK_NEAR(jv_get(&v, "n")->u.num, -125.0, 0);
    const jv *arr = jv_get(&v, "a");
    CHECK_INT(arr->n, 4);
    CHECK_INT(jv_at(arr, 0)->type, JV_TRUE);
    CHECK_INT(jv_at(arr, 2)->type, JV_NULL);
    CHECK_INT(jv_at(arr, 3)->type, JV_ARR);
    CHECK(jv_at(arr, 4) == NULL);
    CHECK_INT(jv_get(&v, "o")->n, 0);
    CHECK_NEAR(jv_get(&v, "k")->u.num, 2, 0); /* last duplicate wins */
    CHECK_STR(jv_get(&v, "u")->u.s, "\xe2\x82\xac");
    CHECK(jv_get(&v, "missing") == NULL);
    jscan_free(&s);
    pgr_arena_free(&a);
}

static void test_rejects(void)
{
    static const struct {
        const char *text;
        size_t off;
        const char *msg;
    } cases[] = {
        {"{\"a\":1", 6, "unexpected end of input"},
        {"{\"a\" 1}", 5, "expected ':'"},
        {"{a:1}", 1, "expected a string key"},
        {"[1 2]", 3, "expected ',' or ']'"},
        {"\"abc", 0, "unterminated string"},
        {"\"a\tb\"", 2, "control character in string"},
        {"\"\\ud800\"", 7, "lone surrogate"},
        {"\"\\udc00\"", 1, "lone surrogate"},
        {"\"a\\u0000b\"", 2, "\\u0000"},
        {"\"\\x\"", 2, "bad escape"},
        {"\"\\u12g4\"", 5, "bad hex digit"},
        {"\"\xc0\xaf\"", 1, "invalid UTF-8"},     /* overlong */
        {"\"\xed\xa0\x80\"", 1, "invalid UTF-8"}, /* UTF-16 surrogate in UTF-8 */
        {"\"\xe2\x82\"", 1, "invalid UTF-8"},     /* truncated sequence */
        {"[01]", 2, "expected ',' or ']'"},
        {"[1.]", 3, "bad number"},
        {"[-]", 1, "bad number"},
        {"[1e999]", 1, "number out of range"},
        {"[tru]", 1, "invalid literal"},
        {"{} x", 3, "trailing data"},
        {"", 0, "unexpected end of input"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pgr_arena a = {0};
        jscan s = {0};
        jv v;
        int rc = parse(cases[i].text, &v, &a, &s);
        CHECK_MSG(rc == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(s.err_msg, cases[i].msg) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                  s.err_msg, cases[i].msg);
        CHECK_MSG(s.err_off == cases[i].off, "case %zu: offset %zu, want %zu", i, s.err_off,
                  cases[i].off);
        jscan_free(&s);
        pgr_arena_free(&a);
    }
    /* Depth: 64 levels are fine, 65 are not. */
    char deep[200];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    pgr_arena a = {0};
    jscan s = {0};
    jv v;
    CHECK_INT(jscan_parse(&s, &a, deep + 1, 128, &v), 0);
    CHECK_INT(jscan_parse(&s, &a, deep, 130, &v), -1);
    CHECK_STR(s.err_msg, "nested too deeply");
    CHECK_INT(s.err_off, 64);
    jscan_free(&s);
    pgr_arena_free(&a);
}

int main(void)
{
    RUN(test_values);
    RUN(test_rejects);
    return check_summary("test_jscan");
}
