/* devsec-bundle - make and inspect signed update bundles (see devsec-bundle(1))
 *
 *   devsec-bundle create --key KEY --cert CERT [--chain PEM] [--version V]
 *                 [--security-version N] [--bus-protocol MIN[-MAX]]
 *                 --component NAME[@VERSION]=DIR ... --out FILE
 *   devsec-bundle inspect [--trust DIR] [--json] FILE
 *   devsec-bundle extract --trust DIR FILE COMPONENT DIR
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "schema.h"

int repo_main(int argc, char **argv); /* repo.c */

static void usage(FILE *f)
{
        fprintf(f, "usage: devsec-bundle create --key KEY --cert CERT [--chain PEM] [--version V]\n"
                   "                     [--security-version N] [--bus-protocol MIN[-MAX]]\n"
                   "                     --component NAME[@VERSION]=DIR ... --out FILE\n"
                   "       devsec-bundle inspect [--trust DIR] [--json] FILE\n"
                   "       devsec-bundle extract --trust DIR FILE COMPONENT DIR\n"
                   "       devsec-bundle repo init|add|sign|rotate-root DIR ... (a TUF repository)\n");
}

static int fail(const struct ds_err *e)
{
        if (e->field[0])
                fprintf(stderr, "devsec-bundle: %s: %s (%s)\n", ds_err_name(e->code), e->msg, e->field);
        else
                fprintf(stderr, "devsec-bundle: %s: %s\n", ds_err_name(e->code), e->msg);
        return 1;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int cmd_create(int argc, char **argv)
{
        static const struct option opts[] = {
                { "key", required_argument, NULL, 'k' },       { "cert", required_argument, NULL, 'c' },
                { "chain", required_argument, NULL, 'C' },     { "version", required_argument, NULL, 'v' },
                { "security-version", required_argument, NULL, 's' },
                { "bus-protocol", required_argument, NULL, 'b' },
                { "component", required_argument, NULL, 'p' }, { "out", required_argument, NULL, 'o' },
                { NULL, 0, NULL, 0 },
        };
        struct bundle_input in[BUNDLE_MAX_COMPONENTS];
        char *spec[BUNDLE_MAX_COMPONENTS];
        const char *key = NULL, *cert = NULL, *chain = NULL, *out = NULL, *version = NULL, *why;
        uint64_t sv = 0, bmin = 1, bmax = 1;
        struct ds_err e = { 0 };
        size_t n = 0;
        int o, rc = 1;

        while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (o) {
                case 'k': key = optarg; break;
                case 'c': cert = optarg; break;
                case 'C': chain = optarg; break;
                case 'v': version = optarg; break;
                case 'o': out = optarg; break;
                case 's':
                        if (parse_uint(optarg, UINT32_MAX, &sv) < 0) {
                                fprintf(stderr, "devsec-bundle: --security-version: not a number in 0..%u\n", UINT32_MAX);
                                return 2;
                        }
                        break;
                case 'b': {
                        char *dash = strchr(optarg, '-');
                        if (dash)
                                *dash = '\0';
                        if (parse_uint(optarg, 255, &bmin) < 0 || (dash && parse_uint(dash + 1, 255, &bmax) < 0) || bmin == 0) {
                                fprintf(stderr, "devsec-bundle: --bus-protocol: MIN or MIN-MAX, 1..255\n");
                                return 2;
                        }
                        if (!dash)
                                bmax = bmin;
                        break;
                }
                case 'p':
                        if (n == BUNDLE_MAX_COMPONENTS) {
                                fprintf(stderr, "devsec-bundle: at most %u components\n", BUNDLE_MAX_COMPONENTS);
                                return 2;
                        }
                        spec[n++] = optarg;
                        break;
                default: usage(stderr); return 2;
                }
        }
        if (!key || !cert || !out || n == 0 || optind != argc) {
                usage(stderr);
                return 2;
        }
        for (size_t i = 0; i < n; i++) {
                char *eq = strchr(spec[i], '='), *at;
                if (!eq || eq == spec[i] || !eq[1]) {
                        fprintf(stderr, "devsec-bundle: --component '%s': NAME[@VERSION]=DIR\n", spec[i]);
                        return 2;
                }
                *eq = '\0';
                if ((at = strchr(spec[i], '@')))
                        *at = '\0';
                in[i] = (struct bundle_input){ .name = spec[i], .version = at ? at + 1 : version, .security_version = sv,
                                               .dir = eq + 1 };
                if ((why = ds_check_name(in[i].name, strlen(in[i].name)))) {
                        fprintf(stderr, "devsec-bundle: component name '%s' %s\n", in[i].name, why);
                        return 2;
                }
                if (!in[i].version || (why = bundle_version_check(in[i].version))) {
                        fprintf(stderr, "devsec-bundle: component '%s': version %s\n", in[i].name,
                                in[i].version ? why : "missing (--version V or NAME@V=DIR)");
                        return 2;
                }
        }
        if (bundle_create(in, n, (int64_t)bmin, (int64_t)bmax, key, cert, chain, out, &e) < 0)
                return fail(&e);
        printf("%s: %zu component(s) signed\n", out, n);
        rc = 0;
        return rc;
}

