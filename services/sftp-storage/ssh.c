/* ssh.c - the SFTP upload of one file on libssh2 directly, on a worker
 * thread: libcurl refills its upload buffer only when it is nearly empty, so
 * libssh2's write pipeline drains between refills and an upload reaches
 * about half of OpenSSH's sftp. Here a sliding window over the mapped file
 * (STOR_SSH_WINDOW ahead of what the server acknowledged) keeps it full.
 * What is left is CPU: libssh2 1.10 encrypts one cipher block per EVP call.
 *
 * The same guarantees as the curl path: the host key checked against the
 * pinned SHA-256 before any authentication (refused otherwise), the device's
 * Ed25519 key, a password only when one is configured, the temporary name
 * written from the remote size the caller checked, renamed to the final name
 * with SFTP v3 rename (refuses an existing target); the caller checks the
 * final size next. Every blocking call is bounded by timeout_s; the loop
 * only waits for the thread's end (a pipe), and cancelling shuts the socket
 * down so the thread ends at once. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sftp.h"
#include "util.h"

/* data handed to libssh2 ahead of the acknowledged offset. libssh2 1.10's
 * sftp_write returns one acknowledgement per call, but only once every
 * packet it holds is sent: beyond the server's channel window (OpenSSH:
 * 2 MiB, re-opened at half) it waits for the socket before returning an
 * acknowledgement it already has. Half of OpenSSH's window never blocks on
 * it and still keeps 35 writes in flight (loopback: 8 MiB reached 0.33-0.88x
 * of OpenSSH's sftp, 1 MiB 0.70-0.90x, same runs, noisy machine). */
#define STOR_SSH_WINDOW (1u << 20)

struct stor_ssh {
        struct stor_ctx *x;
        pthread_t th;
        int pipe[2];
        pthread_mutex_t mu;
        int sock;    /* under mu: shut down by a cancel */
        bool cancel; /* under mu */
        /* inputs, copied: the thread reads nothing of x but these */
        char host[256], user[128], pin[64], key_path[4096], pub_path[4096];
        char *password;
        long port;
        char src[STOR_NAME_MAX + 1300], dst[STOR_NAME_MAX + 1300];
        char path[4096];
        uint64_t offset, size;
        int64_t timeout_s, rate_kib_s;
        EVP_MD_CTX *md; /* NULL: no inline sum */
        /* outputs */
        int result; /* 0 sent and renamed (or the rename refused: checked next), <0 failed */
        bool hostkey_mismatch;
        uint64_t md_done, sent;
        char why[DSQ_ERROR_MAX + 1];
};

static bool cancelled(struct stor_ssh *j)
{
        pthread_mutex_lock(&j->mu);
        bool c = j->cancel;
        pthread_mutex_unlock(&j->mu);
        return c;
}

static int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(struct stor_ssh *j, LIBSSH2_SESSION *s, const char *what)
{
        char *msg = NULL;

        if (s)
                libssh2_session_last_error(s, &msg, NULL, 0);
        if (cancelled(j))
                snprintf(j->why, sizeof j->why, "%s: cancelled", what);
        else
                snprintf(j->why, sizeof j->why, "%.40s%s%.150s", what, msg && msg[0] ? ": " : "", msg ? msg : "");
        return -1;
}

