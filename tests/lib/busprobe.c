/* busprobe - speaks raw ZeroMQ+CURVE to busd as a given identity, to send what
 * no library client would: malformed envelopes, forged stamps, floods.
 *
 *   busprobe malformed N      N hostile messages; counts answers; exit 0 when
 *                             every message that carried an id was answered
 *   busprobe forge            a request with a forged caller stamp in the envelope
 *   busprobe hold FILE        one call, then waits for FILE to exist and calls again
 *                             on the same connection: prints "call N: ok|failed"
 *   busprobe hello2 A B       hello as service A, then as B on the same connection;
 *                             prints busd's answer to the second; exit 0 when refused
 *   busprobe idle TOK PREFIX  subscribes under session TOK, prints busd's answer,
 *                             then only heartbeats: never reads an event (a stuck
 *                             subscriber; its receive queue is kept small)
 *   busprobe flood N SIZE TOPIC  publishes N events of SIZE bytes each
 *   busprobe call SVC METHOD [ID [ARG=VAL]]  one request; with ID it carries a
 *                             forged stamp c {id: ID, svc: true}; prints "ok" or
 *                             "CODE: msg"; exit 0 on ok, 1 on an error answer
 */
#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus_proto.h"
#include "mp.h"
#include "paths.h"
#include "util.h"

static void *sock;
static int rcvhwm; /* 0: the default; -1: a flood (linger to deliver) */

static int connect_bus(const char *identity)
{
        struct ds_paths p;
        char key[4096], pub[4096], *ep;
        zcert_t *me, *srv;

        ds_paths_init(&p, NULL, NULL, NULL);
        snprintf(key, sizeof key, "%s/bus/private/%s.key", p.confdir, identity);
        snprintf(pub, sizeof pub, "%s/bus/keys/busd.pub", p.confdir);
        me = zcert_load(key);
        srv = zcert_load(pub);
        if (!me || !srv)
                return -1;
        sock = zmq_socket(zsys_init(), ZMQ_DEALER);
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, zcert_public_key(me), 32);
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, zcert_secret_key(me), 32);
        zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, zcert_public_key(srv), 32);
        {
                /* a flood's last events must reach busd; nothing else waits */
                int linger = rcvhwm < 0 ? 10000 : 0;
                zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
        }
        if (rcvhwm > 0) {
                int buf = 4096;
                zmq_setsockopt(sock, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
                zmq_setsockopt(sock, ZMQ_RCVBUF, &buf, sizeof buf);
        }
        ep = ds_paths_bus_endpoint(&p);
        zmq_connect(sock, ep);
        free(ep);
        zcert_destroy(&me);
        zcert_destroy(&srv);
        ds_paths_free(&p);
        return 0;
}

/* Receives one reply within ms; returns its decoded "id" (-2 nil, -3 none) */
static int64_t recv_reply(int ms, char *kind, size_t ksize, char *code, size_t csize)
{
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
        zmq_msg_t m;
        msgpack_unpacked u;
        const char *why;
        int64_t id = -3;

        if (zmq_poll(&it, 1, ms) <= 0)
                return -4;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, sock, 0);
        if (mp_decode(zmq_msg_data(&m), zmq_msg_size(&m), NULL, &u, &why) == 0) {
                const msgpack_object *o = mp_get(&u.data, "id");
                mp_strcpy(mp_get(&u.data, "k"), kind, ksize);
                mp_strcpy(mp_get(mp_get(&u.data, "err"), "code"), code, csize);
                id = !o ? -3 : o->type == MSGPACK_OBJECT_NIL ? -2 : mp_get_int(&u.data, "id", -3);
                msgpack_unpacked_destroy(&u);
        }
        zmq_msg_close(&m);
        return id;
}

static void send_buf(const void *p, size_t n)
{
        zmq_send(sock, p, n, 0);
}

/* The next decodable message before deadline into *u (its strings point into
 * *m): true, the caller then destroys u and closes m; false at the deadline. */
