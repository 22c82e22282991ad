#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "html.h"
#include "tmpl.h"
#include "xmem.h"

enum tmpl_kind { T_TEXT, T_VAR, T_URL, T_RAW, T_SECTION, T_INVERTED };

struct tmpl_node {
	enum tmpl_kind kind;
	const char *text;	/* T_TEXT: points into the source */
	size_t len;
	char *name;		/* variables and sections */
	struct tmpl_node *child;
	size_t nchild;
};

struct tmpl {
	char *name;
	char *src;
	struct tmpl_node *nodes;
	size_t nnodes;
};

struct tmpl_parser {
	const struct tmpl *t;
	const char *src, *p;
	char *err;
	size_t errlen;
};

#define TMPL_MAX_DEPTH 32

static int
tmpl_line(const struct tmpl_parser *ps, const char *at)
{
	int line = 1;
	for (const char *s = ps->src; s < at; s++)
		line += *s == '\n';
	return line;
}

static int
tmpl_fail(struct tmpl_parser *ps, const char *at, const char *fmt, const char *what)
{
	char msg[256];
	snprintf(msg, sizeof msg, fmt, what);
	snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->t->name, tmpl_line(ps, at), msg);
	return -1;
}

static int
tmpl_valid_name(const char *s)
{
	if (strcmp(s, ".") == 0)
		return 1;
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && !(*s == '.' && s[1] != '\0' &&
		    s[1] != '.'))
			return 0;
	return 1;
}

static struct tmpl_node *
tmpl_push(struct tmpl_node **nodes, size_t *n)
{
	*nodes = xrealloc(*nodes, (*n + 1) * sizeof **nodes);
	memset(&(*nodes)[*n], 0, sizeof **nodes);
	return &(*nodes)[(*n)++];
}

static void
tmpl_free_nodes(struct tmpl_node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(nodes[i].name);
		tmpl_free_nodes(nodes[i].child, nodes[i].nchild);
	}
	free(nodes);
}

/* Parses until {{/closing}} (or the end when closing is NULL). */
static int
tmpl_parse_nodes(struct tmpl_parser *ps, struct tmpl_node **nodes, size_t *n,
    const char *closing, const char *opened_at, int depth)
{
	if (depth > TMPL_MAX_DEPTH)
		return tmpl_fail(ps, ps->p, "sections nested too deep%s", "");
	for (;;) {
		const char *open = strstr(ps->p, "{{");
		const char *tag, *close;
		char inner[128];
		size_t ilen;

		if (open == NULL) {
			if (closing != NULL)
				return tmpl_fail(ps, opened_at, "section {{#%s}} is never closed",
				    closing);
			if (*ps->p != '\0') {
				struct tmpl_node *t = tmpl_push(nodes, n);
				t->kind = T_TEXT;
				t->text = ps->p;
				t->len = strlen(ps->p);
			}
			return 0;
		}
		if (open > ps->p) {
			struct tmpl_node *t = tmpl_push(nodes, n);
			t->kind = T_TEXT;
			t->text = ps->p;
			t->len = (size_t)(open - ps->p);
		}
		tag = open + 2;
		close = strstr(tag, "}}");
		if (close == NULL)
			return tmpl_fail(ps, open, "'{{' without '}}'%s", "");
		ps->p = close + 2;
		if (*tag == '!')
			continue;
		while (tag < close && isspace((unsigned char)*tag))
			tag++;
		ilen = (size_t)(close - tag);
		while (ilen > 0 && isspace((unsigned char)tag[ilen - 1]))
			ilen--;
		if (ilen == 0 || ilen >= sizeof inner)
			return tmpl_fail(ps, open, "unknown tag {{%s}}", ilen ? "..." : "");
		memcpy(inner, tag, ilen);
		inner[ilen] = '\0';

		enum tmpl_kind kind = T_VAR;
		const char *name = inner;
		if (inner[0] == '#' || inner[0] == '^' || inner[0] == '/') {
			name = inner + 1;
			while (isspace((unsigned char)*name))
				name++;
			kind = inner[0] == '#' ? T_SECTION : inner[0] == '^' ? T_INVERTED : T_TEXT;
		} else if (strncmp(inner, "url:", 4) == 0) {
			kind = T_URL;
			name = inner + 4;
		} else if (strncmp(inner, "raw:", 4) == 0) {
			kind = T_RAW;
			name = inner + 4;
		}
		if (!tmpl_valid_name(name))
			return tmpl_fail(ps, open, "unknown tag {{%s}}", inner);
		if (inner[0] == '/') {
			if (closing == NULL || strcmp(name, closing) != 0)
				return tmpl_fail(ps, open, "{{/%s}} closes no open section", name);
			return 0;
		}
		struct tmpl_node *t = tmpl_push(nodes, n);
		t->kind = kind;
		t->name = xstrdup(name);
		if (kind == T_SECTION || kind == T_INVERTED) {
			/* Parse into locals: the array behind t may move while children are added. */
			struct tmpl_node *child = NULL;
			size_t nchild = 0;
			char *sname = xstrdup(name);
			int rc = tmpl_parse_nodes(ps, &child, &nchild, sname, open, depth + 1);
			free(sname);
			(*nodes)[*n - 1].child = child;
			(*nodes)[*n - 1].nchild = nchild;
			if (rc != 0)
				return -1;
		}
	}
}

