/*
 * broker.c — the PAM broker (see broker.h): the supervisor and its workers,
 * and the HTTP process's side of their channels.
 *
 * Channels.  The supervisor makes each worker's socketpair itself, forks the
 * worker with one end and sends the other to the HTTP process over a control
 * socket (SCM_RIGHTS), then closes both of its copies.  So the only holders
 * of a channel are one worker and the HTTP process: when the worker dies,
 * the HTTP side reads EOF at once (a request in flight is answered
 * UNAVAILABLE), and the replacement arrives on the control socket as a new
 * channel for the same slot.  The HTTP side takes those messages whenever it
 * borrows a channel.  Closing the control socket (or the HTTP process dying:
 * PR_SET_PDEATHSIG) stops the supervisor, which kills its workers; a worker
 * whose supervisor dies is killed by its own PR_SET_PDEATHSIG.
 *
 * Privilege.  Started as root, the broker stays root: pam_unix reads
 * /etc/shadow itself only as root (otherwise it asks the setgid helper
 * unix_chkpwd, which checks only the caller's own password), pam_faillock
 * writes its tally files, pam_sss uses sssd's privileged pipe.  Which
 * capabilities a site's PAM stack needs is not knowable here, so none is
 * dropped; what the broker does is bounded instead: three request types,
 * size-checked frames, its own failure throttle, no network, no store.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "broker_throttle.h"
#include "broker_wire.h"
#include "config.h"
#include "log.h"
#include "pam.h"
#include "util.h"

/* First fd a broker process keeps besides 0..2. */
#define KEEP_FD 3
/* How often a thread waiting for a free channel looks for new ones. */
#define BORROW_POLL_MS 100
/* A worker's PAM call may outlive the HTTP side's wait by this much. */
#define WORKER_ALARM_SLACK_S 5

/* The control socket's one message: slot and pid, with the channel's fd. */
struct ctl_msg {
	uint32_t slot;
	int32_t pid;
};

/* ---- helpers both sides use ------------------------------------------- */

/* 0 when fd is readable before deadline_ms (now_ms()), -1 otherwise. */
static int
wait_readable(int fd, uint64_t deadline_ms)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ms(), left;
		int rc;

		if (now >= deadline_ms)
			return -1;
		left = deadline_ms - now;
		rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc > 0)
			return 0;
		if (rc == 0 || errno != EINTR)
			return -1;
	}
}

/* Exactly n bytes; -1 on EOF, error, or deadline_ms (0: none) passing. */
static int
read_full(int fd, void *buf, size_t n, uint64_t deadline_ms)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t k;

		if (deadline_ms != 0 && wait_readable(fd, deadline_ms) != 0)
			return -1;
		k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
write_full(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void
set_handler(int sig, void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/*
 * A broker process keeps stdin on /dev/null, stdout, stderr (the log) and
 * fd (moved to KEEP_FD, close-on-exec so no helper a PAM module runs
 * inherits it); every other descriptor — the listen socket, the other
 * channels — is closed.  It also dies with parent (PR_SET_PDEATHSIG) and
 * cannot be dumped or ptraced by the HTTP process's user.
 */
static int
become_broker_process(int fd, int deathsig, pid_t parent)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (nul >= 0 && nul != STDIN_FILENO)
		dup2(nul, STDIN_FILENO);
	if (fd != KEEP_FD) {
		if (dup3(fd, KEEP_FD, O_CLOEXEC) < 0)
			return -1;
	} else if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		return -1;
	}
	if (close_range(KEEP_FD + 1, ~0U, 0) != 0)
		return -1;
	if (prctl(PR_SET_DUMPABLE, 0) != 0 || prctl(PR_SET_PDEATHSIG, deathsig) != 0)
		return -1;
	/* The parent may have died before the line above: then no signal comes. */
	if (getppid() != parent)
		return -1;
	set_handler(SIGPIPE, SIG_IGN);
	set_handler(SIGINT, SIG_IGN);   /* ^C reaches the whole process group: serve decides */
	set_handler(SIGHUP, SIG_IGN);
	return 0;
}

/* ---- worker ------------------------------------------------------------- */

/* The reply buffer: a reply may carry every group (≈ 270 KiB). */
static unsigned char reply_buf[BROKER_LEN_BYTES + IDB_BROKER_MAX_FRAME];

