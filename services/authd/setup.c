/* setup.c - first boot: the one-time setup code that proves auth.init is
 * made by someone with the device in hand (the label, a local console, root),
 * and auth.init itself (the admin password) */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "state.h"
#include "util.h"

/* Crockford's base32: no I, L, O, U, so a label cannot be misread. */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Upper case, without dashes and blanks, O read as 0 and I, L as 1; false
 * when what is left is not AUTHD_SETUP_CHARS characters of the alphabet. */
static bool normalise(const char *in, char out[AUTHD_SETUP_CHARS + 1])
{
        size_t n = 0;

        for (; *in; in++) {
                int c = toupper((unsigned char)*in);
                if (c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r')
                        continue;
                if (c == 'O')
                        c = '0';
                else if (c == 'I' || c == 'L')
                        c = '1';
                if (n == AUTHD_SETUP_CHARS || !c || !strchr(alphabet, c)) {
                        sodium_memzero(out, AUTHD_SETUP_CHARS + 1);
                        return false;
                }
                out[n++] = (char)c;
        }
        out[n] = '\0';
        return n == AUTHD_SETUP_CHARS;
}

static char *path_of(struct authd_ctx *a)
{
        return a->d ? path_join(a->d->statedir, AUTHD_SETUP_FILE) : NULL;
}

int authd_setup_code_new(struct authd_ctx *a, char *ret_code, size_t size)
{
        unsigned char rnd[AUTHD_SETUP_CHARS];
        char code[AUTHD_SETUP_CHARS + 8], norm[AUTHD_SETUP_CHARS + 1], *path;
        size_t n = 0;
        int r = 0;

        ds_random(rnd, sizeof rnd);
        for (size_t i = 0; i < AUTHD_SETUP_CHARS; i++) {
                if (i && i % 4 == 0)
                        code[n++] = '-';
                code[n++] = alphabet[rnd[i] & 31]; /* 256 is a multiple of 32: no bias */
        }
        code[n++] = '\n';
        code[n] = '\0';
        normalise(code, norm);
        if (a->d && (r = ds_daemon_save(a->d, AUTHD_SETUP_FILE, code, n)) < 0) {
                log_errno(r, "cannot write the setup code: %m");
                goto out;
        }
        authd_token_hash(norm, a->setup_hash);
        a->setup_failures = 0;
        if (ret_code)
                snprintf(ret_code, size, "%.*s", (int)(n - 1), code);
        path = path_of(a);
        log_audit("security", LOG_LVL_NOTICE, NULL, "new setup code written to '%s' (root only): devctl init needs it",
                  path ? path : AUTHD_SETUP_FILE);
        free(path);
out:
        sodium_memzero(rnd, sizeof rnd);
        sodium_memzero(code, sizeof code);
        sodium_memzero(norm, sizeof norm);
        return r;
}

int authd_setup_code_load(struct authd_ctx *a)
{
        char norm[AUTHD_SETUP_CHARS + 1], *buf = NULL;
        size_t len = 0;
        bool good;
        int r;

        if (a->initialised) {
                authd_setup_code_drop(a); /* left over from an init cut short */
                return 0;
        }
        /* an unused code stays the same across restarts: it may be on a label */
        r = a->d ? ds_daemon_load(a->d, AUTHD_SETUP_FILE, 256, &buf, &len) : -ENOENT;
        if (r == 0) {
                good = len == strlen(buf) && normalise(buf, norm);
                sodium_memzero(buf, len);
                free(buf);
                if (good) {
                        authd_token_hash(norm, a->setup_hash);
                        sodium_memzero(norm, sizeof norm);
                        return 0;
                }
                log_warn("the setup code file is malformed: writing a new one");
        } else if (r != -ENOENT) {
                log_errno(r, "cannot read the setup code: %m; writing a new one");
        }
        return authd_setup_code_new(a, NULL, 0);
}

bool authd_setup_code_check(struct authd_ctx *a, const char *code)
{
        char norm[AUTHD_SETUP_CHARS + 1], h[65];
        bool good;

        if (!a->setup_hash[0])
                return false;
        /* compared as digests, in constant time: the length of a guess says nothing either */
        good = normalise(code ? code : "", norm);
        authd_token_hash(good ? norm : "", h);
        good = ds_memeq(h, a->setup_hash, 64) && good;
        sodium_memzero(norm, sizeof norm);
        sodium_memzero(h, sizeof h);
        return good;
}

void authd_setup_code_drop(struct authd_ctx *a)
{
        int r;

        sodium_memzero(a->setup_hash, sizeof a->setup_hash);
        if (a->d && (r = state_remove(a->d->statedir, AUTHD_SETUP_FILE)) < 0)
                log_errno(r, "cannot remove the used setup code: %m");
}

/* ---- auth.init ---------------------------------------------------------------- */

/* The setup code of auth.init: compared in constant time; a wrong one is
 * counted and logged (rate-limited), never the code itself. */
static int check_setup_code(struct authd_ctx *a, struct ds_call *c)
{
        char *code = ds_tb_strdup(c, INIT_SETUP_CODE);
        bool good = authd_setup_code_check(a, code);

        ds_free_secret(code);
        if (good)
                return 0;
        if (!ds_tb_has(c, INIT_SETUP_CODE))
                return ds_call_fail(c, -DS_EAUTH, "setup_code",
                                    "auth.init needs the device's setup code: see its label, or run devctl init as "
                                    "root on the device");
        a->setup_failures++;
        if (a->setup_failures <= 10 || a->setup_failures % 100 == 0)
                log_audit("security", LOG_LVL_WARNING, ds_call_actor(c),
                          "auth.init refused from '%s': wrong setup code (%u so far)", authd_call_source(c), a->setup_failures);
        return ds_call_fail(c, -DS_EAUTH, "setup_code",
                            "wrong setup code: see the device's label, or run devctl init as root on the device");
}

static int init_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        struct authd_user *u;
        int r;

        /* a second auth.init, or a factory reset, may have come meanwhile */
        if (a->initialised)
                return ds_call_fail(c, -EEXIST, NULL, "the device is initialised already (factory reset first)");
        if (!a->setup_hash[0] || strcmp(a->setup_hash, j->aux))
                return ds_call_fail(c, -DS_EAUTH, "setup_code", "the setup code changed meanwhile: use the new one");
        if ((r = authd_job_hashes_made(c, j)) < 0)
                return r;
        authd_store_init(a);
        u = authd_user_add(a, "admin", "admin");
        if (!u)
                return -ENOMEM;
        u->hash = j->out[0];
        j->out[0] = NULL;
        snprintf(a->reserved_email, sizeof a->reserved_email, "%s", j->text);
        snprintf(u->email, sizeof u->email, "%s", a->reserved_email);
        a->initialised = true;
        if ((r = authd_store_save(a)) < 0) {
                authd_store_init(a);
                return ds_call_fail(c, -DS_EINTERNAL, NULL, "cannot save the account store");
        }
        authd_setup_code_drop(a); /* single use */
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "device initialised: admin password set by '%s' from '%s'",
                  ds_call_actor(c), authd_call_source(c));
        mpw_kv_str(c->r, "user", "admin");
        mpw_kv_bool(c->r, "initialised", true);
        return 0;
}

int authd_setup_init(struct authd_ctx *a, struct ds_call *c)
{
        struct authd_job *j;
        int r;

        if (a->initialised)
                return ds_call_fail(c, -EEXIST, NULL, "the device is initialised already (factory reset first)");
        /* before any hashing: only who holds the device's setup code may take it */
        if ((r = check_setup_code(a, c)) < 0 || (r = authd_passwd_job(a, c, "admin", INIT_PASSWORD, "password", &j)) < 0)
                return r;
        j->done = init_done;
        snprintf(j->aux, sizeof j->aux, "%s", a->setup_hash);
        ds_tb_str(c, INIT_EMAIL, j->text, sizeof j->text);
        return authd_job_run(a, c, j);
}

