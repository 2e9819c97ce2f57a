/* svcmgr_systemd.c - the systemd backend: org.freedesktop.systemd1 over sd-bus,
 * driven asynchronously from the daemon's loop (never blocks a handler).
 *
 * Disable: the flag file <flagdir>/<unit> (atomic), then StopUnit. Enable: the
 * flag removed, then StartUnit. Each unit of the function table carries a
 * drop-in ConditionPathExists=!<flagdir>/<unit> (make install), so a flagged
 * unit does not start at boot nor on anyone's request. No unit file is
 * masked, linked or changed and systemd is never reloaded: polkit lets
 * netcfgd start and stop the table's units and nothing else. A call systemd
 * refuses puts the flag back as it was. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "log.h"
#include "netcfgd.h"
#include "state.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MGR "org.freedesktop.systemd1.Manager"
#define SD_TIMEOUT_USEC (30ULL * 1000000ULL)
#define FLAG_TEXT "disabled by netcfgd\n"

/* what systemd last said of a unit (ListUnitsByNames) */
struct sd_unit {
        char *name;
        int installed;     /* 1, 0 (LoadState not-found), -EAGAIN not asked yet */
        const char *state; /* ActiveState, one of active_words */
};

struct sd_mgr {
        sd_bus *bus;
        zloop_t *loop;
        int timer;
        char *flagdir;
        struct sd_unit *units;
        size_t n_units;
        bool asking;      /* a ListUnitsByNames is in flight */
        bool warned;      /* a refused ListUnitsByNames is logged once */
};

static const char *const active_words[] = { "active",   "reloading",    "inactive",    "failed",
                                            "activating", "deactivating", "maintenance", "refreshing",
                                            NULL };

static const char *active_word(const char *s)
{
        for (const char *const *w = active_words; *w; w++)
                if (!strcmp(*w, s))
                        return *w;
        return "unknown";
}

struct sd_op {
        struct sd_mgr *m;
        char *unit;
        bool enable;
        bool had_flag; /* the flag as it was before: restored on a refusal */
        svcmgr_done_fn done;
        void *ud;
};

static void op_free(struct sd_op *op)
{
        free(op->unit);
        free(op);
}