struct tmpl *
tmpl_parse(const char *name, const char *src, char *err, size_t errlen)
{
	struct tmpl *t = xcalloc(1, sizeof *t);
	struct tmpl_parser ps;

	t->name = xstrdup(name);
	t->src = xstrdup(src);
	ps.t = t;
	ps.src = ps.p = t->src;
	ps.err = err;
	ps.errlen = errlen;
	if (tmpl_parse_nodes(&ps, &t->nodes, &t->nnodes, NULL, NULL, 0) != 0) {
		tmpl_free(t);
		return NULL;
	}
	return t;
}

void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	tmpl_free_nodes(t->nodes, t->nnodes);
	free(t->name);
	free(t->src);
	free(t);
}

/* Looks name up from the innermost context outwards; NULL when it is nowhere. */
static struct json_object *
tmpl_lookup(struct json_object **ctx, int n, const char *name, int *found)
{
	char head[128];
	const char *rest = strchr(name, '.');
	size_t hlen = rest ? (size_t)(rest - name) : strlen(name);
	struct json_object *v = NULL;

	*found = 0;
	if (strcmp(name, ".") == 0) {
		*found = n > 0;
		return n > 0 ? ctx[n - 1] : NULL;
	}
	if (hlen >= sizeof head)
		return NULL;
	memcpy(head, name, hlen);
	head[hlen] = '\0';
	for (int i = n - 1; i >= 0; i--) {
		if (json_object_is_type(ctx[i], json_type_object) &&
		    json_object_object_get_ex(ctx[i], head, &v))
			break;
		v = NULL;
	}
	if (v == NULL)
		return NULL;
	while (rest != NULL && v != NULL) {
		const char *part = rest + 1;
		rest = strchr(part, '.');
		hlen = rest ? (size_t)(rest - part) : strlen(part);
		if (hlen >= sizeof head || !json_object_is_type(v, json_type_object))
			return NULL;
		memcpy(head, part, hlen);
		head[hlen] = '\0';
		if (!json_object_object_get_ex(v, head, &v))
			return NULL;
	}
	*found = v != NULL;
	return v;
}

static int
tmpl_truthy(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return 0;
	case json_type_boolean: return json_object_get_boolean(v);
	case json_type_int: return json_object_get_int64(v) != 0;
	case json_type_double: return json_object_get_double(v) != 0;
	case json_type_string: return json_object_get_string_len(v) > 0;
	case json_type_array: return json_object_array_length(v) > 0;
	case json_type_object: return 1;
	}
	return 0;
}

static const char *
tmpl_text_of(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
	case json_type_int:
	case json_type_double:
		return json_object_get_string(v);
	case json_type_boolean:
		return json_object_get_boolean(v) ? "true" : "false";
	default:
		return "";
	}
}

