/* authd - accounts, password policy and hashing, sessions, lockout, authorities */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>

#include "authd.h"
#include "log.h"

static const char *const topics[] = { "auth.session.revoked", "auth.locked", "auth.reset.code", "log.security",
                                      NULL };

static int on_sweep(zloop_t *loop, int timer_id, void *arg)
{
        (void)loop;
        (void)timer_id;
        authd_session_sweep(arg);
        return 0;
}

static int a_init(struct ds_daemon *d, void *ctx)
{
        struct authd_ctx *a = ctx;
        int r;

        if (sodium_init() < 0)
                return -EIO;
        a->d = d;
        a->now = authd_now_real;
        a->sessions = zhash_new();
        a->pwq = authd_pwq_new();
        if (!a->sessions || !a->pwq)
                return -ENOMEM;
        if ((r = authd_load(a)) < 0)
                return r;
        return authd_setup_code_load(a); /* fail closed: no init without a code */
}

static int a_start(struct ds_daemon *d, void *ctx)
{
        struct authd_ctx *a = ctx;

        /* the workers inherit the blocked signals: they go to the loop's signalfd */
        a->pool = authd_pool_new(a, d->loop, a->hash_workers, a->hash_queue);
        if (!a->pool)
                return log_errno(-errno, "cannot start %d hash worker(s): %m", a->hash_workers);
        log_info("%d hash worker(s), queue of %zu", a->hash_workers, a->hash_queue);
        authd_session_restore(a);
        a->sweep_timer = zloop_timer(d->loop, 10000, 0, on_sweep, a);
        return 0;
}

static void a_stop(struct ds_daemon *d, void *ctx)
{
        struct authd_ctx *a = ctx;

        (void)d;
        /* finished hashes complete (they may open sessions), waiting ones get EUNAVAIL */
        authd_pool_destroy(&a->pool);
        authd_lock_flush(a);
        authd_session_flush(a);
        zhash_destroy(&a->pending);
        zhash_destroy(&a->sessions);
        authd_store_clear(a);
        free(a->locks);
        free(a->dummy_hash);
        pwquality_free_settings(a->pwq);
}

static int a_export(struct ds_daemon *d, void *ctx, struct ds_export *x)
{
        (void)d;
        authd_store_write(ctx, x); /* hashes only when x says so */
        return 0;
}

static int a_import(struct ds_daemon *d, void *ctx, const msgpack_object *o, struct ds_err *e)
{
        struct authd_ctx *a = ctx;
        int r;

        (void)d;
        r = authd_store_import(a, o, e); /* untouched when refused */
        if (r < 0)
                return r;
        authd_session_revoke_user(a, NULL, NULL);
        log_audit("security", LOG_LVL_NOTICE, NULL, "account store imported: %zu user(s), every session ended",
                  a->n_users);
        return 0;
}

/* Factory reset: no account, no session, no lock; auth.init works again,
 * with a new setup code (whoever knew the old one may not take the device). */
static int a_reset(struct ds_daemon *d, void *ctx)
{
        struct authd_ctx *a = ctx;
        int r;

        (void)d;
        authd_session_revoke_user(a, NULL, NULL);
        authd_store_init(a);
        free(a->locks);
        a->locks = NULL;
        a->n_locks = 0;
        authd_lock_save(a);
        log_audit("security", LOG_LVL_WARNING, NULL, "accounts reset to factory state: run devctl init");
        if ((r = authd_store_save(a)) < 0)
                return r;
        return authd_setup_code_new(a, NULL, 0);
}

static void a_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct authd_ctx *a = ctx;

        (void)d;
        mpw_kv_bool(w, "initialised", a->initialised);
        mpw_kv_int(w, "users", (int64_t)a->n_users);
        mpw_kv_int(w, "sessions", (int64_t)zhash_size(a->sessions));
        mpw_kv_int(w, "locked", (int64_t)a->n_locks);
        mpw_kv_int(w, "login_rate_refused", (int64_t)a->rate_refused);
        mpw_kv_int(w, "login_in_flight_refused", (int64_t)a->pending_refused);
        if (a->pool) {
                struct authd_pool_stats st;
                authd_pool_stats(a->pool, &st);
                mpw_kv_int(w, "hash_workers", st.workers);
                mpw_kv_int(w, "hash_queued", (int64_t)st.queued);
                mpw_kv_int(w, "hash_running", (int64_t)st.running);
                mpw_kv_int(w, "hash_queue_max", (int64_t)st.queue_max);
                mpw_kv_int(w, "hash_done", (int64_t)st.done);
                mpw_kv_int(w, "hash_queue_full", (int64_t)st.full);
        }
}

int main(int argc, char **argv)
{
        static struct authd_ctx ctx;
        static const struct ds_service svc = {
                .name = "authd",
                .version = DEVSEC_VERSION,
                .methods = authd_methods,
                .settings = authd_settings,
                .audit = authd_audit,
                .topics = topics,
                .config_auth = DS_AUTHZ_SECURITY,
                .state_auth = AUTH_NEEDS2(ACCOUNT, SECURITY),
                .init = a_init,
                .start = a_start,
                .stop = a_stop,
                .apply = authd_apply,
                .export_state = a_export,
                .import_state = a_import,
                .reset_state = a_reset,
                .status = a_status,
        };

        return ds_daemon_main(argc, argv, &svc, &ctx);
}
