/* nft.c - the kernel side through libnftables: one buffer, one transaction */
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filterd.h"

struct fd_nft {
        struct nft_ctx *ctx;
};

fd_nft_t *fd_nft_new(void)
{
        fd_nft_t *n = calloc(1, sizeof *n);

        if (!n)
                return NULL;
        n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!n->ctx || nft_ctx_buffer_output(n->ctx) < 0 || nft_ctx_buffer_error(n->ctx) < 0) {
                fd_nft_destroy(&n);
                return NULL;
        }
        return n;
}

void fd_nft_destroy(fd_nft_t **pn)
{
        fd_nft_t *n = *pn;

        if (!n)
                return;
        if (n->ctx)
                nft_ctx_free(n->ctx);
        free(n);
        *pn = NULL;
}

int fd_nft_run(fd_nft_t *n, const char *buf, char **ret_out, char **ret_err)
{
        int r = nft_run_cmd_from_buffer(n->ctx, buf);
        const char *out = nft_ctx_get_output_buffer(n->ctx), *err = nft_ctx_get_error_buffer(n->ctx);

        /* reading the buffers also resets them for the next command */
        if (ret_out)
                *ret_out = r == 0 && out ? strdup(out) : NULL;
        if (ret_err)
                *ret_err = r != 0 && err && *err ? strdup(err) : NULL;
        return r == 0 ? 0 : -EIO;
}

int fd_nft_counters(fd_nft_t *n, struct fd_counters *ret)
{
        char *out = NULL;
        int r;

        r = fd_nft_run(n, "list counters table inet " FD_TABLE, &out, NULL);
        if (r == 0)
                r = out ? fd_counters_parse(out, ret) : -ENOENT;
        free(out);
        return r;
}

int fd_nft_ban(fd_nft_t *n, const struct fd_ban *ban, int64_t now_ms, bool add)
{
        const char *set = ban->fam == FD_V4 ? "ban4" : "ban6";
        int64_t left = ban->until_ms - now_ms;
        char buf[512];
        int r;

        if (add)
                /* add + delete + add: the element exists afterwards with the new
                 * timeout whether or not it was there, in one transaction */
                snprintf(buf, sizeof buf,
                         "add element inet %s %s { %s timeout %lldms }\n"
                         "delete element inet %s %s { %s }\n"
                         "add element inet %s %s { %s timeout %lldms }\n",
                         FD_TABLE, set, ban->text, (long long)(left < 1000 ? 1000 : left), FD_TABLE, set, ban->text,
                         FD_TABLE, set, ban->text, (long long)(left < 1000 ? 1000 : left));
        else
                snprintf(buf, sizeof buf,
                         "add element inet %s %s { %s timeout 1s }\ndelete element inet %s %s { %s }\n", FD_TABLE,
                         set, ban->text, FD_TABLE, set, ban->text);
        r = fd_nft_run(n, buf, NULL, NULL);
        return r;
}
