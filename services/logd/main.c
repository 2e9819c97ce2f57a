/* logd - tamper-evident security log store, queries, and remote syslog over TLS.
 * main.c: the service and its hooks; methods.c the settings, table and handlers;
 * ingest.c the way in from the bus; store.c, key.c, cursor.c, query.c, verify.c,
 * remote.c the domain. */
#include <stdlib.h>

#include "log.h"
#include "logd_svc.h"
#include "state.h"
#include "util.h"

static const char *const logd_topics[] = { "log.storage.threshold", "logd.dropped", NULL };

static int logd_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        return logd_settings_apply(ctx, &d->settings, e);
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
        .status = logd_status,
};

int main(int argc, char **argv)
{
        static struct logd_ctx ctx;

        return ds_daemon_main(argc, argv, &logd_service, &ctx);
}
