/*
 * faultproxy: a small single-threaded TCP proxy for the integration tests. It sits between a
 * client and a backend (Redis, MariaDB) on 127.0.0.1 and, on request, misbehaves the way a
 * network or a server can: a reply lost after the command reached the server, a hung server,
 * a refused connection.
 *
 *	faultproxy LISTEN_PORT TARGET_PORT CONTROL_FILE [PIDFILE]
 *
 * Every client accepted on LISTEN_PORT gets its own connection to TARGET_PORT; bytes go both
 * ways through per-direction buffers (a slow side is simply not read from, nothing is lost).
 * When either side closes, what it sent is flushed to the other and both are closed.
 *
 * The first line of CONTROL_FILE sets the mode; the file is checked every 25 ms (and read
 * again at least once a second), and each change is logged to stderr:
 *
 *	pass		plain forwarding (also a missing or empty file, and "fired ...").
 *	swallow NEEDLE	one-shot trap: the first client->server chunk containing NEEDLE (also
 *			when it is split across two reads) is forwarded, then that connection
 *			is doomed: everything the server sends back is read and thrown away,
 *			and both sockets are closed once the first reply bytes arrived (or after
 *			3 s without any). The proxy then rewrites CONTROL_FILE to
 *			"fired NEEDLE" and passes. NEEDLE is the rest of the line; \r, \n, \t,
 *			\\ and \xHH stand for those bytes.
 *	hold		nothing is read or written on any connection (new ones are accepted
 *			and wait), as with a hung server; buffered bytes move on when the mode
 *			changes.
 *	drop		every connection is closed, new ones are accepted and closed at once.
 *
 * Write the control file atomically (temporary file and mv): a truncate-then-write is seen for
 * a moment as an empty file, that is "pass".
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FP_BUFSZ		65536	/* per direction and connection pair */
#define FP_NEEDLE_MAX		256
#define FP_MAX_PAIRS		512
#define FP_CHECK_MS		25	/* control file stat() interval */
#define FP_REREAD_MS		1000	/* control file read regardless of stat() */
#define FP_DOOM_MS		3000	/* doomed pair without a reply: closed after this */
#define FP_FLUSH_MS		2000	/* closing pair: time left to flush to the survivor */
#define FP_POLL_MS		50

enum fp_mode {
	FP_PASS,
	FP_SWALLOW,
	FP_HOLD,
	FP_DROP
};

struct fp_buf {
	size_t		 off, len;
	char		 data[FP_BUFSZ];
};

/*
 * Side 0 is the client, side 1 the server; buf[i] holds what side i sent and side 1 - i has
 * not taken yet.
 */
struct fp_pair {
	long		 id;
	int		 fd[2];
	int		 eof[2];	/* side sent EOF (or failed): the pair is closing */
	int		 hup[2];	/* poll() saw POLLHUP on the side */
	int		 connecting;	/* connect() to the target in progress */
	int		 doomed;	/* the trap fired on this pair */
	size_t		 swallowed;	/* server bytes thrown away since then */
	long long	 deadline;	/* doomed or closing: closed at this time (ms) */
	char		 needle[FP_NEEDLE_MAX * 4 + 1];	/* as written, for the log */
	size_t		 tail_len;	/* last client->server bytes, for a split needle */
	char		 tail[FP_NEEDLE_MAX - 1];
	struct fp_buf	 buf[2];
};

static volatile sig_atomic_t fp_stop;

static const char *fp_control;
static int fp_target_port;
static int fp_listen_fd = -1;
static struct fp_pair *fp_pairs[FP_MAX_PAIRS];
static int fp_npairs, fp_max_pairs = FP_MAX_PAIRS;
static long fp_next_id = 1;

static enum fp_mode fp_mode = FP_PASS;
static char fp_mode_word[64];				/* current mode as written */
static char fp_mode_arg[FP_NEEDLE_MAX * 4 + 1];
static char fp_needle[FP_NEEDLE_MAX];			/* decoded, while armed */
static size_t fp_needle_len;
static int fp_armed;

static char fp_scratch[FP_NEEDLE_MAX + FP_BUFSZ];

