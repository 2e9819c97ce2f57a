/* pool.c - Argon2id off the event loop: a few worker threads at a lower
 * scheduling priority take jobs from a bounded queue; finished jobs come back
 * to the loop through an eventfd. The loop is the only producer and the only
 * consumer of finished jobs; the workers never see the account store, the bus
 * or zmq, only the copies a job carries. One mutex guards both lists.
 *
 * Workers are started when a job finds none idle (never more than the bound)
 * and end after AUTHD_POOL_IDLE_MS without work: an idle authd keeps no
 * thread stacks or arenas for hashing nobody asks for. The loop joins the
 * ended ones when they say so through the same eventfd. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "authd.h"
#include "log.h"
#include "util.h"

struct worker {
        authd_pool_t *p;
        pthread_t t;
        int idx;
        bool live;   /* a thread was started and not joined yet */
        bool exited; /* it left its loop (stop, the pool shrank, or idle) */
};

struct authd_pool {
        struct authd_ctx *a;
        zloop_t *loop;
        int efd;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        struct authd_job *head, *tail;           /* waiting */
        struct authd_job *done_head, *done_tail; /* finished, for the loop */
        size_t queued, running, queue_max;
        int target;  /* the bound on workers */
        int n_live;  /* started and not exited */
        int n_idle;  /* of those, waiting for a job */
        int idle_ms; /* an idle worker ends after this long */
        bool stop;
        uint64_t n_done, n_full;
        struct worker w[AUTHD_HASH_WORKERS_MAX];
};

int authd_cpus(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        return n < 1 ? 1 : n > AUTHD_HASH_WORKERS_MAX ? AUTHD_HASH_WORKERS_MAX : (int)n;
}

/* ---- jobs ---------------------------------------------------------------------- */

struct authd_job *authd_job_new(void)
{
        struct authd_job *j = calloc(1, sizeof *j);

        if (j)
                j->none_hit = -1;
        return j;
}

int authd_job_secret(struct authd_job *j, const char *s)
{
        int i;

        for (i = 0; i < AUTHD_JOB_SECRETS && j->secret[i]; i++)
                ;
        if (i == AUTHD_JOB_SECRETS || !(j->secret[i] = strdup(s ? s : "")))
                return -ENOMEM;
        return i;
}

static int add_check(struct authd_job_check *c, int *n, int max, const char *hash, int secret)
{
        if (*n >= max)
                return -E2BIG;
        c[*n].hash = hash ? strdup(hash) : NULL;
        if (hash && !c[*n].hash)
                return -ENOMEM;
        c[*n].secret = secret;
        (*n)++;
        return 0;
}

int authd_job_must(struct authd_job *j, const char *hash, int secret)
{
        return add_check(j->must, &j->n_must, AUTHD_JOB_MUST, hash, secret);
}

int authd_job_none(struct authd_job *j, const char *hash, int secret)
{
        return add_check(j->none, &j->n_none, AUTHD_JOB_NONE, hash, secret);
}

static void wipe_secrets(struct authd_job *j)
{
        for (int i = 0; i < AUTHD_JOB_SECRETS; i++) {
                ds_free_secret(j->secret[i]);
                j->secret[i] = NULL;
        }
}

void authd_job_free(struct authd_job **pj)
{
        struct authd_job *j = *pj;

        if (!j)
                return;
        wipe_secrets(j);
        ds_free_secret(j->keep);
        for (int i = 0; i < j->n_must; i++)
                free(j->must[i].hash);
        for (int i = 0; i < j->n_none; i++)
                free(j->none[i].hash);
        for (int i = 0; i < AUTHD_JOB_HASH; i++)
                free(j->out[i]);
        free(j->extra);
        free(j);
        *pj = NULL;
}

static const char *secret_of(const struct authd_job *j, int i)
{
        return i >= 0 && i < AUTHD_JOB_SECRETS && j->secret[i] ? j->secret[i] : "";
}

void authd_job_work(struct authd_job *j)
{
        j->must_ok = true;
        j->none_hit = -1;
        /* every must check runs: how many matched must not show in the time */
        for (int i = 0; i < j->n_must; i++)
                if (!authd_hash_verify(j->must[i].hash, secret_of(j, j->must[i].secret)))
                        j->must_ok = false;
        for (int i = 0; j->must_ok && i < j->n_none && j->none_hit < 0; i++)
                if (authd_hash_verify(j->none[i].hash, secret_of(j, j->none[i].secret)))
                        j->none_hit = i;
        for (int i = 0; j->must_ok && j->none_hit < 0 && i < j->n_hash; i++) {
                j->out[i] = authd_hash(secret_of(j, j->hash[i]), &j->cost);
                if (!j->out[i])
                        j->hash_failed = true;
        }
        wipe_secrets(j); /* no longer needed: gone before the job travels back */
}

