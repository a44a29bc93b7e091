/*-------------------------------------------------------------------------
 *
 * cmd_guard.c
 *	  pghactl guard: the watchdog's long-running hung-keeper guard.
 *
 * pgha-watchdog starts one per postmaster run, reads its output lines and
 * otherwise sleeps.  The guard sleeps too: it wakes when the postmaster
 * exits (pidfd) and, armed, at the one time that matters, the fencing
 * deadline + PGHA_GUARD_GRACE_MS (a healthy keeper has moved it by then:
 * one wakeup every ~ttl); disarmed, when the keeper renames a new heartbeat
 * into PGDATA (inotify), which may arm it.  No timer ticks while nothing
 * changes.  The decisions are pgha_guard_decide()'s
 * (src/common/policy/guard.c, unit-tested); this file carries them out.
 *
 * Fencing here does not depend on the postmaster: it is stopped, its
 * children (each in a session of its own) are found by their parent pid
 * and SIGKILLed, then the postmaster and its process group, then any
 * postgres process still working in PGDATA (kill_postgres).  SIGKILL also
 * ends stopped processes, so a frozen instance cannot acknowledge a commit
 * after it wakes up.  Every time is CLOCK_BOOTTIME.
 *
 * Output, one line per event, "kind: text": "ok:" / "warning:" when the
 * guard's view changes, "keys:" when its early read of the keys failed,
 * "fence:" after it killed postgres (and wrote pgha.fenced), "wake:" after
 * SIGUSR1 (the watchdog wakes itself up that way), "down:" when the
 * postmaster is gone (then it exits, status 0).
 *
 * Given the node's settings (-c), the guard hands the leader key over as
 * soon as node-plan's rules say so (pgha_node_plan()'s "release": a clean
 * stop, a switchover, a fence): it publishes the final WAL position and
 * deletes the key, as leader-release does.  A primary shutting down is
 * released when its control file says "shut down": the shutdown
 * checkpoint, the last WAL record, is written then, and nothing can write
 * more; the walsenders still send it and the dead-end children exit, for
 * another ~0.5 s, while the candidate (which waits until it has received
 * that record) takes over.  The guard wakes for it when the checkpointer
 * rewrites global/pg_control (inotify: at a checkpoint, never at idle).
 * It reads the cluster's keys when the postmaster starts to shut down (its
 * pid file says "stopping"), over a connection it keeps, so that the
 * release at the shutdown checkpoint is one request on an open connection.
 * Otherwise (fenced) the release comes when the postmaster is gone,
 * before the "down:" line.  "release:" says it was done.  The watchdog's
 * plan still releases the key when this could not (etcd unreachable), and
 * a crashed primary (not shut down, not fenced) keeps it, as there.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "controlfile.h"
#include "guard.h"
#include "node_files.h"
#include "node_plan.h"

static volatile sig_atomic_t got_usr1 = 0;
static volatile sig_atomic_t got_term = 0;

static void
on_usr1(int signo)
{
	(void) signo;
	got_usr1 = 1;
}

static void
on_term(int signo)
{
	(void) signo;
	got_term = 1;
}

/* fields of /proc/PID/stat; false when there is no such process */
static bool
proc_stat(pid_t pid, PghactlProc *p)
{
	char		path[64];
	char		buf[1024];
	FILE	   *f;
	size_t		n;
	char	   *open,
			   *close,
			   *tok,
			   *save;
	int			field;

	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	open = strchr(buf, '(');
	close = strrchr(buf, ')');
	if (open == NULL || close == NULL || close < open)
		return false;
	snprintf(p->comm, sizeof(p->comm), "%.*s", (int) (close - open - 1), open + 1);
	/* after ") ": field 3 (state) onwards */
	field = 3;
	for (tok = strtok_r(close + 1, " ", &save); tok != NULL;
		 tok = strtok_r(NULL, " ", &save), field++)
	{
		if (field == 3)
			p->state = tok[0];
		else if (field == 4)
			p->ppid = (pid_t) atol(tok);
		else if (field == 5)
			p->pgrp = (pid_t) atol(tok);
		else if (field == 22)
		{
			/* clock ticks since boot: CLOCK_BOOTTIME */
			p->start_ms = (int64_t) strtoll(tok, NULL, 10) * 1000 / sysconf(_SC_CLK_TCK);
			break;
		}
	}
	p->pid = pid;
	return field == 22;
}

