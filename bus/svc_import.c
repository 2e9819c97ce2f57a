/* svc_import.c - config.import: one-shot (all or nothing at once) or in two
 * phases for a device-wide restore: prepare validates and stages everything
 * (settings through config.set's checks, state through the service's
 * check_state), commit puts it in force, abort drops it. One staged import
 * per service, continued only by the caller who prepared it, dropped when it
 * expires. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_internal.h"

struct svc_txn {
        struct svc_txn_owner owner;
        struct mpw copy; /* {settings, state} as prepared */
        msgpack_unpacked u;
        struct settings_change sc;
        const msgpack_object *set, *st;
        int timer; /* -1: none */
};

static const char *const import_phases[] = {"prepare", "commit", "abort", NULL};

const struct ds_field svc_config_import_args[IMPORT_N + 1] = {
        [IMPORT_SERVICE] = {"service", DS_STR, 0, .max_len = BUS_NAME_MAX},
        [IMPORT_VERSION] = {"version", DS_STR, 0, .max_len = 64},
        [IMPORT_EXPORTED_MS] = {"exported_ms", DS_INT, 0},
        [IMPORT_SETTINGS] = {"settings", DS_MAP, DS_OPEN_MAP},
        [IMPORT_STATE] = {"state", DS_ANY, 0},
        [IMPORT_STATE_OMITTED] = {"state_omitted", DS_STR, 0, .max_len = DS_AUTHZ_SET_MAX},
        [IMPORT_PHASE] = {"phase", DS_STR, 0, .enums = import_phases},
        [IMPORT_TXN] = {"txn", DS_STR, 0, .max_len = SVC_TXN_ID_MAX, .check = ds_check_name},
        [IMPORT_EXPIRES_S] = {"expires_s", DS_INT, 0, .min = 1, .max = SVC_TXN_TIMEOUT_MS / 1000,
         .help = "prepare: drop the staged import after this long (default and most: 300)"},
        {NULL},
};

/* Names the field as the caller wrote it: settings.<key>. */
static void settings_field(struct ds_err *e)
{
        char f[sizeof e->field];

        if (!e->field[0] || strncmp(e->field, "settings", 8) == 0)
                return;
        memcpy(f, e->field, sizeof f);
        snprintf(e->field, sizeof e->field, "settings.%.*s", (int)(sizeof e->field - 10), f);
}

void svc_txn_destroy(struct ds_daemon *d)
{
        struct svc_txn *t = d->txn;

        if (!t)
                return;
        if (t->timer >= 0 && d->loop)
                zloop_timer_end(d->loop, t->timer);
        svc_settings_change_free(&t->sc);
        msgpack_unpacked_destroy(&t->u);
        mpw_wipe(&t->copy); /* a device backup's state carries hashes */
        free(t);
        d->txn = NULL;
}

static const char *owner_name(const struct svc_txn_owner *o)
{
        return o->user[0] ? o->user : o->id;
}

/* Drops an expired txn, on the record; from_timer: its one-shot timer has
 * fired and is gone already, else it is ended here. */
static void txn_drop_expired(struct ds_daemon *d, bool from_timer)
{
        if (!d->txn)
                return;
        log_audit("operation", LOG_LVL_WARNING, owner_name(&d->txn->owner),
                  "%s: staged import '%s' of '%s' expired uncommitted: dropped", d->svc->name, d->txn->owner.txn,
                  owner_name(&d->txn->owner));
        if (from_timer)
                d->txn->timer = -1;
        svc_txn_destroy(d);
}

static int txn_expire(zloop_t *loop, int timer_id, void *arg)
{
        (void)loop;
        (void)timer_id;
        txn_drop_expired(arg, true);
        return 0;
}

/* What both ways check first: the export is this service's, it may be had. */
static int import_admit(struct ds_daemon *d, struct ds_call *c, const msgpack_object *set, const msgpack_object *st)
{
        const msgpack_object *svc = ds_tb(c, IMPORT_SERVICE);
        int r;

        if (svc && !mp_streq(svc, d->svc->name))
                return ds_call_fail(c, -EINVAL, "service", "this export belongs to another service");
        if (st && !d->svc->import_state)
                return ds_call_fail(c, -EINVAL, "state", "%s keeps no state to import", d->svc->name);
        if ((st && (r = svc_need_auth(c, svc_state_auth(d), "config.import of state")) < 0) ||
            (set && set->via.map.size > 0 &&
             (r = svc_need_auth(c, svc_settings_auth(d), "config.import of settings")) < 0))
                return r;
        return 0;
}

