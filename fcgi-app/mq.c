#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <amqp_tcp_socket.h>

#include "clock.h"
#include "conf.h"
#include "log.h"
#include "mq.h"
#include "xmem.h"

/* Per thread: a web worker's outbox relay has a connection of its own. */
static _Thread_local amqp_connection_state_t mq_conn;
static _Thread_local long long mq_retry_at;
static _Thread_local uint64_t mq_next_tag;	/* delivery tag of the next publish (confirm mode) */

const char *
mq_reply_text(amqp_rpc_reply_t r, char *out, size_t outlen)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		snprintf(out, outlen, "ok");
		break;
	case AMQP_RESPONSE_NONE:
		snprintf(out, outlen, "no reply");
		break;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		snprintf(out, outlen, "%s", amqp_error_string2(r.library_error));
		break;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = r.reply.decoded;
			snprintf(out, outlen, "connection closed: %u %.*s", m->reply_code,
			    (int)m->reply_text.len, (const char *)m->reply_text.bytes);
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *m = r.reply.decoded;
			snprintf(out, outlen, "channel closed: %u %.*s", m->reply_code,
			    (int)m->reply_text.len, (const char *)m->reply_text.bytes);
		} else {
			snprintf(out, outlen, "server error, method 0x%08x", r.reply.id);
		}
		break;
	}
	return out;
}

