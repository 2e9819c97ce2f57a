/* cmd_log.c - devctl log: query (paging, follow, JSON lines, RFC 5424), verify,
 * seal init, remote show/set/disable, status */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devctl.h"
#include "log_verify.h"
#include "seal.h"
#include "util.h"

/* option table for `log query`: --name VALUE (or --name=VALUE) -> argument */
static const struct {
        const char *opt;
        const char *arg;
        bool is_int;
} query_opts[] = {
        { "category", "category", false }, { "since", "since", false },   { "until", "until", false },
        { "user", "user", false },         { "service", "service", false }, { "text", "text", false },
        { "level", "level_min", false },   { "limit", "limit", true },    { "cursor", "cursor", true },
};

static void print_rec_line(const msgpack_object *r)
{
        size_t n;
        const char *t = mp_get_strn(r, "time", &n);
        const char *cat, *lvl, *svc, *user, *msg;
        size_t nc, nl, ns, nu, nm;

        cat = mp_get_strn(r, "category", &nc);
        lvl = mp_get_strn(r, "level", &nl);
        svc = mp_get_strn(r, "service", &ns);
        user = mp_get_strn(r, "user", &nu);
        msg = mp_get_strn(r, "msg", &nm);
        printf("%8lld %.*s %-9.*s %-7.*s %-10.*s %-10.*s %.*s\n", (long long)mp_get_int(r, "seq", 0), (int)n, t ? t : "",
               (int)nc, cat ? cat : "", (int)nl, lvl ? lvl : "", (int)ns, svc ? svc : "", (int)(nu ? nu : 1),
               nu ? user : "-", (int)nm, msg ? msg : "");
}

static volatile sig_atomic_t stop_follow;

static void on_sigint(int s)
{
        (void)s;
        stop_follow = 1;
}

struct follow {
        struct devctl *dc;
        char category[16];
        char user[33];
};

static void on_live(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct follow *f = ud;
        const char *cat = strncmp(topic, "log.", 4) ? topic : topic + 4;
        char tbuf[40];
        size_t nu = 0, nm = 0, nl = 0;
        const char *user = mp_get_strn(data, "user", &nu), *msg = mp_get_strn(data, "msg", &nm),
                   *lvl = mp_get_strn(data, "level", &nl);

        if (f->category[0] && strcmp(cat, f->category))
                return;
        if (f->user[0] && (!user || nu != strlen(f->user) || memcmp(user, f->user, nu)))
                return;
        if (f->dc->json) {
                printf("{\"live\":true,\"ts\":%lld,\"category\":\"%s\",\"src\":\"%s\",\"data\":", (long long)ts, cat, src);
                devctl_print_json(stdout, data);
                printf("}\n");
        } else {
                ds_format_time(ts, tbuf, sizeof tbuf);
                printf("    live %s %-9s %-7.*s %-10s %-10.*s %.*s\n", tbuf, cat, (int)nl, lvl ? lvl : "", src,
                       (int)(nu ? nu : 1), nu ? user : "-", (int)nm, msg ? msg : "");
        }
        fflush(stdout);
}

