/* audit_map.c - the one mapping of audit items to the Dahua Product Security
 * Hardening Guide V2.0.0 (Table 2-1: level, section, row), ETSI EN 303 645
 * provisions and IEC 62443-4-2 requirements; docs/audit.md renders it, and
 * `devctl audit --mapping` prints it. The guide's operator items (what no
 * device can check) are here too, with the guide's advice. */
#include <stddef.h>

#include "audit_sweep.h"

#define OP(id_, lvl, sec, row, title_, advice_)                                                             \
        { .id = id_, .dahua_level = lvl, .section = sec, .guide_item = row, .title = title_, .advice = advice_ }

const struct ds_audit_ref ds_audit_refs[] = {
        /* authd */
        { "auth.initialised", 1, "2.2.1", "Factory default setting", "5.1-1", "CR 1.5" },
        { "auth.password-policy", 1, "2.2.2", "Password management", "5.1-1", "CR 1.7" },
        { "auth.hash-cost", 0, NULL, NULL, "5.4-1", "CR 1.5" },
        { "auth.reset-mail", 1, "2.2.3", "Set reset password info", "5.1-4", "CR 1.5" },
        { "auth.lockout", 1, "2.2.7", "Set account lock", "5.1-5", "CR 1.11" },
        { "auth.anonymous", 1, "2.2.6", "Disable anonymity login", "5.6-2", "CR 1.1" },
        { "auth.online-users", 1, "2.2.9", "Check online users", NULL, "CR 2.6" },
        { "auth.hierarchy", 2, "2.3.2", "Hierarchical account management", NULL, "CR 2.1" },
        { "auth.sessions", 2, "2.3.6", "Limit the max. number of logins", NULL, "CR 2.7" },
        { "auth.idle", 2, "2.2.9", NULL, NULL, "CR 2.5" },
        { "auth.profile", 3, "2.2.2", NULL, NULL, "CR 1.7" },
        { "auth.password-age", 3, "2.2.2", NULL, NULL, "CR 1.5" },
        /* netcfgd */
        { "net.functions.1", 1, "2.2.6", "Disable unnecessary function", "5.6-1", "CR 7.7" },
        { "net.functions.2", 2, "2.2.6", NULL, "5.6-1", "CR 7.7" },
        { "net.functions.3", 3, "2.2.6", NULL, "5.6-1", "CR 7.7" },
        { "net.https.enabled", 1, "2.3.3", "Enable HTTPS service", "5.5-1", "CR 4.1" },
        { "net.https.redirect", 2, "2.3.3", NULL, "5.5-1", "CR 3.1" },
        { "net.tls13", 3, "2.3.3", NULL, "5.5-1", "CR 4.3" },
        { "net.ports.custom", 2, "2.3.1", "Port management", "5.6-2", "CR 7.6" },
        { "net.snmp.v3only", 2, "3.2", "Safe config SNMP", "5.5-1", "CR 4.1" },
        /* webd, exposured, filterd */
        { "net.https", 1, "2.3.3", NULL, "5.5-1", "CR 4.1" },
        { "webd.per-source", 0, NULL, NULL, "5.6-2", "CR 7.1" },
        { "net.listen", 0, NULL, NULL, "5.6-1", "CR 7.7" },
        { "net.exposure.upnp", 1, "2.2.6", NULL, "5.6-2", "CR 7.7" },
        { "filter.enabled", 2, "2.3.5", "Configure black and white list", "5.6-2", "CR 5.1" },
        { "filter.enforced", 2, "2.3.5", NULL, "5.6-2", "CR 5.1" },
        /* timed, timed-clock */
        { "timed.ntp", 1, "2.2.5", "System time calibration", NULL, "CR 2.11" },
        { "timed.servers", 1, "2.2.5", NULL, NULL, "CR 2.11" },
        { "timed.minsources", 1, "2.2.5", NULL, NULL, "CR 2.11" },
        { "timed.nts", 1, "2.2.5", NULL, "5.5-1", "CR 2.11" },
        { "timed-clock.engine", 1, "2.2.5", NULL, NULL, "CR 2.11" },
        { "timed-clock.max-step", 1, "2.2.5", NULL, NULL, "CR 2.11" },
        /* upgrade-d: the device checks for (online upgrade) and installs only signed firmware */
        { "upgrade.online", 1, "2.2.4", "Online upgrade", "5.3-2", "CR 3.10" },
        { "upgrade.latest", 1, "2.2.4", "Use latest firmware", "5.3-8", "CR 3.10" },
        { "upgrade.signed", 1, "2.2.4", NULL, "5.3-9", "CR 3.4" },
        /* logd */
        { "logd.store", 1, "2.2.8", "Check log", "5.10-1", "CR 6.1" },
        { "logd.seal.exported", 0, NULL, NULL, NULL, "CR 3.9" },
        { "logd.remote.enabled", 3, "2.4.1", "Network log", NULL, "CR 2.9" },
        { "logd.remote.tls", 3, "2.4.1", NULL, "5.5-1", "CR 4.1" },
        { "logd.remote.pinned", 3, "2.4.1", NULL, "5.5-1", "CR 3.1" },
        /* smtp-notifier, sftp-storage, anr-d: functions of Table 2-2, off at the factory */
        { "smtp.tls", 0, "2.2.6", NULL, "5.5-1", "CR 4.1" },
        { "smtp.auth", 0, "2.2.6", NULL, NULL, "CR 1.2" },
        { "storage.sftp", 0, "2.2.6", NULL, "5.5-1", "CR 4.1" },
        { "storage.hostkey", 0, "2.2.6", NULL, "5.5-1", "CR 1.2" },
        { "storage.exclusive", 0, NULL, NULL, NULL, "CR 2.1" },
        { "anr.enabled", 0, NULL, NULL, "5.9-1", "CR 7.4" },
        /* netcfgd: A/V encryption hook, Wi-Fi AP, the last backup, 802.1X */
        { "net.av-encryption", 1, "2.3.4", "Audio and video transmission encryption", "5.5-1", "CR 4.1" },
        { "net.wifi.ap", 1, "3.3", "AP hot spot safe application", "5.5-1", "CR 1.6" },
        { "net.backup.recent", 2, "2.3.7", "Backup config data", NULL, "CR 7.3" },
        { "net.dot1x", 3, "2.4.2", "Enable 802.1x", NULL, "CR 1.2" },
        /* the operator's part */
        OP("client.latest", 1, "2.2.4", "Use latest version of client", "clients are of their latest version",
           "Use the latest version of the client software (web plugin, desktop and mobile clients) so that it gets "
           "the newest functions and security fixes."),
        OP("storage.raid", 2, NULL, "Enable RAID backup storage", "recordings are on RAID storage",
           "Enable RAID backup storage for the recordings, so that one failed disk loses no video."),
        OP("device.anti-theft", 3, "2.4.4", "Device anti-theft", "the device is protected against theft",
           "Install the device where it cannot be reached or removed without tools, and make the installation "
           "anti-theft."),
        OP("device.anti-damage", 3, "2.4.4", "Device anti-damage", "the device is protected against damage",
           "Protect the device and its cables against damage: vandal-proof housing, cables in conduit."),
        OP("device.anti-thunder", 3, "2.4.4", "Device anti-thunder", "the device is protected against lightning",
           "Protect the device against lightning: surge protection on power and network, proper grounding."),
        { NULL },
};
