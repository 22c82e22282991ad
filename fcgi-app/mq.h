/*
 * The process's RabbitMQ connection (rabbitmq-c), channel 1: opened on first use after the fork,
 * with connect, handshake and RPC timeouts; dropped on any error and re-opened later (not more
 * often than backend.retry_ms).
 */
#ifndef SK_MQ_H
#define SK_MQ_H

#include <stdint.h>

#include <amqp.h>

/* The open connection (channel 1 ready), or NULL when the broker cannot be reached now. */
amqp_connection_state_t mq_get(void);
void mq_drop(void);
/* 0 when the broker answers an RPC on the channel. */
int mq_ping(void);
/* The exchange and queues every program declares alike (durable). */
#define MQ_EXCHANGE "seckill"
#define MQ_ORDERS_QUEUE "seckill.orders"
#define MQ_ORDERS_KEY "order.create"
#define MQ_DEAD_QUEUE "seckill.dead"
#define MQ_DEAD_KEY "order.dead"
/* Payment timeouts: a per-delay TTL queue (no consumer) dead-letters into the timeout queue. */
#define MQ_DELAY_KEY_FMT "order.delay.%lds"
#define MQ_DELAY_QUEUE_FMT "seckill.delay.%lds"
#define MQ_TIMEOUT_QUEUE "seckill.timeout"
#define MQ_TIMEOUT_KEY "order.timeout"

/*
 * Publishes body (persistent, mandatory) and waits up to amqp.timeout_ms for the broker's
 * confirm. 0 when the broker acked it into a queue; -1 when it nacked, returned it
 * (unroutable), timed out or the connection failed: then the message may or may not be queued,
 * and the sender must treat it as not sent (the consumer dedups a second copy).
 */
int mq_publish(const char *routing_key, const char *body, size_t len, const char *message_id);
/* Publishes with headers {reason: text} (for the dead-letter queue); as mq_publish. */
int mq_publish_dead(const char *body, size_t len, const char *message_id, const char *reason);

/* One message of a batch publish; ok is set to 1 when the broker confirmed it into a queue.
 * reason, when not NULL, goes in the header {reason: text} (as mq_publish_dead). */
struct mq_msg {
	const char *routing_key, *body, *message_id, *reason;
	size_t len;
	int ok;
};
/*
 * Publishes n messages (as mq_publish each) with all their confirms outstanding at once, then
 * waits up to amqp.timeout_ms for them: a window of n instead of one round trip per message.
 * Returns how many were confirmed; each message's ok says which.
 */
int mq_publish_many(struct mq_msg *msgs, int n);

/*
 * Consuming, on a connection of its own (publishes stay on the other one): opens it, sets the
 * prefetch and subscribes to queue with manual acks. 0 ok, -1 (logged).
 */
int mq_consume_open(const char *queue, int prefetch);
void mq_consume_close(void);
/*
 * Waits up to timeout_ms for the next delivery: 0 with *env filled (destroy it with
 * amqp_destroy_envelope), 1 nothing came, -1 the connection failed (closed; open it again).
 */
int mq_consume_next(amqp_envelope_t *env, long timeout_ms);
/* Acknowledges, or rejects (requeue 1: deliver again later). 0 ok, -1 connection failed. */
int mq_ack(uint64_t tag);
/* Acknowledges every delivery up to tag that is not settled yet (one multiple ack). */
int mq_ack_upto(uint64_t tag);
int mq_reject(uint64_t tag, int requeue);

/* Describes an RPC reply for the log; "ok" on success. */
const char *mq_reply_text(amqp_rpc_reply_t r, char *out, size_t outlen);

#endif
