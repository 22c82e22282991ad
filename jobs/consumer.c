/*
 * seckill-consumer: turns order messages into orders, in batches. It gathers up to
 * consumer.batch deliveries (waiting at most consumer.batch_ms for more once one came), makes
 * their orders in one MySQL transaction (order_create_batch: dedup keys, outbox guards,
 * orders, stock, one commit), then acknowledges the whole batch with one multiple ack and
 * publishes the orders' payment-timeout messages with their confirms outstanding together.
 * Anything unusual in a batch (a given-up outbox row, a user who holds a live order, no unit
 * left in MySQL, an unknown sale) is settled alone, one transaction each, as before.
 *
 * A crash anywhere only means a redelivery: before the commit nothing happened; after it the
 * dedup keys absorb the copies. Two consumers compete safely: the outbox rows are locked in
 * key order, so a message two of them hold at once is made into an order by one; the other
 * waits for that commit and finds the dedup row. A message that can never succeed goes to the
 * dead-letter queue with its reason; the consumer never dies on one message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "mq.h"
#include "order.h"
#include "xmem.h"

static long consumer_done, consumer_dup, consumer_rejected, consumer_dead;

/* One delivery of the batch at hand. */
struct item {
	amqp_envelope_t env;
	struct order_msg m;
	enum order_outcome out;
	const char *why;
	long long order_id;
};

static void
consumer_report(int force)
{
	static long last;
	long all = consumer_done + consumer_dup + consumer_rejected + consumer_dead;

	if (force || all >= last + 1000) {
		last = all;
		log_info("%ld orders created, %ld duplicates, %ld rejected, %ld parked",
		    consumer_done, consumer_dup, consumer_rejected, consumer_dead);
	}
}

/* The message's id for the dead-letter queue: from the body, else from its properties. */
static void
consumer_id_of(const struct item *it, char id[SECKILL_REF_LEN + 1])
{
	const amqp_basic_properties_t *p = &it->env.message.properties;

	id[0] = '\0';
	if (it->m.message_id[0])
		snprintf(id, SECKILL_REF_LEN + 1, "%s", it->m.message_id);
	else if ((p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) &&
	    p->message_id.len == SECKILL_REF_LEN)
		snprintf(id, SECKILL_REF_LEN + 1, "%.*s", SECKILL_REF_LEN,
		    (const char *)p->message_id.bytes);
}

/*
 * Settles a message the batch left (or that could not be parsed) on its own. 0 settled (to be
 * acked with the batch), 1 handed back to the broker (rejected, requeued), -1 the broker
 * connection failed, -2 stopping with MySQL down (the caller hands the rest back).
 */
static int
consumer_alone(struct item *it)
{
	if (it->out != ORDER_POISON) {
		/* MySQL down: keep the message (no ack) and wait; it stays first in line. */
		while ((it->out = order_create(&it->m, &it->order_id, &it->why)) == ORDER_RETRY &&
		    !job_stopping) {
			log_warn("message %s: MySQL failed; retrying in a second", it->m.message_id);
			job_sleep(1000);
		}
		if (it->out == ORDER_RETRY)
			return -2;
	}
	if (it->out == ORDER_POISON) {
		char id[SECKILL_REF_LEN + 1];
		const char *body = it->env.message.body.bytes;

		consumer_id_of(it, id);
		log_err("message %.32s: parked in %s: %s", id[0] ? id : "?", MQ_DEAD_QUEUE, it->why);
		if (mq_publish_dead(body, it->env.message.body.len, id[0] ? id : "unknown",
		    it->why) != 0) {
			log_err("cannot park it now; it goes back to the queue");
			job_sleep(1000);
			return mq_reject(it->env.delivery_tag, 1) == 0 ? 1 : -1;
		}
		/* Parked: its buyer must not wait for it, nor its unit stay held. */
		while (order_park(id, it->why) < 0 && !job_stopping)
			job_sleep(1000);
	} else if (it->out == ORDER_REJECTED) {
		log_warn("message %s: no order: %s", it->m.message_id, it->why);
	}
	return 0;
}

/* The batch's orders in one transaction; MySQL down: wait for it. 0 done, -1 stopping. */
static int
consumer_create(struct item *items, int n)
{
	struct order_msg *m = xcalloc((size_t)n, sizeof *m);
	enum order_outcome *out = xcalloc((size_t)n, sizeof *out);
	long long *ids = xcalloc((size_t)n, sizeof *ids);
	int *at = xcalloc((size_t)n, sizeof *at), k = 0, rc = 0;

	for (int i = 0; i < n; i++)
		if (items[i].out != ORDER_POISON) {
			m[k] = items[i].m;
			at[k++] = i;
		}
	while (k > 0 && order_create_batch(m, k, out, ids) != 0) {
		if (job_stopping) {
			rc = -1;
			break;
		}
		/* A deadlock victim (a cancel on the same sale's row): at once; else MySQL is away. */
		if (db_last_errno() == DB_ER_LOCK_DEADLOCK || db_last_errno() == DB_ER_LOCK_WAIT_TIMEOUT)
			continue;
		log_warn("a batch of %d: MySQL failed; retrying in a second", k);
		job_sleep(1000);
	}
	for (int j = 0; rc == 0 && j < k; j++) {
		items[at[j]].out = out[j];
		items[at[j]].order_id = ids[j];
	}
	free(m);
	free(out);
	free(ids);
	free(at);
	return rc;
}

