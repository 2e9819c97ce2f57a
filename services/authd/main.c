/* authd - accounts, password policy and hashing, sessions, lockout, authorities.
 * main.c: the service and its hooks (settings into the context, state,
 * start and stop); methods.c the methods. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd.h"
#include "log.h"
#include "state.h"

static const char *const topics[] = { "auth.session.revoked", "auth.locked", "auth.reset.code", "log.security",
                                      NULL };

static int on_sweep(zloop_t *loop, int timer_id, void *arg)
{
        (void)loop;
        (void)timer_id;
        authd_session_sweep(arg);
        return 0;
}

static int dummy_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        (void)c;
        /* only when the cost is still the one it was made for */
        if (j->out[0] && !authd_hash_needs_rehash(j->out[0], &a->cost)) {
                free(a->dummy_hash);
                a->dummy_hash = j->out[0];
                j->out[0] = NULL;
        }
        return 0;
}

static void refresh_dummy(struct authd_ctx *a, const struct authd_cost *cost)
{
        struct authd_job *j = authd_job_new();
        unsigned char r[16];
        char pw[33];

        if (!j)
                return;
        ds_random(r, sizeof r);
        ds_hex(r, sizeof r, pw);
        j->hash[0] = authd_job_secret(j, pw);
        sodium_memzero(pw, sizeof pw);
        j->n_hash = j->hash[0] < 0 ? 0 : 1;
        j->cost = *cost;
        j->done = dummy_done;
        if (!j->n_hash || !authd_pool_has_room(a->pool)) {
                authd_job_free(&j); /* the next cost change tries again; the old dummy serves */
                return;
        }
        if (authd_pool_submit(a->pool, j) < 0)
                authd_job_free(&j);
}

/* What a_apply refuses in a set of settings, without applying any (also a
 * two-phase import's prepare). */
static int a_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        const msgpack_object *fe = ds_settings_get(s, "front_ends");
        uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
        size_t memlimit = (size_t)ds_settings_int(s, "hash_memlimit_kib") * 1024;
        char front[AUTHD_FRONT_ENDS_MAX][BUS_NAME_MAX + 1];
        size_t n_front = 0;
        int workers;

        (void)d;
        (void)ctx;
        if (ds_settings_int(s, "lockout_max_s") < ds_settings_int(s, "lockout_s"))
                return ds_err_set(e, -EINVAL, "lockout_max_s", "must be at least lockout_s (%lld)",
                                  (long long)ds_settings_int(s, "lockout_s"));
        for (uint32_t i = 0; fe && fe->type == MSGPACK_OBJECT_ARRAY && i < fe->via.array.size; i++) {
                if (n_front == AUTHD_FRONT_ENDS_MAX ||
                    mp_strcpy(&fe->via.array.ptr[i], front[n_front], sizeof front[n_front]) < 0 ||
                    ds_check_name(front[n_front], strlen(front[n_front])))
                        return ds_err_set(e, -EINVAL, "front_ends",
                                          "item %u: must be a bus identity name (at most %d names)", i,
                                          AUTHD_FRONT_ENDS_MAX);
                for (size_t j = 0; j < n_front; j++)
                        if (!strcmp(front[j], front[n_front]))
                                return ds_err_set(e, -EINVAL, "front_ends", "'%s' is listed twice", front[j]);
                n_front++;
        }
        if (ds_settings_int(s, "login_burst") < ds_settings_int(s, "login_rate"))
                return ds_err_set(e, -EINVAL, "login_burst",
                                  "must be at least login_rate (%lld): a source could never use a second's worth "
                                  "of attempts",
                                  (long long)ds_settings_int(s, "login_rate"));
        workers = (int)ds_settings_int(s, "hash_workers");
        if (!workers)
                workers = authd_cpus();
        /* what may be in flight at once must fit in memory with room to spare */
        if (phys > 0 && (uint64_t)workers * memlimit > phys / 2)
                return ds_err_set(e, -EINVAL, "hash_workers",
                                  "%d worker(s) x %zu KiB of Argon2id memory exceed half of the device's %llu MiB: "
                                  "fewer workers or a lower hash_memlimit_kib",
                                  workers, memlimit / 1024, (unsigned long long)(phys >> 20));
        return 0;
}