static enum auth_result
worker_authenticate(const char *service, struct broker_throttle *throttle,
    const struct broker_request *q, unsigned *delay_r, struct identity *id)
{
	char vb[LOG_SAFE_BUF];
	enum auth_result r;
	int64_t now = (int64_t)time(NULL);

	if (broker_throttle_blocked(throttle, q->user, now)) {
		log_warn("pam broker: too many failed sign-ins for %s: refused without asking PAM",
		    log_safe(vb, sizeof(vb), q->user));
		return AUTH_BAD_CREDENTIALS;
	}
	r = idb_pam_sign_in(service, q->user, q->password, q->password_len,
	    q->rhost[0] != '\0' ? q->rhost : NULL, delay_r, id);
	if (r == AUTH_BAD_CREDENTIALS || r == AUTH_UNKNOWN_USER)
		broker_throttle_note(throttle, q->user, true, now);
	else if (r == AUTH_OK || r == AUTH_DISABLED || r == AUTH_EXPIRED)
		broker_throttle_note(throttle, q->user, false, now);  /* the password was right */
	return r;
}

/* One request's answer into reply_buf; its size. */
static size_t
worker_answer(const char *service, struct broker_throttle *throttle,
    const struct broker_request *q)
{
	struct identity id = { 0 };
	enum auth_result r = AUTH_INTERNAL;
	unsigned delay_us = 0;
	size_t n;

	switch (q->type) {
	case BROKER_MSG_AUTHENTICATE:
		r = worker_authenticate(service, throttle, q, &delay_us, &id);
		break;
	case BROKER_MSG_ACCOUNT:
		r = idb_pam_account(service, q->user, q->rhost[0] != '\0' ? q->rhost : NULL, &id);
		break;
	case BROKER_MSG_GROUPS:
		r = idb_pam_identity(q->user, &id);
		break;
	case BROKER_MSG_RESULT:
		break;
	}
	n = broker_encode_result(reply_buf, sizeof(reply_buf), r, delay_us, &id);
	if (n == 0) {
		/* A name or group past the wire's limits: refused, never cropped. */
		log_err("pam broker: the identity is over the reply's limits");
		n = broker_encode_result(reply_buf, sizeof(reply_buf), AUTH_INTERNAL, delay_us,
		    NULL);
	}
	identity_free(&id);
	return n;
}

/*
 * One request at a time until the channel closes.  A frame that is too
 * long, malformed or of a type not allowed ends the worker: the HTTP side
 * sees EOF and the supervisor starts a new one on a new channel.
 */
