/* Canonical arXiv ids and DOIs (indexer/ids.c). */
#include "indexer/ids.h"
#include "tests/check.h"

static const char *arx(const char *s, int *ver)
{
    static char buf[IX_ARXIV_ID_MAX];
    return ix_arxiv_canon(s, strlen(s), buf, ver) ? NULL : buf;
}
static const char *doi(const char *s)
{
    static char buf[IX_DOI_MAX];
    return ix_doi_canon(s, strlen(s), buf) ? NULL : buf;
}

static void test_arxiv_new_style(void)
{
    int v = -1;
    CHECK_STR(arx("2605.14217", &v), "2605.14217");
    CHECK_INT(v, 0);
    CHECK_STR(arx("2605.14217v3", &v), "2605.14217");
    CHECK_INT(v, 3);
    CHECK_STR(arx("arXiv:1111.2011v2", &v), "1111.2011");
    CHECK_INT(v, 2);
    CHECK_STR(arx("http://arxiv.org/abs/1707.08567v1", &v), "1707.08567");
    CHECK_INT(v, 1);
    CHECK_STR(arx("https://export.arxiv.org/pdf/2202.12139v12.pdf", &v), "2202.12139");
    CHECK_INT(v, 12);
    CHECK_STR(arx("oai:arXiv.org:1305.0014", &v), "1305.0014");
    CHECK_STR(arx("  0704.0001 \n", &v), "0704.0001");
}

static void test_arxiv_old_style(void)
{
    int v = -1;
    CHECK_STR(arx("hep-th/9901001", &v), "hep-th/9901001");
    CHECK_INT(v, 0);
    CHECK_STR(arx("hep-th/9901001v2", &v), "hep-th/9901001");
    CHECK_INT(v, 2);
    CHECK_STR(arx("math.GT/0309136", &v), "math/0309136");
    CHECK_STR(arx("arXiv:cond-mat/0102536v1", &v), "cond-mat/0102536");
    CHECK_STR(arx("http://arxiv.org/abs/Math/0309136", &v), "math/0309136");
}

static void test_arxiv_rejects(void)
{
    int v;
    CHECK(!arx("", &v));
    CHECK(!arx("abc", &v));
    CHECK(!arx("0000.0000", &v));   /* month 00 */
    CHECK(!arx("2613.12345", &v));  /* month 13 */
    CHECK(!arx("2605.123", &v));    /* 3 digits */
    CHECK(!arx("2605.123456", &v)); /* 6 digits */
    CHECK(!arx("2605.14217v", &v));
    CHECK(!arx("2605.14217v0", &v));
    CHECK(!arx("2605.14217x", &v));
    CHECK(!arx("hep-th/990100", &v));
    CHECK(!arx("https://example.org/abs/2605.14217", &v));
    CHECK(!arx("https://arxiv.org/api/errors#incorrect_id_format_for_abc", &v));
    char buf[IX_ARXIV_ID_MAX];
    CHECK_INT(ix_arxiv_canon(NULL, 0, buf, &v), -1);
}

static void test_doi(void)
{
    CHECK_STR(doi("10.1103/PhysRevB.85.115117"), "10.1103/physrevb.85.115117");
    CHECK_STR(doi("https://doi.org/10.1093/MIND/LIX.236.433"), "10.1093/mind/lix.236.433");
    CHECK_STR(doi("http://dx.doi.org/10.1103/PhysRevB.85.115117"), "10.1103/physrevb.85.115117");
    CHECK_STR(doi("doi:10.2307/3610576"), "10.2307/3610576");
    CHECK_STR(doi(" 10.1016/j.a.2007.1 10.1016/j.b.2007.2"), "10.1016/j.a.2007.1");
    CHECK(!doi("11.1234/x"));
    CHECK(!doi("10./x"));
    CHECK(!doi("10.1234/"));
    CHECK(!doi("https://example.org/10.1234/x"));
    CHECK(!doi(""));
}

/* ORCID iDs: the check digit is ISO 7064 MOD 11-2 over the first 15 digits. */
static void test_orcid(void)
{
    char out[IX_ORCID_LEN + 1];
    CHECK_INT(ix_orcid_canon("0000-0001-6187-6610", out), 0);
    CHECK_STR(out, "0000-0001-6187-6610");
    CHECK_INT(ix_orcid_canon("https://orcid.org/0000-0003-1613-5981", out), 0);
    CHECK_STR(out, "0000-0003-1613-5981");
    CHECK_INT(ix_orcid_canon("http://orcid.org/0000-0002-1825-0097", out), 0); /* ORCID's own example */
    CHECK_INT(ix_orcid_canon("0000-0002-1694-233X", out), 0);                  /* check digit X */
    CHECK_STR(out, "0000-0002-1694-233X");
    static const char *const bad[] = {"0000-0001-6187-6611", "0000-0002-1694-2330", "0000-0001-6187-661",
                                      "0000-0001-6187-66100", "0000000161876610xxx", "0000-0001-618X-6610",
                                      "https://example.org/0000-0001-6187-6610", "", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_MSG(ix_orcid_canon(bad[i], out) == -1, "\"%s\" accepted", bad[i]);
        CHECK_STR(out, "");
    }
    CHECK_INT(ix_orcid_canon(NULL, out), -1);
}

int main(void)
{
    RUN(test_arxiv_new_style);
    RUN(test_arxiv_old_style);
    RUN(test_arxiv_rejects);
    RUN(test_doi);
    RUN(test_orcid);
    return check_summary("test_ids");
}
