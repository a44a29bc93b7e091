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
 * Fencing here does not depend on the postmaster: SIGKILL to its process
 * group (the watchdog starts postgres with setsid, so the postmaster leads
 * its group; an adopted one started otherwise is stopped, its children
 * found by their parent pid and killed, then itself).  SIGKILL also ends
 * stopped processes, so a frozen instance cannot acknowledge a commit
 * after it wakes up.  Every time is CLOCK_BOOTTIME.
 *
 * Output, one line per event, "kind: text": "ok:" / "warning:" when the
 * guard's view changes, "fence:" after it killed postgres (and wrote
 * pgha.fenced), "wake:" after SIGUSR1 (the watchdog wakes itself up that
 * way), "down:" when the postmaster is gone (then it exits, status 0).
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guard.h"
#include "node_files.h"

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

/* is the postmaster we guard still this process, alive? */
static bool
still_running(const PghactlProc *pm)
{
	PghactlProc now;

	return proc_stat(pm->pid, &now) && now.start_ms == pm->start_ms &&
		now.state != 'Z' && now.state != 'X';
}

/*
 * SIGKILL for the postmaster and every child.  The postmaster is stopped
 * first, so that it forks nothing more and its children keep it as their
 * parent (a dead one's would be reparented) while they are looked up.
 */
static void
kill_postgres(const PghactlProc *pm)
{
	DIR		   *d;
	struct dirent *de;

	kill(pm->pid, SIGSTOP);
	if (pm->pgrp == pm->pid)
		kill(-pm->pid, SIGKILL);
	d = opendir("/proc");
	if (d != NULL)
	{
		while ((de = readdir(d)) != NULL)
		{
			PghactlProc c;
			long		pid = atol(de->d_name);

			if (pid > 0 && pid != pm->pid && proc_stat((pid_t) pid, &c) &&
				c.ppid == pm->pid)
				kill((pid_t) pid, SIGKILL);
		}
		closedir(d);
	}
	kill(pm->pid, SIGKILL);
}

int
pghactl_cmd_guard(const PghactlSettings *st, const PghactlArgs *args)
{
	PghactlProc pm;
	PghaGuard	g;
	struct sigaction sa;
	struct pollfd fds[2];
	int			pidfd;
	int			ino;
	char		status[32];
	char		why[512];
	char		last[600] = "";
	int64_t		next_kill_ms = 0;

	(void) st;
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

	pidfd = (int) syscall(SYS_pidfd_open, pm.pid, 0);
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
		if (got_usr1)
		{
			got_usr1 = 0;
			printf("wake: \n");
		}
		if (!still_running(&pm))
		{
			printf("down: postgres (pid %d) is not running\n", (int) pm.pid);
			return PGHACTL_EXIT_OK;
		}
		pghactl_postmaster_proc(args->pgdata, &(PghactlProc) {0}, status, sizeof(status));
		pgha_guard_observe(&g, pgha_heartbeat_read(args->pgdata, &hb, errbuf, sizeof(errbuf)) ? &hb : NULL);
		now = pgha_boottime_ms();
		act = pgha_guard_decide(&g, now, strcmp(status, "stopping") == 0,
								&wake, &level, why, sizeof(why));
		if (act == PGHA_GUARD_KILL)
		{
			if (now >= next_kill_ms)
			{
				kill_postgres(&pm);
				if (!pgha_write_file_replace(args->pgdata, PGHA_FENCED_FILE,
											 "keeper heartbeat past its fencing deadline\n",
											 errbuf, sizeof(errbuf)))
					fprintf(stderr, "pghactl: %s\n", errbuf);
				printf("fence: %s; killed postgres (pid %d%s)\n", why, (int) pm.pid,
					   pm.pgrp == pm.pid ? " and its process group" : " and its children");
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
		if (ino >= 0)
		{
			char		evbuf[4096];

			while (read(ino, evbuf, sizeof(evbuf)) > 0)
				;
			if (g.deadline_ms == 0)
			{
				fds[nfds].fd = ino;
				fds[nfds++].events = POLLIN;
			}
		}
		poll(fds, nfds, timeout);
	}
}
