/* netcfgd.h - service ports, function minimization, HTTPS certificates and the
 * secure settings of network functions (SNMPv3, Wi-Fi AP, 802.1X, multicast, DDNS) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service.h"

struct netcfgd_ctx;

/* ---- ports (ports.c: pure logic) ------------------------------------------ */

enum net_proto { NET_TCP = 0, NET_UDP };

struct port_def {
        const char *name;    /* "http": the port.set argument */
        const char *key;     /* "http_port": the setting */
        enum net_proto proto;
        int min, max;        /* allowed range */
        int def;             /* factory default */
        int well_known;      /* the default everyone scans for */
        const char *title;
};

#define PORTS_MAX 16
extern const struct port_def ports_table[]; /* NULL-name terminated */
size_t ports_count(void);

struct port_set {
        int port[PORTS_MAX]; /* by index in ports_table */
        int max_connections;
};

#define PORTS_MAXCONN_MAX 128
const char *ports_proto_name(enum net_proto p);
/* First conflict in s (same protocol, same port), as indexes: returns true and
 * sets *ret_a < *ret_b. */
bool ports_conflict(const struct port_set *s, size_t *ret_a, size_t *ret_b);
/* The port set from effective settings. */
void ports_from_settings(const struct ds_settings *st, struct port_set *ret);
/* data of net.ports.changed: {ports: [{name, proto, port}], max_connections} */
void ports_write(const struct port_set *s, struct mpw *w);
/* How many ports still use their well-known default; names listed in buf. */
int ports_well_known(const struct port_set *s, char *buf, size_t size);

/* ---- service manager (svcmgr*.c) ------------------------------------------ */

/* What stands behind a function: a systemd unit, a devsec daemon, or only a
 * flag read by other daemons (e.g. authd's password reset). */
enum fn_kind { FN_FLAG = 0, FN_UNIT, FN_DAEMON };

typedef void (*svcmgr_done_fn)(void *ud, int r, const char *why);

struct svcmgr_ops {
        const char *name;
        /* Disable (flag + stop) or enable (flag removed + start) a unit; done
         * runs exactly once, possibly before this returns. */
        int (*set)(void *impl, const char *unit, bool is_daemon, bool enable, svcmgr_done_fn done, void *ud);
        /* 1 flagged disabled on this system, 0 not, -errno unknown
         * (synchronous, cheap: one stat). */
        int (*masked)(void *impl, const char *unit, bool is_daemon);
        /* 1 the unit is installed, *ret_state its state in systemd's words
         * ("active", "inactive", "failed", ...: a static string); 0 not
         * installed; -errno not known (yet). Synchronous and cheap: a cache
         * or a stat. */
        int (*unit_state)(void *impl, const char *unit, const char **ret_state);
        /* Asks the system again for the state of units[0..n) (asynchronous
         * where the system is on the other end of a bus); may be NULL. */
        void (*refresh)(void *impl, char *const *units, size_t n);
        void (*destroy)(void *impl);
};

struct svcmgr {
        const struct svcmgr_ops *ops;
        void *impl;
        char **allowed; /* the systemd units of the function table: nothing else is acted on */
        size_t n_allowed;
};

/* dev backend: <dir>/<name>.masked files watched by tools/devsec-run; a unit
 * is installed when <dir>/<name>.unit exists and active while <dir>/<name>.pid
 * names a live process (written by whatever runs it: devsec-run, a test) */
int svcmgr_dev_new(const char *dir, struct svcmgr *ret);
/* systemd backend: sd-bus to org.freedesktop.systemd1, attached to loop; the
 * flag of a disabled function's unit is flagdir/<unit> (each unit's drop-in
 * ConditionPathExists=!flagdir/<unit>, installed by make install) */
int svcmgr_systemd_new(zloop_t *loop, const char *flagdir, struct svcmgr *ret);
/* The file name the dev backend uses for a unit: "ssh.service" -> "ssh". */
int svcmgr_dev_name(const char *unit, char *buf, size_t size);
/* The systemd unit behind a target: "ssh" -> "ssh.service", "ssh.service" as
 * is, a devsec daemon "timed" -> "devsec-timed.service". */
int svcmgr_unit_name(const char *target, bool is_daemon, char *buf, size_t size);
struct fn_table;
/* Records the units of t as the only ones svcmgr_set() acts on. */
int svcmgr_allow(struct svcmgr *m, const struct fn_table *t);
/* ops->set for a unit of the function table; any other unit: -EPERM, logged,
 * done not called. */
