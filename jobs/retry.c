/*
 * seckill-retry: the outbox's send-compensation job. Every outbox.retry_interval seconds it
 * re-sends pending rows older than outbox.grace (send_count + 1 each time) and gives up a
 * row at outbox.max_send: failed, unit back to stock, the buyer's result `failed`. Rows are
 * taken with SKIP LOCKED, so several copies may run at once.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "job.h"
#include "log.h"
#include "order.h"

int
main(int argc, char **argv)
{
	int once = argc == 2 && strcmp(argv[1], "--once") == 0;

	if (argc > 1 && !once) {
		fprintf(stderr, "usage: seckill-retry [--once]\n");
		return 2;
	}
	job_init("seckill-retry");
	log_info("re-sending pending outbox rows every %lds (grace %lds, max %ld sends)",
	    conf.outbox_retry_interval, conf.outbox_grace, conf.outbox_max_send);
	while (!job_stopping) {
		int n = outbox_retry_pass();
		if (n > 0)
			log_info("outbox: %d rows handled", n);
		if (once)
			return n < 0 ? 1 : 0;
		/* A full batch: there may be more due at once. */
		if (n < 100)
			job_sleep(n < 0 ? 1000 : conf.outbox_retry_interval * 1000);
	}
	return 0;
}
