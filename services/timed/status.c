/* status.c - ntp.status: the system's state and each source's, for people and scripts */
#include <stdio.h>
#include <string.h>

#include "timed.h"
#include "util.h"

/* milliseconds with microsecond resolution, for people */
static double ms3(double s)
{
        double v = s * 1e6;

        return (double)(int64_t)(v + (v < 0 ? -0.5 : 0.5)) / 1e3;
}

void timed_status_write(struct timed_ctx *t, struct mpw *w)
{
        int64_t now = timed_now_ns(t);
        char tb[40];

        ds_format_time(now / 1000000, tb, sizeof tb);
        mpw_kv_str(w, "time", tb);
        mpw_kv_int(w, "time_ms", now / 1000000);
        mpw_kv_str(w, "zone", t->cfg.zone);
        mpw_kv_bool(w, "ntp_enabled", t->cfg.ntp_enabled);
        mpw_kv_str(w, "sync_state", t->sync_state ? t->sync_state : "starting");
        mpw_kv_bool(w, "synchronised", t->sync_state && !strcmp(t->sync_state, "synchronised"));
        mpw_kv_double(w, "offset_ms", ms3(t->sys_offset));
        mpw_kv_int(w, "survivors", t->n_survivors);
        mpw_kv_int(w, "minsources", t->cfg.minsources);
        mpw_kv_bool(w, "nts_mix", t->cfg.nts_mix);
        mpw_kv_int(w, "nts_sources", t->n_nts);
        mpw_kv_int(w, "nts_working", timed_nts_working(t));
        mpw_kv_int(w, "nts_time_check_bypassed", timed_nts_bypassed(t));
        if (t->last_update_ms) {
                ds_format_time(t->last_update_ms, tb, sizeof tb);
                mpw_kv_str(w, "last_update", tb);
        } else {
                mpw_kv_str(w, "last_update", "never");
        }
        mpw_kv_int(w, "poll_s", t->sys_poll_s);
        mpw_kv_uint(w, "updates", t->updates);
        mpw_kv_uint(w, "steps", t->steps);
        mpw_kv_uint(w, "slews", t->slews);
        mpw_kv_uint(w, "clock_errors", t->clock_errors);
        mpw_kv_int(w, "correction_ns", t->corr_ns);
        mpw_str(w, "sources");
        mpw_arr_begin(w);
        for (int i = 0; i < t->n_src; i++) {
                struct source *s = &t->src[i];
                char reach[8];

                snprintf(reach, sizeof reach, "%03o", s->reach);
                mpw_map_begin(w);
                mpw_kv_str(w, "address", s->addr);
                mpw_kv_str(w, "server", s->server);
                mpw_kv_str(w, "state", timed_state_name(s->state));
                mpw_kv_int(w, "stratum", s->rx_ok ? s->last.stratum : 0);
                mpw_kv_str(w, "reach", reach);
                mpw_kv_double(w, "offset_ms", s->have_best ? ms3(s->offset) : 0);
                mpw_kv_double(w, "delay_ms", s->have_best ? ms3(s->delay) : 0);
                mpw_kv_double(w, "jitter_ms", s->have_best ? ms3(s->jitter) : 0);
                mpw_kv_double(w, "rootdist_ms", s->have_best ? ms3(s->rootdist) : 0);
                mpw_kv_int(w, "poll_s", s->poll_s);
                mpw_kv_uint(w, "rx", s->rx_ok);
                mpw_kv_uint(w, "missed", s->missed);
                timed_nts_status(t, s, w);
                mpw_str(w, "drops");
                mpw_map_begin(w);
                for (int v = 1; v < NTP_N_VERDICTS; v++)
                        mpw_kv_uint(w, ntp_verdict_names[v], s->drops[v]);
                mpw_map_end(w);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
}
