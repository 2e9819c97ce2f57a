/* lockout.c - failed-login counters per user and source, doubling locks, the total cap.
 * Kept by name whether or not the account exists, so that answers stay uniform. */
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

static struct authd_lock *lock_get(struct authd_ctx *a, const char *name)
{
        struct authd_lock *l = authd_lock_find(a, name);
        int64_t now = a->now();

        if (l)
                return l;
        if (a->n_locks == AUTHD_LOCKS_MAX) {
                /* full: reuse the least recently failed record that holds no lock */
                struct authd_lock *old = NULL;
                for (size_t i = 0; i < a->n_locks; i++)
                        if (!is_active(&a->locks[i], now) && (!old || a->locks[i].last_ms < old->last_ms))
                                old = &a->locks[i];
                if (!old)
                        return NULL;
                l = old;
        } else {
                l = realloc(a->locks, (a->n_locks + 1) * sizeof *l);
                if (!l)
                        return NULL;
                a->locks = l;
                l = &a->locks[a->n_locks++];
        }
        memset(l, 0, sizeof *l);
        snprintf(l->name, sizeof l->name, "%s", name);
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
        for (uint32_t i = 0; i < ls->via.array.size && a->n_locks < AUTHD_LOCKS_MAX; i++) {
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