static int c_query(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct follow fl = { .dc = dc };
        bool follow = false, rfc = false;
        struct bus_reply rep;
        const msgpack_object *rows;
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i], *val = NULL;
                size_t k;
                char name[32];

                if (!strcmp(a, "--follow") || !strcmp(a, "-f")) {
                        follow = true;
                        continue;
                }
                if (!strcmp(a, "--json")) {
                        dc->json = true;
                        continue;
                }
                if (!strcmp(a, "--rfc5424")) {
                        rfc = true;
                        continue;
                }
                if (strncmp(a, "--", 2)) {
                        mpw_free(&w);
                        return devctl_usage(cmd);
                }
                snprintf(name, sizeof name, "%.*s", (int)strcspn(a + 2, "="), a + 2);
                for (k = 0; k < sizeof query_opts / sizeof *query_opts; k++)
                        if (!strcmp(name, query_opts[k].opt))
                                break;
                if (k == sizeof query_opts / sizeof *query_opts) {
                        fprintf(stderr, "devctl: log query: unknown option '%s'\n", a);
                        mpw_free(&w);
                        return devctl_usage(cmd);
                }
                val = strchr(a, '=') ? strchr(a, '=') + 1 : i + 1 < argc ? argv[++i] : NULL;
                if (!val) {
                        mpw_free(&w);
                        return devctl_usage(cmd);
                }
                mpw_str(&w, query_opts[k].arg);
                if (query_opts[k].is_int) {
                        char *end;
                        long long n = strtoll(val, &end, 10);
                        if (*end || !*val) {
                                fprintf(stderr, "devctl: log query: --%s needs a number\n", name);
                                mpw_free(&w);
                                return DC_EUSAGE;
                        }
                        mpw_int(&w, n);
                } else {
                        mpw_str(&w, val);
                }
                if (!strcmp(name, "category"))
                        snprintf(fl.category, sizeof fl.category, "%s", val);
                if (!strcmp(name, "user"))
                        snprintf(fl.user, sizeof fl.user, "%s", val);
        }
        if (rfc)
                mpw_kv_str(&w, "format", "rfc5424");
        mpw_map_end(&w);
        r = devctl_call(dc, "logd", "log.query", &w, true, NULL, &rep);
        mpw_free(&w);
        if (r != DC_OK)
                return r;
        rows = mp_get(rep.r, rfc ? "lines" : "records");
        /* newest first from the service; print oldest first, as a log reads */
        for (uint32_t i = rows && rows->type == MSGPACK_OBJECT_ARRAY ? rows->via.array.size : 0; i-- > 0;) {
                const msgpack_object *o = &rows->via.array.ptr[i];
                if (rfc)
                        printf("%.*s\n", (int)o->via.str.size, o->via.str.ptr);
                else if (dc->json) {
                        devctl_print_json(stdout, o);
                        fputc('\n', stdout);
                } else
                        print_rec_line(o);
        }
        if (!dc->json && !rfc && mp_get_int(rep.r, "next_cursor", 0))
                fprintf(stderr, "(more: --cursor %lld)\n", (long long)mp_get_int(rep.r, "next_cursor", 0));
        bus_reply_free(&rep);
        fflush(stdout);
        if (follow) {
                struct sigaction sa = { .sa_handler = on_sigint };
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
                r = devctl_subscribe(dc, "log.", on_live, &fl);
                if (r != DC_OK)
                        return r;
                while (!stop_follow) {
                        r = devctl_wait_event(dc, 1000);
                        if (r == -EINTR)
                                break;
                        if (r > 0)
                                return r;
                }
        }
        return DC_OK;
}

/* ---- log verify ------------------------------------------------------------------- */

