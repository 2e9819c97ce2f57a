/* timed - the NTP engine: no capabilities; the clock is set by timed-clock over the bus */
#include "timed.h"

int main(int argc, char **argv)
{
        static struct timed_ctx ctx;

        return ds_daemon_main(argc, argv, &timed_service, &ctx);
}
