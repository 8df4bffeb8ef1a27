/* Normalisation: folding, LaTeX, title and name keys, taxonomy, keywords. */
#include "tests/check.h"

#include "indexer/normalize.h"

static char buf_[4096];

/* Runs fn(s) into a fresh buffer and returns a static copy ("<error>" on -1). */
static const char *run1(int (*fn)(const char *, pgr_sb *, pgr_err *), const char *s)
{
    pgr_sb sb = {0};
    pgr_err err = {0};
    if (fn(s, &sb, &err) < 0)
        snprintf(buf_, sizeof buf_, "<error: %s>", err.msg);
    else
        snprintf(buf_, sizeof buf_, "%s", sb.data ? sb.data : "");
    pgr_sb_free(&sb);
    return buf_;
}

static const char *fold(const char *s) { return run1(ix_fold, s); }
static const char *latex(const char *s) { return run1(ix_latex_fold, s); }
static const char *tkey(const char *s) { return run1(ix_title_key, s); }

static char full_[512], init_[512];
static void names(const char *raw)
{
    pgr_sb f = {0}, i = {0};
    pgr_err err = {0};
    if (ix_name_keys(raw, &f, &i, &err) < 0) {
        snprintf(full_, sizeof full_, "<error>");
        snprintf(init_, sizeof init_, "<error>");
    } else {
        snprintf(full_, sizeof full_, "%s", f.data ? f.data : "");
        snprintf(init_, sizeof init_, "%s", i.data ? i.data : "");
    }
    pgr_sb_free(&f);
    pgr_sb_free(&i);
}

static void test_fold(void)
{
    CHECK_STR(fold("Zhengxuan Wu"), "zhengxuan wu");
    CHECK_STR(fold("Ångström"), "angstrom");
    CHECK_STR(fold("Müller"), "muller");
    CHECK_STR(fold("Søren Łukasz Đorđe"), "soren lukasz dorde");
    CHECK_STR(fold("Straße"), "strasse");
    CHECK_STR(fold("ＬＬＭ ﬁne"), "llm fine"); /* fullwidth and the fi ligature: NFKC */
    CHECK_STR(fold("Æsir Œuvre"), "aesir oeuvre");
    CHECK_STR(fold("e\xcc\x81t\xc3\xa9"), "ete"); /* decomposed and composed é */
    CHECK_STR(fold("soft\xc2\xadhyphen"), "softhyphen"); /* U+00AD is ignorable */
    CHECK_STR(fold("ΣΊΣΥΦΟΣ"), "σισυφοσ");
    CHECK(!strncmp(fold("bad \xff utf8"), "<error", 6));
    CHECK(!strncmp(fold("\xc3"), "<error", 6)); /* truncated sequence */
}

static void test_latex(void)
{
    CHECK_STR(latex("\\textit{Large-Sparse} models"), "Large-Sparse models");
    CHECK_STR(latex("$\\alpha$-divergence"), "alpha-divergence");
    CHECK_STR(latex("Erd{\\H o}s and G{\\\"o}del"), "Erdős and Gödel");
    CHECK_STR(latex("G\\\"odel, Schr\\\"{o}dinger"), "Gödel, Schrödinger");
    CHECK_STR(latex("Fran\\c{c}ois, Jos\\'e, \\'{\\i}ndice"), "François, José, índice");
    CHECK_STR(latex("Stra\\ss e, \\o re"), "Straße, øre");
    CHECK_STR(latex("``quoted'' text"), "\"quoted\" text");
    CHECK_STR(latex("A \\& B, 50\\% off, a\\_b"), "A & B, 50% off, a_b");
    CHECK_STR(latex("pages 1--10 --- done"), "pages 1–10 — done");
    CHECK_STR(latex("$O(n^2)$ time and $\\mathcal{O}(\\log n)$"), "O(n^2) time and O(log n)");
    CHECK_STR(latex("$\\alpha\\beta$"), "alpha beta");
    CHECK_STR(latex("\\emph{BERT}: {P}re-training"), "BERT: Pre-training");
    CHECK_STR(latex("The \\LaTeX{} system"), "The LaTeX system");
    CHECK_STR(latex("plain title, no markup"), "plain title, no markup");
    CHECK_STR(latex("it's fine"), "it's fine");
    CHECK_STR(latex("trailing \\"), "trailing ");
    CHECK_STR(latex("\\v{C}ech and \\v c"), "Čech and č");
    CHECK_STR(latex("\\u"), "u"); /* an accent command without argument is its name */
}

