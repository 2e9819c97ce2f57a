/* sftp-storage - uploads of what the media stack spools (recordings,
 * snapshots) over SFTP with a pinned host key into an exclusive remote
 * directory, from a persistent queue. main.c: the service and its hooks;
 * methods.c the storage.* methods; xfer.c the remote side; spool.c the local
 * one; key.c the device key; check.c pure logic. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "sftp.h"
#include "state.h"
#include "util.h"


static const char *const topics[] = { "storage.queue.threshold", "storage.hostkey.mismatch", "log.system",
                                      "log.security", NULL };

static void on_level(void *ud, unsigned pct, bool above)
{
        struct stor_ctx *x = ud;

        ds_queue_level(x->d, "storage.queue.threshold", "upload queue", pct, above);
}

static void limits_of(struct stor_ctx *x, const struct ds_settings *s, struct dsq_limits *ret)
{
        ds_queue_limits(s, (uint64_t)ds_settings_int(s, "queue_max_items") * (STOR_NAME_MAX + 1), on_level, x, ret);
}

static void device_id(char *buf, size_t size)
{
        char *t = NULL;
        size_t len;

        if (state_read("/etc", "machine-id", 64, &t, &len) == 0 && len >= 32) {
                snprintf(buf, size, "%.32s", t);
        } else {
                char h[64] = "device";
                gethostname(h, sizeof h - 1);
                snprintf(buf, size, "%s", h);
        }
        free(t);
}

/* The configuration from settings s: every refusal of apply, so
 * check_settings (a two-phase import's prepare) runs it alone. */
static int conf_from(struct ds_daemon *d, const struct ds_settings *s, struct stor_conf *ret, struct ds_err *e)
{
        struct stor_conf c = { 0 };
        const char *url = ds_settings_str(s, "url"), *why = NULL, *ca = ds_settings_str(s, "ca_file");
        const char *spool = ds_settings_str(s, "spool_dir");

        c.allow_ftps = ds_settings_bool(s, "allow_ftps");
        if (url[0]) {
                if (stor_url_parse(url, c.allow_ftps, &c.url, &why) < 0)
                        return ds_err_set(e, -EINVAL, "url", "%s", why);
                c.configured = true;
                if (!ds_settings_str(s, "username")[0])
                        return ds_err_set(e, -EINVAL, "username", "a destination needs the account's user name");
        }
        if (ca[0] && ca[0] != '/')
                return ds_err_set(e, -EINVAL, "ca_file", "must be an absolute path (or empty for the system store)");
        if (spool[0] && spool[0] != '/')
                return ds_err_set(e, -EINVAL, "spool_dir", "must be an absolute path");
        if (ds_settings_int(s, "retry_max_s") < ds_settings_int(s, "retry_min_s"))
                return ds_err_set(e, -EINVAL, "retry_max_s", "must not be below retry_min_s");
        snprintf(c.username, sizeof c.username, "%s", ds_settings_str(s, "username"));
        snprintf(c.ca_file, sizeof c.ca_file, "%s", ca);
        if (spool[0])
                snprintf(c.spool_dir, sizeof c.spool_dir, "%s", spool);
        else
                snprintf(c.spool_dir, sizeof c.spool_dir, "%s/spool", d->statedir ? d->statedir : ".");
        if (ds_settings_str(s, "device_id")[0])
                snprintf(c.device_id, sizeof c.device_id, "%s", ds_settings_str(s, "device_id"));
        else
                device_id(c.device_id, sizeof c.device_id);
        c.keep = !strcmp(ds_settings_str(s, "retention"), "keep");
        c.timeout_s = ds_settings_int(s, "timeout_s");
        c.rate_kib_s = ds_settings_int(s, "rate_limit_kib_s");
        *ret = c;
        return 0;
}

static int stor_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        struct stor_conf c;

        (void)ctx;
        return conf_from(d, s, &c, e);
}

