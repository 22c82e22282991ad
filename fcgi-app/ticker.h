/*
 * A worker's background thread: whatever must be read now and then (the revocation feed, the
 * signing keys, the sales' terms) is read here, off the request path, about ten times a second.
 * Tasks are added after the fork; the thread starts with the first one.
 */
#ifndef SK_TICKER_H
#define SK_TICKER_H
#include <pthread.h>

/* Runs task about every TICKER_MS from now on, in this process's ticker thread. 0 ok, -1. */
int ticker_add(void (*task)(void));
/* Starts fn(NULL) in a thread of its own with every signal blocked (they are the main
 * thread's: SIGTERM must interrupt its accept), as the ticker's and the relay's. 0 ok, -1. */
int ticker_spawn(pthread_t *th, void *(*fn)(void *));

#define TICKER_MS 100

#endif