static void test_title_key(void)
{
    CHECK_STR(tkey("PreFT: Prefill-only finetuning for efficient inference"),
              "preft prefill only finetuning for efficient inference");
    /* the same title as another source writes it */
    CHECK_STR(tkey("  PreFT:  Prefill-Only Finetuning for Efficient Inference. "),
              "preft prefill only finetuning for efficient inference");
    CHECK_STR(tkey("\\textit{Large-Sparse}: Über $\\alpha$"), "large sparse uber alpha");
    CHECK_STR(tkey("Schr\\\"odinger's cat"), tkey("Schrödinger’s Cat"));
    CHECK_STR(tkey("ZO2: Scalable Zeroth-Order Fine-Tuning"), "zo2 scalable zeroth order fine tuning");
    CHECK_STR(tkey("!!!"), "");
    CHECK_STR(tkey("日本語 タイトル"), "日本語 タイトル");
}

static void test_name_keys(void)
{
    names("Zhengxuan Wu");
    CHECK_STR(full_, "zhengxuan wu");
    CHECK_STR(init_, "z wu");
    names("Wu, Zhengxuan");
    CHECK_STR(full_, "zhengxuan wu");
    CHECK_STR(init_, "z wu");
    names("Wu, Z.");
    CHECK_STR(full_, "z wu");
    CHECK_STR(init_, "z wu");
    names("Z. Wu");
    CHECK_STR(full_, "z wu");
    names("Run-Ze Fan");
    CHECK_STR(full_, "runze fan");
    CHECK_STR(init_, "r fan");
    names("Runze Fan");
    CHECK_STR(full_, "runze fan");
    names("José  García-López");
    CHECK_STR(full_, "jose garcialopez");
    names("García-López, José");
    CHECK_STR(full_, "jose garcialopez");
    names("Ludwig van Beethoven");
    CHECK_STR(full_, "ludwig van beethoven");
    CHECK_STR(init_, "l van beethoven");
    names("van Beethoven, Ludwig");
    CHECK_STR(full_, "ludwig van beethoven");
    CHECK_STR(init_, "l van beethoven");
    names("Di Wang"); /* "Di" is a given name here, not a particle */
    CHECK_STR(full_, "di wang");
    CHECK_STR(init_, "d wang");
    names("John Smith, Jr.");
    CHECK_STR(full_, "john smith");
    names("Smith, John, Jr.");
    CHECK_STR(full_, "john smith");
    names("J.-P. Serre");
    CHECK_STR(full_, "j p serre");
    names("G\\\"odel, Kurt");
    CHECK_STR(full_, "kurt godel");
    names("");
    CHECK_STR(full_, "");
    CHECK_STR(init_, "");
    /* similar names stay different */
    names("Zhengxiao Liu");
    CHECK_STR(full_, "zhengxiao liu");
    names("Liangyu Wang");
    char a[512];
    snprintf(a, sizeof a, "%s", full_);
    names("Xinhai Wang");
    CHECK(strcmp(a, full_) != 0);
}