/* a TCP connection within timeout_s; the socket is published for cancel */
static int tcp_connect(struct stor_ssh *j)
{
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *a;
        char port[16];
        int fd = -1, r;

        snprintf(port, sizeof port, "%ld", j->port);
        if ((r = getaddrinfo(j->host, port, &hints, &res)) != 0) {
                snprintf(j->why, sizeof j->why, "Could not resolve host: %.150s", j->host);
                return -1;
        }
        for (a = res; a && fd < 0; a = a->ai_next) {
                if ((fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
                        continue;
                pthread_mutex_lock(&j->mu);
                j->sock = fd;
                bool c = j->cancel;
                pthread_mutex_unlock(&j->mu);
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                int err = 0;
                socklen_t el = sizeof err;
                if (c || (connect(fd, a->ai_addr, a->ai_addrlen) < 0 &&
                          (errno != EINPROGRESS || poll(&p, 1, (int)j->timeout_s * 1000) != 1 ||
                           getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err))) {
                        pthread_mutex_lock(&j->mu);
                        j->sock = -1;
                        pthread_mutex_unlock(&j->mu);
                        close(fd);
                        fd = -1;
                }
        }
        freeaddrinfo(res);
        if (fd < 0) {
                snprintf(j->why, sizeof j->why, "Failed to connect to %.150s port %ld", j->host, j->port);
                return -1;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        /* as curl: each SSH packet goes out at once, not held for an ACK */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
        return fd;
}

/* The host key, then authentication: nothing is sent to an unpinned server. */
static int ssh_login(struct stor_ssh *j, LIBSSH2_SESSION *s, int fd)
{
        const char *key;
        size_t klen;
        int type;
        char fp[64];

        if (libssh2_session_handshake(s, fd))
                return fail(j, s, "SSH handshake failed");
        key = libssh2_session_hostkey(s, &klen, &type);
        if (!key || stor_fingerprint(key, klen, fp, sizeof fp) < 0 || strcmp(fp, j->pin)) {
                j->hostkey_mismatch = true;
                snprintf(j->why, sizeof j->why, "SSL peer certificate or SSH remote key was not OK");
                return -1;
        }
        if (libssh2_userauth_publickey_fromfile_ex(s, j->user, (unsigned)strlen(j->user), j->pub_path, j->key_path,
                                                   NULL) == 0)
                return 0;
        if (j->password && j->password[0] &&
            libssh2_userauth_password_ex(s, j->user, (unsigned)strlen(j->user), j->password,
                                         (unsigned)strlen(j->password), NULL) == 0)
                return 0;
        return fail(j, s, "Login denied");
}

/* bytes the rate limit lets out by now, counted from the first write */
static uint64_t rate_allowed(struct stor_ssh *j, int64_t t0)
{
        if (!j->rate_kib_s)
                return UINT64_MAX;
        return (uint64_t)(mono_ms() - t0 + 100) * (uint64_t)j->rate_kib_s * 1024 / 1000;
}

static int ssh_send(struct stor_ssh *j, LIBSSH2_SESSION *s, LIBSSH2_SFTP *sftp, const unsigned char *map)
{
        unsigned long fl = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | (j->offset ? 0 : LIBSSH2_FXF_TRUNC);
        LIBSSH2_SFTP_HANDLE *h;
        uint64_t pos = j->offset;
        int64_t t0 = mono_ms();

        /* 0644: what curl gave the files (CURLOPT_NEW_FILE_PERMS) */
        if (!(h = libssh2_sftp_open_ex(sftp, j->src, (unsigned)strlen(j->src), fl, 0644, LIBSSH2_SFTP_OPENFILE)))
                return fail(j, s, "Upload failed (open)");
        libssh2_sftp_seek64(h, pos);
        while (pos < j->size) {
                uint64_t len = j->size - pos, lim = rate_allowed(j, t0);
                if (len > STOR_SSH_WINDOW)
                        len = STOR_SSH_WINDOW;
                if (lim != UINT64_MAX) {
                        uint64_t done = pos - j->offset;
                        if (done >= lim) {
                                if (cancelled(j))
                                        break;
                                nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000 }, NULL);
                                continue;
                        }
                        if (len > lim - done)
                                len = lim - done;
                }
                ssize_t n = libssh2_sftp_write(h, (const char *)map + pos, (size_t)len);
                if (n <= 0) {
                        fail(j, s, "Upload failed (write)");
                        libssh2_sftp_close_handle(h);
                        return -1;
                }
                if (j->md) {
                        if (EVP_DigestUpdate(j->md, map + pos, (size_t)n) == 1)
                                j->md_done += (uint64_t)n;
                        else
                                j->md = NULL;
                }
                pos += (uint64_t)n;
                j->sent += (uint64_t)n;
        }
        if (libssh2_sftp_close_handle(h) || pos < j->size)
                return fail(j, s, "Upload failed (close)");
        return 0;
}

static void *ssh_main(void *ud)
{
        struct stor_ssh *j = ud;
        LIBSSH2_SESSION *s = NULL;
        LIBSSH2_SFTP *sftp = NULL;
        unsigned char *map = MAP_FAILED;
        int fd = -1, ffd;
        char c = 1;

        j->result = -1;
        if ((ffd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
                snprintf(j->why, sizeof j->why, "the spooled file cannot be read");
                goto out;
        }
        if (j->size)
                map = mmap(NULL, (size_t)j->size, PROT_READ, MAP_SHARED, ffd, 0);
        close(ffd);
        if (j->size && map == MAP_FAILED) {
                snprintf(j->why, sizeof j->why, "the spooled file cannot be read");
                goto out;
        }
        if (j->size)
                madvise(map, (size_t)j->size, MADV_SEQUENTIAL);
        if ((fd = tcp_connect(j)) < 0)
                goto out;
        if (!(s = libssh2_session_init())) {
                snprintf(j->why, sizeof j->why, "out of memory");
                goto out;
        }
        libssh2_session_set_blocking(s, 1);
        libssh2_session_set_timeout(s, (long)j->timeout_s * 1000);
        /* AES-CTR first: the fastest of what libssh2 1.10 has with AES-NI */
        libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_CS, "aes128-ctr,aes192-ctr,aes256-ctr");
        libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_CS, "hmac-sha2-256,hmac-sha2-512,hmac-sha1");
        if (ssh_login(j, s, fd) < 0)
                goto out;
        if (!(sftp = libssh2_sftp_init(s))) {
                fail(j, s, "Failure establishing ssh session (SFTP)");
                goto out;
        }
        if (ssh_send(j, s, sftp, map) < 0)
                goto out;
        /* SFTP v3 rename refuses an existing target (OpenSSH: link + unlink):
         * a refusal is checked by the caller like a success */
        libssh2_sftp_rename_ex(sftp, j->src, (unsigned)strlen(j->src), j->dst, (unsigned)strlen(j->dst), 0);
        j->result = 0;
out:
        /* after a failure the server may not answer at all: the teardown
         * must not wait for it (each blocking call would take timeout_s) */
        if (s && (j->result < 0 || cancelled(j)))
                libssh2_session_set_blocking(s, 0);
        if (sftp)
                libssh2_sftp_shutdown(sftp);
        if (s) {
                if (j->result == 0 && !cancelled(j))
                        libssh2_session_disconnect(s, "done");
                libssh2_session_free(s);
        }
        pthread_mutex_lock(&j->mu);
        j->sock = -1;
        pthread_mutex_unlock(&j->mu);
        if (fd >= 0)
                close(fd);
        if (map != MAP_FAILED)
                munmap(map, (size_t)j->size);
        if (write(j->pipe[1], &c, 1) < 0) {
                /* the loop then ends it at its next cancel */
        }
        return NULL;
}

