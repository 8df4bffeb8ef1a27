/* Guarded XML helpers (see ixxml.h). */
#include "indexer/ixxml.h"

#include <limits.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

xmlDocPtr ix_xml_parse(const char *data, size_t len, pgr_err *err)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    if (len > IX_XML_MAX_BYTES || len > INT_MAX) {
        pgr_errf(err, PGR_EINVAL, "offset 0: XML document of %zu bytes exceeds the limit", len);
        goto cleanup;
    }
    /* Any DOCTYPE is refused before libxml2 sees it (see the header). The
     * check is byte-level, so "<!DOCTYPE" inside a comment is refused too:
     * acceptable for API responses. */
    const char *dt = memmem(data, len, "<!DOCTYPE", 9);
    if (!dt)
        dt = memmem(data, len, "<!ENTITY", 8);
    if (dt) {
        pgr_errf(err, PGR_EINVAL, "offset %zu: DOCTYPE/ENTITY declarations are not accepted",
                 (size_t)(dt - data));
        goto cleanup;
    }
    xmlInitParser();
    ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        pgr_errf(err, PGR_ENOMEM, "XML: cannot create a parser");
        goto cleanup;
    }
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, "input.xml", NULL, opts);
    if (!doc || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        if (e && e->message) {
            char msg[512];
            size_t n = strlen(e->message);
            if (n >= sizeof msg)
                n = sizeof msg - 1;
            memcpy(msg, e->message, n);
            while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
                n--;
            msg[n] = '\0';
            pgr_errf(err, PGR_EINVAL, "line %d: column %d: invalid XML: %s", e->line, e->int2, msg);
        } else {
            pgr_errf(err, PGR_EINVAL, "offset 0: invalid XML");
        }
        if (doc) {
            xmlFreeDoc(doc);
            doc = NULL;
        }
        goto cleanup;
    }
    if (!xmlDocGetRootElement(doc)) {
        pgr_errf(err, PGR_EINVAL, "offset 0: XML document has no root element");
        xmlFreeDoc(doc);
        doc = NULL;
    }
cleanup:
    if (ctxt)
        xmlFreeParserCtxt(ctxt);
    return doc;
}

int ix_xml_is(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && !strcmp((const char *)n->name, local);
}

xmlNodePtr ix_xml_next(const xmlNode *n, const char *local)
{
    for (xmlNodePtr c = n ? n->next : NULL; c; c = c->next)
        if (ix_xml_is(c, local))
            return c;
    return NULL;
}

xmlNodePtr ix_xml_child(const xmlNode *n, const char *local)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (ix_xml_is(c, local))
            return c;
    return NULL;
}

const char *ix_xml_text(pgr_arena *a, const xmlNode *n)
{
    if (!n)
        return NULL;
    xmlChar *t = xmlNodeGetContent(n);
    if (!t)
        return NULL;
    const char *out = pgr_arena_strdup(a, (const char *)t);
    xmlFree(t);
    return out;
}

const char *ix_xml_attr(pgr_arena *a, const xmlNode *n, const char *name)
{
    if (!n)
        return NULL;
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    const char *out = pgr_arena_strdup(a, (const char *)v);
    xmlFree(v);
    return out;
}

long ix_xml_line(const xmlNode *n)
{
    return n ? xmlGetLineNo(n) : 0;
}