/* ---- workers ------------------------------------------------------------------- */

/* Hashing yields to the loop (and to every normal task): this thread only
 * gets the highest nice value (19: about 1.5% of the CPU against a busy
 * normal task, all of it when the CPU is otherwise idle), else SCHED_IDLE.
 * The unit's system call filter allows both (setpriority and
 * sched_setscheduler are listed there); neither can raise a priority. */
static void lower_priority(void)
{
        struct sched_param sp = { 0 };

        if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) == 0)
                return;
        if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) < 0)
                log_debug("hash worker keeps the loop's priority: %m");
}

/* from + ms on the monotonic clock (the pool's condition variable's) */
static struct timespec after(struct timespec from, int ms)
{
        from.tv_sec += ms / 1000;
        from.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (from.tv_nsec >= 1000000000L) {
                from.tv_sec++;
                from.tv_nsec -= 1000000000L;
        }
        return from;
}

static void *worker_main(void *arg)
{
        struct worker *w = arg;
        authd_pool_t *p = w->p;
        uint64_t one = 1;

        lower_priority();
        for (;;) {
                struct authd_job *j;
                struct timespec since, until;
                bool idle_out = false;

                clock_gettime(CLOCK_MONOTONIC, &since);
                pthread_mutex_lock(&p->mu);
                p->n_idle++;
                while (!p->stop && w->idx < p->target && !p->head && !idle_out) {
                        until = after(since, p->idle_ms); /* idle_ms may have changed meanwhile */
                        idle_out = pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT && !p->head;
                }
                p->n_idle--;
                if (p->stop || w->idx >= p->target || idle_out) {
                        w->exited = true;
                        p->n_live--;
                        pthread_mutex_unlock(&p->mu);
                        break;
                }
                j = p->head;
                p->head = j->next;
                if (!p->head)
                        p->tail = NULL;
                j->next = NULL;
                p->queued--;
                p->running++;
                pthread_mutex_unlock(&p->mu);

                authd_job_work(j);

                pthread_mutex_lock(&p->mu);
                if (p->done_tail)
                        p->done_tail->next = j;
                else
                        p->done_head = j;
                p->done_tail = j;
                p->running--;
                p->n_done++;
                pthread_mutex_unlock(&p->mu);
                if (write(p->efd, &one, sizeof one) < 0 && errno != EAGAIN)
                        log_debug("hash worker: eventfd: %m"); /* the counter is full: the loop is woken anyway */
        }
        /* the loop joins it (a pool without a loop: the next resize or destroy) */
        if (write(p->efd, &one, sizeof one) < 0 && errno != EAGAIN)
                log_debug("hash worker: eventfd: %m");
        return NULL;
}

/* Called with the lock held; the worker slot is free (not live). */
static int spawn(authd_pool_t *p, int i)
{
        int r;

        p->w[i] = (struct worker){ .p = p, .idx = i, .live = true };
        p->n_live++;
        r = pthread_create(&p->w[i].t, NULL, worker_main, &p->w[i]);
        if (r != 0) {
                p->w[i].live = false;
                p->n_live--;
                return -r;
        }
        return 0;
}

/* Joins the workers that have left their loop (joining does not wait for a
 * hash). Only the loop thread calls it, without the lock. */
static void reap(authd_pool_t *p)
{
        for (int i = 0; i < AUTHD_HASH_WORKERS_MAX; i++) {
                bool exited;

                pthread_mutex_lock(&p->mu);
                exited = p->w[i].live && p->w[i].exited;
                pthread_mutex_unlock(&p->mu);
                if (exited) {
                        pthread_join(p->w[i].t, NULL);
                        p->w[i].live = false;
                }
        }
}

/* With the lock held: one more worker when the waiting jobs outnumber the
 * idle workers and the bound allows. A slot whose worker has left its loop
 * is joined here (it is only returning: no wait) and used again. 0, or
 * -errno when none could be started and none is left to take the jobs. */
static int grow(authd_pool_t *p)
{
        int r = 0;

        if ((size_t)p->n_idle >= p->queued || p->n_live >= p->target)
                return 0;
        for (int i = 0; i < p->target; i++) {
                if (p->w[i].live && p->w[i].exited) {
                        pthread_join(p->w[i].t, NULL);
                        p->w[i].live = false;
                }
                if (!p->w[i].live) {
                        r = spawn(p, i);
                        break;
                }
        }
        return r < 0 && p->n_live == 0 ? r : 0;
}

static void pending_release(struct authd_ctx *a, const char *name);

