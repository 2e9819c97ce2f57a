/* service.h - the generic service contract and the daemon skeleton every service uses */
#pragma once
#include "bus.h"

struct ds_daemon;

enum ds_audit_result { DS_AUDIT_PASS = 0, DS_AUDIT_FAIL, DS_AUDIT_NA };

enum ds_audit_cmp { DS_CMP_EQ = 0, DS_CMP_NE, DS_CMP_LE, DS_CMP_GE };

/* One hardening item. Either declarative (setting `key` compared with want_*;
 * harden sets it) or with check/harden functions of its own. */
struct ds_audit_item {
        const char *id;
        int level; /* 1..3: the lowest protection level that requires it */
        const char *title;
        const char *remediation;
        const char *key;
        enum ds_audit_cmp cmp;
        bool want_bool;
        int64_t want_int;
        const char *want_str;
        enum ds_audit_result (*check)(void *ctx, char *detail, size_t size);
        int (*harden)(void *ctx, struct ds_err *e); /* NULL: needs an operator */
        /* depends on run-time state (time synchronised, a server reachable):
         * upgrade-d's health gate does not count it against a fresh restart */
        bool runtime;
};

/* A state being exported. Secrets (password, answer and ONVIF hashes, keys) are
 * written only through ds_export_secret(), which alone decides whether they go
 * in: never into a plain config.export, only into an encrypted device backup. */
struct ds_export {
        struct mpw *w;
        bool secrets;
};
/* Writes key = val when the export carries secrets, else nothing. */
void ds_export_secret(struct ds_export *x, const char *key, const char *val);

/* A function of netcfgd's table that is this daemon's bool setting: one
 * switch (svc_function.c). permission: the function permits the setting
 * (off turns it off, the setting on turns the function on) rather than
 * mirroring it. */
#define DS_FUNCTION_LINKS_MAX 4
struct ds_function_link {
        const char *function;
        const char *setting;
        bool permission;
};

struct ds_service {
        const char *name;
        const char *version;
        const struct ds_method *methods;
        const struct ds_field *settings;       /* may be NULL: no settings */
        const struct ds_audit_item *audit;     /* may be NULL */
        const char *const *topics;             /* what it publishes (for docs, hello) */
        const char *config_auth;               /* authority (set) for config.set/reset/import of settings; default system */
        const char *state_auth;                /* authority (set) to export/import/reset the state; default config_auth */
        /* Hooks, all optional. Return 0 or -errno. */
        int (*init)(struct ds_daemon *d, void *ctx);  /* before the bus: open what needs privilege */
        int (*start)(struct ds_daemon *d, void *ctx); /* bus up: subscribe, timers */
        void (*stop)(struct ds_daemon *d, void *ctx);
        /* Settings changed (config.set/import/reset, SIGHUP): apply or refuse with e. */
        int (*apply)(struct ds_daemon *d, void *ctx, struct ds_err *e);
        /* What apply would refuse in settings s, without acting: a two-phase
         * import's prepare runs it on the settings it stages. */
        int (*check_settings)(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e);
        int (*export_state)(struct ds_daemon *d, void *ctx, struct ds_export *x); /* writes one value */
        /* All or nothing, through the same checks as the live methods. */
        int (*import_state)(struct ds_daemon *d, void *ctx, const msgpack_object *o, struct ds_err *e);
        /* import_state's checks without its effect: a two-phase import's prepare
         * (config.import phase=prepare) needs it; commit then runs import_state */
        int (*check_state)(struct ds_daemon *d, void *ctx, const msgpack_object *o, struct ds_err *e);
        int (*reset_state)(struct ds_daemon *d, void *ctx);
        void (*status)(struct ds_daemon *d, void *ctx, struct mpw *w); /* extra sys.ping fields */
        /* Precondition of the methods declared DS_METHOD_READY: 0, or fail the
         * call (ds_call_fail) to refuse it before its handler runs. */
        ds_ready_fn ready;
        /* functions that are its settings; NULL-terminated, may be NULL. The
         * daemon's ACL must let it call netcfgd.function.list/enable/disable
         * and subscribe to net.function.changed. */
        const struct ds_function_link *functions;
        /* Factory reset (sys.factory_reset, svc_factory.c). Without a hook:
         * config.reset, then the state directory emptied but for the names
         * in factory_keep (NULL-terminated; NULL: all goes) and the daemon
         * ends with DS_EXIT_FACTORY to start afresh (its unit restarts it),
         * making its keys anew. A hook resets in place instead, settings
         * included (ds_factory_reset_settings), and writes its result. */
        const char *const *factory_keep;
        int (*factory_reset)(struct ds_daemon *d, void *ctx, struct ds_call *c);
        /* writes the device's factory reset mark (netcfgd, which owns
         * <statedir>/functions/disabled): a daemon that missed the reset
         * makes up for it at its next start */
        bool factory_marks;
};

/* The exit status of a daemon ended by a factory reset, to be started again. */
#define DS_EXIT_FACTORY 75
/* config.reset's part of a factory reset, for a factory_reset hook: 0 or the
 * call's failure. */
int ds_factory_reset_settings(struct ds_daemon *d, struct ds_call *c);
/* sys.factory_reset's arguments, by index, for a factory_reset hook. */
enum { FACTORY_WIPE_LOGS, FACTORY_GENERATION, FACTORY_N };

/* Daemons that deliver from a persistent queue (common/queue.h): the
 * arguments {id?, failed_only?} of their retry and purge methods, and the
 * methods' common part (checks, answer "retried"/"purged", audit record).
 * item and place name them in messages ("mail", "outbox"). They return the
 * count (>= 0) or the failed call's code. */
