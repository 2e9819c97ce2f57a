/* svc_internal.h - what the parts of the service runner share (settings,
 * generic methods, audit engine, daemon skeleton); not for services */
#pragma once
#include "bus_internal.h"
#include "log.h"
#include "service.h"
#include "state.h"
#include "util.h"

#define SETTINGS_FILE "settings.mp"

static inline struct ds_daemon *D(struct ds_call *c)
{
        return c->daemon;
}

struct layers {
        struct mpw file;
        msgpack_unpacked file_u, over_u;
        bool have_file, have_over;
        char *over_buf;
};

struct settings_change {
        struct ds_settings fresh;
        struct mpw over; /* the new overrides file */
};

int svc_build_settings(struct ds_daemon *d, const msgpack_object *file, const msgpack_object *over,
                       struct ds_settings *ret, struct ds_err *e);
void svc_layers_free(struct layers *l);
int svc_load_layers(struct ds_daemon *d, struct layers *l, struct ds_err *e);
int svc_load_settings(struct ds_daemon *d, struct ds_settings *ret, struct ds_err *e);
void svc_restore_settings(struct ds_daemon *d, struct ds_settings *old);
int svc_swap_settings(struct ds_daemon *d, struct ds_settings *fresh, struct ds_settings *ret_old, struct ds_err *e);
void svc_settings_change_free(struct settings_change *sc);
/* replace: the changes are all the overrides there will be (a restore: what
 * they do not name goes back to its default), except secrets they omit */
int svc_settings_change_prepare(struct ds_daemon *d, const msgpack_object *changes, bool replace,
                                struct settings_change *sc, struct ds_err *e);
int svc_settings_change_commit(struct ds_daemon *d, struct settings_change *sc, const msgpack_object *changes,
                               const char *actor, struct ds_err *e);
int svc_reset_settings(struct ds_daemon *d, const char *actor, struct ds_err *e);
/* svc_auth.c: the authority of the settings, of the state; svc_need_auth()
 * refuses on the record (-EPERM) a caller without need */
const char *svc_settings_auth(const struct ds_daemon *d);
const char *svc_state_auth(const struct ds_daemon *d);
int svc_need_auth(struct ds_call *c, const char *need, const char *what);
/* svc_methods.c */
extern const struct ds_method svc_generic_methods[];
/* svc_import.c: config.import, one-shot or in two phases */
enum {
        IMPORT_SERVICE,
        IMPORT_VERSION,
        IMPORT_EXPORTED_MS,
        IMPORT_SETTINGS,
        IMPORT_STATE,
        IMPORT_STATE_OMITTED,
        IMPORT_PHASE,
        IMPORT_TXN,
        IMPORT_EXPIRES_S,
        IMPORT_N,
};
extern const struct ds_field svc_config_import_args[IMPORT_N + 1];
int h_config_import(void *ctx, struct ds_call *c);
void svc_txn_destroy(struct ds_daemon *d);
/* svc_txn.c: who may go on with a staged import (pure: unit-tested) */
#define SVC_TXN_ID_MAX 64
#define SVC_TXN_TIMEOUT_MS (5 * 60 * 1000)
struct svc_txn_owner {
        char txn[SVC_TXN_ID_MAX + 1];
        char id[BUS_NAME_MAX + 1];   /* busd's stamp of the caller who prepared */
        char user[BUS_NAME_MAX + 1];
        int64_t expires_ms;          /* monotonic */
};
enum svc_txn_phase { SVC_TXN_PREPARE, SVC_TXN_COMMIT, SVC_TXN_ABORT };
/* 0 when caller may run phase on txn given what is staged (NULL: nothing);
 * -EBUSY (another is staged), -ENOENT (not staged or expired), -EPERM (not
 * the caller who prepared it), with why filled. */
int svc_txn_admit(const struct svc_txn_owner *staged, enum svc_txn_phase phase, const char *txn,
                  const struct ds_caller *caller, int64_t now_ms, char *why, size_t size);
bool svc_txn_expired(const struct svc_txn_owner *staged, int64_t now_ms);
/* svc_factory.c: sys.factory_reset */
extern const struct ds_field svc_factory_args[FACTORY_N + 1];
int h_sys_factory_reset(void *ctx, struct ds_call *c);
/* At start, before the settings: a factory reset this daemon missed (stopped
 * or down) is made up for: its state directory emptied as the reset would. */
void svc_factory_pending(struct ds_daemon *d);
/* Every authority: only an administrator (or the local factory-reset
 * identity, which the bus ACL lets call nothing else) resets the device. */
#define SVC_FACTORY_AUTH                                                                                           \
        "system+playback+monitor+maintenance+backup+security+camera+network+event+storage+manual-control+"         \
        "system-info+account"
enum { REPORT_LEVEL, REPORT_N };
extern const struct ds_field svc_audit_report_args[REPORT_N + 1];
int h_audit_report(void *ctx, struct ds_call *c);
enum { HARDEN_LEVEL, HARDEN_DRY_RUN, HARDEN_N };
extern const struct ds_field svc_audit_harden_args[HARDEN_N + 1];
int h_audit_harden(void *ctx, struct ds_call *c);
/* svc_function.c */
void svc_functions_start(struct ds_daemon *d);
/* the settings changed: the linked functions follow (the daemon's on_settings) */
void svc_functions_sync(struct ds_daemon *d);