static void
fp_log(const char *fmt, ...)
{
	va_list ap;

	fputs("faultproxy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static long long
fp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
fp_on_signal(int sig)
{
	(void)sig;
	fp_stop = 1;
}

static int
fp_port(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

static void
fp_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Closes a pair; a doomed one logs what became of the reply. */
static void
fp_pair_close(int k)
{
	struct fp_pair *p = fp_pairs[k];

	if (p->doomed) {
		if (p->swallowed > 0)
			fp_log("swallowed the reply after %s on connection %ld", p->needle, p->id);
		else
			fp_log("swallowed the reply after %s on connection %ld (none came, "
			    "closed)", p->needle, p->id);
	}
	close(p->fd[0]);
	if (p->fd[1] >= 0)
		close(p->fd[1]);
	free(p);
	fp_pairs[k] = NULL;
	fp_npairs--;
}

static void
fp_close_all(void)
{
	int k;

	for (k = 0; k < FP_MAX_PAIRS; k++)
		if (fp_pairs[k] != NULL)
			fp_pair_close(k);
}

static int
fp_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes \r \n \t \\ \xHH (one or two digits); -1 if the result is empty or too long. */
static int
fp_decode(const char *s, char *out, size_t *outlen)
{
	size_t n = 0;
	int c, d;

	for (; *s != '\0'; s++) {
		if (n == FP_NEEDLE_MAX)
			return -1;
		c = (unsigned char)*s;
		if (c == '\\' && s[1] != '\0') {
			c = (unsigned char)*++s;
			if (c == 'r')
				c = '\r';
			else if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c == 'x' && fp_hex(s[1]) >= 0) {
				c = fp_hex(*++s);
				if ((d = fp_hex(s[1])) >= 0) {
					c = c * 16 + d;
					s++;
				}
			}
		}
		out[n++] = (char)c;
	}
	*outlen = n;
	return n > 0 ? 0 : -1;
}

/* Sets the mode from the control file's first line, split into word and argument. */
static void
fp_mode_set(const char *word, const char *arg)
{
	static int known;

	if (known && strcmp(word, fp_mode_word) == 0 && strcmp(arg, fp_mode_arg) == 0)
		return;
	known = 1;
	snprintf(fp_mode_word, sizeof fp_mode_word, "%s", word);
	snprintf(fp_mode_arg, sizeof fp_mode_arg, "%s", arg);
	fp_armed = 0;
	if (strcmp(word, "swallow") == 0) {
		if (fp_decode(arg, fp_needle, &fp_needle_len) != 0) {
			fp_log("mode swallow needs a needle of 1 to %d bytes; passing",
			    FP_NEEDLE_MAX);
			fp_mode = FP_PASS;
			return;
		}
		fp_mode = FP_SWALLOW;
		fp_armed = 1;
		fp_log("mode swallow %s (armed)", arg);
	} else if (strcmp(word, "hold") == 0) {
		fp_mode = FP_HOLD;
		fp_log("mode hold (%d connections stalled)", fp_npairs);
	} else if (strcmp(word, "drop") == 0) {
		fp_mode = FP_DROP;
		fp_log("mode drop (%d connections closed)", fp_npairs);
		fp_close_all();
	} else {
		fp_mode = FP_PASS;
		if (word[0] == '\0' || strcmp(word, "pass") == 0)
			fp_log("mode pass");
		else if (strcmp(word, "fired") == 0)
			fp_log("mode fired %s (passing)", arg);
		else
			fp_log("unknown mode '%s' in %s; passing", word, fp_control);
	}
}

/* Reads the control file (missing: pass) and applies its mode. */
static void
fp_control_read(void)
{
	char line[FP_NEEDLE_MAX * 4 + 128], *s, *word, *arg, *end;
	ssize_t n;
	int fd;

	n = 0;
	if ((fd = open(fp_control, O_RDONLY | O_CLOEXEC)) >= 0) {
		do
			n = read(fd, line, sizeof line - 1);
		while (n < 0 && errno == EINTR);
		close(fd);
		if (n < 0)
			n = 0;
	}
	line[n] = '\0';
	s = line + strcspn(line, "\r\n");
	*s = '\0';
	word = line + strspn(line, " \t");
	arg = word + strcspn(word, " \t");
	if (*arg != '\0') {
		*arg++ = '\0';
		arg += strspn(arg, " \t");
	}
	end = arg + strlen(arg);
	while (end > arg && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	fp_mode_set(word, arg);
}

/* Re-reads the control file when stat() shows a change, and once in a while anyway. */
static void
fp_control_check(long long now)
{
	static struct stat last;
	static int last_ok = -1;
	static long long last_read;
	struct stat st;
	int ok;

	ok = stat(fp_control, &st) == 0;
	if (ok != last_ok || (ok && (st.st_dev != last.st_dev || st.st_ino != last.st_ino ||
	    st.st_size != last.st_size || st.st_mtim.tv_sec != last.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != last.st_mtim.tv_nsec ||
	    st.st_ctim.tv_sec != last.st_ctim.tv_sec ||
	    st.st_ctim.tv_nsec != last.st_ctim.tv_nsec)) || now - last_read >= FP_REREAD_MS) {
		last_ok = ok;
		if (ok)
			last = st;
		last_read = now;
		fp_control_read();
	}
}

/* The trap fired: the file says so (temporary file and rename), and the proxy passes. */
static void
fp_trap_fired(void)
{
	char tmp[PATH_MAX], text[sizeof fp_mode_arg + 16];
	int fd, len, ok, err;

	fp_armed = 0;
	fp_mode = FP_PASS;
	snprintf(fp_mode_word, sizeof fp_mode_word, "fired");
	len = snprintf(text, sizeof text, "fired %s\n", fp_mode_arg);
	snprintf(tmp, sizeof tmp, "%s.tmp%ld", fp_control, (long)getpid());
	ok = 0;
	err = EIO;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0) {
		ok = write(fd, text, (size_t)len) == len;
		ok = close(fd) == 0 && ok;
		if (ok && rename(tmp, fp_control) != 0)
			ok = 0;
		if (!ok) {
			err = errno;
			unlink(tmp);
		}
	} else {
		err = errno;
	}
	if (!ok)
		fp_log("cannot rewrite %s: %s", fp_control, strerror(err));
}

/* Looks for the armed needle in a client->server chunk and keeps its tail for the next one. */
static void
fp_trap_check(struct fp_pair *p, const char *chunk, size_t n, long long now)
{
	size_t keep;

	if (fp_armed && !p->doomed) {
		keep = p->tail_len < fp_needle_len - 1 ? p->tail_len : fp_needle_len - 1;
		memcpy(fp_scratch, p->tail + p->tail_len - keep, keep);
		memcpy(fp_scratch + keep, chunk, n);
		if (memmem(fp_scratch, keep + n, fp_needle, fp_needle_len) != NULL) {
			p->doomed = 1;
			p->deadline = now + FP_DOOM_MS;
			snprintf(p->needle, sizeof p->needle, "%s", fp_mode_arg);
			fp_trap_fired();
		}
	}
	if (n >= sizeof p->tail) {
		memcpy(p->tail, chunk + n - sizeof p->tail, sizeof p->tail);
		p->tail_len = sizeof p->tail;
	} else {
		keep = p->tail_len < sizeof p->tail - n ? p->tail_len : sizeof p->tail - n;
		memmove(p->tail, p->tail + p->tail_len - keep, keep);
		memcpy(p->tail + keep, chunk, n);
		p->tail_len = keep + n;
	}
}

/* Writes what side i sent to the other side; -1 on a write error. */
static int
fp_flush(struct fp_pair *p, int i)
{
	struct fp_buf *b = &p->buf[i];
	ssize_t n;

	while (b->len > 0) {
		n = send(p->fd[1 - i], b->data + b->off, b->len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		b->off += (size_t)n;
		b->len -= (size_t)n;
	}
	b->off = 0;
	return 0;
}

/* Reads once from side i; -1 on a read or write error. */
static int
fp_read(struct fp_pair *p, int i, long long now)
{
	struct fp_buf *b = &p->buf[i];
	ssize_t n;

	if (i == 1 && p->doomed) {
		do
			n = recv(p->fd[1], fp_scratch, sizeof fp_scratch, 0);
		while (n < 0 && errno == EINTR);
		if (n > 0)
			p->swallowed += (size_t)n;
	} else {
		if (b->off > 0) {
			memmove(b->data, b->data + b->off, b->len);
			b->off = 0;
		}
		if (b->len == sizeof b->data)
			return 0;
		do
			n = recv(p->fd[i], b->data + b->len, sizeof b->data - b->len, 0);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			if (i == 0)
				fp_trap_check(p, b->data + b->len, (size_t)n, now);
			b->len += (size_t)n;
			if (!p->connecting && fp_flush(p, i) != 0)
				return -1;
		}
	}
	if (n == 0)
		p->eof[i] = 1;
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return -1;
	return 0;
}

/* A new client: its connection to the target is started, or it is closed. */
static void
fp_accept(void)
{
	struct sockaddr_in sin;
	struct fp_pair *p;
	int cfd, sfd, k;

	for (;;) {
		cfd = accept4(fp_listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fp_log("accept: %s", strerror(errno));
			return;
		}
		if (fp_mode == FP_DROP) {
			close(cfd);
			continue;
		}
		if (fp_npairs >= fp_max_pairs) {
			fp_log("%d connections already; refusing one", fp_npairs);
			close(cfd);
			continue;
		}
		if ((p = calloc(1, sizeof *p)) == NULL) {
			fp_log("out of memory; refusing a connection");
			close(cfd);
			continue;
		}
		p->id = fp_next_id++;
		p->fd[0] = cfd;
		p->fd[1] = -1;
		for (k = 0; fp_pairs[k] != NULL; k++)
			;
		fp_pairs[k] = p;
		fp_npairs++;
		fp_nodelay(cfd);
		sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (sfd < 0) {
			fp_log("connection %ld: socket: %s", p->id, strerror(errno));
			fp_pair_close(k);
			continue;
		}
		p->fd[1] = sfd;
		fp_nodelay(sfd);
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)fp_target_port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(sfd, (struct sockaddr *)&sin, sizeof sin) == 0)
			continue;
		if (errno == EINPROGRESS || errno == EINTR) {
			p->connecting = 1;
			continue;
		}
		fp_log("connection %ld: target port %d: %s", p->id, fp_target_port,
		    strerror(errno));
		fp_pair_close(k);
	}
}

