/*-------------------------------------------------------------------------
 *
 * lease.c
 *	  The fencing deadline as a pure function of lease events (lease.h).
 *
 * Rules (safety rule 1 of DESIGN.md):
 *	 - a lease expires in etcd no earlier than "the send time of the last
 *	   grant or keepalive etcd confirmed + its granted ttl"; the keeper
 *	   stops writes a margin before that;
 *	 - the deadline is the earliest such expiry over the current lease and
 *	   every earlier lease that may still carry one of our keys: after a
 *	   ttl change the leader key stays on the old lease, which nobody
 *	   renews, until a guarded write confirms it moved;
 *	 - a write with an unknown outcome may have moved a key: the key then
 *	   counts on both leases;
 *	 - a keepalive answered with ttl 0 means the lease and every key on it
 *	   are gone;
 *	 - the previous lease is not renewed: keys move off it in the cycle
 *	   that granted the new one, or the deadline of the old one applies;
 *	 - while keys still sit on the previous lease no further lease is
 *	   granted, so at most two leases are ever tracked.
 *
 *-------------------------------------------------------------------------
 */
#include "lease.h"

#include <string.h>

int64_t
pgha_lease_margin_ms(int ttl_s)
{
	int64_t		m = (int64_t) ttl_s * 250;

	return m < 1000 ? m : 1000;
}

static PghaLeaseSlot *
find(PghaLeaseState *st, int64_t id)
{
	if (id == 0)
		return NULL;
	for (int i = 0; i < 2; i++)
		if (st->slot[i].id == id)
			return &st->slot[i];
	return NULL;
}

static int64_t
slot_deadline(const PghaLeaseSlot *s)
{
	return s->renewed_ms + (int64_t) s->ttl_s * 1000 - pgha_lease_margin_ms(s->ttl_s);
}

/* the previous lease carries none of our keys: it may be revoked */
static void
retire_unused(PghaLeaseState *st)
{
	if (st->slot[1].id != 0 && st->slot[1].keys == 0)
	{
		st->retired_id = st->slot[1].id;
		memset(&st->slot[1], 0, sizeof(st->slot[1]));
	}
}

void
pgha_lease_granted(PghaLeaseState *st, int64_t id, int ttl_s, int64_t sent_ms)
{
	PghaLeaseSlot *cur = &st->slot[0];
	PghaLeaseSlot *prev = &st->slot[1];

	if (id == 0 || ttl_s <= 0)
		return;
	if (cur->id != 0 && cur->keys != 0)
	{
		if (prev->id == 0)
			*prev = *cur;
		else
		{
			/*
			 * Not expected (no grant while keys move), but stay safe: one
			 * entry that expires no later than either and carries both sets
			 * of keys.
			 */
			prev->keys |= cur->keys;
			if (slot_deadline(cur) < slot_deadline(prev))
			{
				prev->renewed_ms = cur->renewed_ms;
				prev->ttl_s = cur->ttl_s;
			}
		}
		prev->pending_ms = 0;
	}
	else if (cur->id != 0)
		st->retired_id = cur->id;
	memset(cur, 0, sizeof(*cur));
	cur->id = id;
	cur->ttl_s = ttl_s;
	cur->renewed_ms = sent_ms;
}

void
pgha_lease_keepalive_sent(PghaLeaseState *st, int64_t id, int64_t sent_ms)
{
	PghaLeaseSlot *s = find(st, id);

	/* an earlier keepalive still unanswered keeps its (earlier) send time */
	if (s != NULL && s->pending_ms == 0)
		s->pending_ms = sent_ms;
}

unsigned
pgha_lease_keepalive_answered(PghaLeaseState *st, int64_t id, int ttl_left)
{
	PghaLeaseSlot *s = find(st, id);
	unsigned	lost;

	if (s == NULL)
		return 0;
	if (ttl_left > 0)
	{
		if (s->pending_ms > s->renewed_ms)
			s->renewed_ms = s->pending_ms;
		s->pending_ms = 0;
		return 0;
	}
	lost = s->keys;
	memset(s, 0, sizeof(*s));
	return lost;
}

void
pgha_lease_key_on(PghaLeaseState *st, unsigned key, int64_t id)
{
	PghaLeaseSlot *s = find(st, id);

	for (int i = 0; i < 2; i++)
		st->slot[i].keys &= ~key;
	if (s != NULL)
		s->keys |= key;
	retire_unused(st);
}

void
pgha_lease_key_maybe_on(PghaLeaseState *st, unsigned key, int64_t id)
{
	PghaLeaseSlot *s = find(st, id);

	if (s != NULL)
		s->keys |= key;
}

void
pgha_lease_key_gone(PghaLeaseState *st, unsigned key)
{
	for (int i = 0; i < 2; i++)
		st->slot[i].keys &= ~key;
	retire_unused(st);
}

void
pgha_lease_revoked(PghaLeaseState *st, int64_t id)
{
	PghaLeaseSlot *s = find(st, id);

	if (s != NULL)
		memset(s, 0, sizeof(*s));
	if (st->retired_id == id)
		st->retired_id = 0;
}

void
pgha_lease_restored(PghaLeaseState *st)
{
	for (int i = 0; i < 2; i++)
	{
		PghaLeaseSlot *s = &st->slot[i];

		if (s->id == 0 || s->ttl_s <= 0 || s->renewed_ms <= 0)
			memset(s, 0, sizeof(*s));
		/* a keepalive in flight when the keeper died counts as unanswered */
		s->pending_ms = 0;
	}
	if (st->slot[1].id != 0 && st->slot[1].id == st->slot[0].id)
		memset(&st->slot[1], 0, sizeof(st->slot[1]));
}

int64_t
pgha_lease_current(const PghaLeaseState *st)
{
	return st->slot[0].id;
}

int64_t
pgha_lease_previous(const PghaLeaseState *st)
{
	return st->slot[1].id;
}

bool
pgha_lease_need_grant(const PghaLeaseState *st, int ttl_s)
{
	if (st->slot[0].id == 0)
		return true;
	return st->slot[0].ttl_s != ttl_s && st->slot[1].id == 0;
}

int64_t
pgha_lease_key_lease(const PghaLeaseState *st, unsigned key)
{
	if (st->slot[1].keys & key)
		return st->slot[1].id;
	if (st->slot[0].keys & key)
		return st->slot[0].id;
	return 0;
}

int64_t
pgha_lease_deadline(const PghaLeaseState *st)
{
	int64_t		d = 0;

	for (int i = 0; i < 2; i++)
	{
		const PghaLeaseSlot *s = &st->slot[i];
		int64_t		sd;

		/* the current lease always counts: our keys are put on it */
		if (s->id == 0 || (i > 0 && s->keys == 0))
			continue;
		sd = slot_deadline(s);
		if (d == 0 || sd < d)
			d = sd;
	}
	return d;
}

bool
pgha_lease_writes_allowed(const PghaLeaseState *st, int64_t now_ms)
{
	int64_t		d = pgha_lease_deadline(st);

	return d > 0 && now_ms < d;
}