static int flag_path(struct sd_mgr *m, const char *unit, char **ret)
{
        char *p = path_join(m->flagdir, unit);

        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

/* 1 flagged, 0 not, -errno */
static int flag_get(struct sd_mgr *m, const char *unit)
{
        struct stat st;
        char *p;
        int r;

        if ((r = flag_path(m, unit, &p)) < 0)
                return r;
        r = lstat(p, &st) == 0 ? 1 : errno == ENOENT ? 0 : -errno;
        free(p);
        return r;
}

static int flag_put(struct sd_mgr *m, const char *unit, bool on)
{
        int r, dfd;

        if (on)
                return state_write(m->flagdir, unit, FLAG_TEXT, sizeof FLAG_TEXT - 1, 0644);
        r = state_remove(m->flagdir, unit);
        if (r < 0)
                return r;
        /* the removal is what lets the unit start at the next boot: make it durable */
        dfd = open(m->flagdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        r = fsync(dfd) < 0 ? -errno : 0;
        close(dfd);
        return r;
}

static void op_end(struct sd_op *op, int r, const char *why)
{
        op->done(op->ud, r, why);
        op_free(op);
}

static int on_reply(sd_bus_message *m, void *ud, sd_bus_error *ret_error)
{
        struct sd_op *op = ud;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *method = op->enable ? "StartUnit" : "StopUnit";
        int r;

        (void)ret_error;
        /* stopping a unit that is not loaded is fine: it is stopped */
        if (!e || (!op->enable && sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))) {
                op_end(op, 0, NULL);
                return 0;
        }
        log_warn("svcmgr: systemd refused %s for '%s': %s", method, op->unit, e->message ? e->message : e->name);
        if (op->had_flag != !op->enable && (r = flag_put(op->m, op->unit, op->had_flag)) < 0)
                log_warn_errno(r, "svcmgr: cannot restore the flag of '%s' in '%s': %m", op->unit, op->m->flagdir);
        op_end(op, -sd_bus_error_get_errno(e) ?: -EIO, "systemd refused the change");
        return 0;
}

static int op_run(struct sd_op *op)
{
        sd_bus_message *msg = NULL;
        const char *method = op->enable ? "StartUnit" : "StopUnit";
        int r;

        r = flag_get(op->m, op->unit);
        if (r < 0) {
                log_warn_errno(r, "svcmgr: cannot read the flag of '%s' in '%s': %m", op->unit, op->m->flagdir);
                op_end(op, r, "cannot read the function flag directory");
                return r;
        }
        op->had_flag = r == 1;
        /* disable: the flag first, so no start in between gets the unit up again */
        r = flag_put(op->m, op->unit, !op->enable);
        if (r < 0) {
                log_warn_errno(r, "svcmgr: cannot %s the flag of '%s' in '%s': %m", op->enable ? "remove" : "write",
                               op->unit, op->m->flagdir);
                op_end(op, r, "cannot write the function flag directory");
                return r;
        }
        r = sd_bus_message_new_method_call(op->m->bus, &msg, SD_DEST, SD_PATH, SD_MGR, method);
        if (r >= 0)
                r = sd_bus_message_append(msg, "ss", op->unit, "replace");
        if (r >= 0)
                r = sd_bus_call_async(op->m->bus, NULL, msg, on_reply, op, SD_TIMEOUT_USEC);
        sd_bus_message_unref(msg);
        if (r >= 0)
                r = sd_bus_flush(op->m->bus);
        if (r < 0) {
                int k;
                log_warn_errno(r, "svcmgr: cannot call systemd %s for '%s': %m", method, op->unit);
                if (op->had_flag != !op->enable && (k = flag_put(op->m, op->unit, op->had_flag)) < 0)
                        log_warn_errno(k, "svcmgr: cannot restore the flag of '%s': %m", op->unit);
                op_end(op, r, "cannot reach systemd");
                return r;
        }
        return 0;
}

static int sd_set(void *impl, const char *target, bool is_daemon, bool enable, svcmgr_done_fn done, void *ud)
{
        struct sd_mgr *m = impl;
        struct sd_op *op = calloc(1, sizeof *op);
        char unit[256];
        int r;

        if (!op)
                return -ENOMEM;
        /* a devsec daemon's unit is devsec-<name>.service (units/) */
        r = svcmgr_unit_name(target, is_daemon, unit, sizeof unit);
        if (r < 0 || !(op->unit = strdup(unit))) {
                free(op);
                return r < 0 ? r : -ENOMEM;
        }
        op->m = m;
        op->done = done;
        op->ud = ud;
        op->enable = enable;
        op_run(op);
        return 0;
}

static int sd_masked(void *impl, const char *target, bool is_daemon)
{
        char unit[256];
        int r = svcmgr_unit_name(target, is_daemon, unit, sizeof unit);

        return r < 0 ? r : flag_get(impl, unit);
}

static int on_readable(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
        struct sd_mgr *m = arg;

        (void)loop;
        (void)item;
        while (sd_bus_process(m->bus, NULL) > 0)
                ;
        return 0;
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
        (void)timer_id;
        return on_readable(loop, NULL, arg);
}

static struct sd_unit *unit_find(struct sd_mgr *m, const char *name)
{
        for (size_t i = 0; i < m->n_units; i++)
                if (!strcmp(m->units[i].name, name))
                        return &m->units[i];
        return NULL;
}

static int sd_unit_state(void *impl, const char *unit, const char **ret_state)
{
        struct sd_unit *u = unit_find(impl, unit);

        if (!u || u->installed < 0)
                return -EAGAIN;
        if (u->installed)
                *ret_state = u->state;
        return u->installed;
}

/* a(ssssssouso): name, description, load state, active state, sub state, ... */
static int on_units(sd_bus_message *msg, void *ud, sd_bus_error *ret_error)
{
        struct sd_mgr *m = ud;
        const sd_bus_error *e = sd_bus_message_get_error(msg);
        const char *name, *desc, *load, *active;
        int r;

        (void)ret_error;
        m->asking = false;
        if (e) {
                if (!m->warned)
                        log_warn("svcmgr: systemd refused ListUnitsByNames: %s (unit states unknown)",
                                 e->message ? e->message : e->name);
                m->warned = true;
                return 0;
        }
        r = sd_bus_message_enter_container(msg, 'a', "(ssssssouso)");
        while (r > 0 && (r = sd_bus_message_read(msg, "(ssssssouso)", &name, &desc, &load, &active, NULL, NULL, NULL,
                                                 NULL, NULL, NULL)) > 0) {
                struct sd_unit *u = unit_find(m, name);
                if (!u)
                        continue;
                u->installed = strcmp(load, "not-found") != 0;
                u->state = strcmp(load, "loaded") ? (strcmp(load, "masked") ? "error" : "masked") : active_word(active);
        }
        if (r < 0 && !m->warned) {
                log_warn_errno(r, "svcmgr: cannot read systemd's ListUnitsByNames reply: %m");
                m->warned = true;
        }
        return 0;
}

static void sd_refresh(void *impl, char *const *units, size_t n)
{
        struct sd_mgr *m = impl;
        sd_bus_message *msg = NULL;
        int r;

        if (m->asking)
                return;
        if (!m->units) {
                if (!(m->units = calloc(n, sizeof *m->units)))
                        return;
                for (size_t i = 0; i < n; i++) {
                        m->units[i] = (struct sd_unit){ .name = strdup(units[i]), .installed = -EAGAIN };
                        if (!m->units[i].name)
                                m->units[i].name = strdup("");
                }
                m->n_units = n;
        }
        r = sd_bus_message_new_method_call(m->bus, &msg, SD_DEST, SD_PATH, SD_MGR, "ListUnitsByNames");
        if (r >= 0)
                r = sd_bus_message_append_strv(msg, (char **)units);
        if (r >= 0)
                r = sd_bus_call_async(m->bus, NULL, msg, on_units, m, SD_TIMEOUT_USEC);
        sd_bus_message_unref(msg);
        if (r >= 0)
                r = sd_bus_flush(m->bus);
        if (r >= 0)
                m->asking = true;
        else if (!m->warned) {
                log_warn_errno(r, "svcmgr: cannot ask systemd for the unit states: %m");
                m->warned = true;
        }
}

static void sd_destroy(void *impl)
{
        struct sd_mgr *m = impl;

        if (!m)
                return;
        if (m->loop && m->bus) {
                zmq_pollitem_t it = { NULL, sd_bus_get_fd(m->bus), ZMQ_POLLIN, 0 };
                zloop_poller_end(m->loop, &it);
                zloop_timer_end(m->loop, m->timer);
        }
        sd_bus_flush_close_unref(m->bus);
        for (size_t i = 0; i < m->n_units; i++)
                free(m->units[i].name);
        free(m->units);
        free(m->flagdir);
        free(m);
}

static const struct svcmgr_ops sd_ops = {
        .name = "systemd",
        .set = sd_set,
        .masked = sd_masked,
        .unit_state = sd_unit_state,
        .refresh = sd_refresh,
        .destroy = sd_destroy,
};

int svcmgr_systemd_new(zloop_t *loop, const char *flagdir, struct svcmgr *ret)
{
        struct sd_mgr *m = calloc(1, sizeof *m);
        zmq_pollitem_t it;
        int r;

        if (!m || !(m->flagdir = strdup(flagdir))) {
                free(m);
                return -ENOMEM;
        }
        /* installed by tmpfiles.d on a device; made here for a build tree */
        r = state_mkdir_p(flagdir, 0755);
        if (r < 0) {
                log_errno(r, "svcmgr: cannot create the function flag directory '%s': %m", flagdir);
                free(m->flagdir);
                free(m);
                return r;
        }
        r = sd_bus_open_system(&m->bus);
        if (r < 0) {
                free(m->flagdir);
                free(m);
                return log_errno(r, "svcmgr: cannot connect to the system bus: %m");
        }
        m->loop = loop;
        it = (zmq_pollitem_t){ NULL, sd_bus_get_fd(m->bus), ZMQ_POLLIN, 0 };
        if (zloop_poller(loop, &it, on_readable, m) < 0) {
                sd_destroy(m);
                return -ENOMEM;
        }
        m->timer = zloop_timer(loop, 1000, 0, on_tick, m); /* call timeouts */
        *ret = (struct svcmgr){ .ops = &sd_ops, .impl = m }; /* no allow list yet */
        return 0;
}
