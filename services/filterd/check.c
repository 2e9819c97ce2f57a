/* check.c - the decision for one address, and the self-lockout guard */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filterd.h"

/* ---- the decision ------------------------------------------------------------------ */

void fd_check(const struct fd_config *c, const struct fd_bans *b, int64_t now_ms, uint8_t fam,
              const uint8_t *ip, const uint8_t *mac, struct fd_decision *ret)
{
        bool ip_hit = fam && fd_list_match(&c->list, fam, ip);
        bool mac_hit = mac && fd_list_match(&c->list, FD_MAC, mac);

        /* same order as the chain: bans, then the list on the service ports */
        if (fam && b && fd_bans_find(b, fam, ip, now_ms)) {
                *ret = (struct fd_decision){ false, "banned", "ip" };
                return;
        }
        switch (c->mode) {
        case FD_MODE_OFF:
                *ret = (struct fd_decision){ true, "off", "" };
                return;
        case FD_MODE_ALLOW:
                *ret = (struct fd_decision){ ip_hit || mac_hit, ip_hit || mac_hit ? "allow-list" : "not-listed",
                                             ip_hit ? "ip" : mac_hit ? "mac" : "" };
                return;
        case FD_MODE_DENY:
                *ret = (struct fd_decision){ !(ip_hit || mac_hit), ip_hit || mac_hit ? "deny-list" : "not-denied",
                                             ip_hit ? "ip" : mac_hit ? "mac" : "" };
                return;
        }
}

/* ---- self-lockout guard -------------------------------------------------------- */

/* Calls fn for each word of a comma/space separated list; stops at non-zero. */
static int each_word(const char *list, int (*fn)(const char *w, void *ud), void *ud)
{
        const char *p = list;

        while (*p) {
                size_t n;
                char w[FD_ENTRY_TEXT];
                int r;

                p += strspn(p, ", \t");
                n = strcspn(p, ", \t");
                if (!n)
                        break;
                snprintf(w, sizeof w, "%.*s", (int)(n < sizeof w - 1 ? n : sizeof w - 1), p);
                r = fn(w, ud);
                if (r)
                        return r;
                p += n;
        }
        return 0;
}

struct mgmt_ctx {
        const struct fd_config *c;
        const struct fd_entry *e;
        char addr[FD_ENTRY_TEXT];
        char *why;
        size_t whylen;
        int found;
};

static int mgmt_valid(const char *w, void *ud)
{
        struct mgmt_ctx *m = ud;
        uint8_t fam, a[16];

        if (fd_addr_parse(w, &fam, a) < 0 || fam == FD_MAC) {
                snprintf(m->why, m->whylen, "'%s' is not an IP address", w);
                return -EINVAL;
        }
        return 0;
}

static int mgmt_listed(const char *w, void *ud)
{
        struct mgmt_ctx *m = ud;
        uint8_t fam, a[16];

        if (fd_addr_parse(w, &fam, a) == 0 && fam != FD_MAC && fd_list_match(&m->c->list, fam, a))
                m->found = 1;
        return m->found;
}

static int mgmt_covered(const char *w, void *ud)
{
        struct mgmt_ctx *m = ud;
        uint8_t fam, a[16];

        if (fd_addr_parse(w, &fam, a) == 0 && fam != FD_MAC && fd_entry_contains(m->e, fam, a)) {
                snprintf(m->addr, sizeof m->addr, "%s", w);
                m->found = 1;
        }
        return m->found;
}

static int mgmt_is(const char *w, void *ud)
{
        struct mgmt_ctx *m = ud;
        uint8_t fam, a[16];

        if (fd_addr_parse(w, &fam, a) == 0 && fam == m->e->fam && !memcmp(a, m->e->lo, fd_addr_len(fam)))
                m->found = 1;
        return m->found;
}

bool fd_management_has(const char *management, uint8_t fam, const uint8_t *addr)
{
        struct fd_entry e = { .fam = fam };
        struct mgmt_ctx m = { .e = &e };

        memcpy(e.lo, addr, fd_addr_len(fam));
        each_word(management ? management : "", mgmt_is, &m);
        return m.found;
}

int fd_management_check(const char *management, char *why, size_t whylen)
{
        struct mgmt_ctx m = { .why = why, .whylen = whylen };

        return each_word(management ? management : "", mgmt_valid, &m);
}

int fd_guard(const struct fd_config *c, const char *source, const char *management, char *why, size_t whylen)
{
        struct mgmt_ctx m = { .c = c };
        uint8_t fam = 0, a[16];
        bool have_src = source && fd_addr_parse(source, &fam, a) == 0 && fam != FD_MAC;

        if (c->mode == FD_MODE_DENY) {
                /* a deny entry must cover neither the operator nor a management address */
                for (size_t i = 0; i < c->list.n; i++) {
                        m.found = 0;
                        m.e = &c->list.v[i];
                        if (have_src && fd_entry_contains(m.e, fam, a)) {
                                snprintf(why, whylen, "the deny list entry '%s' covers your source %s: "
                                         "it would lock you out (remove it, or force=true)", m.e->text, source);
                                return -EPERM;
                        }
                        each_word(management ? management : "", mgmt_covered, &m);
                        if (m.found) {
                                snprintf(why, whylen, "the deny list entry '%s' covers the management address %s: "
                                         "it would lock operators out (remove it, or force=true)", m.e->text, m.addr);
                                return -EPERM;
                        }
                }
                return 0;
        }
        if (c->mode != FD_MODE_ALLOW)
                return 0;
        if (have_src && fd_list_match(&c->list, fam, a))
                return 0;
        each_word(management ? management : "", mgmt_listed, &m);
        if (m.found)
                return 0;
        if (have_src)
                snprintf(why, whylen,
                         "the allow list contains neither your source %s nor a management address: "
                         "it would lock you out (add it, or force=true)", source);
        else
                snprintf(why, whylen,
                         "the allow list contains no management address (setting 'management': '%s'): "
                         "it could lock operators out (add one, or force=true)", management ? management : "");
        return -EPERM;
}
