/* unanswered.c - the requests in flight that end without their service's
 * answer: the service went away or was disabled, or the deadline passed.
 * Each client is told (a subscriber's re-check ends its subscriptions):
 * never silence. */
#include "broker.h"

static void fail_one(struct busd *b, struct inflight *f, void *ud)
{
        const char *why = ud;

        if (f->kind == IF_FORWARD)
                wire_reply_err(b, f->client_rid, f->client_rid_len, f->client_id, f->client_id_len, -DS_EUNAVAIL, NULL,
                               "%s %s", f->svc, why);
        else if (f->kind == IF_SUB_RECHECK)
                pubsub_recheck_failed(b, f, why);
        else
                wire_reply_err(b, f->client_rid, f->client_rid_len, f->client_id, f->client_id_len, -DS_EUNAVAIL, NULL,
                               "authd %s: cannot check the session", why);
        inflight_release(b, f);
}

void unanswered_fail_of(struct busd *b, const char *svc, const char *why)
{
        inflight_sweep(b, svc, 0, fail_one, (void *)why);
}

static void time_out(struct busd *b, struct inflight *f, void *ud)
{
        (void)ud;
        b->st.timeouts++;
        if (f->kind == IF_SUB_RECHECK)
                pubsub_recheck_failed(b, f, "did not answer in time");
        else
                wire_reply_err(b, f->client_rid, f->client_rid_len, f->client_id, f->client_id_len, -ETIMEDOUT, NULL,
                               "%s did not answer in time", f->svc);
        inflight_release(b, f);
}

/* requests past their deadline get ETIMEDOUT, never silence */
void unanswered_on_tick(struct busd *b)
{
        inflight_sweep(b, NULL, ds_now_mono_ms(), time_out, NULL);
}
