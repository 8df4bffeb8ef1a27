/* The page template engine: escaping of every value in every tag form,
 * invalid UTF-8, sections, partials, the safe-fragment registry, and the
 * parse errors. Also loads the real web/templates so a broken template
 * fails here before it fails in a browser. */
#include <stdlib.h>
#include <string.h>

#include "server/page_tmpl.h"
#include "tests/check.h"

#define HOSTILE "<script>alert(\"x\")</script> & 'q' `b` a=b"
#define HOSTILE_ESC                                                                                \
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; &#96;b&#96; a&#61;b"

/* Renders text with data; returns a malloc'd string or NULL (err printed). */
static char *render(const char *text, json_t *data, const tmpl_trust *trust)
{
    tmpl_set *set = tmpl_set_new();
    pgr_err err = {0};
    pgr_sb sb = {0};
    char *out = NULL;
    if (!set || tmpl_set_add(set, "t", text, strlen(text), &err) != 0 ||
        tmpl_render(set, "t", data, trust, &sb, &err) != 0) {
        fprintf(stderr, "    render: %s\n", err.msg);
        pgr_sb_free(&sb);
    } else {
        out = pgr_sb_steal(&sb);
    }
    tmpl_set_free(set);
    return out;
}

/* No '<' from data survives anywhere, and no quote can end an attribute. */
static int clean(const char *html, const char *allowed_tags)
{
    for (const char *p = html; (p = strchr(p, '<')) != NULL; p++)
        if (!allowed_tags || strncmp(p, allowed_tags, strlen(allowed_tags)) != 0)
            if (strncmp(p, "<p", 2) && strncmp(p, "</p", 3) && strncmp(p, "<a ", 3) &&
                strncmp(p, "</a", 3) && strncmp(p, "<li", 3) && strncmp(p, "</li", 4))
                return 0;
    return 1;
}

static void test_text_and_attribute(void)
{
    json_t *d = json_pack("{s:s}", "v", HOSTILE);
    char *out = render("<p title=\"{{v}}\">{{v}}</p>", d, NULL);
    CHECK(out != NULL);
    CHECK_STR(out, "<p title=\"" HOSTILE_ESC "\">" HOSTILE_ESC "</p>");
    CHECK(clean(out, NULL));
    free(out);
    /* unquoted attribute: '=' and spaces cannot start a new attribute with a value */
    out = render("<a href=/x title={{v}}>", d, NULL);
    CHECK(out && strstr(out, "onmouseover=") == NULL);
    free(out);
    json_decref(d);
}

static void test_every_value_type(void)
{
    json_t *d = json_pack("{s:s, s:i, s:f, s:b, s:b, s:n, s:{s:s}, s:[s,s], s:[{s:s}]}", "s",
                          HOSTILE, "i", -42, "f", 0.25, "t", 1, "fa", 0, "nul", "obj", "k", HOSTILE,
                          "arr", "<b>", "&amp;", "objs", "name", "\"><img src=x onerror=alert(1)>");
    char *out =
        render("[{{s}}|{{i}}|{{f}}|{{t}}|{{fa}}|{{nul}}|{{obj}}|{{arr}}|{{obj.k}}|"
               "{{#arr}}({{.}}){{/arr}}|{{#objs}}<li title=\"{{name}}\">{{name}}</li>{{/objs}}]",
               d, NULL);
    CHECK(out != NULL);
    CHECK_STR(out, "[" HOSTILE_ESC "|-42|0.25|true|false||||" HOSTILE_ESC "|(&lt;b&gt;)(&amp;amp;)|"
                   "<li title=\"&quot;&gt;&lt;img src&#61;x onerror&#61;alert(1)&gt;\">"
                   "&quot;&gt;&lt;img src&#61;x onerror&#61;alert(1)&gt;</li>]");
    CHECK(clean(out, NULL));
    free(out);
    json_decref(d);
}

static void test_invalid_utf8(void)
{
    /* json_stringn_nocheck: what a buggy producer could hand over. Overlong
     * '<' (C0 BC), a lone continuation byte, a surrogate (ED A0 80), a
     * truncated sequence, a NUL, and a code point above U+10FFFF. */
    static const char bad[] = "a\xC0\xBC"
                              "b\x80"
                              "c\xED\xA0\x80"
                              "d\xE2\x82"
                              "\0e\xF4\x90\x80\x80"
                              "f\xC3\xA9";
    json_t *d = json_object();
    json_object_set_new(d, "v", json_stringn_nocheck(bad, sizeof bad - 1));
    json_object_set_new(d, "arr", json_pack("[o]", json_stringn_nocheck(bad, sizeof bad - 1)));
    char *out = render("<p title=\"{{v}}\">{{v}}</p>{{#arr}}{{.}}{{/arr}}", d, NULL);
    CHECK(out != NULL);
    const char *want_one = "a\xEF\xBF\xBD\xEF\xBF\xBD"
                           "b\xEF\xBF\xBD"
                           "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                           "d\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                           "e\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                           "f\xC3\xA9";
    char want[512];
    snprintf(want, sizeof want, "<p title=\"%s\">%s</p>%s", want_one, want_one, want_one);
    CHECK_STR(out, want);
    CHECK(strlen(out) == strlen(want)); /* no NUL got through */
    free(out);
    json_decref(d);
}

static void test_url_component(void)
{
    json_t *d = json_pack("{s:s}", "q", "a b&c=d/\"<é>");
    char *out = render("<a href=\"/search?q={{%q}}&amp;page=2\">", d, NULL);
    CHECK_STR(out, "<a href=\"/search?q=a%20b%26c%3Dd%2F%22%3C%C3%A9%3E&amp;page=2\">");
    free(out);
    json_decref(d);
}

