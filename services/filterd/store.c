/* store.c - filterd's persisted state: the running and candidate filters, the
 * bans, the ports from netcfgd, an unconfirmed apply; export, import, reset */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filterd.h"
#include "log.h"
#include "service.h"
#include "state.h"
#include "util.h"

#define STATE_MAX (4u << 20)

/* ---- state ------------------------------------------------------------------------ */

void filterd_write_ports(struct filterd *f, struct mpw *w)
{
        mpw_str(w, "ports");
        mpw_arr_begin(w);
        for (size_t i = 0; i < f->ports.n; i++) {
                mpw_map_begin(w);
                mpw_kv_str(w, "name", f->ports.v[i].name);
                mpw_kv_str(w, "proto", f->ports.v[i].proto == 6 ? "tcp" : "udp");
                mpw_kv_int(w, "port", f->ports.v[i].port);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_kv_int(w, "max_connections", f->ports.max_connections);
        mpw_kv_str(w, "ports_from", f->ports.from_netcfgd ? "netcfgd" : "defaults");
}


int filterd_save_config(struct filterd *f, const char *name, const struct fd_config *c)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        fd_config_write(c, &w);
        r = ds_daemon_save(f->d, name, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (r < 0)
                log_errno(r, "cannot save '%s': %m", name);
        return r;
}

int filterd_save_bans(struct filterd *f)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        fd_bans_write(&f->bans, &w, ds_now_real_ms());
        r = ds_daemon_save(f->d, FD_STATE_BANS, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (r < 0)
                log_errno(r, "cannot save '%s': %m", FD_STATE_BANS);
        return r;
}

static int load_config(struct filterd *f, const char *name, struct fd_config *ret)
{
        struct state_mp m;
        struct ds_err e;
        int r;

        r = state_read_mp(f->d->statedir, name, STATE_MAX, NULL, &m);
        if (r == 0) {
                ds_err_clear(&e);
                r = fd_config_read(&m.u.data, ret, &e);
                if (r < 0)
                        log_err("state '%s': %s: %s", name, e.field, e.msg);
        } else if (m.why) {
                log_err("state '%s': %s", name, m.why);
        }
        state_mp_free(&m);
        return r;
}

/* netcfgd publishes its table only when it changes: keep the last one */
int filterd_save_ports(struct filterd *f)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        filterd_write_ports(f, &w);
        mpw_map_end(&w);
        r = ds_daemon_save(f->d, FD_STATE_PORTS, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (r < 0)
                log_errno(r, "cannot save '%s': %m", FD_STATE_PORTS);
        return r;
}

int filterd_save_confirm(struct filterd *f, const struct fd_config *c, int64_t deadline_real_ms)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "deadline_ms", deadline_real_ms);
        mpw_kv_int(&w, "within_s", f->confirm_within_s);
        mpw_kv_str(&w, "by", f->confirm_by);
        mpw_str(&w, "config");
        fd_config_write(c, &w);
        mpw_map_end(&w);
        r = ds_daemon_save(f->d, FD_STATE_CONFIRM, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (r < 0)
                log_errno(r, "cannot save '%s': %m", FD_STATE_CONFIRM);
        return r;
}

void filterd_drop_confirm(struct filterd *f)
{
        int r = state_remove(f->d->statedir, FD_STATE_CONFIRM);

        if (r < 0 && r != -ENOENT)
                log_errno(r, "cannot remove '%s': %m", FD_STATE_CONFIRM);
}

/* An unconfirmed apply that outlived the process: its deadline passed, the
 * confirmed filter (already loaded) stays; otherwise it runs on for the rest
 * of its window (never longer than the window it was given). */
static void load_confirm(struct filterd *f)
{
        struct fd_config c = { 0 };
        struct state_mp m;
        struct ds_err e;
        int64_t deadline, within, left;

        if (state_read_mp(f->d->statedir, FD_STATE_CONFIRM, STATE_MAX, NULL, &m) < 0) {
                if (m.why) {
                        log_err("state '%s': %s: the confirmed filter stays", FD_STATE_CONFIRM, m.why);
                        filterd_drop_confirm(f);
                        f->reverted_at_start = true;
                }
                state_mp_free(&m);
                return;
        }
        deadline = mp_get_int(&m.u.data, "deadline_ms", 0);
        within = mp_get_int(&m.u.data, "within_s", 0);
        if (mp_strcpy(mp_get(&m.u.data, "by"), f->confirm_by, sizeof f->confirm_by) < 0)
                snprintf(f->confirm_by, sizeof f->confirm_by, "?");
        left = deadline - ds_now_real_ms();
        ds_err_clear(&e);
        if (within < 1 || within > 3600 || left <= 0 || fd_config_read(mp_get(&m.u.data, "config"), &c, &e) < 0) {
                f->confirm_within_s = (int)within;
                f->reverted_at_start = true;
                filterd_drop_confirm(f);
        } else {
                if (left > within * 1000)
                        left = within * 1000; /* the wall clock went back: the window never grows */
                fd_config_free(&f->confirmed);
                f->confirmed = f->running;
                f->running = c;
                memset(&c, 0, sizeof c);
                f->confirm_pending = true;
                f->confirm_within_s = (int)within;
                f->confirm_deadline_ms = ds_now_mono_ms() + left;
        }
        fd_config_free(&c);
        state_mp_free(&m);
}

