/* snmp.c - the secure settings of network functions: local passphrase check,
 * cross-field rules by protection level (SNMP, Wi-Fi AP, 802.1X, multicast,
 * DDNS), and the net-snmp snmpd.conf fragment */
#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "netcfgd.h"
#include "pwrules.h"

/* authd's rules (common/pwrules.c: length, characters, classes, the user name
 * or its reverse case-insensitively, sequences, repeats) with the lengths the
 * protocol allows; a backslash is refused too, as snmpd.conf reads it as an
 * escape inside the quotes the passphrase is rendered in. */
const char *snmp_passphrase_check(const char *pass, const char *user, int max_len, char *why, size_t size)
{
        const struct pw_rules rules = { .min_len = 8, .max_len = max_len, .composition = true };

        if (pw_rules_check(&rules, user, pass, why, size))
                return why;
        if (strchr(pass, '\\')) {
                snprintf(why, size, "must not contain a backslash");
                return why;
        }
        return NULL;
}

static int level(const struct ds_settings *st)
{
        return (int)ds_settings_int(st, "protection_level");
}

static const char *S(const struct ds_settings *st, const char *k)
{
        return ds_settings_str(st, k);
}

/* ---- SNMP ---------------------------------------------------------------- */

static int check_user(const struct ds_settings *st, const char *u, const char *a, const char *p, struct ds_err *e)
{
        const char *user = S(st, u);
        char why[200];

        if (!*user)
                return 0;
        if (!*S(st, a))
                return ds_err_set(e, -EINVAL, a, "user '%s' needs an authentication passphrase", user);
        if (!*S(st, p))
                return ds_err_set(e, -EINVAL, p, "user '%s' needs a privacy passphrase (authPriv only)", user);
        if (snmp_passphrase_check(S(st, a), user, SNMP_PASS_MAX, why, sizeof why))
                return ds_err_set(e, -EINVAL, a, "%s", why);
        if (snmp_passphrase_check(S(st, p), user, SNMP_PASS_MAX, why, sizeof why))
                return ds_err_set(e, -EINVAL, p, "%s", why);
        if (!strcmp(S(st, a), S(st, p)))
                return ds_err_set(e, -EINVAL, p, "must differ from the authentication passphrase");
        return 0;
}

static const char *const ro_keys[] = { "snmp_ro_auth_pass", "snmp_ro_priv_pass", NULL };
static const char *const rw_keys[] = { "snmp_rw_auth_pass", "snmp_rw_priv_pass", NULL };

static int check_snmp(const struct ds_settings *st, struct ds_err *e)
{
        int r;

        if (level(st) >= 1) {
                if (ds_settings_bool(st, "snmp_v1v2c"))
                        return ds_err_set(e, -EINVAL, "snmp_v1v2c", "SNMP v1/v2c is refused at protection level 1+");
                if (strcmp(S(st, "snmp_auth"), "SHA"))
                        return ds_err_set(e, -EINVAL, "snmp_auth", "only SHA is allowed at protection level 1+");
                if (strcmp(S(st, "snmp_priv"), "AES"))
                        return ds_err_set(e, -EINVAL, "snmp_priv", "only AES is allowed at protection level 1+");
        }
        if (ds_settings_bool(st, "snmp_v1v2c") && strlen(S(st, "snmp_community")) < 8)
                return ds_err_set(e, -EINVAL, "snmp_community", "v1/v2c needs a community of at least 8 characters");
        for (const char *p = S(st, "snmp_community"); *p; p++)
                if (!isgraph((unsigned char)*p) || *p == '"' || *p == '\\')
                        return ds_err_set(e, -EINVAL, "snmp_community", "must be printable without spaces or quotes");
        if (*S(st, "snmp_ro_user") && !strcmp(S(st, "snmp_ro_user"), S(st, "snmp_rw_user")))
                return ds_err_set(e, -EINVAL, "snmp_rw_user", "the read-write user must differ from the read-only user");
        if ((r = check_user(st, "snmp_ro_user", "snmp_ro_auth_pass", "snmp_ro_priv_pass", e)) < 0 ||
            (r = check_user(st, "snmp_rw_user", "snmp_rw_auth_pass", "snmp_rw_priv_pass", e)) < 0)
                return r;
        /* a read-only user's passphrase must not also open read-write access */
        if (*S(st, "snmp_ro_user") && *S(st, "snmp_rw_user"))
                for (const char *const *w = rw_keys; *w; w++)
                        for (const char *const *o = ro_keys; *o; o++)
                                if (!strcmp(S(st, *w), S(st, *o)))
                                        return ds_err_set(e, -EINVAL, *w,
                                                          "must differ from the read-only user's passphrases");
        return 0;
}