#include "queue.h"
enum { DS_QUEUE_ID, DS_QUEUE_FAILED_ONLY, DS_QUEUE_N };
extern const struct ds_field ds_queue_id_args[DS_QUEUE_N + 1];
int ds_queue_retry(struct ds_call *c, dsq_t *q, const char *item, const char *place);
int ds_queue_purge(struct ds_call *c, dsq_t *q, const char *item, const char *place);
/* Their skeleton. place is the queue's directory under the state dir and its
 * name in logs ("outbox", "queue"); item names one entry ("mail", "upload").
 * ds_queue_limits: the limits from the settings each has (queue_max_items,
 * max_age_s, retry_min_s, retry_max_s) with its own byte quota.
 * ds_queue_level: an on_level crossing logged and published on topic as
 * {pct, above}. ds_queue_expire: the tick's expiry, logged. ds_queue_log_backlog:
 * what waits at start. ds_queue_write_stats: the queue's counters in a reply
 * (refused: the pushes refused as full, as the daemon counts them). */
void ds_queue_limits(const struct ds_settings *s, uint64_t max_bytes, void (*on_level)(void *, unsigned, bool),
                     void *ud, struct dsq_limits *ret);
dsq_t *ds_queue_open(struct ds_daemon *d, const char *place, const struct dsq_limits *lim, int *ret_err);
void ds_queue_level(struct ds_daemon *d, const char *topic, const char *place, unsigned pct, bool above);
void ds_queue_expire(dsq_t *q, const char *item);
void ds_queue_log_backlog(dsq_t *q, const char *item, const char *place);
void ds_queue_write_stats(dsq_t *q, uint64_t refused, struct mpw *w);
/* The X.queue method: {max?} (ds_queue_list_args) answered {items: [...]},
 * each {id, what item writes (its state among it: ds_queue_state, busy the
 * in-flight word), attempts, age_s, next_s, error}: devctl shows the columns
 * in that order. */
enum { DS_QUEUE_MAX, DS_QUEUE_LIST_N };
extern const struct ds_field ds_queue_list_args[DS_QUEUE_LIST_N + 1];
const char *ds_queue_state(const struct dsq_item *it, const char *busy);
void ds_queue_list(struct ds_call *c, dsq_t *q,
                   void (*item)(void *ud, dsq_t *q, const struct dsq_item *it, struct mpw *w), void *ud);

/* The loop's signals and watchdog, the same in every daemon and in busd.
 * s must outlive the loop. SIGHUP runs reload between RELOADING=1 and
 * READY=1; SIGTERM/SIGINT set stopping and end the loop. */
struct ds_signals {
        int fd; /* from ds_signalfd_open() */
        void (*reload)(void *ud);
        void *ud;
        bool stopping;
};
int ds_loop_signals(zloop_t *loop, struct ds_signals *s);
/* When systemd asks for a watchdog: WATCHDOG=1 now and at half the interval. */
int ds_loop_watchdog(zloop_t *loop);

struct svc_txn;

struct ds_daemon {
        const struct ds_service *svc;
        void *ctx;
        struct ds_paths paths;
        char *statedir;        /* <statedir>/<name>, created at start */
        char *conf_path;       /* <confdir>/<name>.conf */
        struct ds_settings settings;
        bus_t *bus;
        zloop_t *loop;
        int64_t started_ms;
        bool check_only;       /* -n */
        bool dry_run;          /* --dry-run: do not act on the host */
        const char *identity;  /* bus key name; defaults to the service name */
        int argc;              /* arguments left for the service */
        char **argv;
        int sigfd;
        bool stopping;
        struct ds_signals sig;
        bool fn_state[DS_FUNCTION_LINKS_MAX]; /* the linked settings as last seen */
        bool fn_following;                    /* a setting is following its function */
        struct svc_txn *txn;                  /* a staged config.import (svc_import.c) */
        /* after settings are swapped in or put back (svc_settings.c): what follows
         * them, set by ds_daemon_main (the linked functions, svc_function.c) */
        void (*on_settings)(struct ds_daemon *d);
        int exit_code;                        /* of ds_daemon_main: DS_EXIT_FACTORY after a factory reset */
};

/* Parses -f (foreground, default), -n (check config), -c FILE, --rundir/--confdir/
 * --statedir DIR, --dry-run, --identity NAME; loads settings; runs init, connects,
 * serves, sd_notify READY, loops until SIGTERM/SIGINT; SIGHUP reloads settings.
 * Unknown options are left in d->argv for the service (parse them in init). */
int ds_daemon_main(int argc, char **argv, const struct ds_service *svc, void *ctx);

/* Publishes an event on behalf of the daemon. */
int ds_daemon_publish(struct ds_daemon *d, const char *topic, const struct mpw *data);
/* Persists a service state blob in its state dir (atomic, 0600). */
int ds_daemon_save(struct ds_daemon *d, const char *name, const void *data, size_t len);
int ds_daemon_load(struct ds_daemon *d, const char *name, size_t max, char **ret, size_t *ret_len);
/* Replaces some settings as if by config.set (validated, persisted, applied). */
int ds_daemon_set_settings(struct ds_daemon *d, const msgpack_object *changes, const char *actor,
                           struct ds_err *e);
/* The same with the changes as a map being written (w is not consumed). */
int ds_daemon_set_settings_w(struct ds_daemon *d, const struct mpw *w, const char *actor, struct ds_err *e);
/* Writes the service's audit item table as one JSON object {service,
 * version, items: [{id, level, title, remediation, automatic, runtime}]}:
 * what `NAME --audit-items` prints and the build installs as data. */
int ds_audit_items_print(const struct ds_service *svc, FILE *f);
/* The daemon of a handler's context: services keep it in their ctx. */
const struct ds_method *ds_generic_methods(void);