static void
tmpl_render_nodes(const struct tmpl_node *nodes, size_t nnodes, struct json_object **ctx, int n,
    struct buf *out)
{
	for (size_t i = 0; i < nnodes; i++) {
		const struct tmpl_node *nd = &nodes[i];
		struct json_object *v;
		int found;

		if (nd->kind == T_TEXT) {
			buf_add(out, nd->text, nd->len);
			continue;
		}
		v = tmpl_lookup(ctx, n, nd->name, &found);
		switch (nd->kind) {
		case T_VAR:
			html_txt(out, tmpl_text_of(v));
			break;
		case T_URL: {
			struct buf enc;
			buf_init(&enc);
			html_url_arg(&enc, tmpl_text_of(v));
			html_txt(out, buf_str(&enc));
			buf_free(&enc);
			break;
		}
		case T_RAW:
			buf_puts(out, tmpl_text_of(v));
			break;
		case T_INVERTED:
			if (!tmpl_truthy(v))
				tmpl_render_nodes(nd->child, nd->nchild, ctx, n, out);
			break;
		case T_SECTION:
			if (!tmpl_truthy(v) || n >= TMPL_MAX_DEPTH * 2)
				break;
			struct json_object *inner[TMPL_MAX_DEPTH * 2 + 1];
			memcpy(inner, ctx, (size_t)n * sizeof *ctx);
			if (json_object_is_type(v, json_type_array)) {
				size_t len = json_object_array_length(v);
				for (size_t k = 0; k < len; k++) {
					inner[n] = json_object_array_get_idx(v, k);
					tmpl_render_nodes(nd->child, nd->nchild, inner, n + 1, out);
				}
			} else if (json_object_is_type(v, json_type_object)) {
				inner[n] = v;
				tmpl_render_nodes(nd->child, nd->nchild, inner, n + 1, out);
			} else {
				tmpl_render_nodes(nd->child, nd->nchild, ctx, n, out);
			}
			break;
		default:
			break;
		}
	}
}

void
tmpl_render(const struct tmpl *t, struct json_object **ctx, int n, struct buf *out)
{
	tmpl_render_nodes(t->nodes, t->nnodes, ctx, n, out);
}

struct tmpl_set {
	struct tmpl **items;
	size_t n;
};

static char *
tmpl_read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t got;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, got);
	fclose(f);
	if (b.data == NULL || strlen(b.data) != b.len || !html_utf8_valid(b.data, b.len)) {
		snprintf(err, errlen, "%s: empty, or not UTF-8 text", path);
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

struct tmpl_set *
tmpl_set_load(const char *dir, const char *const *required, char *err, size_t errlen)
{
	struct tmpl_set *set = xcalloc(1, sizeof *set);
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		snprintf(err, errlen, "templates folder %s: %s", dir, strerror(errno));
		free(set);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char path[4096], name[256], *src;
		struct tmpl *t;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".html") != 0 || de->d_name[0] == '.' ||
		    len - 5 >= sizeof name)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		snprintf(name, sizeof name, "%.*s", (int)(len - 5), de->d_name);
		if ((src = tmpl_read_file(path, err, errlen)) == NULL)
			goto fail;
		t = tmpl_parse(de->d_name, src, err, errlen);
		free(src);
		if (t == NULL)
			goto fail;
		free(t->name);
		t->name = xstrdup(name);
		set->items = xrealloc(set->items, (set->n + 1) * sizeof *set->items);
		set->items[set->n++] = t;
	}
	closedir(d);
	d = NULL;
	for (; required != NULL && *required != NULL; required++)
		if (tmpl_set_get(set, *required) == NULL) {
			snprintf(err, errlen, "template %s/%s.html is missing", dir, *required);
			goto fail;
		}
	return set;
fail:
	if (d != NULL)
		closedir(d);
	tmpl_set_free(set);
	return NULL;
}

const struct tmpl *
tmpl_set_get(const struct tmpl_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->items[i]->name, name) == 0)
			return set->items[i];
	return NULL;
}

void
tmpl_set_free(struct tmpl_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		tmpl_free(set->items[i]);
	free(set->items);
	free(set);
}
