/* authd.h - accounts, groups/authorities, password policy and hashing, sessions, lockout */
#pragma once
#include <pwquality.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include "service.h"
#include "util.h"

/* The methods' arguments, by their index in methods.c's tables. Tables that
 * share helpers share an enum: user.set's is user.add's without the password
 * (last), name_args is name_pw_args without it, group.add's is group.set's
 * without new_name; every "name" is at 0. */
enum { INIT_PASSWORD, INIT_SETUP_CODE, INIT_EMAIL, INIT_N };
enum { LOGIN_USER, LOGIN_PASSWORD, LOGIN_SOURCE, LOGIN_MAC, LOGIN_NEW_PASSWORD, LOGIN_N };
enum { PASSWD_SELF_OLD_PASSWORD, PASSWD_SELF_NEW_PASSWORD, PASSWD_SELF_N };
enum {
        USER_NAME,
        USER_GROUP,
        USER_MEMO,
        USER_EMAIL,
        USER_MAC,
        USER_NOT_BEFORE,
        USER_NOT_AFTER,
        USER_ENABLED,
        USER_PASSWORD,
        USER_N,
};
enum { NAME_NAME, NAME_PASSWORD, NAME_N };
enum { GROUP_NAME, GROUP_AUTHORITIES, GROUP_NEW_NAME, GROUP_N };
enum { ONVIF_NAME, ONVIF_LEVEL, ONVIF_PASSWORD, ONVIF_N };
enum { POLICY_CHECK_PASSWORD, POLICY_CHECK_USER, POLICY_CHECK_N };
enum { POLICY_SET_PROFILE, POLICY_SET_MIN_LENGTH, POLICY_SET_HISTORY, POLICY_SET_MAX_AGE_DAYS };
enum { RESET_SETUP_EMAIL, RESET_SETUP_QUESTIONS, RESET_SETUP_N };
enum { RESET_REQUEST_USER, RESET_REQUEST_N };
enum { RESET_CONFIRM_USER, RESET_CONFIRM_CODE, RESET_CONFIRM_ANSWERS, RESET_CONFIRM_NEW_PASSWORD, RESET_CONFIRM_N };


#define AUTHD_NAME_MAX 32
#define AUTHD_SRC_MAX 63
#define AUTHD_LOCK_NAME_MAX 40 /* a user name, or "reset:" and a user name */
#define AUTHD_MEMO_MAX 128
#define AUTHD_EMAIL_MAX 128
#define AUTHD_HISTORY_MAX 24
#define AUTHD_QUESTIONS_MAX 3
#define AUTHD_LOCK_SOURCES 8
#define AUTHD_LOCKS_MAX 4096
#define AUTHD_TOKEN_BYTES 32
#define AUTHD_NOT_INIT_MSG "device not initialised: run devctl init"
#define AUTHD_SETUP_FILE "setup-code" /* in authd's state dir, 0600 */
#define AUTHD_SETUP_CHARS 16          /* base32: 80 bits, written XXXX-XXXX-XXXX-XXXX */
/* Records for names that are no account live in a table of their own: a flood
 * of made-up names evicts only its own kind, never a real account's record. */
#define AUTHD_UNKNOWN_LOCKS_MAX 4096
#define AUTHD_RATE_BUCKETS 2048 /* per-source login token buckets */
#define AUTHD_RATE_KEY_MAX (AUTHD_SRC_MAX + 2)
#define AUTHD_FRONT_ENDS_MAX 8
#define AUTHD_SOURCE_LOCAL "local"
#define AUTHD_ANON_USER "anonymous" /* the name of anonymous sessions, reserved */
#define AUTHD_SESSIONS_FILE "sessions.mp" /* in authd's state dir, 0600 */
#define AUTHD_SESSIONS_KEPT_MAX 4096       /* sessions read back at most */

/* ---- policy.c: password rules (pure) ------------------------------------- */

