/* bus_bench - round trip through busd vs raw ZeroMQ REQ/REP, pipelined
 * throughput, event fan-in. Prints "BENCH\tmetric\tvalue\tunit\tnote" lines.
 *
 *   bus_bench raw N [curve]  raw REQ/REP over ipc:// (its own endpoint, no busd),
 *                            with "curve" under CURVE (keys made here)
 *   bus_bench broker N [curve]  the same through a plain zmq_proxy broker
 *                            (reference); "curve": CURVE on both hops
 *   bus_bench keys FILE      a server and a client keypair for the three below
 *   bus_bench proxy FE BE FILE  a zmq_proxy broker, CURVE on both hops, until killed
 *   bus_bench worker BE FILE    its REP echo worker, until killed
 *   bus_bench client EP N FILE  N CURVE REQ round trips to EP; waits for a
 *                            line on stdin before and after them (see rtt --wait)
 *   bus_bench rtt N [--wait] synchronous calls to testsvc test.echo through busd;
 *                            --wait: connected and warmed up, print "ready" and
 *                            wait for a line on stdin; after the calls print
 *                            "done" and wait for another (a profiler's window)
 *   bus_bench call N SVC METHOD  synchronous calls with no arguments as devctl
 *                            makes them: identity devctl, the session token
 *                            in $BENCH_TOKEN
 *   bus_bench pipeline N K   N calls with K in flight
 *   bus_bench events N P     P publishers of N events each, one subscriber
 */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "bus.h"
#include "util.h"

static int64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return x < y ? -1 : x > y;
}

static void report(const char *what, int64_t *lat, int n, int64_t total_us)
{
        qsort(lat, (size_t)n, sizeof *lat, cmp64);
        printf("BENCH\t%s median\t%.1f\tus\t\n", what, (double)lat[n / 2]);
        printf("BENCH\t%s p99\t%.1f\tus\t\n", what, (double)lat[(n * 99) / 100]);
        printf("BENCH\t%s rate\t%.0f\treq/s\t\n", what, n * 1e6 / (double)total_us);
}

/* CURVE keys made by the bench: the server's (broker, REP) and one client's */
struct bench_keys {
        char spub[41], ssec[41], cpub[41], csec[41];
};

static int keys_make(struct bench_keys *k)
{
        return zmq_curve_keypair(k->spub, k->ssec) == 0 && zmq_curve_keypair(k->cpub, k->csec) == 0 ? 0 : -1;
}

static int keys_write(const char *path, const struct bench_keys *k)
{
        FILE *f;
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (fd < 0 || !(f = fdopen(fd, "w")))
                return -1;
        fprintf(f, "%s\n%s\n%s\n%s\n", k->spub, k->ssec, k->cpub, k->csec);
        return fclose(f);
}

static int keys_read(const char *path, struct bench_keys *k)
{
        FILE *f = fopen(path, "r");
        int n;

        if (!f)
                return -1;
        n = fscanf(f, "%40s %40s %40s %40s", k->spub, k->ssec, k->cpub, k->csec);
        fclose(f);
        return n == 4 ? 0 : -1;
}

static void curve_server(void *s, const struct bench_keys *k)
{
        int one = 1;

        if (!k)
                return;
        zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k->ssec, 40);
}

static void curve_client(void *s, const struct bench_keys *k)
{
        if (!k)
                return;
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, k->spub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, k->cpub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k->csec, 40);
}

static void wait_line(void)
{
        char line[16];

        if (!fgets(line, sizeof line, stdin))
                return;
}

/* n synchronous REQ round trips of a request-sized message to ep; reports what. */
static void req_loop(const char *ep, int n, int64_t *lat, const char *what, const struct bench_keys *k, bool wait)
{
        void *ctx = zmq_ctx_new(), *req = zmq_socket(ctx, ZMQ_REQ);
        char buf[256];
        const char msg[] = "\x85\xa1v\x01\xa1k\xa3req\xa2id\x01\xa2to\xa7testsvc\xa1m\xa9test.echo";
        int64_t t0;

        curve_client(req, k);
        zmq_connect(req, ep);
        zmq_send(req, msg, sizeof msg - 1, 0); /* warm-up (and handshake) */
        zmq_recv(req, buf, sizeof buf, 0);
        if (wait) {
                printf("ready\n");
                fflush(stdout);
                wait_line();
        }
        t0 = now_us();
        for (int i = 0; i < n; i++) {
                int64_t s = now_us();
                zmq_send(req, msg, sizeof msg - 1, 0);
                zmq_recv(req, buf, sizeof buf, 0);
                lat[i] = now_us() - s;
        }
        if (wait) {
                printf("done\n");
                fflush(stdout);
                wait_line();
        }
        report(what, lat, n, now_us() - t0);
        zmq_close(req);
        zmq_ctx_term(ctx);
}

