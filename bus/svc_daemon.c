/* svc_daemon.c - the daemon skeleton: options, settings, init, bus, serve,
 * READY, the loop, SIGHUP/SIGTERM */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "svc_internal.h"

static void bus_log_sink(void *ud, int level, const char *category, const char *user, const char *msg)
{
        struct ds_daemon *d = ud;
        char topic[BUS_TOPIC_MAX + 1];
        struct mpw w;

        if (!d->bus)
                return;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "service", d->svc->name);
        mpw_kv_str(&w, "level", log_level_name(level));
        mpw_kv_str(&w, "user", user ? user : "");
        mpw_kv_str(&w, "msg", msg);
        mpw_map_end(&w);
        snprintf(topic, sizeof topic, "log.%s", category);
        bus_publish(d->bus, topic, &w);
        mpw_free(&w);
}

/* SIGHUP: the settings again, swapped in only when all of them are valid. */
static void reload_settings(void *ud)
{
        struct ds_daemon *d = ud;
        struct ds_settings fresh;
        struct ds_err e;

        ds_err_clear(&e);
        if (svc_load_settings(d, &fresh, &e) < 0 || svc_swap_settings(d, &fresh, NULL, &e) < 0)
                log_err("reload refused, keeping the running settings: %s", e.msg);
        else
                log_notice("settings reloaded");
}

static void usage(const char *name)
{
        fprintf(stderr,
                "usage: %s [-f] [-n] [-c FILE] [--rundir DIR] [--confdir DIR] [--statedir DIR]\n"
                "          [--identity NAME] [--dry-run] [--audit-items] [service options]\n"
                "  -n   check the configuration and exit\n"
                "  --audit-items   print the audit item table as JSON and exit\n",
                name);
}

int ds_daemon_main(int argc, char **argv, const struct ds_service *svc, void *ctx)
{
        static struct ds_daemon dd; /* lives for the process */
        struct ds_daemon *d = &dd;
        const char *rundir = NULL, *confdir = NULL, *statedir = NULL, *conf = NULL;
        const struct ds_method *tables[3];
        struct bus_serve_info info;
        struct ds_err e;
        int r;

        memset(d, 0, sizeof *d);
        d->svc = svc;
        d->ctx = ctx;
        d->identity = svc->name;
        d->on_settings = svc_functions_sync;
        d->argv = calloc((size_t)argc + 1, sizeof *d->argv);
        if (!d->argv)
                return 1;
        d->argv[d->argc++] = argv[0];
        log_init(svc->name);
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
#define OPTARG_NEXT() (i + 1 < argc ? argv[++i] : (usage(svc->name), exit(2), ""))
                if (!strcmp(a, "-f"))
                        continue;
                else if (!strcmp(a, "-n"))
                        d->check_only = true;
                else if (!strcmp(a, "-c"))
                        conf = OPTARG_NEXT();
                else if (!strcmp(a, "--rundir"))
                        rundir = OPTARG_NEXT();
                else if (!strcmp(a, "--confdir"))
                        confdir = OPTARG_NEXT();
                else if (!strcmp(a, "--statedir"))
                        statedir = OPTARG_NEXT();
                else if (!strcmp(a, "--identity"))
                        d->identity = OPTARG_NEXT();
                else if (!strcmp(a, "--dry-run"))
                        d->dry_run = true;
                else if (!strcmp(a, "-v") || !strcmp(a, "--debug"))
                        log_set_level(LOG_LVL_DEBUG);
                else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                        usage(svc->name);
                        return 0;
                } else if (!strcmp(a, "--audit-items")) {
                        return ds_audit_items_print(svc, stdout) < 0 ? 1 : 0;
                } else if (!strcmp(a, "--version")) {
                        printf("%s %s\n", svc->name, svc->version);
                        return 0;
                } else
                        d->argv[d->argc++] = argv[i];
