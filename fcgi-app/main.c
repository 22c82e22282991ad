/*
 * seckill-fcgi: one FastCGI worker. Reads the configuration and the templates (a mistake in
 * either stops the start), then answers requests one at a time until SIGTERM or SIGINT, which
 * let the current request finish; a winner's answer is written by the winners' writer once its
 * outbox row is committed (winners.h), and those still waiting are answered before it leaves.
 */
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "app.h"
#include "arena.h"
#include "conf.h"
#include "health.h"
#include "later.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "req.h"
#include "resp.h"
#include "seckill.h"
#include "session.h"
#include "winners.h"

static volatile sig_atomic_t main_stop;

static void
main_on_signal(int sig)
{
	(void)sig;
	main_stop = 1;
	FCGX_ShutdownPending();
}

static int
main_read_body(void *ctx, char *buf, int n)
{
	return FCGX_GetStr(buf, n, ctx);
}

static void
main_usage(FILE *out)
{
	fprintf(out,
	    "usage: seckill-fcgi [-c FILE] [--check-config | --dump-config]\n"
	    "  A FastCGI worker: run it under spawn-fcgi/multiwatch or lighttpd's mod_fastcgi.\n"
	    "  -c FILE         configuration file (default: $SECKILL_CONF, else the installed one)\n"
	    "  --check-config  load configuration and templates, report, exit\n"
	    "  --dump-config   print the effective configuration (section.key = value), exit\n"
	    "  Every key can be overridden by SECKILL_<SECTION>_<KEY> in the environment.\n");
}

int
main(int argc, char **argv)
{
	char err[1024];
	const char *path = NULL;
	int check = 0, dump = 0, rc;
	struct sigaction sa;
	FCGX_Request *fr;
	struct arena arena;
	struct resp resp;
	struct buf out;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--check-config") == 0) {
			check = 1;
		} else if (strcmp(argv[i], "--dump-config") == 0) {
			dump = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			main_usage(stdout);
			return 0;
		} else {
			main_usage(stderr);
			return 2;
		}
	}
	log_set_name("seckill-fcgi");
	rc = path ? conf_load(&conf, path, err, sizeof err) : conf_load_default(&conf, err,
	    sizeof err);
	if (rc != 0) {
		fprintf(stderr, "seckill-fcgi: configuration: %s\n", err);
		return 2;
	}
	if (dump) {
		conf_dump(&conf, stdout);
		return 0;
	}
	log_set_level(log_level_named(conf.log_level));
	if (app_init(err, sizeof err) != 0) {
		fprintf(stderr, "seckill-fcgi: %s\n", err);
		return 2;
	}
	if (check) {
		printf("seckill-fcgi: configuration and templates are valid\n");
		app_free();
		conf_free(&conf);
		return 0;
	}

	/* No SA_RESTART: a worker blocked in accept must wake up and leave. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = main_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (FCGX_Init() != 0 || (fr = later_request()) == NULL) {
		fprintf(stderr, "seckill-fcgi: cannot initialise FastCGI\n");
		return 1;
	}
	/* A worker is CPU-bound on the hot path (sold-out and duplicate answers touch no server),
	 * so it does not preempt nginx each time a request wakes it: nginx gets to read the answer
	 * and hand over the next request in one go. Set before any thread starts: they inherit it.
	 * Measured with the pool's 4 workers on 2 cores: the rush's req/s 1.4x what it was. */
	struct sched_param sp = { .sched_priority = 0 };
	if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0)
		log_warn("no batch scheduling for this worker: %s", strerror(errno));
	/* Freed memory goes back once 256 KiB of it sit at the top of the heap: a request's own
	 * churn stays below that, and a moment's peak (a large reply) does not stay resident. */
	mallopt(M_TRIM_THRESHOLD, 256 << 10);
	metrics_open(conf.app_run_dir);
	session_pool_open(conf.app_run_dir);
	seckill_activity_background();
	winners_start();
	relay_start();
	health_open(conf.app_run_dir);
	arena_init(&arena, 32768);
	resp_init(&resp);
	buf_init(&out);
	log_info("worker ready");
	while (!main_stop && FCGX_Accept_r(fr) >= 0) {
		struct req req;
		int st = req_parse(&req, &arena, fr->envp, main_read_body, fr->in,
		    (size_t)conf.http_max_body);

		app_handle(&req, &resp, st);
		if (resp.later != NULL) {
			/* Answered by another thread; this one goes on with a fresh request. */
			FCGX_Request *next = later_request();

			resp.later(resp.later_arg, later_hold(fr, req.route, req.started_us));
			if ((fr = next) == NULL)
				break;
		} else {
			resp_serialize(&resp, &out);
			if (FCGX_PutStr(out.data, (int)out.len, fr->out) < 0)
				log_warn("client went away before the answer was written");
			later_finish(fr, st == 0);	/* req_parse reads the whole body or fails */
		}
		resp_reset(&resp);
		arena_reset(&arena);
	}
	winners_stop();
	relay_stop();
	log_info("worker leaving");
	if (fr != NULL) {
		FCGX_Free(fr, 1);
		free(fr);
	}
	buf_free(&out);
	resp_free(&resp);
	arena_free(&arena);
	app_free();
	conf_free(&conf);
	return 0;
}
