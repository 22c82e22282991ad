/*
 * Reconcile and heal: the one place that compares a sale's Redis copy (stock, holders, stamp)
 * with MySQL's truth (stock_left, outbox rows, orders), says whether the invariants hold, and,
 * when asked, repairs what a fault left behind. Used by `seckill-admin reconcile [--repair]`,
 * the /admin dashboard (check only) and the seckill-heal job (repair, every heal.interval).
 *
 * Repairs, each logged, counted in /metrics (seckill_heal_repairs_total{kind}) and written to
 * the repairs table for the dashboard:
 *   orphan_hold  a unit held in Redis whose attempt wrote no outbox row within heal.grace: a
 *                failed row is written under its id first (so a late insert can never land),
 *                then the unit goes back, once
 *   release      a holder whose order was cancelled or whose row failed (or was voided): the
 *                unit goes back (the cancel or the give-up could not tell Redis at the time)
 *   stock        a quiet sale (nothing in flight) whose Redis stock or holders differ from
 *                MySQL: Redis is set to MySQL's, by compare-and-set against a buy in between
 *   rebuild      a Redis that came back empty, or another Redis (restarted from older data, a
 *                replica promoted): the sale is rebuilt from MySQL before it sells again
 */
#ifndef SK_HEAL_H
#define SK_HEAL_H

/* One sale as reconcile sees it. */
struct heal_report {
	long long id, total, mysql_left, redis_left, held;
	long long unpaid, paid, cancelled, pending, sent, consumed, failed, voided;
	long long dup_users;		/* users with two live orders */
	long long orphans;		/* units held with no row past heal.grace (not repaired) */
	int redis_loaded;		/* Redis has the sale */
	int redis_down;			/* the call failed because Redis did */
	int in_flight;			/* outbox rows or attempts not settled yet */
	int broken;			/* an invariant does not hold */
	int repairs;			/* repairs made (with repair) */
	char title[201];
	char problems[512];		/* "; "-separated, empty when none */
	char done[512];			/* the repairs made, "; "-separated */
};

/*
 * Checks one sale, and with repair set, repairs it first. 0 with *rep filled (rep->broken says
 * whether an invariant is broken after the repairs), 1 no such sale, -1 Redis or MySQL failed.
 */
int heal_sale(long long id, int repair, struct heal_report *rep);

/*
 * The sales a pass looks at: not ended, or ended within the last day (all: every sale). Fills
 * ids (a new array the caller frees) and returns how many, -1 when MySQL failed.
 */
int heal_sales(int all, long long **ids);

/* Records a repair: the log, the repairs table (a failed write is only logged). */
void heal_log(long long activity, const char *kind, const char *detail);

#endif
