/* clock.h - timed-clock: the only process that sets the clock (CAP_SYS_TIME, no network) */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "service.h"

#define NSEC_PER_SEC 1000000000LL

/* Bounds the clock process checks itself, whatever the engine asks. */
struct clock_bounds {
        int64_t max_step_ns;     /* |delta| of a step, unless the clock is below the floor */
        int64_t max_backward_ns; /* a larger backwards step needs backward=true */
        int64_t max_adjust_ns;   /* |delta| of a slew */
        int64_t floor_ns;        /* no step to before this; a clock below it is "unset" */
        int64_t ceil_ns;         /* no step to after this */
};

/* Checks a step from now_ns to target_ns. 0, or -EINVAL with *ret_field and
 * *ret_why saying which bound refused it. */
int clock_check_step(const struct clock_bounds *b, int64_t now_ns, int64_t target_ns, bool backward_ok,
                     const char **ret_field, const char **ret_why);
/* Checks a slew of delta_ns. */
int clock_check_adjust(const struct clock_bounds *b, int64_t delta_ns, const char **ret_why);

/* The clock as this process sees it: the host's, or (dry run) the host's plus
 * a virtual offset that records every change and never touches the host. */
struct clock_backend {
        bool dry_run;
        int64_t virt_offset_ns; /* dry run: sum of the corrections applied */
        uint64_t steps, adjusts, refused;
        int64_t last_delta_ns;
        char last_op[8];
};

int64_t clock_now_ns(const struct clock_backend *cb);
/* Steps to target_ns (the host clock via clock_settime, or the virtual one). */
int clock_step(struct clock_backend *cb, int64_t target_ns);
/* Slews by delta_ns (adjtimex ADJ_OFFSET_SINGLESHOT, or the virtual clock at once). */
int clock_adjust(struct clock_backend *cb, int64_t delta_ns);

struct clockd_ctx {
        struct ds_daemon *d;
        struct clock_backend be;
        struct clock_bounds bounds;
        char engine[BUS_NAME_MAX + 1];
};

/* methods.c: the tables; main.c holds the service and its hooks */
extern const struct ds_method clockd_methods[];
extern const struct ds_field clockd_settings[];
extern const struct ds_audit_item clockd_audit[];
/* Applies settings from d->settings into ctx (shared by start-up, SIGHUP, config.set). */