static void __attribute__((noreturn))
worker_main(int fd, const char *service, struct broker_throttle *throttle, pid_t parent)
{
	unsigned char frame[BROKER_MAX_REQUEST];
	struct broker_request q;
	size_t len, n;
	sigset_t none;
	int status = 1;

	set_handler(SIGTERM, SIG_DFL);
	set_handler(SIGCHLD, SIG_DFL);  /* pam_unix waits for unix_chkpwd */
	set_handler(SIGALRM, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (become_broker_process(fd, SIGKILL, parent) != 0)
		_exit(1);
	for (;;) {
		if (read_full(KEEP_FD, frame, BROKER_LEN_BYTES, 0) != 0) {
			status = 0;  /* the HTTP side closed the channel */
			break;
		}
		if (broker_frame_length(frame, &len) != 0 ||
		    len > sizeof(frame) - BROKER_LEN_BYTES ||
		    read_full(KEEP_FD, frame + BROKER_LEN_BYTES, len, 0) != 0 ||
		    broker_decode_request(frame + BROKER_LEN_BYTES, len, &q) != 0) {
			log_err("pam broker: a malformed request: closing the channel");
			break;
		}
		explicit_bzero(frame, sizeof(frame));
		/*
		 * A module that hangs must not keep the slot forever: SIGALRM
		 * (default action) ends the worker a little after the HTTP side
		 * gave up, and the supervisor starts a new one.
		 */
		alarm(IDB_BROKER_REPLY_TIMEOUT_S + WORKER_ALARM_SLACK_S);
		n = worker_answer(service, throttle, &q);
		alarm(0);
		explicit_bzero(&q, sizeof(q));
		if (write_full(KEEP_FD, reply_buf, n) != 0)
			break;
		explicit_bzero(reply_buf, n);
	}
	explicit_bzero(frame, sizeof(frame));
	explicit_bzero(&q, sizeof(q));
	_exit(status);
}

/* ---- supervisor --------------------------------------------------------- */

struct worker_slot {
	pid_t pid;               /* 0: not running */
	uint64_t started_ms;
	uint64_t restart_at_ms;  /* 0: no restart pending */
};

struct supervisor {
	int ctl;                 /* to the HTTP process */
	int sigfd;               /* SIGCHLD, SIGTERM */
	unsigned n;
	char service[256];
	struct broker_throttle *throttle;
	struct worker_slot w[IDB_BROKER_MAX_WORKERS];
};

static int
send_channel(int ctl, unsigned slot, pid_t pid, int fd)
{
	struct ctl_msg m = { .slot = slot, .pid = pid };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
	    .msg_controllen = sizeof(c.buf) };
	struct cmsghdr *cm;
	ssize_t k;

	memset(&c, 0, sizeof(c));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	do
		k = sendmsg(ctl, &msg, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	return k == (ssize_t)sizeof(m) ? 0 : -1;
}

/* A worker for slot i on a new channel, handed to the HTTP process. */
static int
spawn_worker(struct supervisor *s, unsigned i)
{
	pid_t self = getpid(), pid;
	int sv[2], r = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		log_err("pam broker: socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_err("pam broker: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		worker_main(sv[1], s->service, s->throttle, self);
	s->w[i] = (struct worker_slot){ .pid = pid, .started_ms = now_ms() };
	if (send_channel(s->ctl, i, pid, sv[0]) != 0)
		goto out;  /* the HTTP side is gone: the main loop sees it */
	r = 0;
out:
	close(sv[0]);
	close(sv[1]);
	return r;
}

static void
describe_exit(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
}

/* Reap dead workers; each slot restarts, no sooner than RESTART_MIN after its start. */
static void
reap(struct supervisor *s)
{
	char how[64];
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < s->n; i++) {
			uint64_t earliest = s->w[i].started_ms + IDB_BROKER_RESTART_MIN_MS;

			if (s->w[i].pid != pid)
				continue;
			describe_exit(status, how, sizeof(how));
			log_warn("pam broker: worker %u (pid %d) %s: restarting it", i, (int)pid,
			    how);
			s->w[i].pid = 0;
			s->w[i].restart_at_ms = earliest > now_ms() ? earliest : now_ms();
		}
	}
}

/* Start what is due; the poll timeout until the next one (-1: none). */
static int
restart_due(struct supervisor *s)
{
	uint64_t now = now_ms(), next = 0;

	for (unsigned i = 0; i < s->n; i++) {
		uint64_t at = s->w[i].restart_at_ms;

		if (at == 0)
			continue;
		if (at <= now) {
			s->w[i].restart_at_ms = 0;
			if (spawn_worker(s, i) == 0)
				log_info("pam broker: worker %u restarted as pid %d", i,
				    (int)s->w[i].pid);
			else
				s->w[i].restart_at_ms = now + IDB_BROKER_RESTART_MIN_MS;
			continue;
		}
		if (next == 0 || at < next)
			next = at;
	}
	return next == 0 ? -1 : (int)(next - now);
}

