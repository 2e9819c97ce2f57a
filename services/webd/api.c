/* api.c - the JSON API: a thin gateway from HTTP to bus calls made under the
 * browser user's session (the cookie). Every authority and ACL check stays in
 * busd and the services; webd checks only what is HTTP's: Origin, the CSRF
 * token, JSON, sizes. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "log.h"
#include "util.h"
#include "webd.h"

enum { K_CALL = 1, K_LOGIN, K_LOGOUT, K_INIT, K_WHOAMI, K_STATUS, K_PWCHECK };

void webd_csrf_token(const struct webd_ctx *x, const char *tok, char out[65])
{
        unsigned char mac[crypto_auth_hmacsha256_BYTES];

        crypto_auth_hmacsha256(mac, (const unsigned char *)tok, strlen(tok), x->csrf_key);
        ds_hex(mac, sizeof mac, out);
}

static bool token_ok(const char *t, size_t n)
{
        if (!n || n > BUS_TOKEN_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f || t[i] == ';' || t[i] == ',' ||
                    t[i] == '"' || t[i] == '\\')
                        return false;
        return true;
}

bool webd_cookie_token(struct MHD_Connection *c, char *buf, size_t size)
{
        const char *v = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, WEBD_COOKIE);
        size_t n = v ? strlen(v) : 0;

        if (!v || !token_ok(v, n) || n + 1 > size)
                return false;
        memcpy(buf, v, n + 1);
        return true;
}

void webd_req_free(struct webd_req *q)
{
        if (!q)
                return;
        if (q->pending)
                q->pending->q = NULL;
        free(q->body);
        free(q->reply);
        free(q->cookie);
        free(q);
}

/* The login's answer without the token (it goes only into the cookie), with
 * the CSRF token the page sends back in a header. */
static char *login_json(const struct webd_ctx *x, const msgpack_object *r, const char *tok)
{
        struct mpw w;
        char csrf[65], *s;

        mpw_init(&w);
        mpw_map_begin(&w);
        if (r && r->type == MSGPACK_OBJECT_MAP)
                for (uint32_t i = 0; i < r->via.map.size; i++) {
                        const msgpack_object *k = &r->via.map.ptr[i].key;
                        if (mp_streq(k, "token") || mp_streq(k, "csrf"))
                                continue;
                        mpw_obj(&w, k);
                        mpw_obj(&w, &r->via.map.ptr[i].val);
                }
        if (tok) {
                webd_csrf_token(x, tok, csrf);
                mpw_kv_str(&w, "csrf", csrf);
        }
        mpw_map_end(&w);
        s = ds_json_dumps_mpw(&w);
        mpw_free(&w);
        sodium_memzero(csrf, sizeof csrf);
        return s;
}

static void on_reply(void *ud, const struct bus_reply *rep)
{
        struct webd_pending *p = ud;
        struct webd_req *q = p->q;

        if (!q) {
                free(p);
                return;
        }
        q->pending = NULL;
        if (rep->code < 0) {
                webd_api_finish(q, webd_http_status(rep->code), webd_error_json(&rep->err));
        } else if (p->kind == K_LOGIN) {
                char tok[BUS_TOKEN_MAX + 1];
                const msgpack_object *t = mp_get(rep->r, "token");

                if (!t || mp_strcpy(t, tok, sizeof tok) < 0 || !token_ok(tok, strlen(tok))) {
                        struct ds_err e = { .code = -DS_EINTERNAL };
                        snprintf(e.msg, sizeof e.msg, "authd answered without a usable token");
                        webd_api_finish(q, MHD_HTTP_INTERNAL_SERVER_ERROR, webd_error_json(&e));
                } else {
                        q->x->logins++;
                        if (asprintf(&q->cookie, WEBD_COOKIE "=%s; Secure; HttpOnly; SameSite=Strict; Path=/", tok) < 0)
                                q->cookie = NULL;
                        webd_api_finish(q, MHD_HTTP_OK, login_json(q->x, rep->r, tok));
                }
                sodium_memzero(tok, sizeof tok);
        } else if (p->kind == K_LOGOUT) {
                q->cookie = strdup(WEBD_COOKIE "=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
                webd_api_finish(q, MHD_HTTP_OK, strdup("{\"ok\":true}"));
        } else if (p->kind == K_WHOAMI) {
                char tok[BUS_TOKEN_MAX + 1];
                bool have = webd_cookie_token(q->conn, tok, sizeof tok);
                webd_api_finish(q, MHD_HTTP_OK, login_json(q->x, rep->r, have ? tok : NULL));
                sodium_memzero(tok, sizeof tok);
        } else {
                webd_api_finish(q, MHD_HTTP_OK, rep->r ? ds_json_dumps(rep->r) : strdup("{}"));
        }
        free(p);
}

static enum MHD_Result call(struct webd_req *q, int kind, const char *svc, const char *method, const struct mpw *args,
                            const char *tok)
{
        struct webd_pending *p = calloc(1, sizeof *p);

        if (!p)
                return MHD_NO;
        p->q = q;
        p->kind = kind;
        if (bus_call(q->x->gw, svc, method, args, tok, 10000, on_reply, p) < 0) {
                free(p);
                q->done = true;
                return webd_reply_error(q->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "EUNAVAIL", NULL,
                                        "the bus is not reachable");
        }
        q->pending = p;
        q->suspended = true;
        MHD_suspend_connection(q->conn);
        return MHD_YES;
}

/* Origin must be this very site: https://<Host>. */
static bool origin_ok(struct webd_req *q)
{
        const char *o = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Origin");
        const char *h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Host");
        const char *sfs = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
        const char *want = q->x->origin_host[0] ? q->x->origin_host : h;

        if (!o || !want || strncmp(o, "https://", 8) || strcasecmp(o + 8, want))
                return false;
        if (sfs && strcmp(sfs, "same-origin"))
                return false;
        return true;
}

static bool csrf_ok(struct webd_req *q, const char *tok)
{
        const char *h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, WEBD_CSRF_HEADER);
        char want[65];
        bool ok;

        if (!h || strlen(h) != 64)
                return false;
        webd_csrf_token(q->x, tok, want);
        ok = sodium_memcmp(want, h, 64) == 0;
        sodium_memzero(want, sizeof want);
        return ok;
}

