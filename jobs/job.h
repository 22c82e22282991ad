/* What the background jobs share: start-up (configuration, logging, signals) and stopping. */
#ifndef SK_JOB_H
#define SK_JOB_H

/* Set by SIGTERM/SIGINT: finish the message at hand, then leave. */
extern volatile int job_stopping;

/* Loads the configuration (exits 2 with the key named on a mistake) and installs handlers. */
void job_init(const char *name);
/* Sleeps up to ms, returning early when a stop was asked for. */
void job_sleep(long ms);

#endif
