/*
 * seckill-heal: keeps Redis and MySQL in agreement. Every heal.interval seconds it takes each
 * current sale (not ended, or ended within the last day) through heal_sale with repair on:
 * units held with no order row past heal.grace go back, holders of ended orders are released,
 * a quiet sale's Redis copy is set to MySQL's, a Redis that came back empty or behind is
 * rebuilt. Safe to run beside the buyers and beside another copy of itself: every repair is a
 * compare-and-set. `--once` makes one pass and exits (for cron).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "heal.h"
#include "job.h"
#include "log.h"

/* One pass over the current sales: the number of repairs, -1 when a backend failed. */
static int
heal_pass(void)
{
	long long *ids;
	int n, repairs = 0, failed = 0;

	if ((n = heal_sales(0, &ids)) < 0)
		return -1;
	for (int i = 0; i < n && !job_stopping; i++) {
		struct heal_report rep;
		if (heal_sale(ids[i], 1, &rep) < 0) {
			failed = 1;
			continue;
		}
		repairs += rep.repairs;
		if (rep.broken)
			log_warn("activity %lld: still broken after repairs: %s", ids[i], rep.problems);
	}
	free(ids);
	return failed ? -1 : repairs;
}

int
main(int argc, char **argv)
{
	int once = argc == 2 && strcmp(argv[1], "--once") == 0;

	if (argc > 1 && !once) {
		fprintf(stderr, "usage: seckill-heal [--once]\n");
		return 2;
	}
	job_init("seckill-heal");
	log_info("healing every %lds (a unit held with no order row is given back after %lds)",
	    conf.heal_interval, conf.heal_grace);
	while (!job_stopping) {
		int n = heal_pass();
		if (n > 0)
			log_info("heal: %d repairs", n);
		else if (n < 0)
			log_warn("heal: Redis or MySQL failed; next time");
		if (once)
			return n < 0 ? 1 : 0;
		job_sleep(conf.heal_interval * 1000);
	}
	return 0;
}
