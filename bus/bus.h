/* bus.h - libdsbus: connect to busd, call, publish, subscribe, serve a method table */
#pragma once
#include <czmq.h>
#include <stdbool.h>

#include "authz.h"
#include "bus_proto.h"
#include "cfg.h"
#include "err.h"
#include "mp.h"
#include "paths.h"
#include "schema.h"

typedef struct bus bus_t;

/* ---- replies, events ---------------------------------------------------- */

struct bus_reply {
        int code;                /* 0, or -errno / -DS_E* */
        const msgpack_object *r; /* result map when code == 0 (borrowed from the reply) */
        struct ds_err err;       /* when code != 0 */
        msgpack_unpacked u;      /* the decoded message: its strings point into buf */
        char *buf;               /* owned copy of the received bytes */
        size_t buf_len;
        bool have_u;
};
void bus_reply_free(struct bus_reply *rep);

typedef void (*bus_reply_fn)(void *ud, const struct bus_reply *rep);
typedef void (*bus_event_fn)(void *ud, const char *topic, const char *src, int64_t ts_ms,
                             const msgpack_object *data);

/* ---- method tables ------------------------------------------------------ */

/* Who is calling, as stamped by busd from authentication. Never from the body. */
struct ds_caller {
        char id[BUS_NAME_MAX + 1];    /* process identity (bus key name) */
        char user[BUS_NAME_MAX + 1];  /* operator, "" for service callers and public calls */
        char group[BUS_NAME_MAX + 1];
        char source[64];              /* operator's source address when known */
        char sid[32];                 /* session id */
        uint32_t authz;               /* authority bits */
        bool svc;                     /* a daemon calling on its own account */
        bool gateway;                 /* relayed by a gateway (webd) that saw the network peer */
};

struct ds_call;
typedef int (*ds_handler_fn)(void *ctx, struct ds_call *c);

/* Returned by a handler that will answer later with ds_call_finish(). */
#define DS_DEFER 1

/* A precondition the dispatcher checks, after the authority and the schema and
 * before the handler, with the ready() the service registered (bus_serve_info):
 * authd's "the device is initialised". One check in one place, not a guard
 * repeated in every handler. */
typedef int (*ds_ready_fn)(void *ctx, struct ds_call *c);
#define DS_M_READY 0x1u

struct ds_method {
        const char *name;
        const struct ds_field *args;
        ds_handler_fn fn;
        const char *auth;
        unsigned flags; /* DS_M_* */
        size_t args_n;  /* entries of the args array, terminator included (0: NULL) */
};
/* A method's args table is an array of known size whose entries are named by
 * an enum beside it with designated initializers, so the handler's index and
 * the field cannot drift apart:
 *
 *     enum { USER_ADD_NAME, USER_ADD_GROUP };
 *     static const struct ds_field user_add_args[] = {
 *             [USER_ADD_NAME] = { "name", DS_STR, DS_REQUIRED },
 *             [USER_ADD_GROUP] = { "group", DS_STR, 0 },
 *             { NULL },
 *     };
 *
 * An index given twice does not compile (-Woverride-init); one left out ends
 * the table early, which ds_methods_selftest() finds from args_n. */
#define DS_ARGS_N(a) (sizeof(a) / sizeof(struct ds_field))
/* The authority is a required argument: a table entry without it does not compile. */
#define DS_METHOD(n, a, f, au) { .name = (n), .args = (a), .fn = (f), .auth = (au), .args_n = DS_ARGS_N(a) }
/* The same for a method that needs the service's ready() precondition. */
#define DS_METHOD_READY(n, a, f, au)                                                                         \
        { .name = (n), .args = (a), .fn = (f), .auth = (au), .flags = DS_M_READY, .args_n = DS_ARGS_N(a) }

