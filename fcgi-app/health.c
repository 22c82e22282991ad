#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "health.h"
#include "log.h"
#include "mq.h"
#include "shm.h"
#include "store.h"
#include "xmem.h"

#define HEALTH_MAGIC 0x736b6865616c7468ULL	/* "skhealth" */
#define HEALTH_EVERY_MS 1000	/* a backend is pinged at most this often, pool-wide */
#define HEALTH_HUNG_MS 1000	/* a ping under way longer than this: the backend is down */
#define HEALTH_STALE_MS 3500	/* a result older than this is not trusted */
#define HEALTH_IDLE_MS 10000	/* nobody asked for this long: no more pings */
#define HEALTH_ORPHAN_MS 15000	/* a ping never finished (its worker died): another may start */

/* All times are CLOCK_MONOTONIC ms, shared by the processes of one boot. */
struct health_shm {
	struct shm_head head;
	uint64_t asked;				/* the last /healthz anywhere in the pool */
	struct health_slot {
		uint64_t claim;			/* the last ping started (claimed by compare-and-set) */
		uint64_t done;			/* the last ping finished */
		uint32_t ok;			/* its result */
	} b[HEALTH_N];
};

static struct health_shm *health;
static pthread_t health_threads[HEALTH_N];
static int health_started;

void
health_open(const char *run_dir)
{
	if (health != NULL)
		return;
	if ((health = shm_map(run_dir, "health.shm", sizeof *health, HEALTH_MAGIC)) == NULL) {
		log_warn("health: checking for this worker only");
		health = xcalloc(1, sizeof *health);
	}
}

static int
health_ping(enum health_backend b)
{
	switch (b) {
	case HEALTH_REDIS:
		return store_ping();
	case HEALTH_MYSQL:
		return db_ping();
	default:
		return mq_ping();
	}
}

/* One backend's thread: pings it whenever its pool-wide turn is free and somebody asks. */
static void *
health_main(void *arg)
{
	enum health_backend b = (enum health_backend)(intptr_t)arg;
	struct health_slot *s = &health->b[b];

	for (;; clock_sleep_ms(100)) {
		uint64_t now = (uint64_t)clock_mono_ms(), claim, done;

		if (now - __atomic_load_n(&health->asked, __ATOMIC_RELAXED) > HEALTH_IDLE_MS)
			continue;
		claim = __atomic_load_n(&s->claim, __ATOMIC_ACQUIRE);
		done = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
		/*
		 * One ping in flight at a time: a new claim beside a hung ping would hide the hang
		 * (the new one looks young). Only one that never came back (its worker died) is
		 * taken over, and then the backend counts as down until a ping answers.
		 */
		if (claim > done && now > claim && now - claim < HEALTH_ORPHAN_MS)
			continue;
		if (now > claim && now - claim < HEALTH_EVERY_MS)
			continue;
		if (claim > done)
			__atomic_store_n(&s->ok, 0, __ATOMIC_RELAXED);
		if (!__atomic_compare_exchange_n(&s->claim, &claim, now, 0, __ATOMIC_ACQ_REL,
		    __ATOMIC_RELAXED))
			continue;
		int ok = health_ping(b) == 0;
		__atomic_store_n(&s->ok, (uint32_t)ok, __ATOMIC_RELAXED);
		__atomic_store_n(&s->done, (uint64_t)clock_mono_ms(), __ATOMIC_RELEASE);
	}
	return NULL;
}

static void
health_start(void)
{
	sigset_t all, old;

	health_started = 1;
	/* Signals are the main thread's (SIGTERM must interrupt its accept). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int b = 0; b < HEALTH_N; b++)
		if (pthread_create(&health_threads[b], NULL, health_main, (void *)(intptr_t)b) == 0)
			pthread_detach(health_threads[b]);
		else
			log_err("health: cannot start a thread");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* 1 ok, 0 down, -1 not known yet. */
static int
health_one(const struct health_slot *s, uint64_t now)
{
	uint64_t claim = __atomic_load_n(&s->claim, __ATOMIC_ACQUIRE);
	uint64_t done = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);

	/* A thread may stamp claim or done after our now was read: never subtract the other way
	 * round (unsigned), or a ping just started would look hung and one just done stale. */
	if (claim > done && now > claim && now - claim > HEALTH_HUNG_MS)
		return 0;
	if (done == 0 || (now > done && now - done > HEALTH_STALE_MS))
		return -1;
	return (int)__atomic_load_n(&s->ok, __ATOMIC_RELAXED);
}

int
health_status(int ok[HEALTH_N])
{
	uint64_t now = (uint64_t)clock_mono_ms(), until = now + 100;
	int all;

	if (health == NULL)
		health_open(conf.app_run_dir);
	__atomic_store_n(&health->asked, now, __ATOMIC_RELAXED);
	if (!health_started)
		health_start();
	for (;;) {
		int unknown = 0;
		all = 1;
		for (int b = 0; b < HEALTH_N; b++) {
			int s = health_one(&health->b[b], now);
			unknown |= s < 0;
			ok[b] = s == 1;
			all &= ok[b];
		}
		/* The first asking after a quiet while waits a little for the first pings. */
		if (!unknown || now >= until)
			break;
		clock_sleep_ms(10);
		now = (uint64_t)clock_mono_ms();
	}
	return all ? 0 : -1;
}