struct authd_policy {
        const char *profile; /* vendor, nist, strict */
        int min_len, max_len; /* characters (UTF-8 code points) */
        bool composition;     /* classes, forbidden characters, runs */
        int history;          /* remembered previous passwords (0: none) */
        int max_age_days;     /* 0: never expires */
        bool dictionary;
};

/* The effective policy of a profile and the settings that tune it: a setting
 * can make a profile stricter, never looser. */
void authd_policy_from(const char *profile, int64_t min_len, int64_t max_len, int64_t history,
                       int64_t max_age_days, struct authd_policy *ret);
/* 0 when pw is acceptable for user; else -EINVAL with *ret_rule the rule's
 * name and why a sentence for the operator. pwq NULL skips the dictionary. */
typedef struct authd_dict authd_dict_t;
int authd_policy_check(const struct authd_policy *p, authd_dict_t *pwq, const char *user,
                       const char *pw, const char **ret_rule, char *why, size_t why_size);
/* dict.c: the dictionary rule, libpwquality loaded for each check only.
 * NULL (logged) when the library cannot be loaded. */
authd_dict_t *authd_dict_new(void);
void authd_dict_free(authd_dict_t **d);
/* 1 when pw is rejected (why says so; also when the library cannot be
 * loaded: fail closed), 0 when it passes. */
int authd_dict_check(authd_dict_t *d, const char *pw, char *why, size_t size);
/* How many checks loaded the library (tests). */
int authd_dict_loads(const authd_dict_t *d);
struct authd_ctx;
int authd_policy_check_call(struct authd_ctx *a, struct ds_call *c);

/* ---- hash.c: Argon2id -------------------------------------------------------- */

struct authd_cost {
        uint64_t opslimit;
        size_t memlimit; /* bytes */
};
/* Hashes pw into a PHC string ($argon2id$v=19$m=..,t=..,p=1$salt$hash): caller owns. */
char *authd_hash(const char *pw, const struct authd_cost *cost);
bool authd_hash_verify(const char *hash, const char *pw);
/* True when hash was made with other parameters than cost. */
bool authd_hash_needs_rehash(const char *hash, const struct authd_cost *cost);
/* Token and one-time code digests (fast, keyed by nothing: the inputs are random). */
void authd_token_hash(const char *tok, char out[65]);

/* ---- pool.c: Argon2id off the event loop ------------------------------------------
 * A job is a small program run by a worker thread: verify every `must` check
 * (all of them, whatever the first says: the time names nothing), then, when
 * they all matched, the `none` checks in order (stopping at the first that
 * matches: a reused password), then, when none matched, hash the secrets
 * listed in `hash`. The loop fills a job from copies (the worker never sees
 * the account store), submits it, and finishes the call in `done`, back on the
 * loop, where it re-checks the store before it changes anything. */

#define AUTHD_JOB_SECRETS 4
#define AUTHD_JOB_MUST AUTHD_QUESTIONS_MAX
#define AUTHD_JOB_NONE (AUTHD_HISTORY_MAX + 1)
#define AUTHD_JOB_HASH AUTHD_QUESTIONS_MAX
#define AUTHD_HASH_WORKERS_MAX 64
/* A hash worker without a job for this long ends (the next job starts one) */
#define AUTHD_POOL_IDLE_MS 2000
/* Bounds of the Argon2id cost: the settings', and what an imported hash may use */
#define AUTHD_HASH_OPS_MIN 1
#define AUTHD_HASH_OPS_MAX 16
#define AUTHD_HASH_MEM_KIB_MIN 8
#define AUTHD_HASH_MEM_KIB_MAX 1048576

struct authd_ctx;

struct authd_job_check {
        char *hash; /* copy of a stored hash (NULL never matches) */
        int secret; /* index into secret[] */
};

