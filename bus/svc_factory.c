/* svc_factory.c - sys.factory_reset, the generic part of a device-wide factory
 * reset (devctl factory-reset, devsec-factory-reset(8)): the settings back to
 * their defaults and the state reset (as config.reset), then either the
 * service's own in-place reset (factory_reset hook: authd, logd) or the state
 * directory emptied but for what must survive (factory_keep) and the daemon
 * ended with DS_EXIT_FACTORY, so that it starts afresh: keys and certificates
 * are made anew at that start, and what it reports is what it then enforces. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "svc_internal.h"

static bool kept(const struct ds_daemon *d, const char *name)
{
        if (!d->svc->factory_keep)
                return false;
        for (const char *const *k = d->svc->factory_keep; *k; k++)
                if (!strcmp(*k, name))
                        return true;
        return false;
}

/* Empties the state directory but for the names the service keeps; the
 * count of entries removed, or -errno (the first failure; the rest goes on). */
static int wipe_statedir(struct ds_daemon *d, char *failed, size_t size)
{
        DIR *dh = opendir(d->statedir);
        struct dirent *de;
        int n = 0, r = 0;

        if (!dh)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(dh))) {
                int q;
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || kept(d, de->d_name))
                        continue;
                if ((q = state_remove_tree(dirfd(dh), de->d_name)) < 0) {
                        if (r == 0) {
                                r = q;
                                snprintf(failed, size, "%s", de->d_name);
                        }
                        continue;
                }
                n++;
        }
        closedir(dh);
        state_sync_dir(d->statedir);
        return r < 0 ? r : n;
}

static int on_exit_timer(zloop_t *loop, int timer_id, void *arg)
{
        struct ds_daemon *d = arg;

        (void)loop;
        (void)timer_id;
        log_notice("%s: factory reset done: exiting to start afresh", d->svc->name);
        d->exit_code = DS_EXIT_FACTORY;
        return -1; /* ends the loop */
}

const struct ds_field svc_factory_args[FACTORY_N + 1] = {
        [FACTORY_WIPE_LOGS] = {"wipe_logs", DS_BOOL, 0, .help = "logd: remove the closed log store (default: keep it)"},
        [FACTORY_GENERATION] = {"generation", DS_STR, 0, .max_len = 32, .check = ds_check_name,
         .help = "the device-wide reset this call is part of (its mark, see svc_factory_pending)"},
        {NULL},
};

/* The device's mark of its last factory reset (written by the daemon that
 * owns the function flags, netcfgd, readable by every daemon) and each
 * daemon's record of the reset it went through. A daemon that was stopped
 * (its function disabled) or down during a reset finds them different at
 * its next start and resets then. */
#define MARK_DIR  "functions/disabled"
#define MARK_FILE "factory-reset.generation"
#define DONE_FILE "factory-generation"

static int read_token(const char *dir, const char *name, char *buf, size_t size)
{
        char *data = NULL;
        size_t len;
        int r = state_read(dir, name, 64, &data, &len);

        if (r < 0)
                return r;
        while (len && (data[len - 1] == '\n' || data[len - 1] == ' '))
                len--;
        snprintf(buf, size, "%.*s", (int)len, data);
        free(data);
        return buf[0] ? 0 : -ENOENT;
}

static int write_mark(struct ds_daemon *d, const char *gen)
{
        char *dir = path_join(d->paths.statedir, MARK_DIR);
        int r = dir ? state_mkdir_p(dir, 0755) : -ENOMEM;

        if (r == 0)
                r = state_write(dir, MARK_FILE, gen, strlen(gen), 0644);
        free(dir);
        return r;
}

int h_sys_factory_reset(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        const char *actor = ds_call_actor(c);
        char failed[256] = "";
        int r;

        char gen[40] = "";
        int removed;

        (void)ctx;
        ds_tb_str(c, FACTORY_GENERATION, gen, sizeof gen);
        log_audit("security", LOG_LVL_WARNING, actor, "%s: factory reset by '%s'", d->svc->name, actor);
        /* the mark first: a daemon that misses this reset makes up for it at its next start */
        if (gen[0] && d->svc->factory_marks && (r = write_mark(d, gen)) < 0)
                return ds_call_fail(c, r, NULL, "cannot write the factory reset mark: %s", strerror(-r));
        if (d->svc->factory_reset) {
                /* the service resets in place, settings included */
                if ((r = d->svc->factory_reset(d, d->ctx, c)) < 0)
                        return r;
                if (gen[0])
                        state_write(d->statedir, DONE_FILE, gen, strlen(gen), 0600);
                mpw_kv_str(c->r, "service", d->svc->name);
                mpw_kv_bool(c->r, "restart", false);
                return 0;
        }
        if (svc_reset_settings(d, actor, &c->err) < 0)
                return c->err.code;
        r = wipe_statedir(d, failed, sizeof failed);
        if (r < 0)
                return ds_call_fail(c, r, NULL, "cannot remove '%s' from the state directory: %s", failed,
                                    strerror(-r));
        removed = r;
        if (gen[0] && (r = state_write(d->statedir, DONE_FILE, gen, strlen(gen), 0600)) < 0)
                return ds_call_fail(c, r, NULL, "cannot record the factory reset: %s", strerror(-r));
        mpw_kv_str(c->r, "service", d->svc->name);
        mpw_kv_int(c->r, "removed", removed);
        mpw_kv_bool(c->r, "restart", true);
        /* after the answer is on its way: a fresh start makes keys and certificates anew */
        if (zloop_timer(d->loop, 200, 1, on_exit_timer, d) < 0)
                return ds_call_fail(c, -ENOMEM, NULL, "cannot schedule the restart");
        return 0;
}

int ds_factory_reset_settings(struct ds_daemon *d, struct ds_call *c)
{
        return svc_reset_settings(d, ds_call_actor(c), &c->err) < 0 ? c->err.code : 0;
}

void svc_factory_pending(struct ds_daemon *d)
{
        char *dir = path_join(d->paths.statedir, MARK_DIR), mark[40], done[40] = "", failed[256] = "";
        int r;

        if (!dir)
                return;
        r = read_token(dir, MARK_FILE, mark, sizeof mark);
        free(dir);
        /* authd and logd reset in place only (a wiped log store is no make-up) */
        if (r < 0 || d->svc->factory_reset || d->svc->factory_marks)
                return;
        if (read_token(d->statedir, DONE_FILE, done, sizeof done) == 0 && !strcmp(done, mark))
                return;
        r = wipe_statedir(d, failed, sizeof failed);
        if (r < 0) {
                log_err("factory reset '%s' missed while stopped: cannot remove '%s': %s", mark, failed, strerror(-r));
                return;
        }
        if ((r = state_write(d->statedir, DONE_FILE, mark, strlen(mark), 0600)) < 0)
                log_err("factory reset '%s': cannot record it: %s", mark, strerror(-r));
        log_audit("security", LOG_LVL_WARNING, NULL,
                  "%s: factory reset '%s' happened while it was stopped: settings and state removed at this start",
                  d->svc->name, mark);
}
