/*
 * Answers given after the handler has returned, from another thread: a winner's, once its
 * outbox row is committed together with the other winners' of the moment, so that the worker
 * serves the next buyers instead of waiting on MySQL's disk. A handler asks with resp_later();
 * the main loop then holds the request (later_hold) and gives it to the handler's function,
 * and takes a fresh request for the next accept; whoever finishes it calls later_send().
 */
#ifndef SK_LATER_H
#define SK_LATER_H
#include <fcgiapp.h>

struct later;
struct resp;

/* A fresh request for FCGX_Accept_r (NULL if out of memory, after logging). */
FCGX_Request *later_request(void);
/* Takes fr over (the caller makes a fresh one for its next accept); route and the start of
 * the request (clock_mono_us) are for its metrics. */
struct later *later_hold(FCGX_Request *fr, int route, long long started_us);
/* Writes r as the answer, counts the request, finishes and frees it: from any thread. */
void later_send(struct later *l, struct resp *r);
/* Ends fr's request once its answer is written (FCGX_Finish_r), without waiting for the server
 * to close first when it has nothing more to say; body_read: its whole body was read. */
void later_finish(FCGX_Request *fr, int body_read);

#endif