static void test_raw_only_when_trusted(void)
{
    tmpl_trust trust = {0};
    json_t *d = json_object();
    json_object_set_new(d, "untrusted", json_string("<b>x</b>"));
    json_object_set_new(d, "safe", tmpl_safe(&trust, "<mark>x</mark> &amp; y"));
    /* the same text as the safe fragment, but a different value: escaped */
    json_object_set_new(d, "copy", json_string("<mark>x</mark> &amp; y"));
    char *out = render("{{&untrusted}}|{{&safe}}|{{safe}}|{{&copy}}", d, &trust);
    CHECK_STR(out,
              "&lt;b&gt;x&lt;/b&gt;|<mark>x</mark> &amp; y|&lt;mark&gt;x&lt;/mark&gt; &amp;amp; "
              "y|&lt;mark&gt;x&lt;/mark&gt; &amp;amp; y");
    free(out);
    /* without the registry nothing is raw */
    out = render("{{&safe}}", d, NULL);
    CHECK_STR(out, "&lt;mark&gt;x&lt;/mark&gt; &amp;amp; y");
    free(out);
    json_decref(d);
    tmpl_trust_free(&trust);
}

static void test_sections(void)
{
    json_t *d = json_pack("{s:[], s:{}, s:s, s:i, s:b, s:{s:s}, s:s}", "empty", "eobj", "estr", "",
                          "zero", 0, "f", 0, "o", "name", "inner", "name", "outer");
    char *out =
        render("{{#empty}}A{{/empty}}{{^empty}}a{{/empty}}{{#eobj}}B{{/eobj}}{{^eobj}}b{{/eobj}}"
               "{{#estr}}C{{/estr}}{{^estr}}c{{/estr}}{{#zero}}D{{/zero}}{{#f}}E{{/f}}"
               "{{^missing}}m{{/missing}}{{#o}}{{name}}{{/o}}{{name}}",
               d, NULL);
    CHECK_STR(out, "abcDminnerouter");
    free(out);
    json_decref(d);
}

static void test_partials_and_errors(void)
{
    tmpl_set *set = tmpl_set_new();
    pgr_err err = {0};
    pgr_sb sb = {0};
    CHECK(tmpl_set_add(set, "page", "<h1>{{>head}}</h1>", 18, &err) == 0);
    CHECK(tmpl_set_add(set, "head", "{{t}}", 5, &err) == 0);
    json_t *d = json_pack("{s:s}", "t", "<i>");
    CHECK(tmpl_render(set, "page", d, NULL, &sb, &err) == 0);
    CHECK_STR(sb.data, "<h1>&lt;i&gt;</h1>");
    /* a partial that includes itself is refused, not a stack overflow */
    CHECK(tmpl_set_add(set, "loop", "x{{>loop}}", 10, &err) == 0);
    pgr_sb_reset(&sb);
    CHECK(tmpl_render(set, "loop", d, NULL, &sb, &err) == -1);
    CHECK(strstr(err.msg, "partials nest") != NULL);
    CHECK(tmpl_render(set, "nope", d, NULL, &sb, &err) == -1);
    CHECK(tmpl_set_add(set, "bad1", "{{#a}}x", 7, &err) == -1 && strstr(err.msg, "never closed"));
    CHECK(tmpl_set_add(set, "bad2", "{{#a}}x{{/b}}", 13, &err) == -1 &&
          strstr(err.msg, "closes no"));
    CHECK(tmpl_set_add(set, "bad3", "a\n{{x", 5, &err) == -1 && strstr(err.msg, "line 2"));
    CHECK(tmpl_set_add(set, "bad4", "{{x y}}", 7, &err) == -1 && strstr(err.msg, "bad tag"));
    CHECK(tmpl_set_add(set, "bad5", "{{>nope}}", 9, &err) == 0);
    pgr_sb_reset(&sb);
    CHECK(tmpl_render(set, "bad5", d, NULL, &sb, &err) == -1 && strstr(err.msg, "unknown partial"));
    json_decref(d);
    pgr_sb_free(&sb);
    tmpl_set_free(set);
}

/* Every template the server ships parses, and rendering each with an empty
 * context or one where common names hold hostile strings leaks no markup. */
static void test_shipped_templates(void)
{
    tmpl_set *set = tmpl_set_new();
    pgr_err err = {0};
    CHECK_MSG(tmpl_set_load_dir(set, "web/templates", &err) == 0, "%s", err.msg);
    static const char *pages[] = {"home", "search", "author", "work", "topic", "error"};
    json_t *d = json_object();
    static const char *keys[] = {"title",    "display_name", "q",     "message",
                                 "abstract", "name",         "venue", "label",
                                 "hint",     "text",         "uri",   "affiliation"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set_new(d, keys[i], json_string("<script>x</script>\"'"));
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        pgr_sb sb = {0};
        CHECK_MSG(tmpl_render(set, pages[i], d, NULL, &sb, &err) == 0, "%s: %s", pages[i], err.msg);
        CHECK_MSG(strstr(sb.data, "<script>x") == NULL, "%s leaks a script tag", pages[i]);
        pgr_sb_free(&sb);
    }
    json_decref(d);
    tmpl_set_free(set);
}

int main(void)
{
    RUN(test_text_and_attribute);
    RUN(test_every_value_type);
    RUN(test_invalid_utf8);
    RUN(test_url_component);
    RUN(test_raw_only_when_trusted);
    RUN(test_sections);
    RUN(test_partials_and_errors);
    RUN(test_shipped_templates);
    return check_summary("test_template");
}
