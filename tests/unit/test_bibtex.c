/* BibTeX parser (indexer/bibtex.c). Expected values are read off
 * tests/data/fixtures/bibtex (bibtexparser's test files and S2's
 * citationStyles BibTeX, copied from ../shared/fixtures/scholarly/bibtex) and
 * hand-made entries for the LaTeX, name and crossref rules. Also: no other
 * input under tests/data is taken for one of the new formats. */
#include <ftw.h>

#include "tests/check.h"
#include "tests/unit/mdsink.h"

static int parse_str(const char *text, md_sink *s, pgr_err *err)
{
    return md_parse_buf(ix_format_by_name("bibtex"), "t.bib", text, strlen(text), s, err);
}

static void test_traps(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("bibtex", "fixtures/bibtex/traps.bib", &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.n_works, 1);
    const ix_work *w = &s.works[0];
    CHECK_STR(w->type, "article");
    CHECK_STR(w->title, "An amazing title"); /* {An} amazing {title}: case braces go */
    CHECK_INT(w->year, 2013);
    CHECK_STR(w->venue, "Nice Journal");
    /* "Jean Laid{\'e},\n Ben Loaeb": two people joined by a comma */
    CHECK_INT(w->n_authors, 2);
    CHECK_STR(w->authors[0].display_name, "Jean Laid\xc3\xa9");
    CHECK_STR(w->authors[1].display_name, "Ben Loaeb");
    /* the line break and tab inside the abstract are one space */
    CHECK_STR(w->abstract, "This is an abstract. This line should be long enough to test "
                           "multilines... and with a french \xc3\xa9rudit word");
    md_free(&s);
}

static void test_strings_and_encoding(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("bibtex", "fixtures/bibtex/article_with_strings.bib", &s, &err) == 0,
              "%s", err.msg);
    CHECK_INT(s.n_works, 1);
    CHECK_STR(s.works[0].authors[0].display_name, "Jean C\xc3\xa9sar"); /* jean # " " # cesar */
    CHECK_STR(s.works[0].venue, "Nice Journal");                       /* macro */
    md_free(&s);
    CHECK_MSG(md_parse_file("bibtex", "fixtures/bibtex/features2.bib", &s, &err) == 0, "%s",
              err.msg);
    CHECK_STR(s.works[0].title, "Cool Stuff"); /* macros of macros, any case */
    CHECK_STR(s.works[0].venue, "My International Conference");
    CHECK_STR(s.works[0].authors[0].display_name, "John Doe");
    CHECK_INT(s.works[0].year, 2014); /* a bare number */
    CHECK_STR(s.works[0].comments, "Email: John.Doe@example.com");
    md_free(&s);
    CHECK_MSG(md_parse_file("bibtex", "fixtures/bibtex/encoding.bib", &s, &err) == 0, "%s",
              err.msg);
    CHECK_STR(s.works[0].title, "An amazing title: \xc3\xa0");
    CHECK_STR(s.works[0].venue, "El\xc3\xa9mentaire");
    md_free(&s);
}

static void test_multiple_and_s2(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("bibtex", "fixtures/bibtex/multiple_entries.bib", &s, &err) == 0,
              "%s", err.msg);
    CHECK_INT(s.n_works, 3);
    CHECK_STR(s.works[0].type, "book");
    CHECK_STR(s.works[0].authors[0].raw_name, "Yablon, A.D.");
    CHECK_STR(s.works[0].authors[0].display_name, "A.D. Yablon");
    CHECK_STR(s.works[1].doi, "10.1039/tf9383400029"); /* "Doi" in any case */
    CHECK_STR(s.works[1].venue, "Trans. Faraday Soc.");
    CHECK_INT(s.works[1].line, 8);
    CHECK_INT(s.works[2].n_authors, 2);
    CHECK_STR(s.works[2].authors[1].display_name, "B Titi");
    CHECK_INT(s.works[2].year, 0);
    md_free(&s);
    CHECK_MSG(md_parse_file("bibtex", "fixtures/bibtex/s2_citationStyles_turing1950.bib", &s,
                            &err) == 0,
              "%s", err.msg);
    CHECK_STR(s.works[0].title, "Computing Machinery and Intelligence");
    CHECK_STR(s.works[0].venue, "Mind"); /* journal before booktitle */
    CHECK_INT(s.works[0].year, 1950);
    md_free(&s);
}

