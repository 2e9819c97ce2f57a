/* now.c - the daemon's idea of the time: the real-time clock and, in a dry
 * run, the corrections the virtual clock took */
#include <time.h>

#include "timed.h"

int64_t timed_now_ns(const struct timed_ctx *t)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + t->corr_ns;
}
