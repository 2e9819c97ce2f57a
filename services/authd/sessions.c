/* sessions.c - session table keyed by the hash of the token; idle and absolute expiry,
 * global and per-user limits, revocation events for busd's cache; persisted in
 * sessions.mp (token hashes only) so that sessions survive a restart */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "state.h"
#include "util.h"

bool authd_session_expired(const struct authd_ctx *a, const struct authd_session *s, int64_t now)
{
        return now >= s->expires_ms || now - s->last_ms >= a->idle_ms;
}

/* How stale the activity time in sessions.mp may get: a minute, less for
 * short idle timeouts. */
static int64_t save_every(const struct authd_ctx *a)
{
        int64_t q = a->idle_ms / 4;

        return q < 60000 ? q : 60000;
}

size_t authd_session_count(struct authd_ctx *a, const char *user)
{
        size_t n = 0;

        if (!user)
                return zhash_size(a->sessions);
        for (struct authd_session *s = zhash_first(a->sessions); s; s = zhash_next(a->sessions))
                if (!strcmp(s->user, user))
                        n++;
        return n;
}

int authd_session_open(struct authd_ctx *a, const char *user, const char *source, const char *client, bool anon,
                       char tok[64], struct authd_session **ret, char *why, size_t why_size)
{
        unsigned char raw[AUTHD_TOKEN_BYTES], sid[8];
        struct authd_session *s;
        int64_t now = a->now();

        authd_session_sweep(a);
        if (a->max_sessions > 0 && zhash_size(a->sessions) >= (size_t)a->max_sessions) {
                snprintf(why, why_size, "too many sessions on the device (limit %d): log out elsewhere first",
                         a->max_sessions);
                return -EBUSY;
        }
        if (a->max_per_user > 0 && authd_session_count(a, user) >= (size_t)a->max_per_user) {
                snprintf(why, why_size, "user '%s' has too many sessions (limit %d): log out elsewhere first",
                         user, a->max_per_user);
                return -EBUSY;
        }
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        ds_random(raw, sizeof raw);
        ds_b64url(raw, sizeof raw, tok);
        sodium_memzero(raw, sizeof raw);
        authd_token_hash(tok, s->th);
        ds_random(sid, sizeof sid);
        ds_hex(sid, sizeof sid, s->sid);
        snprintf(s->user, sizeof s->user, "%s", user);
        snprintf(s->source, sizeof s->source, "%s", source);
        snprintf(s->client, sizeof s->client, "%s", client);
        s->login_ms = s->last_ms = now;
        s->expires_ms = now + a->lifetime_ms;
        s->anonymous = anon;
        if (zhash_insert(a->sessions, s->th, s) < 0) {
                free(s);
                return -EEXIST;
        }
        zhash_freefn(a->sessions, s->th, free);
        s->saved_last_ms = now;
        authd_session_save_soon(a);
        *ret = s;
        return 0;
}

struct authd_session *authd_session_check(struct authd_ctx *a, const char *tok)
{
        char th[65];
        struct authd_session *s;
        int64_t now = a->now();

        authd_token_hash(tok, th);
        s = zhash_lookup(a->sessions, th);
        if (!s)
                return NULL;
        if (authd_session_expired(a, s, now)) {
                authd_session_revoke(a, s);
                return NULL;
        }
        s->last_ms = now;
        /* activity is written now and then, not per check: the idle time a
         * restart sees is at most this much too long */
        if (now - s->saved_last_ms >= save_every(a)) {
                s->saved_last_ms = now;
                authd_session_save_soon(a);
        }
        return s;
}

void authd_session_write_answer(struct authd_ctx *a, struct mpw *w, const struct authd_session *s)
{
        const struct authd_user *u = s->anonymous ? NULL : authd_user_find(a, s->user);

        mpw_kv_str(w, "user", s->user);
        mpw_kv_str(w, "group", u ? u->group : AUTHD_ANON_USER);
        mpw_str(w, "authorities");
        authd_write_authorities(w, u ? authd_user_authz(a, u) : ds_authz_bit(DS_AUTHZ_MONITOR, 7));
        mpw_kv_str(w, "sid", s->sid);
        mpw_kv_str(w, "source", s->source);
}