struct authd_job;
/* Runs on the loop when the job's hashing is over. c is the call to answer
 * (the detached one, or the handler's own when there is no pool); NULL for a
 * job that answers nobody. Returns the call's code (0, -errno or DS_DEFER). */
typedef int (*authd_job_fn)(struct authd_ctx *a, struct ds_call *c, struct authd_job *j);

struct authd_job {
        /* work (filled on the loop; read by one worker) */
        char *secret[AUTHD_JOB_SECRETS]; /* wiped by the worker once used */
        char *keep; /* a secret the completion needs (a new password): wiped and freed with the job */
        struct authd_job_check must[AUTHD_JOB_MUST];
        int n_must;
        struct authd_job_check none[AUTHD_JOB_NONE];
        int n_none;
        int hash[AUTHD_JOB_HASH]; /* secrets to hash */
        int n_hash;
        struct authd_cost cost;
        /* results (written by the worker) */
        bool must_ok;    /* every must check matched (true when there is none) */
        int none_hit;    /* index of the first none check that matched, else -1 */
        char *out[AUTHD_JOB_HASH]; /* new hashes, NULL when not made; done may take them */
        bool hash_failed;          /* a hash was asked for and could not be made */
        /* completion (loop only) */
        authd_job_fn done;
        struct ds_call *call;
        struct authd_job *next;
        /* what the handler needs again at completion */
        char name[AUTHD_NAME_MAX + 1];
        char src[AUTHD_SRC_MAX + 1];
        char key[AUTHD_RATE_KEY_MAX + 1];
        char lock_name[AUTHD_LOCK_NAME_MAX + 1]; /* counted as an attempt in flight ("" none) */
        char mac[18];
        char group[AUTHD_NAME_MAX + 1];
        char text[AUTHD_EMAIL_MAX + 1]; /* e-mail, ONVIF level... */
        char aux[65];                   /* a digest to compare at completion */
        unsigned char digest[32];       /* the account's secrets when the job was made */
        bool front, flag;
        int n;
        void *extra; /* handler data, freed with free() */
};

typedef struct authd_pool authd_pool_t;

struct authd_pool_stats {
        int workers; /* the bound */
        int threads; /* running now: 0 when idle, up to workers under load */
        size_t queued, running, queue_max;
        uint64_t done, full; /* jobs completed, refused because the queue was full */
};

/* A pool of at most workers threads (lower scheduling priority than the
 * loop) that take jobs from a queue of at most queue_max waiting; completions
 * come back through an eventfd polled by loop. Threads start when jobs wait
 * and none is idle, and end after AUTHD_POOL_IDLE_MS idle. NULL on error
 * (errno set). */
authd_pool_t *authd_pool_new(struct authd_ctx *a, zloop_t *loop, int workers, size_t queue_max);
/* Stops the workers (after the hashes they are on), completes the finished
 * jobs and answers the waiting ones EUNAVAIL. */
void authd_pool_destroy(authd_pool_t **p);
/* Changes the worker bound and the queue bound (settings reload). */
int authd_pool_resize(authd_pool_t *p, int workers, size_t queue_max);
/* How long an idle worker waits for a job before it ends (tests). */
void authd_pool_set_idle(authd_pool_t *p, int ms);
void authd_pool_stats(const authd_pool_t *p, struct authd_pool_stats *ret);
/* Is there room for one more job? (The loop is the only producer.) */
bool authd_pool_has_room(const authd_pool_t *p);
/* Takes ownership of j, 0; the queue must have room. -errno (j not taken)
 * when no worker runs and none can be started. */
int authd_pool_submit(authd_pool_t *p, struct authd_job *j);
/* The work of a job, on the calling thread. */
void authd_job_work(struct authd_job *j);
struct authd_job *authd_job_new(void);
/* Adds a copy of s as a secret; its index, or -ENOMEM. */
int authd_job_secret(struct authd_job *j, const char *s);
int authd_job_must(struct authd_job *j, const char *hash, int secret);
int authd_job_none(struct authd_job *j, const char *hash, int secret);
void authd_job_free(struct authd_job **j);
/* Attempts on a lock name being hashed (so that parallel ones get no more
 * tries than serial ones would). */