static int raw(int n, bool curve)
{
        char ep[128];
        int64_t *lat = calloc((size_t)n, sizeof *lat);
        struct bench_keys keys;
        const struct bench_keys *k = NULL;
        pid_t child;

        if (curve) {
                if (keys_make(&keys) < 0)
                        return 1;
                k = &keys;
        }
        snprintf(ep, sizeof ep, "ipc:///tmp/ds-bench-raw-%d.sock", (int)getpid());
        child = fork();
        if (child == 0) {
                void *ctx = zmq_ctx_new(), *rep = zmq_socket(ctx, ZMQ_REP);
                char buf[256];
                curve_server(rep, k);
                zmq_bind(rep, ep);
                for (int i = 0; i < n + 1; i++) {
                        int len = zmq_recv(rep, buf, sizeof buf, 0);
                        zmq_send(rep, buf, len > 0 ? (size_t)len : 0, 0);
                }
                zmq_close(rep);
                zmq_ctx_term(ctx);
                _exit(0);
        }
        req_loop(ep, n, lat, curve ? "raw zmq REQ/REP ipc (CURVE)" : "raw zmq REQ/REP ipc (no CURVE)", k, false);
        waitpid(child, NULL, 0);
        unlink(ep + 6);
        free(lat);
        return 0;
}

/* The reference broker: zmq_proxy between a ROUTER for clients and a DEALER to
 * one REP echo worker, no ACL: what any forwarding broker costs. k: CURVE on
 * both hops (the broker is the server of both). Runs until killed. */
static void proxy_run(const char *fe, const char *be, const struct bench_keys *k)
{
        void *ctx = zmq_ctx_new(), *f = zmq_socket(ctx, ZMQ_ROUTER), *b = zmq_socket(ctx, ZMQ_DEALER);

        curve_server(f, k);
        curve_server(b, k);
        zmq_bind(f, fe);
        zmq_bind(b, be);
        zmq_proxy(f, b, NULL);
        _exit(0);
}

static void worker_run(const char *be, const struct bench_keys *k)
{
        void *ctx = zmq_ctx_new(), *rep = zmq_socket(ctx, ZMQ_REP);
        char buf[256];

        curve_client(rep, k);
        zmq_connect(rep, be);
        for (;;) {
                int len = zmq_recv(rep, buf, sizeof buf, 0);
                if (len < 0)
                        break;
                zmq_send(rep, buf, (size_t)len, 0);
        }
        _exit(0);
}

static int plain_broker(int n, bool curve)
{
        char fe[128], be[128];
        int64_t *lat = calloc((size_t)n, sizeof *lat);
        struct bench_keys keys;
        const struct bench_keys *k = NULL;
        pid_t proxy, worker;

        if (curve) {
                if (keys_make(&keys) < 0)
                        return 1;
                k = &keys;
        }
        snprintf(fe, sizeof fe, "ipc:///tmp/ds-bench-fe-%d.sock", (int)getpid());
        snprintf(be, sizeof be, "ipc:///tmp/ds-bench-be-%d.sock", (int)getpid());
        proxy = fork();
        if (proxy == 0)
                proxy_run(fe, be, k);
        worker = fork();
        if (worker == 0)
                worker_run(be, k);
        req_loop(fe, n, lat, curve ? "plain zmq_proxy broker (CURVE both hops)" : "plain zmq_proxy broker (no CURVE)",
                 k, false);
        kill(worker, SIGKILL);
        kill(proxy, SIGKILL);
        waitpid(worker, NULL, 0);
        waitpid(proxy, NULL, 0);
        unlink(fe + 6);
        unlink(be + 6);
        free(lat);
        return 0;
}

static bus_t *connect_as(const char *id)
{
        struct ds_paths p;
        bus_t *b;
        int r;

        ds_paths_init(&p, NULL, NULL, NULL);
        b = bus_new(&p, id, &r);
        ds_paths_free(&p);
        if (!b)
                fprintf(stderr, "bus_bench: cannot connect as '%s': %s\n", id, strerror(-r));
        return b;
}

