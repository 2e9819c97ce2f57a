/* audit.c - netcfgd's hardening items: HTTPS switched on, SNMP v3 only, the
 * functions each level wants off, custom ports, TLS 1.3. */
#include <stdio.h>
#include <string.h>

#include "netcfgd.h"

static struct netcfgd_ctx *X(void *ctx)
{
        return ctx;
}

static enum ds_audit_result check_ports(void *ctx, char *detail, size_t size)
{
        struct netcfgd_ctx *x = X(ctx);
        char names[200];

        if (ports_well_known(&x->ports, names, sizeof names) == 0)
                return DS_AUDIT_PASS;
        snprintf(detail, size, "well-known default ports in use: %s", names);
        return DS_AUDIT_FAIL;
}

/* Functions the level wants off: a backed one still on fails; one nothing
 * obeys (a flag without enforced_by: the integrator's to back with a unit) is
 * never a pass — the item is n/a naming it when nothing backed fails. */
static enum ds_audit_result check_fns(struct netcfgd_ctx *x, int level, char *detail, size_t size)
{
        char on[512] = "", none[512] = "";
        size_t o1 = 0, o2 = 0;
        int n = 0, m = 0;

        for (size_t i = 0; i < x->fns.n; i++) {
                const struct net_function *f = &x->fns.v[i];
                if (!f->off_level || f->off_level != level)
                        continue;
                if (!fn_backed(f)) {
                        int k = snprintf(none + o2, o2 < sizeof none ? sizeof none - o2 : 0, "%s%s", m++ ? ", " : "",
                                         f->name);
                        o2 += k > 0 ? (size_t)k : 0;
                } else if (f->enabled) {
                        int k = snprintf(on + o1, o1 < sizeof on ? sizeof on - o1 : 0, "%s%s", n++ ? ", " : "", f->name);
                        o1 += k > 0 ? (size_t)k : 0;
                }
        }
        if (n)
                snprintf(detail, size, "still enabled: %s%s%s", on, m ? "; nothing obeys: " : "", none);
        else if (m)
                snprintf(detail, size, "n/a: nothing on this device obeys %s (no integrator hook: its hook_unit in "
                         "functions.conf is not installed)", none);
        return n ? DS_AUDIT_FAIL : m ? DS_AUDIT_NA : DS_AUDIT_PASS;
}

static int harden_fns(struct netcfgd_ctx *x, int level)
{
        for (size_t i = 0; i < x->fns.n; i++) {
                struct net_function *f = &x->fns.v[i];
                if (f->off_level == level && f->enabled && !f->busy && fn_backed(f))
                        netcfgd_fn_change(x, f, false, NULL, "audit.harden");
        }
        return 0;
}

#define FN_LEVEL(n)                                                                                  \
        static enum ds_audit_result check_fns##n(void *ctx, char *detail, size_t size)               \
        {                                                                                            \
                return check_fns(X(ctx), n, detail, size);                                           \
        }                                                                                            \
        static int harden_fns##n(void *ctx, struct ds_err *e)                                        \
        {                                                                                            \
                (void)e;                                                                             \
                return harden_fns(X(ctx), n);                                                        \
        }
FN_LEVEL(1)
FN_LEVEL(2)
FN_LEVEL(3)

/* A/V transmission encryption (RTSPS/SRTP) is the media stack's, through the
 * av_encryption function's hook unit: a pass needs the function on and that
 * unit installed and running. */
static enum ds_audit_result check_av(void *ctx, char *detail, size_t size)
{
        struct net_function *f = functions_find(&X(ctx)->fns, "av_encryption");

        if (!f) {
                snprintf(detail, size, "n/a: no av_encryption function in functions.conf");
                return DS_AUDIT_NA;
        }
        if (!fn_backed(f)) {
                snprintf(detail, size, "n/a: nothing on this device encrypts audio and video (integrator hook '%s' "
                         "not installed)", f->hook ? f->hook : "none");
                return DS_AUDIT_NA;
        }
        if (!f->enabled) {
                snprintf(detail, size, "off: audio and video leave the device unencrypted");
                return DS_AUDIT_FAIL;
        }
        if (!f->unit_state || strcmp(f->unit_state, "active")) {
                snprintf(detail, size, "on, but '%s' is %s", f->target, f->unit_state ? f->unit_state : "in an unknown state");
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "on: '%s' is active", f->target);
        return DS_AUDIT_PASS;
}

static int harden_av(void *ctx, struct ds_err *e)
{
        struct net_function *f = functions_find(&X(ctx)->fns, "av_encryption");

        (void)e;
        if (f && fn_backed(f) && !f->enabled && !f->busy)
                netcfgd_fn_change(X(ctx), f, true, NULL, "audit.harden");
        return 0;
}

/* The access point: WPA2 or WPA3 with a passphrase that passes the rules
 * (settings are checked when set; a passphrase set before the rules were is
 * checked here), WPS off. */
static enum ds_audit_result check_ap(void *ctx, char *detail, size_t size)
{
        struct netcfgd_ctx *x = X(ctx);
        const struct ds_settings *st = &x->d->settings;
        struct net_function *f = functions_find(&x->fns, "ap_hotspot");
        const char *sec = ds_settings_str(st, "wifi_ap_security");
        char why[200];