/* Which fds of pair p poll() watches, and for what; -1 leaves one out. */
static void
fp_pair_events(struct fp_pair *p, struct pollfd *pfd)
{
	short ev[2];
	int i;

	pfd[0].fd = p->fd[0];
	pfd[1].fd = p->fd[1];
	pfd[0].revents = pfd[1].revents = 0;
	if (p->eof[0] || p->eof[1]) {
		/* Closing: only the survivor, to take what the other side sent. */
		i = p->eof[0] ? 0 : 1;
		pfd[i].fd = -1;
		pfd[1 - i].events = POLLOUT;
		return;
	}
	ev[0] = ev[1] = 0;
	if (p->connecting) {
		/* The client waits (in the kernel) until the target answered the connect. */
		pfd[0].fd = -1;
		pfd[0].events = 0;
		pfd[1].events = POLLOUT;
		return;
	}
	if (!p->doomed && p->buf[0].len < sizeof p->buf[0].data)
		ev[0] |= POLLIN;
	if (p->buf[1].len > 0)
		ev[0] |= POLLOUT;
	if (p->doomed || p->buf[1].len < sizeof p->buf[1].data)
		ev[1] |= POLLIN;
	if (p->buf[0].len > 0)
		ev[1] |= POLLOUT;
	for (i = 0; i < 2; i++) {
		/* A hung-up side stays out until it can be read to its EOF (no busy loop). */
		if (p->hup[i] && !(ev[i] & POLLIN))
			pfd[i].fd = -1;
		pfd[i].events = ev[i];
	}
}