static bool next_message(int64_t deadline, zmq_msg_t *m, msgpack_unpacked *u)
{
        while (ds_now_mono_ms() < deadline) {
                zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
                const char *why;

                if (zmq_poll(&it, 1, (long)(deadline - ds_now_mono_ms())) <= 0)
                        return false;
                zmq_msg_init(m);
                zmq_msg_recv(m, sock, 0);
                if (mp_decode(zmq_msg_data(m), zmq_msg_size(m), NULL, u, &why) == 0)
                        return true;
                zmq_msg_close(m);
        }
        return false;
}

/* Opens an envelope map: v, k, id (and to, m when given). */
static void env_open(struct mpw *w, int v, const char *kind, int64_t id, const char *to, const char *m)
{
        mpw_map_begin(w);
        mpw_kv_int(w, "v", v);
        mpw_kv_str(w, "k", kind);
        mpw_kv_int(w, "id", id);
        if (to) {
                mpw_kv_str(w, "to", to);
                mpw_kv_str(w, "m", m);
        }
}

/* One hostile message of kind i; returns the id it carried or -1 (none). */
static int64_t hostile(int i, struct mpw *w)
{
        unsigned char raw[64];
        int64_t id = 100000 + i;

        mpw_reset(w);
        /* 10 MB strings cost seconds each through CURVE: a few make the point */
        switch (i % 10 == 4 && i >= 20 ? 1 : i % 10) {
        case 0: /* random bytes */
                ds_random(raw, sizeof raw);
                send_buf(raw, 1 + raw[0] % sizeof raw);
                return -1;
        case 1: /* truncated map */
                env_open(w, 1, "req", id, NULL, NULL);
                mpw_map_end(w);
                send_buf(mpw_data(w), mpw_len(w) - 3);
                return -1;
        case 2: /* wrong types */
                env_open(w, 1, "req", id, NULL, NULL);
                mpw_kv_int(w, "to", 5);
                mpw_kv_bool(w, "m", true);
                mpw_map_end(w);
                break;
        case 3: { /* 100-deep nesting inside the args */
                env_open(w, 1, "req", id, "testsvc", "test.echo");
                mpw_str(w, "a");
                /* raw: 100 nested fixarrays */
                unsigned char deep[101];
                memset(deep, 0x91, 100);
                deep[100] = 0xc0;
                mpw_raw(w, deep, sizeof deep);
                mpw_map_end(w);
                break;
        }
        case 4: { /* a 10 MB string */
                static char *big;
                if (!big) {
                        big = malloc(10 << 20);
                        memset(big, 'x', 10 << 20);
                }
                env_open(w, 1, "req", id, "testsvc", "test.echo");
                mpw_str(w, "a");
                mpw_map_begin(w);
                mpw_str(w, "text");
                mpw_strn(w, big, 10 << 20);
                mpw_map_end(w);
                mpw_map_end(w);
                break; /* too large to decode, still answered under its id */
        }
        case 5: /* not a map */
                mpw_arr_begin(w);
                mpw_int(w, 1);
                mpw_arr_end(w);
                send_buf(mpw_data(w), mpw_len(w));
                return -1;
        case 6: /* unknown kind */
                env_open(w, 1, "explode", id, NULL, NULL);
                mpw_map_end(w);
                break;
        case 7: /* wrong protocol version */
                env_open(w, 99, "req", id, NULL, NULL);
                mpw_map_end(w);
                break;
        case 8: /* args of the wrong type for the schema, reaches the service */
                env_open(w, 1, "req", id, "testsvc", "test.echo");
                mpw_str(w, "a");
                mpw_arr_begin(w);
                mpw_arr_end(w);
                mpw_map_end(w);
                break;
        default: /* a hostile hello: a bad method table for a name we may not serve */
                mpw_map_begin(w);
                mpw_kv_int(w, "v", 1);
                mpw_kv_str(w, "k", "hello");
                mpw_kv_str(w, "name", "authd");
                mpw_kv_int(w, "methods", 7);
                mpw_map_end(w);
                send_buf(mpw_data(w), mpw_len(w));
                return -1;
        }
        send_buf(mpw_data(w), mpw_len(w));
        return id;
}

