#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "later.h"
#include "log.h"
#include "metrics.h"
#include "resp.h"
#include "xmem.h"

struct later {
	FCGX_Request *fr;
	int route;
	long long started_us;
};

long long
later_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

FCGX_Request *
later_request(void)
{
	FCGX_Request *fr = xcalloc(1, sizeof *fr);

	if (FCGX_InitRequest(fr, 0, 0) != 0) {
		log_err("cannot set up a FastCGI request");
		free(fr);
		return NULL;
	}
	return fr;
}

struct later *
later_hold(FCGX_Request *fr, int route, long long started_us)
{
	struct later *l = xcalloc(1, sizeof *l);

	l->fr = fr;
	l->route = route;
	l->started_us = started_us;
	return l;
}

void
later_send(struct later *l, struct resp *r)
{
	struct buf out;

	buf_init(&out);
	resp_serialize(r, &out);
	if (FCGX_PutStr(out.data, (int)out.len, l->fr->out) < 0)
		log_warn("client went away before the answer was written");
	FCGX_Finish_r(l->fr);
	FCGX_Free(l->fr, 1);	/* the connection too, even one the server asked to keep */
	free(l->fr);
	buf_free(&out);
	metrics_request(l->route, r->status, later_now_us() - l->started_us);
	free(l);
}
