/* methods.c - netcfgd's settings, audit items, method table and thin handlers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include "child.h"
#include "log.h"
#include "netcfgd.h"
#include "state.h"
#include "util.h"

#define PEM_MAX (64 * 1024)

/* ---- settings ------------------------------------------------------------- */

static const char *check_host_or_empty(const char *s, size_t n)
{
        return n == 0 ? NULL : ds_check_host(s, n);
}
static const char *check_path_or_empty(const char *s, size_t n)
{
        return n == 0 ? NULL : ds_check_path(s, n);
}
static const char *check_user_or_empty(const char *s, size_t n)
{
        return n == 0 ? NULL : ds_check_name(s, n);
}

static const struct ds_field host_item[] = { { NULL, DS_STR, 0, .max_len = 253, .check = ds_check_host }, { NULL } };
static const struct ds_field ip_item[] = { { NULL, DS_STR, 0, .max_len = 45, .check = ds_check_ip }, { NULL } };

static const char *const tls_versions[] = { "1.2", "1.3", NULL };
static const char *const snmp_auths[] = { "SHA", "MD5", NULL };
static const char *const snmp_privs[] = { "AES", "DES", NULL };
static const char *const wifi_secs[] = { "open", "WEP", "WPA-PSK", "WPA2-PSK", "WPA3-SAE", "WPA2-WPA3", NULL };
static const char *const eap_methods[] = { "EAP-TLS", "PEAP", "EAP-MD5", NULL };
static const char *const ddns_providers[] = { "none", "dyndns", "no-ip", "custom", NULL };

#define PORT_SETTING(k, lo, hi, d, h) { k, DS_INT, 0, .min = lo, .max = hi, .def_int = d, .help = h }