static struct timeval
mq_tv(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

static void
mq_fail(amqp_connection_state_t c, const char *what, amqp_rpc_reply_t r)
{
	char why[256];
	log_err("amqp %s:%ld: %s: %s", conf.amqp_host, conf.amqp_port, what,
	    mq_reply_text(r, why, sizeof why));
	amqp_destroy_connection(c);
	mq_retry_at = clock_mono_ms() + conf.backend_retry_ms;
}

/* Declares the topology and turns on publisher confirms; -1 (connection destroyed) on error. */
static int
mq_declare(amqp_connection_state_t c)
{
	amqp_bytes_t ex = amqp_cstring_bytes(MQ_EXCHANGE);
	static const char *const queues[][2] = {
		{ MQ_ORDERS_QUEUE, MQ_ORDERS_KEY },
		{ MQ_DEAD_QUEUE, MQ_DEAD_KEY },
		{ MQ_TIMEOUT_QUEUE, MQ_TIMEOUT_KEY },
	};
	amqp_rpc_reply_t r;

	amqp_exchange_declare(c, 1, ex, amqp_cstring_bytes("direct"), 0, 1, 0, 0, amqp_empty_table);
	if ((r = amqp_get_rpc_reply(c)).reply_type != AMQP_RESPONSE_NORMAL)
		goto fail;
	for (size_t i = 0; i < sizeof queues / sizeof queues[0]; i++) {
		amqp_queue_declare(c, 1, amqp_cstring_bytes(queues[i][0]), 0, 1, 0, 0,
		    amqp_empty_table);
		if ((r = amqp_get_rpc_reply(c)).reply_type != AMQP_RESPONSE_NORMAL)
			goto fail;
		amqp_queue_bind(c, 1, amqp_cstring_bytes(queues[i][0]), ex,
		    amqp_cstring_bytes(queues[i][1]), amqp_empty_table);
		if ((r = amqp_get_rpc_reply(c)).reply_type != AMQP_RESPONSE_NORMAL)
			goto fail;
	}
	/* The delay queue of the configured payment timeout (a new timeout: a new queue). */
	{
		char dq[64], dk[64];
		amqp_table_entry_t e[3];
		amqp_table_t args = { 3, e };
		snprintf(dq, sizeof dq, MQ_DELAY_QUEUE_FMT, conf.order_pay_timeout);
		snprintf(dk, sizeof dk, MQ_DELAY_KEY_FMT, conf.order_pay_timeout);
		e[0].key = amqp_cstring_bytes("x-message-ttl");
		e[0].value.kind = AMQP_FIELD_KIND_I64;
		e[0].value.value.i64 = (int64_t)conf.order_pay_timeout * 1000;
		e[1].key = amqp_cstring_bytes("x-dead-letter-exchange");
		e[1].value.kind = AMQP_FIELD_KIND_UTF8;
		e[1].value.value.bytes = amqp_cstring_bytes(MQ_EXCHANGE);
		e[2].key = amqp_cstring_bytes("x-dead-letter-routing-key");
		e[2].value.kind = AMQP_FIELD_KIND_UTF8;
		e[2].value.value.bytes = amqp_cstring_bytes(MQ_TIMEOUT_KEY);
		amqp_queue_declare(c, 1, amqp_cstring_bytes(dq), 0, 1, 0, 0, args);
		if ((r = amqp_get_rpc_reply(c)).reply_type != AMQP_RESPONSE_NORMAL)
			goto fail;
		amqp_queue_bind(c, 1, amqp_cstring_bytes(dq), ex, amqp_cstring_bytes(dk),
		    amqp_empty_table);
		if ((r = amqp_get_rpc_reply(c)).reply_type != AMQP_RESPONSE_NORMAL)
			goto fail;
	}
	amqp_confirm_select(c, 1);
	if ((r = amqp_get_rpc_reply(c)).reply_type != AMQP_RESPONSE_NORMAL)
		goto fail;
	return 0;
fail:
	mq_fail(c, "declare", r);
	return -1;
}

/* A new logged-in connection with channel 1 open, or NULL (logged, retry_at set). */
static amqp_connection_state_t
mq_connect(void)
{
	amqp_connection_state_t c;
	amqp_socket_t *sock;
	struct timeval tv;
	amqp_rpc_reply_t r;
	int fd, st;

	if (clock_mono_ms() < mq_retry_at)
		return NULL;
	c = amqp_new_connection();
	if ((sock = amqp_tcp_socket_new(c)) == NULL) {
		amqp_destroy_connection(c);
		return NULL;
	}
	tv = mq_tv(conf.amqp_connect_timeout_ms);
	if ((st = amqp_socket_open_noblock(sock, conf.amqp_host, (int)conf.amqp_port, &tv)) != 0) {
		log_err("amqp %s:%ld: connect: %s", conf.amqp_host, conf.amqp_port,
		    amqp_error_string2(st));
		amqp_destroy_connection(c);
		mq_retry_at = clock_mono_ms() + conf.backend_retry_ms;
		return NULL;
	}
	tv = mq_tv(conf.amqp_timeout_ms);
	amqp_set_handshake_timeout(c, &tv);
	amqp_set_rpc_timeout(c, &tv);
	/* Writes (publishes) must not block for ever on a stopped broker either. */
	if ((fd = amqp_socket_get_sockfd(sock)) >= 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	r = amqp_login(c, conf.amqp_vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, conf.amqp_user,
	    conf.amqp_password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		mq_fail(c, "login", r);
		return NULL;
	}
	amqp_channel_open(c, 1);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		mq_fail(c, "channel open", r);
		return NULL;
	}
	return c;
}

amqp_connection_state_t
mq_get(void)
{
	amqp_connection_state_t c;

	if (mq_conn != NULL)
		return mq_conn;
	if ((c = mq_connect()) == NULL || mq_declare(c) != 0)
		return NULL;
	mq_conn = c;
	mq_next_tag = 1;
	return c;
}

void
mq_drop(void)
{
	if (mq_conn == NULL)
		return;
	log_warn("amqp: dropping the connection");
	/* No polite close: the peer may be gone, and close would wait for its answer. */
	amqp_destroy_connection(mq_conn);
	mq_conn = NULL;
}

static long long
mq_left_ms(long long deadline)
{
	long long left = deadline - clock_mono_ms();
	return left > 0 ? left : 0;
}

/*
 * Publishes the messages one after another, then waits once for all their confirms (the
 * broker confirms in order, often many at once): up to n outstanding at a time instead of one.
 * A basic.return names its message by id (mandatory and unroutable): that one is not sent.
 * 0 when every publish reached the wire, -2 when the connection broke (the rest not sent).
 */
static int
mq_publish_many_once(struct mq_msg *msgs, int n)
{
	amqp_connection_state_t c = mq_get();
	amqp_basic_properties_t props;
	uint64_t first = mq_next_tag, last;
	long long deadline;
	int open = 0, sent = 0;

	for (int i = 0; i < n; i++)
		msgs[i].ok = -1;	/* not resolved */
	if (c == NULL) {
		for (int i = 0; i < n; i++)
			msgs[i].ok = 0;
		return 0;
	}
	memset(&props, 0, sizeof props);
	props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
	    AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
	props.content_type = amqp_cstring_bytes("application/json");
	props.delivery_mode = 2;	/* persistent */
	props.timestamp = (uint64_t)(clock_wall_ms() / 1000);
	for (; sent < n; sent++) {
		amqp_bytes_t content = { msgs[sent].len, (void *)msgs[sent].body };
		amqp_table_entry_t hdr;

		props.message_id = amqp_cstring_bytes(msgs[sent].message_id);
		props._flags &= ~AMQP_BASIC_HEADERS_FLAG;
		if (msgs[sent].reason != NULL) {
			hdr.key = amqp_cstring_bytes("reason");
			hdr.value.kind = AMQP_FIELD_KIND_UTF8;
			hdr.value.value.bytes = amqp_cstring_bytes(msgs[sent].reason);
			props.headers.num_entries = 1;
			props.headers.entries = &hdr;
			props._flags |= AMQP_BASIC_HEADERS_FLAG;
		}
		if (amqp_basic_publish(c, 1, amqp_cstring_bytes(MQ_EXCHANGE),
		    amqp_cstring_bytes(msgs[sent].routing_key), 1, 0, &props, content) !=
		    AMQP_STATUS_OK) {
			log_warn("amqp: publish %s failed", msgs[sent].message_id);
			mq_drop();
			for (int i = 0; i < n; i++)
				msgs[i].ok = 0;
			return -2;
		}
		mq_next_tag++;
		open++;
	}
	last = mq_next_tag - 1;
	deadline = clock_mono_ms() + conf.amqp_timeout_ms;
	while (open > 0) {
		amqp_frame_t f;
		long long left = mq_left_ms(deadline);
		struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000 };
		uint64_t tag = 0, lo;
		int multiple = 0, acked = 0, st;

		amqp_maybe_release_buffers(c);
		st = amqp_simple_wait_frame_noblock(c, &f, &tv);
		if (st != AMQP_STATUS_OK) {
			log_warn("amqp: %d confirms of %d (first %s) %s", open, n, msgs[0].message_id,
			    st == AMQP_STATUS_TIMEOUT ? "did not come in time" : amqp_error_string2(st));
			/* Later confirms would be matched to the wrong tags: start afresh. A broken
			 * connection is tried once more; a broker that did not answer in time is not. */
			mq_drop();
			if (st != AMQP_STATUS_TIMEOUT)
				open = -1;
			break;
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (f.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			amqp_basic_ack_t *a = f.payload.method.decoded;
			tag = a->delivery_tag, multiple = a->multiple, acked = 1;
			break;
		}
		case AMQP_BASIC_NACK_METHOD: {
			amqp_basic_nack_t *k = f.payload.method.decoded;
			tag = k->delivery_tag, multiple = k->multiple;
			log_err("amqp: broker refused a publish (nack)");
			break;
		}
		case AMQP_BASIC_RETURN_METHOD: {
			/* Mandatory and unroutable: the content follows, with its message id. */
			amqp_message_t m;
			if (amqp_read_message(c, f.channel, &m, 0).reply_type != AMQP_RESPONSE_NORMAL)
				break;
			for (int i = 0; i < n; i++)
				if (msgs[i].ok == -1 && m.properties.message_id.len ==
				    strlen(msgs[i].message_id) && memcmp(m.properties.message_id.bytes,
				    msgs[i].message_id, m.properties.message_id.len) == 0) {
					log_err("amqp: %s was unroutable (returned)", msgs[i].message_id);
					msgs[i].ok = -2;	/* its ack that follows does not count */
				}
			amqp_destroy_message(&m);
			continue;
		}
		case AMQP_CHANNEL_CLOSE_METHOD:
		case AMQP_CONNECTION_CLOSE_METHOD:
			log_warn("amqp: the broker closed the channel while publishing");
			mq_drop();
			open = -1;
			continue;
		default:
			continue;
		}
		if (tag < first || (!multiple && tag > last))
			continue;	/* an older publish's */
		lo = multiple ? first : tag;
		if (tag > last)
			tag = last;
		for (uint64_t t = lo; t <= tag; t++) {
			struct mq_msg *m = &msgs[t - first];
			if (m->ok == -1 || m->ok == -2) {
				m->ok = acked && m->ok == -1 ? 1 : 0;
				open--;
			}
		}
	}
	for (int i = 0; i < n; i++)
		if (msgs[i].ok < 0)
			msgs[i].ok = 0;
	return open < 0 ? -2 : 0;
}

