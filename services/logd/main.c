/* logd - tamper-evident security log store, queries, and remote syslog over TLS.
 * main.c: the service and its hooks; methods.c the settings, table and handlers;
 * ingest.c the way in from the bus; store.c, key.c, cursor.c, query.c, verify.c,
 * remote.c the domain. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logd_svc.h"
#include "state.h"
#include "util.h"

static const char *const logd_topics[] = { "log.storage.threshold", "logd.dropped", NULL };

static int logd_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        return logd_settings_apply(ctx, &d->settings, e);
}

static int logd_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        (void)d;
        (void)ctx;
        return logd_settings_check(s, e);
}

/* Opens the store before the bus: a store that cannot be opened stops the start. */
static int logd_init(struct ds_daemon *d, void *ctx)
{
        struct logd_ctx *x = ctx;
        char *segdir = path_join(d->statedir, "store");
        int r;

        x->d = d;
        x->rec = malloc(sizeof *x->rec);
        mpw_init(&x->fw);
        if (!segdir || !x->rec) {
                free(segdir);
                return -ENOMEM;
        }
        /* settings are loaded: take the store's limits before opening it */
        logd_settings_store(&d->settings, &x->cfg);
        x->queue_max = (size_t)ds_settings_int(&d->settings, "queue_max");
        r = logd_store_open(segdir, d->statedir, &x->cfg, &x->store);
        free(segdir);
        if (r < 0)
                return r;
        if ((r = logd_queue_init(x, x->queue_max)) < 0)
                return r;
        /* what a crash left unsealed is sealed now, with the key of its epoch */
        return logd_store_seal(x->store);
}

static int logd_start(struct ds_daemon *d, void *ctx)
{
        struct logd_ctx *x = ctx;
        struct ds_err e;

        x->d = d;
        x->remote = logd_remote_new(d->loop, x->store, d->statedir);
        if (!x->remote)
                return -ENOMEM;
        ds_err_clear(&e);
        if (logd_apply(d, x, &e) < 0)
                log_warn("remote logging settings refused: %s", e.msg);
        return logd_ingest_start(x);
}

static void logd_stop(struct ds_daemon *d, void *ctx)
{
        struct logd_ctx *x = ctx;

        (void)d;
        logd_drain(x);
        logd_store_seal(x->store);
        if (x->remote)
                logd_remote_flush(x->remote);
        logd_remote_destroy(&x->remote);
        logd_queue_free(x);
        logd_store_close(&x->store);
        mpw_free(&x->fw);
        free(x->rec);
        x->rec = NULL;
}

static void logd_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct logd_ctx *x = ctx;
        struct logd_store_info in = { 0 };

        (void)d;
        if (x->store)
                logd_store_info(x->store, &in);
        mpw_kv_uint(w, "records", in.last_seq);
        mpw_kv_uint(w, "dropped", x->dropped);
}

/* Factory reset in place: what is queued goes into the chain, which is closed
 * with "factory reset by X" and a final seal, kept or removed (wipe_logs); a
 * new chain starts under a new seal key, then the settings go back to their
 * defaults (their record is the new chain's). */
static int logd_factory(struct ds_daemon *d, void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        const char *actor = ds_call_actor(c);
        bool wipe = ds_tb_bool(c, FACTORY_WIPE_LOGS, false);
        struct logd_store_info in;
        char end_msg[256], start_msg[320];
        uint64_t end;
        int r;

        logd_drain(x);
        logd_store_info(x->store, &in);
        snprintf(end_msg, sizeof end_msg, "factory reset by '%s': this chain ends here with a final seal; the log "
                 "store is %s", actor, wipe ? "wiped" : "kept");
        snprintf(start_msg, sizeof start_msg, "a new chain after the factory reset by '%s': the previous chain "
                 "ended at record %llu and was %s; a new seal key (devctl log seal init)", actor,
                 (unsigned long long)in.last_seq + 1, wipe ? "wiped" : "kept");
        r = logd_store_new_chain(x->store, actor, end_msg, start_msg, wipe, &end);
        if (r < 0)
                return ds_call_fail(c, r, NULL, "cannot close the log chain: %s", strerror(-r));
        /* the forwarder's place belonged to the old chain */
        state_remove(d->statedir, "remote.mp");
        if ((r = ds_factory_reset_settings(d, c)) < 0)
                return r;
        mpw_kv_uint(c->r, "chain_end", end);
        mpw_kv_uint(c->r, "chain_start", end + 1);
        mpw_kv_bool(c->r, "wiped", wipe);
        return 0;
}

static const struct ds_service logd_service = {
        .name = "logd",
        .version = DEVSEC_VERSION,
        .methods = logd_methods,
        .settings = logd_settings,
        .audit = logd_audit,
        .topics = logd_topics,
        /* remote_log permits the forwarding: off turns it off, forwarding on turns it on */
        .functions = (const struct ds_function_link[]){ { "remote_log", "remote_enabled", .permission = true },
                                                         { NULL } },
        .config_auth = DS_AUTHZ_SECURITY,
        .init = logd_init,
        .start = logd_start,
        .stop = logd_stop,
        .apply = logd_apply,
        .check_settings = logd_check_settings,
        .status = logd_status,
        .factory_reset = logd_factory,
};

int main(int argc, char **argv)
{
        static struct logd_ctx ctx;

        return ds_daemon_main(argc, argv, &logd_service, &ctx);
}
