/* methods.c - busd's own methods (bus.*) as an ordinary method table, run by
 * the dispatcher under the caller busd knows from the connection; the
 * persisted disabled set */
#include "broker.h"

/* The methods' arguments, by their index in the tables below. */
enum { SERVICE_SERVICE };

/* Services that are never disabled, whoever asks: busd itself, and authd,
 * without which no operator session can be checked. */
static const char *const never_disabled[] = {BUS_SERVICE_SELF, "busd", "authd", NULL};

static bool may_not_disable(const char *name)
{
        for (size_t i = 0; never_disabled[i]; i++)
                if (!strcmp(never_disabled[i], name))
                        return true;
        return false;
}

static void save_disabled(struct busd *b)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_arr_begin(&w);
        for (void *v = zhash_first(b->disabled); v; v = zhash_next(b->disabled))
                mpw_str(&w, zhash_cursor(b->disabled));
        mpw_arr_end(&w);
        r = state_write(b->statedir, "disabled.mp", mpw_data(&w), mpw_len(&w), 0600);
        if (r < 0)
                log_errno(r, "cannot save the disabled set in '%s': %m", b->statedir);
        mpw_free(&w);
}

void methods_load_disabled(struct busd *b)
{
        msgpack_unpacked u;
        const char *why;
        char *buf;
        size_t len;

        if (state_read(b->statedir, "disabled.mp", 1 << 16, &buf, &len) < 0)
                return;
        if (mp_decode(buf, len, NULL, &u, &why) == 0) {
                if (u.data.type == MSGPACK_OBJECT_ARRAY)
                        for (uint32_t i = 0; i < u.data.via.array.size; i++) {
                                char n[BUS_NAME_MAX + 1];
                                if (mp_strcpy(&u.data.via.array.ptr[i], n, sizeof n) < 0)
                                        continue;
                                if (may_not_disable(n))
                                        log_warn("'%s' was saved as disabled; it cannot be, ignored", n);
                                else
                                        zhash_insert(b->disabled, n, "1");
                        }
                msgpack_unpacked_destroy(&u);
        }
        free(buf);
}

/* Known services: those the ACL lets some identity serve, and those registered. */
static void collect_name(void *ud, const char *name)
{
        zlist_t *l = ud;

        for (char *n = zlist_first(l); n; n = zlist_next(l))
                if (!strcmp(n, name))
                        return;
        zlist_append(l, (char *)name); /* autofree: the list copies it */
}

static void write_service_row(struct busd *b, struct mpw *w, const char *name)
{
        struct service *s = zhash_lookup(b->services, name);
        bool dis = zhash_lookup(b->disabled, name) != NULL;

        mpw_map_begin(w);
        mpw_kv_str(w, "name", name);
        mpw_kv_str(w, "state", dis ? "disabled" : s ? "running" : "down");
        mpw_kv_str(w, "version", s ? s->version : "");
        mpw_kv_int(w, "pid", s ? s->pid : 0);
        mpw_kv_int(w, "uptime_s", s ? (ds_now_mono_ms() - s->since_ms) / 1000 : 0);
        mpw_kv_str(w, "identity", s && s->peer ? s->peer->id : "");
        mpw_map_end(w);
}

static int h_bus_services(void *ctx, struct ds_call *c)
{
        struct busd *b = ctx;
        struct mpw *r = c->r;
        zlist_t *names = zlist_new();

        if (!names)
                return -ENOMEM;
        zlist_autofree(names);
        bus_acl_each_service(b->acl, collect_name, names);
        for (void *v = zhash_first(b->services); v; v = zhash_next(b->services))
                collect_name(names, zhash_cursor(b->services));
        zlist_sort(names, NULL);
        mpw_str(r, "services");
        mpw_arr_begin(r);
        mpw_map_begin(r);
        mpw_kv_str(r, "name", "busd");
        mpw_kv_str(r, "state", "running");
        mpw_kv_str(r, "version", BUSD_VERSION);
        mpw_kv_int(r, "pid", getpid());
        mpw_kv_int(r, "uptime_s", (ds_now_mono_ms() - b->started_ms) / 1000);
        mpw_kv_str(r, "identity", "busd");
        mpw_map_end(r);
        for (char *k = zlist_first(names); k; k = zlist_next(names))
                write_service_row(b, r, k);
        zlist_destroy(&names);
        mpw_arr_end(r);
        return 0;
}

/* The function table is netcfgd's: no other daemon, whatever its ACL says. */
#define BUS_FUNCTION_OWNER "netcfgd"

static int set_disabled(struct busd *b, struct ds_call *c, bool dis)
{
        char name[BUS_NAME_MAX + 1];

        if (strcmp(c->caller.id, BUS_FUNCTION_OWNER)) {
                b->st.refused++;
                log_audit("security", LOG_LVL_WARNING, c->caller.id, "bus: '%s' refused %s: only '%s' may call it",
                          c->caller.id[0] ? c->caller.id : "?", c->m->name, BUS_FUNCTION_OWNER);
                return ds_call_fail(c, -EPERM, NULL, "identity '%s' may not call %s: only %s may", c->caller.id,
                                    c->m->name, BUS_FUNCTION_OWNER);
        }
        ds_tb_str(c, SERVICE_SERVICE, name, sizeof name);
        if (dis && may_not_disable(name))
                return ds_call_fail(c, -EPERM, NULL, "'%s' cannot be disabled: the bus needs it to %s", name,
                                    strcmp(name, "authd") ? "run" : "check operator sessions");
        if (dis)
                zhash_insert(b->disabled, name, "1");
        else
                zhash_delete(b->disabled, name);
        save_disabled(b);
        if (dis)
                unanswered_fail_of(b, name, "was disabled");
        log_audit("operation", LOG_LVL_NOTICE, NULL, "bus: service '%s' %s", name, dis ? "disabled" : "enabled");
        mpw_kv_str(c->r, "service", name);
        mpw_kv_bool(c->r, "disabled", dis);
        return 0;
}

