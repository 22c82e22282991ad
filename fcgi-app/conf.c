#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "xmem.h"

#ifndef SK_SYSCONFDIR
#define SK_SYSCONFDIR "/etc"
#endif
#ifndef SK_PKGDATADIR
#define SK_PKGDATADIR "/usr/share/seckill"
#endif

struct conf conf;

enum conf_type { CONF_STR, CONF_INT, CONF_BOOL };

struct conf_item {
	const char *name;
	enum conf_type type;
	long min, max;
	const char *def;
	size_t off;
};

#define S(name, field, def) { name, CONF_STR, 0, 0, def, offsetof(struct conf, field) }
#define I(name, field, min, max, def) { name, CONF_INT, min, max, #def, offsetof(struct conf, field) }
#define B(name, field, def) { name, CONF_BOOL, 0, 1, def, offsetof(struct conf, field) }

static const struct conf_item conf_items[] = {
	S("app.public_url",		app_public_url,		"http://127.0.0.1:8080"),
	S("app.templates",		app_templates,		SK_PKGDATADIR "/templates"),
	S("app.run_dir",		app_run_dir,		"/run/seckill"),
	I("http.port",			http_port,		1, 65535, 8080),
	I("http.max_body",		http_max_body,		256, 64L << 20, 16384),
	I("fcgi.workers",		fcgi_workers,		1, 256, 4),
	S("log.level",			log_level,		"info"),
	S("redis.host",			redis_host,		"127.0.0.1"),
	I("redis.port",			redis_port,		1, 65535, 16379),
	I("redis.connect_timeout_ms",	redis_connect_timeout_ms, 10, 60000, 500),
	I("redis.timeout_ms",		redis_timeout_ms,	10, 60000, 1000),
	S("mysql.host",			mysql_host,		"127.0.0.1"),
	I("mysql.port",			mysql_port,		1, 65535, 13306),
	S("mysql.user",			mysql_user,		"seckill"),
	S("mysql.password",		mysql_password,		"seckill"),
	S("mysql.database",		mysql_database,		"seckill"),
	I("mysql.connect_timeout",	mysql_connect_timeout,	1, 60, 2),
	I("mysql.timeout",		mysql_timeout,		1, 600, 2),
	S("amqp.host",			amqp_host,		"127.0.0.1"),
	I("amqp.port",			amqp_port,		1, 65535, 15682),
	S("amqp.user",			amqp_user,		"guest"),
	S("amqp.password",		amqp_password,		"guest"),
	S("amqp.vhost",			amqp_vhost,		"/"),
	I("amqp.connect_timeout_ms",	amqp_connect_timeout_ms, 10, 60000, 1000),
	I("amqp.timeout_ms",		amqp_timeout_ms,	10, 60000, 2000),
	I("backend.retry_ms",		backend_retry_ms,	0, 60000, 1000),
	I("session.web_ttl",		session_web_ttl,	60, 31536000, 604800),
	I("session.mobile_ttl",		session_mobile_ttl,	60, 31536000, 2592000),
	S("seckill.captcha_font",	captcha_font,
	    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
	B("seckill.captcha",		seckill_captcha,	"on"),
	B("seckill.hidden_path",	seckill_hidden_path,	"on"),
	I("seckill.captcha_ttl",	seckill_captcha_ttl,	5, 86400, 120),
	I("seckill.path_ttl",		seckill_path_ttl,	5, 86400, 60),
	I("seckill.attempt_ms",		seckill_attempt_ms,	100, 60000, 2500),
	B("ratelimit.enabled",		ratelimit_enabled,	"on"),
	I("ratelimit.api_rate",		ratelimit_api_rate,	1, 1000000, 20),
	I("ratelimit.api_burst",	ratelimit_api_burst,	0, 1000000, 40),
	I("ratelimit.total_rate",	ratelimit_total_rate,	1, 10000000, 20000),
	I("ratelimit.login_per_ip",	ratelimit_login_per_ip,	1, 1000000, 30),
	I("ratelimit.login_per_user",	ratelimit_login_per_user, 1, 1000000, 10),
	I("ratelimit.register_per_ip",	ratelimit_register_per_ip, 1, 1000000, 20),
	I("ratelimit.captcha_per_ip",	ratelimit_captcha_per_ip, 1, 1000000, 30),
	I("ratelimit.buy_per_user",	ratelimit_buy_per_user,	1, 1000000, 5),
	I("order.pay_timeout",		order_pay_timeout,	1, 86400 * 7, 900),
	I("qr.ttl",			qr_ttl,			10, 3600, 120),
	I("qr.interval",		qr_interval,		1, 60, 2),
	I("outbox.max_send",		outbox_max_send,	1, 1000, 5),
	I("outbox.grace",		outbox_grace,		1, 3600, 5),
	I("outbox.retry_interval",	outbox_retry_interval,	1, 3600, 2),
	I("order.sweep_interval",	order_sweep_interval,	1, 86400, 30),
	I("consumer.prefetch",		consumer_prefetch,	1, 10000, 400),
	I("consumer.batch",		consumer_batch,		1, 1000, 200),
	I("consumer.batch_ms",		consumer_batch_ms,	1, 1000, 10),
	I("heal.grace",			heal_grace,		1, 3600, 10),
	I("heal.interval",		heal_interval,		1, 3600, 2),
};

#define CONF_NITEMS (sizeof conf_items / sizeof conf_items[0])

static const struct conf_item *
conf_find(const char *name)
{
	for (size_t i = 0; i < CONF_NITEMS; i++)
		if (strcmp(conf_items[i].name, name) == 0)
			return &conf_items[i];
	return NULL;
}

/* Parses value for item into c; on error writes why (without the key) into err. */
static int
conf_set(struct conf *c, const struct conf_item *it, const char *value, char *err, size_t errlen)
{
	char *field = (char *)c + it->off;

	switch (it->type) {
	case CONF_STR: {
		char **p = (char **)field;
		if (strcmp(it->name, "log.level") == 0 && strcmp(value, "debug") != 0 &&
		    strcmp(value, "info") != 0 && strcmp(value, "warn") != 0 &&
		    strcmp(value, "error") != 0) {
			snprintf(err, errlen, "'%s' is not one of debug, info, warn, error", value);
			return -1;
		}
		free(*p);
		*p = xstrdup(value);
		return 0;
	}
	case CONF_INT: {
		char *end;
		long v;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < it->min || v > it->max) {
			snprintf(err, errlen, "'%s' is not an integer in %ld..%ld", value,
			    it->min, it->max);
			return -1;
		}
		*(long *)field = v;
		return 0;
	}
	case CONF_BOOL: {
		static const char *yes[] = { "on", "yes", "true", "1" };
		static const char *no[] = { "off", "no", "false", "0" };
		for (size_t i = 0; i < 4; i++) {
			if (strcasecmp(value, yes[i]) == 0) {
				*(int *)field = 1;
				return 0;
			}
			if (strcasecmp(value, no[i]) == 0) {
				*(int *)field = 0;
				return 0;
			}
		}
		snprintf(err, errlen, "'%s' is not on or off", value);
		return -1;
	}
	}
	return -1;
}