int svcmgr_set(struct svcmgr *m, const char *target, bool is_daemon, bool enable, svcmgr_done_fn done, void *ud);
/* 1 when the system has target flagged disabled (a unit of the table only),
 * 0 not, -errno */
int svcmgr_disabled(struct svcmgr *m, const char *target, bool is_daemon);
/* ops->unit_state for a unit of the table; any other: -EPERM */
int svcmgr_unit_state(struct svcmgr *m, const char *target, bool is_daemon, const char **ret_state);
/* ops->refresh for every unit of the table */
void svcmgr_refresh(struct svcmgr *m);
void svcmgr_destroy(struct svcmgr *m);

/* ---- function table (functions.c) ---------------------------------------- */

struct net_function {
        char *name;    /* "ssh" */
        char *title;   /* "SSH" */
        char *target;  /* unit ("ssh.service") or daemon ("smtp-notifier"); NULL for flags */
        char *enforced_by; /* a flag a devsec daemon obeys: who and how; NULL: nothing obeys it */
        char *hook;    /* hook_unit: the integrator's unit for a function with no devsec backend; while it
                        * is installed the function is unit-backed (kind FN_UNIT, target == hook) */
        const char *unit_state; /* the service manager's word for the unit ("active", ...); NULL: unknown */
        char *risk;
        enum fn_kind kind;
        bool def;      /* factory default */
        int off_level; /* protection level that wants it off; 0: none */
        bool enabled;  /* current state */
        bool busy;     /* a change is in flight */
};

/* A switch something acts on: a unit, a daemon, or a flag a daemon obeys. A
 * flag with none of these is the integrator's to back with a unit. */
static inline bool fn_backed(const struct net_function *f)
{
        return f->kind != FN_FLAG || f->enforced_by;
}

struct fn_table {
        struct net_function *v;
        size_t n;
};

/* Loads functions.conf (libconfig). Errors name path:line. */
int functions_load(const char *path, struct fn_table *ret, struct ds_err *e);
void functions_free(struct fn_table *t);
struct net_function *functions_find(struct fn_table *t, const char *name);
void functions_reset(struct fn_table *t);
const char *functions_kind_name(enum fn_kind k);
/* State blob: {name: bool, ...}. */
void functions_write_state(const struct fn_table *t, struct mpw *w);
/* Applies a state blob; unknown names are ignored (an older table), mistyped
 * values refused. */
int functions_read_state(struct fn_table *t, const msgpack_object *o, struct ds_err *e);
/* Checks an imported state blob as function.enable/disable check a name:
 * every name in the table, every value true|false, none busy; e names the
 * field (state.functions.<name>). */
int functions_check_state(struct fn_table *t, const msgpack_object *o, struct ds_err *e);
void functions_write_row(const struct net_function *f, struct mpw *w);
/* A hook function whose unit is installed (or not): unit-backed, or a flag nothing obeys. */
void functions_hook_set(struct net_function *f, bool installed);

/* ---- certificates (certs.c) ---------------------------------------------- */

struct cert_req {
        const char *cn;
        const char *const *dns; /* NULL-terminated */
        const char *const *ips;
        int days;
        bool new_ca;
};

/* Creates (or reuses) the device CA and issues a server certificate into
 * dir: ca.pem, ca.key, server.pem, server.key (keys 0600). */
int certs_create(const char *dir, const struct cert_req *req, struct ds_err *e);
/* Writes {present, subject, issuer, san:[..], fingerprint_sha256, not_before,
 * not_after} of dir/name into w (a map is opened by the caller). */
int certs_describe(const char *dir, const char *name, struct mpw *w);
/* Imports an externally signed certificate + key (+ chain PEM, may be NULL):
 * key matches, chain verifies, in its validity period, SAN covers every name. */
int certs_import(const char *dir, const char *cert_pem, const char *key_pem, const char *chain_pem,
                 const char *const *dns, const char *const *ips, struct ds_err *e);
/* PEM text of the device CA (caller owns). -ENOENT when none. */
int certs_read_root(const char *dir, char **ret);

/* ---- SNMP and the other secure settings (snmp.c) ------------------------- */

#define SNMP_PASS_MAX 64 /* characters of an SNMPv3 passphrase */
#define WIFI_PASS_MAX 63 /* of a WPA passphrase */
/* authd's password rules (common/pwrules.c) for a passphrase of user (for
 * Wi-Fi: the SSID): NULL when acceptable, else why (filled). */