static int c_verify(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *keyfile = NULL, *anchor_opt = NULL;
        char adir[4096], aname[256], id[33] = "", t[40];
        struct seal_vkey key;
        struct seal_anchor anchor = { 0 };
        struct seal_claims claims = { 0 };
        struct seal_result v;
        struct bus_reply rep;
        const msgpack_object *segs;
        seal_verifier_t *ver = NULL;
        bool have_anchor = false, saved = false;
        int64_t t0 = ds_now_mono_ms();
        uint64_t page;
        int r, rc = DC_OK;

        const char *keys[LOG_KEYS_MAX];
        size_t nkeys = 0;

        for (int i = 0; i < argc; i++) {
                if ((!strcmp(argv[i], "--key") && i + 1 < argc) || !strncmp(argv[i], "--key=", 6)) {
                        if (nkeys == LOG_KEYS_MAX) {
                                fprintf(stderr, "devctl: log verify: at most %d keys\n", LOG_KEYS_MAX);
                                return DC_EUSAGE;
                        }
                        keyfile = keys[nkeys++] = argv[i][5] == '=' ? argv[i] + 6 : argv[++i];
                }
                else if (!strcmp(argv[i], "--anchor") && i + 1 < argc)
                        anchor_opt = argv[++i];
                else if (!strncmp(argv[i], "--anchor=", 9))
                        anchor_opt = argv[i] + 9;
                else if (!strcmp(argv[i], "--json"))
                        dc->json = true;
                else
                        return devctl_usage(cmd);
        }
        if (nkeys > 1) /* a store started anew holds one chain per key */
                return log_verify_chains(dc, keys, nkeys, anchor_opt);
        if (keyfile) {
                r = logv_read_key(keyfile, &key);
                if (r < 0) {
                        fprintf(stderr, "devctl: log verify: key file '%s': %s\n", keyfile,
                                r == -EINVAL ? "not a seal key (KEYHEX/START/INTERVAL from log seal init)"
                                             : strerror(-r));
                        return DC_EUSAGE;
                }
                seal_vkey_id(&key, id);
                if (logv_anchor_path(anchor_opt, adir, sizeof adir, aname, sizeof aname) < 0) {
                        fprintf(stderr, "devctl: log verify: no place for the anchor file (set HOME or --anchor)\n");
                        explicit_bzero(&key, sizeof key);
                        return DC_EUSAGE;
                }
                if ((r = logv_anchor_load(adir, aname, id, &anchor, &have_anchor)) < 0) {
                        fprintf(stderr, "devctl: log verify: anchor file '%s/%s': %s\n", adir, aname, strerror(-r));
                        explicit_bzero(&key, sizeof key);
                        return DC_ESERVICE;
                }
        }
        r = devctl_call(dc, "logd", "log.segments", NULL, true, NULL, &rep);
        if (r != DC_OK) {
                explicit_bzero(&key, sizeof key);
                return r;
        }
        page = logv_claims(rep.r, &claims);
        if (seal_verifier_new(keyfile ? &key : NULL, have_anchor ? &anchor : NULL, &claims, &ver) < 0) {
                bus_reply_free(&rep);
                explicit_bzero(&key, sizeof key);
                return DC_ESERVICE;
        }
        explicit_bzero(&key, sizeof key);
        segs = mp_get(rep.r, "segments");
        for (uint32_t i = 0; segs && segs->type == MSGPACK_OBJECT_ARRAY && i < segs->via.array.size; i++) {
                const msgpack_object *g = &segs->via.array.ptr[i];
                char name[48], *buf = NULL;
                size_t len = 0;
                if (mp_strcpy(mp_get(g, "name"), name, sizeof name) < 0)
                        continue;
                r = logv_fetch_segment(dc, name, (uint64_t)mp_get_int(g, "size", 0), page, &buf, &len);
                if (r != DC_OK) {
                        rc = r;
                        break;
                }
                if (i > 0 && seal_seg_starts_chain(buf, len)) {
                        /* more than one chain (a factory reset): each on its own */
                        free(buf);
                        bus_reply_free(&rep);
                        seal_verifier_destroy(&ver);
                        return log_verify_chains(dc, keys, nkeys, anchor_opt);
                }
                r = seal_verifier_segment(ver, name, buf, len);
                free(buf);
                if (r)
                        break;
        }
        bus_reply_free(&rep);
        seal_verifier_finish(ver, &v);
        seal_verifier_destroy(&ver);
        if (rc != DC_OK)
                return rc;
        /* a verified store moves the anchor on; it never moves back */
        if (v.kind == SEAL_V_OK && v.next.seq && (!have_anchor || v.next.seq >= anchor.seq)) {
                v.next.at_ms = ds_now_real_ms();
                if ((r = logv_anchor_save(adir, aname, id, &v.next)) < 0)
                        fprintf(stderr, "devctl: log verify: cannot save the anchor in '%s/%s': %s\n", adir, aname,
                                strerror(-r));
                else
                        saved = true;
        }
        if (dc->json) {
                struct mpw w;
                msgpack_unpacked u;
                const char *why;
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_bool(&w, "ok", v.kind == SEAL_V_OK);
                mpw_kv_str(&w, "result", seal_vkind_name(v.kind));
                mpw_kv_uint(&w, "first", v.first_seq);
                mpw_kv_uint(&w, "verified_to", v.verified_to);
                mpw_kv_uint(&w, "sealed_to", v.sealed_to);
                mpw_kv_uint(&w, "records", v.records);
                mpw_kv_uint(&w, "seals", v.seals);
                mpw_kv_uint(&w, "unsealed", v.verified_to > v.sealed_to ? v.verified_to - v.sealed_to : 0);
                mpw_kv_uint(&w, "late", v.late);
                mpw_kv_uint(&w, "pruned_to", v.pruned_to);
                mpw_kv_bool(&w, "seals_checked", v.seals_checked);
                mpw_kv_bool(&w, "anchor_found", have_anchor);
                mpw_kv_bool(&w, "anchor_saved", saved);
                if (have_anchor)
                        mpw_kv_uint(&w, "anchor_seq", anchor.seq);
                if (saved)
                        mpw_kv_uint(&w, "new_anchor_seq", v.next.seq);
                mpw_kv_str(&w, "key_id", id);
                mpw_kv_int(&w, "elapsed_ms", ds_now_mono_ms() - t0);
                if (v.kind != SEAL_V_OK) {
                        mpw_kv_uint(&w, "at", v.at_seq);
                        mpw_kv_str(&w, "segment", v.segment);
                        mpw_kv_str(&w, "detail", v.detail);
                }
                mpw_map_end(&w);
                if (mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why) == 0) {
                        devctl_print_json(stdout, &u.data);
                        fputc('\n', stdout);
                        msgpack_unpacked_destroy(&u);
                }
                mpw_free(&w);
        } else if (v.kind == SEAL_V_OK) {
                printf("OK up to record %llu (sealed to %llu, %llu unsealed), %llu records, %llu seals, seals %s\n",
                       (unsigned long long)v.verified_to, (unsigned long long)v.sealed_to,
                       (unsigned long long)(v.verified_to - v.sealed_to), (unsigned long long)v.records,
                       (unsigned long long)v.seals,
                       v.seals_checked ? "verified with the key" : "present (no key given)");
                if (!keyfile)
                        printf("without the key neither the seals nor their times are checked, and no anchor is "
                               "kept: use --key\n");
                else if (!have_anchor)
                        printf("no earlier anchor for key %s: the store was not compared with an earlier "
                               "verification%s\n",
                               id, saved ? "; anchor saved" : "");
                else if (v.anchor_pruned)
                        printf("the anchor at record %llu (verified %s) was pruned since: continuity from it not "
                               "checked\n",
                               (unsigned long long)anchor.seq, (ds_format_time(anchor.at_ms, t, sizeof t), t));
                else
                        printf("extends the anchor at record %llu (verified %s)\n", (unsigned long long)anchor.seq,
                               (ds_format_time(anchor.at_ms, t, sizeof t), t));
                if (saved)
                        printf("anchor now at record %llu (seal %llu)\n", (unsigned long long)v.next.seq,
                               (unsigned long long)v.next.n);
                if (v.pruned_to)
                        printf("records 1-%llu were removed, as a sealed prune record says\n",
                               (unsigned long long)v.pruned_to);
                if (v.late)
                        printf("%llu records are dated before an earlier one (the clock stepped back)\n",
                               (unsigned long long)v.late);
        } else {
                printf("FAILED (%s) after record %llu: %s\n", seal_vkind_name(v.kind), (unsigned long long)v.verified_to,
                       v.detail);
        }
        return v.kind == SEAL_V_OK ? DC_OK : DC_ESERVICE;
}

