/* logd - tamper-evident security log store, queries, and remote syslog over TLS */
#include "logd_svc.h"

static const char *const logd_topics[] = { "log.storage.threshold", "logd.dropped", NULL };

int main(int argc, char **argv)
{
        static struct logd_ctx ctx;
        static const struct ds_service svc = {
                .name = "logd",
                .version = DEVSEC_VERSION,
                .methods = logd_methods,
                .settings = logd_settings,
                .audit = logd_audit,
                .topics = logd_topics,
                .config_auth = DS_AUTHZ_SECURITY,
                .init = logd_init,
                .start = logd_start,
                .stop = logd_stop,
                .apply = logd_apply,
                .status = logd_status,
        };

        return ds_daemon_main(argc, argv, &svc, &ctx);
}
