#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/time.h>

#include "clock.h"
#include "conf.h"
#include "log.h"
#include "store.h"
#include "xmem.h"

/* Per thread: the health thread of a worker pings on a connection of its own. */
static _Thread_local redisContext *store_ctx;
static _Thread_local long long store_retry_at;	/* monotonic ms before which we do not reconnect */
static _Thread_local long long store_last_use;
static _Thread_local int store_was_lost;	/* the last failed command had been sent */
static _Thread_local char store_run[41];	/* run_id of the server this connection reached */

static struct timeval
store_tv(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

/*
 * A connection idle for a while may have been closed by a Redis restart; the close shows as a
 * readable socket (EOF) while we expect nothing. Looking costs one poll(), so only after a
 * second of idleness: then the next command goes to a fresh connection instead of failing.
 */
static void
store_check_idle(void)
{
	long long now = clock_mono_ms();
	struct pollfd p;

	if (now - store_last_use > 1000) {
		p.fd = store_ctx->fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 0) != 0) {
			log_info("redis: the idle connection was closed by the server; reconnecting");
			redisFree(store_ctx);
			store_ctx = NULL;
		}
	}
	store_last_use = now;
}

/*
 * The server's run_id, read once per connection: a Redis that restarted (perhaps from an older
 * AOF or RDB) or a replica promoted in its place has another one, which is how the sale's
 * stamp (seckill.c) notices that its data must be checked against MySQL before it sells.
 */
static void
store_read_run_id(redisContext *c)
{
	redisReply *r = redisCommand(c, "INFO server");
	const char *p;

	store_run[0] = '\0';
	if (r != NULL && r->type == REDIS_REPLY_STRING && (p = strstr(r->str, "run_id:")) != NULL) {
		p += 7;
		size_t n = strspn(p, "0123456789abcdef");
		if (n == 40) {
			memcpy(store_run, p, 40);
			store_run[40] = '\0';
		}
	}
	if (r != NULL)
		freeReplyObject(r);
}

const char *
store_run_id(void)
{
	return store_ctx != NULL ? store_run : "";
}

redisContext *
store_get(void)
{
	redisContext *c;

	if (store_ctx != NULL)
		store_check_idle();
	if (store_ctx != NULL)
		return store_ctx;
	if (clock_mono_ms() < store_retry_at)
		return NULL;
	c = redisConnectWithTimeout(conf.redis_host, (int)conf.redis_port,
	    store_tv(conf.redis_connect_timeout_ms));
	if (c == NULL || c->err) {
		log_err("redis %s:%ld: %s", conf.redis_host, conf.redis_port,
		    c ? c->errstr : "cannot allocate context");
		if (c != NULL)
			redisFree(c);
		store_retry_at = clock_mono_ms() + conf.backend_retry_ms;
		return NULL;
	}
	if (redisSetTimeout(c, store_tv(conf.redis_timeout_ms)) != REDIS_OK)
		log_warn("redis: cannot set the read timeout");
	redisEnableKeepAlive(c);
	store_read_run_id(c);
	if (c->err) {
		log_err("redis %s:%ld: %s", conf.redis_host, conf.redis_port, c->errstr);
		redisFree(c);
		store_retry_at = clock_mono_ms() + conf.backend_retry_ms;
		return NULL;
	}
	store_ctx = c;
	store_last_use = clock_mono_ms();
	return c;
}

redisContext *
store_fresh(void)
{
	if (store_ctx != NULL) {
		redisFree(store_ctx);
		store_ctx = NULL;
	}
	store_retry_at = 0;
	return store_get();
}

/*
 * A connection the server closed (a restart) may be re-opened at once; one that timed out
 * waits backend.retry_ms, so a hung server costs one slow request per worker and second.
 */
static void
store_drop_after(int timed_out)
{
	if (store_ctx == NULL)
		return;
	log_warn("redis: dropping the connection: %s",
	    store_ctx->err ? store_ctx->errstr : "after an error");
	redisFree(store_ctx);
	store_ctx = NULL;
	if (timed_out)
		store_retry_at = clock_mono_ms() + conf.backend_retry_ms;
}

void
store_drop(void)
{
	store_drop_after(1);
}

static redisReply *
store_check(redisReply *r)
{
	if (r == NULL || store_ctx->err) {
		store_was_lost = 1;
		if (r != NULL)
			freeReplyObject(r);
		store_drop_after(store_ctx->err != REDIS_ERR_EOF);
		return NULL;
	}
	return r;
}

redisReply *
store_command(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	store_was_lost = 0;
	if (store_get() == NULL)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(store_ctx, fmt, ap);
	va_end(ap);
	return store_check(r);
}

redisReply *
store_command_argv(int argc, const char **argv, const size_t *argvlen)
{
	store_was_lost = 0;
	if (store_get() == NULL)
		return NULL;
	return store_check(redisCommandArgv(store_ctx, argc, argv, argvlen));
}

int
store_lost(void)
{
	return store_was_lost;
}

int
store_ping(void)
{
	redisReply *r = store_command("PING");
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;

	if (r != NULL)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

static int
store_script_load(struct store_script *s)
{
	redisReply *r = store_command("SCRIPT LOAD %s", s->src);
	int rc = -1;

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_STRING && r->len == 40) {
		memcpy(s->sha, r->str, 41);
		rc = 0;
	} else {
		log_err("redis: cannot load script %s: %s", s->name,
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	}
	freeReplyObject(r);
	return rc;
}

redisReply *
store_eval(struct store_script *s, int nkeys, int argc, const char **argv)
{
	const char *small[32], **args = argc + 3 <= 32 ? small : xmalloc((size_t)(argc + 3) *
	    sizeof *args);
	char nk[16];
	redisReply *r = NULL;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (s->sha[0] == '\0' && store_script_load(s) != 0) {
			r = NULL;
			break;
		}
		snprintf(nk, sizeof nk, "%d", nkeys);
		args[0] = "EVALSHA";
		args[1] = s->sha;
		args[2] = nk;
		memcpy(args + 3, argv, (size_t)argc * sizeof *argv);
		r = store_command_argv(argc + 3, args, NULL);
		if (r == NULL)
			break;
		/* After a restart or SCRIPT FLUSH the cache is empty: load it and try once more. */
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(r);
			r = NULL;
			s->sha[0] = '\0';
			continue;
		}
		if (r->type == REDIS_REPLY_ERROR)
			log_err("redis: script %s: %s", s->name, r->str);
		break;
	}
	if (args != small)
		free(args);
	return r;
}
