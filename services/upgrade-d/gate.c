/* gate.c - the health gate (busd's bus.service.up with the new version,
 * sys.ping, audit.report against the baseline), the deadline, an operator's
 * rollback to the kept version, and the journal's recovery at start */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "upgrade.h"
#include "upgrade_int.h"
#include "util.h"

#define UPG_PING_MS 2000

struct gate_call {
        struct upg_ctx *x;
        uint64_t gen;
};

static uint64_t gen_of(struct upg_ctx *x)
{
        return (uint64_t)x->job.started_ms ^ ((uint64_t)x->job.step << 56);
}

/* The version the service must report at this step ("" when any will do). */
static const char *want_version(struct upg_ctx *x)
{
        return x->job.step == UPG_ROLLBACK ? x->job.old_version : x->job.version;
}

static struct gate_call *gate_call_new(struct upg_ctx *x)
{
        struct gate_call *g = calloc(1, sizeof *g);

        if (g)
                *g = (struct gate_call){ .x = x, .gen = gen_of(x) };
        return g;
}

static void on_audit(void *ud, const struct bus_reply *rep)
{
        struct gate_call *g = ud;
        struct upg_ctx *x = g->x;
        struct upg_job *j = &x->job;
        const msgpack_object *items;
        bool stale = g->gen != gen_of(x) || j->step != UPG_GATE;

        free(g);
        if (stale || x->d->stopping) /* our own stop's answer: the journal keeps the step for the next start */
                return;
        if (rep->code != 0) {
                upg_rollback_begin(x, "audit.report of the new version failed: %s", rep->err.msg);
                return;
        }
        items = mp_get(rep->r, "items");
        for (uint32_t i = 0; items && items->type == MSGPACK_OBJECT_ARRAY && i < items->via.array.size; i++) {
                const msgpack_object *it = &items->via.array.ptr[i];
                if (!mp_streq(mp_get(it, "result"), "fail") || mp_get_bool(it, "runtime", false))
                        continue;
                for (size_t k = 0; k < j->n_baseline; k++)
                        if (mp_streq(mp_get(it, "id"), j->baseline[k])) {
                                upg_rollback_begin(x, "audit item '%s' passed before and fails now", j->baseline[k]);
                                return;
                        }
        }
        upg_commit(x);
}

static void gate_audit(struct upg_ctx *x)
{
        struct gate_call *g;
        struct mpw args;

        x->job.step = UPG_GATE;
        upg_journal_write(x);
        upg_crash_point(x, "gate");
        if (!(g = gate_call_new(x)))
                return;
        mpw_init(&args);
        mpw_map_begin(&args);
        mpw_kv_int(&args, "level", x->audit_level);
        mpw_map_end(&args);
        if (bus_call(x->d->bus, x->job.component, "audit.report", &args, NULL, UPG_PING_MS, on_audit, g) < 0)
                free(g);
        mpw_free(&args);
}

static void on_ping(void *ud, const struct bus_reply *rep)
{
        struct gate_call *g = ud;
        struct upg_ctx *x = g->x;
        struct upg_job *j = &x->job;
        char v[BUNDLE_VERSION_MAX + 1];
        bool stale = g->gen != gen_of(x);

        free(g);
        j->pinging = false;
        if (stale || rep->code != 0 || mp_strcpy(mp_get(rep->r, "version"), v, sizeof v) < 0)
                return;
        if (j->step == UPG_SWITCHED && !strcmp(v, j->version))
                gate_audit(x);
        else if (j->step == UPG_ROLLBACK && (!want_version(x)[0] || !strcmp(v, want_version(x))))
                upg_restore_done(x, true);
}

static void gate_ping(struct upg_ctx *x)
{
        struct gate_call *g;

        if (x->job.pinging || !(g = gate_call_new(x)))
                return;
        x->job.pinging = true;
        if (bus_call(x->d->bus, x->job.component, "sys.ping", NULL, NULL, UPG_PING_MS, on_ping, g) < 0) {
                x->job.pinging = false;
                free(g);
        }
}

void upg_on_event(void *ud, const char *topic, const char *src, int64_t ts_ms, const msgpack_object *data)
{
        struct upg_ctx *x = ud;
        struct upg_job *j = &x->job;

        (void)ts_ms;
        if (strcmp(topic, "bus.service.up") || strcmp(src, "busd") || (j->step != UPG_SWITCHED && j->step != UPG_ROLLBACK))
                return;
        if (!mp_streq(mp_get(data, "service"), j->component))
                return;
        if (want_version(x)[0] && !mp_streq(mp_get(data, "version"), want_version(x)))
                return;
        j->hello = true;
        gate_ping(x);
}