const struct ds_field netcfgd_settings[] = {
        { "protection_level", DS_INT, 0, .min = 0, .max = 3, .def_int = 1,
          .help = "protection level the secure settings are held to (0: none)" },
        PORT_SETTING("tcp_port", 1025, 65535, 37777, "private SDK port (TCP)"),
        PORT_SETTING("udp_port", 1025, 65535, 37778, "private SDK port (UDP)"),
        PORT_SETTING("http_port", 1, 65535, 80, "HTTP port"),
        PORT_SETTING("https_port", 1, 65535, 443, "HTTPS port"),
        PORT_SETTING("rtsp_port", 1, 65535, 554, "RTSP port"),
        PORT_SETTING("pos_port", 1, 65535, 38800, "POS port"),
        PORT_SETTING("onvif_port", 1, 65535, 8080, "ONVIF port"),
        PORT_SETTING("ssh_port", 1, 65535, 22, "SSH port"),
        PORT_SETTING("snmp_port", 1, 65535, 161, "SNMP port (UDP)"),
        { "max_connections", DS_INT, 0, .min = 0, .max = PORTS_MAXCONN_MAX, .def_int = 128,
          .help = "concurrent connections per service port (0: no cap)" },
        { "https_enabled", DS_BOOL, 0, .def_bool = true },
        { "http_redirect", DS_BOOL, 0, .def_bool = true, .help = "redirect HTTP to HTTPS" },
        { "tls_min", DS_STR, 0, .enums = tls_versions, .def_str = "1.2" },
        { "device_name", DS_STR, 0, .max_len = 64, .check = ds_check_host, .def_str = "devsec-camera",
          .help = "certificate subject CN" },
        { "device_dns", DS_ARRAY, 0, .max_len = 16, .sub = host_item, .help = "DNS names the certificate covers" },
        { "device_ips", DS_ARRAY, 0, .max_len = 16, .sub = ip_item, .help = "IP addresses the certificate covers" },
        { "cert_days", DS_INT, 0, .min = 1, .max = 3650, .def_int = 398 },
        { "backup_max_age_days", DS_INT, 0, .min = 1, .max = 3650, .def_int = 30,
          .help = "audit net.backup.recent: the last configuration backup at most this old" },
        { "snmp_address", DS_STR, 0, .max_len = 45, .check = ds_check_ip, .def_str = "0.0.0.0" },
        { "snmp_v1v2c", DS_BOOL, 0, .def_bool = false },
        { "snmp_community", DS_STR, DS_SECRET, .max_len = 32, .def_str = "" },
        { "snmp_auth", DS_STR, 0, .enums = snmp_auths, .def_str = "SHA" },
        { "snmp_priv", DS_STR, 0, .enums = snmp_privs, .def_str = "AES" },
        { "snmp_ro_user", DS_STR, 0, .max_len = 32, .check = check_user_or_empty, .def_str = "" },
        { "snmp_ro_auth_pass", DS_STR, DS_SECRET, .max_len = 64, .def_str = "" },
        { "snmp_ro_priv_pass", DS_STR, DS_SECRET, .max_len = 64, .def_str = "" },
        { "snmp_rw_user", DS_STR, 0, .max_len = 32, .check = check_user_or_empty, .def_str = "" },
        { "snmp_rw_auth_pass", DS_STR, DS_SECRET, .max_len = 64, .def_str = "" },
        { "snmp_rw_priv_pass", DS_STR, DS_SECRET, .max_len = 64, .def_str = "" },
        { "snmp_sys_name", DS_STR, 0, .max_len = 64, .check = ds_check_printable, .def_str = "" },
        { "snmp_sys_location", DS_STR, 0, .max_len = 128, .check = ds_check_printable, .def_str = "" },
        { "snmp_sys_contact", DS_STR, 0, .max_len = 128, .check = ds_check_printable, .def_str = "" },
        { "wifi_ap_ssid", DS_STR, 0, .max_len = 32, .check = ds_check_printable, .def_str = "" },
        { "wifi_ap_security", DS_STR, 0, .enums = wifi_secs, .def_str = "WPA2-PSK" },
        { "wifi_ap_passphrase", DS_STR, DS_SECRET, .max_len = 64, .def_str = "" },
        { "wifi_ap_wps", DS_BOOL, 0, .def_bool = false },
        { "wifi_ap_interface", DS_STR, 0, .max_len = 15, .check = ds_check_name, .def_str = "wlan0",
          .help = "the radio interface hostapd serves the access point on" },
        { "wifi_ap_channel", DS_INT, 0, .min = 1, .max = 14, .def_int = 6 },
        { "dot1x_eap", DS_STR, 0, .enums = eap_methods, .def_str = "EAP-TLS" },
        { "dot1x_identity", DS_STR, 0, .max_len = 128, .check = ds_check_printable, .def_str = "" },
        { "dot1x_password", DS_STR, DS_SECRET, .max_len = 128, .def_str = "" },
        { "dot1x_ca_cert", DS_STR, 0, .max_len = 1024, .check = check_path_or_empty, .def_str = "" },
        { "dot1x_client_cert", DS_STR, 0, .max_len = 1024, .check = check_path_or_empty, .def_str = "" },
        { "dot1x_client_key", DS_STR, 0, .max_len = 1024, .check = check_path_or_empty, .def_str = "" },
        { "multicast_address", DS_STR, 0, .max_len = 45, .check = ds_check_ip, .def_str = "239.255.42.42" },
        { "multicast_port", DS_INT, 0, .min = 1024, .max = 65535, .def_int = 40000 },
        { "multicast_ttl", DS_INT, 0, .min = 1, .max = 255, .def_int = 1 },
        { "ddns_provider", DS_STR, 0, .enums = ddns_providers, .def_str = "none" },
        { "ddns_server", DS_STR, 0, .max_len = 253, .check = check_host_or_empty, .def_str = "" },
        { "ddns_host", DS_STR, 0, .max_len = 253, .check = check_host_or_empty, .def_str = "" },
        { "ddns_user", DS_STR, 0, .max_len = 64, .check = ds_check_printable, .def_str = "" },
        { "ddns_password", DS_STR, DS_SECRET, .max_len = 128, .def_str = "" },
        { "ddns_https", DS_BOOL, 0, .def_bool = true },
        { "ddns_interval_min", DS_INT, 0, .min = 5, .max = 1440, .def_int = 10 },
        { NULL },
};

static struct netcfgd_ctx *X(void *ctx)
{
        return ctx;
}

static const char *const *strv_from(const msgpack_object *arr, char ***owned)
{
        size_t n = arr && arr->type == MSGPACK_OBJECT_ARRAY ? arr->via.array.size : 0, k = 0;
        char **v = calloc(n + 1, sizeof *v);

        *owned = v;
        for (size_t i = 0; v && i < n; i++)
                if ((v[k] = mp_strdup(&arr->via.array.ptr[i])))
                        k++;
        return (const char *const *)v;
}

static void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

/* ---- function changes: service manager + busd, asynchronously ---------- */

struct fn_op {
        struct netcfgd_ctx *x;
        struct net_function *f;
        struct ds_call *call; /* NULL: start-up, reset, harden */
        bool enable;
        int pending;
        int err;
        char why[128];
        char actor[BUS_NAME_MAX + 1];
};

static int save_functions(struct netcfgd_ctx *x)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        functions_write_state(&x->fns, &w);
        r = ds_daemon_save(x->d, FN_STATE, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (r < 0)
                log_errno(r, "cannot save the function state in '%s': %m", x->d->statedir);
        return r;
}