static void test_taxonomy(void)
{
    CHECK_STR(ix_arxiv_category_name("cs.CL"), "Computation and Language");
    CHECK_STR(ix_arxiv_category_name("cs.LG"), "Machine Learning");
    CHECK_STR(ix_arxiv_category_name("stat.ML"), "Machine Learning");
    CHECK_STR(ix_arxiv_category_name("hep-th"), "High Energy Physics - Theory");
    CHECK_STR(ix_arxiv_category_name("math.AG"), "Algebraic Geometry");
    CHECK_STR(ix_arxiv_category_name("q-bio.NC"), "Neurons and Cognition");
    CHECK_STR(ix_arxiv_category_name("q-fin.ST"), "Statistical Finance");
    CHECK_STR(ix_arxiv_category_name("eess.AS"), "Audio and Speech Processing");
    CHECK_STR(ix_arxiv_category_name("econ.EM"), "Econometrics");
    CHECK_STR(ix_arxiv_category_name("physics.optics"), "Optics");
    CHECK_STR(ix_arxiv_category_name("cond-mat.str-el"), "Strongly Correlated Electrons");
    CHECK_STR(ix_arxiv_category_name("cmp-lg"), "Computation and Language");
    CHECK(ix_arxiv_category_name("cs.XX") == NULL);
    CHECK(ix_arxiv_category_name("cs.cl") == NULL);
    /* every code is unique, every cs.* category exists (40 of them) */
    const char *c, *n;
    size_t total = 0, cs = 0;
    for (size_t i = 0; ix_arxiv_category_at(i, &c, &n); i++) {
        total++;
        cs += !strncmp(c, "cs.", 3);
        CHECK(n && *n);
        for (size_t j = 0; j < i; j++) {
            const char *c2, *n2;
            ix_arxiv_category_at(j, &c2, &n2);
            CHECK_MSG(strcmp(c, c2) != 0, "duplicate category %s", c);
        }
    }
    CHECK_INT(cs, 40);
    CHECK(total >= 170);
    const char *codes[] = {"AI", "LG", "CL", "CV", "RO", "IR", "SE", "CR", "DC", "NE", "HC", "AR"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *cat = ix_site_code_category(codes[i]);
        CHECK_MSG(cat && !strncmp(cat, "cs.", 3) && !strcmp(cat + 3, codes[i]), "%s", codes[i]);
    }
    CHECK_STR(ix_site_code_category("cl"), "cs.CL");
    CHECK_STR(ix_site_code_category("ML"), "stat.ML");
    CHECK(ix_site_code_category("ZZ") == NULL);
    CHECK(ix_site_code_category("CLX") == NULL);
    CHECK(ix_site_code_category("") == NULL);
}

static const char *docs_[][2] = {
    {"Sparse Autoencoders for Language Models",
     "We train sparse autoencoders on language models and find interpretable features."},
    {"Language Models are Few-Shot Learners",
     "Scaling up language models improves few-shot performance. We train GPT-3."},
    {"Zeroth-Order Fine-Tuning of Language Models",
     "Zeroth-order optimization fine-tunes language models with limited GPU memory."},
    {"Circuit Discovery in Sparse Autoencoders",
     "Automated circuit discovery finds circuits in sparse autoencoders."},
    {"GPU Memory for Zeroth-Order Training", "We reduce GPU memory of zeroth-order training."},
};