static void job_free(struct stor_ctx *x)
{
        struct stor_ssh *j = x->ssh;

        if (!j)
                return;
        zloop_poller_end(x->d->loop, &(zmq_pollitem_t){ NULL, j->pipe[0], ZMQ_POLLIN, 0 });
        close(j->pipe[0]);
        close(j->pipe[1]);
        pthread_mutex_destroy(&j->mu);
        ds_free_secret(j->password);
        free(j);
        x->ssh = NULL;
}

/* the thread ended: its result to the caller */
static int on_done(zloop_t *loop, zmq_pollitem_t *it, void *ud)
{
        struct stor_ctx *x = ud;
        struct stor_ssh *j = x->ssh;
        struct stor_ssh_result r = { 0 };

        (void)loop;
        (void)it;
        if (!j)
                return 0;
        pthread_join(j->th, NULL);
        r.result = j->result;
        r.hostkey_mismatch = j->hostkey_mismatch;
        r.md_done = j->md_done;
        r.md_ok = j->md != NULL;
        r.sent = j->sent;
        snprintf(r.why, sizeof r.why, "%s", j->why);
        job_free(x);
        stor_ssh_done(x, &r);
        return 0;
}

int stor_ssh_put(struct stor_ctx *x, const char *path)
{
        struct stor_ssh *j = calloc(1, sizeof *j);
        const struct stor_conf *c = &x->conf;

        if (!j)
                return -ENOMEM;
        j->x = x;
        j->sock = -1;
        pthread_mutex_init(&j->mu, NULL);
        j->pipe[0] = j->pipe[1] = -1;
        snprintf(j->host, sizeof j->host, "%s", c->url.host);
        snprintf(j->user, sizeof j->user, "%s", c->username);
        snprintf(j->pin, sizeof j->pin, "%s", x->pin);
        snprintf(j->key_path, sizeof j->key_path, "%s", x->key_path);
        snprintf(j->pub_path, sizeof j->pub_path, "%s", x->pub_path);
        snprintf(j->path, sizeof j->path, "%s", path);
        snprintf(j->src, sizeof j->src, "%s/%s", c->url.dir, x->tmp);
        snprintf(j->dst, sizeof j->dst, "%s/%s", c->url.dir, x->final);
        j->port = c->url.port;
        j->offset = x->offset;
        j->size = x->size;
        j->timeout_s = c->timeout_s > 0 ? c->timeout_s : 30;
        j->rate_kib_s = c->rate_kib_s;
        j->md = x->md_inline ? x->md : NULL;
        j->password = strdup(x->password ? x->password : "");
        x->ssh = j;
        if (!j->password || pipe2(j->pipe, O_CLOEXEC) < 0 ||
            zloop_poller(x->d->loop, &(zmq_pollitem_t){ NULL, j->pipe[0], ZMQ_POLLIN, 0 }, on_done, x) < 0) {
                job_free(x);
                return -ENOMEM;
        }
        if (pthread_create(&j->th, NULL, ssh_main, j)) {
                job_free(x);
                return -ENOMEM;
        }
        x->phase = PH_UP_PUT;
        return 0;
}

void stor_ssh_cancel(struct stor_ctx *x)
{
        struct stor_ssh *j = x->ssh;

        if (!j)
                return;
        pthread_mutex_lock(&j->mu);
        j->cancel = true;
        if (j->sock >= 0)
                shutdown(j->sock, SHUT_RDWR);
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->th, NULL);
        job_free(x);
}

int stor_ssh_init(void)
{
        return libssh2_init(0) ? -ENOMEM : 0;
}

void stor_ssh_fini(void)
{
        libssh2_exit();
}
