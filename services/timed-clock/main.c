/* timed-clock - sets the clock for timed: CAP_SYS_TIME only, no network */
#include "clock.h"

int main(int argc, char **argv)
{
        static struct clockd_ctx ctx;

        return ds_daemon_main(argc, argv, &clockd_service, &ctx);
}
