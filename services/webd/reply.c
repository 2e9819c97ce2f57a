/* reply.c - what every part of webd answers with: the headers every
 * response carries, JSON replies and errors, bus error codes as HTTP
 * statuses, and the answer that resumes a suspended request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "webd.h"

void webd_add_headers(struct MHD_Response *r, bool api)
{
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
        MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
        MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
        if (api)
                MHD_add_response_header(r, "Cache-Control", "no-store");
}

enum MHD_Result webd_reply_json(struct MHD_Connection *c, unsigned status, char *body, const char *cookie)
{
        struct MHD_Response *r;
        enum MHD_Result ret;

        if (!body)
                return MHD_NO;
        r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(body);
                return MHD_NO;
        }
        webd_add_headers(r, true);
        MHD_add_response_header(r, "Content-Type", "application/json");
        if (cookie)
                MHD_add_response_header(r, "Set-Cookie", cookie);
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

/* Escapes s into a JSON string body (no quotes). */
static void json_esc(char *out, size_t size, const char *s)
{
        size_t o = 0;

        for (; s && *s && o + 7 < size; s++) {
                unsigned char ch = (unsigned char)*s;
                if (ch == '"' || ch == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char)ch;
                } else if (ch < 0x20) {
                        o += (size_t)snprintf(out + o, size - o, "\\u%04x", ch);
                } else {
                        out[o++] = (char)ch;
                }
        }
        out[o] = 0;
}

enum MHD_Result webd_reply_error(struct MHD_Connection *c, unsigned status, const char *code, const char *field,
                                 const char *msg)
{
        char m[512], f[128], *body;

        json_esc(m, sizeof m, msg);
        json_esc(f, sizeof f, field);
        if (asprintf(&body, "{\"ok\":false,\"error\":{\"code\":\"%s\",\"msg\":\"%s\"%s%s%s}}", code, m,
                     field ? ",\"field\":\"" : "", field ? f : "", field ? "\"" : "") < 0)
                return MHD_NO;
        return webd_reply_json(c, status, body, NULL);
}

unsigned webd_http_status(int code)
{
        switch (code) {
        case 0: return MHD_HTTP_OK;
        case -EINVAL: return MHD_HTTP_BAD_REQUEST;
        case -DS_EAUTH: return MHD_HTTP_UNAUTHORIZED;
        case -EPERM: return MHD_HTTP_FORBIDDEN;
        case -ENOENT: return MHD_HTTP_NOT_FOUND;
        case -EEXIST: return MHD_HTTP_CONFLICT;
        case -DS_ELOCKED: return MHD_HTTP_LOCKED;
        case -EBUSY: return MHD_HTTP_TOO_MANY_REQUESTS;
        case -DS_EUNAVAIL:
        case -DS_EDISABLED: return MHD_HTTP_SERVICE_UNAVAILABLE;
        case -ETIMEDOUT: return MHD_HTTP_GATEWAY_TIMEOUT;
        default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
        }
}

/* {"ok":false,"error":{code,msg,field?,reason?}} from a bus error */
char *webd_error_json(const struct ds_err *e)
{
        struct mpw w;
        char *s;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_bool(&w, "ok", false);
        mpw_str(&w, "error");
        mpw_map_begin(&w);
        mpw_kv_str(&w, "code", ds_err_name(e->code));
        mpw_kv_str(&w, "msg", e->msg[0] ? e->msg : ds_err_default_msg(e->code));
        if (e->field[0])
                mpw_kv_str(&w, "field", e->field);
        if (e->reason[0])
                mpw_kv_str(&w, "reason", e->reason);
        mpw_map_end(&w);
        mpw_map_end(&w);
        s = ds_json_dumps_mpw(&w);
        mpw_free(&w);
        return s;
}

void webd_api_finish(struct webd_req *q, unsigned status, char *body)
{
        q->status = status;
        q->reply = body ? body : strdup("{\"ok\":false,\"error\":{\"code\":\"EINTERNAL\",\"msg\":\"out of memory\"}}");
        q->done = true;
        if (q->suspended) {
                q->suspended = false;
                MHD_resume_connection(q->conn);
                webd_http_kick(q->x);
        }
}
