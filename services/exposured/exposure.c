/* exposure.c - the exposure state: the rules from the settings, the
 * listeners rescanned and judged, the verdicts of both checks, the state an
 * answer carries, and net.exposure.changed when the verdicts change. Below
 * methods.c, netcfg.c and main.c, which all feed it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exposured.h"
#include "log.h"
#include "util.h"

/* proc files have no size: read the range with stdio */
static void read_port_range(struct exp_rules *r)
{
        FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

        r->eph_lo = r->eph_hi = 0;
        if (!f)
                return;
        if (fscanf(f, "%d %d", &r->eph_lo, &r->eph_hi) != 2)
                r->eph_lo = r->eph_hi = 0;
        fclose(f);
}

/* The rules from settings s: every refusal of exp_settings_apply, so
 * check_settings (a two-phase import's prepare) runs it alone. */
static int rules_from(const struct ds_settings *s, struct exp_rules *ret, struct ds_err *e)
{
        const msgpack_object *a = ds_settings_get(s, "allow");
        const char *url = ds_settings_str(s, "igd_url");
        struct exp_rules r = { 0 };

        if (url[0] && strncmp(url, "http://", 7))
                return ds_err_set(e, -EINVAL, "igd_url", "must be an http:// URL (or empty to discover)");
        for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++) {
                char buf[64];
                const char *why = NULL;

                if (r.n_allow == EXP_ALLOW_MAX)
                        return ds_err_set(e, -EINVAL, "allow", "%d entries at most", EXP_ALLOW_MAX);
                if (mp_strcpy(&a->via.array.ptr[i], buf, sizeof buf) < 0 || exp_allow_parse(buf, &r.allow[r.n_allow], &why) < 0)
                        return ds_err_set(e, -EINVAL, "allow", "'%s': %s", buf, why ? why : "not a string");
                r.n_allow++;
        }
        r.ignore_ephemeral_udp = ds_settings_bool(s, "ignore_ephemeral_udp");
        *ret = r;
        return 0;
}

int exp_settings_check(const struct ds_settings *s, struct ds_err *e)
{
        struct exp_rules r;

        return rules_from(s, &r, e);
}

int exp_settings_apply(struct exp_ctx *x, const struct ds_settings *s, struct ds_err *e)
{
        struct exp_rules r;
        int rc;

        if ((rc = rules_from(s, &r, e)) < 0)
                return rc;
        read_port_range(&r);
        x->rules = r;
        return 0;
}

void exp_listen_refresh(struct exp_ctx *x)
{
        pid_t skip[3] = { getpid(), x->child, 0 };
        int r = exp_listen_scan(&x->lis, skip);

        if (r < 0) {
                if (r != x->lis_err)
                        log_warn_errno(r, "sock_diag: cannot list the sockets: %m");
                x->lis_err = r;
                x->lis.n = 0;
                return;
        }
        x->lis_err = 0;
        x->lis_ms = ds_now_real_ms();
        exp_judge(&x->lis, &x->net, &x->rules);
}

int exp_https_port(const struct exp_ctx *x)
{
        const struct exp_port *p = exp_net_port(&x->net, "https");

        return p ? p->port : 443;
}

/* ---- verdicts, state, event ------------------------------------------------- */

enum ds_audit_result exp_listen_result(struct exp_ctx *x, char *detail, size_t size)
{
        size_t bad = 0, seen = 0;

        if (!x->net.ports_known || !x->net.fns_known) {
                snprintf(detail, size, "netcfgd's ports and functions are not known yet");
                return DS_AUDIT_NA;
        }
        if (x->lis_err) {
                /* what cannot be looked at does not pass */
                snprintf(detail, size, "cannot list the sockets (sock_diag): %s", strerror(-x->lis_err));
                return DS_AUDIT_FAIL;
        }
        for (size_t i = 0; i < x->lis.n; i++) {
                bad += x->lis.v[i].verdict == EXP_BAD;
                seen += x->lis.v[i].verdict != EXP_CLIENT;
        }
        if (bad) {
                exp_judge_summary(&x->lis, detail, size);
                return DS_AUDIT_FAIL;
        }
        if (x->lis.truncated) {
                snprintf(detail, size, "more than %d listeners on network addresses: only the first were judged",
                         EXP_LISTEN_MAX);
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "%zu listener(s) on non-loopback addresses, each an enabled function's or allowed", seen);
        return DS_AUDIT_PASS;
}

enum ds_audit_result exp_upnp_result(struct exp_ctx *x, char *detail, size_t size)
{
        const struct exp_igd *g = &x->igd;
        size_t off = 0, bad = 0;

        switch (g->state) {
        case EXP_IGD_UNCHECKED:
                snprintf(detail, size, "not checked yet (devctl exposure check)");
                return DS_AUDIT_NA;
        case EXP_IGD_NONE:
        case EXP_IGD_ERROR:
                snprintf(detail, size, "%s", g->reason);
                return DS_AUDIT_NA;
        case EXP_IGD_FOUND:
                break;
        }
        detail[0] = '\0';
        for (size_t i = 0; i < g->n_maps && off < size; i++) {
                if (!g->maps[i].bad)
                        continue;
                int k = snprintf(detail + off, size - off, "%s%s", bad++ ? "; " : "the router forwards ", g->maps[i].why);
                off = k < 0 ? size : off + (size_t)k;
        }
        if (bad)
                return DS_AUDIT_FAIL;
        if (g->n_maps)
                snprintf(detail, size, "the router forwards only the HTTPS port (tcp %d) to this device", exp_https_port(x));
        else
                snprintf(detail, size, "the router (external %s) forwards no port to this device",
                         g->ext_addr[0] ? g->ext_addr : "address unknown");
        return DS_AUDIT_PASS;
}

