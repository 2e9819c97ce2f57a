/* listen.c - the sockets of this network namespace that listen on a
 * non-loopback address: sock_diag over netlink (TCP in LISTEN, UDP not
 * connected; v4 and v6) gives each one's address, port, uid and inode; /proc
 * names the process holding the inode where it lets us look. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exposured.h"
#include "log.h"

#define TCPF_LISTEN_BIT (1u << 10) /* TCP_LISTEN */
#define TCPF_CLOSE_BIT (1u << 7)   /* TCP_CLOSE: an unconnected UDP socket */

static int dump(int fd, int family, int protocol, struct exp_listeners *ret)
{
        struct {
                struct nlmsghdr nlh;
                struct inet_diag_req_v2 r;
        } req = {
                .nlh = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                         .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
                .r = { .sdiag_family = (uint8_t)family, .sdiag_protocol = (uint8_t)protocol,
                       .idiag_states = protocol == IPPROTO_TCP ? TCPF_LISTEN_BIT : TCPF_CLOSE_BIT },
        };
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        /* 8 KiB, as libmnl: the kernel sizes a dump's messages to the
         * largest buffer it has seen (at least a page), so none is cut; a
         * larger static one stayed dirty in exposured's memory for good */
        char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));

        if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
                return -errno;
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_type == NLMSG_DONE)
                                return 0;
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);
                                return h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error ? e->error : -EIO;
                        }
                        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                                continue;
                        const struct inet_diag_msg *m = NLMSG_DATA(h);
                        struct exp_listener *l;
                        char addr[EXP_ADDR_MAX];

                        if (protocol == IPPROTO_UDP && m->id.idiag_dport != 0)
                                continue; /* connected: a client's socket */
                        if (!inet_ntop(family, m->id.idiag_src, addr, sizeof addr) || exp_addr_is_loopback(addr))
                                continue;
                        if (ret->n >= EXP_LISTEN_MAX) {
                                ret->truncated = true;
                                continue;
                        }
                        l = &ret->v[ret->n++];
                        memset(l, 0, sizeof *l);
                        l->proto = protocol == IPPROTO_TCP ? EXP_TCP : EXP_UDP;
                        l->family = family;
                        memcpy(l->addr, addr, sizeof l->addr);
                        l->port = ntohs(m->id.idiag_sport);
                        l->uid = m->idiag_uid;
                        l->inode = m->idiag_inode;
                }
        }
}

static bool skipped(pid_t pid, const pid_t *skip)
{
        for (size_t i = 0; skip && skip[i]; i++)
                if (skip[i] == pid)
                        return true;
        return false;
}

static int by_inode(const void *a, const void *b)
{
        const struct exp_listener *x = *(const struct exp_listener *const *)a, *y = *(const struct exp_listener *const *)b;

        return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static struct exp_listener *find_inode(struct exp_listener **idx, size_t n, uint64_t ino)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (idx[mid]->inode < ino)
                        lo = mid + 1;
                else if (idx[mid]->inode > ino)
                        hi = mid;
                else
                        return idx[mid];
        }
        return NULL;
}

/* Walks /proc/PID/fd of every process we may look into; a process of
 * another user stays unnamed (no capability, by design). Marks the inodes of
 * skipped pids with pid -1 so that they are dropped. */
static void name_owners(struct exp_listeners *l, const pid_t *skip)
{
        static struct exp_listener *idx[EXP_LISTEN_MAX];
        DIR *proc;
        struct dirent *de;
        size_t left = l->n;

        if (!l->n || !(proc = opendir("/proc")))
                return;
        for (size_t i = 0; i < l->n; i++)
                idx[i] = &l->v[i];
        qsort(idx, l->n, sizeof idx[0], by_inode);
        while (left && (de = readdir(proc))) {
                char path[64], link[64];
                DIR *fdd;
                struct dirent *fe;
                char *end;
                long pid = strtol(de->d_name, &end, 10);

                if (*end || pid <= 0)
                        continue;
                snprintf(path, sizeof path, "/proc/%ld/fd", pid);
                if (!(fdd = opendir(path)))
                        continue;
                while ((fe = readdir(fdd))) {
                        struct exp_listener *e;
                        ssize_t k;
                        unsigned long long ino;

                        if (fe->d_name[0] == '.')
                                continue;
                        k = readlinkat(dirfd(fdd), fe->d_name, link, sizeof link - 1);
                        if (k <= 0)
                                continue;
                        link[k] = '\0';
                        if (strncmp(link, "socket:[", 8) || sscanf(link + 8, "%llu", &ino) != 1)
                                continue;
                        if (!(e = find_inode(idx, l->n, ino)) || e->pid)
                                continue;
                        left--;
                        if (skipped((pid_t)pid, skip)) {
                                e->pid = -1;
                                continue;
                        }
                        e->pid = (int)pid;
                        snprintf(path, sizeof path, "/proc/%ld/comm", pid);
                        int cfd = open(path, O_RDONLY | O_CLOEXEC);
                        if (cfd >= 0) {
                                ssize_t c = read(cfd, e->comm, sizeof e->comm - 1);
                                close(cfd);
                                e->comm[c > 0 ? c : 0] = '\0';
                                e->comm[strcspn(e->comm, "\n")] = '\0';
                        }
                }
                closedir(fdd);
        }
        closedir(proc);
}

/* one lookup per uid, not per socket (getpwuid reads the database) */
static void name_users(struct exp_listeners *l)
{
        for (size_t i = 0; i < l->n; i++) {
                struct passwd pw, *res = NULL;
                char buf[1024];
                size_t j;

                for (j = 0; j < i && l->v[j].uid != l->v[i].uid; j++)
                        ;
                if (j < i) {
                        memcpy(l->v[i].user, l->v[j].user, sizeof l->v[i].user);
                        continue;
                }
                if (getpwuid_r(l->v[i].uid, &pw, buf, sizeof buf, &res) == 0 && res)
                        snprintf(l->v[i].user, sizeof l->v[i].user, "%s", res->pw_name);
                else
                        snprintf(l->v[i].user, sizeof l->v[i].user, "%u", l->v[i].uid);
        }
}

int exp_listen_scan(struct exp_listeners *ret, const pid_t *skip)
{
        static const int fams[] = { AF_INET, AF_INET6 }, protos[] = { IPPROTO_TCP, IPPROTO_UDP };
        int fd, r = 0;
        size_t k = 0;

        ret->n = 0;
        ret->truncated = false;
        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0)
                return -errno;
        for (size_t f = 0; f < 2 && r == 0; f++)
                for (size_t p = 0; p < 2 && r == 0; p++)
                        r = dump(fd, fams[f], protos[p], ret);
        close(fd);
        if (r < 0)
                return r;
        name_owners(ret, skip);
        for (size_t i = 0; i < ret->n; i++)
                if (ret->v[i].pid >= 0)
                        ret->v[k++] = ret->v[i];
        ret->n = k;
        name_users(ret);
        return 0;
}
