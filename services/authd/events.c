/* events.c - what authd tells the bus: auth.locked for filterd and the
 * operators, auth.session.revoked for busd's token cache, auth.reset.code for
 * the mailer. Nothing here calls back into the handlers. */
#include "authd.h"

void authd_publish(struct authd_ctx *a, const char *topic, const struct mpw *w)
{
        if (a->d)
                ds_daemon_publish(a->d, topic, w);
}

void authd_publish_locked(struct authd_ctx *a, const char *user, const char *src, int64_t until_ms)
{
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", user);
        mpw_kv_str(&w, "source", src);
        mpw_kv_int(&w, "until", until_ms / 1000);
        mpw_map_end(&w);
        authd_publish(a, "auth.locked", &w);
        mpw_free(&w);
}

void authd_publish_revoked(struct authd_ctx *a, const char *user, const char *sid)
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

void authd_publish_reset_code(struct authd_ctx *a, const char *user, const char *email, const char *code)
{
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", user);
        mpw_kv_str(&w, "email", email);
        mpw_kv_str(&w, "code", code);
        mpw_map_end(&w);
        authd_publish(a, "auth.reset.code", &w);
        mpw_wipe(&w); /* the code was in it */
}
