/* The "TitleAuthor One, Author Two et al." splitter (indexer/seed_split.c) on
 * constructed hard cases it has never seen on a seed page, plus the name and
 * author-list checks under it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "indexer/seed_common.h"

static const struct {
    const char *line, *title, *first, *last;
    size_t n;
    const char *truncated;
} cases[] = {
    /* titles ending in acronyms */
    {"Scaling Laws for Code via LLMsAlice Zhang, Bob Chen et al.", "Scaling Laws for Code via LLMs",
     "Alice Zhang", "Bob Chen", 2, "et al."},
    {"Counting Hidden Tokens in Opaque LLM APIsGuoheng Sun, Ziyao Wang et al.",
     "Counting Hidden Tokens in Opaque LLM APIs", "Guoheng Sun", "Ziyao Wang", 2, "et al."},
    {"Gene Expression via mRNAKate Bell, Omar Haddad", "Gene Expression via mRNA", "Kate Bell",
     "Omar Haddad", 2, NULL},
    {"Efficient Serving with vLLMWoosuk Kwon, Zhuohan Li et al.", "Efficient Serving with vLLM",
     "Woosuk Kwon", "Zhuohan Li", 2, "et al."},
    /* titles ending in digits */
    {"The Translation System for WMT22Changtong Zan", "The Translation System for WMT22",
     "Changtong Zan", "Changtong Zan", 1, NULL},
    {"Findings of the Shared Task 2023Ana Silva, Rui Costa et al.",
     "Findings of the Shared Task 2023", "Ana Silva", "Rui Costa", 2, "et al."},
    {"Fine-Tuning Llama 3.1Ana Ruiz, Pedro Alves", "Fine-Tuning Llama 3.1", "Ana Ruiz",
     "Pedro Alves", 2, NULL},
    {"Evaluating GPT-4Ang Li, Bo Wu et al.", "Evaluating GPT-4", "Ang Li", "Bo Wu", 2, "et al."},
    /* CamelCase words at the start and at the end */
    {"SymRTLO: Fast RTL PassesJohn Smith, Mary Jones", "SymRTLO: Fast RTL Passes", "John Smith",
     "Mary Jones", 2, NULL},
    {"Introducing DeepSeekMoEDamai Dai, Chengqi Deng et al.", "Introducing DeepSeekMoE",
     "Damai Dai", "Chengqi Deng", 2, "et al."},
    {"CoIn: Counting the Invisible TokensGuoheng Sun", "CoIn: Counting the Invisible Tokens",
     "Guoheng Sun", "Guoheng Sun", 1, NULL},
    {"Notes on MoEEric Xing, Hao Zhang", "Notes on MoE", "Eric Xing", "Hao Zhang", 2, NULL},
    /* hyphenated names, hyphenated titles */
    {"Merging Experts into OneShwai He, Run-Ze Fan, Liang Ding et al.", "Merging Experts into One",
     "Shwai He", "Liang Ding", 3, "et al."},
    {"Reformatted AlignmentRun-Ze Fan, Xuefeng Li et al.", "Reformatted Alignment", "Run-Ze Fan",
     "Xuefeng Li", 2, "et al."},
    {"Self-Supervised Pre-TrainingJean-Baptiste Alayrac, Jeff Donahue",
     "Self-Supervised Pre-Training", "Jean-Baptiste Alayrac", "Jeff Donahue", 2, NULL},
    /* accented names, accented capitals */
    {"Apprentissage profond pour la visionJos\xC3\xA9 Hern\xC3\xA1ndez-Orallo, Zo\xC3\xAB "
     "M\xC3\xBCller et al.",
     "Apprentissage profond pour la vision", "Jos\xC3\xA9 Hern\xC3\xA1ndez-Orallo",
     "Zo\xC3\xAB M\xC3\xBCller", 2, "et al."},
    {"Graph Neural Networks\xC3\x89ric Gaussier, \xC3\x81ngel Ruiz", "Graph Neural Networks",
     "\xC3\x89ric Gaussier", "\xC3\x81ngel Ruiz", 2, NULL},
    /* punctuation before the names */
    {"Is Attention All You Need?Ashish Vaswani, Noam Shazeer et al.", "Is Attention All You Need?",
     "Ashish Vaswani", "Noam Shazeer", 2, "et al."},
    {"Low-Rank Adaptation (LoRA)Edward Hu, Yelong Shen", "Low-Rank Adaptation (LoRA)", "Edward Hu",
     "Yelong Shen", 2, NULL},
    {"Learning to \"Think\"Mei Lin, Hao Wu et al.", "Learning to \"Think\"", "Mei Lin", "Hao Wu", 2,
     "et al."},
    /* name shapes: Mc, O', particles, initials, four tokens, single author */
    {"A Study of Graph ModelsMary McDonald, Tom O'Brien", "A Study of Graph Models",
     "Mary McDonald", "Tom O'Brien", 2, NULL},
    {"Neural Fields in VisionJan van Gemert, Pascal Mettes", "Neural Fields in Vision",
     "Jan van Gemert", "Pascal Mettes", 2, NULL},
    {"Deep Residual LearningK. He, X. Zhang, S. Ren et al.", "Deep Residual Learning", "K. He",
     "S. Ren", 3, "et al."},
    {"Learning Robust PoliciesMaria de la Cruz, Ana Li", "Learning Robust Policies",
     "Maria de la Cruz", "Ana Li", 2, NULL},
    {"Multi-modal Attention for PredictionShi Gu", "Multi-modal Attention for Prediction", "Shi Gu",
     "Shi Gu", 1, NULL},
    {"GPT-4 Technical ReportJosh Achiam, Steven Adler, Sandhini Agarwal, Lama Ahmad, Ilge Akkaya",
     "GPT-4 Technical Report", "Josh Achiam", "Ilge Akkaya", 5, NULL},
    /* a title with commas and capitalised words; "Plan B" */
    {"Sparse, Fast, and Accurate ModelsLi Wei, Chen Yu", "Sparse, Fast, and Accurate Models",
     "Li Wei", "Chen Yu", 2, NULL},
    {"Plan BAnna Lee, Bo Chen", "Plan B", "Anna Lee", "Bo Chen", 2, NULL},
    /* all-capitalised title, "+N" and an affiliation */
    {"Deep Learning Meets Graph TheoryAnna Lee, Bo Chen +3", "Deep Learning Meets Graph Theory",
     "Anna Lee", "Bo Chen", 2, "+3"},
    /* relaxed: a one-token name, a name opening with a particle */
    {"Visualizing High-Dimensional Datavan der Maaten, Geoffrey Hinton",
     "Visualizing High-Dimensional Data", "van der Maaten", "Geoffrey Hinton", 2, NULL},
    {"Protein Folding at ScalePrabhat, Ann Lee et al.", "Protein Folding at Scale", "Prabhat",
     "Ann Lee", 2, "et al."},
    {"Knowledge Editing RevisitedXiyu Liu, Naibin Gu et al. \xC2\xB7 pku",
     "Knowledge Editing Revisited", "Xiyu Liu", "Naibin Gu", 2, "et al."},
};

