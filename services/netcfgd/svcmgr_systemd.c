/* svcmgr_systemd.c - the systemd backend: org.freedesktop.systemd1 over sd-bus,
 * driven asynchronously from the daemon's loop (never blocks a handler).
 * Disable: StopUnit, MaskUnitFiles, Reload. Enable: UnmaskUnitFiles, Reload,
 * StartUnit. */
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "log.h"
#include "netcfgd.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MGR "org.freedesktop.systemd1.Manager"
#define SD_TIMEOUT_USEC (30ULL * 1000000ULL)

struct sd_mgr {
        sd_bus *bus;
        zloop_t *loop;
        int timer;
};

enum step { ST_STOP, ST_MASK, ST_UNMASK, ST_RELOAD, ST_START, ST_END };

static const enum step disable_steps[] = { ST_STOP, ST_MASK, ST_RELOAD, ST_END };
static const enum step enable_steps[] = { ST_UNMASK, ST_RELOAD, ST_START, ST_END };

/* How each step is called: method and argument shape. */
enum args { A_NONE, A_UNIT_MODE, A_MASK, A_UNMASK };
static const struct {
        const char *method;
        enum args args;
} step_calls[] = {
        [ST_STOP] = { "StopUnit", A_UNIT_MODE },
        [ST_MASK] = { "MaskUnitFiles", A_MASK },     /* files, runtime=false, force=true */
        [ST_UNMASK] = { "UnmaskUnitFiles", A_UNMASK }, /* files, runtime=false */
        [ST_RELOAD] = { "Reload", A_NONE },
        [ST_START] = { "StartUnit", A_UNIT_MODE },
};

struct sd_op {
        struct sd_mgr *m;
        char *unit;
        const enum step *steps;
        size_t at;
        svcmgr_done_fn done;
        void *ud;
};

static void op_free(struct sd_op *op)
{
        free(op->unit);
        free(op);
}

static int op_next(struct sd_op *op);

static void op_end(struct sd_op *op, int r, const char *why)
{
        op->done(op->ud, r, why);
        op_free(op);
}

static int on_reply(sd_bus_message *m, void *ud, sd_bus_error *ret_error)
{
        struct sd_op *op = ud;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        (void)ret_error;
        /* stopping a unit that is not loaded is fine: it is stopped */
        if (e && !(op->steps[op->at] == ST_STOP && sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))) {
                log_warn("svcmgr: systemd refused %s for '%s': %s", step_calls[op->steps[op->at]].method, op->unit, e->message ? e->message : e->name);
                op_end(op, -sd_bus_error_get_errno(e) ?: -EIO, "systemd refused the change");
                return 0;
        }
        op->at++;
        if (op_next(op) < 0)
                return 0;
        return 0;
}

static int append_args(sd_bus_message *msg, enum args a, const char *unit)
{
        if (a == A_UNIT_MODE)
                return sd_bus_message_append(msg, "ss", unit, "replace");
        if (a == A_MASK)
                return sd_bus_message_append(msg, "asbb", 1, unit, 0, 1);
        if (a == A_UNMASK)
                return sd_bus_message_append(msg, "asb", 1, unit, 0);
        return 0;
}

static int op_next(struct sd_op *op)
{
        sd_bus_message *msg = NULL;
        enum step st = op->steps[op->at];
        int r;

        if (st == ST_END) {
                op_end(op, 0, NULL);
                return 0;
        }
        r = sd_bus_message_new_method_call(op->m->bus, &msg, SD_DEST, SD_PATH, SD_MGR, step_calls[st].method);
        if (r >= 0)
                r = append_args(msg, step_calls[st].args, op->unit);
        if (r >= 0)
                r = sd_bus_call_async(op->m->bus, NULL, msg, on_reply, op, SD_TIMEOUT_USEC);
        sd_bus_message_unref(msg);
        if (r >= 0)
                r = sd_bus_flush(op->m->bus);
        if (r < 0) {
                log_warn_errno(r, "svcmgr: cannot call systemd %s for '%s': %m", step_calls[st].method, op->unit);
                op_end(op, r, "cannot reach systemd");
                return r;
        }
        return 0;
}

static int sd_set(void *impl, const char *unit, bool is_daemon, bool enable, svcmgr_done_fn done, void *ud)
{
        struct sd_mgr *m = impl;
        struct sd_op *op = calloc(1, sizeof *op);
        size_t n = strlen(unit);

        if (!op)
                return -ENOMEM;
        op->m = m;
        op->done = done;
        op->ud = ud;
        op->steps = enable ? enable_steps : disable_steps;
        /* a devsec daemon's unit is devsec-<name>.service (units/) */
        if (is_daemon)
                op->unit = (asprintf(&op->unit, "devsec-%s.service", unit) < 0) ? NULL : op->unit;
        else if (n < 8 || strcmp(unit + n - 8, ".service"))
                op->unit = (asprintf(&op->unit, "%s.service", unit) < 0) ? NULL : op->unit;
        else
                op->unit = strdup(unit);
        if (!op->unit) {
                free(op);
                return -ENOMEM;
        }
        op_next(op);
        return 0;
}

static int sd_masked(void *impl, const char *unit, bool is_daemon)
{
        (void)impl;
        (void)unit;
        (void)is_daemon;
        return -EOPNOTSUPP; /* asking would block; the function table is the record */
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
        free(m);
}

static const struct svcmgr_ops sd_ops = {
        .name = "systemd",
        .set = sd_set,
        .masked = sd_masked,
        .destroy = sd_destroy,
};

int svcmgr_systemd_new(zloop_t *loop, struct svcmgr *ret)
{
        struct sd_mgr *m = calloc(1, sizeof *m);
        zmq_pollitem_t it;
        int r;

        if (!m)
                return -ENOMEM;
        r = sd_bus_open_system(&m->bus);
        if (r < 0) {
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
        ret->ops = &sd_ops;
        ret->impl = m;
        return 0;
}