static void fn_op_step(struct fn_op *op, int r, const char *why)
{
        struct net_function *f = op->f;
        struct mpw ev;

        if (r < 0 && !op->err) {
                op->err = r;
                snprintf(op->why, sizeof op->why, "%s", why ? why : "the change failed");
        }
        if (--op->pending > 0)
                return;
        f->busy = false;
        if (!op->err && f->enabled == op->enable) {
                /* enforcement of a state already recorded: nothing to tell */
        } else if (!op->err) {
                f->enabled = op->enable;
                save_functions(op->x);
                log_audit("security", LOG_LVL_NOTICE, op->actor, "function '%s' %s by '%s'", f->name,
                          op->enable ? "enabled" : "disabled", op->actor);
                mpw_init(&ev);
                mpw_map_begin(&ev);
                mpw_kv_str(&ev, "name", f->name);
                mpw_kv_bool(&ev, "enabled", f->enabled);
                mpw_kv_str(&ev, "user", op->actor);
                mpw_map_end(&ev);
                ds_daemon_publish(op->x->d, "net.function.changed", &ev);
                mpw_free(&ev);
        } else {
                log_warn("function '%s': cannot %s: %s", f->name, op->enable ? "enable" : "disable", op->why);
        }
        if (op->call) {
                if (op->err) {
                        ds_call_fail(op->call, op->err == -ETIMEDOUT ? -ETIMEDOUT : -DS_EINTERNAL, NULL,
                                     "cannot %s '%s': %s", op->enable ? "enable" : "disable", f->name, op->why);
                        ds_call_finish(&op->call, op->call->err.code);
                } else {
                        mpw_str(op->call->r, "function");
                        functions_write_row(f, op->call->r);
                        ds_call_finish(&op->call, 0);
                }
        }
        free(op);
}

static void on_mgr_done(void *ud, int r, const char *why)
{
        fn_op_step(ud, r, why);
}

static void on_bus_done(void *ud, const struct bus_reply *rep)
{
        fn_op_step(ud, rep->code, rep->code ? (rep->err.msg[0] ? rep->err.msg : "busd refused") : NULL);
}

/* Starts the change of f to enable; takes ownership of call (may be NULL). */
int netcfgd_fn_change(struct netcfgd_ctx *x, struct net_function *f, bool enable, struct ds_call *call,
                     const char *actor)
{
        struct fn_op *op = calloc(1, sizeof *op);
        int r;

        if (!op)
                return -ENOMEM;
        *op = (struct fn_op){ .x = x, .f = f, .call = call, .enable = enable, .pending = 1 };
        snprintf(op->actor, sizeof op->actor, "%s", actor);
        f->busy = true;
        /* hold one reference while starting the steps, so none can finish the op early */
        if (f->kind == FN_DAEMON && x->d->bus) {
                struct mpw a;
                mpw_init(&a);
                mpw_map_begin(&a);
                mpw_kv_str(&a, "service", f->target);
                mpw_map_end(&a);
                op->pending++;
                r = bus_call(x->d->bus, "bus", enable ? "bus.enable" : "bus.disable", &a, NULL, 5000, on_bus_done, op);
                mpw_free(&a);
                if (r < 0)
                        fn_op_step(op, r, "cannot reach busd");
        }
        if (f->kind != FN_FLAG && x->mgr.ops) {
                op->pending++;
                r = svcmgr_set(&x->mgr, f->target, f->kind == FN_DAEMON, enable, on_mgr_done, op);
                if (r < 0)
                        fn_op_step(op, r, "service manager failed");
        }
        fn_op_step(op, 0, NULL);
        return 0;
}

/* Brings the service manager and busd in line with the table (start-up, reset, import). */
void netcfgd_functions_enforce(struct netcfgd_ctx *x, bool startup)
{
        for (size_t i = 0; i < x->fns.n; i++) {
                struct net_function *f = &x->fns.v[i];
                if (f->busy || f->kind == FN_FLAG)
                        continue;
                /* at start-up under systemd, leave enabled units as the system has them */
                if (startup && f->enabled && f->kind == FN_UNIT && strcmp(x->backend, "dev"))
                        continue;
                netcfgd_fn_change(x, f, f->enabled, NULL, "netcfgd");
        }
}

/* A function whose unit the system has flagged disabled is disabled, whatever
 * functions.mp says: the flag is what systemd goes by at boot (the unit's
 * drop-in ConditionPathExists=!), so function.list says so too. An enable cut
 * short between the flag's removal and the state's save errs the same way:
 * towards off. */
void netcfgd_functions_adopt(struct netcfgd_ctx *x)
{
        bool changed = false;

        for (size_t i = 0; i < x->fns.n; i++) {
                struct net_function *f = &x->fns.v[i];
                if (f->kind == FN_FLAG || !f->enabled ||
                    svcmgr_disabled(&x->mgr, f->target, f->kind == FN_DAEMON) != 1)
                        continue;
                f->enabled = false;
                changed = true;
                log_audit("security", LOG_LVL_NOTICE, "netcfgd",
                          "function '%s' is disabled on this system (its unit is flagged): recorded disabled", f->name);
        }
        if (changed)
                save_functions(x);
}