static const char *const result_names[] = { "pass", "fail", "n/a" };

static const char *fn_state(const struct exp_ctx *x, const char *name)
{
        const struct exp_fn *f = exp_net_fn(&x->net, name);

        return !x->net.fns_known ? "unknown" : f && f->enabled ? "on" : "off";
}

void exp_write_state(struct exp_ctx *x, struct mpw *w)
{
        char detail[256], when[32];
        const struct exp_igd *g = &x->igd;
        enum ds_audit_result lr = exp_listen_result(x, detail, sizeof detail);

        mpw_kv_str(w, "listen", result_names[lr]);
        mpw_kv_str(w, "listen_detail", detail);
        mpw_str(w, "listeners");
        mpw_arr_begin(w);
        for (size_t i = 0; i < x->lis.n; i++) {
                const struct exp_listener *l = &x->lis.v[i];
                char proc[40] = "-";
                if (l->pid > 0)
                        snprintf(proc, sizeof proc, "%s[%d]", l->comm, l->pid);
                mpw_map_begin(w);
                mpw_kv_str(w, "proto", exp_proto_name(l->proto));
                mpw_kv_str(w, "address", l->addr);
                mpw_kv_int(w, "port", l->port);
                mpw_kv_str(w, "user", l->user);
                mpw_kv_str(w, "process", proc);
                mpw_kv_str(w, "owner", l->owner[0] ? l->owner : "-");
                mpw_kv_str(w, "verdict", l->verdict == EXP_OK ? "ok" : l->verdict == EXP_CLIENT ? "client" : "FAIL");
                mpw_kv_str(w, "why", l->why);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        if (x->lis.truncated)
                mpw_kv_bool(w, "listeners_truncated", true);
        enum ds_audit_result ur = exp_upnp_result(x, detail, sizeof detail);
        mpw_kv_str(w, "upnp", result_names[ur]);
        mpw_kv_str(w, "upnp_detail", detail);
        mpw_kv_str(w, "upnp_function", fn_state(x, "upnp"));
        mpw_kv_str(w, "igd", g->state == EXP_IGD_FOUND ? "found" : g->state == EXP_IGD_UNCHECKED ? "unchecked" : "n/a");
        if (g->state != EXP_IGD_FOUND)
                mpw_kv_str(w, "igd_reason", g->reason[0] ? g->reason : "not checked yet");
        mpw_kv_str(w, "igd_url", g->url);
        mpw_kv_str(w, "lan_address", g->lan_addr);
        mpw_kv_str(w, "external_address", g->ext_addr);
        mpw_kv_str(w, "connection", g->state != EXP_IGD_FOUND ? "" : g->status[0] ? g->status
                                                                  : g->connected ? "Connected" : "unknown");
        exp_mappings_write(g, true, w);
        mpw_kv_uint(w, "router_mappings_total", g->n_total);
        mpw_kv_str(w, "dmz", "not visible over UPnP IGD: check the router's DMZ/exposed-host setting yourself");
        when[0] = '\0';
        if (g->checked_ms)
                ds_format_time(g->checked_ms, when, sizeof when);
        mpw_kv_str(w, "upnp_checked", when);
        mpw_kv_bool(w, "check_running", x->child > 0);
}

void exp_publish_if_changed(struct exp_ctx *x, const char *why)
{
        char l[256], u[256], sig[sizeof x->signature];
        enum ds_audit_result lr = exp_listen_result(x, l, sizeof l), ur = exp_upnp_result(x, u, sizeof u);
        struct mpw w;

        snprintf(sig, sizeof sig, "%d|%s|%d|%s", lr, l, ur, u);
        if (!strcmp(sig, x->signature))
                return;
        snprintf(x->signature, sizeof x->signature, "%s", sig);
        x->changes++;
        if (lr == DS_AUDIT_FAIL || ur == DS_AUDIT_FAIL)
                log_warn("exposure changed (%s): listen %s%s%s, upnp %s%s%s", why, result_names[lr], lr == DS_AUDIT_FAIL ? ": " : "",
                         lr == DS_AUDIT_FAIL ? l : "", result_names[ur], ur == DS_AUDIT_FAIL ? ": " : "",
                         ur == DS_AUDIT_FAIL ? u : "");
        if (!x->d->bus)
                return;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "listen", result_names[lr]);
        mpw_kv_str(&w, "listen_detail", l);
        mpw_kv_str(&w, "upnp", result_names[ur]);
        mpw_kv_str(&w, "upnp_detail", u);
        mpw_kv_str(&w, "external_address", x->igd.ext_addr);
        mpw_kv_str(&w, "cause", why);
        mpw_map_end(&w);
        ds_daemon_publish(x->d, "net.exposure.changed", &w);
        mpw_free(&w);
}
