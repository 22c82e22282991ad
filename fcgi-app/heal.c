#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "heal.h"
#include "log.h"
#include "metrics.h"
#include "seckill.h"
#include "store.h"
#include "xmem.h"

/* More holders than this and a sale is not checked holder by holder (a huge unlimited sale). */
#define HEAL_MAX_HOLDERS 20000

/*
 * KEYS stock buyers ver; ARGV stock hlen ver (as read), new_stock, then user/ref pairs. Sets
 * Redis to MySQL's truth unless anything moved since it was read: a take changes the stock or
 * the holder count, a give-back the ver.
 */
static struct store_script heal_sync_script = { "heal_sync",
	"if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] or redis.call('HLEN', KEYS[2]) ~= tonumber(ARGV[2])"
	" or (redis.call('GET', KEYS[3]) or '') ~= ARGV[3] then return 0 end\n"
	"redis.call('DEL', KEYS[2])\n"
	"for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end\n"
	"redis.call('SET', KEYS[1], ARGV[4])\n"
	"redis.call('INCR', KEYS[3])\n"
	"return 1\n", "" };

/* What Redis has of a sale. */
struct heal_redis {
	int loaded;			/* the stock key exists */
	int stamped;			/* stamped by the Redis that answers now */
	char stock[24], ver[24];	/* as strings, for the compare-and-set */
	long long stock_n;
	redisReply *holders;		/* HGETALL buyers (user, ref, user, ref ...), or NULL */
	long long nholders;
};

static void
heal_redis_free(struct heal_redis *r)
{
	if (r->holders != NULL)
		freeReplyObject(r->holders);
	r->holders = NULL;
}

/* 0 read, -1 Redis failed. */
static int
heal_redis_read(long long id, struct heal_redis *hr)
{
	char k_stock[64], k_buyers[64], k_ver[64], k_stamp[64];
	redisReply *r;

	memset(hr, 0, sizeof *hr);
	seckill_key(k_stock, sizeof k_stock, id, "stock");
	seckill_key(k_buyers, sizeof k_buyers, id, "buyers");
	seckill_key(k_ver, sizeof k_ver, id, "ver");
	seckill_key(k_stamp, sizeof k_stamp, id, "stamp");
	if ((r = store_command("MGET %s %s %s", k_stock, k_ver, k_stamp)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
		freeReplyObject(r);
		return -1;
	}
	if (r->element[0]->type == REDIS_REPLY_STRING) {
		hr->loaded = 1;
		snprintf(hr->stock, sizeof hr->stock, "%s", r->element[0]->str);
		hr->stock_n = atoll(hr->stock);
	}
	if (r->element[1]->type == REDIS_REPLY_STRING)
		snprintf(hr->ver, sizeof hr->ver, "%s", r->element[1]->str);
	hr->stamped = r->element[2]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[2]->str, store_run_id()) == 0;
	freeReplyObject(r);
	if ((r = store_command("HLEN %s", k_buyers)) == NULL)
		return -1;
	hr->nholders = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
	freeReplyObject(r);
	if (hr->nholders > HEAL_MAX_HOLDERS)
		return 0;
	if ((hr->holders = store_command("HGETALL %s", k_buyers)) == NULL)
		return -1;
	if (hr->holders->type != REDIS_REPLY_ARRAY) {
		heal_redis_free(hr);
		return -1;
	}
	hr->nholders = (long long)hr->holders->elements / 2;
	return 0;
}

/* What MySQL has of a sale, from one snapshot. */
struct heal_mysql {
	struct json_object *act;	/* the activity row */
	struct json_object *orders;	/* message_id -> status of its order */
	struct json_object *rows;	/* outbox id -> status */
	struct json_object *live;	/* array of {user_id, ref}: live orders */
	long long unpaid, paid, cancelled, pending, sent, consumed, failed, voided, dups;
};

static void
heal_mysql_free(struct heal_mysql *m)
{
	json_object_put(m->act);
	json_object_put(m->orders);
	json_object_put(m->rows);
	json_object_put(m->live);
	memset(m, 0, sizeof *m);
}

/* Counts one row of that status in the slot of its name. */
static void
heal_count(const char *status, const char *const *names, long long **slots)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(status, names[i]) == 0)
			(*slots[i])++;
}

