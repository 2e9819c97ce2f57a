/* install.c - one component at a time: verify -> unpack -> switch the link ->
 * restart that service only -> health gate (hello with the new version,
 * sys.ping, no audit item newly failing) -> commit; any failure: link back,
 * restart, old version healthy again, rolled back with the reason. The
 * journal is written at each step boundary so that a kill resumes here. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus_proto.h"
#include "log.h"
#include "state.h"
#include "upgrade.h"
#include "upgrade_int.h"
#include "util.h"

#define UPG_CALL_MS 5000


/* Test hook, honoured only with --dry-run (a build tree): dies at a step boundary. */
void upg_crash_point(struct upg_ctx *x, const char *where)
{
        const char *at = getenv("UPGRADE_D_CRASH_AT");

        if (x->d->dry_run && at && !strcmp(at, where)) {
                log_warn("UPGRADE_D_CRASH_AT=%s: killing myself", where);
                raise(SIGKILL);
        }
}

static void work_stop(struct upg_ctx *x)
{
        if (x->work_timer >= 0)
                zloop_timer_end(x->d->loop, x->work_timer);
        x->work_timer = -1;
        if (x->job.work)
                bundle_cursor_end(&x->job.cur, x->job.work == UPG_WORK_UNPACK);
        x->job.work = 0;
}

void upg_job_clear(struct upg_ctx *x)
{
        work_stop(x);
        bundle_close(&x->job.bundle);
        for (size_t i = 0; i < x->job.n_baseline; i++)
                free(x->job.baseline[i]);
        free(x->job.baseline);
        if (x->job.call)
                ds_call_finish(&x->job.call, -DS_EINTERNAL);
        memset(&x->job, 0, sizeof x->job);
}

/* Answers the request (if any) and publishes what happened. */
static void job_done(struct upg_ctx *x, const char *result, const char *reason, bool healthy)
{
        struct upg_job *j = &x->job;
        const char *topic = !strcmp(result, "done") ? "upgrade.done" : "upgrade.rolled_back";
        struct mpw w;

        upg_history_add(x, result, reason);
        upg_journal_remove(x);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "component", j->component);
        mpw_kv_str(&w, "version", j->version);
        mpw_kv_str(&w, "from", j->old_version);
        mpw_kv_str(&w, "result", result);
        mpw_kv_str(&w, "reason", reason ? reason : "");
        mpw_kv_bool(&w, "healthy", healthy);
        mpw_kv_str(&w, "actor", j->actor);
        mpw_map_end(&w);
        ds_daemon_publish(x->d, topic, &w);
        mpw_free(&w);
        if (!strcmp(result, "done")) {
                x->installs++;
                log_audit("operation", LOG_LVL_NOTICE, j->actor, "upgrade: '%s' %s -> %s committed (by '%s', signed by %s)",
                          j->component, j->old_version[0] ? j->old_version : "base", j->version, j->actor,
                          j->signer[0] ? j->signer : "-");
        } else {
                x->rollbacks++;
                log_audit("operation", LOG_LVL_WARNING, j->actor, "upgrade: '%s' %s rolled back to %s: %s%s", j->component,
                          j->version, j->old_version[0] ? j->old_version : "base", reason ? reason : "",
                          healthy ? "" : " (the restored version is NOT healthy)");
        }
        if (j->call) {
                mpw_kv_str(j->call->r, "component", j->component);
                mpw_kv_str(j->call->r, "version", j->version);
                mpw_kv_str(j->call->r, "from", j->old_version);
                mpw_kv_str(j->call->r, "result", result);
                mpw_kv_str(j->call->r, "reason", reason ? reason : "");
                mpw_kv_bool(j->call->r, "healthy", healthy);
                mpw_kv_int(j->call->r, "duration_ms", ds_now_mono_ms() - j->started_ms);
                ds_call_finish(&j->call, 0);
        }
        upg_job_clear(x);
}

void upg_commit(struct upg_ctx *x)
{
        struct upg_job *j = &x->job;
        int r;

        j->step = UPG_COMMITTING;
        upg_journal_write(x);
        upg_crash_point(x, "committing");
        upg_counters_commit(&x->counters, j->component, j->version, j->security_version);
        if ((r = upg_counters_save(x->d->statedir, &x->counters)) < 0)
                log_errno(r, "anti-rollback counters: cannot write: %m");
        upg_link_set(x, j->component, UPG_PREVIOUS, j->old_target);
        upg_prune(x, j->component);
        job_done(x, "done", NULL, true);
}