/* After conf_from only memory can fail. */
static int stor_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct stor_ctx *x = ctx;
        const struct ds_settings *s = &d->settings;
        struct stor_conf c;
        struct dsq_limits lim;
        char *pw;
        int r;

        if ((r = conf_from(d, s, &c, e)) < 0)
                return r;
        if (!(pw = strdup(ds_settings_str(s, "password"))))
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        x->d = d;
        /* another account sees another directory (its chroot): checked
         * again; a connection logged in with the old credentials ends */
        bool dest = strcmp(c.url.host, x->conf.url.host) || strcmp(c.url.dir, x->conf.url.dir) ||
                    c.url.port != x->conf.url.port || c.url.proto != x->conf.url.proto ||
                    strcmp(c.device_id, x->conf.device_id) || strcmp(c.username, x->conf.username);
        if (dest) {
                x->dir_ok = false;
                x->dir_next_ms = 0;
                x->hostkey_mismatch = false; /* the old server's: the next connection checks again */
        }
        if (dest || strcmp(pw, x->password ? x->password : "")) {
                x->conf = c;
                stor_xfer_abort(x, dest ? "the destination or its account changed" : "the password changed");
        }
        x->conf = c;
        ds_free_secret(x->password);
        x->password = pw;
        if (x->q) {
                limits_of(x, s, &lim);
                dsq_set_limits(x->q, &lim);
        }
        stor_kick(x);
        return 0;
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
        struct stor_ctx *x = arg;

        (void)loop;
        (void)timer_id;
        ds_queue_expire(x->q, "upload");
        stor_spool_scan(x);
        stor_kick(x);
        return 0;
}

static int stor_init(struct ds_daemon *d, void *ctx)
{
        struct stor_ctx *x = ctx;
        struct dsq_limits lim;
        char *pin = NULL;
        size_t len;
        int r = 0;

        x->d = d;
        x->up_fd = -1;
        x->tick_timer = -1;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_errno(-errno, "PR_SET_NO_NEW_PRIVS: %m");
        /* the spool default follows the state dir, known only now */
        if (!ds_settings_str(&d->settings, "spool_dir")[0])
                snprintf(x->conf.spool_dir, sizeof x->conf.spool_dir, "%s/spool", d->statedir);
        static const char *const sub[] = { "held", "kept", NULL };
        for (unsigned i = 0; sub[i]; i++) {
                char *p = path_join(d->statedir, sub[i]);
                if (!p || (r = state_mkdir_p(p, 0700)) < 0) {
                        free(p);
                        return log_errno(r ? r : -ENOMEM, "state dir '%s': %m", sub[i]);
                }
                free(p);
        }
        if (state_mkdir_p(x->conf.spool_dir, 0770) < 0)
                log_warn("spool directory '%s' cannot be created: %m", x->conf.spool_dir);
        if ((r = stor_key_ensure(x)) < 0)
                return r;
        if (state_read(d->statedir, "hostkey", 128, &pin, &len) == 0) {
                while (len && (pin[len - 1] == '\n' || pin[len - 1] == ' '))
                        pin[--len] = 0;
                snprintf(x->pin, sizeof x->pin, "%s", pin);
                free(pin);
        }
        limits_of(x, &d->settings, &lim);
        if (!(x->q = ds_queue_open(d, "queue", &lim, &r)))
                return r;
        stor_spool_recover(x);
        return stor_xfer_init(x);
}

static int stor_start(struct ds_daemon *d, void *ctx)
{
        struct stor_ctx *x = ctx;

        x->tick_timer = zloop_timer(d->loop, 1000, 0, on_tick, x);
        ds_queue_log_backlog(x->q, "upload", "queue");
        if (!stor_configured(x))
                log_notice("no destination configured: spooled files wait in the queue");
        else if (x->conf.url.proto == STOR_SFTP && !x->pin[0])
                log_notice("the host key of '%s' is not pinned yet: devctl storage trust", x->conf.url.host);
        stor_kick(x);
        return 0;
}

static void stor_stop(struct ds_daemon *d, void *ctx)
{
        struct stor_ctx *x = ctx;

        (void)d;
        stor_xfer_fini(x);
        dsq_destroy(&x->q);
        ds_free_secret(x->password);
        x->password = NULL;
}

static void stor_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct stor_ctx *x = ctx;

        (void)d;
        mpw_kv_bool(w, "configured", stor_configured(x));
        stor_write_stats(x, w);
}

static const struct ds_service stor_service = {
        .name = "sftp-storage",
        .version = DEVSEC_VERSION,
        .methods = stor_methods,
        .settings = stor_settings,
        .audit = stor_audit,
        .topics = topics,
        .init = stor_init,
        .apply = stor_apply,
        .check_settings = stor_check_settings,
        .start = stor_start,
        .stop = stor_stop,
        .status = stor_status,
};

int main(int argc, char **argv)
{
        static struct stor_ctx ctx;

        return ds_daemon_main(argc, argv, &stor_service, &ctx);
}
