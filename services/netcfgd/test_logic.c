/* test_logic.c - netcfgd's pure logic: ports, passphrases, secure-settings
 * rules, the snmpd fragment, the function table, the dev service manager,
 * and the method/settings tables' self-tests */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "netcfgd.h"
#include "state.h"

/* settings from "key=value" words (ints, true/false, strings) over the defaults */
static int settings(struct ds_settings *st, struct ds_err *e, ...)
{
        struct mpw w;
        msgpack_unpacked u;
        const msgpack_object *layers[1];
        const char *why, *kv;
        va_list ap;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        va_start(ap, e);
        while ((kv = va_arg(ap, const char *))) {
                const char *eq = strchr(kv, '=');
                char *end;
                long v;
                mpw_strn(&w, kv, (size_t)(eq - kv));
                v = strtol(eq + 1, &end, 10);
                if (!strcmp(eq + 1, "true") || !strcmp(eq + 1, "false"))
                        mpw_bool(&w, eq[1] == 't');
                else if (*end == '\0' && eq[1])
                        mpw_int(&w, v);
                else
                        mpw_str(&w, eq + 1);
        }
        va_end(ap);
        mpw_map_end(&w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        layers[0] = &u.data;
        ds_err_clear(e);
        r = ds_settings_build(netcfgd_settings, layers, 1, st, e);
        if (r == 0 && (r = netcfg_settings_check(st, e)) < 0)
                ds_settings_free(st);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        return r;
}

static void t_tables_selftest(void **s)
{
        struct ds_err e;

        (void)s;
        ds_err_clear(&e);
        assert_int_equal(ds_methods_selftest(netcfgd_methods, &e), 0);
        assert_int_equal(ds_schema_selftest(netcfgd_settings, &e), 0);
        assert_int_equal(netcfgd_port_args_check(&e), 0);
        /* every port has a setting whose range is the port's */
        for (size_t i = 0; ports_table[i].name; i++) {
                const struct ds_field *f = ds_field_find(netcfgd_settings, ports_table[i].key);
                assert_non_null(f);
                assert_int_equal(f->min, ports_table[i].min);
                assert_int_equal(f->max, ports_table[i].max);
                assert_int_equal(f->def_int, ports_table[i].def);
        }
}

static void t_ports_conflicts(void **s)
{
        struct ds_settings st;
        struct port_set p;
        struct ds_err e;
        size_t a, b;
        char names[200];

        (void)s;
        assert_int_equal(settings(&st, &e, NULL), 0);
        ports_from_settings(&st, &p);
        assert_false(ports_conflict(&p, &a, &b));
        assert_int_equal(ports_well_known(&p, names, sizeof names), (int)ports_count());
        assert_non_null(strstr(names, "http=80"));
        ds_settings_free(&st);

        /* same number, different protocols: fine; same protocol: conflict */
        assert_int_equal(settings(&st, &e, "snmp_port=37777", NULL), 0);
        ports_from_settings(&st, &p);
        assert_false(ports_conflict(&p, &a, &b));
        ds_settings_free(&st);
        assert_int_equal(settings(&st, &e, "rtsp_port=443", NULL), 0);
        ports_from_settings(&st, &p);
        assert_true(ports_conflict(&p, &a, &b));
        assert_string_equal(ports_table[a].name, "https");
        assert_string_equal(ports_table[b].name, "rtsp");
        ds_settings_free(&st);

        /* ranges by schema, naming the setting */
        assert_int_equal(settings(&st, &e, "tcp_port=1024", NULL), -EINVAL);
        assert_string_equal(e.field, "tcp_port");
        assert_int_equal(settings(&st, &e, "max_connections=129", NULL), -EINVAL);
        assert_string_equal(e.field, "max_connections");
}

static void t_ports_event(void **s)
{
        struct port_set p = { .max_connections = 7 };
        msgpack_unpacked u;
        const msgpack_object *arr;
        const char *why;
        struct mpw w;

        (void)s;
        for (size_t i = 0; ports_table[i].name; i++)
                p.port[i] = 2000 + (int)i;
        mpw_init(&w);
        ports_write(&p, &w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(mp_get_int(&u.data, "max_connections", -1), 7);
        arr = mp_get(&u.data, "ports");
        assert_non_null(arr);
        assert_int_equal(arr->via.array.size, ports_count());
        assert_true(mp_streq(mp_get(&arr->via.array.ptr[1], "name"), "udp"));
        assert_true(mp_streq(mp_get(&arr->via.array.ptr[1], "proto"), "udp"));
        assert_int_equal(mp_get_int(&arr->via.array.ptr[1], "port", 0), 2001);
        assert_int_equal(arr->via.array.ptr[0].via.map.size, 3); /* exactly {name, proto, port} */
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
}

/* authd's rules (common/pwrules.c), each rejection naming the rule's reason */
#define PP(pass, user) snmp_passphrase_check(pass, user, SNMP_PASS_MAX, why, sizeof why)
static void t_passphrase(void **s)
{
        char why[200];

        (void)s;
        assert_null(PP("Secret-2024", "camro"));
        assert_null(PP("zqxmvk7Kp", "jo"));
        assert_non_null(PP("Ab1", "jo")); /* short */
        assert_string_equal(why, "must be 8 to 64 characters long (got 3)");
        assert_non_null(PP("zqwxkvjmh", "jo")); /* one class */
        assert_string_equal(why, "must mix at least two of lower case, upper case, digits and special characters");
        assert_non_null(PP("Camro2024", "camro2024")); /* the user name */
        assert_non_null(PP("my-CAMRO-pw9", "camro"));  /* containing it, any case */
        assert_string_equal(why, "must not contain the user name or the user name reversed");
        assert_non_null(PP("x9ORMACk-q", "camro")); /* its reverse */
        assert_string_equal(why, "must not contain the user name or the user name reversed");
        assert_non_null(PP("abcdefg1", "jo")); /* authd's sequence rule */
        assert_non_null(PP("Pzzz-9wq", "jo")); /* and repeats */
        assert_non_null(PP("has\"quote1", "jo"));
        assert_non_null(PP("back\\slash1", "jo"));
        assert_string_equal(why, "must not contain a backslash");
        assert_non_null(PP("with space9X", "jo"));
        assert_null(snmp_passphrase_check("Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-", "jo",
                                          WIFI_PASS_MAX + 10, why, sizeof why));
        assert_non_null(snmp_passphrase_check("Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-Wq7-", "jo",
                                              WIFI_PASS_MAX, why, sizeof why)); /* 64 > 63 */
}

static void t_secure_settings(void **s)
{
        struct ds_settings st;
        struct ds_err e;

        (void)s;
        assert_int_equal(settings(&st, &e, "snmp_v1v2c=true", "snmp_community=longenough", NULL), -EINVAL);
        assert_string_equal(e.field, "snmp_v1v2c");
        assert_int_equal(settings(&st, &e, "protection_level=0", "snmp_v1v2c=true", "snmp_community=longenough", NULL), 0);
        ds_settings_free(&st);
        assert_int_equal(settings(&st, &e, "snmp_auth=MD5", NULL), -EINVAL);
        assert_string_equal(e.field, "snmp_auth");
        assert_int_equal(settings(&st, &e, "snmp_ro_user=a", "snmp_ro_auth_pass=Secret-2024", "snmp_ro_priv_pass=Other-2024",
                                  "snmp_rw_user=a", NULL), -EINVAL);
        assert_string_equal(e.field, "snmp_rw_user");
        assert_int_equal(settings(&st, &e, "snmp_rw_user=b", NULL), -EINVAL);
        assert_string_equal(e.field, "snmp_rw_auth_pass");
        /* Wi-Fi: WPA2 or better, WPS off, a passphrase */
        assert_int_equal(settings(&st, &e, "wifi_ap_security=WEP", NULL), -EINVAL);
        assert_string_equal(e.field, "wifi_ap_security");
        assert_int_equal(settings(&st, &e, "wifi_ap_wps=true", NULL), -EINVAL);
        assert_string_equal(e.field, "wifi_ap_wps");
        assert_int_equal(settings(&st, &e, "wifi_ap_ssid=cam-ap", NULL), -EINVAL);
        assert_string_equal(e.field, "wifi_ap_passphrase");
        assert_int_equal(settings(&st, &e, "wifi_ap_ssid=cam-ap", "wifi_ap_passphrase=My-CAM-AP-9x", NULL), -EINVAL);
        assert_string_equal(e.field, "wifi_ap_passphrase"); /* contains the SSID */
        assert_string_equal(e.msg, "must not contain the user name or the user name reversed");
        assert_int_equal(settings(&st, &e, "wifi_ap_ssid=cam-ap", "wifi_ap_passphrase=Wq7-Lhz9-Tr", NULL), 0);
        ds_settings_free(&st);
        /* SNMP: authd's rules, and read-only and read-write users share no passphrase */
        assert_int_equal(settings(&st, &e, "snmp_ro_user=camro", "snmp_ro_auth_pass=Xcamro-99q", "snmp_ro_priv_pass=Other-2024",
                                  NULL), -EINVAL);
        assert_string_equal(e.field, "snmp_ro_auth_pass");
        assert_int_equal(settings(&st, &e, "snmp_ro_user=ro", "snmp_ro_auth_pass=Secret-2024", "snmp_ro_priv_pass=Other-2024",
                                  "snmp_rw_user=rw", "snmp_rw_auth_pass=Third-2024", "snmp_rw_priv_pass=Secret-2024", NULL),
                         -EINVAL);
        assert_string_equal(e.field, "snmp_rw_priv_pass");
        assert_string_equal(e.msg, "must differ from the read-only user's passphrases");
        assert_int_equal(settings(&st, &e, "snmp_ro_user=ro", "snmp_ro_auth_pass=Secret-2024", "snmp_ro_priv_pass=Other-2024",
                                  "snmp_rw_user=rw", "snmp_rw_auth_pass=Third-2024", "snmp_rw_priv_pass=Fourth-2024", NULL),
                         0);
        ds_settings_free(&st);
        /* 802.1X: EAP-MD5 refused, certificate paths checked */
        assert_int_equal(settings(&st, &e, "dot1x_eap=EAP-MD5", NULL), -EINVAL);
        assert_string_equal(e.field, "dot1x_eap");
        assert_int_equal(settings(&st, &e, "dot1x_identity=cam1", "dot1x_ca_cert=/nonexistent/ca.pem", NULL), -EINVAL);
        assert_string_equal(e.field, "dot1x_ca_cert");
        assert_int_equal(settings(&st, &e, "dot1x_identity=cam1", "dot1x_ca_cert=/etc/hostname", NULL), -EINVAL);
        assert_string_equal(e.field, "dot1x_ca_cert");
        assert_non_null(strstr(e.msg, "not a PEM certificate"));
        /* multicast must be a group; DDNS over HTTPS with an account */
        assert_int_equal(settings(&st, &e, "multicast_address=10.1.2.3", NULL), -EINVAL);
        assert_string_equal(e.field, "multicast_address");
        assert_int_equal(settings(&st, &e, "multicast_address=ff02::1", NULL), 0);
        ds_settings_free(&st);
        assert_int_equal(settings(&st, &e, "ddns_provider=dyndns", "ddns_host=cam.example.net", "ddns_user=u",
                                  "ddns_password=p", "ddns_https=false", NULL), -EINVAL);
        assert_string_equal(e.field, "ddns_https");
        assert_int_equal(settings(&st, &e, "ddns_provider=dyndns", "ddns_host=cam.example.net", NULL), -EINVAL);
        assert_string_equal(e.field, "ddns_user");
}

static void t_render(void **s)
{
        struct ds_settings st;
        struct ds_err e;
        char *buf = NULL;
        size_t len;

        (void)s;
        assert_int_equal(settings(&st, &e, "snmp_address=127.0.0.1", "snmp_ro_user=ro", "snmp_ro_auth_pass=Secret-2024",
                                  "snmp_ro_priv_pass=Private-2024", "snmp_sys_name=cam", NULL), 0);
        assert_int_equal(snmp_render(&st, 16161, &buf, &len), 0);
        assert_non_null(strstr(buf, "agentAddress udp:127.0.0.1:16161\n"));
        assert_non_null(strstr(buf, "createUser ro SHA \"Secret-2024\" AES \"Private-2024\"\n"));
        assert_non_null(strstr(buf, "rouser ro priv\n"));
        assert_null(strstr(buf, "rwuser"));
        assert_null(strstr(buf, "community"));
        assert_non_null(strstr(buf, "sysName cam\n"));
        free(buf);
        ds_settings_free(&st);
        assert_int_equal(settings(&st, &e, "snmp_address=::1", NULL), 0);
        assert_int_equal(snmp_render(&st, 161, &buf, &len), 0);
        assert_non_null(strstr(buf, "agentAddress udp6:[::1]:161\n"));
        free(buf);
        ds_settings_free(&st);
}

static void t_render_wireless(void **s)
{
        struct ds_settings st;
        struct ds_err e;
        char *buf = NULL;
        size_t len;

        (void)s;
        assert_int_equal(settings(&st, &e, NULL), 0);
        assert_int_equal(hostapd_render(&st, &buf, &len), -ENOENT); /* no SSID: no file */
        assert_int_equal(wpas_render(&st, &buf, &len), -ENOENT);
        ds_settings_free(&st);
        assert_int_equal(settings(&st, &e, "wifi_ap_ssid=cam ap", "wifi_ap_security=WPA3-SAE",
                                  "wifi_ap_passphrase=Wq7-Lhz9-Tr", "wifi_ap_channel=11", NULL), 0);
        assert_int_equal(hostapd_render(&st, &buf, &len), 0);
        assert_non_null(strstr(buf, "\ninterface=wlan0\n"));
        assert_non_null(strstr(buf, "\nssid=cam ap\n"));
        assert_non_null(strstr(buf, "\nchannel=11\n"));
        assert_non_null(strstr(buf, "\nwpa=2\nwpa_key_mgmt=SAE\n"));
        assert_non_null(strstr(buf, "\nieee80211w=2\n"));
        assert_non_null(strstr(buf, "\nwpa_passphrase=Wq7-Lhz9-Tr\n"));
        assert_non_null(strstr(buf, "\nwps_state=0\n"));
        free(buf);
        ds_settings_free(&st);
        assert_int_equal(settings(&st, &e, "dot1x_identity=cam\"1", "dot1x_eap=PEAP", "dot1x_password=pw",
                                  "dot1x_ca_cert=/etc/ssl/certs/ca-certificates.crt", NULL), 0);
        assert_int_equal(wpas_render(&st, &buf, &len), 0);
        assert_non_null(strstr(buf, "\tkey_mgmt=IEEE8021X\n\teap=PEAP\n"));
        assert_non_null(strstr(buf, "\tidentity=63616d2231\n")); /* a quote: hex */
        assert_non_null(strstr(buf, "\tpassword=\"pw\"\n"));
        assert_non_null(strstr(buf, "\tphase2=\"auth=MSCHAPV2\"\n"));
        free(buf);
        ds_settings_free(&st);
}

static const char *functions_conf(void)
{
        static char path[4096];
        const char *src = getenv("DEVSEC_SRCDIR");

        snprintf(path, sizeof path, "%s/etc/devsec/functions.conf", src ? src : ".");
        return path;
}

static const char *functions_conf(void);
/* a backend that records what it was asked to do */
static int fake_calls;
static int fake_set(void *impl, const char *unit, bool is_daemon, bool enable, svcmgr_done_fn done, void *ud)
{
        (void)impl;
        (void)unit;
        (void)is_daemon;
        (void)enable;
        fake_calls++;
        done(ud, 0, NULL);
        return 0;
}
static void fake_done(void *ud, int r, const char *why)
{
        (void)ud;
        (void)r;
        (void)why;
}

static void t_svcmgr_table_only(void **s)
{
        static const struct svcmgr_ops fake = { .name = "fake", .set = fake_set };
        struct svcmgr m = { .ops = &fake };
        struct fn_table t = { 0 };
        struct ds_err e;
        char u[64];

        (void)s;
        assert_int_equal(svcmgr_unit_name("ssh", false, u, sizeof u), 0);
        assert_string_equal(u, "ssh.service");
        assert_int_equal(svcmgr_unit_name("ssh.service", false, u, sizeof u), 0);
        assert_string_equal(u, "ssh.service");
        assert_int_equal(svcmgr_unit_name("timed", true, u, sizeof u), 0);
        assert_string_equal(u, "devsec-timed.service");
        ds_err_clear(&e);
        assert_int_equal(functions_load(functions_conf(), &t, &e), 0);
        /* before the table is known nothing is acted on */
        assert_int_equal(svcmgr_set(&m, "ssh.service", false, false, fake_done, NULL), -EPERM);
        assert_int_equal(svcmgr_allow(&m, &t), 0);
        fake_calls = 0;
        assert_int_equal(svcmgr_set(&m, "ssh.service", false, false, fake_done, NULL), 0);
        assert_int_equal(svcmgr_set(&m, "webd", true, true, fake_done, NULL), 0); /* https's daemon */
        assert_int_equal(fake_calls, 2);
        /* a unit outside the table, a devsec unit of no function, a daemon's name as a plain unit */
        assert_int_equal(svcmgr_set(&m, "getty@tty1.service", false, true, fake_done, NULL), -EPERM);
        assert_int_equal(svcmgr_set(&m, "authd", true, false, fake_done, NULL), -EPERM);
        assert_int_equal(svcmgr_set(&m, "devsec-authd.service", false, false, fake_done, NULL), -EPERM);
        assert_int_equal(svcmgr_set(&m, "webd", false, false, fake_done, NULL), -EPERM);
        /* timed is no function's daemon: ntp is its setting */
        assert_int_equal(svcmgr_set(&m, "timed", true, false, fake_done, NULL), -EPERM);
        assert_int_equal(fake_calls, 2);
        svcmgr_destroy(&m);
        functions_free(&t);
}

/* make install's generator (polkit rule, drop-ins) names exactly the units
 * svcmgr acts on: the two read the same table */
static void t_svcmgr_gen_agrees(void **s)
{
        static const struct svcmgr_ops fake = { .name = "fake", .set = fake_set };
        struct svcmgr m = { .ops = &fake };
        struct fn_table t = { 0 };
        const char *src = getenv("DEVSEC_SRCDIR");
        char cmd[8192], line[256];
        struct ds_err e;
        size_t n = 0;
        FILE *f;

        (void)s;
        ds_err_clear(&e);
        assert_int_equal(functions_load(functions_conf(), &t, &e), 0);
        assert_int_equal(svcmgr_allow(&m, &t), 0);
        snprintf(cmd, sizeof cmd, "sh '%s/tools/devsec-functions-gen' units '%s'", src ? src : ".", functions_conf());
        f = popen(cmd, "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
                bool found = false;
                line[strcspn(line, "\n")] = '\0';
                for (size_t i = 0; i < m.n_allowed; i++)
                        found |= !strcmp(m.allowed[i], line);
                if (!found)
                        fail_msg("generator names '%s', netcfgd does not act on it", line);
                n++;
        }
        assert_int_equal(pclose(f), 0);
        assert_int_equal(n, m.n_allowed);
        assert_true(n >= 10);
        svcmgr_destroy(&m);
        functions_free(&t);
}

static void t_functions_shipped(void **s)
{
        static const char *const issue[] = { "upnp", "multicast", "ssh", "onvif", "cgi", "wifi", "mobile", "ap_hotspot",
                                             "pppoe", "ddns", "snmp", "bonjour", "register", "ftp", "nas",
                                             "password_reset", "p2p", "audio", "alarm_centre", "smtp", "iscsi",
                                             "gb28181", "anonymous_login", "ntp", "remote_log", "anr",
                                             "online_upgrade", NULL };
        struct fn_table t = { 0 };
        struct ds_err e;
        struct net_function *f;

        (void)s;
        ds_err_clear(&e);
        assert_int_equal(functions_load(functions_conf(), &t, &e), 0);
        for (const char *const *n = issue; *n; n++) {
                f = functions_find(&t, *n);
                if (!f)
                        fail_msg("function '%s' of the issue is missing", *n);
                assert_true(strlen(f->risk) > 3);
        }
        f = functions_find(&t, "smtp");
        assert_int_equal(f->kind, FN_DAEMON);
        assert_string_equal(f->target, "smtp-notifier");
        f = functions_find(&t, "ssh");
        assert_int_equal(f->kind, FN_UNIT);
        assert_false(f->def);
        assert_int_equal(f->off_level, 1);
        f->enabled = true;
        functions_reset(&t);
        assert_false(f->enabled);
        functions_free(&t);
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
        assert_int_equal(state_write(tmpdir, name, text, strlen(text), 0600), 0);
}

static void t_functions_errors(void **s)
{
        struct fn_table t = { 0 };
        struct ds_err e;
        char path[128];

        (void)s;
        snprintf(path, sizeof path, "%s/f.conf", tmpdir);
        write_file("f.conf", "functions = ( { name = \"a\"; title = \"A\"; risk = \"r\"; factory_default = true; bogus = 1; } );\n");
        assert_int_equal(functions_load(path, &t, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "f.conf:1: unknown key 'bogus'"));
        write_file("f.conf", "functions = ( { name = \"a\"; title = \"A\"; risk = \"r\"; factory_default = true; },\n"
                             "  { name = \"a\"; title = \"B\"; risk = \"r\"; factory_default = false; } );\n");
        assert_int_equal(functions_load(path, &t, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "listed twice"));
        write_file("f.conf", "functions = ( { name = \"a\"; title = \"A\"; risk = \"r\"; factory_default = true;\n"
                             "  unit = \"a.service\"; daemon = \"x\"; } );\n");
        assert_int_equal(functions_load(path, &t, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "both a unit and a daemon"));
        write_file("f.conf", "functions = ( { name = \"a\"; title = \"A\"; risk = \"r\"; } );\n");
        assert_int_equal(functions_load(path, &t, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "factory_default"));
        write_file("f.conf", "functions = ( { name = \"a\"; title = \"A\"; risk = \"r\"; factory_default = true; off_level = 4; } );\n");
        assert_int_equal(functions_load(path, &t, &e), -EINVAL);
        assert_string_equal(e.field, "off_level");
        /* a hook is for a function nothing else backs, and its name is a unit name */
        write_file("f.conf", "functions = ( { name = \"a\"; title = \"A\"; risk = \"r\"; factory_default = true;\n"
                             "  unit = \"a.service\"; hook_unit = \"b.service\"; } );\n");
        assert_int_equal(functions_load(path, &t, &e), -EINVAL);
        assert_string_equal(e.field, "hook_unit");
        write_file("f.conf", "functions = ( { name = \"a\"; title = \"A\"; risk = \"r\"; factory_default = true;\n"
                             "  hook_unit = \"../b.service\"; } );\n");
        assert_int_equal(functions_load(path, &t, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "bad hook_unit name"));
}

/* The shipped hooks: every function without a backend names one; while it is
 * not installed the function is a flag, installed it is unit-backed. */
static void t_functions_hooks(void **s)
{
        static const char *const hooked[] = { "onvif", "p2p", "multicast", "register", "nas", "audio",
                                              "alarm_centre", "gb28181", "av_encryption", NULL };
        struct fn_table t = { 0 };
        struct net_function *f;
        struct ds_err e;

        (void)s;
        assert_int_equal(functions_load(functions_conf(), &t, &e), 0);
        for (const char *const *n = hooked; *n; n++) {
                assert_non_null(f = functions_find(&t, *n));
                assert_non_null(f->hook);
                assert_int_equal(f->kind, FN_FLAG);
                assert_false(fn_backed(f));
        }
        for (size_t i = 0; i < t.n; i++)
                assert_true(fn_backed(&t.v[i]) || t.v[i].hook); /* nothing is left without a backend or a hook */
        f = functions_find(&t, "av_encryption");
        assert_false(f->def); /* not in the guide's Table 2-2: off */
        assert_string_equal(f->hook, "devsec-hook-av-crypt.service");
        functions_hook_set(f, true);
        assert_int_equal(f->kind, FN_UNIT);
        assert_ptr_equal(f->target, f->hook);
        assert_true(fn_backed(f));
        functions_hook_set(f, false);
        assert_int_equal(f->kind, FN_FLAG);
        assert_null(f->target);
        functions_hook_set(f, true); /* freed installed, too */
        functions_free(&t);
}

static void t_functions_state(void **s)
{
        struct fn_table t = { 0 };
        msgpack_unpacked u;
        struct ds_err e;
        const char *why;
        struct mpw w;

        (void)s;
        assert_int_equal(functions_load(functions_conf(), &t, &e), 0);
        functions_find(&t, "ssh")->enabled = true;
        mpw_init(&w);
        functions_write_state(&t, &w);
        functions_reset(&t);
        assert_false(functions_find(&t, "ssh")->enabled);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(functions_read_state(&t, &u.data, &e), 0);
        assert_true(functions_find(&t, "ssh")->enabled);
        msgpack_unpacked_destroy(&u);
        /* mistyped values are refused before anything changes */
        mpw_reset(&w);
        mpw_map_begin(&w);
        mpw_kv_bool(&w, "ssh", false);
        mpw_kv_str(&w, "upnp", "yes");
        mpw_map_end(&w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(functions_read_state(&t, &u.data, &e), -EINVAL);
        assert_true(functions_find(&t, "ssh")->enabled);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        functions_free(&t);
}

static int done_r = 99;
static void on_done(void *ud, int r, const char *why)
{
        (void)ud;
        (void)why;
        done_r = r;
}

static void t_svcmgr_dev(void **s)
{
        struct svcmgr m;
        char dir[128], p[160], name[32];
        struct stat st;

        (void)s;
        snprintf(dir, sizeof dir, "%s/svcmgr", tmpdir);
        assert_int_equal(svcmgr_dev_new(dir, &m), 0);
        assert_string_equal(m.ops->name, "dev");
        assert_int_equal(m.ops->set(m.impl, "ssh.service", false, false, on_done, NULL), 0);
        assert_int_equal(done_r, 0);
        snprintf(p, sizeof p, "%s/ssh.masked", dir);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(m.ops->masked(m.impl, "ssh.service", false), 1);
        done_r = 99;
        assert_int_equal(m.ops->set(m.impl, "ssh.service", false, true, on_done, NULL), 0);
        assert_int_equal(done_r, 0);
        assert_int_equal(stat(p, &st), -1);
        assert_int_equal(m.ops->masked(m.impl, "ssh.service", false), 0);
        /* unmasking what is not masked is fine */
        done_r = 99;
        assert_int_equal(m.ops->set(m.impl, "smtp-notifier", true, true, on_done, NULL), 0);
        assert_int_equal(done_r, 0);
        assert_int_equal(svcmgr_dev_name("timed", name, sizeof name), 0);
        assert_string_equal(name, "timed");
        /* the state the system has: only for the table's units */
        {
                struct fn_table t = { 0 };
                struct ds_err e;
                ds_err_clear(&e);
                assert_int_equal(functions_load(functions_conf(), &t, &e), 0);
                assert_int_equal(svcmgr_allow(&m, &t), 0);
                assert_int_equal(svcmgr_disabled(&m, "ssh.service", false), 0);
                assert_int_equal(m.ops->set(m.impl, "ssh.service", false, false, on_done, NULL), 0);
                assert_int_equal(svcmgr_disabled(&m, "ssh.service", false), 1);
                assert_int_equal(svcmgr_disabled(&m, "authd", true), -EPERM);
                assert_int_equal(svcmgr_disabled(&m, "getty@tty1.service", false), -EPERM);
                functions_free(&t);
        }
        svcmgr_destroy(&m);
        assert_null(m.ops);
}

/* net.backup.recent: never, fresh, at the limit, one day past it */
static void t_backup_age(void **s)
{
        const int64_t day = 24LL * 3600 * 1000, now = 1000 * day;
        char d[200];

        (void)s;
        assert_int_equal(netcfgd_backup_verdict(0, now, 30, d, sizeof d), DS_AUDIT_FAIL);
        assert_non_null(strstr(d, "never"));
        assert_int_equal(netcfgd_backup_verdict(now - day / 2, now, 30, d, sizeof d), DS_AUDIT_PASS);
        assert_int_equal(netcfgd_backup_verdict(now - 30 * day, now, 30, d, sizeof d), DS_AUDIT_PASS);
        assert_int_equal(netcfgd_backup_verdict(now - 31 * day, now, 30, d, sizeof d), DS_AUDIT_FAIL);
        assert_non_null(strstr(d, "31 day(s) ago, too old"));
        /* a backup dated ahead of the clock (set back since) counts as today's */
        assert_int_equal(netcfgd_backup_verdict(now + day, now, 30, d, sizeof d), DS_AUDIT_PASS);
}

static void t_certs(void **s)
{
        static const char *const dns[] = { "localhost", "cam.example.net", NULL };
        static const char *const ips[] = { "127.0.0.1", "::1", NULL };
        struct cert_req req = { .cn = "cam", .dns = dns, .ips = ips, .days = 5 };
        char dir[128], *pem = NULL, *buf, *key;
        size_t len, klen;
        struct ds_err e;
        struct mpw w;
        struct stat st;

        (void)s;
        snprintf(dir, sizeof dir, "%s/certs", tmpdir);
        ds_err_clear(&e);
        assert_int_equal(certs_read_root(dir, &pem), -ENOENT);
        assert_int_equal(certs_create(dir, &req, &e), 0);
        snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "%s", "");
        assert_int_equal(certs_read_root(dir, &pem), 0);
        assert_non_null(strstr(pem, "BEGIN CERTIFICATE"));
        free(pem);
        mpw_init(&w);
        mpw_map_begin(&w);
        assert_int_equal(certs_describe(dir, "server.pem", &w), 0);
        mpw_map_end(&w);
        assert_non_null(memmem(mpw_data(&w), mpw_len(&w), "DNS:cam.example.net", 19));
        assert_non_null(memmem(mpw_data(&w), mpw_len(&w), "IP:::1", 6));
        assert_null(memmem(mpw_data(&w), mpw_len(&w), "PRIVATE", 7));
        mpw_free(&w);
        {
                char kp[160];
                snprintf(kp, sizeof kp, "%s/server.key", dir);
                assert_int_equal(stat(kp, &st), 0);
                assert_int_equal(st.st_mode & 0777, 0600);
        }
        /* re-import the device's own pair: chain = the device CA */
        assert_int_equal(state_read(dir, "server.pem", 1 << 16, &buf, &len), 0);
        assert_int_equal(state_read(dir, "server.key", 1 << 16, &key, &klen), 0);
        assert_int_equal(certs_read_root(dir, &pem), 0);
        assert_int_equal(certs_import(dir, buf, key, pem, dns, ips, &e), 0);
        /* a name the SAN lacks */
        {
                static const char *const more[] = { "other.example", NULL };
                assert_int_equal(certs_import(dir, buf, key, pem, more, ips, &e), -EINVAL);
                assert_string_equal(e.field, "cert");
        }
        /* no chain, not in the system store */
        assert_int_equal(certs_import(dir, buf, key, NULL, dns, ips, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "chain does not verify"));
        assert_int_equal(certs_import(dir, "junk", key, pem, dns, ips, &e), -EINVAL);
        assert_string_equal(e.field, "cert");
        assert_int_equal(certs_import(dir, buf, "junk", pem, dns, ips, &e), -EINVAL);
        assert_string_equal(e.field, "key");
        free(buf);
        free(key);
        free(pem);
        /* no names at all */
        req.dns = NULL;
        req.ips = NULL;
        assert_int_equal(certs_create(dir, &req, &e), -EINVAL);
}

static int setup(void **s)
{
        (void)s;
        snprintf(tmpdir, sizeof tmpdir, "/tmp/netcfgd-unit.XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **s)
{
        char cmd[128];

        (void)s;
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_tables_selftest),  cmocka_unit_test(t_ports_conflicts),
                cmocka_unit_test(t_ports_event),      cmocka_unit_test(t_passphrase),
                cmocka_unit_test(t_secure_settings),  cmocka_unit_test(t_render), cmocka_unit_test(t_render_wireless),
                cmocka_unit_test(t_functions_shipped), cmocka_unit_test(t_functions_errors),
                cmocka_unit_test(t_functions_hooks),
                cmocka_unit_test(t_functions_state),  cmocka_unit_test(t_svcmgr_dev), cmocka_unit_test(t_svcmgr_table_only),
                cmocka_unit_test(t_svcmgr_gen_agrees),
                cmocka_unit_test(t_certs),            cmocka_unit_test(t_backup_age),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