static void test_latex_names_ids_crossref(void)
{
    md_sink s;
    pgr_err err;
    const char *doc =
        "% exported by hand\n"
        "@comment{ this {is} skipped @article{not, title={No}} }\n"
        "@preamble{ \"\\newcommand{\\noop}[1]{}\" }\n"
        "@misc{a1,\n"
        "  author = {M{\\\"u}ller, J{\\\"o}rg and Stra{\\ss}e, Hans and {\\O}stergaard, S. and\n"
        "            de la Fuente, Jr., Juan and {The {CMS} Collaboration} and Kov\\'{a}\\v{c}, I. "
        "and others},\n"
        "  title = \"Large {\\em Sparse} models: {\\'E}tudes -- \\`a la {$\\alpha$}\",\n"
        "  eprint = {2605.14217v2}, archivePrefix = {arXiv},\n"
        "  url = {https://doi.org/10.1145/ABC},\n"
        "}\n"
        "@InProceedings(p1, title = {A paper}, crossref = {Proc26}, author = {Ada Lovelace})\n"
        "@proceedings{proc26, title = {Proceedings of Things}, year = 2026}\n"
        "@article{notitle, author = {X Y}}\n";
    CHECK_MSG(parse_str(doc, &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.n_works, 3); /* notitle skipped, counted */
    CHECK(strstr(err.msg, "1 entry without a title") != NULL);
    const ix_work *w = &s.works[0];
    CHECK_STR(w->title, "Large Sparse models: \xc3\x89tudes \xe2\x80\x93 \xc3\xa0 la alpha");
    CHECK_STR(w->arxiv_id, "2605.14217");
    CHECK_INT(w->arxiv_version, 2);
    CHECK_STR(w->doi, "10.1145/abc"); /* from the doi.org url */
    CHECK_STR(w->authors_truncated, "and others");
    CHECK_INT(w->n_authors, 6);
    CHECK_STR(w->authors[0].display_name, "J\xc3\xb6rg M\xc3\xbcller");
    CHECK_STR(w->authors[0].raw_name, "M\xc3\xbcller, J\xc3\xb6rg");
    CHECK_STR(w->authors[1].display_name, "Hans Stra\xc3\x9f" "e");
    CHECK_STR(w->authors[2].display_name, "S. \xc3\x98stergaard");
    CHECK_STR(w->authors[3].display_name, "Juan de la Fuente Jr.");
    CHECK_STR(w->authors[4].display_name, "The CMS Collaboration");
    CHECK_STR(w->authors[5].display_name, "I. Kov\xc3\xa1\xc4\x8d");
    /* crossref: year and booktitle (the parent's title) inherited */
    CHECK_STR(s.works[1].type, "inproceedings");
    CHECK_INT(s.works[1].year, 2026);
    CHECK_STR(s.works[1].venue, "Proceedings of Things");
    CHECK_STR(s.works[2].type, "proceedings");
    md_free(&s);
}

static void test_hostile(void)
{
    static const struct {
        const char *doc, *want;
    } bad[] = {
        {"@article{k1,\n title = {Unclosed,\n year = 2020}\n", "line 1: entry k1: the file ends inside"},
        {"@article{k0,\n title = {Unclosed", "line 2: entry k0: unclosed '{'"},
        {"@article{k2,\n title = {T},\n journal = undefinedmacro,\n}", "line 3: entry k2: field journal: undefined macro undefinedmacro"},
        {"@article{k3,\n title = {T},\n year = {20x6}}", "line 3: entry k3: field year"},
        {"@article{k4,\n title = {T},\n doi = {not a doi}}", "line 3: entry k4: field doi"},
        {"@article{k5,\n title = {T}, eprint = {99.x}, archiveprefix = {arXiv}}",
         "line 2: entry k5: field eprint"},
        {"@article{dup, title = {A}}\n@article{DUP, title = {B}}", "line 2: entry key DUP repeated (first at line 1)"},
        {"@article{k6, title = {T} year = 2020}", "line 1: entry k6: expected ','"},
        {"@article{g{\\\"o}del,\n title = {T}}", "line 1: a brace in the entry key g{\\\"o"},
        {"@article{k7, title = {T}, author = {\xc3\x28}}", "invalid UTF-8"},
        {"@string{a = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n"
         "@string{b = a # a # a # a # a # a # a # a}\n@string{c = b # b # b # b # b # b # b # b}\n"
         "@string{d = c # c # c # c # c # c # c # c}\n@string{e = d # d # d # d # d # d # d # d}\n"
         "@string{f = e # e # e # e # e # e # e # e}\n",
         "longer than 1 MiB"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        md_sink s;
        pgr_err err;
        CHECK_MSG(parse_str(bad[i].doc, &s, &err) == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, bad[i].want) != NULL, "case %zu: %s", i, err.msg);
        CHECK_INT(s.n_works, 0);
        md_free(&s);
    }
}

/* Every other input under tests/data keeps its format (or none). */
static const char *const new_formats[] = {"orcid", "dblp", "bibtex"};
static int n_checked;
static char stolen[512]; /* the first input taken for a new format */

static int check_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag != FTW_F)
        return 0;
    const char *rel = path + strlen("tests/data/");
    const char *got = md_detect_name(rel);
    for (size_t i = 0; i < 3; i++) {
        char dir[64];
        snprintf(dir, sizeof dir, "fixtures/%s/", new_formats[i]);
        if (!strncmp(rel, dir, strlen(dir)))
            return 0; /* checked by name in each format's test */
        if (!strcmp(got, new_formats[i]) && !stolen[0])
            snprintf(stolen, sizeof stolen, "%s detected as %s", rel, got);
    }
    n_checked++;
    return 0;
}

static void test_detect(void)
{
    static const char *const mine[] = {"traps.bib", "encoding.bib", "features2.bib",
                                       "multiple_entries.bib", "article_with_strings.bib",
                                       "s2_citationStyles_turing1950.bib"};
    for (size_t i = 0; i < sizeof mine / sizeof *mine; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "fixtures/bibtex/%s", mine[i]);
        CHECK_MSG(!strcmp(md_detect_name(rel), "bibtex"), "%s: %s", rel, md_detect_name(rel));
    }
    const char *commented = "% my papers\n%\n@Article{x, title={T}}\n";
    CHECK_STR(ix_format_detect(commented, strlen(commented))->name, "bibtex");
    const char *mail = "Jane Doe\nwrite to jane@example.org{x}\n";
    const ix_format *f = ix_format_detect(mail, strlen(mail));
    CHECK(!f || strcmp(f->name, "bibtex"));
    CHECK_INT(nftw("tests/data", check_one, 16, FTW_PHYS), 0);
    CHECK_MSG(!stolen[0], "%s", stolen);
    CHECK(n_checked > 50);
}

int main(void)
{
    RUN(test_traps);
    RUN(test_strings_and_encoding);
    RUN(test_multiple_and_s2);
    RUN(test_latex_names_ids_crossref);
    RUN(test_hostile);
    RUN(test_detect);
    return check_summary("test_bibtex");
}