static int64_t spent_mark;

static int malformed(int n)
{
        struct mpw w;
        int with_id = 0, answered = 0, unanswered = 0;

        int64_t spent[10] = { 0 };

        mpw_init(&w);
        for (int i = 0; i < n; i++) {
                char kind[16] = "", code[16] = "";
                int64_t t0 = ds_now_mono_ms();
                int64_t id = hostile(i, &w), got;

                if (i > 0)
                        spent[(i - 1) % 10] += t0 - spent_mark;
                spent_mark = t0;

                if (id < 0)
                        continue; /* its nil-id answer, if any, is skipped below */
                with_id++;
                /* wait for the answer under this id; late answers to earlier
                 * messages without an id are skipped */
                {
                        int64_t deadline = ds_now_mono_ms() + 5000;
                        do
                                got = recv_reply((int)(deadline - ds_now_mono_ms()), kind, sizeof kind, code,
                                                 sizeof code);
                        while (got != id && got != -4 && ds_now_mono_ms() < deadline);
                }
                if (got == id && !strcmp(kind, "rep") && code[0])
                        answered++;
                else {
                        unanswered++;
                        fprintf(stderr, "message %d (kind %d): no error reply (got id %lld)\n", i, i % 10,
                                (long long)got);
                }
        }
        mpw_free(&w);
        if (getenv("PROBE_VERBOSE"))
                for (int k = 0; k < 10; k++)
                        fprintf(stderr, "kind %d: %lld ms\n", k, (long long)spent[k]);
        printf("%d sent, %d carried an id, %d answered with an error, %d unanswered\n", n, with_id, answered,
               unanswered);
        return unanswered == 0 ? 0 : 1;
}

/* Sends a request written by hand on purpose (the probe says what no library
 * client would), with a forged stamp c {id, user?, svc: true} when forged_id
 * is set, and decodes busd's answer into *ret. 0, or -1 with no answer. */
static int req_call(int id, const char *svc, const char *method, const char *arg, const char *forged_id,
                    const char *forged_user, msgpack_unpacked *ret)
{
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
        const char *why;
        struct mpw w;
        zmq_msg_t m;
        int r = -1;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "v", 1);
        mpw_kv_str(&w, "k", "req");
        mpw_kv_int(&w, "id", id);
        mpw_kv_str(&w, "to", svc);
        mpw_kv_str(&w, "m", method);
        mpw_str(&w, "a");
        mpw_map_begin(&w);
        if (arg && strchr(arg, '=')) {
                mpw_strn(&w, arg, (size_t)(strchr(arg, '=') - arg));
                mpw_str(&w, strchr(arg, '=') + 1);
        }
        mpw_map_end(&w);
        if (forged_id) {
                mpw_str(&w, "c"); /* a stamp of our own making: busd must not believe it */
                mpw_map_begin(&w);
                mpw_kv_str(&w, "id", forged_id);
                if (forged_user)
                        mpw_kv_str(&w, "user", forged_user);
                mpw_kv_bool(&w, "svc", true);
                mpw_map_end(&w);
        }
        mpw_map_end(&w);
        send_buf(mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (zmq_poll(&it, 1, 3000) <= 0)
                return -1;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, sock, 0);
        if (mp_decode(zmq_msg_data(&m), zmq_msg_size(&m), NULL, ret, &why) == 0)
                r = 0;
        zmq_msg_close(&m);
        return r;
}

static int forge(void)
{
        msgpack_unpacked u;
        const msgpack_object *r;
        char caller[64] = "", user[64] = "";
        int rc;

        if (req_call(7, "testsvc", "test.echo", NULL, "authd", "root", &u) < 0)
                return 1;
        r = mp_get(&u.data, "r");
        mp_strcpy(mp_get(r, "caller"), caller, sizeof caller);
        mp_strcpy(mp_get(r, "user"), user, sizeof user);
        printf("service saw caller '%s' user '%s' svc %d\n", caller, user, mp_get_bool(r, "svc", false));
        rc = strcmp(caller, "devctl") || user[0] || mp_get_bool(r, "svc", false);
        msgpack_unpacked_destroy(&u);
        return rc;
}

