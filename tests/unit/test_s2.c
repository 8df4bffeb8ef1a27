/* Semantic Scholar parser (indexer/s2.c). Expected values are read off
 * tests/data/fixtures/s2 (copied from ../shared/fixtures/scholarly/s2) and
 * tests/data/s2/vcr (the vcr recordings' exchanges, extracted by
 * tests/data/s2/extract_vcr.py). */
#include "tests/check.h"
#include "tests/unit/mdsink.h"

static const ix_work *by_s2(const md_sink *s, const char *id)
{
    for (size_t i = 0; i < s->n_works; i++)
        if (s->works[i].s2_id && !strcmp(s->works[i].s2_id, id))
            return &s->works[i];
    return NULL;
}

static void test_paper_object(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("s2", "fixtures/s2/paper_turing1950_citations_trimmed_to_5.json", &s,
                            &err) == 0,
              "%s", err.msg);
    /* The paper, its 8 references that have ids, its 5 citing papers. */
    CHECK_INT(s.n_works, 14);
    const ix_work *w = by_s2(&s, "2d5673caa9e6af3a7b82a43f19ee920992db07ad");
    CHECK(w != NULL);
    CHECK_STR(w->title, "Computing Machinery and Intelligence");
    CHECK_STR(w->doi, "10.1093/mind/lix.236.433");
    CHECK_INT(w->year, 1950);
    CHECK_STR(w->date, "1950-10-01");
    CHECK_STR(w->venue, "The Philosophy of Artificial Intelligence");
    CHECK_STR(w->type, "JournalArticle");
    CHECK_INT(w->cited_by_count, 10059);
    CHECK(!strncmp(w->abstract,
                   "I propose to consider the question, \xe2\x80\x9c"
                   "Can machines think?",
                   54));
    /* tldr {model, text} */
    CHECK(w->tldr && !strncmp(w->tldr, "If the meaning of the words", 27));
    CHECK(w->tldr && strstr(w->tldr, "Gallup poll.") != NULL);
    CHECK_STR(w->tldr_model, "tldr@v2.0.0");
    CHECK_INT(w->n_authors, 1);
    CHECK_STR(w->authors[0].display_name, "A. Turing");
    CHECK_STR(w->authors[0].s2_id, "2262347");
    CHECK_INT(w->n_topics, 2); /* Computer Science, Sociology (s2FieldsOfStudy deduplicated) */
    CHECK_STR(w->topics[0].scheme, "s2");
    CHECK_STR(w->topics[0].code, "Computer Science");
    CHECK_STR(w->topics[1].code, "Sociology");
    CHECK_INT(w->n_references, 8);
    CHECK_STR(w->references[0], "doi:10.2307/3610576");
    CHECK_STR(w->references[1], "doi:10.1136/bmj.1.4616.1105");
    /* A reference emitted as a work of its own. */
    const ix_work *r = by_s2(&s, "348f436fd9a3965f5ff17db031a9f43426f89b8e");
    CHECK(r != NULL);
    CHECK_STR(r->title, "Calculating Instruments and Machines");
    CHECK_INT(r->year, 1951);
    CHECK_STR(r->authors[0].display_name, "D. Hartree");
    /* A citing paper cites the Turing paper. */
    const ix_work *c = by_s2(&s, "619922f86647f431ab4e105683f1780605dd745d");
    CHECK(c != NULL);
    CHECK_STR(c->doi, "10.1109/jas.2024.124407");
    CHECK_STR(c->venue, "IEEE/CAA Journal of Automatica Sinica");
    CHECK_INT(c->n_references, 1);
    CHECK_STR(c->references[0], "doi:10.1093/mind/lix.236.433");
    CHECK(strstr(err.msg, "6 reference(s) without any id") != NULL);
    /* the paper's author comes as an author object (authors.hIndex asked
     * for): S2's figures about him are an author record of their own */
    CHECK_INT(s.n_authors, 1);
    const ix_author *a = &s.authors[0];
    CHECK_STR(a->s2_id, "2262347");
    CHECK_STR(a->display_name, "A. Turing");
    CHECK_INT(a->works_count, 57);
    CHECK_INT(a->cited_by_count, 13621);
    CHECK_INT(a->h_index, 22);
    CHECK_INT(a->i10_index, -1);
    CHECK(isnan(a->mean_citedness_2yr));
    CHECK_INT(a->n_ids, 1);
    CHECK_STR(a->ids[0].kind, "dblp");
    CHECK_STR(a->ids[0].value, "Alan M. Turing");
    CHECK_INT(a->n_affiliations, 0);
    CHECK(a->homepage == NULL && a->orcid == NULL);
    md_free(&s);
}