static int a_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct authd_ctx *a = ctx;
        const struct ds_settings *s = &d->settings;
        struct authd_cost cost = { (uint64_t)ds_settings_int(s, "hash_opslimit"),
                                   (size_t)ds_settings_int(s, "hash_memlimit_kib") * 1024 };
        bool was_anon = a->anonymous;
        const msgpack_object *fe = ds_settings_get(s, "front_ends");
        char front[AUTHD_FRONT_ENDS_MAX][BUS_NAME_MAX + 1];
        size_t n_front = 0, queue;
        int workers, r;

        if ((r = a_check_settings(d, ctx, s, e)) < 0)
                return r;
        memset(front, 0, sizeof front);
        for (uint32_t i = 0; fe && fe->type == MSGPACK_OBJECT_ARRAY && i < fe->via.array.size; i++)
                mp_strcpy(&fe->via.array.ptr[i], front[n_front++], sizeof front[0]); /* checked above */
        workers = (int)ds_settings_int(s, "hash_workers");
        if (!workers)
                workers = authd_cpus();
        queue = (size_t)ds_settings_int(s, "hash_queue");
        if (a->pool && authd_pool_resize(a->pool, workers, queue) < 0)
                return ds_err_set(e, -EAGAIN, "hash_workers", "cannot start %d hash worker(s)", workers);
        a->hash_workers = workers;
        a->hash_queue = queue;
        if (a->pool && a->dummy_hash && (cost.opslimit != a->cost.opslimit || cost.memlimit != a->cost.memlimit)) {
                /* the new cost's dummy is made off the loop; till then the old one serves */
                refresh_dummy(a, &cost);
        } else if (!a->dummy_hash || cost.opslimit != a->cost.opslimit || cost.memlimit != a->cost.memlimit) {
                unsigned char r[16];
                char pw[33], *h;

                ds_random(r, sizeof r);
                ds_hex(r, sizeof r, pw);
                h = authd_hash(pw, &cost);
                sodium_memzero(pw, sizeof pw);
                if (!h)
                        return ds_err_set(e, -EINVAL, "hash_memlimit_kib", "Argon2id cannot run with these limits");
                free(a->dummy_hash);
                a->dummy_hash = h;
        }
        a->cost = cost;
        authd_policy_from(ds_settings_str(s, "policy_profile"), ds_settings_int(s, "password_min_length"), 0,
                          ds_settings_int(s, "password_history"), ds_settings_int(s, "password_max_age_days"),
                          &a->policy);
        a->lockcfg.attempts = (int)ds_settings_int(s, "lockout_attempts");
        a->lockcfg.lock_ms = ds_settings_int(s, "lockout_s") * 1000;
        a->lockcfg.max_ms = ds_settings_int(s, "lockout_max_s") * 1000;
        a->lockcfg.total_cap = (int)ds_settings_int(s, "lockout_total_cap");
        a->ratecfg.rate = (int)ds_settings_int(s, "login_rate");
        a->ratecfg.burst = (int)ds_settings_int(s, "login_burst");
        memcpy(a->front_ends, front, sizeof front);
        a->n_front_ends = n_front;
        a->idle_ms = ds_settings_int(s, "session_idle_s") * 1000;
        a->lifetime_ms = ds_settings_int(s, "session_lifetime_s") * 1000;
        a->max_sessions = (int)ds_settings_int(s, "max_sessions");
        a->max_per_user = (int)ds_settings_int(s, "max_sessions_per_user");
        a->anonymous = ds_settings_bool(s, "anonymous");
        a->password_reset = ds_settings_bool(s, "password_reset");
        a->reset_ttl_ms = ds_settings_int(s, "reset_code_ttl_s") * 1000;
        if (was_anon && !a->anonymous && a->sessions)
                authd_session_revoke_user(a, AUTHD_ANON_USER, NULL);
        return 0;
}

