#include <stdlib.h>

#include <sys/ioctl.h>

#include "buf.h"
#include "clock.h"
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
later_finish(FCGX_Request *fr, int body_read)
{
	int unread = 1;

	/*
	 * libfcgi ends a connection politely: shutdown, then a poll until the server has read the
	 * answer and closed its end, then close; the worker waits out a round trip through nginx
	 * on every request (up to 0.1 ms seen). When the whole body was read and nothing the server
	 * sent is left unread, the server has nothing more to send: a plain close loses nothing
	 * (the answer is queued on the socket already), and the worker is free at once. Otherwise
	 * (an answer given before the body was read, as a 413; more of it may still be coming)
	 * closing would reset the connection under the answer: the polite way then.
	 */
	if (body_read && ioctl(fr->ipcFd, FIONREAD, &unread) == 0 && unread == 0)
		FCGX_Detach(fr);
	FCGX_Finish_r(fr);
}

void
later_send(struct later *l, struct resp *r)
{
	struct buf out;

	buf_init(&out);
	resp_serialize(r, &out);
	if (FCGX_PutStr(out.data, (int)out.len, l->fr->out) < 0)
		log_warn("client went away before the answer was written");
	later_finish(l->fr, 1);	/* only a request parsed whole, body and all, is held */
	FCGX_Free(l->fr, 1);	/* the connection too, even one the server asked to keep */
	free(l->fr);
	buf_free(&out);
	metrics_request(l->route, r->status, clock_mono_us() - l->started_us);
	free(l);
}