/* 0 read, 1 no such sale, -1 MySQL failed. */
static int
heal_mysql_read(long long id, struct heal_mysql *m)
{
	struct json_object *orders = NULL, *rows = NULL, *dups = NULL;
	static const char *const order_states[] = { "unpaid", "paid", "cancelled", NULL };
	static const char *const row_states[] = { "pending", "sent", "consumed", "failed", "void",
		NULL };
	long long *order_slots[] = { &m->unpaid, &m->paid, &m->cancelled };
	long long *row_slots[] = { &m->pending, &m->sent, &m->consumed, &m->failed, &m->voided };
	int rc = -1, began;

	memset(m, 0, sizeof *m);
	/* One snapshot (REPEATABLE READ): stock_left, orders and rows agree with each other. */
	began = db_begin() == 0;
	if (!began)
		return -1;
	if (db_select_json("SELECT id, title, stock_total, stock_left,"
	    " ends_at > UTC_TIMESTAMP(3) AS current FROM activities WHERE id = ?", &m->act, "i",
	    id) != 0)
		goto out;
	if (json_object_array_length(m->act) == 0) {
		rc = 1;
		goto out;
	}
	if (db_select_json("SELECT message_id, user_id, status FROM orders WHERE activity_id = ?"
	    " LIMIT 100001", &orders, "i", id) != 0 ||
	    db_select_json("SELECT id, status FROM outbox WHERE activity_id = ? LIMIT 100001",
	    &rows, "i", id) != 0 ||
	    db_select_json("SELECT COUNT(*) AS n FROM (SELECT user_id FROM orders"
	    " WHERE activity_id = ? AND status <> 'cancelled' GROUP BY user_id"
	    " HAVING COUNT(*) > 1) d", &dups, "i", id) != 0)
		goto out;
	m->dups = db_field_int(json_object_array_get_idx(dups, 0), "n");
	m->orders = json_object_new_object();
	m->rows = json_object_new_object();
	m->live = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(orders); i++) {
		struct json_object *o = json_object_array_get_idx(orders, i), *l;
		const char *st = db_field_str(o, "status", "");
		heal_count(st, order_states, order_slots);
		json_object_object_add(m->orders, db_field_str(o, "message_id", ""),
		    json_object_new_string(st));
		if (strcmp(st, "cancelled") != 0) {
			l = json_object_new_object();
			json_object_object_add(l, "user_id", json_object_new_int64(db_field_int(o,
			    "user_id")));
			json_object_object_add(l, "ref", json_object_new_string(db_field_str(o,
			    "message_id", "")));
			json_object_array_add(m->live, l);
		}
	}
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *o = json_object_array_get_idx(rows, i);
		const char *st = db_field_str(o, "status", "");
		heal_count(st, row_states, row_slots);
		json_object_object_add(m->rows, db_field_str(o, "id", ""), json_object_new_string(st));
	}
	rc = 0;
out:
	db_rollback();
	json_object_put(orders);
	json_object_put(rows);
	json_object_put(dups);
	if (rc != 0) {
		json_object_put(m->act);
		m->act = NULL;
	}
	return rc;
}

static const char *
heal_status_of(struct json_object *map, const char *ref)
{
	struct json_object *v;

	return json_object_object_get_ex(map, ref, &v) ? json_object_get_string(v) : NULL;
}

/* What a holder is, against MySQL. */
enum heal_holder {
	HOLD_LIVE,		/* its order is live */
	HOLD_IN_FLIGHT,		/* its row is pending or sent, or its attempt is young */
	HOLD_DONE,		/* its order was cancelled, or its row failed, voided, consumed */
	HOLD_ORPHAN,		/* no row and no order, past heal.grace */
};

static enum heal_holder
heal_classify(const struct heal_mysql *m, const char *ref, long long now)
{
	const char *o = heal_status_of(m->orders, ref), *r;
	long long t = seckill_ref_time(ref);

	if (o != NULL)
		return strcmp(o, "cancelled") == 0 ? HOLD_DONE : HOLD_LIVE;
	if ((r = heal_status_of(m->rows, ref)) != NULL)
		return strcmp(r, "pending") == 0 || strcmp(r, "sent") == 0 ? HOLD_IN_FLIGHT :
		    HOLD_DONE;
	/* A ref from the future (a clock step, or one minted before refs carried their time)
	 * counts as old: the tombstone below keeps settling it safe whatever its age. */
	if (t > 0 && t <= now + 60000 && now - t < conf.heal_grace * 1000)
		return HOLD_IN_FLIGHT;
	return HOLD_ORPHAN;
}

