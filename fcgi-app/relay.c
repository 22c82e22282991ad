#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "mq.h"
#include "relay.h"
#include "seckill.h"
#include "xmem.h"

#define RELAY_QUEUE 1024		/* rows waiting in one worker, at most */
#define RELAY_MARKS 16			/* "sent" marks written by one UPDATE */
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

/* Marks confirmed rows sent; a row the consumer took already keeps its status. */
static void
relay_mark_sent(char refs[][SECKILL_REF_LEN + 1], int n)
{
	const char *r[RELAY_MARKS] = { NULL };	/* unused places bind NULL: they match nothing */

	for (int i = 0; i < n; i++)
		r[i] = refs[i];
	if (db_exec("UPDATE outbox SET send_count = send_count + 1,"
	    " status = IF(status = 'pending', 'sent', status), updated_at = UTC_TIMESTAMP(3)"
	    " WHERE id IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", NULL, NULL,
	    "ssssssssssssssss", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
	    r[11], r[12], r[13], r[14], r[15]) != 0)
		log_warn("relay: %d rows published but not marked sent; the retry job sends them"
		    " again (the consumer ignores the copies)", n);
}

static void *
relay_main(void *arg)
{
	char sent[RELAY_MARKS][SECKILL_REF_LEN + 1];
	struct relay_item it;
	int nsent = 0;

	(void)arg;
	mysql_thread_init();
	pthread_mutex_lock(&relay_lock);
	for (;;) {
		if (relay_count == 0 || nsent == RELAY_MARKS) {
			/* Nothing waits (or a batch is full): write the marks. */
			if (nsent > 0) {
				pthread_mutex_unlock(&relay_lock);
				relay_mark_sent(sent, nsent);
				nsent = 0;
				pthread_mutex_lock(&relay_lock);
				continue;
			}
			if (relay_stopping)
				break;
			pthread_cond_wait(&relay_wake, &relay_lock);
			continue;
		}
		if (relay_stopping && clock_mono_ms() > relay_give_up_at) {
			log_warn("relay: leaving %u rows pending for the retry job", relay_count);
			pthread_mutex_unlock(&relay_lock);
			if (nsent > 0)
				relay_mark_sent(sent, nsent);
			pthread_mutex_lock(&relay_lock);
			break;
		}
		it = relay_ring[relay_head];
		relay_head = (relay_head + 1) % RELAY_QUEUE;
		relay_count--;
		pthread_mutex_unlock(&relay_lock);
		if (mq_publish(MQ_ORDERS_KEY, it.payload, it.len, it.ref) == 0) {
			metrics_inc(MC_RELAY_PUBLISHED);
			memcpy(sent[nsent++], it.ref, sizeof it.ref);
		} else {
			metrics_inc(MC_RELAY_NOT_SENT);
			if (db_exec("UPDATE outbox SET send_count = send_count + 1,"
			    " updated_at = UTC_TIMESTAMP(3), last_error = 'publish not confirmed'"
			    " WHERE id = ? AND status = 'pending'", NULL, NULL, "s", it.ref) != 0)
				log_warn("relay: outbox %s: publish and its count failed; the retry"
				    " job sends it", it.ref);
		}
		pthread_mutex_lock(&relay_lock);
	}
	pthread_mutex_unlock(&relay_lock);
	mysql_thread_end();
	return NULL;
}

int
relay_submit(const char *ref, const char *payload, size_t len)
{
	struct relay_item *it;
	int rc = -1;

	if (len >= RELAY_PAYLOAD || strlen(ref) != SECKILL_REF_LEN)
		return -1;
	pthread_mutex_lock(&relay_lock);
	if (relay_stopping)
		goto out;
	if (!relay_running) {
		if (relay_ring == NULL)
			relay_ring = xcalloc(RELAY_QUEUE, sizeof *relay_ring);
		sigset_t all, old;
		int started;

		mysql_library_init(0, NULL, NULL);	/* once, before a second thread uses it */
		/* Signals are the main thread's (SIGTERM must interrupt its accept): the relay
		 * starts with all of them blocked. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		started = pthread_create(&relay_thread, NULL, relay_main, NULL) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!started) {
			log_err("relay: cannot start its thread");
			goto out;
		}
		relay_running = 1;
	}
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
