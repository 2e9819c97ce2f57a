/* upgrade.h - upgrade-d: signed bundles installed one component at a time,
 * behind a health gate, with automatic rollback and a journal that makes a
 * kill at any step safe. main.c wiring; methods.c the upgrade.* methods and
 * audit items; install.c the install state machine; restart.c the service
 * manager; rollback.c anti-rollback counters; bundle.c, manifest.c, cms.c,
 * create.c the bundle format. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "bundle.h"
#include "curl_loop.h"
#include "service.h"
#include "tuf.h"

#define UPG_COUNTERS "counters.json"
#define UPG_JOURNAL "journal.json"
#define UPG_HISTORY "history.json"
#define UPG_HISTORY_MAX 50
#define UPG_MARKER ".devsec-bundle" /* in a version dir: what signed it */
#define UPG_CURRENT "current"
#define UPG_PREVIOUS "previous"

/* --- rollback.c -------------------------------------------------------- */
struct upg_counter {
        char name[BUNDLE_NAME_MAX + 1];
        char version[BUNDLE_VERSION_MAX + 1];
        uint64_t security_version; /* the highest ever committed */
};
struct upg_counters {
        struct upg_counter *v;
        size_t n;
};
/* Missing file: empty. A damaged one: -EBADMSG (installs stop; never zeroed). */
int upg_counters_load(const char *dir, struct upg_counters *ret);
int upg_counters_save(const char *dir, const struct upg_counters *c);
void upg_counters_free(struct upg_counters *c);
struct upg_counter *upg_counter_find(struct upg_counters *c, const char *name);
/* Records a committed install; the security version never goes down. */
int upg_counters_commit(struct upg_counters *c, const char *name, const char *version, uint64_t sv);
/* May this component be installed over what is there? running_version (NULL:
 * unknown) stands in when no install was recorded yet. EINVAL field
 * security_version (rollback), EINVAL field version (downgrade without
 * allow_downgrade, or with a different security version), EEXIST (same). */
int upg_policy_check(struct upg_counters *c, const struct bundle_component *b, const char *running_version,
                     bool allow_downgrade, struct ds_err *e);

/* --- restart.c --------------------------------------------------------- */
struct upg_ctx;
/* Restarts one devsec service: in a build tree through the launcher
 * (<rundir>/svcmgr/NAME.restart), on a device through systemd's
 * RestartUnit on devsec-NAME.service, asynchronously (a refusal is told to
 * upg_restart_init's refused when systemd answers). */
int upg_restart(struct upg_ctx *x, const char *name);
/* The system bus on the loop, for systemd; refused(x, why) hears of a
 * restart systemd would not do. */
int upg_restart_init(struct upg_ctx *x, void (*refused)(struct upg_ctx *x, const char *why));
void upg_restart_fini(struct upg_ctx *x);
void upg_sdbus_process(struct upg_ctx *x);
/* Writes "rauc": {present, slots: {NAME: {state, bootname, ...}}} (nothing
 * asked with --dry-run). */
void upg_rauc_status(struct mpw *w, bool dry_run);

/* --- install.c --------------------------------------------------------- */
enum upg_step {
        UPG_IDLE = 0,
        UPG_PROBE,      /* asking the running service for its version and audit */
        UPG_SWITCHED,   /* new version unpacked, link switched, restart asked */
        UPG_GATE,       /* new version said hello: ping and audit */
        UPG_COMMITTING, /* gate passed: record, prune */
        UPG_ROLLBACK,   /* link back, restart, wait for the old one */
        UPG_VERIFY,     /* hashing the payload, on the loop in steps (not journaled) */
};