/* ---- Wi-Fi AP -------------------------------------------------------------- */

static const char *const wifi_weak[] = { "open", "WEP", "WPA-PSK", NULL };

static int check_wifi(const struct ds_settings *st, struct ds_err *e)
{
        const char *sec = S(st, "wifi_ap_security");
        char why[200];

        if (level(st) >= 1) {
                for (const char *const *w = wifi_weak; *w; w++)
                        if (!strcmp(sec, *w))
                                return ds_err_set(e, -EINVAL, "wifi_ap_security",
                                                  "'%s' is refused at protection level 1+: WPA2-PSK or better", sec);
                if (ds_settings_bool(st, "wifi_ap_wps"))
                        return ds_err_set(e, -EINVAL, "wifi_ap_wps", "WPS is refused at protection level 1+");
        }
        if (!*S(st, "wifi_ap_ssid") || !strcmp(sec, "open"))
                return 0;
        if (!*S(st, "wifi_ap_passphrase"))
                return ds_err_set(e, -EINVAL, "wifi_ap_passphrase", "the access point needs a passphrase");
        /* hostapd takes a WEP-104 or WEP-128 key as text of 13 or 16 characters */
        if (!strcmp(sec, "WEP") && strlen(S(st, "wifi_ap_passphrase")) != 13 && strlen(S(st, "wifi_ap_passphrase")) != 16)
                return ds_err_set(e, -EINVAL, "wifi_ap_passphrase", "a WEP key is 13 or 16 characters");
        /* WPA's passphrase is 8 to 63 printable ASCII characters; the SSID stands for the user name */
        if (snmp_passphrase_check(S(st, "wifi_ap_passphrase"), S(st, "wifi_ap_ssid"), WIFI_PASS_MAX, why, sizeof why))
                return ds_err_set(e, -EINVAL, "wifi_ap_passphrase", "%s", why);
        return 0;
}

/* ---- 802.1X ----------------------------------------------------------------- */

static int check_pem(const char *key, const char *path, bool is_key, struct ds_err *e)
{
        FILE *f;
        void *o;

        if (!*path)
                return ds_err_set(e, -EINVAL, key, "needed for this EAP method");
        if (path[0] != '/' || strstr(path, ".."))
                return ds_err_set(e, -EINVAL, key, "must be an absolute path");
        f = fopen(path, "r");
        if (!f)
                return ds_err_set(e, -EINVAL, key, "cannot read '%s': %s", path, strerror(errno));
        o = is_key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL) : (void *)PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        if (!o)
                return ds_err_set(e, -EINVAL, key, "'%s' is not a PEM %s", path, is_key ? "private key" : "certificate");
        if (is_key)
                EVP_PKEY_free(o);
        else
                X509_free(o);
        return 0;
}

static int check_dot1x(const struct ds_settings *st, struct ds_err *e)
{
        const char *eap = S(st, "dot1x_eap");
        int r;

        if (level(st) >= 1 && strcmp(eap, "EAP-TLS") && strcmp(eap, "PEAP"))
                return ds_err_set(e, -EINVAL, "dot1x_eap", "'%s' is refused at protection level 1+: EAP-TLS or PEAP", eap);
        if (!*S(st, "dot1x_identity"))
                return 0; /* not configured */
        if ((r = check_pem("dot1x_ca_cert", S(st, "dot1x_ca_cert"), false, e)) < 0)
                return r;
        if (!strcmp(eap, "EAP-TLS")) {
                if ((r = check_pem("dot1x_client_cert", S(st, "dot1x_client_cert"), false, e)) < 0 ||
                    (r = check_pem("dot1x_client_key", S(st, "dot1x_client_key"), true, e)) < 0)
                        return r;
        } else if (!*S(st, "dot1x_password")) {
                return ds_err_set(e, -EINVAL, "dot1x_password", "%s needs a password", eap);
        }
        return 0;
}

