/* netcfgd - ports, function minimization, HTTPS certificates, secure network settings */
#include "netcfgd.h"

int main(int argc, char **argv)
{
        static struct netcfgd_ctx ctx;

        return ds_daemon_main(argc, argv, &netcfgd_service, &ctx);
}