int
mq_publish_many(struct mq_msg *msgs, int n)
{
	int done = 0;

	if (mq_publish_many_once(msgs, n) == -2) {
		/* A connection that died while idle (broker restarted, connections closed) shows
		 * only now: on a new one, once more what was not confirmed (a second copy is
		 * harmless: consumers dedup). */
		struct mq_msg *again = xcalloc((size_t)n, sizeof *again);
		int k = 0;

		for (int i = 0; i < n; i++)
			if (!msgs[i].ok)
				again[k++] = msgs[i];
		mq_publish_many_once(again, k);
		for (int i = 0, j = 0; i < n && j < k; i++)
			if (!msgs[i].ok)
				msgs[i].ok = again[j++].ok;
		free(again);
	}
	for (int i = 0; i < n; i++)
		done += msgs[i].ok;
	return done;
}

static int
mq_publish_with(const char *routing_key, const char *body, size_t len, const char *message_id,
    const char *reason)
{
	struct mq_msg m = { .routing_key = routing_key, .body = body, .message_id = message_id,
	    .reason = reason, .len = len };

	return mq_publish_many(&m, 1) == 1 ? 0 : -1;
}

int
mq_publish(const char *routing_key, const char *body, size_t len, const char *message_id)
{
	return mq_publish_with(routing_key, body, len, message_id, NULL);
}

