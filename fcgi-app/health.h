/*
 * The pool's view of its backends for GET /healthz, answered from memory. Each worker that is
 * asked starts three threads, one per backend (a hung MySQL does not hold up the Redis check),
 * each with its own connection; pool-wide, each backend is pinged at most once a second, by
 * whichever worker's thread claims it first in a shared file ($app.run_dir/health.shm), and
 * only while somebody asks (a quiet pool pings nothing). An answer never waits on a backend:
 * a ping under way for over a second means that backend is down (hung).
 */
#ifndef SK_HEALTH_H
#define SK_HEALTH_H

enum health_backend { HEALTH_REDIS, HEALTH_MYSQL, HEALTH_AMQP, HEALTH_N };

/* Maps the shared status (a private one when it cannot be shared). */
void health_open(const char *run_dir);
/*
 * Fills ok[b] with 1 (answered within the last seconds) or 0 (down, hung, or not known yet
 * after waiting at most 100 ms for a first ping). Returns 0 when all are ok.
 */
int health_status(int ok[HEALTH_N]);

#endif
