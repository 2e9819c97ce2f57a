/* audit.c - GET /api/v1/audit?level=N: the device's audit through the bus
 * library's one aggregation (audit_sweep.h), the same verdicts as devctl
 * audit. Every call is made under the browser user's session: the session
 * must hold system-info, and each service checks its own audit.report. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "audit_sweep.h"
#include "json.h"
#include "webd.h"

#define AUDIT_CALL_MS 10000

struct webd_audit {
        struct webd_pending p; /* first: the request's pending call; p.q NULL once it is gone */
        struct webd_ctx *x;
        struct ds_sweep *s;
        char tok[BUS_TOKEN_MAX + 1];
        int level;
        int outstanding;
        bool over; /* answered (or the request died): the rest only counts down */
};

enum { A_WHOAMI, A_SERVICES, A_FUNCTIONS, A_REPORT };

struct audit_call {
        struct webd_audit *a;
        int what;
        size_t i;
};

static void audit_free(struct webd_audit *a)
{
        ds_sweep_free(a->s);
        sodium_memzero(a->tok, sizeof a->tok);
        free(a);
}

static void answer(struct webd_audit *a, unsigned status, char *body)
{
        struct webd_req *q = a->p.q;

        a->over = true;
        if (!q) {
                free(body);
                return;
        }
        q->pending = NULL;
        a->p.q = NULL;
        webd_api_finish(q, status, body);
}

static void answer_error(struct webd_audit *a, int code, const char *msg)
{
        struct ds_err e = {.code = code};

        snprintf(e.msg, sizeof e.msg, "%s", msg);
        answer(a, webd_http_status(code), webd_error_json(&e));
}

static void complete(struct webd_audit *a)
{
        struct ds_sweep_counts c;
        msgpack_unpacked u;
        const char *why;
        struct mpw w;

        ds_sweep_counts(a->s, &c);
        if (c.refused) {
                answer_error(a, c.refused, "a service refused its audit to this session");
                return;
        }
        mpw_init(&w);
        ds_sweep_write(a->s, &w);
        if (mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why) == 0) {
                answer(a, MHD_HTTP_OK, ds_json_dumps(&u.data));
                msgpack_unpacked_destroy(&u);
        } else {
                answer_error(a, -DS_EINTERNAL, "the audit could not be encoded");
        }
        mpw_free(&w);
}

static void on_reply(void *ud, const struct bus_reply *rep);

static void ask(struct webd_audit *a, int what, size_t i, const char *svc, const char *method, const struct mpw *args)
{
        struct audit_call *k = calloc(1, sizeof *k);

        if (k) {
                *k = (struct audit_call){.a = a, .what = what, .i = i};
                a->outstanding++;
                if (bus_call(a->x->gw, svc, method, args, a->tok, AUDIT_CALL_MS, on_reply, k) == 0)
                        return;
                a->outstanding--;
                free(k);
        }
        /* not sent: as if it had answered that the bus is not there */
        if (what == A_REPORT)
                ds_sweep_report(a->s, i, -DS_EUNAVAIL, "the bus is not reachable", NULL);
        else if (what != A_FUNCTIONS)
                answer_error(a, -DS_EUNAVAIL, "the bus is not reachable");
}

static bool has_authority(const msgpack_object *r, const char *name)
{
        const msgpack_object *l = mp_get(r, "authorities");

        for (uint32_t i = 0; l && l->type == MSGPACK_OBJECT_ARRAY && i < l->via.array.size; i++)
                if (mp_streq(&l->via.array.ptr[i], name))
                        return true;
        return false;
}

static void start_reports(struct webd_audit *a, const msgpack_object *services)
{
        size_t n = ds_sweep_services(a->s, services);
        struct mpw args;

        for (size_t i = 0; i < n && !a->over; i++)
                if (!strcmp(ds_sweep_name(a->s, i), "netcfgd") && ds_sweep_ask(a->s, i))
                        ask(a, A_FUNCTIONS, i, "netcfgd", "function.list", NULL);
        mpw_init(&args);
        mpw_map_begin(&args);
        mpw_kv_int(&args, "level", a->level);
        mpw_map_end(&args);
        for (size_t i = 0; i < n && !a->over; i++)
                if (ds_sweep_ask(a->s, i))
                        ask(a, A_REPORT, i, ds_sweep_name(a->s, i), "audit.report", &args);
        mpw_free(&args);
}

static void on_reply(void *ud, const struct bus_reply *rep)
{
        struct audit_call *k = ud;
        struct webd_audit *a = k->a;

        a->outstanding--;
        if (!a->p.q)
                a->over = true; /* the request is gone */
        if (!a->over) {
                switch (k->what) {
                case A_WHOAMI:
                        if (rep->code < 0)
                                answer(a, webd_http_status(rep->code), webd_error_json(&rep->err));
                        else if (!has_authority(rep->r, "system-info"))
                                answer_error(a, -EPERM, "the audit needs the system-info authority");
                        else
                                ask(a, A_SERVICES, 0, "bus", "bus.services", NULL);
                        break;
                case A_SERVICES:
                        if (rep->code < 0)
                                answer(a, webd_http_status(rep->code), webd_error_json(&rep->err));
                        else
                                start_reports(a, rep->r);
                        break;
                case A_FUNCTIONS:
                        ds_sweep_functions(a->s, rep->code == 0 ? rep->r : NULL);
                        break;
                case A_REPORT:
                        ds_sweep_report(a->s, k->i, rep->code, rep->code < 0 ? rep->err.msg : NULL,
                                        rep->code == 0 ? rep->r : NULL);
                        break;
                }
                if (!a->over && a->outstanding == 0)
                        complete(a);
        }
        free(k);
        if (a->over && a->outstanding == 0)
                audit_free(a);
}

enum MHD_Result webd_api_audit(struct webd_req *q, const char *tok, int level)
{
        struct webd_audit *a = calloc(1, sizeof *a);

        if (!a || !(a->s = ds_sweep_new(level))) {
                free(a);
                return webd_reply_error(q->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "EINTERNAL", NULL, "out of memory");
        }
        a->p.q = q;
        a->x = q->x;
        a->level = level;
        snprintf(a->tok, sizeof a->tok, "%s", tok);
        q->pending = &a->p;
        q->suspended = true;
        MHD_suspend_connection(q->conn);
        ask(a, A_WHOAMI, 0, "authd", "session.whoami", NULL);
        if (a->over && a->outstanding == 0) /* not even sent: answered already */
                audit_free(a);
        return MHD_YES;
}