static void print_hex(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                printf("%02x", p[i]);
}

static int cmd_inspect(int argc, char **argv)
{
        static const struct option opts[] = {
                { "trust", required_argument, NULL, 't' },
                { "json", no_argument, NULL, 'j' },
                { NULL, 0, NULL, 0 },
        };
        const char *trust_dir = NULL;
        X509_STORE *trust = NULL;
        struct bundle *b = NULL;
        struct ds_err e = { 0 };
        bool json = false;
        int o, rc = 1;

        while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (o) {
                case 't': trust_dir = optarg; break;
                case 'j': json = true; break;
                default: usage(stderr); return 2;
                }
        }
        if (optind + 1 != argc) {
                usage(stderr);
                return 2;
        }
        if (trust_dir && bundle_trust_load(trust_dir, &trust, &e) < 0)
                return fail(&e);
        if (bundle_open(argv[optind], trust, &b, &e) < 0 || (trust && bundle_verify_payload(b, &e) < 0)) {
                rc = fail(&e);
                goto out;
        }
        if (json) {
                char *s = bundle_manifest_dump(&b->m);
                printf("{\"signature\":\"%s\",\"manifest\":%s}\n", b->signature_checked ? "verified" : "not checked",
                       s ? s : "null");
                free(s);
        } else {
                printf("bundle     %s\n", argv[optind]);
                printf("signature  %s%s%s\n", b->signature_checked ? "verified, signer " : "not checked (no --trust)",
                       b->signature_checked ? b->signer : "", b->signature_checked ? ", every file hash verified" : "");
                printf("created    %s\n", b->m.created[0] ? b->m.created : "-");
                printf("bus        protocol %" PRId64 "..%" PRId64 "\n", b->m.bus_min, b->m.bus_max);
                for (size_t i = 0; i < b->m.n_comps; i++) {
                        const struct bundle_component *c = &b->m.comps[i];
                        printf("component  %s %s (security version %" PRIu64 ")\n", c->name, c->version, c->security_version);
                        for (size_t k = 0; k < c->n_files; k++) {
                                printf("  %04o %12" PRIu64 "  ", c->files[k].mode, c->files[k].size);
                                print_hex(c->files[k].sha256, 32);
                                printf("  %s\n", c->files[k].path);
                        }
                }
        }
        rc = 0;
out:
        bundle_close(&b);
        X509_STORE_free(trust);
        return rc;
}

/* What upgrade-d does before it switches a link: verify everything, then
 * unpack one component into a new directory (hashing again). */
static int cmd_extract(int argc, char **argv)
{
        X509_STORE *trust = NULL;
        struct bundle *b = NULL;
        struct ds_err e = { 0 };
        int rc = 1;

        if (argc != 6 || strcmp(argv[1], "--trust")) {
                usage(stderr);
                return 2;
        }
        if (bundle_trust_load(argv[2], &trust, &e) < 0)
                return fail(&e);
        if (bundle_open(argv[3], trust, &b, &e) < 0 || bundle_verify_payload(b, &e) < 0 ||
            bundle_extract(b, argv[4], argv[5], &e) < 0) {
                rc = fail(&e);
                goto out;
        }
        printf("%s: '%s' verified and unpacked into %s\n", argv[3], argv[4], argv[5]);
        rc = 0;
out:
        bundle_close(&b);
        X509_STORE_free(trust);
        return rc;
}

int main(int argc, char **argv)
{
        if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        if (!strcmp(argv[1], "create"))
                return cmd_create(argc - 1, argv + 1);
        if (!strcmp(argv[1], "inspect"))
                return cmd_inspect(argc - 1, argv + 1);
        if (!strcmp(argv[1], "extract"))
                return cmd_extract(argc - 1, argv + 1);
        if (!strcmp(argv[1], "repo"))
                return repo_main(argc - 1, argv + 1);
        fprintf(stderr, "devsec-bundle: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
}
