/*
 * HTML templates, parsed once at start-up, rendered from json-c data, escaped by default.
 *   {{name}} {{a.b}} {{.}}   the value, HTML-escaped (text and quoted attributes)
 *   {{url:name}}             percent-encoded for a URL segment or argument, then HTML-escaped
 *   {{raw:name}}             unescaped: spelled out so that it is easy to find
 *   {{#name}}..{{/name}}     each element of an array / the object / once if true
 *   {{^name}}..{{/name}}     when the value is missing, false, null, 0, "" or []
 *   {{! comment }}
 * Any other tag is an error at parse time, with the file and line.
 */
#ifndef SK_TMPL_H
#define SK_TMPL_H
#include <stddef.h>

struct buf;
struct json_object;
struct tmpl;
struct tmpl_set;

struct tmpl *tmpl_parse(const char *name, const char *src, char *err, size_t errlen);
void tmpl_free(struct tmpl *t);
/* Renders with ctx[n-1] as the innermost context; lookups fall back outwards. */
void tmpl_render(const struct tmpl *t, struct json_object **ctx, int n, struct buf *out);

/* Parses every *.html in dir, and checks that each name in required is among them. */
struct tmpl_set *tmpl_set_load(const char *dir, const char *const *required, char *err,
    size_t errlen);
const struct tmpl *tmpl_set_get(const struct tmpl_set *set, const char *name);
void tmpl_set_free(struct tmpl_set *set);

#endif