static int rtt(int n, bool wait)
{
        bus_t *b = connect_as("devctl");
        int64_t *lat = calloc((size_t)n, sizeof *lat), t0;
        struct mpw a;
        struct bus_reply rep;
        int fails = 0;

        if (!b)
                return 1;
        mpw_init(&a);
        mpw_map_begin(&a);
        mpw_kv_str(&a, "text", "x");
        mpw_map_end(&a);
        bus_call_sync(b, "testsvc", "test.echo", &a, NULL, 5000, &rep); /* warm-up + CURVE handshake */
        bus_reply_free(&rep);
        if (wait) {
                printf("ready\n");
                fflush(stdout);
                wait_line();
        }
        t0 = now_us();
        for (int i = 0; i < n; i++) {
                int64_t s = now_us();
                if (bus_call_sync(b, "testsvc", "test.echo", &a, NULL, 5000, &rep) != 0)
                        fails++;
                bus_reply_free(&rep);
                lat[i] = now_us() - s;
        }
        if (wait) {
                printf("done\n");
                fflush(stdout);
                wait_line();
        }
        report("busd round trip (CURVE+ACL)", lat, n, now_us() - t0);
        if (fails)
                printf("BENCH\tbusd round trip failures\t%d\tcalls\t\n", fails);
        mpw_free(&a);
        bus_destroy(&b);
        free(lat);
        return fails != 0;
}

/* n calls of SVC METHOD under the session in $BENCH_TOKEN, as devctl makes them */
static int call_rtt(int n, const char *svc, const char *method)
{
        bus_t *b = connect_as("devctl");
        const char *tok = getenv("BENCH_TOKEN");
        int64_t *lat = calloc((size_t)n, sizeof *lat), t0;
        struct bus_reply rep;
        char what[160];
        int fails = 0;

        if (!b || !lat)
                return 1;
        bus_call_sync(b, svc, method, NULL, tok, 5000, &rep); /* warm-up + CURVE handshake */
        bus_reply_free(&rep);
        t0 = now_us();
        for (int i = 0; i < n; i++) {
                int64_t s = now_us();
                if (bus_call_sync(b, svc, method, NULL, tok, 5000, &rep) != 0 || rep.code < 0)
                        fails++;
                bus_reply_free(&rep);
                lat[i] = now_us() - s;
        }
        snprintf(what, sizeof what, "bus client %s.%s", svc, method);
        report(what, lat, n, now_us() - t0);
        if (fails)
                printf("BENCH\t%s failures\t%d\tcalls\t\n", what, fails);
        bus_destroy(&b);
        free(lat);
        return fails != 0;
}

struct pipe_state {
        bus_t *b;
        zloop_t *loop;
        struct mpw args;
        int sent, done, n, fails;
};

static void on_reply(void *ud, const struct bus_reply *rep);

static void issue(struct pipe_state *s)
{
        if (s->sent >= s->n)
                return;
        s->sent++;
        if (bus_call(s->b, "testsvc", "test.echo", &s->args, NULL, 10000, on_reply, s) < 0)
                s->fails++;
}

static void on_reply(void *ud, const struct bus_reply *rep)
{
        struct pipe_state *s = ud;

        if (rep->code)
                s->fails++;
        s->done++;
        issue(s);
}

static int on_check(zloop_t *loop, int id, void *arg)
{
        struct pipe_state *s = arg;

        (void)loop;
        (void)id;
        return s->done >= s->n ? -1 : 0;
}

static int pipeline(int n, int k)
{
        struct pipe_state s = { .n = n };
        int64_t t0;

        s.b = connect_as("devctl");
        if (!s.b)
                return 1;
        s.loop = zloop_new();
        bus_attach(s.b, s.loop);
        mpw_init(&s.args);
        mpw_map_begin(&s.args);
        mpw_kv_str(&s.args, "text", "x");
        mpw_map_end(&s.args);
        {
                struct bus_reply rep;
                bus_call_sync(s.b, "testsvc", "test.echo", &s.args, NULL, 5000, &rep);
                bus_reply_free(&rep);
        }
        t0 = now_us();
        for (int i = 0; i < k; i++)
                issue(&s);
        zloop_timer(s.loop, 1, 0, on_check, &s);
        zloop_start(s.loop);
        printf("BENCH\tbusd pipelined (%d in flight)\t%.0f\treq/s\t%d failed\n", k,
               n * 1e6 / (double)(now_us() - t0), s.fails);
        mpw_free(&s.args);
        bus_destroy(&s.b);
        zloop_destroy(&s.loop);
        return s.fails != 0;
}

struct sub_state {
        int64_t got, want;
};

static void on_event(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct sub_state *s = ud;

        (void)topic;
        (void)src;
        (void)ts;
        (void)data;
        s->got++;
}