/* An author object as /author/{id} answers it with every field (the Graph
 * API's documented shape; no such answer is among the shared fixtures), and
 * its hostile variants. */
static void test_author_object(void)
{
    static const char *const good =
        "{\"authorId\": \"1741101\", \"externalIds\": {\"ORCID\": \"0000-0001-6187-6610\", "
        "\"DBLP\": [\"Oren Etzioni\", \"O. Etzioni\"]}, \"url\": "
        "\"https://www.semanticscholar.org/author/1741101\", \"name\": \"Oren Etzioni\", "
        "\"aliases\": [\"O. Etzioni\"], \"affiliations\": [\"Allen Institute for AI\", \"  \"], "
        "\"homepage\": \"https://allenai.org/\", \"paperCount\": 10, \"citationCount\": 50, "
        "\"hIndex\": 5}";
    const ix_format *f = ix_format_by_name("s2");
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_buf(f, "a.json", good, strlen(good), &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.n_authors, 1);
    const ix_author *a = &s.authors[0];
    CHECK_STR(a->s2_id, "1741101");
    CHECK_STR(a->orcid, "0000-0001-6187-6610");
    CHECK_INT(a->works_count, 10);
    CHECK_INT(a->cited_by_count, 50);
    CHECK_INT(a->h_index, 5);
    CHECK_STR(a->homepage, "https://allenai.org/");
    CHECK_INT(a->n_affiliations, 1); /* the blank one dropped */
    CHECK_STR(a->affiliations[0].name, "Allen Institute for AI");
    CHECK_INT(a->n_ids, 3);
    CHECK_STR(a->ids[0].kind, "orcid");
    CHECK_STR(a->ids[1].kind, "dblp");
    CHECK_STR(a->ids[2].value, "O. Etzioni");
    md_free(&s);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"authorId\": \"17\", \"name\": \"X\", \"hIndex\": -1}", "author 17: hIndex: -1 is out of range"},
        {"{\"authorId\": \"17\", \"name\": \"X\", \"paperCount\": \"many\"}",
         "author 17: paperCount: expected a number"},
        {"{\"authorId\": \"17\", \"name\": \"X\", \"citationCount\": 1e19}",
         "author 17: citationCount: 1e+19 is not an integer"},
        {"{\"authorId\": \"17\", \"name\": \"X\", \"hIndex\": 3.5}", "hIndex: 3.5 is not an integer"},
        {"{\"authorId\": \"17\", \"name\": \"X\", \"externalIds\": {\"ORCID\": \"0000-0000-0000-0000\"}}",
         "author 17: externalIds.ORCID: \"0000-0000-0000-0000\" is not an ORCID iD"},
        {"{\"authorId\": \"17\", \"name\": \"X\", \"externalIds\": {\"DBLP\": [{\"a\": 1}]}}",
         "author 17: externalIds.DBLP: expected an id string"},
        {"{\"authorId\": \"17\", \"name\": \"X\", \"affiliations\": [3]}",
         "author 17: affiliations[0]: expected a string"},
        {"{\"authorId\": \"x17\", \"name\": \"X\"}", "is not a Semantic Scholar author id"},
        {"{\"paperId\": null, \"title\": \"T\", \"externalIds\": {\"DOI\": \"10.1/x\"}, "
         "\"authors\": [{\"authorId\": \"5\", \"name\": \"Y\", \"hIndex\": -7}]}",
         "author 5: hIndex: -7 is out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = md_parse_buf(f, "a.json", bad[i].text, strlen(bad[i].text), &s, &err);
        md_free(&s);
        CHECK_MSG(rc == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, bad[i].want) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                  err.msg, bad[i].want);
    }
}