/* Handles what poll() said about pair k. */
static void
fp_pair_io(int k, const struct pollfd *pfd, long long now)
{
	struct fp_pair *p = fp_pairs[k];
	socklen_t len;
	int i, err;

	if (p->eof[0] || p->eof[1]) {
		i = p->eof[0] ? 0 : 1;
		if (pfd[1 - i].revents != 0 && fp_flush(p, i) != 0)
			p->buf[i].len = 0;
		if (p->buf[i].len == 0)
			fp_pair_close(k);
		return;
	}
	if (p->connecting) {
		if (pfd[1].revents == 0)
			return;
		err = 0;
		len = sizeof err;
		if (getsockopt(p->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			fp_log("connection %ld: target port %d: %s", p->id, fp_target_port,
			    strerror(err));
			fp_pair_close(k);
			return;
		}
		p->connecting = 0;
		if (fp_flush(p, 0) != 0) {
			fp_pair_close(k);
			return;
		}
	} else {
		for (i = 0; i < 2; i++) {
			if (pfd[i].revents & (POLLERR | POLLNVAL)) {
				fp_pair_close(k);
				return;
			}
			if (pfd[i].revents & POLLHUP)
				p->hup[i] = 1;
			if ((pfd[i].revents & POLLOUT) && fp_flush(p, 1 - i) != 0) {
				fp_pair_close(k);
				return;
			}
		}
	}
	for (i = 0; i < 2; i++) {
		if ((pfd[i].revents & POLLIN) && fp_read(p, i, now) != 0) {
			fp_pair_close(k);
			return;
		}
		if (p->eof[i])
			break;
	}
	if (p->doomed) {
		/* The reply came (after the command went out), or the server closed. */
		if (p->eof[1] || (p->swallowed > 0 && p->buf[0].len == 0))
			fp_pair_close(k);
		return;
	}
	if (p->eof[0] || p->eof[1]) {
		i = p->eof[0] ? 0 : 1;
		if (p->buf[i].len == 0)
			fp_pair_close(k);
		else
			p->deadline = now + FP_FLUSH_MS;
	}
}

/* Doomed pairs without a reply and closing pairs that cannot flush are closed in time. */
static void
fp_deadlines(long long now)
{
	struct fp_pair *p;
	int k;

	for (k = 0; k < FP_MAX_PAIRS; k++) {
		p = fp_pairs[k];
		if (p != NULL && (p->doomed || p->eof[0] || p->eof[1]) && now >= p->deadline)
			fp_pair_close(k);
	}
}

static int
fp_listen(int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 512) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Two descriptors a pair: the soft limit goes up to the hard one, or the pairs come down. */
static void
fp_limits(void)
{
	struct rlimit rl;
	rlim_t want = 2 * FP_MAX_PAIRS + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		fp_max_pairs = rl.rlim_cur > 64 ? (int)((rl.rlim_cur - 32) / 2) : 16;
}

int
main(int argc, char **argv)
{
	static struct pollfd pfd[1 + 2 * FP_MAX_PAIRS];
	struct sigaction sa;
	const char *pidfile;
	long long now, next_check;
	int listen_port, k, hi, r;
	FILE *f;

	if (argc < 4 || argc > 5 || (listen_port = fp_port(argv[1])) < 0 ||
	    (fp_target_port = fp_port(argv[2])) < 0) {
		fprintf(stderr, "usage: faultproxy LISTEN_PORT TARGET_PORT CONTROL_FILE "
		    "[PIDFILE]\n");
		return 2;
	}
	fp_control = argv[3];
	pidfile = argc == 5 ? argv[4] : NULL;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = fp_on_signal;		/* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fp_limits();

	if ((fp_listen_fd = fp_listen(listen_port)) < 0) {
		fprintf(stderr, "faultproxy: cannot listen on 127.0.0.1:%d: %s\n", listen_port,
		    strerror(errno));
		return 1;
	}
	if (pidfile != NULL) {
		if ((f = fopen(pidfile, "w")) == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 ||
		    fclose(f) != 0) {
			fprintf(stderr, "faultproxy: %s: %s\n", pidfile, strerror(errno));
			return 1;
		}
	}
	fp_log("listening on %d -> %d", listen_port, fp_target_port);
	next_check = 0;

	while (!fp_stop) {
		now = fp_now();
		if (now >= next_check) {
			fp_control_check(now);
			next_check = now + FP_CHECK_MS;
		}
		if (fp_mode != FP_HOLD)
			fp_deadlines(now);

		pfd[0].fd = fp_listen_fd;
		pfd[0].events = fp_npairs < fp_max_pairs || fp_mode == FP_DROP ? POLLIN : 0;
		pfd[0].revents = 0;
		hi = 0;
		for (k = 0; k < FP_MAX_PAIRS; k++) {
			if (fp_pairs[k] == NULL || fp_mode == FP_HOLD) {
				pfd[1 + 2 * k].fd = pfd[2 + 2 * k].fd = -1;
				pfd[1 + 2 * k].revents = pfd[2 + 2 * k].revents = 0;
				continue;
			}
			fp_pair_events(fp_pairs[k], &pfd[1 + 2 * k]);
			hi = k + 1;
		}
		r = poll(pfd, (nfds_t)(1 + 2 * hi), FP_POLL_MS);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fp_log("poll: %s", strerror(errno));
			break;
		}
		if (r == 0)
			continue;
		now = fp_now();
		for (k = 0; k < hi; k++)
			if (fp_pairs[k] != NULL && (pfd[1 + 2 * k].revents | pfd[2 + 2 * k].revents))
				fp_pair_io(k, &pfd[1 + 2 * k], now);
		if (pfd[0].revents & POLLIN)
			fp_accept();
	}

	fp_log("stopping (%d connections open)", fp_npairs);
	fp_close_all();
	close(fp_listen_fd);
	if (pidfile != NULL)
		unlink(pidfile);
	return 0;
}