/* On the loop: answers the call of each finished job. */
static void complete(authd_pool_t *p, struct authd_job *j)
{
        struct authd_ctx *a = p->a;
        int r = j->done ? j->done(a, j->call, j) : 0;

        if (j->lock_name[0])
                pending_release(a, j->lock_name);
        if (j->call) {
                if (r == DS_DEFER) /* the completion took the call over */
                        j->call = NULL;
                else
                        ds_call_finish(&j->call, r > 0 ? -DS_EINTERNAL : r);
        }
        authd_job_free(&j);
}

static int on_done(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
        authd_pool_t *p = arg;
        struct authd_job *j;
        uint64_t n;

        (void)loop;
        (void)item;
        if (read(p->efd, &n, sizeof n) < 0 && errno != EAGAIN)
                return 0;
        reap(p);
        pthread_mutex_lock(&p->mu);
        j = p->done_head;
        p->done_head = p->done_tail = NULL;
        pthread_mutex_unlock(&p->mu);
        while (j) {
                struct authd_job *next = j->next;
                j->next = NULL;
                complete(p, j);
                j = next;
        }
        return 0;
}

authd_pool_t *authd_pool_new(struct authd_ctx *a, zloop_t *loop, int workers, size_t queue_max)
{
        pthread_condattr_t ca;
        authd_pool_t *p = calloc(1, sizeof *p);
        pthread_mutexattr_t ma;
        zmq_pollitem_t it = { NULL, -1, ZMQ_POLLIN, 0 };
        int r;

        if (!p)
                return NULL;
        p->a = a;
        p->loop = loop;
        p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (p->efd < 0) {
                free(p);
                return NULL;
        }
        /* priority inheritance: a worker preempted inside the lock must not stall the loop */
        pthread_mutexattr_init(&ma);
        pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
        if (pthread_mutex_init(&p->mu, &ma) != 0)
                pthread_mutex_init(&p->mu, NULL);
        pthread_mutexattr_destroy(&ma);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&p->cv, &ca);
        pthread_condattr_destroy(&ca);
        p->idle_ms = AUTHD_POOL_IDLE_MS;
        it.fd = p->efd;
        if (loop && zloop_poller(loop, &it, on_done, p) < 0) {
                authd_pool_destroy(&p);
                errno = ENOMEM;
                return NULL;
        }
        if ((r = authd_pool_resize(p, workers, queue_max)) < 0) {
                authd_pool_destroy(&p);
                errno = -r;
                return NULL;
        }
        return p;
}

/* The workers above the new bound leave after the hash they are on; the
 * others stay till they are idle. A higher bound starts workers only for
 * jobs already waiting. */
int authd_pool_resize(authd_pool_t *p, int workers, size_t queue_max)
{
        int r;

        if (workers < 1 || workers > AUTHD_HASH_WORKERS_MAX || queue_max < 1)
                return -EINVAL;
        pthread_mutex_lock(&p->mu);
        p->queue_max = queue_max;
        p->target = workers;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        reap(p);
        pthread_mutex_lock(&p->mu);
        r = grow(p); /* jobs already waiting get the workers the new bound allows */
        pthread_mutex_unlock(&p->mu);
        return r;
}

void authd_pool_set_idle(authd_pool_t *p, int ms)
{
        pthread_mutex_lock(&p->mu);
        p->idle_ms = ms < 1 ? 1 : ms;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
}

void authd_pool_destroy(authd_pool_t **pp)
{
        authd_pool_t *p = *pp;
        struct authd_job *q, *d;

        if (!p)
                return;
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < AUTHD_HASH_WORKERS_MAX; i++)
                if (p->w[i].live)
                        pthread_join(p->w[i].t, NULL); /* after the hash it is on */
        if (p->loop && p->efd >= 0) {
                zmq_pollitem_t it = { NULL, p->efd, ZMQ_POLLIN, 0 };
                zloop_poller_end(p->loop, &it);
        }
        /* no thread left: finished jobs complete as usual, waiting ones are refused */
        d = p->done_head;
        p->done_head = p->done_tail = NULL;
        while (d) {
                struct authd_job *next = d->next;
                d->next = NULL;
                complete(p, d);
                d = next;
        }
        q = p->head;
        p->head = p->tail = NULL;
        while (q) {
                struct authd_job *next = q->next;
                q->next = NULL;
                if (q->lock_name[0])
                        pending_release(p->a, q->lock_name);
                if (q->call) {
                        ds_call_fail(q->call, -DS_EUNAVAIL, NULL, "authd is stopping: try again");
                        ds_call_finish(&q->call, -DS_EUNAVAIL);
                }
                authd_job_free(&q);
                q = next;
        }
        if (p->efd >= 0)
                close(p->efd);
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        *pp = NULL;
}

