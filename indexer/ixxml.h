#ifndef PEERGRAPH_IXXML_H
#define PEERGRAPH_IXXML_H
/* Guarded XML for the metadata parsers (arXiv OAI-PMH and Atom).
 *
 * libxml2 with network access off (XML_PARSE_NONET), entities NOT substituted
 * (no XML_PARSE_NOENT), no DTD loading or validation, and any document that
 * carries a DOCTYPE refused outright: the formats we read never have one, and
 * an internal subset is where entity bombs (billion laughs) and external
 * entities (XXE) live. libxml2's own nesting limit (256 without
 * XML_PARSE_HUGE) bounds depth; we also cap the size. Elements are matched by
 * local name only, since real responses differ in namespace use (the
 * hand-edited OAI fixture drops the arXiv xmlns). */
#include <libxml/tree.h>
#include <stddef.h>

#include "graph/util.h"

#define IX_XML_MAX_BYTES ((size_t)512 << 20)

/* Parses data[0..len). Returns the document (free with xmlFreeDoc) or NULL
 * with err = "line L: column C: <libxml2 message>". */
xmlDocPtr ix_xml_parse(const char *data, size_t len, pgr_err *err);

/* 1 when n is an element with this local name. */
int ix_xml_is(const xmlNode *n, const char *local);
/* First element child of n with this local name, or NULL. */
xmlNodePtr ix_xml_child(const xmlNode *n, const char *local);
/* Next element sibling after n with this local name, or NULL. */
xmlNodePtr ix_xml_next(const xmlNode *n, const char *local);
/* Text content of n (all descendant text), copied into the arena; NULL when
 * n is NULL. Not trimmed. */
const char *ix_xml_text(pgr_arena *a, const xmlNode *n);
/* Attribute value copied into the arena, NULL when absent. */
const char *ix_xml_attr(pgr_arena *a, const xmlNode *n, const char *name);
/* Source line of a node (for error messages and ix_work.line). */
long ix_xml_line(const xmlNode *n);

#endif
