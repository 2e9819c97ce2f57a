/* inflight.c - the requests busd waits on (forwarded, session checks,
 * subscriber re-checks): a table by busd's 64-bit id, buckets chained, its
 * entries reused, so that a forwarded request allocates nothing once the
 * table has grown */
#include "broker.h"

#define INFLIGHT_SPARE_MAX 32 /* freed entries kept for reuse */

int inflight_init(struct busd *b)
{
        struct inflight_table *t = &b->inflight;

        t->slot = calloc(64, sizeof *t->slot);
        if (!t->slot)
                return -ENOMEM;
        t->mask = 63;
        t->count = 0;
        return 0;
}

/* What an entry holds beside itself: the client's id when it did not fit
 * in place, the parked request (zeroed: it may carry a secret). */
static void entry_clear(struct inflight *f)
{
        if (f->client_id != f->client_id_in)
                free(f->client_id);
        if (f->parked) {
                sodium_memzero(f->parked, f->parked_len);
                free(f->parked);
        }
}

void inflight_free(void *p)
{
        struct inflight *f = p;

        if (!f)
                return;
        entry_clear(f);
        free(f);
}

void inflight_release(struct busd *b, struct inflight *f)
{
        struct inflight_table *t = &b->inflight;

        if (!f)
                return;
        if (f->parked)
                t->parked_bytes -= f->parked_len;
        if (t->n_spare >= INFLIGHT_SPARE_MAX) {
                inflight_free(f);
                return;
        }
        entry_clear(f);
        sodium_memzero(f->client_id_in, sizeof f->client_id_in);
        f->next = t->spare;
        t->spare = f;
        t->n_spare++;
}

void inflight_destroy(struct busd *b)
{
        struct inflight_table *t = &b->inflight;

        for (size_t i = 0; t->slot && i <= t->mask; i++)
                while (t->slot[i]) {
                        struct inflight *f = t->slot[i];
                        t->slot[i] = f->next;
                        inflight_free(f);
                }
        while (t->spare) {
                struct inflight *f = t->spare;
                t->spare = f->next;
                free(f);
        }
        free(t->slot);
        memset(t, 0, sizeof *t);
}

/* A request in flight, answering the client (from, q) by default. */
struct inflight *inflight_new(struct busd *b, struct peer *from, const struct req *q, enum inflight_kind kind,
                              const char *svc, int64_t timeout)
{
        struct inflight_table *t = &b->inflight;
        struct inflight *f = t->spare;
        size_t n;

        if (f) {
                t->spare = f->next;
                t->n_spare--;
                memset(f, 0, sizeof *f);
        } else if (!(f = calloc(1, sizeof *f))) {
                return NULL;
        }
        f->bid = b->next_bid++;
        f->kind = kind;
        memcpy(f->client_rid, from->rid, from->rid_len);
        f->client_rid_len = from->rid_len;
        memcpy(f->client_key, from->key, 2 * from->rid_len + 1);
        f->client_id = q->id_len <= sizeof f->client_id_in ? f->client_id_in : malloc(q->id_len);
        if (!f->client_id) {
                free(f);
                return NULL;
        }
        memcpy(f->client_id, q->id, q->id_len);
        f->client_id_len = q->id_len;
        n = strnlen(svc, sizeof f->svc - 1);
        memcpy(f->svc, svc, n);
        f->svc[n] = '\0';
        f->deadline = ds_now_mono_ms() + timeout;
        return f;
}

static void grow(struct inflight_table *t)
{
        size_t size = 2 * (t->mask + 1);
        struct inflight **slot = calloc(size, sizeof *slot);

        if (!slot)
                return; /* longer chains, still correct */
        for (size_t i = 0; i <= t->mask; i++)
                while (t->slot[i]) {
                        struct inflight *f = t->slot[i];
                        t->slot[i] = f->next;
                        f->next = slot[f->bid & (size - 1)];
                        slot[f->bid & (size - 1)] = f;
                }
        free(t->slot);
        t->slot = slot;
        t->mask = size - 1;
}

void inflight_track(struct busd *b, struct inflight *f)
{
        struct inflight_table *t = &b->inflight;

        if (t->count >= t->mask + 1)
                grow(t);
        f->next = t->slot[f->bid & t->mask];
        t->slot[f->bid & t->mask] = f;
        t->count++;
}

struct inflight *inflight_take(struct busd *b, uint64_t bid)
{
        struct inflight_table *t = &b->inflight;

        for (struct inflight **pp = &t->slot[bid & t->mask]; *pp; pp = &(*pp)->next)
                if ((*pp)->bid == bid) {
                        struct inflight *f = *pp;
                        *pp = f->next;
                        f->next = NULL;
                        t->count--;
                        return f;
                }
        return NULL;
}

/* Takes out the requests that match (of service svc, or past their deadline
 * at now when svc is NULL), then calls fn on each (fn owns it; it may send
 * and track new requests, which this sweep does not visit). */
void inflight_sweep(struct busd *b, const char *svc, int64_t now, void (*fn)(struct busd *, struct inflight *, void *),
                    void *ud)
{
        struct inflight_table *t = &b->inflight;
        struct inflight *taken = NULL;

        for (size_t i = 0; i <= t->mask; i++)
                for (struct inflight **pp = &t->slot[i]; *pp;) {
                        struct inflight *f = *pp;

                        if (svc ? strcmp(f->svc, svc) != 0 : f->deadline > now) {
                                pp = &f->next;
                                continue;
                        }
                        *pp = f->next;
                        t->count--;
                        f->next = taken;
                        taken = f;
                }
        while (taken) {
                struct inflight *f = taken;

                taken = f->next;
                f->next = NULL;
                fn(b, f, ud);
        }
}

/* An authd replaced by a new registration: the session checks in flight to
 * it are taken out (a check is a read, so it is asked again of the new authd
 * rather than failed: session_redo_checks); forwarded requests stay, failed
 * when the old authd is dropped. */
static void take_check(struct busd *b, struct inflight *f, void *ud)
{
        struct inflight **list = ud;

        if (f->kind == IF_FORWARD) {
                inflight_track(b, f);
                return;
        }
        f->next = *list;
        *list = f;
}

struct inflight *inflight_take_checks(struct busd *b, const char *svc)
{
        struct inflight *list = NULL;

        inflight_sweep(b, svc, 0, take_check, &list);
        return list;
}
