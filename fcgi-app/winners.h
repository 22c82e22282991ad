/*
 * The winners' writer: a thread in each web worker that writes the outbox rows of the units the
 * worker's buyers won, everything waiting in one INSERT and one commit (one flush of MySQL's
 * log for the lot), then answers those buyers. Meanwhile the worker goes on serving the rush,
 * so the losers never queue behind a winner's disk write. A worker that dies with winners here
 * loses no order: their units are held in Redis with no row, which the healer gives back after
 * heal.grace, and their buyers' connections break (no answer is ever a false one).
 */
#ifndef SK_WINNERS_H
#define SK_WINNERS_H
#include "seckill.h"

struct winner {
	struct seckill_winner w;
	void (*done)(struct winner *self);	/* in the writer's thread, once w.outcome is set */
	void *arg;				/* the caller's */
};

/* Starts the writer and its MySQL connection now, so that the first sale's winners do not
 * wait for them. 0, -1 (winners_submit tries again). */
int winners_start(void);
/* Hands w to the writer (starting it on first use). 0 taken: done(w) follows; -1 when the
 * writer cannot take it (full, stopping, or no thread): the caller records it itself. */
int winners_submit(struct winner *w);
/* Records and answers every winner still waiting, then ends the writer. */
void winners_stop(void);

#endif
