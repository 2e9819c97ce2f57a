/* webd - the device's HTTPS face. main.c: the service and its hooks.
 *
 * Two bus identities: the service (webd-svc, a daemon: serves "webd", asks
 * netcfgd for ports and HTTPS settings on its own account) and the gateway
 * (webd, gateway class: every call and subscription it makes is a browser
 * user's, carrying that session's token). A gateway may not serve, and a
 * service may not relay sessions: hence two connections. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "util.h"
#include "webd.h"

static void free_settings(struct webd_ctx *x)
{
        for (size_t i = 0; i < x->n_listen; i++)
                free(x->listen[i]);
        x->n_listen = 0;
        free(x->www);
        x->www = NULL;
}

/* Every refusal of apply, so check_settings (a two-phase import's prepare)
 * runs it alone. A console directory that cannot be opened is served as the
 * API alone, not refused. */
static int webd_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        const msgpack_object *l = ds_settings_get(s, "listen");

        (void)d;
        (void)ctx;
        if (ds_settings_str(s, "www")[0] != '/')
                return ds_err_set(e, -EINVAL, "www", "must be an absolute path");
        for (uint32_t i = 0; l && l->type == MSGPACK_OBJECT_ARRAY && i < l->via.array.size && i < WEBD_MAX_LISTEN; i++)
                if (mp_streq(&l->via.array.ptr[i], "0.0.0.0") || mp_streq(&l->via.array.ptr[i], "::"))
                        return ds_err_set(e, -EINVAL, "listen", "the wildcard address is refused: name addresses");
        return 0;
}

/* After webd_check_settings only memory can fail. */
static int webd_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct webd_ctx *x = ctx;
        const struct ds_settings *s = &d->settings;
        const msgpack_object *l = ds_settings_get(s, "listen");
        const char *www = ds_settings_str(s, "www");
        int fd = -1, r;

        x->d = d;
        if ((r = webd_check_settings(d, ctx, s, e)) < 0)
                return r;
        if (!d->check_only) {
                fd = open(www, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        log_warn("console directory '%s': %m; the API alone is served", www);
        }
        free_settings(x);
        for (uint32_t i = 0; l && l->type == MSGPACK_OBJECT_ARRAY && i < l->via.array.size && i < WEBD_MAX_LISTEN; i++) {
                char *a = mp_strdup(&l->via.array.ptr[i]);
                if (!a) {
                        if (fd >= 0)
                                close(fd);
                        return ds_err_set(e, -ENOMEM, NULL, "out of memory");
                }
                x->listen[x->n_listen++] = a;
        }
        x->www = strdup(www);
        if (x->dirfd > 0)
                close(x->dirfd);
        x->dirfd = fd;
        webd_static_flush();
        x->https_port_override = (int)ds_settings_int(s, "https_port");
        x->http_port_override = (int)ds_settings_int(s, "http_port");
        x->max_clients = (int)ds_settings_int(s, "max_clients");
        x->per_source_max = (int)ds_settings_int(s, "per_source_max");
        x->idle_timeout_s = (int)ds_settings_int(s, "idle_timeout_s");
        x->header_timeout_s = (int)ds_settings_int(s, "header_timeout_s");
        x->max_streams = (int)ds_settings_int(s, "max_streams");
        snprintf(x->gw_identity, sizeof x->gw_identity, "%s", ds_settings_str(s, "gateway_identity"));
        snprintf(x->origin_host, sizeof x->origin_host, "%s", ds_settings_str(s, "origin_host"));
        if (d->loop)
                webd_listen_update(x);
        return 0;
}

static int webd_init(struct ds_daemon *d, void *ctx)
{
        struct webd_ctx *x = ctx;

        (void)d;
        if (sodium_init() < 0)
                return log_errno(-EIO, "libsodium failed to start");
        randombytes_buf(x->csrf_key, sizeof x->csrf_key);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_errno(-errno, "PR_SET_NO_NEW_PRIVS: %m");
        /* CAP_NET_BIND_SERVICE (low ports) is all webd may hold: drop the rest from the bounding set */
        for (int c = 0; c <= CAP_LAST_CAP; c++)
                if (c != CAP_NET_BIND_SERVICE)
                        prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
        return 0;
}

static int on_mhd_timer(zloop_t *loop, int timer, void *arg)
{
        (void)loop;
        (void)timer;
        webd_http_timers(arg);
        return 0;
}

static int webd_start(struct ds_daemon *d, void *ctx)
{
        struct webd_ctx *x = ctx;
        int err = 0;

        x->d = d;
        x->certdir = path_join(d->paths.statedir, "tls"); /* netcfgd's hand-over, group devsec-tls */
        if (!x->certdir)
                return -ENOMEM;
        webd_tls_set_ctx(x);
        x->gw = bus_new(&d->paths, x->gw_identity, &err);
        if (!x->gw)
                return log_errno(err ? err : -EIO, "cannot connect to the bus as '%s' (the gateway identity)",
                                 x->gw_identity);
        if (bus_attach(x->gw, d->loop) < 0)
                return log_errno(-EIO, "cannot attach the gateway connection");
        x->mhd_timer = zloop_timer(d->loop, 250, 0, on_mhd_timer, x);
        return webd_net_start(x);
}

static void webd_stop(struct ds_daemon *d, void *ctx)
{
        struct webd_ctx *x = ctx;

        (void)d;
        webd_probe_stop();
        webd_listen_close(x);
        bus_destroy(&x->gw);
        webd_cert_free(&x->cert);
        webd_cert_free(&x->old_cert);
        free(x->certdir);
        free_settings(x);
        webd_static_flush();
        if (x->dirfd > 0)
                close(x->dirfd);
        sodium_memzero(x->csrf_key, sizeof x->csrf_key);
}

static void webd_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct webd_ctx *x = ctx;
        size_t tls = 0;

        (void)d;
        for (size_t i = 0; i < x->n_lst; i++)
                tls += x->lst[i].tls;
        mpw_kv_uint(w, "https_listeners", tls);
        mpw_kv_uint(w, "streams", x->n_streams);
}

static const char *const webd_topics[] = { "log.*", NULL };

static const struct ds_service webd_service = {
        .name = "webd",
        .version = DEVSEC_VERSION,
        .methods = webd_methods,
        .settings = webd_settings,
        .audit = webd_audit,
        .topics = webd_topics,
        .config_auth = AUTH_NEEDS(SECURITY),
        .init = webd_init,
        .start = webd_start,
        .stop = webd_stop,
        .apply = webd_apply,
        .check_settings = webd_check_settings,
        .status = webd_status,
};

int main(int argc, char **argv)
{
        static struct webd_ctx ctx = { .dirfd = -1 };
        char *args[argc + 3];
        int n = 0;
        bool named = false;

        /* the service's identity is webd-svc unless told: "webd" is the gateway's */
        for (int i = 0; i < argc; i++) {
                named |= !strcmp(argv[i], "--identity") || !strncmp(argv[i], "--identity=", 11);
                args[n++] = argv[i];
        }
        if (!named) {
                args[n++] = "--identity";
                args[n++] = "webd-svc";
        }
        args[n] = NULL;
        return ds_daemon_main(n, args, &webd_service, &ctx);
}