int authd_pending(struct authd_ctx *a, const char *name);
int authd_pending_add(struct authd_ctx *a, const char *name);
void authd_pending_release(struct authd_ctx *a, const char *name);
/* One per online CPU. */
int authd_cpus(void);
/* Hands j to the pool (the call answers later: DS_DEFER) or, without a pool,
 * runs it at once. A full queue answers EBUSY: nothing waits unbounded.
 * Takes ownership of j. */
int authd_job_run(struct authd_ctx *a, struct ds_call *c, struct authd_job *j);
/* 0 when the hashes j was asked for were made; else answers c EINTERNAL. */
int authd_job_hashes_made(struct ds_call *c, const struct authd_job *j);

/* ---- users.c: the account store --------------------------------------------- */

struct authd_group {
        char name[AUTHD_NAME_MAX + 1];
        uint32_t authz;
        bool builtin;
};

struct authd_reset {
        char code_hash[65];
        int64_t expires_ms;
        int tries;
};

struct authd_user {
        char name[AUTHD_NAME_MAX + 1];
        char group[AUTHD_NAME_MAX + 1];
        char *hash;
        char *history[AUTHD_HISTORY_MAX]; /* previous hashes, newest first */
        int n_history;
        bool enabled;
        char mac[18];
        int64_t not_before_ms, not_after_ms; /* 0: none */
        char memo[AUTHD_MEMO_MAX + 1];
        char email[AUTHD_EMAIL_MAX + 1];
        int64_t pw_changed_ms, created_ms;
        char *question[AUTHD_QUESTIONS_MAX];
        char *answer_hash[AUTHD_QUESTIONS_MAX];
        int n_questions;
        struct authd_reset reset; /* in memory only */
};

struct authd_onvif {
        char name[AUTHD_NAME_MAX + 1];
        char *hash;
        char level[16];
};

struct authd_lock_src {
        char src[AUTHD_SRC_MAX + 1];
        int n;
        int64_t last_ms;
};

struct authd_lock {
        char name[AUTHD_LOCK_NAME_MAX + 1];
        int total;      /* consecutive failures from any source */
        int level;      /* locks so far: the next lasts lockout_s << level */
        int64_t until_ms;
        bool hard;      /* until an administrator unlocks (cap reached or user.lock) */
        bool by_admin;
        int64_t last_ms;
        int refused; /* attempts refused while locked (memory only, for rate-limited records) */
        struct authd_lock_src src[AUTHD_LOCK_SOURCES];
        bool unknown; /* the name is no account (nor "reset:" of one): kept in the bounded second table */
};

/* A login token bucket: "s:SOURCE" for a source a front end vouched for,
 * "n:USER" for local attempts (so that one local guesser throttles only the
 * names it tries). Tokens in thousandths. */
struct authd_bucket {
        char key[AUTHD_RATE_KEY_MAX + 1];
        int64_t milli;
        int64_t last_ms;
};

struct authd_ratecfg {
        int rate;  /* tokens per second */
        int burst; /* bucket size */
};

struct authd_session {
        char sid[17];
        char th[65]; /* hash of the token; the token itself is never kept */
        char user[AUTHD_NAME_MAX + 1];
        char source[AUTHD_SRC_MAX + 1];
        char client[AUTHD_NAME_MAX + 1];
        int64_t login_ms, last_ms, expires_ms;
        bool anonymous;
        int64_t saved_last_ms; /* last_ms as last written to sessions.mp */
};

struct authd_lockcfg {
        int attempts;     /* per user and source before a lock */
        int64_t lock_ms;  /* first lock */
        int64_t max_ms;   /* cap of the doubling */
        int total_cap;    /* failures that disable until an admin unlocks */
};