/* ---- multicast, DDNS ------------------------------------------------------- */

static int check_multicast(const struct ds_settings *st, struct ds_err *e)
{
        const char *a = S(st, "multicast_address");
        unsigned char b[16];

        if (inet_pton(AF_INET, a, b) == 1 ? (b[0] & 0xf0) == 0xe0 : inet_pton(AF_INET6, a, b) == 1 && b[0] == 0xff)
                return 0;
        return ds_err_set(e, -EINVAL, "multicast_address", "'%s' is not a multicast group (224.0.0.0/4, ff00::/8)", a);
}

static int check_ddns(const struct ds_settings *st, struct ds_err *e)
{
        if (!strcmp(S(st, "ddns_provider"), "none"))
                return 0;
        if (level(st) >= 1 && !ds_settings_bool(st, "ddns_https"))
                return ds_err_set(e, -EINVAL, "ddns_https", "updates over plain HTTP are refused at protection level 1+");
        if (!*S(st, "ddns_host"))
                return ds_err_set(e, -EINVAL, "ddns_host", "the provider needs the host name to update");
        if (!*S(st, "ddns_user") || !*S(st, "ddns_password"))
                return ds_err_set(e, -EINVAL, *S(st, "ddns_user") ? "ddns_password" : "ddns_user",
                                  "the provider needs an account");
        if (!strcmp(S(st, "ddns_provider"), "custom") && !*S(st, "ddns_server"))
                return ds_err_set(e, -EINVAL, "ddns_server", "a custom provider needs its server");
        return 0;
}

static int (*const checks[])(const struct ds_settings *, struct ds_err *) = {
        check_snmp, check_wifi, check_dot1x, check_multicast, check_ddns, NULL,
};

int netcfg_settings_check(const struct ds_settings *st, struct ds_err *e)
{
        int r;

        for (size_t i = 0; checks[i]; i++)
                if ((r = checks[i](st, e)) < 0)
                        return r;
        return 0;
}

/* ---- the snmpd.conf fragment ------------------------------------------------ */

static void render_user(FILE *f, const struct ds_settings *st, const char *u, const char *a, const char *p,
                        const char *access)
{
        if (!*S(st, u))
                return;
        fprintf(f, "createUser %s %s \"%s\" %s \"%s\"\n", S(st, u), S(st, "snmp_auth"), S(st, a), S(st, "snmp_priv"),
                S(st, p));
        fprintf(f, "%s %s priv\n", access, S(st, u));
}

static void render_text(FILE *f, const char *key, const char *v)
{
        if (*v)
                fprintf(f, "%s %s\n", key, v);
}

int snmp_render(const struct ds_settings *st, int snmp_port, char **ret, size_t *ret_len)
{
        const char *addr = S(st, "snmp_address");
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        fprintf(f, "# snmpd.conf fragment rendered by netcfgd: do not edit, use devctl snmp set\n");
        if (strchr(addr, ':'))
                fprintf(f, "agentAddress udp6:[%s]:%d\n", addr, snmp_port);
        else
                fprintf(f, "agentAddress udp:%s:%d\n", addr, snmp_port);
        render_user(f, st, "snmp_ro_user", "snmp_ro_auth_pass", "snmp_ro_priv_pass", "rouser");
        render_user(f, st, "snmp_rw_user", "snmp_rw_auth_pass", "snmp_rw_priv_pass", "rwuser");
        if (level(st) == 0 && ds_settings_bool(st, "snmp_v1v2c") && *S(st, "snmp_community"))
                fprintf(f, "rocommunity %s default\n", S(st, "snmp_community"));
        render_text(f, "sysName", S(st, "snmp_sys_name"));
        render_text(f, "sysLocation", S(st, "snmp_sys_location"));
        render_text(f, "sysContact", S(st, "snmp_sys_contact"));
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}