static void send_hello(const char *name, int64_t id)
{
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "v", 1);
        mpw_kv_str(&w, "k", "hello");
        if (id >= 0)
                mpw_kv_int(&w, "id", id);
        mpw_kv_str(&w, "name", name);
        mpw_kv_str(&w, "ver", "0.1");
        mpw_str(&w, "methods");
        mpw_arr_begin(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "n", "probe.x");
        mpw_kv_str(&w, "auth", "public");
        mpw_map_end(&w);
        mpw_arr_end(&w);
        mpw_map_end(&w);
        send_buf(mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
}

/* Waits for the first "rep" (heartbeats skipped); prints its error. */
static int wait_refusal(int ms)
{
        int64_t deadline = ds_now_mono_ms() + ms;

        zmq_msg_t m;
        msgpack_unpacked u;

        while (next_message(deadline, &m, &u)) {
                int rc = -1;

                if (mp_streq(mp_get(&u.data, "k"), "rep")) {
                        char code[16] = "", msg[256] = "";
                        mp_strcpy(mp_get(mp_get(&u.data, "err"), "code"), code, sizeof code);
                        mp_strcpy(mp_get(mp_get(&u.data, "err"), "msg"), msg, sizeof msg);
                        printf("refused: %s: %s\n", code, msg);
                        rc = code[0] ? 0 : 1;
                }
                msgpack_unpacked_destroy(&u);
                zmq_msg_close(&m);
                if (rc >= 0)
                        return rc;
        }
        printf("no answer to the second hello\n");
        return 1;
}

static bool call_once(int64_t id)
{
        struct mpw w;
        char kind[16], code[16];
        int64_t deadline = ds_now_mono_ms() + 2000, got;

        mpw_init(&w);
        env_open(&w, 1, "req", id, "bus", "bus.services");
        mpw_map_end(&w);
        send_buf(mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        do {
                kind[0] = code[0] = '\0';
                got = recv_reply((int)(deadline - ds_now_mono_ms()), kind, sizeof kind, code, sizeof code);
        } while (got != id && got != -4 && ds_now_mono_ms() < deadline);
        return got == id && !code[0];
}

static int hold(const char *file)
{
        bool first = call_once(1);

        printf("call 1: %s\n", first ? "ok" : "failed");
        fflush(stdout);
        while (access(file, F_OK) < 0)
                zclock_sleep(50);
        printf("call 2: %s\n", call_once(2) ? "ok" : "failed");
        return first ? 0 : 1;
}

static int hello2(const char *a, const char *b)
{
        send_hello(a, -1);
        send_hello(b, 9);
        return wait_refusal(3000);
}

static void send_hb(void)
{
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "v", 1);
        mpw_kv_str(&w, "k", "hb");
        mpw_map_end(&w);
        zmq_send(sock, mpw_data(&w), mpw_len(&w), ZMQ_DONTWAIT);
        mpw_free(&w);
}

static volatile sig_atomic_t stop;

static void on_term(int s)
{
        (void)s;
        stop = 1;
}

static int idle(const char *tok, const char *prefix)
{
        struct mpw w;
        char kind[16] = "", code[16] = "";
        int64_t deadline = ds_now_mono_ms() + 5000, got;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "v", 1);
        mpw_kv_str(&w, "k", "sub");
        mpw_kv_int(&w, "id", 42);
        mpw_kv_str(&w, "prefix", prefix);
        mpw_kv_str(&w, "tok", tok);
        mpw_map_end(&w);
        send_buf(mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        do
                got = recv_reply((int)(deadline - ds_now_mono_ms()), kind, sizeof kind, code, sizeof code);
        while (got != 42 && got != -4 && ds_now_mono_ms() < deadline);
        if (got != 42)
                printf("subscribed (no answer)\n");
        else if (code[0])
                printf("refused: %s\n", code);
        else
                printf("subscribed\n");
        fflush(stdout);
        signal(SIGTERM, on_term);
        signal(SIGINT, on_term);
        /* alive to busd, but never reading what it sends */
        while (!stop) {
                send_hb();
                usleep(300 * 1000);
        }
        return 0;
}