/* Puts prepared settings and a state in force: the settings, then the state;
 * if the state is refused, the settings go back. */
static int import_apply(struct ds_daemon *d, struct ds_call *c, const msgpack_object *set, const msgpack_object *st,
                        struct settings_change *sc)
{
        bool have_set = set && set->via.map.size > 0;
        struct ds_settings old = {0};
        int r;

        if (have_set && (r = svc_swap_settings(d, &sc->fresh, &old, &c->err)) < 0) {
                settings_field(&c->err);
                return r;
        }
        if (st && (r = d->svc->import_state(d, d->ctx, st, &c->err)) < 0) {
                if (have_set)
                        svc_restore_settings(d, &old);
                return r;
        }
        if (have_set) {
                r = svc_settings_change_commit(d, sc, set, ds_call_actor(c), &c->err);
                if (r < 0) {
                        svc_restore_settings(d, &old);
                        return r;
                }
                ds_settings_free(&old);
        }
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%s: configuration imported by '%s'", d->svc->name,
                  ds_call_actor(c));
        mpw_kv_bool(c->r, "imported", true);
        return 0;
}

static int import_oneshot(struct ds_daemon *d, struct ds_call *c)
{
        const msgpack_object *st = ds_tb(c, IMPORT_STATE), *set = ds_tb(c, IMPORT_SETTINGS);
        struct settings_change sc = {0};
        int r;

        if (!set)
                return ds_call_fail(c, -EINVAL, "settings", "required");
        if ((r = import_admit(d, c, set, st)) < 0)
                return r;
        mpw_init(&sc.over);
        if (set->via.map.size > 0 && (r = svc_settings_change_prepare(d, set, false, &sc, &c->err)) < 0)
                settings_field(&c->err);
        if (r == 0)
                r = import_apply(d, c, set, st, &sc);
        svc_settings_change_free(&sc);
        return r;
}

/* The staged copy: the settings this version knows (a backup from another
 * one may name settings it has no more: ignored, and listed in the answer)
 * and the state as given. */
static int stage_copy(struct ds_daemon *d, struct ds_call *c, struct svc_txn *t)
{
        const msgpack_object *set = ds_tb(c, IMPORT_SETTINGS), *st = ds_tb(c, IMPORT_STATE);
        const char *why;

        mpw_map_begin(&t->copy);
        mpw_str(&t->copy, "settings");
        mpw_map_begin(&t->copy);
        mpw_str(c->r, "ignored");
        mpw_arr_begin(c->r);
        for (uint32_t i = 0; set && i < set->via.map.size; i++) {
                const msgpack_object_kv *kv = &set->via.map.ptr[i];
                char key[64];

                if (mp_strcpy(&kv->key, key, sizeof key) < 0 || !d->svc->settings ||
                    !ds_field_find(d->svc->settings, key)) {
                        mpw_obj(c->r, &kv->key);
                        continue;
                }
                mpw_obj(&t->copy, &kv->key);
                mpw_obj(&t->copy, &kv->val);
        }
        mpw_arr_end(c->r);
        mpw_map_end(&t->copy);
        if (st) {
                mpw_str(&t->copy, "state");
                mpw_obj(&t->copy, st);
        }
        mpw_map_end(&t->copy);
        if (mp_decode(mpw_data(&t->copy), mpw_len(&t->copy), NULL, &t->u, &why) < 0)
                return ds_call_fail(c, -EINVAL, NULL, "cannot stage the import: %s", why);
        t->set = mp_get(&t->u.data, "settings");
        t->st = mp_get(&t->u.data, "state");
        return 0;
}