/* ---- ports ------------------------------------------------------------------ */

struct create_job {
        const char *dir;
        const struct cert_req *req;
};

static int create_in_child(void *ud, struct ds_err *e)
{
        const struct create_job *j = ud;

        return certs_create(j->dir, j->req, e);
}

/* A device with no server certificate yet gets one from its settings at
 * start-up, so the first boot can already be done over HTTPS. The key pair
 * and certificate are made in a child that exits: what OpenSSL allocates on
 * the way (several hundred KiB of heap) does not stay in netcfgd's. */
void netcfgd_cert_ensure(struct netcfgd_ctx *x)
{
        struct ds_settings *st = &x->d->settings;
        char **dns = NULL, **ips = NULL, *path = path_join(x->certdir, "server.pem");
        struct cert_req req = {
                .cn = ds_settings_str(st, "device_name"),
                .dns = strv_from(ds_settings_get(st, "device_dns"), &dns),
                .ips = strv_from(ds_settings_get(st, "device_ips"), &ips),
                .days = (int)ds_settings_int(st, "cert_days"),
        };
        struct ds_err e = { 0 };
        struct create_job j = { x->certdir, &req };

        if (path && access(path, F_OK) < 0 && errno == ENOENT && dns && ips) {
                if (ds_child_run(create_in_child, &j, &e) == 0) {
                        log_notice("no server certificate yet: created one for '%s'", req.cn);
                        netcfgd_publish_cert(x, "netcfgd");
                } else {
                        log_warn("cannot create the first server certificate: %s", e.msg);
                }
        }
        free(path);
        strv_free(dns);
        strv_free(ips);
}

void netcfgd_publish_ports(struct netcfgd_ctx *x)
{
        struct mpw w;

        mpw_init(&w);
        ports_write(&x->ports, &w);
        ds_daemon_publish(x->d, "net.ports.changed", &w);
        mpw_free(&w);
}

static int h_port_show(void *ctx, struct ds_call *c)
{
        struct netcfgd_ctx *x = X(ctx);

        mpw_str(c->r, "ports");
        mpw_arr_begin(c->r);
        for (size_t i = 0; ports_table[i].name; i++) {
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "name", ports_table[i].name);
                mpw_kv_str(c->r, "proto", ports_proto_name(ports_table[i].proto));
                mpw_kv_int(c->r, "port", x->ports.port[i]);
                mpw_kv_int(c->r, "default", ports_table[i].def);
                mpw_kv_str(c->r, "range", ports_table[i].min == 1 ? "1-65535" : "1025-65535");
                mpw_kv_str(c->r, "title", ports_table[i].title);
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        mpw_kv_int(c->r, "max_connections", x->ports.max_connections);
        return 0;
}

enum {
        PORT_SET_TCP,
        PORT_SET_UDP,
        PORT_SET_HTTP,
        PORT_SET_HTTPS,
        PORT_SET_RTSP,
        PORT_SET_POS,
        PORT_SET_ONVIF,
        PORT_SET_SSH,
        PORT_SET_SNMP,
        PORT_SET_MAX_CONNECTIONS,
};
/* One argument per port, named as in ports_table and bound to it by that name
 * (port_arg), so the two orders may differ; netcfgd_port_args_check holds the
 * two tables together. */
static const struct ds_field port_set_args[] = {
        [PORT_SET_TCP] = { "tcp", DS_INT, 0, .min = 1025, .max = 65535 },
        [PORT_SET_UDP] = { "udp", DS_INT, 0, .min = 1025, .max = 65535 },
        [PORT_SET_HTTP] = { "http", DS_INT, 0, .min = 1, .max = 65535 },
        [PORT_SET_HTTPS] = { "https", DS_INT, 0, .min = 1, .max = 65535 },
        [PORT_SET_RTSP] = { "rtsp", DS_INT, 0, .min = 1, .max = 65535 },
        [PORT_SET_POS] = { "pos", DS_INT, 0, .min = 1, .max = 65535 },
        [PORT_SET_ONVIF] = { "onvif", DS_INT, 0, .min = 1, .max = 65535 },
        [PORT_SET_SSH] = { "ssh", DS_INT, 0, .min = 1, .max = 65535 },
        [PORT_SET_SNMP] = { "snmp", DS_INT, 0, .min = 1, .max = 65535 },
        [PORT_SET_MAX_CONNECTIONS] = { "max_connections", DS_INT, 0, .min = 0, .max = PORTS_MAXCONN_MAX },
        { NULL },
};

/* The port.set argument of ports_table[i]; -1: none. */
static int port_arg(size_t i)
{
        for (int j = 0; j < PORT_SET_MAX_CONNECTIONS; j++)
                if (!strcmp(port_set_args[j].name, ports_table[i].name))
                        return j;
        return -1;
}