static bool json_type(struct webd_req *q)
{
        const char *ct = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Content-Type");
        size_t n = strlen("application/json");

        return ct && !strncasecmp(ct, "application/json", n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

/* The body as a msgpack map; 0, or a reply was queued. */
static int body_map(struct webd_req *q, struct mpw *w, msgpack_unpacked *u, enum MHD_Result *ret)
{
        char err[160];

        mpw_init(w);
        msgpack_unpacked_init(u);
        if (ds_json_to_mp(q->body ? q->body : "{}", q->body ? q->body_len : 2, w, err, sizeof err) < 0 ||
            msgpack_unpack_next(u, mpw_data(w), mpw_len(w), NULL) != MSGPACK_UNPACK_SUCCESS ||
            u->data.type != MSGPACK_OBJECT_MAP) {
                q->done = true;
                *ret = webd_reply_error(q->conn, MHD_HTTP_BAD_REQUEST, "EINVAL", "body",
                                        q->body ? (err[0] ? err : "must be a JSON object") : "empty body");
                return -EINVAL;
        }
        return 0;
}

/* Copies the listed keys of a map (strings only) into a new args map. */
static void pick(struct mpw *out, const msgpack_object *m, const char *const *keys)
{
        mpw_init(out);
        mpw_map_begin(out);
        for (size_t i = 0; keys[i]; i++) {
                const msgpack_object *v = mp_get(m, keys[i]);
                if (v) {
                        mpw_str(out, keys[i]);
                        mpw_obj(out, v);
                }
        }
}

enum MHD_Result webd_api(struct webd_req *q, const char *method, const char *url)
{
        struct webd_ctx *x = q->x;
        bool post = !strcmp(method, "POST");
        char tok[BUS_TOKEN_MAX + 1];
        bool have_tok = webd_cookie_token(q->conn, tok, sizeof tok);
        enum MHD_Result ret = MHD_NO;
        struct mpw w, args;
        msgpack_unpacked u;
        static const char *const login_keys[] = { "user", "password", "new_password", NULL };
        static const char *const init_keys[] = { "password", "setup_code", "email", NULL };
        static const char *const pwcheck_keys[] = { "password", "user", NULL };

        if (q->done && q->reply) {
                /* resumed: the answer is here */
                q->done = true;
                ret = webd_reply_json(q->conn, q->status, q->reply, q->cookie);
                q->reply = NULL;
                goto out;
        }
        q->done = true;
        if (!strcmp(url, "/api/v1/status") && !post) {
                ret = call(q, K_STATUS, "authd", "auth.status", NULL, NULL);
                goto out;
        }
        if (!strcmp(url, "/api/v1/whoami") && !post) {
                if (!have_tok)
                        ret = webd_reply_error(q->conn, MHD_HTTP_UNAUTHORIZED, "EAUTH", NULL, "not logged in");
                else
                        ret = call(q, K_WHOAMI, "authd", "session.whoami", NULL, tok);
                goto out;
        }
        if (!strcmp(url, "/api/v1/audit") && !post) {
                const char *lv = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "level");
                if (!have_tok)
                        ret = webd_reply_error(q->conn, MHD_HTTP_UNAUTHORIZED, "EAUTH", NULL, "not logged in");
                else if (lv && (strlen(lv) != 1 || lv[0] < '1' || lv[0] > '3'))
                        ret = webd_reply_error(q->conn, MHD_HTTP_BAD_REQUEST, "EINVAL", "level",
                                               "protection level 1-3");
                else
                        ret = webd_api_audit(q, tok, lv ? lv[0] - '0' : 1);
                goto out;
        }
        if (!strcmp(url, "/api/v1/events") && !post) {
                const char *topic = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "topic");
                if (!have_tok)
                        ret = webd_reply_error(q->conn, MHD_HTTP_UNAUTHORIZED, "EAUTH", NULL, "not logged in");
                else
                        ret = webd_events(q, tok, topic ? topic : "log.");
                goto out;
        }
        if (!post) {
                ret = strncmp(url, "/api/v1/", 8) || (strcmp(url, "/api/v1/login") && strcmp(url, "/api/v1/logout") &&
                                                      strcmp(url, "/api/v1/init") && strcmp(url, "/api/v1/call") &&
                                                      strcmp(url, "/api/v1/password-check"))
                              ? webd_reply_error(q->conn, MHD_HTTP_NOT_FOUND, "ENOENT", "url", "no such API")
                              : webd_reply_error(q->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "EINVAL", "method", "POST only");
                goto out;
        }
        /* every POST changes state: the Origin must be ours, the body JSON */
        if (!origin_ok(q)) {
                x->refused_csrf++;
                log_audit("security", LOG_LVL_WARNING, "webd", "web request from %s refused: foreign or missing Origin",
                          q->source);
                ret = webd_reply_error(q->conn, MHD_HTTP_FORBIDDEN, "EPERM", "Origin", "cross-site request refused");
                goto out;
        }
        if (!json_type(q)) {
                ret = webd_reply_error(q->conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "EINVAL", "Content-Type",
                                       "the API takes application/json only");
                goto out;
        }
        if (!strcmp(url, "/api/v1/login") || !strcmp(url, "/api/v1/init")) {
                bool login = url[8] == 'l';
                if (body_map(q, &w, &u, &ret) < 0)
                        goto out_w;
                pick(&args, &u.data, login ? login_keys : init_keys);
                if (login)
                        mpw_kv_str(&args, "source", q->source);
                mpw_map_end(&args);
                ret = call(q, login ? K_LOGIN : K_INIT, "authd", login ? "session.login" : "auth.init", &args, NULL);
                mpw_wipe(&args);
                goto out_w;
        }
        /* the policy's verdict on a password being typed */
        if (!strcmp(url, "/api/v1/password-check")) {
                if (body_map(q, &w, &u, &ret) < 0)
                        goto out_w;
                pick(&args, &u.data, pwcheck_keys);
                mpw_map_end(&args);
                /* with a session policy.check; without one only before the device is
                 * initialised (first boot), where authd answers policy.precheck */
                ret = call(q, K_PWCHECK, "authd", have_tok ? "policy.check" : "policy.precheck", &args,
                           have_tok ? tok : NULL);
                mpw_wipe(&args);
                goto out_w;
        }
        if (strcmp(url, "/api/v1/logout") && strcmp(url, "/api/v1/call")) {
                ret = webd_reply_error(q->conn, MHD_HTTP_NOT_FOUND, "ENOENT", "url", "no such API");
                goto out;
        }
        if (!have_tok) {
                ret = webd_reply_error(q->conn, MHD_HTTP_UNAUTHORIZED, "EAUTH", NULL, "not logged in");
                goto out;
        }
        if (!csrf_ok(q, tok)) {
                x->refused_csrf++;
                log_audit("security", LOG_LVL_WARNING, "webd", "web request from %s refused: missing or wrong CSRF token",
                          q->source);
                ret = webd_reply_error(q->conn, MHD_HTTP_FORBIDDEN, "EPERM", WEBD_CSRF_HEADER, "CSRF token missing or wrong");
                goto out;
        }
        if (!strcmp(url, "/api/v1/logout")) {
                ret = call(q, K_LOGOUT, "authd", "session.logout", NULL, tok);
                goto out;
        }
        if (body_map(q, &w, &u, &ret) < 0)
                goto out_w;
        {
                const msgpack_object *svc = mp_get(&u.data, "service"), *m = mp_get(&u.data, "method"),
                                     *a = mp_get(&u.data, "args");
                char s[BUS_NAME_MAX + 1], mn[BUS_NAME_MAX * 2 + 2];

                if (!svc || mp_strcpy(svc, s, sizeof s) < 0 || !s[0]) {
                        ret = webd_reply_error(q->conn, MHD_HTTP_BAD_REQUEST, "EINVAL", "service", "a service name");
                } else if (!m || mp_strcpy(m, mn, sizeof mn) < 0 || !mn[0]) {
                        ret = webd_reply_error(q->conn, MHD_HTTP_BAD_REQUEST, "EINVAL", "method", "a method name");
                } else if (a && a->type != MSGPACK_OBJECT_MAP && a->type != MSGPACK_OBJECT_NIL) {
                        ret = webd_reply_error(q->conn, MHD_HTTP_BAD_REQUEST, "EINVAL", "args", "must be an object");
                } else {
                        mpw_init(&args);
                        if (a && a->type == MSGPACK_OBJECT_MAP)
                                mpw_obj(&args, a);
                        else {
                                mpw_map_begin(&args);
                                mpw_map_end(&args);
                        }
                        x->calls++;
                        ret = call(q, K_CALL, s, mn, &args, tok);
                        mpw_wipe(&args);
                }
        }
out_w:
        msgpack_unpacked_destroy(&u);
        mpw_wipe(&w);
out:
        sodium_memzero(tok, sizeof tok);
        return ret;
}
