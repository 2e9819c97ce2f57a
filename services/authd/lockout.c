/* lockout.c - failed-login counters per user and source, doubling locks, the total cap,
 * and the per-source login rate limit in front of hashing.
 * Kept by name whether or not the account exists, so that answers stay uniform;
 * made-up names are bounded on their own so that they never crowd out accounts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"

struct authd_lock *authd_lock_find(struct authd_ctx *a, const char *name)
{
        for (size_t i = 0; i < a->n_locks; i++)
                if (!strcmp(a->locks[i].name, name))
                        return &a->locks[i];
        return NULL;
}

static bool is_active(const struct authd_lock *l, int64_t now)
{
        return l->hard || l->until_ms > now;
}

bool authd_lock_name_known(struct authd_ctx *a, const char *name)
{
        if (!strncmp(name, "reset:", 6))
                name += 6;
        return authd_user_find(a, name) != NULL;
}

/* The record to reuse when a table is full: the least recently failed one
 * that holds no lock; for made-up names, failing that, the least recently
 * failed of all (a flood of made-up names evicts only its own kind). */
static struct authd_lock *victim(struct authd_ctx *a, bool unknown, int64_t now)
{
        struct authd_lock *idle = NULL, *any = NULL;

        for (size_t i = 0; i < a->n_locks; i++) {
                struct authd_lock *l = &a->locks[i];
                if (l->unknown != unknown)
                        continue;
                if (unknown && authd_lock_name_known(a, l->name)) {
                        l->unknown = false; /* an account of that name was added since */
                        continue;
                }
                if (!is_active(l, now) && (!idle || l->last_ms < idle->last_ms))
                        idle = l;
                if (!any || l->last_ms < any->last_ms)
                        any = l;
        }
        return idle ? idle : unknown ? any : NULL;
}

static struct authd_lock *lock_get(struct authd_ctx *a, const char *name)
{
        struct authd_lock *l = authd_lock_find(a, name);
        bool unknown = !authd_lock_name_known(a, name);
        size_t same = 0;
        int64_t now = a->now();

        if (l) {
                l->unknown = unknown;
                return l;
        }
        for (size_t i = 0; i < a->n_locks; i++)
                same += a->locks[i].unknown == unknown;
        if (same >= (unknown ? AUTHD_UNKNOWN_LOCKS_MAX : AUTHD_LOCKS_MAX)) {
                l = victim(a, unknown, now);
                if (!l)
                        return NULL;
        } else {
                l = realloc(a->locks, (a->n_locks + 1) * sizeof *l);
                if (!l)
                        return NULL;
                a->locks = l;
                l = &a->locks[a->n_locks++];
        }
        memset(l, 0, sizeof *l);
        snprintf(l->name, sizeof l->name, "%s", name);
        l->unknown = unknown;
        return l;
}

bool authd_lock_active(struct authd_ctx *a, const char *name, int64_t *ret_until)
{
        const struct authd_lock *l = authd_lock_find(a, name);

        if (!l || !is_active(l, a->now()))
                return false;
        if (ret_until)
                *ret_until = l->hard ? 0 : l->until_ms;
        return true;
}

/* The cap never disables the last administrator for good: the device would
 * need a factory reset. That account gets the longest timed lock instead. */
static bool last_admin(struct authd_ctx *a, const char *name)
{
        struct authd_user *u = authd_user_find(a, name);

        return u && u->enabled && authd_user_authz(a, u) == ds_authz_all() && authd_admins_left(a, u) == 0;
}

int authd_lock_fail(struct authd_ctx *a, const char *name, const char *src, int64_t *ret_until)
{
        struct authd_lock *l = lock_get(a, name);
        struct authd_lock_src *s = NULL;
        int64_t now = a->now(), dur;

        if (!l)
                return 0;
        l->last_ms = now;
        for (int i = 0; i < AUTHD_LOCK_SOURCES; i++)
                if (l->src[i].n && !strcmp(l->src[i].src, src))
                        s = &l->src[i];
        if (!s) {
                s = &l->src[0];
                for (int i = 0; i < AUTHD_LOCK_SOURCES; i++) {
                        if (!l->src[i].n) {
                                s = &l->src[i];
                                break;
                        }
                        if (l->src[i].last_ms < s->last_ms)
                                s = &l->src[i];
                }
                memset(s, 0, sizeof *s);
                snprintf(s->src, sizeof s->src, "%s", src);
        }
        s->n++;
        s->last_ms = now;
        l->total++;
        if (l->total >= a->lockcfg.total_cap && !last_admin(a, name)) {
                l->hard = true;
                *ret_until = 0;
                return 1;
        }
        if (s->n < a->lockcfg.attempts && l->total < a->lockcfg.total_cap)
                return 0;
        dur = a->lockcfg.lock_ms;
        for (int i = 0; i < l->level && dur < a->lockcfg.max_ms; i++)
                dur *= 2;
        if (dur > a->lockcfg.max_ms)
                dur = a->lockcfg.max_ms;
        l->until_ms = now + dur;
        l->level++;
        s->n = 0;
        *ret_until = l->until_ms;
        return 1;
}