int netcfgd_port_args_check(struct ds_err *e)
{
        size_t n = 0;

        for (size_t i = 0; ports_table[i].name; i++, n++) {
                int j = port_arg(i);
                if (j < 0)
                        return ds_err_set(e, -EINVAL, ports_table[i].name, "port.set has no argument for this port");
                if (port_set_args[j].min != ports_table[i].min || port_set_args[j].max != ports_table[i].max)
                        return ds_err_set(e, -EINVAL, ports_table[i].name, "port.set's range is not the port's");
        }
        if (n != PORT_SET_MAX_CONNECTIONS)
                return ds_err_set(e, -EINVAL, NULL, "port.set has %d port arguments for %zu ports",
                                  PORT_SET_MAX_CONNECTIONS, n);
        return 0;
}

/* Runs changes (a settings map) through ds_daemon_set_settings. */
static int set_settings(struct ds_call *c, const struct mpw *w)
{
        return ds_daemon_set_settings_w(c->daemon, w, ds_call_actor(c), &c->err);
}

static int h_port_set(void *ctx, struct ds_call *c)
{
        struct netcfgd_ctx *x = X(ctx);
        struct port_set want = x->ports;
        size_t a, b, n = 0;
        struct mpw w;
        int r, j;

        for (size_t i = 0; ports_table[i].name; i++)
                if ((j = port_arg(i)) >= 0 && ds_tb_has(c, (unsigned)j)) {
                        want.port[i] = (int)ds_tb_int(c, (unsigned)j, 0);
                        n++;
                }
        if (ds_tb_has(c, PORT_SET_MAX_CONNECTIONS))
                n++;
        if (n == 0)
                return ds_call_fail(c, -EINVAL, NULL, "name at least one port, e.g. http=8088");
        if (ports_conflict(&want, &a, &b)) {
                size_t named = (j = port_arg(b)) >= 0 && ds_tb_has(c, (unsigned)j) ? b : a;
                size_t other = named == b ? a : b;
                return ds_call_fail(c, -EINVAL, ports_table[named].name, "%s port %d is already used by %s",
                                    ports_proto_name(ports_table[named].proto), want.port[named],
                                    ports_table[other].name);
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        for (size_t i = 0; ports_table[i].name; i++)
                if ((j = port_arg(i)) >= 0 && ds_tb_has(c, (unsigned)j))
                        mpw_kv_int(&w, ports_table[i].key, want.port[i]);
        if (ds_tb_has(c, PORT_SET_MAX_CONNECTIONS))
                mpw_kv_int(&w, "max_connections", ds_tb_int(c, PORT_SET_MAX_CONNECTIONS, 0));
        mpw_map_end(&w);
        r = set_settings(c, &w);
        mpw_free(&w);
        if (r < 0)
                return r;
        return h_port_show(ctx, c);
}

/* ---- functions ------------------------------------------------------------------ */

static int h_function_list(void *ctx, struct ds_call *c)
{
        struct netcfgd_ctx *x = X(ctx);

        mpw_kv_str(c->r, "backend", x->backend);
        mpw_str(c->r, "functions");
        mpw_arr_begin(c->r);
        for (size_t i = 0; i < x->fns.n; i++)
                functions_write_row(&x->fns.v[i], c->r);
        mpw_arr_end(c->r);
        return 0;
}

enum { FUNCTION_NAME };
static const struct ds_field function_args[] = {
        [FUNCTION_NAME] = { "name", DS_STR, DS_REQUIRED, .check = ds_check_name, .help = "function name (function list)" },
        { NULL },
};

static int function_set(struct netcfgd_ctx *x, struct ds_call *c, bool enable)
{
        char name[64];
        struct net_function *f;
        struct ds_call *dc;

        ds_tb_str(c, FUNCTION_NAME, name, sizeof name);
        f = functions_find(&x->fns, name);
        if (!f)
                return ds_call_fail(c, -ENOENT, "name", "no function '%s' (see function list)", name);
        if (f->busy)
                return ds_call_fail(c, -EBUSY, "name", "a change of '%s' is in progress", name);
        if (f->enabled == enable) {
                mpw_str(c->r, "function");
                functions_write_row(f, c->r);
                return 0;
        }
        dc = ds_call_detach(c);
        if (!dc)
                return -ENOMEM;
        if (netcfgd_fn_change(x, f, enable, dc, ds_call_actor(c)) < 0) {
                ds_call_finish(&dc, -ENOMEM);
                return DS_DEFER;
        }
        return DS_DEFER;
}

static int h_function_enable(void *ctx, struct ds_call *c)
{
        return function_set(X(ctx), c, true);
}

static int h_function_disable(void *ctx, struct ds_call *c)
{
        return function_set(X(ctx), c, false);
}

/* ---- HTTPS and certificates --------------------------------------------- */

static int h_https_show(void *ctx, struct ds_call *c)
{
        struct netcfgd_ctx *x = X(ctx);
        struct ds_settings *st = &x->d->settings;
        struct net_function *f = functions_find(&x->fns, "https");

        mpw_kv_bool(c->r, "enabled", ds_settings_bool(st, "https_enabled") && (!f || f->enabled));
        mpw_kv_bool(c->r, "redirect", ds_settings_bool(st, "http_redirect"));
        mpw_kv_str(c->r, "tls_min", ds_settings_str(st, "tls_min"));
        mpw_kv_int(c->r, "port", ds_settings_int(st, "https_port"));
        mpw_str(c->r, "certificate");
        mpw_map_begin(c->r);
        certs_describe(x->certdir, "server.pem", c->r);
        mpw_map_end(c->r);
        return 0;
}

enum { HTTPS_SET_ENABLED, HTTPS_SET_REDIRECT, HTTPS_SET_TLS_MIN };
static const struct ds_field https_set_args[] = {
        [HTTPS_SET_ENABLED] = { "enabled", DS_BOOL, 0 },
        [HTTPS_SET_REDIRECT] = { "redirect", DS_BOOL, 0 },
        [HTTPS_SET_TLS_MIN] = { "tls_min", DS_STR, 0, .enums = tls_versions },
        { NULL },
};

static int h_https_set(void *ctx, struct ds_call *c)
{
        static const char *const map[][2] = { [HTTPS_SET_ENABLED] = { "enabled", "https_enabled" },
                                              [HTTPS_SET_REDIRECT] = { "redirect", "http_redirect" },
                                              [HTTPS_SET_TLS_MIN] = { "tls_min", "tls_min" } };
        struct mpw w;
        int r, n = 0;

        mpw_init(&w);
        mpw_map_begin(&w);
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (ds_tb_has(c, i)) {
                        mpw_str(&w, map[i][1]);
                        mpw_obj(&w, ds_tb(c, i));
                        n++;
                }
        mpw_map_end(&w);
        r = n ? set_settings(c, &w) : ds_call_fail(c, -EINVAL, NULL, "give enabled, redirect or tls_min");
        mpw_free(&w);
        return r < 0 ? r : h_https_show(ctx, c);
}

/* One certificate file of the cert dir described under key. */
static void cert_describe(struct netcfgd_ctx *x, struct ds_call *c, const char *key, const char *file)
{
        mpw_str(c->r, key);
        mpw_map_begin(c->r);
        certs_describe(x->certdir, file, c->r);
        mpw_map_end(c->r);
}

/* A new server certificate in force: audited, announced and answered. */
static void cert_changed(struct netcfgd_ctx *x, struct ds_call *c, const char *how)
{
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "HTTPS certificate %s by '%s'", how, ds_call_actor(c));
        netcfgd_publish_cert(x, ds_call_actor(c));
        cert_describe(x, c, "certificate", "server.pem");
}