struct authd_ctx {
        struct ds_daemon *d;
        int64_t (*now)(void); /* real-time ms; tests replace it */
        bool initialised;
        char setup_hash[65]; /* digest of the setup code auth.init needs; "" once used */
        unsigned setup_failures;
        char reserved_email[AUTHD_EMAIL_MAX + 1];
        struct authd_group *groups;
        size_t n_groups;
        struct authd_user *users;
        size_t n_users;
        struct authd_onvif *onvif;
        size_t n_onvif;
        struct authd_lock *locks;
        size_t n_locks;
        zhash_t *sessions; /* th -> struct authd_session */
        /* effective settings */
        struct authd_policy policy;
        struct authd_cost cost;
        struct authd_lockcfg lockcfg;
        int64_t idle_ms, lifetime_ms;
        int max_sessions, max_per_user;
        bool anonymous, password_reset;
        int64_t reset_ttl_ms;
        char *dummy_hash; /* verified for unknown users so that timing stays uniform */
        authd_dict_t *pwq;
        int sweep_timer;
        /* login rate limit, trusted front ends (appended) */
        struct authd_ratecfg ratecfg;
        struct authd_bucket buckets[AUTHD_RATE_BUCKETS];
        size_t n_buckets;
        uint64_t rate_refused;      /* attempts refused by the rate limit since start */
        uint64_t rate_unlogged;     /* refusals not yet in a log record */
        int64_t rate_logged_ms;     /* time of the last rate-limit record */
        char front_ends[AUTHD_FRONT_ENDS_MAX][BUS_NAME_MAX + 1]; /* identities that may vouch for source/mac */
        size_t n_front_ends;
        int lock_save_timer;        /* a coalesced save of locks.mp is pending */
        /* hashing off the loop (appended) */
        authd_pool_t *pool;         /* NULL: jobs run inline (unit tests, before start) */
        int hash_workers;           /* effective (0 in the setting: one per CPU) */
        size_t hash_queue;
        zhash_t *pending;           /* lock name -> attempts being hashed (int *) */
        uint64_t pending_refused;   /* attempts refused: as many in flight as the lock allows */
        int session_save_timer;     /* a coalesced save of sessions.mp is pending */
        bool sessions_dirty;
};

/* users.c */
void authd_store_init(struct authd_ctx *a);  /* built-in groups, no users */
void authd_store_clear(struct authd_ctx *a); /* frees everything kept */
struct authd_group *authd_group_find(struct authd_ctx *a, const char *name);
struct authd_user *authd_user_find(struct authd_ctx *a, const char *name);
/* Past its lifetime or idle too long (sessions.c: the one rule). */
bool authd_session_expired(const struct authd_ctx *a, const struct authd_session *s, int64_t now);
struct authd_onvif *authd_onvif_find(struct authd_ctx *a, const char *name);
/* The i-th built-in group's name (admin, operator, viewer), NULL past the last. */
const char *authd_builtin_group(size_t i);
/* Appends a copy of g; NULL when out of memory. Pointers into the store
 * (finds, adds) last until the next add or remove. */
struct authd_group *authd_group_add(struct authd_ctx *a, const struct authd_group *g);
void authd_group_remove(struct authd_ctx *a, struct authd_group *g);
struct authd_user *authd_user_add(struct authd_ctx *a, const char *name, const char *group);
void authd_user_remove(struct authd_ctx *a, struct authd_user *u);
/* Appends a copy of v, taking its hash; NULL when out of memory (the hash
 * stays the caller's). Remove frees the hash. */
struct authd_onvif *authd_onvif_add(struct authd_ctx *a, const struct authd_onvif *v);
void authd_onvif_remove(struct authd_ctx *a, struct authd_onvif *v);
/* Enabled members of groups holding every authority, not counting except. */
int authd_admins_left(struct authd_ctx *a, const struct authd_user *except);
/* Replaces u's hash, keeping history as the policy asks. Takes ownership of hash. */
void authd_user_set_hash(struct authd_ctx *a, struct authd_user *u, char *hash);
/* Digest of u's password hash, history and answer hashes: a job made from
 * them compares it at completion to see that nothing changed meanwhile. */