static int import_prepare(struct ds_daemon *d, struct ds_call *c, const char *txn)
{
        int64_t ttl = ds_tb_int(c, IMPORT_EXPIRES_S, SVC_TXN_TIMEOUT_MS / 1000) * 1000;
        struct svc_txn *t;
        int r;

        if ((r = import_admit(d, c, ds_tb(c, IMPORT_SETTINGS), ds_tb(c, IMPORT_STATE))) < 0)
                return r;
        if (ds_tb(c, IMPORT_STATE) && !d->svc->check_state)
                return ds_call_fail(c, -EINVAL, "state",
                                    "%s cannot check a state before importing it: import it in one step", d->svc->name);
        if (!(t = calloc(1, sizeof *t)))
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        t->timer = -1;
        mpw_init(&t->copy);
        mpw_init(&t->sc.over);
        msgpack_unpacked_init(&t->u);
        d->txn = t;
        if ((r = stage_copy(d, c, t)) < 0)
                goto fail;
        /* a restore: what the backup does not name goes back to its default */
        if (t->set->via.map.size > 0 &&
            ((r = svc_settings_change_prepare(d, t->set, true, &t->sc, &c->err)) < 0 ||
             (d->svc->check_settings && (r = d->svc->check_settings(d, d->ctx, &t->sc.fresh, &c->err)) < 0))) {
                settings_field(&c->err);
                goto fail;
        }
        if (t->st && (r = d->svc->check_state(d, d->ctx, t->st, &c->err)) < 0) {
                if (!c->err.field[0])
                        snprintf(c->err.field, sizeof c->err.field, "state");
                goto fail;
        }
        snprintf(t->owner.txn, sizeof t->owner.txn, "%s", txn);
        snprintf(t->owner.id, sizeof t->owner.id, "%s", c->caller.id);
        snprintf(t->owner.user, sizeof t->owner.user, "%s", c->caller.user);
        t->owner.expires_ms = ds_now_mono_ms() + ttl;
        if (d->loop)
                t->timer = zloop_timer(d->loop, (size_t)ttl, 1, txn_expire, d);
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%s: import staged as txn '%s' by '%s'", d->svc->name,
                  txn, ds_call_actor(c));
        mpw_kv_bool(c->r, "prepared", true);
        mpw_kv_str(c->r, "txn", txn);
        mpw_kv_int(c->r, "expires_s", ttl / 1000);
        return 0;
fail:
        svc_txn_destroy(d);
        return r;
}

/* Commit cannot fail for a reason prepare could have found; what is left
 * (the disk, the host refusing a setting) puts everything back. */
static int import_commit(struct ds_daemon *d, struct ds_call *c)
{
        struct svc_txn *t = d->txn;
        int r;

        if ((r = import_admit(d, c, t->set, t->st)) == 0)
                r = import_apply(d, c, t->set, t->st, &t->sc);
        svc_txn_destroy(d);
        return r;
}

int h_config_import(void *ctx, struct ds_call *c)
{
        static const enum svc_txn_phase phases[] = {SVC_TXN_PREPARE, SVC_TXN_COMMIT, SVC_TXN_ABORT};
        struct ds_daemon *d = D(c);
        const msgpack_object *ph = ds_tb(c, IMPORT_PHASE);
        char txn[SVC_TXN_ID_MAX + 1], why[160];
        enum svc_txn_phase p = SVC_TXN_PREPARE;
        int64_t now = ds_now_mono_ms();
        int r;

        (void)ctx;
        if (d->txn && svc_txn_expired(&d->txn->owner, now))
                txn_drop_expired(d, false);
        if (!ph) {
                if (d->txn)
                        return ds_call_fail(c, -EBUSY, NULL, "an import (txn '%s') is staged", d->txn->owner.txn);
                return import_oneshot(d, c);
        }
        for (int i = 0; import_phases[i]; i++)
                if (mp_streq(ph, import_phases[i]))
                        p = phases[i];
        if (ds_tb_str(c, IMPORT_TXN, txn, sizeof txn) < 0 || !txn[0])
                return ds_call_fail(c, -EINVAL, "txn", "required with phase");
        r = svc_txn_admit(d->txn ? &d->txn->owner : NULL, p, txn, &c->caller, now, why, sizeof why);
        if (r == -EPERM)
                log_audit("security", LOG_LVL_WARNING, ds_call_actor(c), "%s: refused config.import to '%s': %s",
                          d->svc->name, ds_call_actor(c), why);
        if (r < 0)
                return ds_call_fail(c, r, r == -EBUSY ? NULL : "txn", "%s", why);
        switch (p) {
        case SVC_TXN_PREPARE:
                return import_prepare(d, c, txn);
        case SVC_TXN_COMMIT:
                return import_commit(d, c);
        case SVC_TXN_ABORT:
                log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%s: staged import '%s' aborted by '%s'",
                          d->svc->name, txn, ds_call_actor(c));
                svc_txn_destroy(d);
                mpw_kv_bool(c->r, "aborted", true);
                return 0;
        }
        return 0;
}