enum { CERT_CREATE_CN, CERT_CREATE_DNS, CERT_CREATE_IP, CERT_CREATE_DAYS, CERT_CREATE_NEW_CA };
static const struct ds_field cert_create_args[] = {
        [CERT_CREATE_CN] = { "cn", DS_STR, 0, .max_len = 64, .check = ds_check_host },
        [CERT_CREATE_DNS] = { "dns", DS_ARRAY, 0, .max_len = 16, .sub = host_item },
        [CERT_CREATE_IP] = { "ip", DS_ARRAY, 0, .max_len = 16, .sub = ip_item },
        [CERT_CREATE_DAYS] = { "days", DS_INT, 0, .min = 1, .max = 3650 },
        [CERT_CREATE_NEW_CA] = { "new_ca", DS_BOOL, 0, .help = "replace the device CA too" },
        { NULL },
};

static int h_cert_create(void *ctx, struct ds_call *c)
{
        struct netcfgd_ctx *x = X(ctx);
        struct ds_settings *st = &x->d->settings;
        char **dns = NULL, **ips = NULL, *cn = ds_tb_strdup(c, CERT_CREATE_CN);
        struct cert_req req = {
                .cn = cn ? cn : ds_settings_str(st, "device_name"),
                .dns = strv_from(ds_tb_has(c, CERT_CREATE_DNS) ? ds_tb(c, CERT_CREATE_DNS) : ds_settings_get(st, "device_dns"), &dns),
                .ips = strv_from(ds_tb_has(c, CERT_CREATE_IP) ? ds_tb(c, CERT_CREATE_IP) : ds_settings_get(st, "device_ips"), &ips),
                .days = (int)ds_tb_int(c, CERT_CREATE_DAYS, ds_settings_int(st, "cert_days")),
                .new_ca = ds_tb_bool(c, CERT_CREATE_NEW_CA, false),
        };
        int r = dns && ips ? certs_create(x->certdir, &req, &c->err) : -ENOMEM;

        if (r == 0)
                cert_changed(x, c, "created");
        free(cn);
        strv_free(dns);
        strv_free(ips);
        return r;
}

