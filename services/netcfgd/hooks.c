/* hooks.c - integrator hooks: a function devsec has no backend for (onvif,
 * p2p, av_encryption, ...) names the unit of the media stack's part that
 * provides it (hook_unit in functions.conf). While that unit is installed
 * the function is unit-backed: switched by starting and stopping it, listed
 * with the unit and its state, counted by the audit. While it is not, the
 * function is a flag nothing obeys: "none (integrator)", n/a in the audit. */
#include <string.h>

#include "log.h"
#include "netcfgd.h"

void netcfgd_hooks_scan(struct netcfgd_ctx *x, bool enforce)
{
        for (size_t i = 0; i < x->fns.n; i++) {
                struct net_function *f = &x->fns.v[i];
                const char *state = NULL, *target = f->hook ? f->hook : f->target;
                bool is_daemon = !f->hook && f->kind == FN_DAEMON;
                int r;

                if (!target || (!f->hook && f->kind == FN_FLAG))
                        continue;
                r = svcmgr_unit_state(&x->mgr, target, is_daemon, &state);
                f->unit_state = r == 1 ? state : NULL;
                /* not known yet (systemd has not answered): as it was */
                if (!f->hook || f->busy || r < 0 || (r == 1) == (f->kind == FN_UNIT))
                        continue;
                functions_hook_set(f, r == 1);
                if (r == 1) {
                        /* as at start-up (netcfgd_functions_adopt): a unit the system has flagged is off */
                        bool flagged = f->enabled && svcmgr_disabled(&x->mgr, f->hook, false) == 1;
                        log_audit("security", LOG_LVL_NOTICE, "netcfgd",
                                  "function '%s': hook unit '%s' is installed: the function %s it%s", f->name, f->hook,
                                  f->enabled && !flagged ? "starts" : "stops",
                                  flagged ? " (the unit is flagged disabled on this system)" : "");
                        if (enforce || flagged)
                                netcfgd_fn_change(x, f, f->enabled && !flagged, NULL, "netcfgd");
                } else {
                        log_audit("security", LOG_LVL_NOTICE, "netcfgd",
                                  "function '%s': hook unit '%s' is not installed: nothing on this device obeys the "
                                  "function",
                                  f->name, f->hook);
                }
        }
}
