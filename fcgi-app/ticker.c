#include <pthread.h>
#include <signal.h>

#include "clock.h"
#include "log.h"
#include "ticker.h"

#define TICKER_TASKS 8

static void (*ticker_tasks[TICKER_TASKS])(void);
static int ticker_n, ticker_started;
static pthread_mutex_t ticker_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
ticker_main(void *arg)
{
	(void)arg;
	for (;;) {
		int n;

		pthread_mutex_lock(&ticker_lock);
		n = ticker_n;
		pthread_mutex_unlock(&ticker_lock);
		for (int i = 0; i < n; i++)
			ticker_tasks[i]();
		clock_sleep_ms(TICKER_MS);
	}
	return NULL;
}

int
ticker_spawn(pthread_t *th, void *(*fn)(void *))
{
	sigset_t all, old;
	int rc;

	/* Signals are the main thread's (SIGTERM must interrupt its accept). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(th, NULL, fn, NULL) == 0 ? 0 : -1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int
ticker_add(void (*task)(void))
{
	pthread_t th;
	int rc = 0;

	pthread_mutex_lock(&ticker_lock);
	if (ticker_n == TICKER_TASKS) {
		pthread_mutex_unlock(&ticker_lock);
		return -1;
	}
	ticker_tasks[ticker_n++] = task;
	if (!ticker_started) {
		if (ticker_spawn(&th, ticker_main) == 0) {
			pthread_detach(th);
			ticker_started = 1;
		} else {
			log_err("ticker: cannot start the background thread");
			rc = -1;
		}
	}
	pthread_mutex_unlock(&ticker_lock);
	return rc;
}
