#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "conf.h"
#include "job.h"
#include "log.h"
#include "metrics.h"

volatile int job_stopping;

static void
job_on_signal(int sig)
{
	(void)sig;
	job_stopping = 1;
}

void
job_init(const char *name)
{
	char err[1024];
	struct sigaction sa;

	log_set_name(name);
	if (conf_load_default(&conf, err, sizeof err) != 0) {
		fprintf(stderr, "%s: configuration: %s\n", name, err);
		exit(2);
	}
	log_set_level(log_level_named(conf.log_level));
	/* The pool's counters, where the pool runs: what a job repairs shows in /metrics. */
	if (access(conf.app_run_dir, W_OK) == 0)
		metrics_open(conf.app_run_dir);
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium cannot start\n", name);
		exit(1);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = job_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

void
job_sleep(long ms)
{
	while (ms > 0 && !job_stopping) {
		long step = ms > 100 ? 100 : ms;
		struct timespec ts = { 0, step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
}
