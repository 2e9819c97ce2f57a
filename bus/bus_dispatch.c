/* bus_dispatch.c - runs method tables: lookup, authority, schema, handler, reply */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus_internal.h"
#include "log.h"
#include "util.h"

int ds_call_fail(struct ds_call *c, int code, const char *field, const char *fmt, ...)
{
        va_list ap;

        c->err.code = code;
        c->err.field[0] = '\0';
        if (field)
                snprintf(c->err.field, sizeof c->err.field, "%s", field);
        if (fmt) {
                va_start(ap, fmt);
                vsnprintf(c->err.msg, sizeof c->err.msg, fmt, ap);
                va_end(ap);
        } else {
                snprintf(c->err.msg, sizeof c->err.msg, "%s", ds_err_default_msg(code));
        }
        return code;
}

const char *ds_call_actor(const struct ds_call *c)
{
        return c->caller.user[0] ? c->caller.user : c->caller.id;
}

int ds_call_bind(struct ds_call *c, const msgpack_object *args)
{
        c->args = args;
        return ds_validate_bind(c->m->args, args, c->tb, DS_ARGS_MAX, &c->err);
}

const msgpack_object *ds_tb(const struct ds_call *c, unsigned i)
{
        assert(i < DS_ARGS_MAX && (c->m->args_n == 0 || i + 1 < c->m->args_n));
        return i < DS_ARGS_MAX ? c->tb[i] : NULL;
}

bool ds_tb_has(const struct ds_call *c, unsigned i)
{
        return ds_tb(c, i) != NULL;
}

int64_t ds_tb_int(const struct ds_call *c, unsigned i, int64_t def)
{
        int64_t v;

        return mp_to_int64(ds_tb(c, i), &v) == 0 ? v : def;
}

bool ds_tb_bool(const struct ds_call *c, unsigned i, bool def)
{
        bool v;

        return mp_to_bool(ds_tb(c, i), &v) == 0 ? v : def;
}

char *ds_tb_strdup(const struct ds_call *c, unsigned i)
{
        return mp_strdup(ds_tb(c, i));
}

int ds_tb_str(const struct ds_call *c, unsigned i, char *buf, size_t size)
{
        const msgpack_object *o = ds_tb(c, i);

        if (!o) {
                if (size)
                        buf[0] = '\0';
                return 0;
        }
        return mp_strcpy(o, buf, size);
}

bool ds_caller_allowed(const struct ds_caller *c, const char *auth)
{
        uint32_t need;

        if (!strcmp(auth, AUTH_PUBLIC))
                return true;
        if (!strcmp(auth, AUTH_SERVICE))
                return c->svc;
        if (c->svc) /* busd's ACL already decided what a daemon may call */
                return true;
        if (!c->user[0])
                return false;
        if (!strcmp(auth, AUTH_SESSION))
                return true;
        if (ds_authz_mask(auth, &need) < 0 || !need)
                return false;
        return (c->authz & need) == need; /* a set: every authority it names */
}

const struct ds_method *ds_methods_find(const struct ds_method *const *tables, const char *name, size_t len)
{
        for (size_t t = 0; tables[t]; t++)
                for (const struct ds_method *m = tables[t]; m->name; m++)
                        if (strlen(m->name) == len && memcmp(m->name, name, len) == 0)
                                return m;
        return NULL;
}

/* The args table is bound by index: an array of known size, no index left
 * out (it would end the table early), no more than c->tb holds. */
static int args_selftest(const struct ds_method *m, struct ds_err *e)
{
        size_t n = 0;

        if (!m->args)
                return 0;
        if (m->args_n == 0)
                return ds_err_set(e, -EINVAL, m->name, "argument table given as a pointer, not an array");
        while (n < m->args_n && m->args[n].name)
                n++;
        if (n + 1 != m->args_n)
                return ds_err_set(e, -EINVAL, m->name, "argument table has %zu fields before its end, %zu declared",
                                  n, m->args_n - 1);
        if (n > DS_ARGS_MAX)
                return ds_err_set(e, -EINVAL, m->name, "more than %d arguments", DS_ARGS_MAX);
        return 0;
}

