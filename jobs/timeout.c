/*
 * seckill-timeout: cancels unpaid orders. It consumes the timeout queue (fed by a TTL queue
 * that dead-letters after order.pay_timeout) and cancels each order with a compare-and-set
 * on its status; only a real change gives the unit back (MySQL in the same transaction, Redis
 * after, idempotently). Every order.sweep_interval it also sweeps for orders whose message
 * was lost. `--sweep` runs one sweep and exits (for cron).
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "clock.h"
#include "conf.h"
#include "job.h"
#include "log.h"
#include "mq.h"
#include "order.h"

/* One timeout message: 0 settled, -1 the broker connection failed. */
static int
timeout_handle(amqp_envelope_t *env)
{
	struct json_object *o = NULL, *v;
	char body[256];
	long long id = 0;
	enum order_cancel c;

	/* The body is not NUL-terminated: copy it (a timeout message is tiny). */
	if (env->message.body.len < sizeof body) {
		memcpy(body, env->message.body.bytes, env->message.body.len);
		body[env->message.body.len] = '\0';
		o = json_tokener_parse(body);
	}
	if (o != NULL && json_object_object_get_ex(o, "order_id", &v))
		id = json_object_get_int64(v);
	if (o != NULL)
		json_object_put(o);
	if (id <= 0) {
		log_err("timeout message without an order id: dropped");
		return mq_ack(env->delivery_tag);
	}
	while ((c = order_cancel(id, "timeout")) == CANCEL_RETRY && !job_stopping)
		job_sleep(1000);
	if (c == CANCEL_RETRY)
		return mq_reject(env->delivery_tag, 1);
	if (c == CANCEL_NOT_DUE)
		log_warn("order %lld: timeout message came before the deadline; the sweep will see to it", id);
	return mq_ack(env->delivery_tag);
}

static void
timeout_sweep(void)
{
	int n = order_sweep();

	if (n > 0)
		log_info("sweep: %d overdue orders cancelled", n);
	else if (n < 0)
		log_warn("sweep: MySQL failed; next time");
}

int
main(int argc, char **argv)
{
	int sweep_only = argc == 2 && strcmp(argv[1], "--sweep") == 0;
	long long next_sweep = 0;

	if (argc > 1 && !sweep_only) {
		fprintf(stderr, "usage: seckill-timeout [--sweep]\n");
		return 2;
	}
	job_init("seckill-timeout");
	if (sweep_only)
		return order_sweep() < 0 ? 1 : 0;
	log_info("cancelling unpaid orders after %lds; sweeping every %lds", conf.order_pay_timeout,
	    conf.order_sweep_interval);
	while (!job_stopping) {
		amqp_envelope_t env;
		int rc;

		if (mq_consume_open(MQ_TIMEOUT_QUEUE, 20) != 0) {
			job_sleep(1000);
			continue;
		}
		while (!job_stopping) {
			if (clock_mono_ms() >= next_sweep) {
				timeout_sweep();
				next_sweep = clock_mono_ms() + conf.order_sweep_interval * 1000;
			}
			rc = mq_consume_next(&env, 500);
			if (rc == 1)
				continue;
			if (rc < 0)
				break;
			rc = timeout_handle(&env);
			amqp_destroy_envelope(&env);
			if (rc < 0)
				break;
		}
		mq_consume_close();
		if (!job_stopping)
			job_sleep(500);
	}
	return 0;
}