/* Publishes the payment-timeout messages of the orders made, confirms awaited together. */
static void
consumer_timeouts(struct item *items, int n)
{
	struct mq_msg *msgs = xcalloc((size_t)n, sizeof *msgs);
	char (*body)[48] = xcalloc((size_t)n, sizeof *body);
	char (*ref)[32] = xcalloc((size_t)n, sizeof *ref);
	char key[64];
	int k = 0, ok;

	snprintf(key, sizeof key, MQ_DELAY_KEY_FMT, conf.order_pay_timeout);
	for (int i = 0; i < n; i++) {
		if (items[i].out != ORDER_CREATED)
			continue;
		msgs[k].routing_key = key;
		msgs[k].len = (size_t)snprintf(body[k], sizeof body[k], "{\"order_id\":%lld}",
		    items[i].order_id);
		snprintf(ref[k], sizeof ref[k], "order-%lld", items[i].order_id);
		msgs[k].body = body[k];
		msgs[k].message_id = ref[k];
		k++;
	}
	/* After the ack: a lost timeout message is caught by the sweep. */
	if (k > 0 && (ok = mq_publish_many(msgs, k)) < k)
		log_warn("%d of %d timeout messages not sent; the sweep cancels those orders if"
		    " unpaid", k - ok, k);
	free(msgs);
	free(body);
	free(ref);
}

/*
 * Settles a batch: orders, the rest alone, one multiple ack, the timeouts. 0 done, -1 the
 * broker connection failed or a stop came with MySQL down (what is not acked comes again).
 */
static int
consumer_batch(struct item *items, int n)
{
	uint64_t last = 0;
	int rc;

	for (int i = 0; i < n; i++) {
		items[i].out = ORDER_ALONE;
		if (order_parse(items[i].env.message.body.bytes, items[i].env.message.body.len,
		    &items[i].m, &items[i].why) != 0)
			items[i].out = ORDER_POISON;
	}
	if (consumer_create(items, n) != 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (items[i].out == ORDER_ALONE || items[i].out == ORDER_POISON) {
			if ((rc = consumer_alone(&items[i])) < 0)
				return -1;
			if (rc == 1)
				continue;	/* handed back; not in the ack */
		}
		switch (items[i].out) {
		case ORDER_CREATED: consumer_done++; break;
		case ORDER_ALREADY: consumer_dup++; break;
		case ORDER_REJECTED: consumer_rejected++; break;
		case ORDER_POISON: consumer_dead++; break;
		default: break;
		}
		if (items[i].env.delivery_tag > last)
			last = items[i].env.delivery_tag;
	}
	if (last > 0 && mq_ack_upto(last) != 0)
		return -1;
	consumer_timeouts(items, n);
	consumer_report(0);
	return 0;
}

int
main(int argc, char **argv)
{
	struct item *items;
	long batch, prefetch;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: seckill-consumer (configuration from $SECKILL_CONF and "
		    "SECKILL_* variables)\n");
		return 2;
	}
	job_init("seckill-consumer");
	batch = conf.consumer_batch;
	prefetch = conf.consumer_prefetch;
	if (prefetch < 2 * batch) {
		log_warn("consumer.prefetch %ld is less than twice consumer.batch %ld: using %ld",
		    prefetch, batch, 2 * batch);
		prefetch = 2 * batch;
	}
	items = xcalloc((size_t)batch, sizeof *items);
	log_info("consuming %s (batches of up to %ld messages or %ld ms, prefetch %ld)",
	    MQ_ORDERS_QUEUE, batch, conf.consumer_batch_ms, prefetch);
	while (!job_stopping) {
		int broken = 0;

		if (mq_consume_open(MQ_ORDERS_QUEUE, (int)prefetch) != 0) {
			job_sleep(1000);
			continue;
		}
		while (!job_stopping && !broken) {
			long long until = 0;
			int n = 0, rc;

			/* The first message may take its time; the rest of the batch may not. */
			while (n < batch) {
				long wait = n == 0 ? 500 : (long)(until - clock_mono_ms());

				if (n > 0 && wait <= 0)
					break;
				rc = mq_consume_next(&items[n].env, wait);
				if (rc == 1)
					break;
				if (rc < 0) {
					broken = 1;
					break;
				}
				if (n++ == 0)
					until = clock_mono_ms() + conf.consumer_batch_ms;
			}
			if (n > 0 && !broken && consumer_batch(items, n) != 0)
				broken = 1;
			for (int i = 0; i < n; i++)
				amqp_destroy_envelope(&items[i].env);
		}
		mq_consume_close();
		if (!job_stopping)
			job_sleep(500);
	}
	free(items);
	consumer_report(1);
	log_info("leaving");
	return 0;
}
