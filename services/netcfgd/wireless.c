/* wireless.c - the Wi-Fi access point and 802.1X settings rendered for the
 * programs that enforce them: hostapd.conf (ap_hotspot's hostapd.service) and
 * wpa_supplicant.conf (802.1X on the wired port), both 0600 in
 * <statedir>/wifi/ as they carry the PSK and the EAP password. A file whose
 * settings are not configured is removed, so no stale secret stays behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netcfgd.h"
#include "state.h"

static const char *S(const struct ds_settings *st, const char *k)
{
        return ds_settings_str(st, k);
}

/* hostapd: WPA version, key management, PMF, by wifi_ap_security */
static const struct {
        const char *sec;
        const char *lines;
} ap_security[] = {
        { "open", "" },
        { "WEP", NULL }, /* wep_key0, below */
        { "WPA-PSK", "wpa=1\nwpa_key_mgmt=WPA-PSK\nwpa_pairwise=TKIP CCMP\n" },
        { "WPA2-PSK", "wpa=2\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP\nieee80211w=1\n" },
        { "WPA3-SAE", "wpa=2\nwpa_key_mgmt=SAE\nrsn_pairwise=CCMP\nieee80211w=2\nsae_require_mfp=1\n" },
        { "WPA2-WPA3", "wpa=2\nwpa_key_mgmt=WPA-PSK SAE\nrsn_pairwise=CCMP\nieee80211w=1\n" },
        { NULL, NULL },
};

int hostapd_render(const struct ds_settings *st, char **ret, size_t *ret_len)
{
        const char *sec = S(st, "wifi_ap_security"), *lines = NULL;
        char *buf = NULL;
        size_t len = 0;
        FILE *f;
        bool known = false;

        if (!*S(st, "wifi_ap_ssid"))
                return -ENOENT;
        for (size_t i = 0; ap_security[i].sec; i++)
                if (!strcmp(ap_security[i].sec, sec)) {
                        lines = ap_security[i].lines;
                        known = true;
                }
        if (!known)
                return -EINVAL;
        if (!(f = open_memstream(&buf, &len)))
                return -ENOMEM;
        fprintf(f, "# hostapd.conf rendered by netcfgd: do not edit, use devctl config set netcfgd wifi_ap_...\n");
        fprintf(f, "interface=%s\ndriver=nl80211\n", S(st, "wifi_ap_interface"));
        /* hostapd takes the rest of the line as the SSID (settings: printable, no newline) */
        fprintf(f, "ssid=%s\nhw_mode=g\nchannel=%d\nauth_algs=1\nignore_broadcast_ssid=0\n", S(st, "wifi_ap_ssid"),
                (int)ds_settings_int(st, "wifi_ap_channel"));
        if (lines) {
                fputs(lines, f);
                if (*lines)
                        fprintf(f, "wpa_passphrase=%s\n", S(st, "wifi_ap_passphrase"));
        } else {
                fprintf(f, "wep_default_key=0\nwep_key0=\"%s\"\n", S(st, "wifi_ap_passphrase"));
        }
        if (ds_settings_bool(st, "wifi_ap_wps"))
                fprintf(f, "wps_state=2\neap_server=1\nconfig_methods=push_button\n");
        else
                fprintf(f, "wps_state=0\n");
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* a wpa_supplicant string: "text" when it is plain printable ASCII without a
 * quote, else hex (which wpa_supplicant reads as the same bytes) */
static void wpas_str(FILE *f, const char *key, const char *v)
{
        bool plain = true;

        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
                plain &= *p >= 0x20 && *p < 0x7f && *p != '"';
        fprintf(f, "\t%s=", key);
        if (plain)
                fprintf(f, "\"%s\"\n", v);
        else {
                for (const unsigned char *p = (const unsigned char *)v; *p; p++)
                        fprintf(f, "%02x", *p);
                fputc('\n', f);
        }
}

static const char *const eap_names[][2] = { { "EAP-TLS", "TLS" }, { "PEAP", "PEAP" }, { "EAP-MD5", "MD5" }, { NULL } };

int wpas_render(const struct ds_settings *st, char **ret, size_t *ret_len)
{
        const char *eap = S(st, "dot1x_eap"), *name = NULL;
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        if (!*S(st, "dot1x_identity"))
                return -ENOENT;
        for (size_t i = 0; eap_names[i][0]; i++)
                if (!strcmp(eap_names[i][0], eap))
                        name = eap_names[i][1];
        if (!name)
                return -EINVAL;
        if (!(f = open_memstream(&buf, &len)))
                return -ENOMEM;
        fprintf(f, "# wpa_supplicant.conf rendered by netcfgd for 802.1X on the wired port (-D wired):\n"
                   "# do not edit, use devctl config set netcfgd dot1x_...\n");
        fprintf(f, "ap_scan=0\neapol_version=2\nnetwork={\n\tkey_mgmt=IEEE8021X\n\teap=%s\n\teapol_flags=0\n", name);
        wpas_str(f, "identity", S(st, "dot1x_identity"));
        if (*S(st, "dot1x_ca_cert"))
                wpas_str(f, "ca_cert", S(st, "dot1x_ca_cert"));
        if (!strcmp(name, "TLS")) {
                wpas_str(f, "client_cert", S(st, "dot1x_client_cert"));
                wpas_str(f, "private_key", S(st, "dot1x_client_key"));
        } else {
                if (!strcmp(name, "PEAP"))
                        fprintf(f, "\tphase2=\"auth=MSCHAPV2\"\n");
                wpas_str(f, "password", S(st, "dot1x_password"));
        }
        fprintf(f, "}\n");
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

static int write_one(const char *dir, const char *name, int (*render)(const struct ds_settings *, char **, size_t *),
                     const struct ds_settings *st)
{
        char *buf = NULL;
        size_t len = 0;
        int r = render(st, &buf, &len);

        if (r == -ENOENT) {
                /* not configured: no file, and no old secret left in one */
                r = state_remove(dir, name);
                return r == -ENOENT ? 0 : r;
        }
        if (r == 0)
                r = state_mkdir_p(dir, 0700);
        if (r == 0)
                r = state_write(dir, name, buf, len, 0600);
        if (buf)
                explicit_bzero(buf, len);
        free(buf);
        return r;
}

int netcfgd_write_wireless(struct netcfgd_ctx *x, const struct ds_settings *st)
{
        int r = write_one(x->wifidir, HOSTAPD_CONF, hostapd_render, st);

        if (r == 0)
                r = write_one(x->wifidir, WPAS_CONF, wpas_render, st);
        return r;
}