int ds_methods_selftest(const struct ds_method *methods, struct ds_err *e)
{
        for (const struct ds_method *m = methods; m->name; m++) {
                const char *dot = strchr(m->name, '.');
                int r;

                if (!dot || dot == m->name || !dot[1] || strlen(m->name) > BUS_METHOD_MAX)
                        return ds_err_set(e, -EINVAL, m->name, "method names are object.verb");
                if (!m->fn)
                        return ds_err_set(e, -EINVAL, m->name, "no handler");
                if (!ds_authz_valid(m->auth))
                        return ds_err_set(e, -EINVAL, m->name, "unknown authority '%s'",
                                          m->auth ? m->auth : "(null)");
                for (const struct ds_method *n = methods; n != m; n++)
                        if (!strcmp(n->name, m->name))
                                return ds_err_set(e, -EINVAL, m->name, "duplicate method");
                r = ds_schema_selftest(m->args, e);
                if (r < 0)
                        return r;
                if ((r = args_selftest(m, e)) < 0)
                        return r;
        }
        return 0;
}

/* ---- requests ------------------------------------------------------------- */

/* A kept writer grown past this by one large reply is given back. */
#define DISPATCH_KEEP_MAX (64 << 10)

/* w: an initialised writer, empty; left holding the reply (the caller wipes
 * it: results may carry secrets meant for this caller only, a new token) */
static void send_reply(const struct ds_call *c, struct mpw *w, const char *id, size_t id_len, int code,
                       const struct mpw *r, const struct ds_err *err)
{
        if (code == 0)
                bus_enc_rep_ok(w, id, id_len, mpw_data(r), mpw_len(r));
        else
                bus_enc_rep_err(w, id, id_len, code, err ? err->msg : NULL, err ? err->field : NULL,
                                err ? err->reason : NULL);
        if (c->send)
                c->send(c->send_ud, mpw_data(w), mpw_len(w));
        else
                bus_send_raw(c->bus, mpw_data(w), mpw_len(w));
}

struct ds_call *ds_call_detach(struct ds_call *c)
{
        struct ds_call *d = calloc(1, sizeof *d);

        if (!d)
                return NULL;
        *d = *c;
        d->args = NULL;
        memset(d->tb, 0, sizeof d->tb);
        d->r = malloc(sizeof *d->r);
        d->req_id = malloc(c->req_id_len ? c->req_id_len : 1);
        if (!d->r || !d->req_id) {
                free(d->r);
                free(d->req_id);
                free(d);
                return NULL;
        }
        memcpy(d->req_id, c->req_id, c->req_id_len);
        mpw_move(d->r, c->r); /* the writer moves to the detached call */
        d->detached = true;
        c->detached = true;
        return d;
}

void ds_call_finish(struct ds_call **pc, int code)
{
        struct ds_call *c = *pc;

        if (!c)
                return;
        if (code == 0) {
                mpw_map_end(c->r);
                if (mpw_finish(c->r) < 0)
                        code = ds_call_fail(c, -DS_EINTERNAL, NULL, "result could not be encoded");
        } else if (!c->err.msg[0]) {
                ds_call_fail(c, code, NULL, NULL);
        }
        {
                struct mpw w;

                mpw_init(&w);
                send_reply(c, &w, c->req_id, c->req_id_len, code, c->r, &c->err);
                mpw_wipe(&w);
        }
        mpw_wipe(c->r); /* a deferred result is often the one with the secret (a login's token) */
        free(c->r);
        free(c->req_id);
        free(c);
        *pc = NULL;
}