        if (!f || !f->enabled) {
                snprintf(detail, size, "n/a: the AP hotspot function is off");
                return DS_AUDIT_NA;
        }
        if (!*ds_settings_str(st, "wifi_ap_ssid")) {
                snprintf(detail, size, "the access point is on without settings (wifi_ap_ssid)");
                return DS_AUDIT_FAIL;
        }
        if (strcmp(sec, "WPA2-PSK") && strcmp(sec, "WPA3-SAE") && strcmp(sec, "WPA2-WPA3")) {
                snprintf(detail, size, "wifi_ap_security is %s: WPA2 or WPA3 needed", sec);
                return DS_AUDIT_FAIL;
        }
        if (snmp_passphrase_check(ds_settings_str(st, "wifi_ap_passphrase"), ds_settings_str(st, "wifi_ap_ssid"),
                                  WIFI_PASS_MAX, why, sizeof why)) {
                snprintf(detail, size, "the passphrase %s", why);
                return DS_AUDIT_FAIL;
        }
        if (ds_settings_bool(st, "wifi_ap_wps")) {
                snprintf(detail, size, "WPS is on");
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "%s, WPS off", sec);
        return DS_AUDIT_PASS;
}

/* 802.1X on the wired port: EAP-TLS or PEAP, with the CA that vouches for
 * the authentication server. */
static enum ds_audit_result check_dot1x(void *ctx, char *detail, size_t size)
{
        const struct ds_settings *st = &X(ctx)->d->settings;
        const char *eap = ds_settings_str(st, "dot1x_eap");

        if (!*ds_settings_str(st, "dot1x_identity")) {
                snprintf(detail, size, "802.1X is not configured (dot1x_identity)");
                return DS_AUDIT_FAIL;
        }
        if (strcmp(eap, "EAP-TLS") && strcmp(eap, "PEAP")) {
                snprintf(detail, size, "dot1x_eap is %s: EAP-TLS or PEAP needed", eap);
                return DS_AUDIT_FAIL;
        }
        if (!*ds_settings_str(st, "dot1x_ca_cert")) {
                snprintf(detail, size, "no CA certificate (dot1x_ca_cert): the server is not authenticated");
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "%s as '%s'", eap, ds_settings_str(st, "dot1x_identity"));
        return DS_AUDIT_PASS;
}

const struct ds_audit_item netcfgd_audit[] = {
        { .id = "net.av-encryption", .level = 1, .title = "audio and video transmission encrypted (RTSPS/SRTP)",
          .remediation = "devctl function enable av_encryption (needs the media stack's hook unit)",
          .check = check_av, .harden = harden_av, .runtime = true },
        { .id = "net.wifi.ap", .level = 1, .title = "AP hotspot: WPA2/WPA3, a strong passphrase, WPS off",
          .remediation = "devctl config set netcfgd wifi_ap_security=WPA3-SAE wifi_ap_passphrase=... wifi_ap_wps=false",
          .check = check_ap },
        { .id = "net.https.enabled", .level = 1, .title = "HTTPS switched on (webd's net.https checks it is served)",
          .remediation = "devctl https enable",
          .key = "https_enabled", .want_bool = true },
        { .id = "net.snmp.v3only", .level = 1, .title = "SNMP v1/v2c off (v3 only)",
          .remediation = "devctl snmp set v1v2c=false", .key = "snmp_v1v2c", .want_bool = false },
        { .id = "net.functions.1", .level = 1, .title = "risky functions off (level 1)",
          .remediation = "devctl function disable NAME", .check = check_fns1, .harden = harden_fns1 },
        { .id = "net.https.redirect", .level = 2, .title = "HTTP redirected to HTTPS",
          .remediation = "devctl call netcfgd https.set redirect=true", .key = "http_redirect", .want_bool = true },
        { .id = "net.ports.custom", .level = 2, .title = "service ports moved off their well-known defaults",
          .remediation = "devctl port set http=8088 https=8443 ...", .check = check_ports },
        { .id = "net.functions.2", .level = 2, .title = "unneeded functions off (level 2)",
          .remediation = "devctl function disable NAME", .check = check_fns2, .harden = harden_fns2 },
        { .id = "net.backup.recent", .level = 2, .title = "configuration backed up recently (backup_max_age_days)",
          .remediation = "devctl backup create --out FILE", .check = netcfgd_check_backup },
        { .id = "net.tls13", .level = 3, .title = "TLS 1.3 minimum", .remediation = "devctl call netcfgd https.set tls_min=1.3",
          .key = "tls_min", .want_str = "1.3" },
        { .id = "net.dot1x", .level = 3, .title = "802.1X with EAP-TLS or PEAP and a CA certificate",
          .remediation = "devctl config set netcfgd dot1x_eap=EAP-TLS dot1x_identity=... dot1x_ca_cert=... "
                         "dot1x_client_cert=... dot1x_client_key=...",
          .check = check_dot1x },
        { .id = "net.functions.3", .level = 3, .title = "every optional function off (level 3)",
          .remediation = "devctl function disable NAME", .check = check_fns3, .harden = harden_fns3 },
        { NULL },
};
