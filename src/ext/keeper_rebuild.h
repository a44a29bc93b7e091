/*-------------------------------------------------------------------------
 *
 * keeper_rebuild.h
 *	  The keeper after etcd lost its keys, and a replica on a dead branch
 *	  (keeper_rebuild.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_KEEPER_REBUILD_H
#define PGHA_KEEPER_REBUILD_H

#include "keeper.h"

extern void keeper_rebuild_after_read(Keeper *k, CycleResult *res,
									  const EtcdKVList *kvs);
extern const char *keeper_cached_config(void);
extern bool keeper_restore_history(Keeper *k, CycleResult *res);
extern bool keeper_upstream_alive(const Keeper *k);
extern bool keeper_rebuild_act(Keeper *k, CycleResult *res,
							   const PghaDecision *d);
extern void keeper_note_promotion(const PghaDecision *d);
extern void keeper_check_dead_branch(Keeper *k, const CycleResult *res);

#endif							/* PGHA_KEEPER_REBUILD_H */