#undef OPTARG_NEXT
        }
        if (ds_paths_init(&d->paths, rundir, confdir, statedir) < 0)
                fatal("out of memory");
        d->statedir = ds_paths_state(&d->paths, svc->name);
        if (conf)
                d->conf_path = strdup(conf);
        else if (asprintf(&d->conf_path, "%s/%s.conf", d->paths.confdir, svc->name) < 0)
                d->conf_path = NULL;
        if (!d->statedir || !d->conf_path)
                fatal("out of memory");

        ds_err_clear(&e);
        if (ds_methods_selftest(svc->methods, &e) < 0)
                fatal("method table: %s: %s", e.field, e.msg);
        if (d->check_only) {
                struct layers l;
                ds_err_clear(&e);
                /* only the file: the state dir may not be ours to read */
                r = svc_load_layers(&(struct ds_daemon){ .svc = svc, .conf_path = d->conf_path,
                                                     .statedir = "/nonexistent" }, &l, &e);
                if (r == 0)
                        r = svc_build_settings(d, l.have_file ? &l.file_u.data : NULL, NULL, &d->settings, &e);
                svc_layers_free(&l);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", svc->name, e.msg);
                        return 1;
                }
                printf("%s: configuration OK\n", d->conf_path);
                ds_settings_free(&d->settings);
                return 0;
        }
        r = state_mkdir_p(d->statedir, 0700);
        if (r < 0)
                fatal("state directory '%s': %s", d->statedir, strerror(-r));
        if (!d->check_only)
                svc_factory_pending(d);
        if (svc_load_settings(d, &d->settings, &e) < 0)
                fatal("%s", e.msg);

        /* signals go to a signalfd; block them before any thread exists */
        d->sigfd = ds_signalfd_open();
        if (d->sigfd < 0)
                fatal("signals: %s", strerror(-d->sigfd));
        zsys_handler_set(NULL);
        zsys_set_logident(svc->name);

        if (svc->init && (r = svc->init(d, ctx)) < 0)
                fatal("%s: initialisation failed: %s", svc->name, strerror(-r));
        if (svc->apply && (r = svc->apply(d, ctx, &e)) < 0)
                fatal("%s: settings refused: %s", svc->name, e.msg);

        d->bus = bus_new(&d->paths, d->identity, &r);
        if (!d->bus)
                fatal("bus: cannot use key of identity '%s' under '%s/bus': %s", d->identity, d->paths.confdir,
                      strerror(-r));
        d->loop = zloop_new();
        if (!d->loop || bus_attach(d->bus, d->loop) < 0)
                fatal("out of memory");
        tables[0] = svc->methods;
        tables[1] = svc_generic_methods;
        tables[2] = NULL;
        info = (struct bus_serve_info){ .name = svc->name, .version = svc->version, .tables = tables,
                                        .topics = svc->topics, .ctx = ctx, .daemon = d, .ready = svc->ready };
        if (bus_serve(d->bus, &info) < 0)
                fatal("out of memory");
        log_set_sink(bus_log_sink, d);
        d->sig = (struct ds_signals){ .fd = d->sigfd, .reload = reload_settings, .ud = d };
        if (ds_loop_signals(d->loop, &d->sig) < 0 || ds_loop_watchdog(d->loop) < 0)
                fatal("out of memory");
        d->started_ms = ds_now_mono_ms();
        if (svc->start && (r = svc->start(d, ctx)) < 0)
                fatal("%s: start failed: %s", svc->name, strerror(-r));
        svc_functions_start(d);

        sd_notifyf(0, "READY=1\nSTATUS=serving %s %s on the bus\nMAINPID=%d", svc->name, svc->version,
                   (int)getpid());
        log_info("%s %s ready", svc->name, svc->version);
        zloop_start(d->loop);
        d->stopping = true;
        sd_notify(0, "STOPPING=1");
        /* the calls still waiting are answered while the service's state is
         * whole: after its stop hook their callbacks would use freed memory */
        bus_cancel_calls(d->bus, "the service is stopping");
        if (svc->stop)
                svc->stop(d, ctx);
        log_set_sink(NULL, NULL);
        bus_destroy(&d->bus);
        zloop_destroy(&d->loop);
        svc_txn_destroy(d);
        ds_settings_free(&d->settings);
        close(d->sigfd);
        free(d->statedir);
        free(d->conf_path);
        free(d->argv);
        ds_paths_free(&d->paths);
        return d->exit_code;
}