void
heal_log(long long activity, const char *kind, const char *detail)
{
	log_warn("heal: activity %lld: %s: %s", activity, kind, detail);
	if (db_exec("INSERT INTO repairs (activity_id, kind, detail) VALUES (?, ?, ?)", NULL, NULL,
	    "iss", activity, kind, detail) != 0)
		log_warn("heal: the repair of activity %lld was not written to the repairs table",
		    activity);
}

#define HEAL_NOTE(buf, ...) do { size_t l_ = strlen(buf); if (l_ < sizeof (buf) - 1) \
	snprintf((buf) + l_, sizeof (buf) - l_, __VA_ARGS__); } while (0)

static void
heal_done(struct heal_report *rep, enum metrics_counter c, const char *kind, const char *detail)
{
	metrics_inc(c);
	heal_log(rep->id, kind, detail);
	HEAL_NOTE(rep->done, "%s%s", rep->done[0] ? "; " : "", detail);
	rep->repairs++;
}

/* Settles each holder that MySQL says is done or that never wrote its row. 0, -1 failure. */
static int
heal_holders(long long id, struct heal_redis *hr, const struct heal_mysql *m,
    struct heal_report *rep)
{
	long long now = clock_wall_ms();
	char detail[256];

	for (size_t i = 0; hr->holders != NULL && i + 1 < hr->holders->elements; i += 2) {
		const char *user_s = hr->holders->element[i]->str;
		const char *ref = hr->holders->element[i + 1]->str;
		long long user = atoll(user_s);
		enum heal_holder h = heal_classify(m, ref, now);
		int g;

		if (h == HOLD_LIVE || h == HOLD_IN_FLIGHT)
			continue;
		if (h == HOLD_ORPHAN) {
			/* The failed row first: a late insert of that attempt meets the primary key
			 * and can never land after the unit went back. */
			if (db_exec("INSERT INTO outbox (id, activity_id, user_id, payload, status,"
			    " last_error) VALUES (?, ?, ?, '{}', 'failed', 'the sale could not record"
			    " this buy in time (a lost reply or a crash); the unit went back: you may"
			    " try again')", NULL, NULL, "sii", ref, id, user) != 0) {
				if (db_last_errno() == DB_ER_DUP_ENTRY)
					continue;	/* the row came after all: next pass */
				return -1;
			}
		}
		if ((g = seckill_give_back(id, user, ref)) < 0)
			return -1;
		if (g == 1) {
			snprintf(detail, sizeof detail, h == HOLD_ORPHAN ?
			    "unit of user %lld held with no order row (%.12s…): given back" :
			    "unit of user %lld whose order ended (%.12s…) still held: given back", user,
			    ref);
			heal_done(rep, h == HOLD_ORPHAN ? MC_HEAL_ORPHAN : MC_HEAL_RELEASE,
			    h == HOLD_ORPHAN ? "orphan_hold" : "release", detail);
		}
	}
	return 0;
}

/*
 * A quiet sale (no row in flight, every holder a live order) whose Redis copy differs from
 * MySQL: Redis becomes MySQL's, compare-and-set. 0, -1 failure.
 */
static int
heal_sync(long long id, struct heal_redis *hr, const struct heal_mysql *m,
    struct heal_report *rep)
{
	struct json_object *row = json_object_array_get_idx(m->act, 0);
	long long total = db_field_int(row, "stock_total"), left = db_field_int(row, "stock_left");
	size_t nlive = json_object_array_length(m->live);
	long long now = clock_wall_ms();
	int differs = 0;

