/* svc_queue.c - the retry and purge methods of a daemon that delivers from a
 * persistent queue (common/queue.h): smtp-notifier's outbox, sftp-storage's
 * uploads. One set of argument checks, answers and audit records. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "queue.h"
#include "service.h"
#include "util.h"

const struct ds_field ds_queue_id_args[DS_QUEUE_N + 1] = {
        [DS_QUEUE_ID] = { "id", DS_STR, 0, .min_len = DSQ_ID_LEN, .max_len = DSQ_ID_LEN, .check = ds_check_name,
          .help = "one item; default all" },
        [DS_QUEUE_FAILED_ONLY] = { "failed_only", DS_BOOL, 0, .help = "purge: only the failed folder" },
        { NULL },
};

int ds_queue_retry(struct ds_call *c, dsq_t *q, const char *item, const char *place)
{
        char id[DSQ_ID_LEN + 1];
        int n;

        ds_tb_str(c, DS_QUEUE_ID, id, sizeof id);
        if (ds_tb_has(c, DS_QUEUE_FAILED_ONLY))
                return ds_call_fail(c, -EINVAL, "failed_only", "only for purge");
        n = dsq_retry(q, id[0] ? id : NULL, ds_now_real_ms());
        if (n == -ENOENT)
                return ds_call_fail(c, -ENOENT, "id", "no such %s in the %s", item, place);
        if (n < 0)
                return ds_call_fail(c, -DS_EINTERNAL, NULL, "retry: %s", strerror(-n));
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%d %s(s) in the %s retried by '%s'", n, item, place,
                  ds_call_actor(c));
        mpw_kv_int(c->r, "retried", n);
        return n;
}

int ds_queue_purge(struct ds_call *c, dsq_t *q, const char *item, const char *place)
{
        char id[DSQ_ID_LEN + 1];
        int n;

        ds_tb_str(c, DS_QUEUE_ID, id, sizeof id);
        n = dsq_purge(q, id[0] ? id : NULL, ds_tb_bool(c, DS_QUEUE_FAILED_ONLY, false));
        if (n == -ENOENT)
                return ds_call_fail(c, -ENOENT, "id", "no such %s in the %s (or it is in flight)", item, place);
        if (n < 0)
                return ds_call_fail(c, -DS_EINTERNAL, NULL, "purge: %s", strerror(-n));
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%d %s(s) purged from the %s by '%s'", n, item,
                  place, ds_call_actor(c));
        mpw_kv_int(c->r, "purged", n);
        return n;
}