static int events(int n, int p)
{
        struct sub_state st = { .want = (int64_t)n * p };
        bus_t *sub = connect_as("testsvc");
        int64_t t0, deadline;
        pid_t kids[16];
        int pfd[2];

        if (!sub || p > 16 || pipe(pfd) < 0)
                return 1;
        bus_subscribe(sub, "bench.", on_event, &st);
        {
                struct bus_reply rep; /* the subscription is in place once a call has gone round */
                bus_call_sync(sub, "bus", "sys.ping", NULL, NULL, 5000, &rep);
                bus_reply_free(&rep);
        }
        for (int i = 0; i < p; i++) {
                kids[i] = fork();
                if (kids[i] == 0) {
                        bus_t *pub = connect_as("testsvc");
                        struct mpw w;
                        struct bus_reply rep;
                        char c;
                        bus_call_sync(pub, "bus", "sys.ping", NULL, NULL, 5000, &rep); /* connected */
                        bus_reply_free(&rep);
                        close(pfd[1]);
                        if (read(pfd[0], &c, 1) < 0) /* start together */
                                _exit(1);
                        mpw_init(&w);
                        for (int k = 0; k < n; k++) {
                                mpw_reset(&w);
                                mpw_map_begin(&w);
                                mpw_kv_int(&w, "seq", k);
                                mpw_map_end(&w);
                                while (bus_publish(pub, "bench.tick", &w) == -EBUSY)
                                        usleep(100);
                        }
                        mpw_free(&w);
                        /* a reply means busd has read everything sent before it */
                        bus_call_sync(pub, "bus", "sys.ping", NULL, NULL, 30000, &rep);
                        bus_reply_free(&rep);
                        bus_destroy(&pub);
                        _exit(0);
                }
        }
        close(pfd[0]);
        usleep(300000);
        t0 = now_us();
        close(pfd[1]); /* go */
        deadline = ds_now_mono_ms() + 30000;
        while (st.got < st.want && ds_now_mono_ms() < deadline)
                if (bus_wait_event(sub, 1000) == -ETIMEDOUT && st.got > 0)
                        break;
        printf("BENCH\tevents %d publishers -> 1 subscriber\t%.0f\tevents/s\t%lld of %lld received\n", p,
               st.got * 1e6 / (double)(now_us() - t0), (long long)st.got, (long long)st.want);
        for (int i = 0; i < p; i++)
                waitpid(kids[i], NULL, 0);
        bus_destroy(&sub);
        return 0;
}

int main(int argc, char **argv)
{
        zsys_handler_set(NULL);
        bool opt = argc >= 4 && (!strcmp(argv[3], "curve") || !strcmp(argv[3], "--wait"));
        struct bench_keys k;

        if (argc >= 3 && !strcmp(argv[1], "raw"))
                return raw(atoi(argv[2]), opt);
        if (argc >= 3 && !strcmp(argv[1], "broker"))
                return plain_broker(atoi(argv[2]), opt);
        if (argc >= 3 && !strcmp(argv[1], "rtt"))
                return rtt(atoi(argv[2]), opt);
        if (argc >= 3 && !strcmp(argv[1], "keys"))
                return keys_make(&k) < 0 || keys_write(argv[2], &k) < 0;
        if (argc >= 5 && !strcmp(argv[1], "proxy")) {
                if (keys_read(argv[4], &k) < 0)
                        return 1;
                proxy_run(argv[2], argv[3], &k);
        }
        if (argc >= 4 && !strcmp(argv[1], "worker")) {
                if (keys_read(argv[3], &k) < 0)
                        return 1;
                worker_run(argv[2], &k);
        }
        if (argc >= 5 && !strcmp(argv[1], "client")) {
                int n = atoi(argv[3]);
                int64_t *lat = calloc((size_t)n, sizeof *lat);
                if (!lat || keys_read(argv[4], &k) < 0)
                        return 1;
                req_loop(argv[2], n, lat, "plain zmq_proxy broker (CURVE both hops)", &k, true);
                free(lat);
                return 0;
        }
        if (argc >= 5 && !strcmp(argv[1], "call"))
                return call_rtt(atoi(argv[2]), argv[3], argv[4]);
        if (argc >= 4 && !strcmp(argv[1], "pipeline"))
                return pipeline(atoi(argv[2]), atoi(argv[3]));
        if (argc >= 4 && !strcmp(argv[1], "events"))
                return events(atoi(argv[2]), atoi(argv[3]));
        fprintf(stderr, "usage: bus_bench raw N [curve] | broker N [curve] | rtt N [--wait] | pipeline N K | events N P |\n"
                        "       keys FILE | proxy FE BE FILE | worker BE FILE | client EP N FILE\n");
        return 2;
}