	if (!hr->loaded || !hr->stamped || hr->holders == NULL || m->pending + m->sent > 0)
		return 0;
	for (size_t i = 0; i + 1 < hr->holders->elements; i += 2)
		if (heal_classify(m, hr->holders->element[i + 1]->str, now) != HOLD_LIVE)
			return 0;
	/* MySQL must agree with itself first: its stock is then the truth to copy. */
	if (total >= 0 && left != total - (long long)nlive)
		return 0;
	if ((total >= 0 && hr->stock_n != left) || (size_t)hr->nholders != nlive)
		differs = 1;
	for (size_t i = 0; !differs && i < nlive; i++) {
		struct json_object *l = json_object_array_get_idx(m->live, i);
		char uid[24];
		int found = 0;
		snprintf(uid, sizeof uid, "%lld", db_field_int(l, "user_id"));
		for (size_t k = 0; k + 1 < hr->holders->elements && !found; k += 2)
			found = strcmp(hr->holders->element[k]->str, uid) == 0 &&
			    strcmp(hr->holders->element[k + 1]->str, db_field_str(l, "ref", "")) == 0;
		differs = !found;
	}
	if (!differs)
		return 0;

	char k_stock[64], k_buyers[64], k_ver[64], hlen[24], stock[24], detail[256];
	const char **argv = xmalloc((7 + 2 * nlive) * sizeof *argv);
	char (*uids)[24] = xmalloc((nlive + 1) * sizeof *uids);
	redisReply *r;
	int rc = -1;

	seckill_key(k_stock, sizeof k_stock, id, "stock");
	seckill_key(k_buyers, sizeof k_buyers, id, "buyers");
	seckill_key(k_ver, sizeof k_ver, id, "ver");
	snprintf(hlen, sizeof hlen, "%lld", hr->nholders);
	snprintf(stock, sizeof stock, "%lld", total >= 0 ? left : -1);
	argv[0] = k_stock; argv[1] = k_buyers; argv[2] = k_ver;
	argv[3] = hr->stock; argv[4] = hlen; argv[5] = hr->ver; argv[6] = stock;
	for (size_t i = 0; i < nlive; i++) {
		struct json_object *l = json_object_array_get_idx(m->live, i);
		snprintf(uids[i], sizeof uids[i], "%lld", db_field_int(l, "user_id"));
		argv[7 + 2 * i] = uids[i];
		argv[8 + 2 * i] = db_field_str(l, "ref", "");
	}
	if ((r = store_eval(&heal_sync_script, 3, (int)(7 + 2 * nlive), argv)) != NULL) {
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
			snprintf(detail, sizeof detail, "Redis had stock %s and %lld holders, MySQL"
			    " %s and %zu live orders: Redis set to MySQL's", hr->stock, hr->nholders,
			    stock, nlive);
			heal_done(rep, MC_HEAL_STOCK, "stock", detail);
		}
		freeReplyObject(r);
		rc = 0;
	}
	free(uids);
	free(argv);
	return rc;
}

static int heal_read(long long id, struct heal_redis *hr, struct heal_mysql *m,
    struct heal_report *rep);
static void heal_read_free(struct heal_redis *hr, struct heal_mysql *m);

/* The checks, on a fresh read of both sides (Redis first: a unit taken after that read shows
 * in MySQL or is in flight, never missed). */
static int
heal_check(long long id, struct heal_report *rep)
{
	struct heal_redis hr;
	struct heal_mysql m;
	struct json_object *row;
	long long now = clock_wall_ms(), live;
	int rc;

	if ((rc = heal_read(id, &hr, &m, rep)) != 0)
		return rc;
	row = json_object_array_get_idx(m.act, 0);
	snprintf(rep->title, sizeof rep->title, "%s", db_field_str(row, "title", ""));
	rep->total = db_field_int(row, "stock_total");
	rep->mysql_left = db_field_int(row, "stock_left");
	rep->redis_loaded = hr.loaded;
	rep->redis_left = hr.stock_n;
	rep->held = hr.nholders;
	rep->unpaid = m.unpaid; rep->paid = m.paid; rep->cancelled = m.cancelled;
	rep->pending = m.pending; rep->sent = m.sent; rep->consumed = m.consumed;
	rep->failed = m.failed; rep->voided = m.voided; rep->dup_users = m.dups;
	rep->in_flight = m.pending + m.sent > 0;
	live = m.unpaid + m.paid;
	for (size_t i = 0; hr.holders != NULL && i + 1 < hr.holders->elements; i += 2) {
		enum heal_holder h = heal_classify(&m, hr.holders->element[i + 1]->str, now);
		if (h == HOLD_IN_FLIGHT)
			rep->in_flight = 1;
		else if (h != HOLD_LIVE)
			rep->orphans++;
	}
#define PROBLEM(...) do { rep->broken = 1; HEAL_NOTE(rep->problems, "%s", \
	rep->problems[0] ? "; " : ""); HEAL_NOTE(rep->problems, __VA_ARGS__); } while (0)
	if (rep->total >= 0 && live > rep->total)
		PROBLEM("OVERSOLD: %lld live orders for %lld units", live, rep->total);
	if (m.dups > 0)
		PROBLEM("%lld users hold two live orders", m.dups);
	if (rep->total >= 0 && rep->mysql_left != rep->total - live)
		PROBLEM("MySQL stock %lld is not %lld - %lld live orders", rep->mysql_left,
		    rep->total, live);
	if (rep->orphans > 0)
		PROBLEM("%lld units held in Redis with no live order and nothing in flight",
		    rep->orphans);
	if (hr.loaded && !rep->in_flight && rep->orphans == 0) {
		/* Quiet: Redis must agree with MySQL. */
		if (rep->total >= 0 && hr.stock_n != rep->mysql_left)
			PROBLEM("Redis stock %lld but MySQL stock %lld", hr.stock_n, rep->mysql_left);
		if (hr.nholders != live)
			PROBLEM("Redis holds %lld buyers for %lld live orders", hr.nholders, live);
	}