static int flood(long n, long size, const char *topic)
{
        char *pad = malloc((size_t)size + 1);
        struct mpw w;

        if (!pad)
                return 1;
        memset(pad, 'e', (size_t)size);
        mpw_init(&w);
        for (long i = 0; i < n; i++) {
                mpw_reset(&w);
                mpw_map_begin(&w);
                mpw_kv_int(&w, "v", 1);
                mpw_kv_str(&w, "k", "pub");
                mpw_kv_str(&w, "topic", topic);
                mpw_kv_int(&w, "ts", ds_now_real_ms());
                mpw_str(&w, "data");
                mpw_map_begin(&w);
                mpw_kv_int(&w, "i", i);
                mpw_str(&w, "pad");
                mpw_strn(&w, pad, (size_t)size);
                mpw_map_end(&w);
                mpw_map_end(&w);
                send_buf(mpw_data(&w), mpw_len(&w));
        }
        mpw_free(&w);
        free(pad);
        printf("published %ld\n", n);
        return 0;
}

static int call(const char *svc, const char *method, const char *forged, const char *arg)
{
        msgpack_unpacked u;
        char code[16] = "", msg[400] = "";
        int rc = 1;

        if (req_call(9, svc, method, arg, forged, NULL, &u) < 0) {
                printf("no answer\n");
                return 3;
        }
        mp_strcpy(mp_get(mp_get(&u.data, "err"), "code"), code, sizeof code);
        mp_strcpy(mp_get(mp_get(&u.data, "err"), "msg"), msg, sizeof msg);
        if (mp_get_bool(&u.data, "ok", false)) {
                printf("ok\n");
                rc = 0;
        } else {
                printf("%s: %s\n", code, msg);
        }
        msgpack_unpacked_destroy(&u);
        return rc;
}

/* Events whose maps carry a key that is itself an array holding "data"
 * (msgpack allows any key): the data busd passes on must be the value of the
 * map's own "data" key. One single pub, then a batch of one. */
static int pubkey(const char *topic)
{
        struct mpw w;

        for (int batch = 0; batch < 2; batch++) {
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_int(&w, "v", 1);
                mpw_kv_str(&w, "k", "pub");
                if (batch) {
                        mpw_str(&w, "evs");
                        mpw_arr_begin(&w);
                        mpw_map_begin(&w);
                }
                if (!batch)
                        mpw_kv_str(&w, "topic", topic);
                mpw_arr_begin(&w); /* the key ["q", "data"] */
                mpw_str(&w, "q");
                mpw_str(&w, "data");
                mpw_arr_end(&w);
                mpw_int(&w, 7);
                if (batch) {
                        mpw_kv_str(&w, "topic", topic);
                        mpw_kv_str(&w, "src", "authd"); /* claims busd must replace or drop */
                        mpw_str(&w, "c");
                        mpw_map_begin(&w);
                        mpw_kv_str(&w, "id", "authd");
                        mpw_kv_bool(&w, "svc", true);
                        mpw_map_end(&w);
                }
                mpw_str(&w, "data");
                mpw_map_begin(&w);
                mpw_kv_int(&w, "n", 2 + batch);
                mpw_map_end(&w);
                if (batch) {
                        mpw_map_end(&w);
                        mpw_arr_end(&w);
                }
                mpw_map_end(&w);
                send_buf(mpw_data(&w), mpw_len(&w));
                mpw_free(&w);
        }
        return 0; /* sent when the socket closes (linger) */
}

