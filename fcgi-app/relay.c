#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "mq.h"
#include "relay.h"
#include "seckill.h"
#include "ticker.h"
#include "xmem.h"

#define RELAY_QUEUE 1024		/* rows waiting in one worker, at most */
#define RELAY_WINDOW 64			/* publishes with their confirms outstanding at once */
#define RELAY_PAYLOAD 512

struct relay_item {
	char ref[SECKILL_REF_LEN + 1];
	char payload[RELAY_PAYLOAD];
	size_t len;
};

static pthread_mutex_t relay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t relay_wake = PTHREAD_COND_INITIALIZER;
static struct relay_item *relay_ring;
static unsigned relay_head, relay_count;
static int relay_running, relay_stopping;
static long long relay_give_up_at;	/* monotonic ms: after relay_stop, send no more */
static pthread_t relay_thread;

/*
 * Writes what a window's publishes came to, one UPDATE for the confirmed rows (sent; a row the
 * consumer took already keeps its status) and one for the rest (attempt counted, left pending
 * for the retry job). The refs were checked when submitted, so they are inlined.
 */
static void
relay_mark(const struct relay_item *win, const struct mq_msg *msgs, int n)
{
	struct buf q;

	buf_init(&q);
	for (int ok = 1; ok >= 0; ok--) {
		int k = 0;

		buf_reset(&q);
		buf_puts(&q, ok ? "UPDATE outbox SET send_count = send_count + 1,"
		    " status = IF(status = 'pending', 'sent', status), updated_at = UTC_TIMESTAMP(3)"
		    " WHERE id IN (" : "UPDATE outbox SET send_count = send_count + 1,"
		    " updated_at = UTC_TIMESTAMP(3), last_error = 'publish not confirmed'"
		    " WHERE status = 'pending' AND id IN (");
		for (int i = 0; i < n; i++)
			if (msgs[i].ok == ok)
				buf_printf(&q, "%s'%s'", k++ ? "," : "", win[i].ref);
		buf_puts(&q, ")");
		metrics_add(ok ? MC_RELAY_PUBLISHED : MC_RELAY_NOT_SENT, k);
		if (k > 0 && db_query(q.data, q.len, NULL, NULL) != 0)
			log_warn(ok ? "relay: %d rows published but not marked sent; the retry job"
			    " sends them again (the consumer ignores the copies)" : "relay: %d rows"
			    " not published and their count failed; the retry job sends them", k);
	}
	buf_free(&q);
}

static void *
relay_main(void *arg)
{
	struct relay_item *win = xcalloc(RELAY_WINDOW, sizeof *win);
	struct mq_msg msgs[RELAY_WINDOW];

	(void)arg;
	mysql_thread_init();
	/* Connected before the first winner: a failure here retries on the first publish. */
	db_get();
	mq_ping();
	pthread_mutex_lock(&relay_lock);
	for (;;) {
		int n = 0;

		if (relay_count == 0) {
			if (relay_stopping)
				break;
			pthread_cond_wait(&relay_wake, &relay_lock);
			continue;
		}
		if (relay_stopping && clock_mono_ms() > relay_give_up_at) {
			log_warn("relay: leaving %u rows pending for the retry job", relay_count);
			break;
		}
		/* Everything waiting, up to a window: published together, marked together. */
		while (relay_count > 0 && n < RELAY_WINDOW) {
			win[n++] = relay_ring[relay_head];
			relay_head = (relay_head + 1) % RELAY_QUEUE;
			relay_count--;
		}
		pthread_mutex_unlock(&relay_lock);
		for (int i = 0; i < n; i++)
			msgs[i] = (struct mq_msg){ .routing_key = MQ_ORDERS_KEY,
			    .body = win[i].payload, .message_id = win[i].ref, .len = win[i].len };
		mq_publish_many(msgs, n);
		relay_mark(win, msgs, n);
		pthread_mutex_lock(&relay_lock);
	}
	pthread_mutex_unlock(&relay_lock);
	free(win);
	mysql_thread_end();
	return NULL;
}

/* Starts the relay unless it runs; with relay_lock held. 0 running, -1. */
static int
relay_spawn(void)
{
	if (relay_running)
		return 0;
	if (relay_ring == NULL)
		relay_ring = xcalloc(RELAY_QUEUE, sizeof *relay_ring);
	db_library_init();
	if (ticker_spawn(&relay_thread, relay_main) != 0) {
		log_err("relay: cannot start its thread");
		return -1;
	}
	relay_running = 1;
	return 0;
}

int
relay_start(void)
{
	int rc = -1;

	pthread_mutex_lock(&relay_lock);
	if (!relay_stopping)
		rc = relay_spawn();
	pthread_mutex_unlock(&relay_lock);
	return rc;
}

int
relay_submit(const char *ref, const char *payload, size_t len)
{
	struct relay_item *it;
	int rc = -1;

	if (len >= RELAY_PAYLOAD || !seckill_is_ref(ref))
		return -1;
	pthread_mutex_lock(&relay_lock);
	if (relay_stopping || relay_spawn() != 0)
		goto out;
	if (relay_count == RELAY_QUEUE) {
		metrics_inc(MC_RELAY_NOT_SENT);
		goto out;
	}
	it = &relay_ring[(relay_head + relay_count) % RELAY_QUEUE];
	memcpy(it->ref, ref, SECKILL_REF_LEN + 1);
	memcpy(it->payload, payload, len);
	it->payload[len] = '\0';
	it->len = len;
	relay_count++;
	pthread_cond_signal(&relay_wake);
	rc = 0;
out:
	pthread_mutex_unlock(&relay_lock);
	return rc;
}

void
relay_stop(void)
{
	int running;

	pthread_mutex_lock(&relay_lock);
	relay_stopping = 1;
	relay_give_up_at = clock_mono_ms() + conf.amqp_timeout_ms;
	running = relay_running;
	pthread_cond_signal(&relay_wake);
	pthread_mutex_unlock(&relay_lock);
	if (running)
		pthread_join(relay_thread, NULL);
	relay_running = 0;
	free(relay_ring);
	relay_ring = NULL;
}