struct authd_session *authd_session_by_sid(struct authd_ctx *a, const char *sid)
{
        for (struct authd_session *s = zhash_first(a->sessions); s; s = zhash_next(a->sessions))
                if (!strcmp(s->sid, sid))
                        return s;
        return NULL;
}

void authd_session_refresh(struct authd_ctx *a, const char *user)
{
        authd_publish_revoked(a, user, "");
}

int authd_session_revoke(struct authd_ctx *a, struct authd_session *s)
{
        char user[AUTHD_NAME_MAX + 1], sid[17];

        snprintf(user, sizeof user, "%s", s->user);
        snprintf(sid, sizeof sid, "%s", s->sid);
        zhash_delete(a->sessions, s->th);
        authd_publish_revoked(a, user, sid);
        authd_session_save_soon(a);
        return 1;
}

int authd_session_revoke_user(struct authd_ctx *a, const char *user, const char *except_sid)
{
        zlist_t *keys = zhash_keys(a->sessions);
        int n = 0;

        for (char *k = keys ? zlist_first(keys) : NULL; k; k = zlist_next(keys)) {
                struct authd_session *s = zhash_lookup(a->sessions, k);
                if (s && (!user || !strcmp(s->user, user)) && !(except_sid && !strcmp(s->sid, except_sid)))
                        n += authd_session_revoke(a, s);
        }
        zlist_destroy(&keys);
        return n;
}

void authd_session_sweep(struct authd_ctx *a)
{
        zlist_t *keys = zhash_keys(a->sessions);
        int64_t now = a->now();

        for (char *k = keys ? zlist_first(keys) : NULL; k; k = zlist_next(keys)) {
                struct authd_session *s = zhash_lookup(a->sessions, k);
                if (s && authd_session_expired(a, s, now))
                        authd_session_revoke(a, s);
        }
        zlist_destroy(&keys);
}

/* ---- persistence ---------------------------------------------------------------- */

