/*
 * The outbox relay: a thread in each web worker that publishes the orders the worker's winners
 * committed to the outbox, so that a winner is answered (and the worker free for the next
 * buyer) as soon as the row is in MySQL, not after RabbitMQ's confirm too. The relay publishes
 * with a confirm and marks confirmed rows sent (in batches, its own MySQL connection); a row
 * it could not send stays pending with the attempt counted, and the retry job sends it. A
 * worker that dies with rows in its relay loses nothing either: they are pending in MySQL.
 */
#ifndef SK_RELAY_H
#define SK_RELAY_H
#include <stddef.h>

/* Starts the relay and its connections now, so that the first sale's winners do not wait for
 * them. 0, -1 (relay_submit tries again). */
int relay_start(void);
/*
 * Hands a committed outbox row to the relay (starting it on first use). 0 ok; -1 when the
 * relay cannot take it (full or not startable): the row waits for the retry job.
 */
int relay_submit(const char *ref, const char *payload, size_t len);
/* Lets the relay send what it holds (for at most amqp.timeout_ms more), then ends it. */
void relay_stop(void);

#endif