static char *
conf_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
conf_read_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	char line[4096], why[256];
	int lineno = 0, rc = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
		char *s, *eq, *key, *value;
		const struct conf_item *it;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		s = conf_trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'section.key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = conf_trim(s);
		value = conf_trim(eq + 1);
		if ((it = conf_find(key)) == NULL) {
			snprintf(err, errlen, "%s:%d: unknown key '%s'", path, lineno, key);
			rc = -1;
		} else if (conf_set(c, it, value, why, sizeof why) != 0) {
			snprintf(err, errlen, "%s:%d: %s: %s", path, lineno, key, why);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

/* SECKILL_HTTP_MAX_BODY for http.max_body. */
static void
conf_env_name(const char *key, char *out, size_t outlen)
{
	size_t n = (size_t)snprintf(out, outlen, "SECKILL_");
	for (; *key != '\0' && n + 1 < outlen; key++)
		out[n++] = *key == '.' ? '_' : (char)toupper((unsigned char)*key);
	out[n] = '\0';
}

static int
conf_read_env(struct conf *c, char *err, size_t errlen)
{
	char name[128], why[256];

	for (size_t i = 0; i < CONF_NITEMS; i++) {
		const char *v;
		conf_env_name(conf_items[i].name, name, sizeof name);
		if ((v = getenv(name)) == NULL)
			continue;
		if (conf_set(c, &conf_items[i], v, why, sizeof why) != 0) {
			snprintf(err, errlen, "environment %s (%s): %s", name, conf_items[i].name, why);
			return -1;
		}
	}
	return 0;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	char why[256];

	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < CONF_NITEMS; i++)
		if (conf_set(c, &conf_items[i], conf_items[i].def, why, sizeof why) != 0) {
			snprintf(err, errlen, "default of %s: %s", conf_items[i].name, why);
			return -1;
		}
	if (path != NULL && conf_read_file(c, path, err, errlen) != 0)
		return -1;
	return conf_read_env(c, err, errlen);
}

int
conf_load_default(struct conf *c, char *err, size_t errlen)
{
	const char *path = getenv("SECKILL_CONF");
	static const char installed[] = SK_SYSCONFDIR "/seckill/seckill.conf";

	if (path == NULL || *path == '\0')
		path = access(installed, R_OK) == 0 ? installed : NULL;
	return conf_load(c, path, err, errlen);
}

void
conf_dump(const struct conf *c, FILE *out)
{
	for (size_t i = 0; i < CONF_NITEMS; i++) {
		const struct conf_item *it = &conf_items[i];
		const char *field = (const char *)c + it->off;
		switch (it->type) {
		case CONF_STR:
			fprintf(out, "%s = %s\n", it->name, *(char *const *)field);
			break;
		case CONF_INT:
			fprintf(out, "%s = %ld\n", it->name, *(const long *)field);
			break;
		case CONF_BOOL:
			fprintf(out, "%s = %s\n", it->name, *(const int *)field ? "on" : "off");
			break;
		}
	}
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < CONF_NITEMS; i++)
		if (conf_items[i].type == CONF_STR) {
			char **p = (char **)((char *)c + conf_items[i].off);
			free(*p);
			*p = NULL;
		}
}