static void test_items_and_nulls(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("s2", "fixtures/s2/citation_item.json", &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.n_works, 1);
    CHECK_STR(s.works[0].s2_id, "bdcbc589c8d1e4dd0c6572630f8511557406ad2f");
    CHECK_STR(s.works[0].title,
              "Learning to Throw With a Handful of Samples Using Decision Transformers");
    CHECK_STR(s.works[0].doi, "10.1109/lra.2022.3229266");
    CHECK_STR(s.works[0].date, "2023-02-01");
    CHECK_INT(s.works[0].cited_by_count, 2);
    CHECK_STR(s.works[0].authors[1].display_name, "Osher Azulay");
    md_free(&s);

    CHECK_MSG(md_parse_file("s2", "fixtures/s2/reference_item.json", &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.n_works, 1);
    CHECK_STR(s.works[0].arxiv_id, "1402.0030");
    CHECK_STR(s.works[0].title, "Neural Variational Inference and Learning in Belief Networks");
    CHECK_INT(s.works[0].year, 2014);
    md_free(&s);

    CHECK_MSG(md_parse_file("s2", "fixtures/s2/paper_with_null_values.json", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.n_works, 0); /* ids only, no title: not a work */
    CHECK(strstr(err.msg, "1 paper(s) without a title") != NULL);
    md_free(&s);
}

static void test_batch_with_null(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("s2", "s2/vcr/test_get_papers_return_not_found_0.json", &s, &err) == 0,
              "%s", err.msg);
    CHECK_INT(s.n_works, 3);
    CHECK(strstr(err.msg, "1 null batch answer") != NULL);
    const ix_work *w = &s.works[0];
    CHECK_STR(w->s2_id, "c31c87c591a25c64fbaa82e8ac6a81831b6ac7ce");
    CHECK_STR(w->doi, "10.2139/ssrn.288970");
    CHECK_INT(w->year, 2001);
    CHECK_INT(w->cited_by_count, 10670);
    CHECK_STR(w->authors[0].display_name, "Marianne Bertrand");
    CHECK_STR(w->venue, "Experimental & Empirical Studies eJournal"); /* venue "" -> journal.name */
    CHECK_INT(w->position, 2); /* after the null in request order */
    CHECK_STR(s.works[1].doi, "10.2139/ssrn.2250500");
    CHECK(s.works[2].date == NULL);
    CHECK_INT(s.works[2].year, 2023);
    md_free(&s);

    CHECK_MSG(md_parse_file("s2", "s2/vcr/test_get_authors_0.json", &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.n_authors, 3);
    CHECK_STR(s.authors[0].display_name, "E. Dijkstra");
    CHECK_STR(s.authors[0].s2_id, "3234559");
    CHECK_STR(s.authors[2].display_name, "I. Sommerville");
    md_free(&s);
}

static void test_pages(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("s2", "s2/vcr/test_search_paper_0.json", &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.total_works, 100);
    CHECK_STR(s.works[0].s2_id, "7cbc2a7843411a1768ab762930707af0a3c33a19");
    CHECK_STR(s.works[0].title, "Using DeepSpeed and Megatron to Train Megatron-Turing NLG 530B, A "
                                "Large-Scale Generative Language Model");
    CHECK_INT(s.works[0].position, 1);
    md_free(&s);

    CHECK_MSG(md_parse_file("s2", "s2/vcr/test_search_paper_bulk_retrieval_0.json", &s, &err) == 0,
              "%s", err.msg);
    CHECK_INT(s.total_works, 1000);
    CHECK_STR(s.works[0].title,
              "Kubernetes Cluster for Automating Software Production Environment");
    md_free(&s);

    CHECK_MSG(md_parse_file("s2", "s2/vcr/test_get_recommended_papers_0.json", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.total_works, 100);
    CHECK_STR(s.works[0].s2_id, "3e9bc879e8ba944d3e830e4b8565dfe6f2ec4bd8");
    md_free(&s);

    CHECK_MSG(md_parse_file("s2", "s2/vcr/test_search_author_0.json", &s, &err) == 0, "%s",
              err.msg);
    CHECK(s.n_authors >= 30);
    CHECK_STR(s.authors[0].display_name, "A. Turing");
    CHECK_STR(s.authors[0].s2_id, "2262347");
    md_free(&s);

    /* /references page 1: titles only; first and last of 50. */
    CHECK_MSG(md_parse_file("s2", "s2/vcr/test_get_paper_references_0.json", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.total_works, 40); /* 10 of the 50 have a null paperId */
    CHECK_STR(s.works[0].s2_id, "e945ca4fdcf45b1a118f1462db7afa12629a131f");
    CHECK_STR(s.works[0].title, "Group lending or individual lending? Evidence from a randomised "
                                "field experiment in Mongolia");
    CHECK_STR(s.works[7].title, "Entrepreneurs' Gender and Financial Constraints: Evidence from "
                                "International Data");
    md_free(&s);

    /* /references page 2: offset 50, cited papers with null paperId skipped. */
    CHECK_MSG(md_parse_file("s2", "s2/vcr/test_get_paper_references_1.json", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.n_works, 4);
    CHECK_STR(s.works[0].s2_id, "dba9e61c454d9285dab4ce94def0be97bead4455");
    CHECK_INT(s.works[0].position, 52);
    CHECK(strstr(err.msg, "doi:10.2139/ssrn.2250500") != NULL);
    md_free(&s);
}

static void test_citations_page_links_subject(void)
{
    const char *page =
        "{\"url\":\"https://api.semanticscholar.org/graph/v1/paper/arXiv:1402.0030v2/citations?"
        "fields=title\",\"status_code\":200,\"body\":\"{\\\"offset\\\": 0, \\\"data\\\": [{"
        "\\\"citingPaper\\\": {\\\"paperId\\\": \\\"bdcbc589c8d1e4dd0c6572630f8511557406ad2f\\\", "
        "\\\"title\\\": \\\"Learning to Throw\\\"}}]}\"}";
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_buf(ix_format_by_name("s2"), "c.json", page, strlen(page), &s, &err) == 0,
              "%s", err.msg);
    CHECK_INT(s.n_works, 1);
    CHECK_INT(s.works[0].n_references, 1);
    CHECK_STR(s.works[0].references[0], "arxiv:1402.0030");
    md_free(&s);
}

static void test_errors(void)
{
    static const struct {
        const char *file, *want;
        int code;
    } cases[] = {
        {"s2/vcr/test_not_found_0.json", "HTTP 404): Paper with id 0 not found", PGR_ENOTFOUND},
        {"s2/vcr/test_not_found_1.json", "HTTP 404): Author with id 0 not found", PGR_ENOTFOUND},
        {"s2/vcr/test_bad_query_parameters_0.json",
         "HTTP 400): Unrecognized or unsupported fields: [unknown]", PGR_EINVAL},
    };
    for (size_t i = 0; i < 3; i++) {
        md_sink s;
        pgr_err err;
        CHECK_INT(md_parse_file("s2", cases[i].file, &s, &err), -1);
        md_free(&s);
        CHECK_MSG(strstr(err.msg, cases[i].want) != NULL, "%s: %s", cases[i].file, err.msg);
        CHECK_INT(err.code, cases[i].code);
    }
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"error\":\"Paper with id 0 not found\"}\n", "API error: Paper with id 0 not found"},
        {"{\"message\":\"Too Many Requests\"}", "Too Many Requests"},
        {"{\"paperId\":\"2d5673caa9e6af3a7b82a43f19ee920992db07ad\",\"title\":\"T\",\"year\":"
         "99999}",
         "year"},
        {"{\"paperId\":\"2d5673caa9e6af3a7b82a43f19ee920992db07ad\",\"title\":\"T\","
         "\"citationCount\":-1}",
         "citationCount"},
        {"{\"paperId\":\"2d5673caa9e6af3a7b82a43f19ee920992db07ad\",\"title\":\"T\","
         "\"citationCount\":1e308}",
         "citationCount"},
        {"{\"paperId\":\"../../etc/passwd\",\"title\":\"T\"}", "not a hex id"},
        {"{\"paperId\":\"2d5673caa9e6af3a7b82a43f19ee920992db07ad\",\"title\":\"T\","
         "\"publicationDate\":\"1950-13-45\"}",
         "bad date"},
        {"[{\"paperId\":\"2d5673caa9e6af3a7b82a43f19ee920992db07ad\",\"title\":\"T\"},",
         "invalid JSON"},
        {"[1,2,3]", "expected an object"},
        {"{\"data\":[{\"foo\":1}]}", "neither a paper nor an author"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        md_sink s;
        pgr_err err;
        int rc = md_parse_buf(ix_format_by_name("s2"), "x.json", bad[i].text, strlen(bad[i].text),
                              &s, &err);
        md_free(&s);
        CHECK_MSG(rc == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, bad[i].want) != NULL, "case %zu: \"%s\" lacks \"%s\"", i, err.msg,
                  bad[i].want);
    }
}

static void test_detect_and_skips(void)
{
    static const char *const files[] = {"fixtures/s2/paper_turing1950_citations_trimmed_to_5.json",
                                        "fixtures/s2/citation_item.json",
                                        "fixtures/s2/paper_with_null_values.json",
                                        "s2/vcr/test_not_found_0.json",
                                        "s2/vcr/test_get_authors_0.json",
                                        "fixtures/s2/datasets_api_release.json",
                                        "fixtures/s2/datasets_api_dataset.json",
                                        "fixtures/s2/datasets_api_diff.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t len;
        char *d = md_read(files[i], &len);
        const ix_format *f = d ? ix_format_detect(d, len) : NULL;
        free(d);
        CHECK_MSG(f && !strcmp(f->name, "s2"), "%s: %s", files[i], f ? f->name : "(none)");
    }
    md_sink s;
    pgr_err err;
    CHECK_INT(md_parse_file("s2", "fixtures/s2/datasets_api_diff.json", &s, &err), 0);
    CHECK_INT(s.n_works + s.n_authors, 0);
    md_free(&s);
    CHECK(strstr(err.msg, "Datasets API") != NULL);
    CHECK_INT(md_parse_file("s2", "fixtures/s2/datasets_api_release.json", &s, &err), 0);
    CHECK_INT(s.n_works + s.n_authors, 0);
    md_free(&s);
    CHECK(strstr(err.msg, "Datasets API") != NULL);
    CHECK_INT(md_parse_file("s2", "fixtures/s2/datasets_api_dataset.json", &s, &err), 0);
    CHECK_INT(s.n_works + s.n_authors, 0);
    md_free(&s);
    CHECK(strstr(err.msg, "Datasets API") != NULL);
}

int main(void)
{
    RUN(test_paper_object);
    RUN(test_author_object);
    RUN(test_items_and_nulls);
    RUN(test_batch_with_null);
    RUN(test_pages);
    RUN(test_citations_page_links_subject);
    RUN(test_errors);
    RUN(test_detect_and_skips);
    return check_summary("test_s2");
}