static int h_cert_show(void *ctx, struct ds_call *c)
{
        struct netcfgd_ctx *x = X(ctx);

        mpw_kv_str(c->r, "dir", x->certdir);
        cert_describe(x, c, "server", "server.pem");
        cert_describe(x, c, "ca", "ca.pem");
        return 0;
}

static int h_cert_export_root(void *ctx, struct ds_call *c)
{
        char *pem = NULL;
        int r = certs_read_root(X(ctx)->certdir, &pem);

        if (r == -ENOENT)
                return ds_call_fail(c, -ENOENT, NULL, "no device CA yet: run https cert create");
        if (r < 0)
                return r;
        mpw_kv_str(c->r, "pem", pem);
        free(pem);
        return 0;
}

enum { CERT_IMPORT_CERT, CERT_IMPORT_KEY, CERT_IMPORT_CHAIN };
static const struct ds_field cert_import_args[] = {
        [CERT_IMPORT_CERT] = { "cert", DS_STR, DS_REQUIRED, .max_len = PEM_MAX, .help = "PEM: the certificate, then intermediates" },
        [CERT_IMPORT_KEY] = { "key", DS_STR, DS_REQUIRED | DS_SECRET, .max_len = 16384, .help = "PEM private key (unencrypted)" },
        [CERT_IMPORT_CHAIN] = { "chain", DS_STR, 0, .max_len = PEM_MAX, .help = "PEM: the issuing CA(s)" },
        { NULL },
};

static int h_cert_import(void *ctx, struct ds_call *c)
{
        struct netcfgd_ctx *x = X(ctx);
        struct ds_settings *st = &x->d->settings;
        char *cert = ds_tb_strdup(c, CERT_IMPORT_CERT), *key = ds_tb_strdup(c, CERT_IMPORT_KEY), *chain = ds_tb_strdup(c, CERT_IMPORT_CHAIN);
        char **dns = NULL, **ips = NULL;
        const char *const *d = strv_from(ds_settings_get(st, "device_dns"), &dns);
        const char *const *i = strv_from(ds_settings_get(st, "device_ips"), &ips);
        int r = cert && key && dns && ips ? certs_import(x->certdir, cert, key, chain, d, i, &c->err) : -ENOMEM;

        if (r == 0)
                cert_changed(x, c, "imported");
        ds_free_secret(key);
        free(cert);
        free(chain);
        strv_free(dns);
        strv_free(ips);
        return r;
}

/* ---- SNMP ----------------------------------------------------------------- */

static const char *snmp_conf_name = "snmpd.conf";

/* The snmpd fragment netcfgd renders from its settings (0600). */
int netcfgd_write_snmp(struct netcfgd_ctx *x, const struct ds_settings *st)
{
        char *buf = NULL;
        size_t len = 0;
        int r;

        r = snmp_render(st, (int)ds_settings_int(st, "snmp_port"), &buf, &len);
        if (r == 0)
                r = state_mkdir_p(x->snmpdir, 0700);
        if (r == 0)
                r = state_write(x->snmpdir, snmp_conf_name, buf, len, 0600);
        if (buf)
                explicit_bzero(buf, len);
        free(buf);
        return r;
}

static int h_snmp_show(void *ctx, struct ds_call *c)
{
        struct netcfgd_ctx *x = X(ctx);
        struct ds_settings *st = &x->d->settings;
        struct net_function *f = functions_find(&x->fns, "snmp");
        static const char *const shown[] = { "snmp_address", "snmp_v1v2c", "snmp_auth", "snmp_priv", "snmp_ro_user",
                                             "snmp_rw_user", "snmp_sys_name", "snmp_sys_location", "snmp_sys_contact",
                                             NULL };
        char *path = path_join(x->snmpdir, snmp_conf_name);

        mpw_kv_bool(c->r, "enabled", f ? f->enabled : false);
        mpw_kv_int(c->r, "port", ds_settings_int(st, "snmp_port"));
        for (const char *const *k = shown; *k; k++) {
                mpw_str(c->r, *k + 5);
                mpw_obj(c->r, ds_settings_get(st, *k));
        }
        mpw_kv_bool(c->r, "ro_passphrases_set", *ds_settings_str(st, "snmp_ro_auth_pass") != 0);
        mpw_kv_bool(c->r, "rw_passphrases_set", *ds_settings_str(st, "snmp_rw_auth_pass") != 0);
        mpw_kv_str(c->r, "fragment", path);
        free(path);
        return 0;
}