void upg_restore_done(struct upg_ctx *x, bool healthy)
{
        char reason[sizeof x->job.reason];

        snprintf(reason, sizeof reason, "%s", x->job.reason);
        if (!healthy)
                log_err("upgrade: '%s' restored to %s but it is not healthy", x->job.component,
                        x->job.old_version[0] ? x->job.old_version : "base");
        upg_prune(x, x->job.component);
        job_done(x, "rolled_back", reason, healthy);
}

void upg_rollback_begin(struct upg_ctx *x, const char *fmt, ...)
{
        struct upg_job *j = &x->job;
        char vdir[4300];
        va_list ap;
        int r;

        va_start(ap, fmt);
        vsnprintf(j->reason, sizeof j->reason, fmt, ap);
        va_end(ap);
        log_warn("upgrade: '%s' %s fails: %s; rolling back", j->component, j->version, j->reason);
        j->step = UPG_ROLLBACK;
        j->hello = false;
        upg_journal_write(x);
        upg_crash_point(x, "rollback");
        if ((r = upg_link_set(x, j->component, UPG_CURRENT, j->old_target)) < 0)
                log_errno(r, "upgrade: cannot switch '%s' back: %m", j->component);
        /* the failed version is not kept: the previous link stays what it was */
        if (strcmp(j->version, j->old_target) && snprintf(vdir, sizeof vdir, "%s/%s/%s", x->components_dir, j->component,
                                                          j->version) < (int)sizeof vdir) {
                char prev[BUNDLE_VERSION_MAX + 1];
                upg_link_get(x, j->component, UPG_PREVIOUS, prev, sizeof prev);
                if (strcmp(prev, j->version))
                        state_remove_tree(AT_FDCWD, vdir);
        }
        j->deadline_ms = ds_now_mono_ms() + x->health_timeout_ms;
        if ((r = upg_restart(x, j->component)) < 0) {
                log_errno(r, "upgrade: cannot restart '%s': %m", j->component);
                upg_restore_done(x, false);
        }
}

void upg_restart_refused(struct upg_ctx *x, const char *why)
{
        if (x->job.step == UPG_SWITCHED)
                upg_rollback_begin(x, "systemd refused the restart: %s", why);
        else if (x->job.step == UPG_ROLLBACK)
                upg_restore_done(x, false);
}

static void unpack_fail(struct upg_ctx *x)
{
        struct upg_job *j = &x->job;

        /* nothing switched yet: the running version was never touched */
        upg_journal_remove(x);
        upg_history_add(x, "refused", j->reason);
        if (j->call)
                ds_call_fail(j->call, -DS_EINTERNAL, NULL, "%s", j->reason);
        upg_job_clear(x);
}

/* Unpacked and hashed again: the marker, the rename, the link, the restart. */
static void unpack_done(struct upg_ctx *x)
{
        struct upg_job *j = &x->job;
        int r;

        work_stop(x);
        bundle_close(&j->bundle);
        if ((r = upg_marker_write(j->part, j->signer, j->version, j->security_version)) < 0 || rename(j->part, j->vdir) < 0) {
                snprintf(j->reason, sizeof j->reason, "unpack: %s", strerror(r < 0 ? -r : errno));
                state_remove_tree(AT_FDCWD, j->part);
                unpack_fail(x);
                return;
        }
        upg_crash_point(x, "unpacked");
        j->step = UPG_SWITCHED;
        upg_journal_write(x);
        if ((r = upg_link_set(x, j->component, UPG_CURRENT, j->version)) < 0) {
                upg_rollback_begin(x, "cannot switch the link: %s", strerror(-r));
                return;
        }
        upg_crash_point(x, "switched");
        j->deadline_ms = ds_now_mono_ms() + x->health_timeout_ms;
        if ((r = upg_restart(x, j->component)) < 0)
                upg_rollback_begin(x, "cannot restart: %s", strerror(-r));
}

static void probe_go(struct upg_ctx *x);
static void verify_answer(struct upg_ctx *x);