void authd_user_digest(const struct authd_user *u, unsigned char out[32]);
uint32_t authd_user_authz(struct authd_ctx *a, const struct authd_user *u);
void authd_write_authorities(struct mpw *w, uint32_t bits);
/* store.c: msgpack (de)serialisation of the account store; every hash goes through
 * ds_export_secret(), so only authd's own file (secrets on) carries them. */
void authd_store_write(struct authd_ctx *a, struct ds_export *x);
/* Replaces the store with authd's own file as written. */
int authd_store_read(struct authd_ctx *a, const msgpack_object *o, struct ds_err *e);
/* config.import: all or nothing, with the live methods' checks (built-in
 * groups, the last administrator, names, hash parameters...); an account or
 * ONVIF user given without hashes keeps the ones it has here (by name), a new
 * one without is refused. Saved before it is taken; a untouched on error. */
int authd_store_import(struct authd_ctx *a, const msgpack_object *o, struct ds_err *e);
/* authd_store_import()'s checks alone: a untouched, nothing saved. */
int authd_store_check(struct authd_ctx *a, const msgpack_object *o, struct ds_err *e);
int authd_store_save(struct authd_ctx *a);

/* setup.c: the one-time code of auth.init, in <statedir>/authd/setup-code */
/* Makes a new code (file 0600; ret_code, when not NULL, gets it for tests). */
int authd_setup_code_new(struct authd_ctx *a, char *ret_code, size_t size);
/* At start: an uninitialised device keeps its unused code or gets one. */
int authd_setup_code_load(struct authd_ctx *a);
bool authd_setup_code_check(struct authd_ctx *a, const char *code);
/* Used: forgotten and its file removed. */
void authd_setup_code_drop(struct authd_ctx *a);
/* auth.init: the setup code, then the admin password (hashed in the pool). */
int authd_setup_init(struct authd_ctx *a, struct ds_call *c);

/* lockout.c */
struct authd_lock *authd_lock_find(struct authd_ctx *a, const char *name);
/* Is name locked now? Fills *ret_until (0 = until an administrator unlocks). */
bool authd_lock_active(struct authd_ctx *a, const char *name, int64_t *ret_until);
/* Counts a failure of name from src. Returns 1 when it just locked the account
 * (*ret_until set as above), else 0. */
int authd_lock_fail(struct authd_ctx *a, const char *name, const char *src, int64_t *ret_until);
void authd_lock_success(struct authd_ctx *a, const char *name);
void authd_lock_clear(struct authd_ctx *a, const char *name);
void authd_lock_write(struct authd_ctx *a, struct mpw *w);
int authd_lock_read(struct authd_ctx *a, const msgpack_object *o);
int authd_lock_save(struct authd_ctx *a);
/* Saves locks.mp within a second (one write for a flood of failures); at once without a loop. */
void authd_lock_save_soon(struct authd_ctx *a);
/* Writes a pending coalesced save now (at stop). */
void authd_lock_flush(struct authd_ctx *a);
/* True when name is an account, or "reset:" and an account. */
bool authd_lock_name_known(struct authd_ctx *a, const char *name);
/* Takes a login token from key's bucket: 0, or -EBUSY with *ret_retry_ms until the next token. */
int authd_rate_take(struct authd_ctx *a, const char *key, int64_t *ret_retry_ms);
/* Failures name may still have from src before it locks (at least 0). */
int authd_lock_room(struct authd_ctx *a, const char *name, const char *src);
/* Gives back the token of an attempt that succeeded. */
void authd_rate_refund(struct authd_ctx *a, const char *key);