static int h_bus_disable(void *ctx, struct ds_call *c)
{
        return set_disabled(ctx, c, true);
}

static int h_bus_enable(void *ctx, struct ds_call *c)
{
        return set_disabled(ctx, c, false);
}

static int h_bus_stats(void *ctx, struct ds_call *c)
{
        struct busd *b = ctx;
        struct mpw *r = c->r;

        mpw_kv_uint(r, "requests", b->st.requests);
        mpw_kv_uint(r, "replies", b->st.replies);
        mpw_kv_uint(r, "events_in", b->st.events_in);
        mpw_kv_uint(r, "events_out", b->st.events_out);
        mpw_kv_uint(r, "events_dropped", b->st.events_dropped);
        mpw_kv_uint(r, "batches_in", b->st.batches_in);
        mpw_kv_uint(r, "batches_out", b->st.batches_out);
        mpw_str(r, "dropped"); /* events_dropped by reason */
        mpw_map_begin(r);
        mpw_kv_uint(r, "slow_subscriber", b->st.dropped_slow);
        mpw_kv_uint(r, "queue_full", b->st.dropped_full);
        mpw_kv_uint(r, "session_check", b->st.dropped_check);
        mpw_map_end(r);
        mpw_kv_uint(r, "sub_queue_max", b->sub_queue_max);
        mpw_kv_uint(r, "subs_refused", b->st.subs_refused);
        mpw_kv_uint(r, "subs_ended", b->st.subs_ended);
        mpw_kv_uint(r, "malformed", b->st.malformed);
        mpw_kv_uint(r, "refused", b->st.refused);
        mpw_kv_uint(r, "timeouts", b->st.timeouts);
        mpw_kv_uint(r, "unroutable", b->st.unroutable);
        mpw_kv_uint(r, "session_checks", b->st.session_checks);
        mpw_kv_uint(r, "session_checks_redone", b->st.session_checks_redone);
        mpw_kv_uint(r, "log_dropped", b->st.log_dropped);
        mpw_kv_uint(r, "peers", zhash_size(b->peers));
        mpw_kv_uint(r, "services", zhash_size(b->services));
        mpw_kv_uint(r, "inflight", b->inflight.count);
        mpw_kv_uint(r, "sessions_cached", zhash_size(b->sessions));
        mpw_kv_uint(r, "keys", bus_keys_count(b->keys));
        return 0;
}

static int h_sys_ping(void *ctx, struct ds_call *c)
{
        struct busd *b = ctx;

        mpw_kv_str(c->r, "service", "busd");
        mpw_kv_str(c->r, "version", BUSD_VERSION);
        mpw_kv_int(c->r, "pid", getpid());
        mpw_kv_int(c->r, "uptime_s", (ds_now_mono_ms() - b->started_ms) / 1000);
        mpw_kv_str(c->r, "state", "running");
        return 0;
}

static const struct ds_field service_args[] = {
        [SERVICE_SERVICE] = {"service", DS_STR, DS_REQUIRED, .max_len = BUS_NAME_MAX, .check = ds_check_name},
        {NULL},
};

const struct ds_method busd_methods[] = {
        DS_METHOD("sys.ping", NULL, h_sys_ping, AUTH_PUBLIC),
        DS_METHOD("bus.services", NULL, h_bus_services, AUTH_PUBLIC),
        DS_METHOD("bus.stats", NULL, h_bus_stats, AUTH_PUBLIC),
        DS_METHOD("bus.disable", service_args, h_bus_disable, AUTH_SERVICE),
        DS_METHOD("bus.enable", service_args, h_bus_enable, AUTH_SERVICE),
        {NULL},
};

static int send_to_peer(void *ud, const void *data, size_t len)
{
        struct peer_ref *pr = ud;

        return wire_send(pr->b, pr->p->rid, pr->p->rid_len, data, len);
}

/* bus.*: busd's own table through the ordinary dispatcher, under the caller
 * busd knows from the connection. A stamp the client wrote ("c") is never
 * read: only the connection's identity and class count. */
void methods_handle(struct busd *b, struct peer *from, struct req *q)
{
        static const struct ds_method *const tables[] = {busd_methods, NULL};
        struct peer_ref pr = {b, from};
        const struct ds_dispatch dp = {
                .name = BUS_SERVICE_SELF, .tables = tables, .ctx = b, .send = send_to_peer, .send_ud = &pr};
        struct ds_caller caller = {.svc = !from->operator, .gateway = from->gateway };
        int code;

        snprintf(caller.id, sizeof caller.id, "%s", from->id);
        code = ds_dispatch(&dp, q->msg, &caller);
        if (code == -EPERM && from->operator) /* a daemons-only method */
                b->st.refused++;
}
