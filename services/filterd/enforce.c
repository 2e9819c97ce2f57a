/* enforce.c - the ruleset into the kernel: rendered with the current ports and
 * bans, loaded in one transaction, kept as the last one */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filterd.h"
#include "log.h"
#include "service.h"
#include "util.h"

static double mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int filterd_enforce(struct filterd *f, const struct fd_config *cfg, struct ds_err *e)
{
        struct fd_counters cnt = { 0 };
        int64_t now = ds_now_real_ms();
        double t0 = mono_ms();
        char *text = NULL, *err = NULL;
        size_t len;
        int r;

        /* carry the drop counters over the replacement of the table */
        if (f->nft && fd_nft_counters(f->nft, &cnt) < 0)
                cnt.valid = false;
        fd_bans_prune(&f->bans, now);
        r = fd_ruleset_render(cfg, &f->ports, &f->bans, &cnt, now, &text, &len);
        if (r < 0)
                return log_errno(ds_err_set(e, r, NULL, "cannot render the ruleset"), "cannot render the ruleset: %m");
        if (f->nft) {
                r = fd_nft_run(f->nft, text, NULL, &err);
                if (r < 0) {
                        f->apply_failures++;
                        snprintf(f->last_error, sizeof f->last_error, "%s", err ? err : "nftables refused the ruleset");
                        f->last_error[strcspn(f->last_error, "\n")] = '\0';
                        log_err("nftables refused the ruleset (the kernel keeps the one it had): %s", f->last_error);
                        ds_err_set(e, -DS_EINTERNAL, NULL, "nftables refused the ruleset: %s", f->last_error);
                        free(err);
                        free(text);
                        return -DS_EINTERNAL;
                }
        }
        f->last_apply_ms = mono_ms() - t0;
        f->last_apply_real_ms = now;
        f->applies++;
        f->last_error[0] = '\0';
        if (ds_daemon_save(f->d, FD_STATE_RULESET, text, len) < 0)
                log_warn("cannot keep a copy of the ruleset in '%s'", FD_STATE_RULESET);
        free(f->ruleset);
        f->ruleset = text;
        f->ruleset_len = len;
        log_info("ruleset %s: mode %s, %zu entries, %zu ports, %zu bans (%.1f ms)",
                 f->nft ? "loaded" : "rendered (dry run)", fd_mode_names[cfg->mode], cfg->list.n, f->ports.n,
                 f->bans.n, f->last_apply_ms);
        return 0;
}
