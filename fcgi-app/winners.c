#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include <mysql.h>

#include "db.h"
#include "log.h"
#include "ticker.h"
#include "winners.h"

#define WINNERS_QUEUE 256	/* winners waiting in one worker, at most */
#define WINNERS_BATCH 64	/* rows written together, at most */

static pthread_mutex_t winners_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t winners_wake = PTHREAD_COND_INITIALIZER;
static struct winner *winners_ring[WINNERS_QUEUE];
static unsigned winners_head, winners_count;
static int winners_running, winners_stopping;
static pthread_t winners_thread;

static void *
winners_main(void *arg)
{
	struct seckill_winner batch[WINNERS_BATCH];
	struct winner *taken[WINNERS_BATCH];

	(void)arg;
	/* The worker runs SCHED_BATCH (main.c); winners wait on this thread, so it takes the CPU
	 * as soon as it has some to write. */
	struct sched_param sp = { .sched_priority = 0 };
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
	mysql_thread_init();
	db_get();	/* connected before the first winner (a failure retries on use) */
	pthread_mutex_lock(&winners_lock);
	for (;;) {
		int n = 0;

		if (winners_count == 0) {
			if (winners_stopping)
				break;
			pthread_cond_wait(&winners_wake, &winners_lock);
			continue;
		}
		/* Everyone waiting, up to a batch: the rows that came while the last commit was
		 * being flushed go in the next one together. */
		while (winners_count > 0 && n < WINNERS_BATCH) {
			taken[n] = winners_ring[winners_head];
			batch[n] = taken[n]->w;
			n++;
			winners_head = (winners_head + 1) % WINNERS_QUEUE;
			winners_count--;
		}
		pthread_mutex_unlock(&winners_lock);
		seckill_record_winners(batch, n);
		for (int i = 0; i < n; i++) {
			taken[i]->w.outcome = batch[i].outcome;
			taken[i]->done(taken[i]);
		}
		pthread_mutex_lock(&winners_lock);
	}
	pthread_mutex_unlock(&winners_lock);
	mysql_thread_end();
	return NULL;
}

/* Starts the writer unless it runs; with winners_lock held. 0 running, -1. */
static int
winners_spawn(void)
{
	if (winners_running)
		return 0;
	db_library_init();
	if (ticker_spawn(&winners_thread, winners_main) != 0) {
		log_err("winners: cannot start the writer's thread");
		return -1;
	}
	winners_running = 1;
	return 0;
}

int
winners_start(void)
{
	int rc = -1;

	pthread_mutex_lock(&winners_lock);
	if (!winners_stopping)
		rc = winners_spawn();
	pthread_mutex_unlock(&winners_lock);
	return rc;
}

int
winners_submit(struct winner *w)
{
	int rc = -1;

	pthread_mutex_lock(&winners_lock);
	if (winners_stopping || winners_count == WINNERS_QUEUE || winners_spawn() != 0)
		goto out;
	winners_ring[(winners_head + winners_count) % WINNERS_QUEUE] = w;
	winners_count++;
	pthread_cond_signal(&winners_wake);
	rc = 0;
out:
	pthread_mutex_unlock(&winners_lock);
	return rc;
}

void
winners_stop(void)
{
	int running;

	pthread_mutex_lock(&winners_lock);
	winners_stopping = 1;
	running = winners_running;
	pthread_cond_signal(&winners_wake);
	pthread_mutex_unlock(&winners_lock);
	if (running)
		pthread_join(winners_thread, NULL);
	winners_running = 0;
}