/* sessions.c */
/* Opens a session; returns 0 and the token (caller wipes) or -EBUSY with why. */
int authd_session_open(struct authd_ctx *a, const char *user, const char *source, const char *client, bool anon,
                       char tok[64], struct authd_session **ret, char *why, size_t why_size);
struct authd_session *authd_session_check(struct authd_ctx *a, const char *tok);
struct authd_session *authd_session_by_sid(struct authd_ctx *a, const char *sid);
/* user, group, authorities, sid and source of s, into the open map w. */
void authd_session_write_answer(struct authd_ctx *a, struct mpw *w, const struct authd_session *s);
size_t authd_session_count(struct authd_ctx *a, const char *user);
/* Revokes sessions of user (NULL: all) except except_sid; publishes
 * auth.session.revoked for each. Returns how many. */
int authd_session_revoke_user(struct authd_ctx *a, const char *user, const char *except_sid);
int authd_session_revoke(struct authd_ctx *a, struct authd_session *s);
/* Tells busd to drop its cached answers for user (authorities changed). */
void authd_session_refresh(struct authd_ctx *a, const char *user);
void authd_session_sweep(struct authd_ctx *a);
/* sessions.mp: {v, sessions: [{th, sid, user, source, client, login, last,
 * expires, anon}]}, token hashes only. Read drops what expired or whose
 * account is gone or disabled; returns how many it kept. */
void authd_session_write(struct authd_ctx *a, struct mpw *w);
int authd_session_read(struct authd_ctx *a, const msgpack_object *o, size_t *ret_dropped);
int authd_session_save(struct authd_ctx *a);
/* At most one write a second (coalesced), flushed at stop. */
void authd_session_save_soon(struct authd_ctx *a);
void authd_session_flush(struct authd_ctx *a);
/* At start (after the settings): loads sessions.mp and tells busd to drop its cache. */
void authd_session_restore(struct authd_ctx *a);

/* login.c: session.login and session.passwd (GUARD()ed by their handlers) */
int authd_login(struct authd_ctx *a, struct ds_call *c);
int authd_login_passwd(struct authd_ctx *a, struct ds_call *c);
/* Refuses (ELOCKED) when name is locked, before any hashing; else 0. */
int authd_login_locked(struct authd_ctx *a, struct ds_call *c, const char *name, const char *src);
/* Refuses (EBUSY, reason "in-flight") when as many attempts on name are being
 * hashed as its lock leaves room for: parallel guesses get no more tries than
 * serial ones. Else 0. */
int authd_login_in_flight(struct authd_ctx *a, struct ds_call *c, const char *name, const char *src);
/* Counts a failure of name from src; a lock it causes is logged and published. */
void authd_login_failed(struct authd_ctx *a, const char *name, const char *src);

/* reset.c: reset.setup, reset.request, reset.confirm (GUARD()ed by their handlers) */
int authd_reset_setup(struct authd_ctx *a, struct ds_call *c);
int authd_reset_request(struct authd_ctx *a, struct ds_call *c);
int authd_reset_confirm(struct authd_ctx *a, struct ds_call *c);

/* accounts.c: the account methods that change the store (GUARD()ed by their
 * handlers; u and g found from the argument "name") */
int authd_account_user_add(struct authd_ctx *a, struct ds_call *c);
int authd_account_user_del(struct authd_ctx *a, struct ds_call *c, struct authd_user *u);
int authd_account_user_set(struct authd_ctx *a, struct ds_call *c, struct authd_user *u);
int authd_account_user_lock(struct authd_ctx *a, struct ds_call *c, struct authd_user *u);
int authd_account_group_add(struct authd_ctx *a, struct ds_call *c);
int authd_account_group_del(struct authd_ctx *a, struct ds_call *c, struct authd_group *g);
int authd_account_group_set(struct authd_ctx *a, struct ds_call *c, struct authd_group *g);
int authd_account_onvif_add(struct authd_ctx *a, struct ds_call *c);

