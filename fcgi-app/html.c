#include <string.h>

#include "buf.h"
#include "html.h"

static void
html_escape(struct buf *out, const char *s, const char *also)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *rep;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '`': rep = strchr(also, '`') ? "&#96;" : NULL; break;
		case '=': rep = strchr(also, '=') ? "&#61;" : NULL; break;
		default: rep = NULL;
		}
		if (rep == NULL)
			continue;
		buf_add(out, run, (size_t)(s - run));
		buf_puts(out, rep);
		run = s + 1;
	}
	buf_add(out, run, (size_t)(s - run));
}

void
html_txt(struct buf *out, const char *s)
{
	html_escape(out, s, "");
}

void
html_attr(struct buf *out, const char *s)
{
	html_escape(out, s, "`=");
}

void
html_url_arg(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			buf_putc(out, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			buf_add(out, e, 3);
		}
	}
}

static int
html_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
html_url_decode(const char *s, size_t len, char *out, int plus_is_space)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = html_hexval(s[i + 1]);
			lo = html_hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return html_utf8_valid(out, n) ? (long)n : -1;
}

int
html_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;

	while (s < end) {
		unsigned char c = *s;
		size_t need;
		unsigned long cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if ((size_t)(end - s) <= need)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if ((s[k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += need + 1;
	}
	return 1;
}
