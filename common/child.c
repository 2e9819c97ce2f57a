/* child.c - see child.h */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"

struct answer {
        int r;
        struct ds_err e;
};

static int write_all(int fd, const void *p, size_t n)
{
        const char *c = p;

        while (n) {
                ssize_t w = write(fd, c, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -1;
                c += w;
                n -= (size_t)w;
        }
        return 0;
}

static ssize_t read_all(int fd, void *p, size_t n)
{
        char *c = p;
        size_t got = 0;

        while (got < n) {
                ssize_t r = read(fd, c + got, n - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                got += (size_t)r;
        }
        return (ssize_t)got;
}

int ds_child_run(int (*fn)(void *ud, struct ds_err *e), void *ud, struct ds_err *e)
{
        struct answer a = { 0 };
        int fds[2], st = 0;
        pid_t pid;
        ssize_t n;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return ds_err_set(e, -ECHILD, NULL, "cannot start a child: pipe: %s", strerror(errno));
        pid = fork();
        if (pid < 0) {
                int err = errno;
                close(fds[0]);
                close(fds[1]);
                return ds_err_set(e, -ECHILD, NULL, "cannot start a child: fork: %s", strerror(err));
        }
        if (pid == 0) {
                sigset_t ss;

                /* the daemon takes these through its signalfd; the child just dies of them */
                sigemptyset(&ss);
                sigaddset(&ss, SIGTERM);
                sigaddset(&ss, SIGINT);
                sigprocmask(SIG_UNBLOCK, &ss, NULL);
                close(fds[0]);
                a.r = fn(ud, &a.e);
                _exit(write_all(fds[1], &a, sizeof a) < 0 ? 1 : 0); /* no atexit, no stdio flush */
        }
        close(fds[1]);
        n = read_all(fds[0], &a, sizeof a);
        close(fds[0]);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        if (n != (ssize_t)sizeof a)
                return ds_err_set(e, -ECHILD, NULL, "the child doing the work died (%s %d) without an answer",
                                  WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        if (a.r < 0 && e)
                *e = a.e;
        return a.r;
}