enum {
        SNMP_SET_ADDRESS,
        SNMP_SET_V1V2C,
        SNMP_SET_COMMUNITY,
        SNMP_SET_AUTH,
        SNMP_SET_PRIV,
        SNMP_SET_RO_USER,
        SNMP_SET_RO_AUTH_PASS,
        SNMP_SET_RO_PRIV_PASS,
        SNMP_SET_RW_USER,
        SNMP_SET_RW_AUTH_PASS,
        SNMP_SET_RW_PRIV_PASS,
        SNMP_SET_SYS_NAME,
        SNMP_SET_SYS_LOCATION,
        SNMP_SET_SYS_CONTACT,
};
static const struct ds_field snmp_set_args[] = {
        [SNMP_SET_ADDRESS] = { "address", DS_STR, 0, .max_len = 45, .check = ds_check_ip },
        [SNMP_SET_V1V2C] = { "v1v2c", DS_BOOL, 0 },
        [SNMP_SET_COMMUNITY] = { "community", DS_STR, DS_SECRET, .max_len = 32 },
        [SNMP_SET_AUTH] = { "auth", DS_STR, 0, .enums = snmp_auths },
        [SNMP_SET_PRIV] = { "priv", DS_STR, 0, .enums = snmp_privs },
        [SNMP_SET_RO_USER] = { "ro_user", DS_STR, 0, .max_len = 32, .check = check_user_or_empty },
        [SNMP_SET_RO_AUTH_PASS] = { "ro_auth_pass", DS_STR, DS_SECRET, .max_len = 64 },
        [SNMP_SET_RO_PRIV_PASS] = { "ro_priv_pass", DS_STR, DS_SECRET, .max_len = 64 },
        [SNMP_SET_RW_USER] = { "rw_user", DS_STR, 0, .max_len = 32, .check = check_user_or_empty },
        [SNMP_SET_RW_AUTH_PASS] = { "rw_auth_pass", DS_STR, DS_SECRET, .max_len = 64 },
        [SNMP_SET_RW_PRIV_PASS] = { "rw_priv_pass", DS_STR, DS_SECRET, .max_len = 64 },
        [SNMP_SET_SYS_NAME] = { "sys_name", DS_STR, 0, .max_len = 64, .check = ds_check_printable },
        [SNMP_SET_SYS_LOCATION] = { "sys_location", DS_STR, 0, .max_len = 128, .check = ds_check_printable },
        [SNMP_SET_SYS_CONTACT] = { "sys_contact", DS_STR, 0, .max_len = 128, .check = ds_check_printable },
        { NULL },
};

static int h_snmp_set(void *ctx, struct ds_call *c)
{
        struct mpw w;
        char key[64];
        int r, n = 0;

        mpw_init(&w);
        mpw_map_begin(&w);
        for (const struct ds_field *f = snmp_set_args; f->name; f++)
                if (ds_tb_has(c, (unsigned)(f - snmp_set_args))) {
                        snprintf(key, sizeof key, "snmp_%s", f->name);
                        mpw_str(&w, key);
                        mpw_obj(&w, ds_tb(c, (unsigned)(f - snmp_set_args)));
                        n++;
                }
        mpw_map_end(&w);
        r = n ? set_settings(c, &w) : ds_call_fail(c, -EINVAL, NULL, "give at least one setting");
        mpw_wipe(&w);
        if (r < 0) {
                /* name the field as the caller wrote it */
                if (!strncmp(c->err.field, "snmp_", 5))
                        memmove(c->err.field, c->err.field + 5, strlen(c->err.field + 5) + 1);
                return r;
        }
        return h_snmp_show(ctx, c);
}

/* ---- method table ------------------------------------------------------------- */

const struct ds_method netcfgd_methods[] = {
        DS_METHOD("port.show", NULL, h_port_show, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("port.set", port_set_args, h_port_set, AUTH_NEEDS(NETWORK)),
        DS_METHOD("function.list", NULL, h_function_list, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("function.enable", function_args, h_function_enable, AUTH_NEEDS(SECURITY)),
        DS_METHOD("function.disable", function_args, h_function_disable, AUTH_NEEDS(SECURITY)),
        DS_METHOD("https.show", NULL, h_https_show, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("https.set", https_set_args, h_https_set, AUTH_NEEDS(SECURITY)),
        DS_METHOD("cert.create", cert_create_args, h_cert_create, AUTH_NEEDS(SECURITY)),
        DS_METHOD("cert.show", NULL, h_cert_show, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("cert.export_root", NULL, h_cert_export_root, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("cert.import", cert_import_args, h_cert_import, AUTH_NEEDS(SECURITY)),
        DS_METHOD("snmp.show", NULL, h_snmp_show, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("snmp.set", snmp_set_args, h_snmp_set, AUTH_NEEDS(NETWORK)),
        DS_METHOD("backup.done", netcfgd_backup_done_args, h_backup_done, AUTH_NEEDS(BACKUP)),
        DS_METHOD("backup.show", NULL, h_backup_show, AUTH_NEEDS(SYSTEM_INFO)),
        { NULL },
};
