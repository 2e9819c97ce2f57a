/* methods.c - anr-d's settings, methods (anr.*) and audit items */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "anr.h"
#include "log.h"

static const char *const roles[] = { "camera", "nvr", NULL };

static const char *check_pubkey(const char *s, size_t n)
{
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];

        if (n == 0)
                return NULL;
        return anr_hex_decode(s, n, pk, sizeof pk) ? "64 hex digits (the camera's device.pub), or empty to pin at first contact"
                                                   : NULL;
}

static const char *check_after(const char *s, size_t n) { return n ? anr_segment_name_check(s, n) : NULL; }

static const struct ds_field camera_fields[] = {
        { "id", DS_STR, DS_REQUIRED, .max_len = ANR_CAM_MAX, .check = anr_camera_id_check,
          .help = "camera id: its anr-d serves as anr-d-<id> on the NVR's bus" },
        { "channel", DS_INT, 0, .min = 0, .max = 1024, .help = "the NVR channel it records on" },
        { "public_key", DS_STR, 0, .max_len = 64, .check = check_pubkey,
          .help = "the camera's Ed25519 device key (hex); empty: pinned at first contact" },
        { "max_rate_kbps", DS_INT, 0, .min = 0, .max = 10000000, .help = "retrieval cap for this camera, kbit/s (0: none)" },
        { NULL },
};

const struct ds_field anr_settings[] = {
        { "role", DS_STR, 0, .enums = roles, .def_str = "nvr", .help = "camera: index and serve; nvr: watch and fetch" },
        { "camera_id", DS_STR, 0, .max_len = ANR_CAM_MAX, .def_str = "", .help = "camera role: its id ([a-z0-9_-], <= 24)" },
        { "recordings_dir", DS_STR, 0, .max_len = 4000, .def_str = "",
          .help = "camera role: the directory of closed segments; empty: <state>/recordings" },
        { "nvr_identity", DS_STR, 0, .max_len = BUS_NAME_MAX, .check = ds_check_name, .def_str = "anr-d",
          .help = "camera role: the only bus identity served" },
        { "max_index_entries", DS_INT, 0, .min = 16, .max = 1000000, .def_int = 200000, .help = "camera role: index bound" },
        { "store_dir", DS_STR, 0, .max_len = 4000, .def_str = "", .help = "nvr role: where fetched segments go; empty: <state>/store" },
        { "cameras", DS_ARRAY, 0, .max_len = ANR_MAX_CAMERAS,
          .sub = &(const struct ds_field){ "", DS_MAP, .sub = camera_fields }, .help = "nvr role: the cameras" },
        { "pre_record_s", DS_INT, 0, .min = 0, .max = 600, .def_int = 5, .help = "the interval is widened by this on each side" },
        { "merge_gap_s", DS_INT, 0, .min = 0, .max = 3600, .def_int = 30,
          .help = "a loss this soon after a return reopens the interval (flapping)" },
        { "max_skew_s", DS_INT, 0, .min = 0, .max = 86400, .def_int = 2, .help = "clock skew reported above this" },
        { "ping_ms", DS_INT, 0, .min = 200, .max = 60000, .def_int = 1000, .help = "how often each camera is pinged" },
        { "max_rate_kbps", DS_INT, 0, .min = 0, .max = 10000000, .def_int = 0, .help = "global retrieval cap, kbit/s (0: none)" },
        { "chunk_kib", DS_INT, 0, .min = 4, .max = 512, .def_int = 512, .help = "bytes per anr.read" },
        { "parallel", DS_INT, 0, .min = 1, .max = 16, .def_int = 1, .help = "cameras filled at a time" },
        { NULL },
};

static const struct ds_field index_args[ANR_INDEX_N + 1] = {
        [ANR_INDEX_SINCE] = { "since", DS_INT, 0, .min = 0, .max = INT64_MAX / 2, .help = "epoch ms (camera clock)" },
        [ANR_INDEX_UNTIL] = { "until", DS_INT, 0, .min = 0, .max = INT64_MAX / 2, .help = "epoch ms (camera clock)" },
        [ANR_INDEX_AFTER] = { "after", DS_STR, 0, .max_len = ANR_NAME_MAX, .check = check_after, .help = "continue after this segment" },
        [ANR_INDEX_MAX] = { "max", DS_INT, 0, .min = 1, .max = ANR_INDEX_PAGE, .help = "entries in the answer" },
        { NULL },
};

static const struct ds_field read_args[ANR_READ_N + 1] = {
        [ANR_READ_SEGMENT] = { "segment", DS_STR, DS_REQUIRED, .max_len = ANR_NAME_MAX, .check = anr_segment_name_check,
          .help = "a name from the index: no path" },
        [ANR_READ_OFFSET] = { "offset", DS_INT, DS_REQUIRED, .min = 0, .max = (int64_t)1 << 50 },
        [ANR_READ_LENGTH] = { "length", DS_INT, DS_REQUIRED, .min = 1, .max = ANR_READ_MAX, .help = "at most 512 KiB" },
        { NULL },
};

static const struct ds_field camera_args[ANR_CAMERA_N + 1] = {
        [ANR_CAMERA_CAMERA] = { "camera", DS_STR, DS_REQUIRED, .max_len = ANR_CAM_MAX, .check = anr_camera_id_check },
        { NULL },
};

const struct ds_method anr_methods[] = {
        DS_METHOD("anr.status", NULL, h_anr_status, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("anr.intervals", camera_args, h_anr_intervals, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("anr.retry", camera_args, h_anr_retry, AUTH_NEEDS(STORAGE)),
        /* camera role: the NVR's anr-d only (bus ACL and the camera's own check) */
        DS_METHOD("anr.index", index_args, h_anr_index, AUTH_SERVICE),
        DS_METHOD("anr.read", read_args, h_anr_read, AUTH_SERVICE),
        DS_METHOD("anr.key", NULL, h_anr_key, AUTH_SERVICE),
        { NULL },
};

static enum ds_audit_result check_enabled(void *ctx, char *detail, size_t size)
{
        struct anr_ctx *x = ctx;
        char down[200] = "";
        size_t n = 0;

        if (x->camera_role) {
                snprintf(detail, size, "camera role: the NVR's item");
                return DS_AUDIT_NA;
        }
        if (!x->n_cams) {
                snprintf(detail, size, "ANR on, but no cameras configured");
                return DS_AUDIT_FAIL;
        }
        for (unsigned i = 0; i < x->n_cams; i++)
                if (!x->cams[i].up && n < sizeof down - 30)
                        n += (size_t)snprintf(down + n, sizeof down - n, "%s'%s'", n ? ", " : "", x->cams[i].id);
        if (n) {
                snprintf(detail, size, "ANR on; not reachable: %s", down);
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "ANR on, %u camera(s) reachable", x->n_cams);
        return DS_AUDIT_PASS;
}

const struct ds_audit_item anr_audit[] = {
        { .id = "anr.enabled", .runtime = true, .level = 2, .title = "automatic network resume on, every camera reachable (NVR)",
          .remediation = "devctl function enable anr; give each camera's anr-d the NVR's bus (docs/anr.md)",
          .check = check_enabled },
        { NULL },
};