void authd_pool_stats(const authd_pool_t *p, struct authd_pool_stats *ret)
{
        authd_pool_t *m = (authd_pool_t *)p; /* the mutex, not the pool, changes */

        pthread_mutex_lock(&m->mu);
        *ret = (struct authd_pool_stats){ .workers = p->target, .threads = p->n_live, .queued = p->queued,
                                          .running = p->running,
                                          .queue_max = p->queue_max, .done = p->n_done, .full = p->n_full };
        pthread_mutex_unlock(&m->mu);
}

bool authd_pool_has_room(const authd_pool_t *p)
{
        authd_pool_t *m = (authd_pool_t *)p;
        bool room;

        pthread_mutex_lock(&m->mu);
        room = p->queued < p->queue_max;
        if (!room)
                m->n_full++;
        pthread_mutex_unlock(&m->mu);
        return room;
}

int authd_pool_submit(authd_pool_t *p, struct authd_job *j)
{
        int r;

        j->next = NULL;
        pthread_mutex_lock(&p->mu);
        if (p->tail)
                p->tail->next = j;
        else
                p->head = j;
        p->tail = j;
        p->queued++;
        if ((r = grow(p)) < 0) { /* no thread will ever take it: give it back */
                struct authd_job **q = &p->head;

                while (*q != j)
                        q = &(*q)->next;
                *q = NULL;
                p->tail = p->head == NULL ? NULL : p->tail;
                for (struct authd_job *t = p->head; t; t = t->next)
                        p->tail = t;
                p->queued--;
        } else {
                pthread_cond_signal(&p->cv);
        }
        pthread_mutex_unlock(&p->mu);
        return r;
}

/* ---- attempts in flight per lock name ------------------------------------------------ */

int authd_pending(struct authd_ctx *a, const char *name)
{
        int *n = a->pending ? zhash_lookup(a->pending, name) : NULL;

        return n ? *n : 0;
}

int authd_pending_add(struct authd_ctx *a, const char *name)
{
        int *n;

        if (!a->pending && !(a->pending = zhash_new()))
                return -ENOMEM;
        n = zhash_lookup(a->pending, name);
        if (n) {
                (*n)++;
                return 0;
        }
        if (!(n = malloc(sizeof *n)))
                return -ENOMEM;
        *n = 1;
        if (zhash_insert(a->pending, name, n) < 0) {
                free(n);
                return -ENOMEM;
        }
        zhash_freefn(a->pending, name, free);
        return 0;
}

static void pending_release(struct authd_ctx *a, const char *name)
{
        int *n = a->pending ? zhash_lookup(a->pending, name) : NULL;

        if (n && --*n <= 0)
                zhash_delete(a->pending, name);
}

void authd_pending_release(struct authd_ctx *a, const char *name)
{
        pending_release(a, name);
}

/* Hands j to the pool (the call answers later: DS_DEFER) or, without a pool,
 * runs it here. A full queue answers EBUSY at once: nothing waits unbounded.
 * Takes ownership of j. */
int authd_job_run(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        struct ds_call *d;
        int r;

        j->cost = a->cost;
        if (!a->pool) {
                if (j->lock_name[0])
                        authd_pending_add(a, j->lock_name);
                authd_job_work(j);
                r = j->done(a, c, j);
                if (j->lock_name[0])
                        authd_pending_release(a, j->lock_name);
                authd_job_free(&j);
                return r;
        }
        if (!authd_pool_has_room(a->pool)) {
                authd_job_free(&j);
                r = ds_call_fail(c, -EBUSY, NULL, "authd is busy checking passwords: try again shortly");
                snprintf(c->err.reason, sizeof c->err.reason, "queue-full");
                return r;
        }
        d = c->detached ? c : ds_call_detach(c); /* a completion may run a second job on its call */
        if (!d) {
                authd_job_free(&j);
                return -ENOMEM;
        }
        j->call = d;
        if (j->lock_name[0])
                authd_pending_add(a, j->lock_name);
        if ((r = authd_pool_submit(a->pool, j)) < 0) {
                log_errno(r, "cannot start a hash worker: %m");
                if (j->lock_name[0])
                        authd_pending_release(a, j->lock_name);
                j->call = NULL;
                authd_job_free(&j);
                r = ds_call_fail(d, -EBUSY, NULL, "authd is busy checking passwords: try again shortly");
                ds_call_finish(&d, r);
                return DS_DEFER;
        }
        return DS_DEFER;
}

/* The job's hashes or none: -EINTERNAL when one could not be made. */
int authd_job_hashes_made(struct ds_call *c, const struct authd_job *j)
{
        if (j->hash_failed)
                return ds_call_fail(c, -DS_EINTERNAL, NULL, "cannot hash the password");
        return 0;
}