struct ds_call {
        void *ctx;
        void *daemon; /* the struct ds_daemon serving this call, when any */
        const struct ds_method *m;
        const msgpack_object *args; /* validated map (borrowed; dies with the call) */
        const msgpack_object *tb[DS_ARGS_MAX]; /* tb[i]: the value of m->args[i], NULL when absent */
        struct ds_caller caller;
        struct mpw *r;              /* write the result here: a map is opened for you */
        struct ds_err err;
        /* private */
        bus_t *bus;
        char *req_id;
        size_t req_id_len;
        bool detached;
        int (*send)(void *ud, const void *data, size_t len); /* replies, when not through bus */
        void *send_ud;
};

/* Fails the call: returns code, to be returned by the handler. */
int ds_call_fail(struct ds_call *c, int code, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Who to name in audit records: the operator, else the process identity. */
const char *ds_call_actor(const struct ds_call *c);
/* Validates args against c->m->args and binds them into c->tb (what the
 * dispatcher does before the handler; tests that call a handler directly do
 * the same). 0 or -EINVAL with c->err naming the field. */
int ds_call_bind(struct ds_call *c, const msgpack_object *args);
/* Argument readers: i is the index of the field in the method's table (its
 * enum), bound by the validator, so nothing is searched again. */
const msgpack_object *ds_tb(const struct ds_call *c, unsigned i);
bool ds_tb_has(const struct ds_call *c, unsigned i);
int64_t ds_tb_int(const struct ds_call *c, unsigned i, int64_t def);
bool ds_tb_bool(const struct ds_call *c, unsigned i, bool def);
/* Copy of a string argument (caller owns; ds_free_secret() for secrets), NULL when absent. */
char *ds_tb_strdup(const struct ds_call *c, unsigned i);
/* Copy into buf; "" when absent; -E2BIG when it does not fit. */
int ds_tb_str(const struct ds_call *c, unsigned i, char *buf, size_t size);

/* Deferral: a handler calls ds_call_detach(), returns DS_DEFER, and answers
 * later with ds_call_finish(). The detached call owns its result writer; its
 * args are gone once the handler returns. */
struct ds_call *ds_call_detach(struct ds_call *c);
void ds_call_finish(struct ds_call **c, int code);

/* Runs one request through method tables: lookup (ENOENT), authority of the
 * caller given (EPERM/EAUTH, audited), schema (EINVAL naming the field),
 * handler, reply. The caller is the one passed in, never read from the
 * message: a service passes busd's stamp, busd the peer it authenticated.
 * Replies go to send(send_ud, ...) when set, else to bus. Returns the code
 * answered (DS_DEFER when the handler will answer later). */
struct bus_msg;
/* The writers a dispatcher keeps between requests (the id, the result, the
 * reply), so a request allocates nothing once they have grown; wiped after
 * each. busy while a request uses them: a request dispatched meanwhile (a
 * handler waiting in bus_call_sync) takes writers of its own. */
struct ds_dispatch_bufs {
        struct mpw id, r, out;
        bool busy;
};
struct ds_dispatch {
        const char *name; /* the service, for messages */
        const struct ds_method *const *tables;
        void *ctx;
        void *daemon;
        ds_ready_fn ready; /* for DS_M_READY methods; NULL: always ready */
        bus_t *bus;
        int (*send)(void *ud, const void *data, size_t len);
        void *send_ud;
        struct ds_dispatch_bufs *bufs; /* NULL: writers of the request's own */
};
int ds_dispatch(const struct ds_dispatch *dp, const struct bus_msg *q, const struct ds_caller *caller);

/* Method table checks: names, unique, authority valid, schemas sound. */
int ds_methods_selftest(const struct ds_method *methods, struct ds_err *e);
const struct ds_method *ds_methods_find(const struct ds_method *const *tables, const char *name, size_t len);
/* True when caller may invoke a method of authority auth. */
bool ds_caller_allowed(const struct ds_caller *c, const char *auth);

/* ---- connection ---------------------------------------------------------- */

/* Connects as identity with its key from <confdir>/bus/private/<identity>.key,
 * trusting busd's public key from <confdir>/bus/keys/busd.pub. NULL on error,
 * *ret_err says why (-ENOENT: key missing, -EACCES: key unreadable). */
bus_t *bus_new(const struct ds_paths *p, const char *identity, int *ret_err);
void bus_destroy(bus_t **b);
/* Answers every call still waiting, now, EUNAVAIL with msg (bus_destroy does
 * too): the daemon skeleton does it when its loop ends, before the service's
 * stop hook frees what those callbacks use. */
void bus_cancel_calls(bus_t *b, const char *msg);
const char *bus_identity(const bus_t *b);

/* Synchronous call, for tools and tests only (never inside a handler): waits
 * up to timeout_ms. args: an encoded map (NULL: no arguments). tok may be NULL.
 * ret must be released with bus_reply_free(). Returns ret->code. */
int bus_call_sync(bus_t *b, const char *svc, const char *method, const struct mpw *args,
                  const char *tok, int timeout_ms, struct bus_reply *ret);

/* Loop integration: registers the socket reader and heartbeat timers. */
int bus_attach(bus_t *b, zloop_t *loop);
/* Asynchronous call: cb runs from the loop with the reply, or with ETIMEDOUT /
 * EUNAVAIL. */
int bus_call(bus_t *b, const char *svc, const char *method, const struct mpw *args, const char *tok,
             int timeout_ms, bus_reply_fn cb, void *ud);
/* Publishes an event; data is an encoded map (NULL: empty). 0 when it is
 * taken (sent, or queued in a batch that will be), -EBUSY when the send queue
 * is full (try again), -DS_EUNAVAIL without a connection. Once busd has said
 * it takes batches, the events a loop iteration publishes go in one message,
 * sent when the iteration ends (or when 64 are queued, or before anything else
 * is sent); each is still checked and stamped by busd on its own. */
int bus_publish(bus_t *b, const char *topic, const struct mpw *data);
/* For a client without a loop: while held, events published may be queued in
 * batches as in a loop; releasing sends what is queued (bus_destroy() and any
 * other send do too): -EBUSY when the send queue is still full (call again).
 * While held and not yet told that busd takes batches, bus_publish() reads
 * what busd sent meanwhile (events go to their subscriptions from there). */
int bus_publish_hold(bus_t *b, bool hold);
/* Subscribes to topics starting with prefix ("" for all the ACL lets through). */
int bus_subscribe(bus_t *b, const char *prefix, bus_event_fn cb, void *ud);
/* Subscribes under an operator session (tok) and waits up to timeout_ms for
 * busd's answer: busd checks the session and the authority of every topic the
 * prefix could match. ret is filled like bus_call_sync() (release it with
 * bus_reply_free()); returns ret->code. On success the subscription (and the
 * token, to subscribe again after a busd restart) is kept. */
int bus_subscribe_session(bus_t *b, const char *prefix, const char *tok, bus_event_fn cb, void *ud, int timeout_ms,
                          struct bus_reply *ret);
/* For a connection without a loop (devctl listen): waits for one event. 0 on
 * event, -ETIMEDOUT, -EINTR, or -ECANCELED when busd ended a subscription
 * (bus_subscription_error() says why). Heartbeats and acks are sent as needed. */
int bus_wait_event(bus_t *b, int timeout_ms);
/* Why busd last ended or refused one of our subscriptions: its code (0: never),
 * and the error in *ret when not NULL. */
int bus_subscription_error(const bus_t *b, struct ds_err *ret);
/* Events busd dropped for this connection because it did not read them in time. */
uint64_t bus_events_lost(const bus_t *b);

/* Serving: method tables (NULL-terminated list of NULL-terminated tables). */
struct bus_serve_info {
        const char *name;
        const char *version;
        const struct ds_method *const *tables;
        const char *const *topics;
        void *ctx;
        void *daemon;
        ds_ready_fn ready; /* precondition of the DS_M_READY methods (may be NULL) */
};
int bus_serve(bus_t *b, const struct bus_serve_info *info);

/* Counters for status and tests. */
struct bus_stats {
        uint64_t reconnects, sent, received, dropped_replies, malformed;
};
void bus_get_stats(const bus_t *b, struct bus_stats *ret);