/* users.mp (fail closed when unreadable) and locks.mp (without locks when unreadable) */
static int a_load(struct authd_ctx *a)
{
        static const struct mp_limits lim = { 16u << 20, 8, 100000, 65536 };
        struct state_mp m;
        struct ds_err e;
        int r;

        authd_store_init(a);
        r = state_read_mp(a->d->statedir, "users.mp", 16u << 20, &lim, &m);
        if (r == 0) {
                ds_err_clear(&e);
                if ((r = authd_store_read(a, &m.u.data, &e)) < 0)
                        log_err("account store: %s", e.msg);
        } else if (m.why) {
                log_err("account store: %s", m.why);
        } else if (r != -ENOENT) {
                log_errno(r, "cannot read the account store: %m");
        } else {
                r = 0;
        }
        state_mp_free(&m);
        if (r < 0)
                return r; /* fail closed: never start with a half-read store */
        if (state_read_mp(a->d->statedir, "locks.mp", 16u << 20, NULL, &m) == 0)
                authd_lock_read(a, &m.u.data);
        else if (m.why)
                log_warn("lockout state unreadable (%s): starting without locks", m.why);
        state_mp_free(&m);
        log_info("%zu user(s), %zu lock record(s), %s", a->n_users, a->n_locks,
                 a->initialised ? "initialised" : "not initialised: waiting for auth.init");
        return 0;
}

static int64_t now_real(void)
{
        return ds_now_real_ms();
}

static int a_init(struct ds_daemon *d, void *ctx)
{
        struct authd_ctx *a = ctx;
        int r;

        if (sodium_init() < 0)
                return -EIO;
        a->d = d;
        a->now = now_real;
        a->sessions = zhash_new();
        a->pwq = authd_dict_new();
        if (!a->sessions || !a->pwq)
                return -ENOMEM;
        if ((r = a_load(a)) < 0)
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
        authd_dict_free(&a->pwq);
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

static int a_check(struct ds_daemon *d, void *ctx, const msgpack_object *o, struct ds_err *e)
{
        (void)d;
        return authd_store_check(ctx, o, e);
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

/* A factory reset is config.reset here (a_reset: no account, no session, a new
 * setup code), in place: authd is what authorises, it stays up. */
static int a_factory(struct ds_daemon *d, void *ctx, struct ds_call *c)
{
        int r;

        (void)ctx;
        if ((r = ds_factory_reset_settings(d, c)) < 0)
                return r;
        mpw_kv_bool(c->r, "initialised", false);
        return 0;
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
                mpw_kv_int(w, "hash_threads", st.threads);
                mpw_kv_int(w, "hash_queued", (int64_t)st.queued);
                mpw_kv_int(w, "hash_running", (int64_t)st.running);
                mpw_kv_int(w, "hash_queue_max", (int64_t)st.queue_max);
                mpw_kv_int(w, "hash_done", (int64_t)st.done);
                mpw_kv_int(w, "hash_queue_full", (int64_t)st.full);
        }
}

/* anonymous_login and password_reset are its settings: one switch each */
static const struct ds_function_link functions[] = {
        { "anonymous_login", "anonymous" },
        { "password_reset", "password_reset" },
        { NULL },
};

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
                .functions = functions,
                .config_auth = DS_AUTHZ_SECURITY,
                .state_auth = AUTH_NEEDS2(ACCOUNT, SECURITY),
                .init = a_init,
                .start = a_start,
                .stop = a_stop,
                .apply = a_apply,
                .export_state = a_export,
                .import_state = a_import,
                .check_state = a_check,
                .check_settings = a_check_settings,
                .reset_state = a_reset,
                .factory_reset = a_factory,
                .status = a_status,
                .ready = authd_ready,
        };

        return ds_daemon_main(argc, argv, &svc, &ctx);
}