/* n requests of kb KiB each, every one under a token busd has not seen (so
 * each is parked while authd is asked), then the answers that come within
 * a second: "busy=B other=O". */
static int park(long n, long kb)
{
        size_t pad = (size_t)kb << 10;
        char *big = malloc(pad), tok[64];
        long busy = 0, other = 0;
        int64_t deadline;
        msgpack_unpacked u;

        if (!big)
                return 1;
        memset(big, 'p', pad);
        for (long i = 0; i < n; i++) {
                struct mpw w;

                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_int(&w, "v", 1);
                mpw_kv_str(&w, "k", "req");
                mpw_kv_int(&w, "id", i + 1);
                mpw_kv_str(&w, "to", "authd");
                mpw_kv_str(&w, "m", "test.session");
                snprintf(tok, sizeof tok, "tok:park%ld:viewer:", i);
                mpw_kv_str(&w, "tok", tok);
                mpw_str(&w, "a");
                mpw_map_begin(&w);
                mpw_str(&w, "text");
                mpw_strn(&w, big, pad);
                mpw_map_end(&w);
                mpw_map_end(&w);
                send_buf(mpw_data(&w), mpw_len(&w));
                mpw_free(&w);
        }
        free(big);
        deadline = ds_now_mono_ms() + 1000;
        for (zmq_msg_t m; next_message(deadline, &m, &u); zmq_msg_close(&m)) {
                if (mp_streq(mp_get(&u.data, "k"), "rep")) {
                        if (mp_streq(mp_get(mp_get(&u.data, "err"), "code"), "EBUSY"))
                                busy++;
                        else
                                other++;
                }
                msgpack_unpacked_destroy(&u);
        }
        printf("busy=%ld other=%ld\n", busy, other);
        return 0;
}

/* Requests to svc's test.echo under string ids of kb KiB each (the service
 * stopped, so each would stay in flight in busd with its id), a subscription
 * and a hello under such an id, a malformed and a too large message under
 * one, then a request under an id of BUS_ID_MAX bytes. Prints how the large
 * ones were answered (refused: EINVAL field id under a nil id; malformed:
 * another error under a nil id; other: anything else, an echo among them)
 * and whether the last one came back under its own id. */