struct upg_job {
        enum upg_step step;
        char component[BUNDLE_NAME_MAX + 1];
        char version[BUNDLE_VERSION_MAX + 1];
        char old_version[BUNDLE_VERSION_MAX + 1]; /* running before: hello/ping */
        char old_target[BUNDLE_VERSION_MAX + 1];  /* the current link's target before, "" if none */
        uint64_t security_version;
        char file[4096];
        char actor[BUS_NAME_MAX + 1];
        char signer[256];
        bool allow_downgrade;
        char reason[256];        /* why it is being rolled back */
        char **baseline;         /* audit item ids that passed before */
        size_t n_baseline;
        int64_t deadline_ms;
        int64_t started_ms;
        bool hello, recovering, pinging;
        bool verify_only;        /* upgrade.verify: answer once hashed, install nothing */
        struct ds_call *call;    /* the install/rollback request, answered at the end */
        struct bundle *bundle;   /* while verifying and unpacking */
        struct bundle_cursor cur;
        int work;                /* 0, UPG_WORK_VERIFY or UPG_WORK_UNPACK: the cursor runs */
        char part[4300], vdir[4300];
};
#define UPG_WORK_VERIFY 1
#define UPG_WORK_UNPACK 2
#define UPG_STEP_BYTES (32u << 20) /* hashed per turn of the loop */

/* online.c: one check or one download at a time */
struct upg_online {
        struct ds_curl_loop curl;
        CURL *easy;
        int busy;                 /* what is being fetched, 0: nothing */
        struct tuf_trusted t;     /* while a check runs */
        char *buf;                /* a metadata file being fetched */
        size_t len;
        int fd;                   /* a download's .part file */
        char target[128];
        uint64_t got, total;
        bool resumed, clock_flag;
        bool auto_install;        /* this download was started by the check: install it */
        int64_t progress_ms;
        int64_t last_check_s, last_good_s; /* kept in online.json */
        /* the newest version the last good check found above what was installed then, "": none */
        char newer_comp[BUNDLE_NAME_MAX + 1], newer_ver[BUNDLE_VERSION_MAX + 1];
        char last_error[400];
        char actor[BUS_NAME_MAX + 1];
        struct ds_call *call;
};

struct upg_ctx {
        struct ds_daemon *d;
        char components_dir[4096];
        char trust_dir[4096];
        char svcmgr_dir[4096];
        bool systemd;
        struct sd_bus *sdbus;
        void (*restart_refused)(struct upg_ctx *x, const char *why); /* upg_restart_init's */
        int64_t health_timeout_ms;
        int audit_level;
        struct upg_counters counters;
        bool counters_bad;
        struct upg_job job;
        struct upg_online on;
        char online_url[2048];
        char online_ca[1024];
        bool online_check;
        bool online_auto_install;
        int64_t online_interval_s;
        int timer;
        int work_timer; /* -1: none */
        uint64_t installs, rollbacks;
};

int upg_install_start(struct upg_ctx *x, struct ds_call *c, const char *file, bool allow_downgrade);
/* upgrade.verify: the same checks, on the loop in steps; installs nothing. */
int upg_verify_start(struct upg_ctx *x, struct ds_call *c, const char *file);
int upg_rollback_start(struct upg_ctx *x, struct ds_call *c, const char *component);
/* systemd refused the restart a step asked for: that step fails (given to
 * upg_restart_init). */
void upg_restart_refused(struct upg_ctx *x, const char *why);
int upg_online_init(struct upg_ctx *x);
void upg_online_fini(struct upg_ctx *x);
/* c NULL: the scheduled check. DS_DEFER, or the failed call's code. */
int upg_online_check(struct upg_ctx *x, struct ds_call *c, const char *actor);
int upg_online_download(struct upg_ctx *x, struct ds_call *c, const char *target);
/* At start: finishes or rolls back what the journal says was under way. */
void upg_recover(struct upg_ctx *x);
void upg_on_event(void *ud, const char *topic, const char *src, int64_t ts_ms, const msgpack_object *data);
int upg_on_tick(zloop_t *loop, int timer_id, void *arg);
void upg_history_write(struct upg_ctx *x, struct mpw *w, int max);
/* Reads components_dir/NAME/<link>'s target ("" when none). */
int upg_link_get(struct upg_ctx *x, const char *name, const char *link, char *buf, size_t size);

extern const struct ds_method upg_methods[];
extern const struct ds_field upg_settings[];
extern const struct ds_audit_item upg_audit[];