#undef PROBLEM
	heal_read_free(&hr, &m);
	return 0;
}

/* Both sides of a sale, Redis first; 0, 1 no such sale, -1 failure (nothing to free then). */
static int
heal_read(long long id, struct heal_redis *hr, struct heal_mysql *m, struct heal_report *rep)
{
	int rc;

	if (heal_redis_read(id, hr) != 0) {
		rep->redis_down = 1;
		return -1;
	}
	if ((rc = heal_mysql_read(id, m)) != 0)
		heal_redis_free(hr);
	return rc;
}

static void
heal_read_free(struct heal_redis *hr, struct heal_mysql *m)
{
	heal_mysql_free(m);
	heal_redis_free(hr);
}

/* The repairs of one sale; 0, 1 no such sale, -1 failure. */
static int
heal_repair(long long id, struct heal_report *rep)
{
	struct heal_redis hr;
	struct heal_mysql m;
	int rc;

	if ((rc = heal_read(id, &hr, &m, rep)) != 0)
		return rc;
	/* Not in Redis, or in a Redis that has not checked it: rebuild it before it sells (the
	 * buy path would too; the healer does not wait for a buyer). seckill_warm counts it. */
	if ((!hr.loaded && db_field_int(json_object_array_get_idx(m.act, 0), "current")) ||
	    (hr.loaded && !hr.stamped)) {
		heal_read_free(&hr, &m);
		if (seckill_warm(id) < 0)
			return -1;
		if ((rc = heal_read(id, &hr, &m, rep)) != 0)
			return rc;
	}
	rc = heal_holders(id, &hr, &m, rep);
	heal_read_free(&hr, &m);
	if (rc != 0)
		return -1;
	/* Then, on a fresh read, the stock of a quiet sale. */
	if ((rc = heal_read(id, &hr, &m, rep)) != 0)
		return rc;
	rc = heal_sync(id, &hr, &m, rep);
	heal_read_free(&hr, &m);
	return rc;
}

int
heal_sale(long long id, int repair, struct heal_report *rep)
{
	int rc;

	memset(rep, 0, sizeof *rep);
	rep->id = id;
	if (repair && (rc = heal_repair(id, rep)) != 0)
		return rc;
	return heal_check(id, rep);
}

int
heal_sales(int all, long long **ids)
{
	struct json_object *rows = NULL;
	size_t n;

	*ids = NULL;
	if (db_select_json(all ? "SELECT id FROM activities ORDER BY id" :
	    "SELECT id FROM activities WHERE ends_at > UTC_TIMESTAMP(3) - INTERVAL 1 DAY"
	    " ORDER BY id LIMIT 1000", &rows, "") != 0)
		return -1;
	n = json_object_array_length(rows);
	*ids = xmalloc((n + 1) * sizeof **ids);
	for (size_t i = 0; i < n; i++)
		(*ids)[i] = db_field_int(json_object_array_get_idx(rows, i), "id");
	json_object_put(rows);
	return (int)n;
}
