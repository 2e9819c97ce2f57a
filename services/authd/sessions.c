/* sessions.c - session table keyed by the hash of the token; idle and absolute expiry,
 * global and per-user limits, revocation events for busd's cache */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "util.h"

static bool expired(const struct authd_ctx *a, const struct authd_session *s, int64_t now)
{
        return now >= s->expires_ms || now - s->last_ms >= a->idle_ms;
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
        if (expired(a, s, now)) {
                authd_session_revoke(a, s);
                return NULL;
        }
        s->last_ms = now;
        return s;
}

struct authd_session *authd_session_by_sid(struct authd_ctx *a, const char *sid)
{
        for (struct authd_session *s = zhash_first(a->sessions); s; s = zhash_next(a->sessions))
                if (!strcmp(s->sid, sid))
                        return s;
        return NULL;
}

static void publish_revoked(struct authd_ctx *a, const char *user, const char *sid)
{
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", user);
        mpw_kv_str(&w, "sid", sid);
        mpw_map_end(&w);
        authd_publish(a, "auth.session.revoked", &w);
        mpw_free(&w);
}

void authd_session_refresh(struct authd_ctx *a, const char *user)
{
        publish_revoked(a, user, "");
}

int authd_session_revoke(struct authd_ctx *a, struct authd_session *s)
{
        char user[AUTHD_NAME_MAX + 1], sid[17];

        snprintf(user, sizeof user, "%s", s->user);
        snprintf(sid, sizeof sid, "%s", s->sid);
        zhash_delete(a->sessions, s->th);
        publish_revoked(a, user, sid);
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
                if (s && expired(a, s, now))
                        authd_session_revoke(a, s);
        }
        zlist_destroy(&keys);
}