static void test_hard_cases(void)
{
    pgr_arena a = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sd_split s;
        int rc = sd_split_title_authors(&a, cases[i].line, strlen(cases[i].line), NULL, &s);
        char title[512];
        CHECK_MSG(rc == 0, "case %zu: no split for \"%s\"", i, cases[i].line);
        snprintf(title, sizeof title, "%.*s", (int)s.title_len, cases[i].line);
        CHECK_MSG(!strcmp(title, cases[i].title), "case %zu: title \"%s\"", i, title);
        CHECK_MSG(s.authors.n == cases[i].n, "case %zu: %zu authors", i, s.authors.n);
        CHECK_STR(s.authors.refs[0].raw_name, cases[i].first);
        CHECK_STR(s.authors.refs[s.authors.n - 1].raw_name, cases[i].last);
        if (cases[i].truncated)
            CHECK_STR(s.authors.truncated, cases[i].truncated);
        else
            CHECK(s.authors.truncated == NULL);
    }
    pgr_arena_free(&a);
}

/* The affiliation after " · " goes to the first author. */
static void test_affiliation(void)
{
    pgr_arena a = {0};
    sd_authors au;
    double q = sd_parse_author_list(
        &a, "Bowen Shen, Zheng Lin, Yuanxin Liu et al. \xC2\xB7 pku",
        strlen("Bowen Shen, Zheng Lin, Yuanxin Liu et al. \xC2\xB7 pku"), 0, &au);
    CHECK(q >= 0);
    CHECK_INT(au.n, 3);
    CHECK_STR(au.affiliation, "pku");
    CHECK_STR(au.refs[0].affiliation, "pku");
    CHECK(au.refs[1].affiliation == NULL);
    CHECK_STR(au.truncated, "et al.");
    /* other cut markers: an ellipsis, "+N" */
    CHECK(sd_parse_author_list(&a, "Ann Lee, Bo Wu\xE2\x80\xA6", 17, 0, &au) >= 0);
    CHECK_INT(au.n, 2);
    CHECK_STR(au.truncated, "\xE2\x80\xA6");
    CHECK(sd_parse_author_list(&a, "Ann Lee, Bo Wu +14", 18, 0, &au) >= 0);
    CHECK_STR(au.truncated, "+14");
    CHECK_STR(au.refs[1].raw_name, "Bo Wu");
    /* "and" before the last name */
    CHECK(sd_parse_author_list(&a, "Ann Lee, Bo Wu and Cy Young", 27, 0, &au) >= 0);
    CHECK_INT(au.n, 3);
    CHECK_STR(au.refs[2].raw_name, "Cy Young");
    CHECK(au.truncated == NULL);
    /* not lists */
    CHECK(sd_parse_author_list(&a, "et al.", 6, 1, &au) < 0);
    CHECK(sd_parse_author_list(&a, "Ann Lee, , Bo Wu", 16, 0, &au) < 0);
    CHECK(sd_parse_author_list(&a, "Ann Lee \xC2\xB7 ", 11, 0, &au) < 0);
    pgr_arena_free(&a);
}

