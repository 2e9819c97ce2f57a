/* sessions.c - the session cache: operator tokens checked with authd
 * (session.check), cached briefly, dropped on revocation */
#include "broker.h"

static void session_free(void *p)
{
        struct session *s = p;

        free(s->authz);
        free(s);
}

void session_tok_hash(const msgpack_object *tok, char out[65])
{
        uint8_t h[32];

        crypto_generichash(h, sizeof h, (const uint8_t *)tok->via.str.ptr, tok->via.str.size, NULL, 0);
        ds_hex(h, sizeof h, out);
}

/* Asks authd whether a token names a live session, under busd's own id bid. */
void session_send_check(struct busd *b, struct service *authd, uint64_t bid, const char *tok, size_t tok_len)
{
        static const struct bus_stamp self = {.id = "busd", .svc = true};
        struct mpw a, w;

        mpw_init(&a);
        mpw_map_begin(&a);
        mpw_str(&a, "token");
        mpw_strn(&a, tok, tok_len);
        mpw_map_end(&a);
        mpw_init(&w);
        bus_enc_req(&w, &(struct bus_req_out){.id = bid,
                                              .m = "session.check",
                                              .t = SESSION_CHECK_TIMEOUT_MS,
                                              .args = mpw_data(&a),
                                              .args_len = mpw_len(&a),
                                              .c = &self});
        wire_send(b, authd->peer->rid, authd->peer->rid_len, mpw_data(&w), mpw_len(&w));
        mpw_wipe(&a);
        mpw_wipe(&w);
        b->st.session_checks++;
}

void session_start_check(struct busd *b, struct peer *from, struct req *q, const char *raw, size_t raw_len,
                         const char *th)
{
        struct service *authd = zhash_lookup(b->services, "authd");
        struct inflight *f;

        if (!authd || zhash_lookup(b->disabled, "authd")) {
                wire_reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -DS_EUNAVAIL, NULL,
                               "authd is not running: sessions cannot be checked");
                return;
        }
        /* a parked request holds its whole message until authd answers:
         * within a budget, or a client with ever new tokens grows busd */
        if (b->inflight.parked_bytes + raw_len > PARKED_BYTES_MAX) {
                wire_reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -EBUSY, NULL,
                               "too many requests wait for a session check: try again");
                return;
        }
        f = inflight_new(b, from, q, IF_SESSION_CHECK, "authd", SESSION_CHECK_TIMEOUT_MS);
        if (!f)
                return;
        f->parked = malloc(raw_len);
        if (!f->parked) {
                inflight_free(f);
                return;
        }
        memcpy(f->parked, raw, raw_len);
        f->parked_len = raw_len;
        b->inflight.parked_bytes += raw_len;
        memcpy(f->session_tok_hash, th, sizeof f->session_tok_hash);
        session_send_check(b, authd, f->bid, q->tok->via.str.ptr, q->tok->via.str.size);
        inflight_track(b, f);
}

/* A session from authd's session.check answer r (caller owns), NULL when unusable. */
struct session *session_from_answer(struct busd *b, const msgpack_object *r)
{
        const msgpack_object *az = mp_get(r, "authorities");
        struct session *s = calloc(1, sizeof *s);
        struct mpw w;

        if (!s)
                return NULL;
        mp_strcpy(mp_get(r, "user"), s->user, sizeof s->user);
        mp_strcpy(mp_get(r, "group"), s->group, sizeof s->group);
        mp_strcpy(mp_get(r, "sid"), s->sid, sizeof s->sid);
        mp_strcpy(mp_get(r, "source"), s->source, sizeof s->source);
        mpw_init(&w);
        mpw_arr_begin(&w);
        for (uint32_t i = 0; az && az->type == MSGPACK_OBJECT_ARRAY && i < az->via.array.size; i++) {
                const msgpack_object *o = &az->via.array.ptr[i];
                uint32_t bit = mp_is_str(o) ? ds_authz_bit(o->via.str.ptr, o->via.str.size) : 0;
                if (bit) {
                        s->bits |= bit;
                        mpw_obj(&w, o);
                }
        }
        mpw_arr_end(&w);
        s->authz = malloc(mpw_len(&w));
        if (s->authz)
                memcpy(s->authz, mpw_data(&w), mpw_len(&w));
        s->authz_len = mpw_len(&w);
        mpw_free(&w);
        if (!s->user[0] || !s->authz) {
                session_free(s);
                return NULL;
        }
        s->expires = ds_now_mono_ms() + ds_settings_int(&b->cfg, "session_cache_ms");
        return s;
}

void session_cache(struct busd *b, const char *th, struct session *s)
{
        zhash_update(b->sessions, th, s);
        zhash_freefn(b->sessions, th, session_free);
}

void session_checked(struct busd *b, struct inflight *f, const struct bus_msg *m)
{
        struct peer *client = zhash_lookup(b->peers, f->client_key);
        struct session *s;

        if (!client)
                return;
        if (!m->ok) {
                char msg[256] = "session not valid";
                mp_strcpy(mp_get(m->err, "msg"), msg, sizeof msg);
                wire_reply_err(b, f->client_rid, f->client_rid_len, f->client_id, f->client_id_len, -DS_EAUTH, NULL,
                               "%s", msg);
                return;
        }
        s = session_from_answer(b, m->r);
        if (!s) {
                wire_reply_err(b, f->client_rid, f->client_rid_len, f->client_id, f->client_id_len, -DS_EINTERNAL, NULL,
                               "authd gave an unusable session answer");
                return;
        }
        session_cache(b, f->session_tok_hash, s);
        /* resume the parked request; a zero cache time still serves this one */
        if (ds_settings_int(&b->cfg, "session_cache_ms") == 0)
                s->expires = ds_now_mono_ms() + 1;
        b->reroute(b, client, f->parked, f->parked_len);
}

/* auth.session.revoked: the cache forgets the sessions of user (everyone's
 * when user is empty); the subscribers under them are pubsub.c's. */
void session_forget(struct busd *b, const char *user)
{
        zlist_t *keys = zhash_keys(b->sessions);

        for (char *k = zlist_first(keys); k; k = zlist_next(keys)) {
                struct session *s = zhash_lookup(b->sessions, k);
                if (!user[0] || !strcmp(s->user, user))
                        zhash_delete(b->sessions, k);
        }
        zlist_destroy(&keys);
}

/* The checks taken from an authd that a new registration replaced, asked again
 * of the new one: a parked request is routed anew (it finds no cached session
 * and is checked again); a subscriber's re-check is left to the re-check of
 * every subscriber that follows authd's registration. A late answer of the old
 * authd finds no table entry and is dropped as stray. */
void session_redo_checks(struct busd *b, struct inflight *checks)
{
        while (checks) {
                struct inflight *f = checks;
                struct peer *p = zhash_lookup(b->peers, f->client_key);

                checks = f->next;
                f->next = NULL;
                if (p && f->kind == IF_SUB_RECHECK && p->ss && !strcmp(p->ss->th, f->session_tok_hash))
                        p->ss->checking = false;
                else if (p && f->kind == IF_SESSION_CHECK)
                        b->reroute(b, p, f->parked, f->parked_len);
                b->st.session_checks_redone++;
                inflight_release(b, f);
        }
}