/* passwd.c: setting passwords */
/* The policy, on the loop (cheap): 0, or answers EINVAL naming field and the rule. */
int authd_passwd_policy(struct authd_ctx *a, struct ds_call *c, const char *user, const char *field, const char *pw);
/* A new password (secret s of j) must be neither u's current one nor one of
 * the remembered ones: `none` checks of j. 0 or -ENOMEM. */
int authd_passwd_history(struct authd_ctx *a, struct authd_job *j, const struct authd_user *u, int s);
/* Answers EINVAL for a reused password (hit: the job's none_hit). */
int authd_passwd_reused(struct authd_ctx *a, struct ds_call *c, const char *field, int hit);
/* Answers EBUSY (reason "changed"): the account changed while its job was hashed. */
int authd_passwd_changed(struct ds_call *c, const char *name);
/* Is u (may be NULL) still the account j was made from? */
bool authd_passwd_same(const struct authd_user *u, const struct authd_job *j);
/* Second stage of a change: the new password (j->keep) meets the policy,
 * then the pool checks it against the current and remembered hashes and makes
 * its hash; done finishes on the loop. The first stage (j) verified what
 * proves the caller: old password, reset code or answers. */
int authd_passwd_chain(struct authd_ctx *a, struct ds_call *c, const struct authd_job *j,
                       const struct authd_user *u, const char *field, authd_job_fn done);
/* A job that hashes the password in argument i (named field), first checked
 * against the policy for user: *ret (caller owns) has it as secret 0, to
 * hash, and user as its name. Else the call's code (the call answered). */
int authd_passwd_job(struct authd_ctx *a, struct ds_call *c, const char *user, unsigned i, const char *field,
                     struct authd_job **ret);
/* At completion: the new hash (j->out[0]) becomes u's, the old one into the
 * history; unless it was a reused password or could not be made (the call
 * answered naming field). */
int authd_passwd_take(struct authd_ctx *a, struct ds_call *c, struct authd_user *u, struct authd_job *j,
                      const char *field);
/* user.passwd and onvif.passwd: the argument "password" for u or v. */
int authd_passwd_user(struct authd_ctx *a, struct ds_call *c, const struct authd_user *u);
int authd_passwd_onvif(struct authd_ctx *a, struct ds_call *c, const struct authd_onvif *v);

/* events.c: what authd publishes (no-ops without a daemon: unit tests) */
void authd_publish(struct authd_ctx *a, const char *topic, const struct mpw *w);
/* auth.locked {user, source, until (s, 0: until an administrator unlocks)} */
void authd_publish_locked(struct authd_ctx *a, const char *user, const char *src, int64_t until_ms);
/* auth.session.revoked {user, sid}: "" for sid drops every cached answer of
 * user, "" for both every cached answer */
void authd_publish_revoked(struct authd_ctx *a, const char *user, const char *sid);
/* auth.reset.code {user, email, code}: the message is wiped once sent */
void authd_publish_reset_code(struct authd_ctx *a, const char *user, const char *email, const char *code);

/* methods.c */
extern const struct ds_method authd_methods[];
/* The precondition of the DS_METHOD_READY methods: an initialised device (EAUTH otherwise). */
int authd_ready(void *ctx, struct ds_call *c);
extern const struct ds_field authd_settings[];
extern const struct ds_audit_item authd_audit[];

/* Words of the records and answers */
/* The caller's source for audit records: the operator's address, else the process. */
static inline const char *authd_call_source(const struct ds_call *c)
{
        return c->caller.source[0] ? c->caller.source : c->caller.id;
}

/* A time for an answer or a record: "-" for none (0). */
static inline void authd_fmt_time(int64_t ms, char *buf, size_t size)
{
        if (ms <= 0)
                snprintf(buf, size, "-");
        else
                ds_format_time(ms, buf, size);
}