/* Lines with no valid split are refused, not guessed. */
static void test_refusals(void)
{
    static const char *bad[] = {
        "A title with no authors at all",
        "Title Words Anna Lee, Bo Chen", /* not glued: no reliable boundary */
        "SparseAdapter: An Easy Approach for Impro",
        "Anna Lee, Bo Chen", /* nothing left for a title */
        "Title2024",
        "",
    };
    pgr_arena a = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_split s;
        CHECK_MSG(sd_split_title_authors(&a, bad[i], strlen(bad[i]), NULL, &s) == -1,
                  "split \"%s\" at %zu", bad[i], s.author_off);
    }
    pgr_arena_free(&a);
}

/* Evidence from the page breaks a tie the shapes cannot: in "TripsVanDyke"
 * the names "VanDyke Parks" and "Dyke Parks" (title "Camping TripsVan") both
 * parse. Without evidence the leftmost (longer name) wins; a full name read
 * on another entry of the page overrides that. */
static void test_known_names(void)
{
    pgr_arena a = {0};
    sd_nameset known = {0};
    const char *line = "Camping TripsVanDyke Parks, Ann Wu";
    sd_split s;
    CHECK(sd_split_title_authors(&a, line, strlen(line), NULL, &s) == 0);
    CHECK_INT(s.n_candidates, 2);
    CHECK_STR(s.authors.refs[0].raw_name, "VanDyke Parks");
    CHECK_INT(s.title_len, strlen("Camping Trips"));
    CHECK(sd_nameset_add(&a, &known, "Dyke Parks", 10) == 0);
    CHECK(sd_split_title_authors(&a, line, strlen(line), &known, &s) == 0);
    CHECK_STR(s.authors.refs[0].raw_name, "Dyke Parks");
    CHECK(s.margin > 0);
    pgr_arena_free(&a);
}

static void test_names(void)
{
    CHECK(sd_name_quality("Run-Ze Fan", 10, 0) >= 0);
    CHECK(sd_name_quality("APIsGuoheng Sun", 15, 0) < 0);
    CHECK(sd_name_quality("WMT22Changtong Zan", 18, 0) < 0);
    CHECK(sd_name_quality("Prabhat", 7, 0) < 0);
    CHECK(sd_name_quality("Prabhat", 7, 1) >= 0);
    CHECK(sd_name_quality("the Model", 9, 0) < 0);
    CHECK(sd_name_quality("John F. Kennedy", 15, 0) >= 0);
    CHECK(sd_name_quality("Martin Luther King Jr.", 22, 0) >= 0);
    CHECK(sd_name_quality("Ludwig van", 10, 0) < 0);
    CHECK(sd_name_quality("A B C D E", 9, 0) < 0);
}

static void test_dates(void)
{
    int y = 0, m = 0, d = 0;
    CHECK_INT(sd_parse_month_day_year("May 14, 2026", 12, &y, &m, &d), 12);
    CHECK(y == 2026 && m == 5 && d == 14);
    CHECK_INT(sd_parse_month_day_year("Feb 12", 6, &y, &m, &d), 6);
    CHECK(y == 0 && m == 2 && d == 12);
    CHECK_INT(sd_parse_month_day_year("Mar 6Code", 9, &y, &m, &d), 5);
    CHECK_INT(sd_parse_month_day_year("Foo 6", 5, &y, &m, &d), 0);
    CHECK(sd_resolve_year("2026-11-22", 3, 25, &y) == 0 && y == 2026);
    CHECK(sd_resolve_year("2026-11-22", 12, 30, &y) == 0 && y == 2025);
    CHECK(sd_resolve_year("2026-11-22", 11, 22, &y) == 0 && y == 2026);
    CHECK(sd_resolve_year("2026-11-22", 11, 23, &y) == 0 && y == 2025);
    CHECK(sd_resolve_year("2026-11-22", 2, 29, &y) == 0 && y == 2024);
    CHECK(sd_resolve_year("2026-11-22", 2, 30, &y) == -1);
    CHECK(sd_resolve_year("", 2, 3, &y) == -1);
    CHECK(sd_resolve_year("2026-13-01", 2, 3, &y) == -1);
}

int main(void)
{
    RUN(test_hard_cases);
    RUN(test_affiliation);
    RUN(test_refusals);
    RUN(test_known_names);
    RUN(test_names);
    RUN(test_dates);
    return check_summary("test_seed_split");
}