void authd_session_write(struct authd_ctx *a, struct mpw *w)
{
        mpw_map_begin(w);
        mpw_kv_int(w, "v", 1);
        mpw_str(w, "sessions");
        mpw_arr_begin(w);
        for (struct authd_session *s = zhash_first(a->sessions); s; s = zhash_next(a->sessions)) {
                mpw_map_begin(w);
                mpw_kv_str(w, "th", s->th); /* the token's hash: the token is never kept */
                mpw_kv_str(w, "sid", s->sid);
                mpw_kv_str(w, "user", s->user);
                mpw_kv_str(w, "source", s->source);
                mpw_kv_str(w, "client", s->client);
                mpw_kv_int(w, "login", s->login_ms);
                mpw_kv_int(w, "last", s->last_ms);
                mpw_kv_int(w, "expires", s->expires_ms);
                mpw_kv_bool(w, "anon", s->anonymous);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_map_end(w);
}

static bool is_hex(const char *s, size_t n)
{
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", s[i]))
                        return false;
        return true;
}

/* Whether s may live on: not expired, its account still there and enabled
 * (or anonymous sessions still allowed). */
static bool still_valid(struct authd_ctx *a, struct authd_session *s, int64_t now)
{
        const struct authd_user *u;

        if (s->expires_ms > s->login_ms + a->lifetime_ms) /* the lifetime was shortened meanwhile */
                s->expires_ms = s->login_ms + a->lifetime_ms;
        if (authd_session_expired(a, s, now) || s->login_ms > now + 60000)
                return false;
        if (s->anonymous)
                return a->anonymous;
        u = authd_user_find(a, s->user);
        return u && u->enabled;
}

int authd_session_read(struct authd_ctx *a, const msgpack_object *o, size_t *ret_dropped)
{
        const msgpack_object *ss = mp_get(o, "sessions");
        int64_t now = a->now();
        size_t dropped = 0;
        int n = 0;

        if (mp_get_int(o, "v", 0) != 1 || !ss || ss->type != MSGPACK_OBJECT_ARRAY)
                return -EINVAL;
        for (uint32_t i = 0; i < ss->via.array.size; i++) {
                const msgpack_object *m = &ss->via.array.ptr[i];
                struct authd_session *s = calloc(1, sizeof *s);

                if (!s)
                        return -ENOMEM;
                if (mp_strcpy(mp_get(m, "th"), s->th, sizeof s->th) < 0 || !is_hex(s->th, 64) ||
                    mp_strcpy(mp_get(m, "sid"), s->sid, sizeof s->sid) < 0 || !is_hex(s->sid, 16) ||
                    mp_strcpy(mp_get(m, "user"), s->user, sizeof s->user) < 0 ||
                    ds_check_name(s->user, strlen(s->user)) ||
                    mp_strcpy(mp_get(m, "source"), s->source, sizeof s->source) < 0 ||
                    mp_strcpy(mp_get(m, "client"), s->client, sizeof s->client) < 0) {
                        free(s);
                        dropped++;
                        continue;
                }
                s->login_ms = mp_get_int(m, "login", 0);
                s->last_ms = s->saved_last_ms = mp_get_int(m, "last", 0);
                s->expires_ms = mp_get_int(m, "expires", 0);
                s->anonymous = mp_get_bool(m, "anon", false);
                if (!still_valid(a, s, now) || n >= AUTHD_SESSIONS_KEPT_MAX ||
                    zhash_insert(a->sessions, s->th, s) < 0) {
                        free(s);
                        dropped++;
                        continue;
                }
                zhash_freefn(a->sessions, s->th, free);
                n++;
        }
        if (ret_dropped)
                *ret_dropped = dropped;
        return n;
}

int authd_session_save(struct authd_ctx *a)
{
        struct mpw w;
        int r;

        a->sessions_dirty = false;
        if (!a->d || !a->sessions)
                return 0;
        mpw_init(&w);
        authd_session_write(a, &w);
        r = mpw_finish(&w) < 0 ? -EINVAL : ds_daemon_save(a->d, AUTHD_SESSIONS_FILE, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (r < 0)
                log_errno(r, "cannot save the sessions: %m");
        return r;
}

static int on_save_timer(zloop_t *loop, int timer_id, void *arg)
{
        struct authd_ctx *a = arg;

        (void)loop;
        (void)timer_id;
        a->session_save_timer = 0;
        authd_session_save(a);
        return 0;
}

void authd_session_save_soon(struct authd_ctx *a)
{
        int id;

        a->sessions_dirty = true;
        if (a->session_save_timer || !a->d)
                return;
        if (!a->d->loop || (id = zloop_timer(a->d->loop, 1000, 1, on_save_timer, a)) < 0) {
                authd_session_save(a);
                return;
        }
        a->session_save_timer = id;
}

void authd_session_flush(struct authd_ctx *a)
{
        if (a->session_save_timer && a->d && a->d->loop)
                zloop_timer_end(a->d->loop, a->session_save_timer);
        a->session_save_timer = 0;
        if (a->sessions_dirty)
                authd_session_save(a);
}

void authd_session_restore(struct authd_ctx *a)
{
        struct state_mp m;
        size_t dropped = 0;
        int r;

        r = state_read_mp(a->d->statedir, AUTHD_SESSIONS_FILE, 4u << 20, NULL, &m);
        if (r == 0) {
                r = authd_session_read(a, &m.u.data, &dropped);
                if (r < 0)
                        log_warn("sessions unreadable: every operator logs in again");
                else
                        log_info("%d session(s) kept across the restart, %zu dropped (expired, account "
                                 "gone or disabled)",
                                 r, dropped);
                if (r < 0 || dropped)
                        authd_session_save_soon(a);
        } else if (m.why) {
                log_warn("sessions unreadable (%s): every operator logs in again", m.why);
        } else if (r != -ENOENT) {
                log_errno(r, "cannot read the sessions: %m");
        }
        state_mp_free(&m);
        /* busd may still cache a session that did not survive (expired while
         * authd was down, or opened in the last second before a crash): it
         * drops its whole cache and asks again */
        authd_publish_revoked(a, "", "");
}
