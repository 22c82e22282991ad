/*
 * Counters for /metrics, shared by the whole pool: every worker maps the same file
 * ($app.run_dir/metrics.shm) and adds with atomic increments, so any worker can report the
 * pool's totals. Without the file a worker keeps private counters and says so in the log.
 */
#ifndef SK_METRICS_H
#define SK_METRICS_H

struct buf;
struct route;

#define METRICS_ROUTES 64		/* route slots; the last one counts unmatched paths */

enum metrics_counter {
	MC_RATELIMITED,
	MC_SECKILL_QUEUED,
	MC_SECKILL_SOLD_OUT,
	MC_SECKILL_SOLD_OUT_LOCAL,
	MC_SECKILL_DUPLICATE,
	MC_SECKILL_UNAVAILABLE,
	MC_BACKEND_REDIS_DOWN,
	MC_BACKEND_MYSQL_DOWN,
	MC_BACKEND_AMQP_DOWN,
	MC_RELAY_PUBLISHED,
	MC_RELAY_NOT_SENT,
	MC_SECKILL_UNCONFIRMED,
	MC_OUTBOX_ROWS,		/* winners' outbox rows the writers wrote */
	MC_OUTBOX_INSERTS,	/* the INSERTs (commits) that wrote them */
	/* seckill_heal_repairs_total{kind=...}: what the healer (and the paths that heal in
	 * passing) repaired */
	MC_HEAL_ORPHAN,		/* a unit held with no outbox row past the grace: given back */
	MC_HEAL_RELEASE,	/* a holder of a cancelled order or failed row: released */
	MC_HEAL_STOCK,		/* Redis stock or holders set to MySQL's truth */
	MC_HEAL_REBUILD,	/* a Redis that came back empty or behind: rebuilt from MySQL */
	MC_HEAL_PARKED,		/* a parked message's row failed and its unit given back */
	MC_HEAL_PHANTOM,	/* a unit Redis had and MySQL did not: dropped, not given back */
	MC_COUNTERS
};

/* Maps the shared file under run_dir (created if needed); 0 shared, -1 private fallback. */
int metrics_open(const char *run_dir);
void metrics_close(void);
void metrics_request(int route, int status, long long micros);
void metrics_inc(enum metrics_counter c);
void metrics_add(enum metrics_counter c, unsigned long long n);
unsigned long long metrics_get(enum metrics_counter c);
unsigned long long metrics_requests(int route, int status);
/*
 * The last METRICS_SERIES seconds, for the admin chart: requests answered and sales (buy
 * attempts that queued an order) per wall-clock second, in a ring in the same shared file.
 * metrics_request counts the requests, metrics_inc(MC_SECKILL_QUEUED) the sales. Two workers
 * entering a new second at once may lose a count or two: good enough for a chart.
 */
#define METRICS_SERIES 600
/* Fills requests[i] and sales[i] (either may be NULL) for the n seconds ending with the epoch
 * second last, oldest first; seconds nobody counted (or older than the ring) are 0. n is at
 * most METRICS_SERIES. */
void metrics_series(long long last, int n, unsigned long long *requests,
    unsigned long long *sales);
/* Prometheus text format for all counters, route labels from the table. */
void metrics_render(struct buf *out, const struct route *routes, int nroutes);

#endif
