/* cmd_anr.c - devctl anr: status, intervals, retry (service anr-d) */
#include "devctl.h"

#define ANR_SVC "anr-d"

static const struct devctl_cmd anr_cmds[] = {
        { .path = "anr status", .svc = ANR_SVC, .method = "anr.status", .list_key = "cameras", .usage = "",
          .help = "per camera: link, open outage, bytes to fetch, progress" },
        { .path = "anr intervals", .svc = ANR_SVC, .method = "anr.intervals", .list_key = "intervals",
          .pos = (const char *const[]){ "camera", NULL }, .min_pos = 1, .usage = "CAMERA",
          .help = "a camera's outage intervals: filled, partly filled (what the camera lacks too) or failed (why)" },
        { .path = "anr retry", .svc = ANR_SVC, .method = "anr.retry",
          .pos = (const char *const[]){ "camera", NULL }, .min_pos = 1, .usage = "CAMERA",
          .help = "fill a camera's failed and partly filled intervals again" },
        { NULL },
};
DEVCTL_COMMANDS(anr_cmds);