static void test_keywords(void)
{
    pgr_err err = {0};
    ix_keywords *a = ix_keywords_new(), *b = ix_keywords_new();
    CHECK(a && b);
    size_t n = sizeof docs_ / sizeof docs_[0];
    for (size_t i = 0; i < n; i++) {
        CHECK(ix_keywords_add(a, (long long)i + 10, docs_[i][0], docs_[i][1], &err) == 0);
        size_t j = n - 1 - i; /* b gets the same documents in reverse order */
        CHECK(ix_keywords_add(b, (long long)j + 10, docs_[j][0], docs_[j][1], &err) == 0);
    }
    CHECK(ix_keywords_compute(a, 2, 0.5, 3, &err) == 0);
    CHECK(ix_keywords_compute(b, 2, 0.5, 3, &err) == 0);
    for (size_t i = 0; i < n; i++) {
        const ix_keyword *ka, *kb;
        size_t na = ix_keywords_of(a, (long long)i + 10, &ka);
        size_t nb = ix_keywords_of(b, (long long)i + 10, &kb);
        CHECK_INT(na, nb);
        for (size_t k = 0; k < na; k++)
            CHECK_STR(ka[k].term, kb[k].term);
    }
    const ix_keyword *k0;
    size_t n0 = ix_keywords_of(a, 10, &k0);
    CHECK(n0 >= 1);
    /* doc 0's best term: "sparse autoencoders" (title twice + abstract, in 2 docs) */
    CHECK_STR(k0[0].term, "sparse autoencoders");
    for (size_t k = 0; k < n0; k++) { /* covered unigrams are not repeated */
        CHECK(strcmp(k0[k].term, "sparse") != 0);
        CHECK(strcmp(k0[k].term, "autoencoders") != 0);
        CHECK(strcmp(k0[k].term, "we") != 0);
    }
    const ix_keyword *k4;
    size_t n4 = ix_keywords_of(a, 14, &k4);
    CHECK(n4 >= 2);
    int has_gpu = 0, has_zo = 0;
    for (size_t k = 0; k < n4; k++) {
        has_gpu |= !strcmp(k4[k].term, "gpu memory");
        has_zo |= !strcmp(k4[k].term, "zeroth-order");
    }
    CHECK(has_gpu && has_zo);
    /* terms seen in only one document are below min_df */
    const ix_keyword *k1;
    size_t n1 = ix_keywords_of(a, 11, &k1);
    for (size_t k = 0; k < n1; k++)
        CHECK(strcmp(k1[k].term, "gpt-3") != 0);
    CHECK_INT(ix_keywords_of(a, 99, &k1), 0);
    CHECK(ix_keywords_add(a, 10, "dup", NULL, &err) == 0);
    CHECK(ix_keywords_compute(a, 2, 0.5, 3, &err) == -1); /* duplicate id is an error */
    ix_keywords_free(a);
    ix_keywords_free(b);
}

/* Term frequencies count every repeat of a word in a document (title twice),
 * and every stopword is dropped: scores checked against the formula of
 * ix_keywords_compute (tf * (1 + ln((1 + N) / (1 + df))), bigrams x 1.5). */
static void test_keyword_counts(void)
{
    pgr_err err = {0};
    ix_keywords *kw = ix_keywords_new();
    CHECK(kw != NULL);
    CHECK(ix_keywords_add(kw, 1, "", "alpha alpha alpha beta", &err) == 0);
    CHECK(ix_keywords_add(kw, 2, "alpha", "beta gamma", &err) == 0);
    CHECK(ix_keywords_add(kw, 3, "", "gamma delta", &err) == 0);
    CHECK(ix_keywords_add(kw, 4, "", "delta epsilon", &err) == 0);
    /* every stopword, twice over two documents: none may become a keyword */
    CHECK(ix_keywords_add(kw, 5, "", "the of and however approaches furthermore yet your", &err) ==
          0);
    CHECK(ix_keywords_add(kw, 6, "", "the of and however approaches furthermore yet your", &err) ==
          0);
    CHECK(ix_keywords_compute(kw, 2, 0.5, 5, &err) == 0);
    const ix_keyword *k;
    size_t n = ix_keywords_of(kw, 1, &k);
    CHECK_INT(n, 2);
    double idf2 = 1.0 + log(7.0 / 3.0); /* N = 6 documents, df = 2 */
    if (n == 2) {
        CHECK_STR(k[0].term, "alpha");
        CHECK_MSG(fabs(k[0].score - 3 * idf2) < 1e-5, "alpha %.6f", k[0].score);
        CHECK_STR(k[1].term, "beta");
        CHECK_MSG(fabs(k[1].score - idf2) < 1e-5, "beta %.6f", k[1].score);
    }
    n = ix_keywords_of(kw, 2, &k); /* the title counts twice */
    CHECK(n >= 1);
    if (n >= 1) {
        CHECK_STR(k[0].term, "alpha");
        CHECK_MSG(fabs(k[0].score - 2 * idf2) < 1e-5, "alpha %.6f", k[0].score);
    }
    CHECK_INT(ix_keywords_of(kw, 5, &k), 0);
    CHECK_INT(ix_keywords_of(kw, 6, &k), 0);
    ix_keywords_free(kw);
}

int main(void)
{
    RUN(test_fold);
    RUN(test_latex);
    RUN(test_title_key);
    RUN(test_name_keys);
    RUN(test_taxonomy);
    RUN(test_keywords);
    RUN(test_keyword_counts);
    return check_summary("test_normalize");
}