static void
stop_workers(struct supervisor *s)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->w[i].pid > 0)
			kill(s->w[i].pid, SIGKILL);  /* they hold nothing worth a clean exit */
	for (unsigned i = 0; i < s->n; i++)
		if (s->w[i].pid > 0)
			while (waitpid(s->w[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
}

/* Returns when told to stop: SIGTERM, or the HTTP process closed the control socket. */
static void
supervise(struct supervisor *s)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = s->ctl, .events = POLLIN },
		    { .fd = s->sigfd, .events = POLLIN } };
		struct signalfd_siginfo si;
		int timeout = restart_due(s);

		if (poll(p, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		/* The HTTP side never writes: readable or hung up both mean it is gone. */
		if (p[0].revents != 0)
			return;
		if ((p[1].revents & POLLIN) == 0)
			continue;
		if (read(s->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			continue;
		if (si.ssi_signo == SIGTERM)
			return;
		reap(s);
	}
}

static void __attribute__((noreturn))
supervisor_main(int ctl, const struct config *cfg, pid_t parent)
{
	static struct supervisor s;
	sigset_t set;

	s.n = cfg->pam.workers > 0 ? cfg->pam.workers : IDB_BROKER_DEFAULT_WORKERS;
	if (s.n > IDB_BROKER_MAX_WORKERS ||
	    (size_t)snprintf(s.service, sizeof(s.service), "%s", cfg->pam.service != NULL ?
	    cfg->pam.service : "idbridge") >= sizeof(s.service))
		_exit(1);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (become_broker_process(ctl, SIGTERM, parent) != 0)
		_exit(1);
	s.ctl = KEEP_FD;
	if ((s.sigfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0 ||
	    (s.throttle = broker_throttle_new()) == NULL) {
		log_err("pam broker: cannot start: %s", strerror(errno));
		_exit(1);
	}
	for (unsigned i = 0; i < s.n; i++)
		if (spawn_worker(&s, i) != 0) {
			stop_workers(&s);
			_exit(1);
		}
	supervise(&s);
	stop_workers(&s);
	_exit(0);
}

/* ---- the HTTP process's side ------------------------------------------- */

struct channel {
	int fd;          /* -1: its worker is gone and no replacement came yet */
	pid_t pid;
	int next_fd;     /* a replacement that came while the channel was busy */
	pid_t next_pid;
	bool busy;       /* lent to one request */
};

struct broker {
	pid_t pid;       /* the supervisor */
	int ctl;
	bool ctl_closed; /* the supervisor is gone: no more replacements */
	unsigned n;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct channel ch[IDB_BROKER_MAX_WORKERS];
};

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A new channel for slot m->slot (under the lock, or before threads exist). */
static void
install(struct broker *b, const struct ctl_msg *m, int fd)
{
	struct channel *c;

	if (m->slot >= b->n || m->pid <= 0) {
		log_err("pam broker: a channel for an unknown slot %u", (unsigned)m->slot);
		close(fd);
		return;
	}
	c = &b->ch[m->slot];
	if (c->busy) {
		close_fd(&c->next_fd);
		c->next_fd = fd;
		c->next_pid = m->pid;
		return;
	}
	close_fd(&c->fd);
	c->fd = fd;
	c->pid = m->pid;
}

/* 1: a channel was installed; 0: nothing waiting; -1: the supervisor is gone. */
static int
take_ctl_message(struct broker *b, int flags)
{
	struct ctl_msg m;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
	    .msg_controllen = sizeof(c.buf) };
	struct cmsghdr *cm;
	ssize_t k;
	int fd = -1;

	if (b->ctl_closed)
		return -1;
	do
		k = recvmsg(b->ctl, &msg, flags | MSG_CMSG_CLOEXEC);
	while (k < 0 && errno == EINTR);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (k <= 0) {
		b->ctl_closed = true;
		return -1;
	}
	cm = CMSG_FIRSTHDR(&msg);
	if (cm != NULL && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (fd < 0 || k != (ssize_t)sizeof(m) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		log_err("pam broker: a malformed control message");
		if (fd >= 0)
			close(fd);
		return 0;
	}
	install(b, &m, fd);
	return 1;
}

/* An idle channel whose worker hung up (a worker never speaks unasked). */
static bool
idle_channel_dead(const struct channel *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

/* A free live channel's index, or -1 (under the lock). */
static int
pick_channel(struct broker *b)
{
	while (take_ctl_message(b, MSG_DONTWAIT) > 0)
		;
	for (unsigned i = 0; i < b->n; i++) {
		struct channel *c = &b->ch[i];

		if (c->busy || c->fd < 0)
			continue;
		if (idle_channel_dead(c)) {
			close_fd(&c->fd);
			continue;
		}
		c->busy = true;
		return (int)i;
	}
	return -1;
}

/* A channel lent to the caller, or -1 after IDB_BROKER_BORROW_TIMEOUT_MS. */
static int
borrow(struct broker *b)
{
	uint64_t deadline = now_ms() + IDB_BROKER_BORROW_TIMEOUT_MS;
	int i;

	pthread_mutex_lock(&b->lock);
	while ((i = pick_channel(b)) < 0 && now_ms() < deadline) {
		struct timespec ts;

		/* Wake up now and then: a replacement arrives on the socket, not the condvar. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += BORROW_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&b->freed, &b->lock, &ts);
	}
	pthread_mutex_unlock(&b->lock);
	return i;
}

static void
give_back(struct broker *b, int i, bool broken)
{
	struct channel *c = &b->ch[i];

	pthread_mutex_lock(&b->lock);
	if (broken || c->next_fd >= 0)
		close_fd(&c->fd);
	if (c->next_fd >= 0) {
		c->fd = c->next_fd;
		c->pid = c->next_pid;
		c->next_fd = -1;
	}
	c->busy = false;
	pthread_cond_signal(&b->freed);
	pthread_mutex_unlock(&b->lock);
}

/* The reply to one request; false when the channel broke (EOF, timeout, garbage). */
static bool
exchange(int fd, const unsigned char *req, size_t req_len, enum auth_result *r_r,
    uint32_t *delay_r, struct identity *id_r)
{
	uint64_t deadline = now_ms() + IDB_BROKER_REPLY_TIMEOUT_S * 1000ULL;
	unsigned char len_bytes[BROKER_LEN_BYTES];
	unsigned char *body = NULL;
	size_t len = 0;
	bool ok = false;

	if (write_full(fd, req, req_len) != 0 ||
	    read_full(fd, len_bytes, sizeof(len_bytes), deadline) != 0)
		goto out;
	if (broker_frame_length(len_bytes, &len) != 0 || (body = malloc(len)) == NULL ||
	    read_full(fd, body, len, deadline) != 0)
		goto out;
	if (broker_decode_result(body, len, r_r, delay_r, id_r) != 0) {
		log_err("pam broker: a malformed reply: closing the channel");
		goto out;
	}
	ok = true;
out:
	free(body);
	return ok;
}

/* Send a whole request frame, wait for the reply. */
static enum auth_result
broker_call(struct broker *b, const unsigned char *req, size_t req_len,
    uint32_t *delay_r, struct identity *id_r)
{
	enum auth_result r = AUTH_UNAVAILABLE;
	bool ok;
	int i;

	*delay_r = 0;
	memset(id_r, 0, sizeof(*id_r));
	if (b == NULL || req_len == 0)
		return req_len == 0 ? AUTH_INTERNAL : AUTH_UNAVAILABLE;
	if ((i = borrow(b)) < 0) {
		log_err("pam broker: no worker was free within %d ms",
		    IDB_BROKER_BORROW_TIMEOUT_MS);
		return AUTH_UNAVAILABLE;
	}
	ok = exchange(b->ch[i].fd, req, req_len, &r, delay_r, id_r);
	if (!ok) {
		/* EOF (the worker died), a timeout or garbage: this channel is done. */
		log_err("pam broker: worker %d (pid %d) did not answer: the sign-in is unavailable",
		    i, (int)b->ch[i].pid);
		r = AUTH_UNAVAILABLE;
	}
	give_back(b, i, !ok);
	return r;
}

/* An address that cannot be one (over INET6_ADDRSTRLEN) is left out, not cut. */
static const char *
usable_rhost(const char *rhost)
{
	if (rhost != NULL &&
	    strnlen(rhost, IDB_BROKER_MAX_RHOST_LEN + 1) > IDB_BROKER_MAX_RHOST_LEN)
		return NULL;
	return rhost;
}

enum auth_result
broker_authenticate(struct broker *b, const char *user, const char *password,
    size_t password_len, const char *rhost, unsigned *fail_delay_us_r, struct identity *id_r)
{
	unsigned char req[BROKER_MAX_REQUEST];
	uint32_t delay = 0;
	enum auth_result r;
	size_t n;

	rhost = usable_rhost(rhost);
	n = broker_encode_authenticate(req, sizeof(req), user, password, password_len, rhost);
	r = broker_call(b, req, n, &delay, id_r);
	explicit_bzero(req, sizeof(req));
	if (fail_delay_us_r != NULL)
		*fail_delay_us_r = delay;
	return r;
}

enum auth_result
broker_account(struct broker *b, const char *user, const char *rhost, struct identity *id_r)
{
	unsigned char req[BROKER_MAX_REQUEST];
	uint32_t delay;
	size_t n;

	rhost = usable_rhost(rhost);
	n = broker_encode_account(req, sizeof(req), user, rhost);
	return broker_call(b, req, n, &delay, id_r);
}

unsigned
broker_workers_alive(struct broker *b)
{
	unsigned alive = 0;

	if (b == NULL)
		return 0;
	pthread_mutex_lock(&b->lock);
	while (take_ctl_message(b, MSG_DONTWAIT) > 0)
		;
	for (unsigned i = 0; i < b->n; i++) {
		struct channel *c = &b->ch[i];

		if (c->busy) {
			alive++;
		} else if (c->fd >= 0) {
			if (idle_channel_dead(c))
				close_fd(&c->fd);
			else
				alive++;
		}
	}
	if (b->ctl_closed)
		alive = 0;  /* no supervisor: nothing restarts what dies next */
	pthread_mutex_unlock(&b->lock);
	return alive;
}

pid_t
broker_pid(const struct broker *b)
{
	return b != NULL ? b->pid : -1;
}

/* The first channel of every slot, within IDB_BROKER_START_TIMEOUT_S. */
static int
await_workers(struct broker *b, char **err_r)
{
	uint64_t deadline = now_ms() + IDB_BROKER_START_TIMEOUT_S * 1000ULL;
	char pids[IDB_BROKER_MAX_WORKERS * 12 + 1] = "";
	size_t used = 0;

	for (unsigned i = 0; i < b->n; i++)
		while (b->ch[i].fd < 0) {
			if (wait_readable(b->ctl, deadline) != 0 || take_ctl_message(b, 0) < 0) {
				*err_r = strdup("the PAM broker did not start its workers "
				    "(see the log)");
				return -1;
			}
		}
	for (unsigned i = 0; i < b->n; i++)
		used += (size_t)snprintf(pids + used, sizeof(pids) - used, " %d",
		    (int)b->ch[i].pid);
	log_info("pam broker: supervisor pid %d, workers pids%s", (int)b->pid, pids);
	return 0;
}

struct broker *
broker_start(const struct config *cfg, char **err_r)
{
	struct broker *b;
	pid_t self = getpid();
	int sv[2] = { -1, -1 };

	*err_r = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		goto fail;
	b->ctl = -1;
	b->n = cfg->pam.workers > 0 ? cfg->pam.workers : IDB_BROKER_DEFAULT_WORKERS;
	if (b->n > IDB_BROKER_MAX_WORKERS)
		b->n = IDB_BROKER_MAX_WORKERS;
	for (unsigned i = 0; i < IDB_BROKER_MAX_WORKERS; i++)
		b->ch[i] = (struct channel){ .fd = -1, .next_fd = -1 };
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->freed, NULL);
	/* SEQPACKET: each control message arrives whole, with its descriptor. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		goto fail;
	fflush(NULL);  /* nothing buffered may be written twice */
	if ((b->pid = fork()) < 0)
		goto fail;
	if (b->pid == 0) {
		close(sv[0]);
		supervisor_main(sv[1], cfg, self);
	}
	close(sv[1]);
	b->ctl = sv[0];
	if (await_workers(b, err_r) != 0) {
		broker_stop(b);
		return NULL;
	}
	return b;
fail:
	if (asprintf(err_r, "cannot start the PAM broker: %s", strerror(errno)) < 0)
		*err_r = NULL;
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	if (b != NULL) {
		pthread_mutex_destroy(&b->lock);
		pthread_cond_destroy(&b->freed);
	}
	free(b);
	return NULL;
}

/* Wait for the supervisor; SIGKILL after IDB_BROKER_STOP_TIMEOUT_MS. */
static void
reap_supervisor(pid_t pid)
{
	uint64_t deadline = now_ms() + IDB_BROKER_STOP_TIMEOUT_MS;
	const struct timespec tick = { .tv_sec = 0, .tv_nsec = 20 * 1000000L };

	while (now_ms() < deadline) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;
		nanosleep(&tick, NULL);
	}
	log_err("pam broker: the supervisor (pid %d) did not stop: killing it", (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

void
broker_stop(struct broker *b)
{
	if (b == NULL)
		return;
	/*
	 * A root broker ignores our signals (we dropped privileges): closing the
	 * control socket is what tells it to stop.  SIGTERM is for the case
	 * where we still may.
	 */
	close_fd(&b->ctl);
	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		reap_supervisor(b->pid);
	}
	for (unsigned i = 0; i < IDB_BROKER_MAX_WORKERS; i++) {
		close_fd(&b->ch[i].fd);
		close_fd(&b->ch[i].next_fd);
	}
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->freed);
	free(b);
}