/* The payload, in steps on the loop: verified first, later unpacked. */
static int on_work(zloop_t *loop, int timer_id, void *arg)
{
        struct upg_ctx *x = arg;
        struct upg_job *j = &x->job;
        struct ds_err e = { 0 };
        int r;

        (void)loop;
        (void)timer_id;
        if (!j->work || !j->bundle)
                return 0;
        if ((r = bundle_step(j->bundle, &j->cur, UPG_STEP_BYTES, &e)) > 0)
                return 0;
        if (j->work == UPG_WORK_VERIFY) {
                work_stop(x);
                if (r < 0 && j->verify_only) {
                        if (j->call) {
                                ds_call_fail(j->call, e.code, e.field, "%s", e.msg);
                                ds_call_finish(&j->call, e.code);
                        }
                        upg_job_clear(x);
                        return 0;
                }
                if (j->verify_only) {
                        verify_answer(x);
                        upg_job_clear(x);
                        return 0;
                }
                if (r < 0) {
                        log_audit("security", LOG_LVL_WARNING, j->actor, "upgrade: bundle '%s' refused: %s", j->file, e.msg);
                        if (j->call) {
                                ds_call_fail(j->call, e.code, e.field, "%s", e.msg);
                                ds_call_finish(&j->call, e.code);
                        }
                        upg_job_clear(x);
                        return 0;
                }
                j->step = UPG_PROBE;
                probe_go(x);
                return 0;
        }
        if (r < 0) {
                j->work = 0; /* the cursor removed what it wrote */
                bundle_cursor_end(&j->cur, false);
                snprintf(j->reason, sizeof j->reason, "unpack: %.200s", e.msg);
                unpack_fail(x);
                return 0;
        }
        bundle_cursor_end(&j->cur, false);
        j->work = 0;
        unpack_done(x);
        return 0;
}

static int work_start(struct upg_ctx *x, int what)
{
        x->job.work = what;
        if ((x->work_timer = zloop_timer(x->d->loop, 1, 0, on_work, x)) < 0)
                return -ENOMEM;
        return 0;
}

static void unpack_begin(struct upg_ctx *x)
{
        struct upg_job *j = &x->job;
        char cdir[4200];
        struct ds_err e = { 0 };
        int r;

        j->step = UPG_PROBE;
        upg_journal_write(x);
        upg_crash_point(x, "unpacking");
        if (upg_comp_dir(x, j->component, cdir, sizeof cdir) < 0 || (r = state_mkdir_p(cdir, 0755)) < 0 || chmod(cdir, 0755) < 0 ||
            snprintf(j->vdir, sizeof j->vdir, "%s/%s", cdir, j->version) >= (int)sizeof j->vdir ||
            snprintf(j->part, sizeof j->part, "%s/.%s.partial", cdir, j->version) >= (int)sizeof j->part) {
                snprintf(j->reason, sizeof j->reason, "cannot create '%.200s'", cdir);
                unpack_fail(x);
                return;
        }
        /* a version directory not named by a link is a leftover: replaced */
        state_remove_tree(AT_FDCWD, j->part);
        if (strcmp(j->version, j->old_target))
                state_remove_tree(AT_FDCWD, j->vdir);
        if (bundle_extract_begin(j->bundle, j->component, j->part, &j->cur, &e) < 0 || work_start(x, UPG_WORK_UNPACK) < 0) {
                snprintf(j->reason, sizeof j->reason, "unpack: %.200s", e.msg[0] ? e.msg : "out of memory");
                unpack_fail(x);
        }
}

static void probe_fail(struct upg_ctx *x, int code, const char *field, const char *msg)
{
        if (x->job.call) {
                ds_call_fail(x->job.call, code, field, "%s", msg);
                ds_call_finish(&x->job.call, code);
        }
        upg_job_clear(x);
}

static void on_baseline(void *ud, const struct bus_reply *rep)
{
        struct upg_ctx *x = ud;
        const msgpack_object *items = rep->code == 0 ? mp_get(rep->r, "items") : NULL;

        if (x->job.step != UPG_PROBE || !x->job.bundle || x->d->stopping)
                return;
        if (rep->code != 0) {
                probe_fail(x, rep->code, "component", "its audit report did not answer");
                return;
        }
        if (items && items->type == MSGPACK_OBJECT_ARRAY && items->via.array.size &&
            (x->job.baseline = calloc(items->via.array.size, sizeof *x->job.baseline))) {
                for (uint32_t i = 0; i < items->via.array.size; i++) {
                        const msgpack_object *it = &items->via.array.ptr[i];
                        if (mp_streq(mp_get(it, "result"), "pass") && !mp_get_bool(it, "runtime", false) &&
                            (x->job.baseline[x->job.n_baseline] = mp_strdup(mp_get(it, "id"))))
                                x->job.n_baseline++;
                }
        }
        unpack_begin(x);
}

