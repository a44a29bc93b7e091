/*-------------------------------------------------------------------------
 *
 * keeper_identity.h
 *	  Safety rule 6 in the keeper (keeper_identity.c) and the watchdog
 *	  device (watchdog_dev.c): the hooks keeper_cycle.c calls.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_KEEPER_IDENTITY_H
#define PGHA_KEEPER_IDENTITY_H

#include "keeper.h"

/* keeper_identity.c */
extern const char *keeper_instance(void);
extern void keeper_identity_fill(const Keeper *k, const CycleResult *res,
								 PghaLocalState *local);
extern bool keeper_identity_act(Keeper *k, CycleResult *res,
								const PghaDecision *d);
extern const char *keeper_identity_refusal(const Keeper *k,
										   const CycleResult *res);
extern bool keeper_identity_problem(const CycleResult *res, char *buf,
									size_t len);

/* watchdog_dev.c */
extern int	pgha_watchdog_mode;
extern char *pgha_watchdog_device;
extern int	pgha_watchdog_safety_margin;
extern bool keeper_watchdog_blocks(const Keeper *k, bool could_lead,
								   const char **why);
extern const char *keeper_watchdog_problem(void);
extern void keeper_watchdog_loop(const Keeper *k, const CycleResult *res);

#endif							/* PGHA_KEEPER_IDENTITY_H */