static int c_seal_init(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *out = NULL;
        struct bus_reply rep;
        char key[SEAL_KEY_TEXT_MAX];
        int r;

        for (int i = 0; i < argc; i++) {
                if (!strcmp(argv[i], "--out") && i + 1 < argc)
                        out = argv[++i];
                else
                        return devctl_usage(cmd);
        }
        r = devctl_call(dc, "logd", "log.seal.init", NULL, true, NULL, &rep);
        if (r != DC_OK)
                return r;
        if (mp_strcpy(mp_get(rep.r, "key"), key, sizeof key) < 0) {
                bus_reply_free(&rep);
                fprintf(stderr, "devctl: logd: no key in the answer\n");
                return DC_ESERVICE;
        }
        bus_reply_free(&rep);
        if (out) {
                int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd < 0 || dprintf(fd, "%s\n", key) < 0 || close(fd) < 0) {
                        /* the key exists only here now: print it rather than lose it */
                        fprintf(stderr, "devctl: cannot write '%s': %s; the key follows, keep it safe\n", out,
                                strerror(errno));
                        printf("%s\n", key);
                        explicit_bzero(key, sizeof key);
                        return DC_ESERVICE;
                }
                fprintf(stderr, "initial seal key written to '%s': keep it off the device\n", out);
        } else {
                printf("%s\n", key);
        }
        explicit_bzero(key, sizeof key);
        return DC_OK;
}