int ds_dispatch(const struct ds_dispatch *dp, const struct bus_msg *q, const struct ds_caller *caller)
{
        const msgpack_object *idobj = q->id;
        struct ds_call c = { .bus = dp->bus, .ctx = dp->ctx, .daemon = dp->daemon, .send = dp->send,
                             .send_ud = dp->send_ud };
        struct ds_dispatch_bufs own, *kb = dp->bufs && !dp->bufs->busy ? dp->bufs : &own;
        struct mpw *idw, *r;
        int code;

        if (kb == &own)
                memset(&own, 0, sizeof own);
        kb->busy = true;
        idw = mpw_reuse(&kb->id, DISPATCH_KEEP_MAX, false);
        r = mpw_reuse(&kb->r, DISPATCH_KEEP_MAX, false);
        if (idobj)
                mpw_obj(idw, idobj);
        c.req_id = idobj ? (char *)mpw_data(idw) : NULL;
        c.req_id_len = idobj ? mpw_len(idw) : 0;
        c.r = r;
        c.caller = *caller;
        mpw_map_begin(r);
        if (!dp->tables) {
                code = ds_call_fail(&c, -DS_EUNAVAIL, NULL, "this process serves no methods");
                goto reply;
        }
        if (!(c.m = ds_methods_find(dp->tables, q->m, strlen(q->m)))) {
                code = ds_call_fail(&c, -ENOENT, "m", "%s has no such method", dp->name);
                goto reply;
        }
        if (!ds_caller_allowed(&c.caller, c.m->auth)) {
                bool known = c.caller.user[0] || c.caller.svc || !strcmp(c.m->auth, AUTH_SERVICE);

                log_audit("security", LOG_LVL_NOTICE, ds_call_actor(&c),
                          "refused %s.%s to '%s': needs authority '%s'", dp->name, c.m->name,
                          ds_call_actor(&c), c.m->auth);
                if (!strcmp(c.m->auth, AUTH_SERVICE))
                        code = ds_call_fail(&c, -EPERM, NULL, "%s.%s is for daemons only", dp->name, c.m->name);
                else
                        code = ds_call_fail(&c, known ? -EPERM : -DS_EAUTH, NULL,
                                            known ? "needs authority '%s'" : "login required (%s)", c.m->auth);
                goto reply;
        }
        code = ds_call_bind(&c, q->a);
        if (code < 0)
                goto reply;
        if ((c.m->flags & DS_M_READY) && dp->ready && (code = dp->ready(c.ctx, &c)) < 0)
                goto reply;
        code = c.m->fn(c.ctx, &c);
        if (code == DS_DEFER) {
                if (!c.detached)
                        code = ds_call_fail(&c, -DS_EINTERNAL, NULL, "handler deferred without detaching");
                else
                        goto out;
        }
reply:
        if (code > 0)
                code = -DS_EINTERNAL;
        if (code == 0) {
                mpw_map_end(r);
                if (mpw_finish(r) < 0)
                        code = ds_call_fail(&c, -DS_EINTERNAL, NULL, "result could not be encoded");
        } else if (!c.err.msg[0]) {
                ds_call_fail(&c, code, NULL, NULL);
        }
        if (c.req_id) {
                struct mpw *w = mpw_reuse(&kb->out, DISPATCH_KEEP_MAX, false);

                send_reply(&c, w, c.req_id, c.req_id_len, code, r, &c.err);
                mpw_reuse(w, DISPATCH_KEEP_MAX, true);
        }
out:
        /* a detached call took r's buffer (mpw_move): r is empty then */
        mpw_reuse(r, DISPATCH_KEEP_MAX, true);
        mpw_reuse(idw, DISPATCH_KEEP_MAX, false);
        if (kb == &own) {
                mpw_wipe(&own.id);
                mpw_wipe(&own.r);
                mpw_wipe(&own.out);
        }
        kb->busy = false;
        return code;
}

/* A request busd forwarded: its stamp is busd's, the only one a service sees. */
static void dispatch_request(bus_t *b, const struct bus_msg *q)
{
        const struct ds_dispatch dp = { .name = b->serve_name,
                                        .tables = (const struct ds_method *const *)b->serve_tables,
                                        .ctx = b->serve_ctx,
                                        .daemon = b->serve_daemon,
                                        .ready = b->serve_ready,
                                        .bus = b,
                                        .bufs = &b->dbufs };
        struct ds_caller caller;

        bus_dec_stamp(q->c, &caller);
        ds_dispatch(&dp, q, &caller);
}

int bus_serve(bus_t *b, const struct bus_serve_info *info)
{
        size_t n = 0;

        while (info->tables[n])
                n++;
        b->serve_tables = calloc(n + 1, sizeof *b->serve_tables);
        b->serve_name = strdup(info->name);
        b->serve_version = strdup(info->version);
        if (!b->serve_tables || !b->serve_name || !b->serve_version)
                return -ENOMEM;
        memcpy(b->serve_tables, info->tables, n * sizeof *b->serve_tables);
        b->serve_ctx = info->ctx;
        b->serve_daemon = info->daemon;
        b->serve_ready = info->ready;
        b->dispatch = dispatch_request;
        bus_hello(b);
        return 0;
}
