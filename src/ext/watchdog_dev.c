/*-------------------------------------------------------------------------
 *
 * watchdog_dev.c
 *	  The Linux watchdog device, as Patroni uses it (pgha.watchdog_mode,
 *	  pgha.watchdog_device, pgha.watchdog_safety_margin).
 *
 * A watchdog device (a hardware timer, or the softdog module) reboots the
 * machine unless it is written to within its timeout.  While this node is,
 * or is becoming, the leader, the keeper opens the device, sets its timeout
 * to ttl - safety_margin (WDIOC_SETTIMEOUT) and writes to it once per loop.
 * A keeper or machine that hangs stops writing, and the machine reboots
 * before the leader lease can expire in etcd, so no other node is promoted
 * while this one may still accept writes.  On demotion, fence or clean exit
 * it writes the magic 'V' before close, which disarms the device.
 *
 * required: a node whose device cannot be activated does not take or keep
 * the leader key (decide.c, watchdog_veto), and says why;
 * automatic: it warns and leads without.  The device needs a kernel driver
 * (modprobe softdog, or a hardware watchdog) and must be writable by the
 * postgres user (a udev rule, e.g. KERNEL=="watchdog", OWNER="postgres").
 *
 * Nothing here throws: every failure is a message.
 *
 *-------------------------------------------------------------------------
 */
#include "keeper_identity.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/watchdog.h>

#include "storage/ipc.h"

#include "watchdog_policy.h"

int			pgha_watchdog_mode = PGHA_WD_OFF;
char	   *pgha_watchdog_device = NULL;
int			pgha_watchdog_safety_margin = 5;

static int	wd_fd = -1;
static int	wd_timeout = 0;		/* the timeout set on the open device */
static bool exit_hook = false;
static char wd_problem[PGHA_ERR_LEN] = "";
static bool wd_refuse = false;

/* write the magic 'V' and close: the device is disarmed */
static void
wd_close(const char *why)
{
	if (wd_fd < 0)
		return;
	if (write(wd_fd, "V", 1) != 1)
		ereport(WARNING,
				(errmsg("pgha: could not disarm the watchdog device %s: %m",
						pgha_watchdog_device)));
	close(wd_fd);
	wd_fd = -1;
	wd_timeout = 0;
	ereport(LOG, (errmsg("pgha: watchdog device %s disarmed (%s)",
						 pgha_watchdog_device, why)));
}

static void
wd_exit(int code, Datum arg)
{
	wd_close("the keeper exits");
}

/* open the device and set its timeout; the verdict says whether it is good */
static void
wd_activate(const Keeper *k)
{
	PghaWatchdogAttempt a;
	char		err[256] = "";
	int			timeout;
	PghaWatchdogVerdict v;

	memset(&a, 0, sizeof(a));
	a.device = pgha_watchdog_device;
	a.loop_wait = k->cfg.loop_wait;
	a.wanted_timeout = pgha_watchdog_timeout(k->cfg.ttl, pgha_watchdog_safety_margin);
	if (wd_fd >= 0 && wd_timeout == a.wanted_timeout)
		return;					/* active with the right timeout */
	if (a.wanted_timeout >= a.loop_wait && a.wanted_timeout >= 1)
	{
		if (wd_fd < 0)
			wd_fd = open(pgha_watchdog_device, O_WRONLY | O_CLOEXEC);
		if (wd_fd < 0)
			snprintf(err, sizeof(err), "%m");
		else
		{
			timeout = a.wanted_timeout;
			if (ioctl(wd_fd, WDIOC_SETTIMEOUT, &timeout) != 0 &&
				errno != EOPNOTSUPP && errno != ENOTTY)
				snprintf(err, sizeof(err), "WDIOC_SETTIMEOUT: %m");
			else if (ioctl(wd_fd, WDIOC_GETTIMEOUT, &timeout) != 0)
				snprintf(err, sizeof(err), "WDIOC_GETTIMEOUT: %m");
			else
			{
				a.opened = true;
				a.actual_timeout = timeout;
			}
		}
	}
	a.error = err;
	v = pgha_watchdog_verdict((PghaWatchdogMode) pgha_watchdog_mode, &a,
							  wd_problem, sizeof(wd_problem));
	wd_refuse = (v == PGHA_WDV_REFUSE);
	if (!a.opened || v != PGHA_WDV_OK)
	{
		/* a device we cannot keep alive safely must not stay armed */
		if (wd_fd >= 0 && !a.opened)
		{
			close(wd_fd);
			wd_fd = -1;
		}
		else
			wd_close("unsafe timeout");
		return;
	}
	wd_timeout = a.actual_timeout;
	if (!exit_hook)
	{
		on_proc_exit(wd_exit, (Datum) 0);
		exit_hook = true;
	}
	ereport(LOG,
			(errmsg("pgha: watchdog device %s activated with a %d s timeout",
					pgha_watchdog_device, wd_timeout)));
}

/*
 * Before the decision: may this node take or keep the leader key?  Only a
 * node that could lead (a primary, or a replica while nobody else leads)
 * activates the device; false with *why in required mode when it could
 * not be activated.
 */
bool
keeper_watchdog_blocks(const Keeper *k, bool could_lead, const char **why)
{
	*why = NULL;
	wd_refuse = false;
	wd_problem[0] = '\0';
	if (pgha_watchdog_mode == PGHA_WD_OFF)
	{
		wd_close("pgha.watchdog_mode is off");
		return false;
	}
	if (!could_lead)
		return false;
	wd_activate(k);
	*why = wd_problem[0] ? wd_problem : NULL;
	return wd_refuse;
}

/* what to report: a refusal or an automatic-mode warning; "" when none */
const char *
keeper_watchdog_problem(void)
{
	static char buf[PGHA_ERR_LEN + 64];

	if (wd_problem[0] == '\0')
		return "";
	snprintf(buf, sizeof(buf), "%s", wd_refuse ?
			 psprintf("pgha.watchdog_mode is required: %s; not leading", wd_problem) :
			 psprintf("pgha.watchdog_mode is automatic: %s; leading without a watchdog", wd_problem));
	return buf;
}

/*
 * Once per loop, after acting: keep the device alive while leading, disarm
 * it otherwise.
 */
void
keeper_watchdog_loop(const Keeper *k, const CycleResult *res)
{
	bool		leading;

	if (wd_fd < 0)
		return;
	if (!res->etcd_ok)
		leading = res->role == PGHA_ROLE_PRIMARY && !k->fenced;
	else
		leading = !k->fenced &&
			(res->verdict == PGHA_V_LEADER || res->verdict == PGHA_V_PROMOTING ||
			 res->verdict == PGHA_V_CANDIDATE || res->verdict == PGHA_V_SWITCHOVER);
	if (!leading)
	{
		wd_close(k->fenced ? "fenced" : "not the leader");
		return;
	}
	if (write(wd_fd, "1", 1) != 1)
		keeper_log_problem(WARNING, ERRCODE_SYSTEM_ERROR,
						   psprintf("could not write to the watchdog device %s: %m",
									pgha_watchdog_device));
}
