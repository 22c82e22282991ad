/*
 * The thread's Redis connection (hiredis; one per thread, as db.c's and mq.c's, so the worker's
 * threads never share one): opened on first use after the fork, dropped on any
 * error and re-opened on a later call, but not more often than backend.retry_ms, so a dead
 * Redis costs a request one fast 503 instead of a connect timeout each.
 */
#ifndef SK_STORE_H
#define SK_STORE_H

#include <hiredis/hiredis.h>

/* The live context, or NULL when Redis cannot be reached now. */
redisContext *store_get(void);
/*
 * A new connection now, whatever backend.retry_ms says: for the one check that settles an
 * outcome whose reply was lost (never in a loop). NULL when Redis cannot be reached.
 */
redisContext *store_fresh(void);
/* The run_id of the server the live connection reached ("" when none or unknown). */
const char *store_run_id(void);
/* Drops the connection after an error; the next store_get reconnects. */
void store_drop(void);
/* Runs a command (hiredis format: arguments only through %s/%b). NULL on a connection error. */
redisReply *store_command(const char *fmt, ...);
redisReply *store_command_argv(int argc, const char **argv, const size_t *argvlen);
/*
 * After a call that returned NULL: 1 when the command had been written to a connection (its
 * reply was lost or timed out, so it may have run), 0 when no connection could be had (it
 * surely did not run).
 */
int store_lost(void);
/* 0 when PING answers PONG. */
int store_ping(void);


/* A Lua script run by EVALSHA; loaded on first use and again after NOSCRIPT. */
struct store_script {
	const char *name;
	const char *src;
	char sha[41];
};

/*
 * Runs script with nkeys keys then the other arguments (argv[0..argc) holds keys first).
 * Returns the reply (caller frees), an error reply for script errors, NULL when Redis failed.
 */
redisReply *store_eval(struct store_script *s, int nkeys, int argc, const char **argv);
#endif