static int abs_path(const char *in, char *out, size_t size)
{
        char cwd[PATH_MAX];

        if (in[0] == '/')
                return snprintf(out, size, "%s", in) < (int)size ? 0 : -ENAMETOOLONG;
        if (!getcwd(cwd, sizeof cwd))
                return -errno;
        return snprintf(out, size, "%s/%s", cwd, in) < (int)size ? 0 : -ENAMETOOLONG;
}

static const struct {
        const char *opt, *arg;
        bool path;
} remote_opts[] = {
        { "ca", "ca", true },
        { "name", "name", false },
        { "pin", "pin", false },
        { "client-cert", "client_cert", true },
        { "client-key", "client_key", true },
};

static int c_remote_set(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *target = NULL;
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                size_t k;
                char name[32], val[PATH_MAX + 1];

                if (strncmp(a, "--", 2)) {
                        if (target) {
                                mpw_free(&w);
                                return devctl_usage(cmd);
                        }
                        target = a;
                        continue;
                }
                if (!strcmp(a, "--insecure")) {
                        mpw_kv_bool(&w, "insecure", true);
                        continue;
                }
                snprintf(name, sizeof name, "%.*s", (int)strcspn(a + 2, "="), a + 2);
                for (k = 0; k < sizeof remote_opts / sizeof *remote_opts; k++)
                        if (!strcmp(name, remote_opts[k].opt))
                                break;
                if (k == sizeof remote_opts / sizeof *remote_opts || (!strchr(a, '=') && i + 1 >= argc)) {
                        mpw_free(&w);
                        return devctl_usage(cmd);
                }
                snprintf(val, sizeof val, "%s", strchr(a, '=') ? strchr(a, '=') + 1 : argv[++i]);
                if (remote_opts[k].path) {
                        char p[PATH_MAX + 1];
                        if (abs_path(val, p, sizeof p) < 0) {
                                mpw_free(&w);
                                return devctl_usage(cmd);
                        }
                        snprintf(val, sizeof val, "%s", p);
                }
                if (!strcmp(name, "pin")) {
                        /* accept openssl's AA:BB:... fingerprint form */
                        size_t o = 0;
                        for (char *p = val; *p; p++)
                                if (*p != ':')
                                        val[o++] = *p;
                        val[o] = '\0';
                }
                mpw_kv_str(&w, remote_opts[k].arg, val);
        }
        if (!target) {
                mpw_free(&w);
                return devctl_usage(cmd);
        }
        mpw_kv_str(&w, "target", target);
        mpw_map_end(&w);
        r = devctl_call(dc, "logd", "log.remote.set", &w, true, NULL, NULL);
        mpw_free(&w);
        return r;
}

static const struct devctl_cmd log_cmds[] = {
        { .path = "log query", .svc = "logd", .method = "log.query", .fn = c_query,
          .usage = "[--category C] [--since 1h] [--until T] [--user U] [--service S] [--level L] [--text T] "
                   "[--limit N] [--cursor SEQ] [--follow] [--json|--rfc5424]",
          .help = "query the security log (oldest first; --follow streams new records)" },
        { .path = "log verify", .svc = "logd", .method = "log.segments", .fn = c_verify,
          .usage = "[--key FILE]... [--anchor FILE] [--json]",
          .help = "fetch the store and check checksums, chain, seals and their times here (the key never leaves "
                  "this host), each chain with its own key; exits 1 naming the first break" },
        { .path = "log seal init", .svc = "logd", .method = "log.seal.init", .fn = c_seal_init, .usage = "[--out FILE]",
          .help = "export the initial seal key, once (keep it off the device)" },
        { .path = "log status", .svc = "logd", .method = "log.status", .usage = "",
          .help = "store size, seals, queue, dropped records, forwarding state" },
        { .path = "log remote show", .svc = "logd", .method = "log.remote.show", .usage = "",
          .help = "remote syslog target and connection state" },
        { .path = "log remote set", .svc = "logd", .method = "log.remote.set", .fn = c_remote_set,
          .usage = "HOST:PORT --ca FILE [--name N] [--pin SHA256] [--client-cert F --client-key F] [--insecure]",
          .help = "forward to a syslog server over TLS (RFC 5425)" },
        { .path = "log remote disable", .svc = "logd", .method = "log.remote.disable", .usage = "",
          .help = "stop forwarding" },
        { NULL },
};
DEVCTL_COMMANDS(log_cmds);