int
mq_publish_dead(const char *body, size_t len, const char *message_id, const char *reason)
{
	return mq_publish_with(MQ_DEAD_KEY, body, len, message_id, reason);
}

/* ---- consuming ------------------------------------------------------------------------------ */

static _Thread_local amqp_connection_state_t mq_cconn;

int
mq_consume_open(const char *queue, int prefetch)
{
	amqp_connection_state_t c;
	amqp_rpc_reply_t r;
	char why[256];

	mq_consume_close();
	/* The topology first (on the publishing connection), so the queue surely exists. */
	if (mq_get() == NULL || (c = mq_connect()) == NULL)
		return -1;
	amqp_basic_qos(c, 1, 0, (uint16_t)prefetch, 0);
	if ((r = amqp_get_rpc_reply(c)).reply_type == AMQP_RESPONSE_NORMAL) {
		amqp_basic_consume(c, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0,
		    amqp_empty_table);
		r = amqp_get_rpc_reply(c);
	}
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		log_err("amqp: consume %s: %s", queue, mq_reply_text(r, why, sizeof why));
		amqp_destroy_connection(c);
		mq_retry_at = clock_mono_ms() + conf.backend_retry_ms;
		return -1;
	}
	mq_cconn = c;
	return 0;
}

void
mq_consume_close(void)
{
	if (mq_cconn != NULL) {
		amqp_destroy_connection(mq_cconn);
		mq_cconn = NULL;
	}
}

int
mq_consume_next(amqp_envelope_t *env, long timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	amqp_rpc_reply_t r;

	if (mq_cconn == NULL)
		return -1;
	amqp_maybe_release_buffers(mq_cconn);
	r = amqp_consume_message(mq_cconn, env, &tv, 0);
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return 0;
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    r.library_error == AMQP_STATUS_TIMEOUT)
		return 1;
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
		/* A frame that is not a delivery (a cancel, a close): read it to see which. */
		amqp_frame_t f;
		if (amqp_simple_wait_frame_noblock(mq_cconn, &f, &tv) == AMQP_STATUS_OK &&
		    f.frame_type == AMQP_FRAME_METHOD &&
		    f.payload.method.id != AMQP_CHANNEL_CLOSE_METHOD &&
		    f.payload.method.id != AMQP_CONNECTION_CLOSE_METHOD &&
		    f.payload.method.id != AMQP_BASIC_CANCEL_METHOD)
			return 1;
	}
	{
		char why[256];
		log_warn("amqp: consuming: %s", mq_reply_text(r, why, sizeof why));
	}
	mq_consume_close();
	return -1;
}

int
mq_ack(uint64_t tag)
{
	if (mq_cconn == NULL || amqp_basic_ack(mq_cconn, 1, tag, 0) != AMQP_STATUS_OK) {
		mq_consume_close();
		return -1;
	}
	return 0;
}

int
mq_ack_upto(uint64_t tag)
{
	if (mq_cconn == NULL || amqp_basic_ack(mq_cconn, 1, tag, 1) != AMQP_STATUS_OK) {
		mq_consume_close();
		return -1;
	}
	return 0;
}

int
mq_reject(uint64_t tag, int requeue)
{
	if (mq_cconn == NULL || amqp_basic_reject(mq_cconn, 1, tag, requeue) != AMQP_STATUS_OK) {
		mq_consume_close();
		return -1;
	}
	return 0;
}

int
mq_ping(void)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int reused = mq_conn != NULL;	/* opened before: it may have died idle */
		amqp_connection_state_t c = mq_get();
		amqp_rpc_reply_t r;
		char why[256];

		if (c == NULL)
			return -1;
		/* A passive declare of a built-in exchange: one round trip, changes nothing. */
		amqp_exchange_declare(c, 1, amqp_cstring_bytes("amq.direct"),
		    amqp_cstring_bytes("direct"), 1, 0, 0, 0, amqp_empty_table);
		r = amqp_get_rpc_reply(c);
		if (r.reply_type == AMQP_RESPONSE_NORMAL)
			return 0;
		mq_drop();
		/* A connection that died while idle (broker restarted) shows only now: once more
		 * on a new one, which tells whether the broker itself is down (not after a
		 * timeout: a hung broker would only make the answer wait twice as long). */
		if (!reused || (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_TIMEOUT)) {
			log_err("amqp: ping: %s", mq_reply_text(r, why, sizeof why));
			return -1;
		}
	}
	return -1;
}