static void on_probe(void *ud, const struct bus_reply *rep)
{
        struct upg_ctx *x = ud;
        struct upg_job *j = &x->job;
        const struct bundle_component *bc;
        struct ds_err e = { 0 };
        struct mpw args;

        if (j->step != UPG_PROBE || !j->bundle || x->d->stopping)
                return;
        bc = &j->bundle->m.comps[0];

        if (rep->code == -DS_EUNAVAIL || rep->code == -ENOENT || rep->code == -DS_EDISABLED) {
                char msg[160];
                snprintf(msg, sizeof msg, "'%s' is not a running service of this device", j->component);
                probe_fail(x, -ENOENT, "component", msg);
                return;
        }
        if (rep->code != 0 || mp_strcpy(mp_get(rep->r, "version"), j->old_version, sizeof j->old_version) < 0) {
                probe_fail(x, rep->code ? rep->code : -DS_EINTERNAL, "component", "sys.ping gave no version");
                return;
        }
        if (upg_policy_check(&x->counters, bc, j->old_version, j->allow_downgrade, &e) < 0) {
                log_audit("security", LOG_LVL_WARNING, j->actor, "upgrade: '%s' %s refused: %s", j->component, j->version,
                          e.msg);
                probe_fail(x, e.code, e.field, e.msg);
                return;
        }
        mpw_init(&args);
        mpw_map_begin(&args);
        mpw_kv_int(&args, "level", x->audit_level);
        mpw_map_end(&args);
        if (bus_call(x->d->bus, j->component, "audit.report", &args, NULL, UPG_CALL_MS, on_baseline, x) < 0)
                probe_fail(x, -DS_EINTERNAL, NULL, "bus call failed");
        mpw_free(&args);
}

static void probe_go(struct upg_ctx *x)
{
        if (bus_call(x->d->bus, x->job.component, "sys.ping", NULL, NULL, UPG_CALL_MS, on_probe, x) < 0)
                probe_fail(x, -DS_EINTERNAL, NULL, "bus call failed");
}

/* The answer of upgrade.verify: what the verified bundle holds. */
static void verify_answer(struct upg_ctx *x)
{
        struct upg_job *j = &x->job;
        const struct bundle *b = j->bundle;
        struct mpw *r;

        if (!j->call)
                return;
        r = j->call->r;
        mpw_kv_str(r, "signer", b->signer);
        mpw_kv_str(r, "created", b->m.created);
        mpw_str(r, "components");
        mpw_arr_begin(r);
        for (size_t i = 0; i < b->m.n_comps; i++) {
                mpw_map_begin(r);
                mpw_kv_str(r, "name", b->m.comps[i].name);
                mpw_kv_str(r, "version", b->m.comps[i].version);
                mpw_kv_uint(r, "security_version", b->m.comps[i].security_version);
                mpw_kv_uint(r, "files", b->m.comps[i].n_files);
                mpw_map_end(r);
        }
        mpw_arr_end(r);
        ds_call_finish(&j->call, 0);
}

int upg_verify_start(struct upg_ctx *x, struct ds_call *c, const char *file)
{
        struct upg_job *j = &x->job;
        X509_STORE *trust = NULL;
        struct bundle *b = NULL;
        struct ds_err e = { 0 };

        if (j->step != UPG_IDLE)
                return ds_call_fail(c, -EBUSY, NULL, "'%s' is being upgraded (%s)", j->component, upg_step_name(j->step));
        if (bundle_trust_load(x->trust_dir, &trust, &e) < 0)
                return ds_call_fail(c, e.code, e.field, "%s", e.msg);
        if (bundle_open(file, trust, &b, &e) < 0) {
                X509_STORE_free(trust);
                return ds_call_fail(c, e.code, e.field, "%s", e.msg);
        }
        X509_STORE_free(trust);
        memset(j, 0, sizeof *j);
        snprintf(j->component, sizeof j->component, "%s", b->m.comps[0].name);
        snprintf(j->file, sizeof j->file, "%s", file);
        snprintf(j->actor, sizeof j->actor, "%s", ds_call_actor(c));
        j->verify_only = true;
        j->step = UPG_VERIFY;
        j->bundle = b;
        if (bundle_verify_begin(b, &j->cur, &e) < 0 || !(j->call = ds_call_detach(c))) {
                if (j->cur.buf)
                        bundle_cursor_end(&j->cur, false);
                upg_job_clear(x);
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        }
        if (work_start(x, UPG_WORK_VERIFY) < 0) {
                ds_call_fail(j->call, -ENOMEM, NULL, "out of memory");
                ds_call_finish(&j->call, -ENOMEM);
                upg_job_clear(x);
        }
        return DS_DEFER;
}