const char *snmp_passphrase_check(const char *pass, const char *user, int max_len, char *why, size_t size);
/* Cross-field checks of the settings at protection level `level`; e names the setting. */
int netcfg_settings_check(const struct ds_settings *st, struct ds_err *e);
/* The net-snmp snmpd.conf fragment for the settings (caller owns *ret). */
int snmp_render(const struct ds_settings *st, int snmp_port, char **ret, size_t *ret_len);

/* ---- hostapd.conf and wpa_supplicant.conf (wireless.c) -------------------- */

#define HOSTAPD_CONF "hostapd.conf"       /* in netcfgd's <statedir>/wifi, 0600 */
#define WPAS_CONF "wpa_supplicant.conf"   /* idem: 802.1X on the wired port */
/* The access point's hostapd.conf (caller owns *ret); -ENOENT: no SSID set. */
int hostapd_render(const struct ds_settings *st, char **ret, size_t *ret_len);
/* The 802.1X wpa_supplicant.conf (caller owns *ret); -ENOENT: no identity set. */
int wpas_render(const struct ds_settings *st, char **ret, size_t *ret_len);

/* ---- the daemon ------------------------------------------------------------ */

struct netcfgd_ctx {
        struct ds_daemon *d;
        struct fn_table fns;
        struct svcmgr mgr;
        struct port_set ports;
        bool ports_known;
        char *certdir;
        char *snmpdir;
        char *svcdir;  /* dev backend dir */
        char *flagdir; /* systemd backend: <statedir root>/functions/disabled */
        char *tlsdir;  /* <statedir root>/tls: the server certificate and key for webd (0640, group devsec-tls) */
        const char *backend;
        const char *want_backend; /* --svcmgr=: NULL or "auto" picks */
        struct {
                int64_t at_ms; /* 0: never */
                int64_t size;
                char sha256[65];
        } backup; /* the last configuration backup made (backup.c) */
        int hook_timer;           /* the service manager asked again every HOOK_SCAN_MSEC */
        char *wifidir;            /* hostapd.conf and wpa_supplicant.conf rendered from the settings (0600) */
};

extern const struct ds_method netcfgd_methods[];
/* port.set has one argument per port of ports_table, by name, with its range. */
int netcfgd_port_args_check(struct ds_err *e);
extern const struct ds_field netcfgd_settings[];
extern const struct ds_audit_item netcfgd_audit[];
/* backup.c */
enum { BACKUP_DONE_SHA256, BACKUP_DONE_SIZE, BACKUP_DONE_N };
extern const struct ds_field netcfgd_backup_done_args[BACKUP_DONE_N + 1];
void netcfgd_backup_load(struct netcfgd_ctx *x);
int h_backup_done(void *ctx, struct ds_call *c);
int h_backup_show(void *ctx, struct ds_call *c);
enum ds_audit_result netcfgd_check_backup(void *ctx, char *detail, size_t size);
/* pass: a backup at most max_days old; fail naming its age, or "never" */
enum ds_audit_result netcfgd_backup_verdict(int64_t at_ms, int64_t now_ms, int64_t max_days, char *detail, size_t size);
#define HOOK_SCAN_MSEC 1000
#define FN_STATE "functions.mp" /* the function switches, in netcfgd's state dir */
/* methods.c, for the hooks in main.c */
int netcfgd_fn_change(struct netcfgd_ctx *x, struct net_function *f, bool enable, struct ds_call *call,
                      const char *actor);
void netcfgd_functions_enforce(struct netcfgd_ctx *x, bool startup);
void netcfgd_functions_adopt(struct netcfgd_ctx *x);
/* The service manager's view of each unit-backed function (state) and of each
 * hook unit (installed or not: a hook newly installed is switched to the
 * function's recorded state when enforce is set). */
void netcfgd_hooks_scan(struct netcfgd_ctx *x, bool enforce);
void netcfgd_publish_ports(struct netcfgd_ctx *x);
int netcfgd_tls_handover(struct netcfgd_ctx *x);
void netcfgd_publish_cert(struct netcfgd_ctx *x, const char *actor);
void netcfgd_cert_ensure(struct netcfgd_ctx *x);
int netcfgd_write_snmp(struct netcfgd_ctx *x, const struct ds_settings *st);
/* wireless.c: renders both files into x->wifidir (or removes the unconfigured one) */
int netcfgd_write_wireless(struct netcfgd_ctx *x, const struct ds_settings *st);
