/*
 * seckill-consumer: turns order messages into orders. Manual acks with a prefetch; each
 * message is one MySQL transaction (dedup key, outbox guard, order, stock), committed before
 * the ack, so a crash between the two only means a redelivery that the dedup key absorbs.
 * A message that can never succeed goes to the dead-letter queue with its reason.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "mq.h"
#include "order.h"

static long consumer_done, consumer_dup, consumer_rejected, consumer_dead;

/* Handles one delivery; 0 settled (acked), -1 the broker connection failed. */
static int
consumer_handle(amqp_envelope_t *env)
{
	const char *body = env->message.body.bytes, *why = NULL;
	size_t len = env->message.body.len;
	struct order_msg m;
	long long order_id = 0;
	enum order_outcome out;

	if (order_parse(body, len, &m, &why) != 0) {
		out = ORDER_POISON;
	} else {
		/* MySQL down: keep the message (no ack) and wait; it stays first in line. */
		while ((out = order_create(&m, &order_id, &why)) == ORDER_RETRY && !job_stopping) {
			log_warn("message %s: MySQL failed; retrying in a second", m.message_id);
			job_sleep(1000);
		}
		if (out == ORDER_RETRY)
			return mq_reject(env->delivery_tag, 1);
	}
	if (out == ORDER_POISON) {
		char id[SECKILL_REF_LEN + 1] = "";
		/* The message's id: from the body, else from its properties. */
		if (m.message_id[0])
			snprintf(id, sizeof id, "%s", m.message_id);
		else if ((env->message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) &&
		    env->message.properties.message_id.len == SECKILL_REF_LEN)
			snprintf(id, sizeof id, "%.*s", SECKILL_REF_LEN,
			    (const char *)env->message.properties.message_id.bytes);
		log_err("message %.32s: parked in %s: %s", id[0] ? id : "?", MQ_DEAD_QUEUE, why);
		if (mq_publish_dead(body, len, id[0] ? id : "unknown", why) != 0) {
			log_err("cannot park it now; it goes back to the queue");
			job_sleep(1000);
			return mq_reject(env->delivery_tag, 1);
		}
		/* Parked: its buyer must not wait for it, nor its unit stay held. */
		while (order_park(id, why) < 0 && !job_stopping)
			job_sleep(1000);
		consumer_dead++;
	} else if (out == ORDER_ALREADY) {
		consumer_dup++;
	} else if (out == ORDER_REJECTED) {
		log_warn("message %s: no order: %s", m.message_id, why);
		consumer_rejected++;
	}
	if (mq_ack(env->delivery_tag) != 0)
		return -1;
	if (out == ORDER_CREATED) {
		consumer_done++;
		/* After the ack: a lost timeout message is caught by the sweep. */
		if (order_schedule_timeout(order_id) != 0)
			log_warn("order %lld: timeout message not sent; the sweep will cancel it if unpaid",
			    order_id);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	long long last_report = 0;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: seckill-consumer (configuration from $SECKILL_CONF and "
		    "SECKILL_* variables)\n");
		return 2;
	}
	job_init("seckill-consumer");
	log_info("consuming %s (prefetch %ld)", MQ_ORDERS_QUEUE, conf.consumer_prefetch);
	while (!job_stopping) {
		amqp_envelope_t env;
		int rc;

		if (mq_consume_open(MQ_ORDERS_QUEUE, (int)conf.consumer_prefetch) != 0) {
			job_sleep(1000);
			continue;
		}
		while (!job_stopping) {
			rc = mq_consume_next(&env, 500);
			if (rc == 1)
				continue;
			if (rc < 0)
				break;
			rc = consumer_handle(&env);
			amqp_destroy_envelope(&env);
			if (rc < 0)
				break;
			if (consumer_done + consumer_dup + consumer_rejected + consumer_dead >=
			    last_report + 1000) {
				last_report = consumer_done + consumer_dup + consumer_rejected +
				    consumer_dead;
				log_info("%ld orders created, %ld duplicates, %ld rejected, %ld parked",
				    consumer_done, consumer_dup, consumer_rejected, consumer_dead);
			}
		}
		mq_consume_close();
		if (!job_stopping)
			job_sleep(500);
	}
	log_info("leaving: %ld orders created, %ld duplicates, %ld rejected, %ld parked",
	    consumer_done, consumer_dup, consumer_rejected, consumer_dead);
	return 0;
}