int authd_lock_room(struct authd_ctx *a, const char *name, const char *src)
{
        const struct authd_lock *l = authd_lock_find(a, name);
        int n = 0, room;

        for (int i = 0; l && i < AUTHD_LOCK_SOURCES; i++)
                if (l->src[i].n && !strcmp(l->src[i].src, src))
                        n = l->src[i].n;
        room = a->lockcfg.attempts - n;
        if (a->lockcfg.total_cap - (l ? l->total : 0) < room)
                room = a->lockcfg.total_cap - (l ? l->total : 0);
        return room > 0 ? room : 0;
}

void authd_lock_success(struct authd_ctx *a, const char *name)
{
        authd_lock_clear(a, name);
}

void authd_lock_clear(struct authd_ctx *a, const char *name)
{
        struct authd_lock *l = authd_lock_find(a, name);
        size_t i;

        if (!l)
                return;
        i = (size_t)(l - a->locks);
        memmove(&a->locks[i], &a->locks[i + 1], (a->n_locks - i - 1) * sizeof *l);
        a->n_locks--;
}

void authd_lock_write(struct authd_ctx *a, struct mpw *w)
{
        mpw_map_begin(w);
        mpw_kv_int(w, "v", 1);
        mpw_str(w, "locks");
        mpw_arr_begin(w);
        for (size_t i = 0; i < a->n_locks; i++) {
                const struct authd_lock *l = &a->locks[i];
                mpw_map_begin(w);
                mpw_kv_str(w, "name", l->name);
                mpw_kv_int(w, "total", l->total);
                mpw_kv_int(w, "level", l->level);
                mpw_kv_int(w, "until", l->until_ms);
                mpw_kv_bool(w, "hard", l->hard);
                mpw_kv_bool(w, "by_admin", l->by_admin);
                mpw_kv_int(w, "last", l->last_ms);
                mpw_str(w, "src");
                mpw_arr_begin(w);
                for (int j = 0; j < AUTHD_LOCK_SOURCES; j++) {
                        if (!l->src[j].n)
                                continue;
                        mpw_map_begin(w);
                        mpw_kv_str(w, "s", l->src[j].src);
                        mpw_kv_int(w, "n", l->src[j].n);
                        mpw_kv_int(w, "last", l->src[j].last_ms);
                        mpw_map_end(w);
                }
                mpw_arr_end(w);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_map_end(w);
}

int authd_lock_read(struct authd_ctx *a, const msgpack_object *o)
{
        const msgpack_object *ls = mp_get(o, "locks");

        free(a->locks);
        a->locks = NULL;
        a->n_locks = 0;
        if (!ls || ls->type != MSGPACK_OBJECT_ARRAY)
                return -EINVAL;
        for (uint32_t i = 0; i < ls->via.array.size && a->n_locks < AUTHD_LOCKS_MAX + AUTHD_UNKNOWN_LOCKS_MAX; i++) {
                const msgpack_object *m = &ls->via.array.ptr[i], *ss = mp_get(m, "src");
                struct authd_lock *l;
                char name[AUTHD_LOCK_NAME_MAX + 1];

                if (mp_strcpy(mp_get(m, "name"), name, sizeof name) < 0 || authd_lock_find(a, name))
                        continue;
                l = lock_get(a, name);
                if (!l)
                        return -ENOMEM;
                l->total = (int)mp_get_int(m, "total", 0);
                l->level = (int)mp_get_int(m, "level", 0);
                l->until_ms = mp_get_int(m, "until", 0);
                l->hard = mp_get_bool(m, "hard", false);
                l->by_admin = mp_get_bool(m, "by_admin", false);
                l->last_ms = mp_get_int(m, "last", 0);
                for (uint32_t j = 0; ss && ss->type == MSGPACK_OBJECT_ARRAY && j < ss->via.array.size &&
                                     j < AUTHD_LOCK_SOURCES;
                     j++) {
                        const msgpack_object *x = &ss->via.array.ptr[j];
                        mp_strcpy(mp_get(x, "s"), l->src[j].src, sizeof l->src[j].src);
                        l->src[j].n = (int)mp_get_int(x, "n", 0);
                        l->src[j].last_ms = mp_get_int(x, "last", 0);
                }
        }
        return 0;
}

int authd_lock_save(struct authd_ctx *a)
{
        struct mpw w;
        int r;

        if (!a->d)
                return 0;
        mpw_init(&w);
        authd_lock_write(a, &w);
        r = mpw_finish(&w) < 0 ? -EINVAL : ds_daemon_save(a->d, "locks.mp", mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (r < 0)
                log_errno(r, "cannot save the lockout state: %m");
        return r;
}

static int on_save_timer(zloop_t *loop, int timer_id, void *arg)
{
        struct authd_ctx *a = arg;

        (void)loop;
        (void)timer_id;
        a->lock_save_timer = 0;
        authd_lock_save(a);
        return 0;
}

/* A flood must not rewrite the whole table once per attempt: failures are
 * written at most once a second, off the reply path (so the time of an answer
 * does not depend on the name either). */
void authd_lock_save_soon(struct authd_ctx *a)
{
        int id;

        if (a->lock_save_timer)
                return;
        if (!a->d || !a->d->loop || (id = zloop_timer(a->d->loop, 1000, 1, on_save_timer, a)) < 0) {
                authd_lock_save(a);
                return;
        }
        a->lock_save_timer = id;
}

void authd_lock_flush(struct authd_ctx *a)
{
        if (!a->lock_save_timer)
                return;
        if (a->d && a->d->loop)
                zloop_timer_end(a->d->loop, a->lock_save_timer);
        a->lock_save_timer = 0;
        authd_lock_save(a);
}

/* ---- login rate limit ------------------------------------------------------------ */

/* Tokens (thousandths) in b at now, without changing it. */
static int64_t level(const struct authd_ctx *a, const struct authd_bucket *b, int64_t now)
{
        int64_t cap = (int64_t)a->ratecfg.burst * 1000, m = b->milli < cap ? b->milli : cap;

        if (now > b->last_ms) {
                int64_t dt = now - b->last_ms;
                if (dt >= (cap - m) / a->ratecfg.rate + 1) /* ms x tokens/s = thousandths */
                        return cap;
                m += dt * a->ratecfg.rate;
        }
        return m < cap ? m : cap;
}

static struct authd_bucket *bucket_find(struct authd_ctx *a, const char *key)
{
        for (size_t i = 0; i < a->n_buckets; i++)
                if (!strcmp(a->buckets[i].key, key))
                        return &a->buckets[i];
        return NULL;
}

/* A new bucket; when the table is full it takes the place of the one closest
 * to full (a full one: forgetting it loses nothing; never an exhausted one
 * while another holds more), the least recently used among equals. */
static struct authd_bucket *bucket_get(struct authd_ctx *a, const char *key, int64_t now)
{
        struct authd_bucket *b = bucket_find(a, key);
        int64_t best = -1, cap = (int64_t)a->ratecfg.burst * 1000;

        if (b)
                return b;
        if (a->n_buckets < AUTHD_RATE_BUCKETS) {
                b = &a->buckets[a->n_buckets++];
        } else {
                for (size_t i = 0; i < a->n_buckets && best < cap; i++) {
                        struct authd_bucket *x = &a->buckets[i];
                        int64_t m = level(a, x, now);
                        if (m > best || (m == best && x->last_ms < b->last_ms)) {
                                b = x;
                                best = m;
                        }
                }
        }
        snprintf(b->key, sizeof b->key, "%s", key);
        b->milli = cap;
        b->last_ms = now;
        return b;
}

int authd_rate_take(struct authd_ctx *a, const char *key, int64_t *ret_retry_ms)
{
        int64_t now = a->now();
        struct authd_bucket *b;

        if (a->ratecfg.rate <= 0 || a->ratecfg.burst <= 0)
                return 0; /* not configured (unit tests of other parts) */
        b = bucket_get(a, key, now);
        b->milli = level(a, b, now);
        b->last_ms = now;
        if (b->milli >= 1000) {
                b->milli -= 1000;
                return 0;
        }
        if (ret_retry_ms)
                *ret_retry_ms = (1000 - b->milli + a->ratecfg.rate - 1) / a->ratecfg.rate;
        return -EBUSY;
}

void authd_rate_refund(struct authd_ctx *a, const char *key)
{
        struct authd_bucket *b = bucket_find(a, key);

        if (b && b->milli + 1000 <= (int64_t)a->ratecfg.burst * 1000)
                b->milli += 1000;
}