int upg_install_start(struct upg_ctx *x, struct ds_call *c, const char *file, bool allow_downgrade)
{
        struct upg_job *j = &x->job;
        X509_STORE *trust = NULL;
        struct bundle *b = NULL;
        struct ds_err e = { 0 };
        const struct bundle_component *bc;
        bool has_bin = false;

        if (j->step != UPG_IDLE)
                return upg_fail(c, -EBUSY, NULL, "'%s' is being upgraded (%s)", j->component, upg_step_name(j->step));
        if (x->counters_bad)
                return upg_fail(c, -DS_EINTERNAL, NULL, "the anti-rollback counters are damaged: no install");
        if (bundle_trust_load(x->trust_dir, &trust, &e) < 0)
                return upg_fail(c, e.code, e.field, "%s", e.msg);
        if (bundle_open(file, trust, &b, &e) < 0) {
                X509_STORE_free(trust);
                log_audit("security", LOG_LVL_WARNING, UPG_ACTOR(c), "upgrade: bundle '%s' refused: %s", file, e.msg);
                bundle_close(&b);
                return upg_fail(c, e.code, e.field, "%s", e.msg);
        }
        X509_STORE_free(trust);
        if (b->m.n_comps != 1) {
                bundle_close(&b);
                return upg_fail(c, -EINVAL, "components", "one component per bundle (this one has %zu)", b->m.n_comps);
        }
        bc = &b->m.comps[0];
        if (b->m.bus_min > BUS_PROTO_V || b->m.bus_max < BUS_PROTO_V) {
                int64_t lo = b->m.bus_min, hi = b->m.bus_max;
                bundle_close(&b);
                return upg_fail(c, -EINVAL, "bus_protocol", "speaks bus protocol %" PRId64 "..%" PRId64 ", this bus %d", lo,
                                    hi, BUS_PROTO_V);
        }
        for (size_t k = 0; k < bc->n_files; k++)
                has_bin |= !strcmp(bc->files[k].path, bc->name) && bc->files[k].mode == 0755;
        if (!has_bin || !strcmp(bc->name, "upgrade-d") || !strcmp(bc->name, "busd")) {
                char name[BUNDLE_NAME_MAX + 1];
                snprintf(name, sizeof name, "%s", bc->name);
                bundle_close(&b);
                if (!has_bin)
                        return upg_fail(c, -EINVAL, "files", "component '%s' has no executable '%s'", name, name);
                return upg_fail(c, -EINVAL, "component", "'%s' is replaced by a whole-image update", name);
        }
        memset(j, 0, sizeof *j);
        snprintf(j->component, sizeof j->component, "%s", bc->name);
        snprintf(j->version, sizeof j->version, "%s", bc->version);
        snprintf(j->file, sizeof j->file, "%s", file);
        snprintf(j->actor, sizeof j->actor, "%s", UPG_ACTOR(c));
        snprintf(j->signer, sizeof j->signer, "%s", b->signer);
        j->security_version = bc->security_version;
        j->allow_downgrade = allow_downgrade;
        j->started_ms = ds_now_mono_ms();
        upg_link_get(x, j->component, UPG_CURRENT, j->old_target, sizeof j->old_target);
        j->step = UPG_VERIFY;
        j->bundle = b;
        /* every payload byte hashed before anything else: on the loop, in steps */
        if (bundle_verify_begin(b, &j->cur, &e) < 0 || (c && !(j->call = ds_call_detach(c)))) {
                if (j->cur.buf)
                        bundle_cursor_end(&j->cur, false);
                upg_job_clear(x);
                return upg_fail(c, -ENOMEM, NULL, "out of memory");
        }
        if (work_start(x, UPG_WORK_VERIFY) < 0) {
                if (j->call) {
                        ds_call_fail(j->call, -ENOMEM, NULL, "out of memory");
                        ds_call_finish(&j->call, -ENOMEM);
                }
                upg_job_clear(x);
                return -ENOMEM;
        }
        return DS_DEFER;
}
