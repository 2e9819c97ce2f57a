/* cmd_logchain.c - devctl log verify of a store that holds more than one chain:
 * a factory reset closes the chain with a final seal and starts a new one under
 * a new key (its first segment continues no hash). Each chain is verified on
 * its own, with the key given that verifies it; every chain but the last is
 * closed and must be sealed to its end; what logd says it wrote is compared
 * with the last one only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_verify.h"
#include "util.h"

struct lseg {
        char name[48];
        char *buf;
        size_t len;
};

static int run_chain(const struct lseg *s, size_t from, size_t to, const struct seal_vkey *k,
                     const struct seal_anchor *a, const struct seal_claims *cl, bool closed, struct seal_result *res)
{
        seal_verifier_t *v = NULL;

        if (seal_verifier_new(k, a, cl, &v) < 0)
                return -ENOMEM;
        for (size_t i = from; i < to; i++)
                if (seal_verifier_segment(v, s[i].name, s[i].buf, s[i].len))
                        break;
        seal_verifier_finish(v, res);
        seal_verifier_destroy(&v);
        if (closed)
                seal_chain_closed(res);
        return 0;
}

static void print_chain(struct mpw *w, bool json, size_t c, const struct seal_result *v, bool closed, const char *id)
{
        if (json) {
                mpw_map_begin(w);
                mpw_kv_uint(w, "chain", c);
                mpw_kv_bool(w, "ok", v->kind == SEAL_V_OK);
                mpw_kv_str(w, "result", seal_vkind_name(v->kind));
                mpw_kv_uint(w, "first", v->first_seq);
                mpw_kv_uint(w, "verified_to", v->verified_to);
                mpw_kv_uint(w, "sealed_to", v->sealed_to);
                mpw_kv_uint(w, "records", v->records);
                mpw_kv_uint(w, "seals", v->seals);
                mpw_kv_bool(w, "closed", closed);
                mpw_kv_bool(w, "seals_checked", id != NULL);
                mpw_kv_str(w, "key_id", id ? id : "");
                if (v->kind != SEAL_V_OK) {
                        mpw_kv_uint(w, "at", v->at_seq);
                        mpw_kv_str(w, "detail", v->detail);
                }
                mpw_map_end(w);
                return;
        }
        if (v->kind != SEAL_V_OK) {
                printf("chain %zu: FAILED (%s) after record %llu: %s\n", c, seal_vkind_name(v->kind),
                       (unsigned long long)v->verified_to, v->detail);
                return;
        }
        printf("chain %zu: OK records %llu-%llu, ", c, (unsigned long long)v->first_seq,
               (unsigned long long)v->verified_to);
        if (closed)
                printf("closed (sealed to its end), ");
        else
                printf("sealed to %llu (%llu unsealed), ", (unsigned long long)v->sealed_to,
                       (unsigned long long)(v->verified_to - v->sealed_to));
        if (id)
                printf("seals verified with key %s\n", id);
        else
                printf("seals not checked (no key given verifies them)\n");
}

int log_verify_chains(struct devctl *dc, const char *const *keys, size_t nkeys, const char *anchor_opt)
{
        struct seal_vkey k[LOG_KEYS_MAX];
        char id[LOG_KEYS_MAX][33], adir[4096] = "", aname[256] = "";
        bool used[LOG_KEYS_MAX] = {false};
        struct seal_claims claims;
        struct bus_reply rep;
        const msgpack_object *segs;
        struct lseg *s = NULL;
        size_t n = 0, starts[64], nch = 0;
        uint64_t page;
        struct mpw w;
        bool all_ok = true;
        int r, rc = DC_OK;

        for (size_t i = 0; i < nkeys; i++) {
                if ((r = logv_read_key(keys[i], &k[i])) < 0) {
                        fprintf(stderr, "devctl: log verify: key file '%s': %s\n", keys[i],
                                r == -EINVAL ? "not a seal key (KEYHEX/START/INTERVAL from log seal init)"
                                             : strerror(-r));
                        explicit_bzero(k, sizeof k);
                        return DC_EUSAGE;
                }
                seal_vkey_id(&k[i], id[i]);
        }
        if (nkeys && logv_anchor_path(anchor_opt, adir, sizeof adir, aname, sizeof aname) < 0) {
                fprintf(stderr, "devctl: log verify: no place for the anchor file (set HOME or --anchor)\n");
                explicit_bzero(k, sizeof k);
                return DC_EUSAGE;
        }
        r = devctl_call(dc, "logd", "log.segments", NULL, true, NULL, &rep);
        if (r != DC_OK) {
                explicit_bzero(k, sizeof k);
                return r;
        }
        page = logv_claims(rep.r, &claims);
        segs = mp_get(rep.r, "segments");
        if (segs && segs->type == MSGPACK_OBJECT_ARRAY && segs->via.array.size)
                s = calloc(segs->via.array.size, sizeof *s);
        for (uint32_t i = 0; s && i < segs->via.array.size; i++) {
                const msgpack_object *g = &segs->via.array.ptr[i];
                if (mp_strcpy(mp_get(g, "name"), s[n].name, sizeof s[n].name) < 0)
                        continue;
                r = logv_fetch_segment(dc, s[n].name, (uint64_t)mp_get_int(g, "size", 0), page, &s[n].buf, &s[n].len);
                if (r != DC_OK) {
                        rc = r;
                        break;
                }
                if ((n == 0 || seal_seg_starts_chain(s[n].buf, s[n].len)) && nch < sizeof starts / sizeof *starts)
                        starts[nch++] = n;
                n++;
        }
        bus_reply_free(&rep);
        mpw_init(&w);
        mpw_map_begin(&w);
        if (rc != DC_OK)
                goto out;
        if (!dc->json)
                printf("%zu chain%s%s\n", nch, nch == 1 ? "" : "s",
                       nch > 1 ? ": the store was started anew (a factory reset closes a chain and starts one under "
                                 "a new key)"
                               : "");
        mpw_str(&w, "chains");
        mpw_arr_begin(&w);
        for (size_t c = 0; c < nch; c++) {
                size_t from = starts[c], to = c + 1 < nch ? starts[c + 1] : n;
                bool last = c + 1 == nch;
                struct seal_result v;
                struct seal_anchor a;
                bool have_a = false;
                ssize_t ki = -1;

                for (size_t j = 0; j < nkeys && ki < 0; j++) {
                        if (used[j])
                                continue;
                        if (logv_anchor_load(adir, aname, id[j], &a, &have_a) < 0)
                                have_a = false;
                        if (run_chain(s, from, to, &k[j], have_a ? &a : NULL, last ? &claims : NULL, !last, &v) < 0) {
                                rc = DC_ESERVICE;
                                goto out;
                        }
                        if (v.kind == SEAL_V_OK)
                                ki = (ssize_t)j;
                }
                if (ki < 0 && run_chain(s, from, to, NULL, NULL, last ? &claims : NULL, !last, &v) < 0) {
                        rc = DC_ESERVICE;
                        goto out;
                }
                if (ki >= 0) {
                        used[ki] = true;
                        if (v.next.seq && (!have_a || v.next.seq >= a.seq)) {
                                v.next.at_ms = ds_now_real_ms();
                                if (logv_anchor_save(adir, aname, id[ki], &v.next) < 0)
                                        fprintf(stderr, "devctl: log verify: cannot save the anchor in '%s/%s'\n", adir,
                                                aname);
                        }
                }
                if (v.kind != SEAL_V_OK)
                        all_ok = false;
                print_chain(&w, dc->json, c + 1, &v, !last, ki >= 0 ? id[ki] : NULL);
        }
        mpw_arr_end(&w);
        mpw_str(&w, "unused_keys");
        mpw_arr_begin(&w);
        for (size_t j = 0; j < nkeys; j++) {
                if (used[j])
                        continue;
                all_ok = false;
                if (dc->json)
                        mpw_str(&w, id[j]);
                else
                        printf("key %s (%s) verifies no chain of this store\n", id[j], keys[j]);
        }
        mpw_arr_end(&w);
        mpw_kv_bool(&w, "ok", all_ok);
        mpw_map_end(&w);
        if (dc->json) {
                msgpack_unpacked u;
                const char *why;
                if (mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why) == 0) {
                        devctl_print_json(stdout, &u.data);
                        fputc('\n', stdout);
                        msgpack_unpacked_destroy(&u);
                }
        }
        rc = all_ok ? DC_OK : DC_ESERVICE;
out:
        mpw_free(&w);
        for (size_t i = 0; i < n; i++)
                free(s[i].buf);
        free(s);
        explicit_bzero(k, sizeof k);
        return rc;
}
