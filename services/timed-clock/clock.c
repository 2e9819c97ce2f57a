/* clock.c - the bounds of clock changes (pure) and the two backends */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "clock.h"
#include "log.h"

static int64_t abs64(int64_t v)
{
        return v < 0 ? -v : v;
}

int clock_check_step(const struct clock_bounds *b, int64_t now_ns, int64_t target_ns, bool backward_ok,
                     const char **ret_field, const char **ret_why)
{
        int64_t delta = target_ns - now_ns;

        *ret_field = "to_ns";
        if (target_ns < b->floor_ns) {
                *ret_why = "the target is before the clock floor (floor_s)";
                return -EINVAL;
        }
        if (target_ns > b->ceil_ns) {
                *ret_why = "the target is after the clock ceiling (ceil_s)";
                return -EINVAL;
        }
        *ret_field = "delta_ns";
        /* a clock below the floor was never set: any step up to the window is fine */
        if (now_ns >= b->floor_ns && abs64(delta) > b->max_step_ns) {
                *ret_why = "the step is larger than max_step_s";
                return -EINVAL;
        }
        if (delta < -b->max_backward_ns && !backward_ok) {
                *ret_field = "backward";
                *ret_why = "a backwards step beyond max_backward_ms needs backward=true";
                return -EINVAL;
        }
        return 0;
}

int clock_check_adjust(const struct clock_bounds *b, int64_t delta_ns, const char **ret_why)
{
        if (abs64(delta_ns) > b->max_adjust_ns) {
                *ret_why = "the slew is larger than max_adjust_ms";
                return -EINVAL;
        }
        return 0;
}

int64_t clock_now_ns(const struct clock_backend *cb)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec + (cb->dry_run ? cb->virt_offset_ns : 0);
}

static void record(struct clock_backend *cb, const char *op, int64_t delta)
{
        snprintf(cb->last_op, sizeof cb->last_op, "%s", op);
        cb->last_delta_ns = delta;
}

int clock_step(struct clock_backend *cb, int64_t target_ns)
{
        int64_t delta = target_ns - clock_now_ns(cb);
        struct timespec ts;

        if (cb->dry_run) {
                cb->virt_offset_ns += delta;
        } else {
                /* re-read right before setting: the check above may be microseconds old */
                clock_gettime(CLOCK_REALTIME, &ts);
                target_ns = (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec + delta;
                ts.tv_sec = (time_t)(target_ns / NSEC_PER_SEC);
                ts.tv_nsec = (long)(target_ns % NSEC_PER_SEC);
                if (clock_settime(CLOCK_REALTIME, &ts) < 0)
                        return log_errno(-errno, "clock_settime: %m");
        }
        cb->steps++;
        record(cb, "step", delta);
        return 0;
}

int clock_adjust(struct clock_backend *cb, int64_t delta_ns)
{
        if (cb->dry_run) {
                /* the virtual clock takes a slew at once: nothing waits on it */
                cb->virt_offset_ns += delta_ns;
        } else {
                struct timex tx = { .modes = ADJ_OFFSET_SINGLESHOT, .offset = (long)(delta_ns / 1000) };
                if (adjtimex(&tx) < 0)
                        return log_errno(-errno, "adjtimex: %m");
        }
        cb->adjusts++;
        record(cb, "slew", delta_ns);
        return 0;
}