int filterd_load(struct filterd *f)
{
        struct state_mp m;
        int r;

        r = load_config(f, FD_STATE_RUNNING, &f->running);
        if (r < 0 && r != -ENOENT)
                return r;
        r = load_config(f, FD_STATE_CANDIDATE, &f->candidate);
        if (r == -ENOENT)
                r = fd_config_copy(&f->candidate, &f->running);
        if (r < 0)
                return r;
        if (state_read_mp(f->d->statedir, FD_STATE_PORTS, STATE_MAX, NULL, &m) == 0) {
                struct ds_err e;
                struct fd_ports p;

                if (fd_ports_read(&m.u.data, &p, &e) == 0)
                        f->ports = p;
        }
        state_mp_free(&m);
        if (state_read_mp(f->d->statedir, FD_STATE_BANS, STATE_MAX, NULL, &m) == 0)
                fd_bans_read(&m.u.data, &f->bans, ds_now_real_ms());
        state_mp_free(&m);
        load_confirm(f);
        return 0;
}

int filterd_export(struct ds_daemon *d, void *ctx, struct ds_export *x)
{
        struct filterd *f = ctx;

        (void)d;
        fd_config_write(&f->running, x->w);
        return 0;
}

/* The import's checks: c read from o, or an error naming the field. */
static int import_read(struct ds_daemon *d, struct filterd *f, const msgpack_object *o, struct fd_config *c,
                       struct ds_err *e)
{
        int r;

        if (f->confirm_pending)
                return ds_err_set(e, -EBUSY, NULL, "an apply awaits filter.confirm");
        r = fd_config_read(o, c, e);
        if (r == 0) {
                /* the live methods' guard; an import carries no operator source */
                char why[384];
                if (fd_guard(c, "", ds_settings_str(&d->settings, "management"), why, sizeof why) < 0) {
                        log_audit("security", LOG_LVL_WARNING, "config.import", "filter: import refused: %s", why);
                        snprintf(e->reason, sizeof e->reason, "self-lockout");
                        r = ds_err_set(e, -EINVAL, c->mode == FD_MODE_DENY ? "state.entries" : "state.mode", "%s", why);
                }
        }
        return r;
}

int filterd_check(struct ds_daemon *d, void *ctx, const msgpack_object *o, struct ds_err *e)
{
        struct fd_config c = { 0 };
        int r = import_read(d, ctx, o, &c, e);

        fd_config_free(&c);
        return r;
}

/* What applying settings s refuses (filterd_apply_settings), without acting. */
int filterd_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        char why[128];

        (void)d;
        (void)ctx;
        if (fd_management_check(ds_settings_str(s, "management"), why, sizeof why) < 0)
                return ds_err_set(e, -EINVAL, "management", "%s", why);
        return 0;
}

int filterd_import(struct ds_daemon *d, void *ctx, const msgpack_object *o, struct ds_err *e)
{
        struct filterd *f = ctx;
        struct fd_config c = { 0 };
        int r;

        r = import_read(d, f, o, &c, e);
        if (r == 0)
                r = filterd_enforce(f, &c, e);
        if (r < 0) {
                fd_config_free(&c);
                return r;
        }
        fd_config_free(&f->running);
        f->running = c;
        fd_config_copy(&f->candidate, &f->running);
        filterd_save_config(f, FD_STATE_RUNNING, &f->running);
        filterd_save_config(f, FD_STATE_CANDIDATE, &f->candidate);
        return 0;
}

int filterd_reset(struct ds_daemon *d, void *ctx)
{
        struct filterd *f = ctx;
        struct fd_config off = { 0 };
        struct ds_err e;
        int r;

        (void)d;
        if (f->confirm_pending) {
                if (f->confirm_timer >= 0)
                        zloop_timer_end(f->d->loop, f->confirm_timer);
                f->confirm_timer = -1;
                f->confirm_pending = false;
                fd_config_free(&f->confirmed);
                filterd_drop_confirm(f);
        }
        fd_bans_free(&f->bans);
        r = filterd_enforce(f, &off, &e);
        if (r < 0)
                return r;
        fd_config_free(&f->running);
        fd_config_free(&f->candidate);
        filterd_save_config(f, FD_STATE_RUNNING, &f->running);
        filterd_save_config(f, FD_STATE_CANDIDATE, &f->candidate);
        filterd_save_bans(f);
        return 0;
}