int upg_on_tick(zloop_t *loop, int timer_id, void *arg)
{
        struct upg_ctx *x = arg;
        struct upg_job *j = &x->job;

        (void)loop;
        (void)timer_id;
        upg_sdbus_process(x); /* sd-bus's own timeouts */
        if (j->step != UPG_SWITCHED && j->step != UPG_ROLLBACK && j->step != UPG_GATE)
                return 0;
        if (ds_now_mono_ms() > j->deadline_ms) {
                int s = (int)(x->health_timeout_ms / 1000);
                if (j->step == UPG_ROLLBACK)
                        upg_restore_done(x, false);
                else if (j->step == UPG_SWITCHED)
                        upg_rollback_begin(x, "no hello with version %s and no answer to sys.ping within %d s", j->version, s);
                else
                        upg_rollback_begin(x, "the health gate did not finish within %d s", s);
                return 0;
        }
        /* a missed event must not cost a rollback: ask too */
        if (j->step != UPG_GATE)
                gate_ping(x);
        return 0;
}

int upg_rollback_start(struct upg_ctx *x, struct ds_call *c, const char *component)
{
        struct upg_job *j = &x->job;
        char prev[BUNDLE_VERSION_MAX + 1], cur[BUNDLE_VERSION_MAX + 1], vdir[4300], signer[256] = "";
        struct upg_counter *k;
        uint64_t sv = 0;
        int r;

        if (j->step != UPG_IDLE)
                return ds_call_fail(c, -EBUSY, NULL, "'%s' is being upgraded (%s)", j->component, upg_step_name(j->step));
        upg_link_get(x, component, UPG_PREVIOUS, prev, sizeof prev);
        upg_link_get(x, component, UPG_CURRENT, cur, sizeof cur);
        if (!prev[0] || !cur[0])
                return ds_call_fail(c, -ENOENT, "component", "no previous version of '%s' is kept", component);
        snprintf(vdir, sizeof vdir, "%s/%s/%s", x->components_dir, component, prev);
        if ((r = upg_marker_read(vdir, &sv, signer, sizeof signer)) < 0)
                return ds_call_fail(c, -EINVAL, "component", "the kept version %s of '%s' carries no verified marker", prev,
                                    component);
        if ((k = upg_counter_find(&x->counters, component)) && sv < k->security_version)
                return ds_call_fail(c, -EINVAL, "security_version",
                                    "the kept version %s has security version %" PRIu64 ", below the installed %" PRIu64, prev, sv,
                                    k->security_version);
        memset(j, 0, sizeof *j);
        snprintf(j->component, sizeof j->component, "%s", component);
        snprintf(j->version, sizeof j->version, "%s", prev);
        snprintf(j->old_version, sizeof j->old_version, "%s", cur);
        snprintf(j->old_target, sizeof j->old_target, "%s", cur);
        snprintf(j->actor, sizeof j->actor, "%s", ds_call_actor(c));
        snprintf(j->signer, sizeof j->signer, "%s", signer);
        j->security_version = sv;
        j->started_ms = ds_now_mono_ms();
        if (!(j->call = ds_call_detach(c))) {
                memset(j, 0, sizeof *j);
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        }
        log_audit("operation", LOG_LVL_NOTICE, j->actor, "upgrade: '%s' rollback %s -> %s asked by '%s'", component, cur, prev,
                  j->actor);
        j->step = UPG_SWITCHED;
        upg_journal_write(x);
        if ((r = upg_link_set(x, component, UPG_CURRENT, prev)) < 0) {
                upg_rollback_begin(x, "cannot switch the link: %s", strerror(-r));
                return DS_DEFER;
        }
        j->deadline_ms = ds_now_mono_ms() + x->health_timeout_ms;
        if ((r = upg_restart(x, component)) < 0)
                upg_rollback_begin(x, "cannot restart: %s", strerror(-r));
        return DS_DEFER;
}

void upg_recover(struct upg_ctx *x)
{
        struct upg_job j;
        int r = upg_journal_read(x, &j);

        if (r == -ENOENT)
                return;
        if (r < 0) {
                log_errno(r, "journal: unreadable, removed: %m");
                upg_journal_remove(x);
                return;
        }
        x->job = j;
        x->job.started_ms = ds_now_mono_ms();
        x->job.recovering = true;
        log_notice("journal: '%s' %s was interrupted at step '%s'", j.component, j.version, upg_step_name(j.step));
        switch (j.step) {
        case UPG_PROBE:
                /* the link was never switched: only leftovers to remove */
                upg_prune(x, j.component);
                upg_history_add(x, "interrupted", "upgrade-d stopped while unpacking; nothing was switched");
                upg_journal_remove(x);
                upg_job_clear(x);
                break;
        case UPG_COMMITTING:
                upg_commit(x);
                break;
        default:
                upg_rollback_begin(x, "upgrade-d was interrupted at step '%s'", upg_step_name(j.step));
                break;
        }
}