static int ids(const char *svc, long n, long kb)
{
        size_t len = (size_t)kb << 10;
        char *big = malloc(len + 1), small[BUS_ID_MAX + 1];
        long refused = 0, malformed = 0, other = 0;
        int back = 0;
        int64_t deadline;
        msgpack_unpacked u;

        if (!big)
                return 1;
        memset(big, 'i', len);
        memset(small, 's', BUS_ID_MAX);
        small[BUS_ID_MAX] = '\0';
        for (long i = 0; i <= n; i++) {
                struct mpw w;

                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_int(&w, "v", 1);
                mpw_kv_str(&w, "k", "req");
                mpw_str(&w, "id");
                if (i < n) {
                        big[0] = (char)('a' + i % 26); /* each its own */
                        mpw_strn(&w, big, len);
                } else {
                        mpw_str(&w, small);
                }
                mpw_kv_str(&w, "to", svc);
                mpw_kv_str(&w, "m", "test.echo");
                mpw_str(&w, "a");
                mpw_map_begin(&w);
                mpw_kv_str(&w, "text", "x");
                mpw_map_end(&w);
                mpw_map_end(&w);
                send_buf(mpw_data(&w), mpw_len(&w));
                mpw_free(&w);
        }
        if (n > 0) { /* a subscription and a hello under the same kind of id */
                static const char *const kinds[] = {"sub", "hello"};

                for (int k = 0; k < 2; k++) {
                        struct mpw w;

                        mpw_init(&w);
                        mpw_map_begin(&w);
                        mpw_kv_int(&w, "v", 1);
                        mpw_kv_str(&w, "k", kinds[k]);
                        mpw_str(&w, "id");
                        mpw_strn(&w, big, len);
                        mpw_kv_str(&w, k ? "name" : "prefix", k ? "testsvc" : "test.");
                        mpw_map_end(&w);
                        send_buf(mpw_data(&w), mpw_len(&w));
                        mpw_free(&w);
                }
        }
        if (n > 0) { /* malformed (too deep), then too large: never echoed either */
                struct mpw w;

                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_str(&w, "id");
                mpw_strn(&w, big, len);
                mpw_str(&w, "deep");
                for (int d = 0; d < 40; d++)
                        mpw_arr_begin(&w);
                for (int d = 0; d < 40; d++)
                        mpw_arr_end(&w);
                mpw_map_end(&w);
                send_buf(mpw_data(&w), mpw_len(&w));
                mpw_free(&w);
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_str(&w, "id");
                mpw_strn(&w, big, len);
                mpw_kv_str(&w, "k", "req");
                mpw_str(&w, "pad");
                for (int i = 0; i < 3; i++) /* past busd's 1 MiB message limit */
                        mpw_strn(&w, big, len);
                mpw_map_end(&w);
                send_buf(mpw_data(&w), mpw_len(&w));
                mpw_free(&w);
        }
        free(big);
        deadline = ds_now_mono_ms() + (getenv("PROBE_WAIT_MS") ? atol(getenv("PROBE_WAIT_MS")) : 1000);
        for (zmq_msg_t m; next_message(deadline, &m, &u); zmq_msg_close(&m)) {
                const msgpack_object *id = mp_get(&u.data, "id");

                if (mp_streq(id, small))
                        back = 1;
                else if (id && id->type == MSGPACK_OBJECT_NIL &&
                         mp_streq(mp_get(mp_get(&u.data, "err"), "field"), "id"))
                        refused++;
                else if (id && id->type == MSGPACK_OBJECT_NIL)
                        malformed++;
                else
                        other++;
                msgpack_unpacked_destroy(&u);
        }
        printf("refused=%ld malformed=%ld other=%ld small_back=%d\n", refused, malformed, other, back);
        return 0;
}

int main(int argc, char **argv)
{
        int rc;

        zsys_handler_set(NULL);
        if (argc > 1 && !strcmp(argv[1], "idle"))
                rcvhwm = 2;
        if (argc > 1 && (!strcmp(argv[1], "flood") || !strcmp(argv[1], "pubkey")))
                rcvhwm = -1;
        if (argc < 2 || connect_bus(getenv("PROBE_IDENTITY") ? getenv("PROBE_IDENTITY") : "devctl") < 0) {
                fprintf(stderr, "usage: busprobe malformed N | forge  (keys from DEVSEC_CONFDIR)\n");
                return 2;
        }
        if (!strcmp(argv[1], "malformed"))
                rc = malformed(argc > 2 ? atoi(argv[2]) : 1000);
        else if (!strcmp(argv[1], "forge"))
                rc = forge();
        else if (!strcmp(argv[1], "hold") && argc > 2)
                rc = hold(argv[2]);
        else if (!strcmp(argv[1], "hello2") && argc > 3)
                rc = hello2(argv[2], argv[3]);
        else if (!strcmp(argv[1], "idle") && argc > 3)
                rc = idle(argv[2], argv[3]);
        else if (!strcmp(argv[1], "call") && argc > 3)
                rc = call(argv[2], argv[3], argc > 4 && argv[4][0] ? argv[4] : NULL, argc > 5 ? argv[5] : NULL);
        else if (!strcmp(argv[1], "park") && argc > 3)
                rc = park(atol(argv[2]), atol(argv[3]));
        else if (!strcmp(argv[1], "ids") && argc > 4)
                rc = ids(argv[2], atol(argv[3]), atol(argv[4]));
        else if (!strcmp(argv[1], "pubkey") && argc > 2)
                rc = pubkey(argv[2]);
        else if (!strcmp(argv[1], "flood") && argc > 4)
                rc = flood(atol(argv[2]), atol(argv[3]), argv[4]);
        else
                rc = 2;
        zmq_close(sock);
        zsys_shutdown();
        return rc;
}