bool
pghactl_postmaster_proc(const char *pgdata, PghactlProc *p, char *status,
						size_t statuslen)
{
	char	   *text = pgha_read_small_file(pgdata, "postmaster.pid", 4096);
	char	   *line;
	long		pid;
	int			i;

	if (status != NULL && statuslen > 0)
		status[0] = '\0';
	if (text == NULL)
		return false;
	pid = atol(text);
	/* line 8: the postmaster's status ("starting", "ready", "stopping", ...) */
	line = text;
	for (i = 0; i < 7 && line != NULL; i++)
	{
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	if (line != NULL && status != NULL)
		snprintf(status, statuslen, "%.*s", (int) strcspn(line, " \n"), line);
	free(text);
	if (pid <= 0 || !proc_stat((pid_t) pid, p))
		return false;
	/* a reused pid (stale file), or a dead postmaster not yet reaped */
	return strcmp(p->comm, "postgres") == 0 && p->state != 'Z' && p->state != 'X';
}

/* read every pending inotify event of fd (-1: none) */
static void
drain(int fd)
{
	char		evbuf[4096];

	if (fd >= 0)
		while (read(fd, evbuf, sizeof(evbuf)) > 0)
			;
}

/* is the postmaster we guard still this process, alive? */
static bool
still_running(const PghactlProc *pm)
{
	PghactlProc now;

	return proc_stat(pm->pid, &now) && now.start_ms == pm->start_ms &&
		now.state != 'Z' && now.state != 'X';
}

/*
 * SIGKILL every process that is the child of ppid (when ppid > 0), or a
 * postgres process working in the directory cwd (when cwd is not NULL).
 */
static void
kill_matching(pid_t ppid, const char *cwd)
{
	DIR		   *d;
	struct dirent *de;

	d = opendir("/proc");
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
	{
		PghactlProc c;
		long		pid = atol(de->d_name);
		char		link[64];
		char		dir[PATH_MAX];
		ssize_t		n;

		if (pid <= 0 || pid == (long) getpid() || !proc_stat((pid_t) pid, &c))
			continue;
		if (ppid > 0 && c.ppid == ppid)
		{
			kill((pid_t) pid, SIGKILL);
			continue;
		}
		if (cwd == NULL || strcmp(c.comm, "postgres") != 0)
			continue;
		snprintf(link, sizeof(link), "/proc/%ld/cwd", pid);
		n = readlink(link, dir, sizeof(dir) - 1);
		if (n <= 0)
			continue;
		dir[n] = '\0';
		if (strcmp(dir, cwd) == 0)
			kill((pid_t) pid, SIGKILL);
	}
	closedir(d);
}

/*
 * SIGKILL for the postmaster and every child.  The postmaster is stopped
 * first, so that it forks nothing more, and its children are killed
 * before it, while it is still their parent: postgres' children each run
 * in a session of their own (InitPostmasterChild), so the postmaster's
 * process group holds the postmaster alone, and a child whose postmaster
 * died first is reparented and no longer found by its parent.  Then, by
 * their working directory (postgres works in PGDATA), any process of this
 * instance left over that way: stopped ones woke up later and wrote into
 * the next instance's data directory (chaos, instance_stop).
 */
static void
kill_postgres(const char *pgdata, const PghactlProc *pm)
{
	char		dir[PATH_MAX];

	kill(pm->pid, SIGSTOP);
	kill_matching(pm->pid, NULL);
	if (pm->pgrp == pm->pid)
		kill(-pm->pid, SIGKILL);
	kill(pm->pid, SIGKILL);
	if (realpath(pgdata, dir) != NULL)
		kill_matching(0, dir);
}

/* the node's settings are there (-c): name, scope, endpoints */
static bool
have_settings(const PghactlSettings *st)
{
	return pghactl_conf_get(st, PS_NODE_NAME) != NULL &&
		pghactl_conf_get(st, PS_SCOPE) != NULL &&
		pghactl_conf_get(st, PS_ENDPOINTS) != NULL;
}

/*
 * The cluster's keys, read when postgres starts to shut down, for the
 * release at its shutdown checkpoint: that read and the connection it
 * opens (kept: pghactl_keep_client()) are then done, and the release is
 * one request, ~50 ms sooner on a busy 2-core machine.  The release's
 * transaction is what guards the key (it names this node, on its lease),
 * so keys ~0.1 s old decide nothing the transaction would not check.  The
 * read gets GUARD_EARLY_READ_MS at most: a guard waiting on etcd does not
 * watch its postmaster, and without the keys the release reads them.
 */
#define GUARD_EARLY_READ_MS 300

static bool
read_keys_early(const PghactlSettings *st, EtcdKVList *keys)
{
	char		prefix[PGHACTL_PREFIX_LEN];
	EtcdClient *client;
	EtcdError	err;
	bool		ok;
	int			rc;

	if (!have_settings(st) ||
		pghactl_prefix(st, prefix, sizeof(prefix)) != PGHACTL_EXIT_OK ||
		(client = pghactl_client(st, &rc)) == NULL)
		return false;
	etcd_client_set_deadline(client, etcd_now_ms() + GUARD_EARLY_READ_MS);
	ok = etcd_get_prefix(client, prefix, keys, &err) == ETCD_OK;
	etcd_client_set_deadline(client, 0);
	pghactl_client_done(client);
	if (!ok)
		printf("keys: not read as the shutdown began (%d ms at most), the release reads them: %s\n",
			   GUARD_EARLY_READ_MS, err.message);
	return ok;
}

/*
 * Release the leader key now if the node's plan says so (see the header).
 * The plan comes from keys (read earlier) or from a read now (NULL).
 * What was done goes into msg, "" when nothing; true when released.
 */
static bool
release_if_planned(const PghactlSettings *st, const PghactlArgs *args,
				   const EtcdKVList *keys, char *msg, size_t msglen)
{
	PghaNodePlan plan;
	PghaControlData cd;
	char	   *text = NULL;
	size_t		len = 0;
	FILE	   *out;
	int64_t		t0 = pgha_boottime_ms();
	char	   *p;

	int			rc;

	msg[0] = '\0';
	if (!have_settings(st))
		return false;
	/*
	 * The plan releases only a node stopped cleanly or fenced: a crashed
	 * one is restarted at once, without waiting for etcd here.
	 */
	if (!pghactl_file_exists(args->pgdata, PGHA_FENCED_FILE) &&
		!(pghactl_control_read(args->pgdata, &cd) && cd.state == PGHA_DB_SHUT_DOWN))
		return false;
	if ((keys ? pghactl_node_plan_from(st, args, keys, &plan) :
		 pghactl_node_plan_for(st, args, false, &plan)) != PGHACTL_EXIT_OK ||
		plan.action != PGHA_PLAN_RELEASE)
		return false;
	out = open_memstream(&text, &len);
	if (out == NULL)
		return false;
	rc = pghactl_leader_release(st, args, out);
	fclose(out);
	/* one line: the messages joined */
	for (p = text; p != NULL && *p; p++)
		if (*p == '\n')
			*p = p[1] ? ';' : '\0';
	snprintf(msg, msglen, "%s (in %lld ms%s)", text ? text : "",
			 (long long) (pgha_boottime_ms() - t0),
			 keys ? ", one request: the keys were read as the shutdown began" : "");
	free(text);
	return rc == PGHACTL_EXIT_OK;
}

/*
 * A crashed postgres (not stopped cleanly, not fenced): node-plan's
 * answer, computed here, where the settings are loaded already, so that
 * the watchdog restarts it without a pghactl run of its own first (~0.1 s
 * on an idle machine, several times that on a busy one).  "; plan: LINE"
 * in out, or "" (no settings, etcd unreachable, or not a crash: the
 * watchdog asks node-plan itself then).
 */
static void
crash_plan(const PghactlSettings *st, const PghactlArgs *args,
		   char *out, size_t outlen)
{
	PghaControlData cd;
	PghaNodePlan plan;
	char		line[PGHA_URL_LEN + 32];

	out[0] = '\0';
	if (!have_settings(st) ||
		pghactl_file_exists(args->pgdata, PGHA_FENCED_FILE) ||
		!pghactl_control_read(args->pgdata, &cd) ||
		cd.state == PGHA_DB_SHUT_DOWN ||
		cd.state == PGHA_DB_SHUT_DOWN_IN_RECOVERY)
		return;
	if (pghactl_node_plan_for(st, args, false, &plan) != PGHACTL_EXIT_OK)
		return;
	pgha_node_plan_line(&plan, line, sizeof(line));
	snprintf(out, outlen, "; plan: %s", line);
}

int
pghactl_cmd_guard(const PghactlSettings *st, const PghactlArgs *args)
{
	PghactlProc pm;
	PghaGuard	g;
	struct sigaction sa;
	int			pidfd;
	int			ino;
	char		status[32];
	char		why[512];
	char		last[600] = "";
	char		msg[1024];
	bool		released = false;
	bool		early_tried = false;
	bool		keys_tried = false;
	bool		have_keys = false;
	EtcdKVList	keys;
	int			ctl;
	int64_t		next_kill_ms = 0;
	struct pollfd fds[3];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!pghactl_postmaster_proc(args->pgdata, &pm, NULL, 0))
	{
		printf("down: postgres is not running in %s\n", args->pgdata);
		return PGHACTL_EXIT_OK;
	}
	/*
	 * The guard lives as long as the postmaster, not as the watchdog: a
	 * watchdog that dies (and is restarted) leaves its postgres guarded.
	 * Lines nobody reads any more are lost (SIGPIPE ignored).
	 */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	/*
	 * libcurl (and OpenSSL, which reads its configuration) is initialized
	 * now, not at the release: there it took ~0.1 s, inside the write
	 * outage of every switchover and clean stop.  A failure shows again,
	 * with its reason, when the release makes its client.
	 */
	{
		EtcdError	err;

		(void) etcd_global_init(&err);
	}
	pghactl_keep_client();

	pidfd = (int) syscall(SYS_pidfd_open, pm.pid, 0);
	/* the checkpointer rewrites global/pg_control (see the header) */
	ctl = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ctl >= 0)
	{
		char		global[PATH_MAX];

		snprintf(global, sizeof(global), "%s/global", args->pgdata);
		if (inotify_add_watch(ctl, global, IN_CLOSE_WRITE) < 0)
		{
			close(ctl);
			ctl = -1;
		}
	}
	/* the keeper replaces its heartbeat by rename() */
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino >= 0 && inotify_add_watch(ino, args->pgdata, IN_MOVED_TO) < 0)
	{
		close(ino);
		ino = -1;
	}

	pgha_guard_init(&g, pm.start_ms);
	for (;;)
	{
		PghaHeartbeat hb;
		char		errbuf[256];
		PghaGuardVerdict level;
		PghaGuardAction act;
		int64_t		now;
		int64_t		wake;
		int			timeout;
		int			nfds = 0;
		char		line[600];

		if (got_term)
			return PGHACTL_EXIT_OK;
		/* events are consumed before the looks they ask for, none lost */
		drain(ino);
		drain(ctl);
		if (got_usr1)
		{
			got_usr1 = 0;
			printf("wake: \n");
		}
		if (!still_running(&pm))
		{
			char		plan[PGHA_URL_LEN + 64] = "";

			if (!released)
				released = release_if_planned(st, args, NULL, msg, sizeof(msg));
			else
				msg[0] = '\0';
			if (!released)
				crash_plan(st, args, plan, sizeof(plan));
			printf("down: postgres (pid %d) is not running%s%s%s\n", (int) pm.pid,
				   msg[0] ? "; " : "", msg, plan);
			if (have_keys)
				etcd_kvlist_free(&keys);
			return PGHACTL_EXIT_OK;
		}
		pghactl_postmaster_proc(args->pgdata, &(PghactlProc) {0}, status, sizeof(status));
		if (strcmp(status, "stopping") == 0 && !keys_tried)
		{
			keys_tried = true;
			have_keys = read_keys_early(st, &keys);
		}
		if (strcmp(status, "stopping") == 0 && !early_tried)
		{
			PghaControlData cd;

			if (pghactl_control_read(args->pgdata, &cd) &&
				cd.state == PGHA_DB_SHUT_DOWN)
			{
				uint64_t	ckpt = cd.checkpoint_lsn;

				/* once: a failure is retried when the postmaster is gone */
				early_tried = true;
				released = release_if_planned(st, args, have_keys ? &keys : NULL,
											  msg, sizeof(msg));
				if (have_keys)
					etcd_kvlist_free(&keys);
				have_keys = false;
				if (released)
					printf("release: postgres shut down at %X/%X, still exiting: %s\n",
						   (unsigned int) (ckpt >> 32), (unsigned int) ckpt, msg);
			}
		}
		pgha_guard_observe(&g, pgha_heartbeat_read(args->pgdata, &hb, errbuf, sizeof(errbuf)) ? &hb : NULL);
		now = pgha_boottime_ms();
		act = pgha_guard_decide(&g, now, strcmp(status, "stopping") == 0,
								&wake, &level, why, sizeof(why));
		if (act == PGHA_GUARD_KILL)
		{
			if (now >= next_kill_ms)
			{
				kill_postgres(args->pgdata, &pm);
				if (!pgha_write_file_replace(args->pgdata, PGHA_FENCED_FILE,
											 "keeper heartbeat past its fencing deadline\n",
											 errbuf, sizeof(errbuf)))
					fprintf(stderr, "pghactl: %s\n", errbuf);
				printf("fence: %s; killed postgres (pid %d) and its children\n",
					   why, (int) pm.pid);
				/* a process in uninterruptible sleep dies later: try again */
				next_kill_ms = now + 1000;
			}
			wake = now + 100;
		}
		else
		{
			snprintf(line, sizeof(line), "%s: %s",
					 level == PGHA_GUARD_WARN ? "warning" : "ok", why);
			if (strcmp(line, last) != 0)
			{
				strcpy(last, line);
				printf("%s\n", line);
			}
		}

		if (wake == INT64_MAX)
			timeout = -1;
		else
			timeout = (int) (wake - now < 0 ? 0 : (wake - now > 3600000 ? 3600000 : wake - now));
		/* without pidfd or inotify, look twice a second */
		if ((pidfd < 0 || ino < 0) && (timeout < 0 || timeout > 500))
			timeout = 500;
		/*
		 * Armed, the guard needs no notice of new heartbeats: it reads the
		 * newest one anyway when the deadline comes, and sleeps again if it
		 * moved (every ~ttl on a healthy primary).  Disarmed (a replica,
		 * maintenance mode, no heartbeat yet), a new heartbeat may arm it:
		 * every rename in PGDATA wakes it.
		 */
		if (pidfd >= 0)
		{
			fds[nfds].fd = pidfd;
			fds[nfds++].events = POLLIN;
		}
		if (ctl >= 0 && !early_tried)
		{
			fds[nfds].fd = ctl;
			fds[nfds++].events = POLLIN;
		}
		if (ino >= 0 && g.deadline_ms == 0)
		{
			fds[nfds].fd = ino;
			fds[nfds++].events = POLLIN;
		}
		poll(fds, nfds, timeout);
	}
}
