/* fingerprint: what a support desk asks a user to run when "the license
 * says this is another machine". Prints lic's fingerprint report: the
 * fingerprint, every hardware component (its hash, never its value), the
 * environment (bare metal, VM, container, WSL), how this machine compares
 * with the machine activated for the license, and advice.
 *
 * Usage: fingerprint ACCOUNT_ID [LICENSE_KEY [API_URL [PUBLIC_KEY_HEX]]]
 * (a vendor builds it with its own account id and API URL). The report
 * goes to stdout as one JSON line after a short summary on stderr.
 * Optional: LIC_APP_ID, LIC_CACHE_DIR, LIC_FINGERPRINT in the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lic.h"

static int fail(const char *what, lic_status st) {
    fprintf(stderr, "%s: %s (%s)\n", what, lic_status_str(st), lic_last_error_message());
    return 1;
}

/* The value of "key": "..." or "key": true/false/null after `from`, into out. */
static const char *field(const char *from, const char *key, char *out, size_t out_len) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = strstr(from, pattern);
    if (!p || out_len == 0) return NULL;
    p += strlen(pattern);
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"' && n + 1 < out_len; p++) out[n++] = *p;
    } else {
        for (; *p && *p != ',' && *p != '}' && n + 1 < out_len; p++) out[n++] = *p;
    }
    out[n] = '\0';
    return p;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s ACCOUNT_ID [LICENSE_KEY [API_URL [PUBLIC_KEY_HEX]]]\n", argv[0]);
        return 2;
    }
    lic_config *cfg = NULL;
    lic_client *client = NULL;
    lic_status st = lic_config_new(&cfg);
    if (st != LIC_STATUS_OK) return fail("lic_config_new", st);
    struct { lic_status (*set)(lic_config *, const char *); const char *value; const char *name; } settings[] = {
        {lic_config_set_account_id, argv[1], "account id"},
        {lic_config_set_license_key, argc > 2 ? argv[2] : NULL, "license key"},
        {lic_config_set_api_url, argc > 3 ? argv[3] : NULL, "API URL"},
        {lic_config_set_public_key, argc > 4 ? argv[4] : NULL, "public key"},
        {lic_config_set_app_id, getenv("LIC_APP_ID"), "LIC_APP_ID"},
        {lic_config_set_cache_dir, getenv("LIC_CACHE_DIR"), "LIC_CACHE_DIR"},
        {lic_config_set_fingerprint, getenv("LIC_FINGERPRINT"), "LIC_FINGERPRINT"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        if (settings[i].value && (st = settings[i].set(cfg, settings[i].value)) != LIC_STATUS_OK) {
            lic_config_free(cfg);
            return fail(settings[i].name, st);
        }
    }
    st = lic_client_new(cfg, &client);
    lic_config_free(cfg);
    if (st != LIC_STATUS_OK) return fail("lic_client_new", st);

    /* Ask for the length, then fetch: the second call gets the same document. */
    size_t len = 0;
    st = lic_fingerprint_report(client, NULL, 0, &len);
    if (st != LIC_STATUS_BUFFER_TOO_SMALL) {
        lic_client_free(client);
        return fail("lic_fingerprint_report", st);
    }
    char *doc = malloc(len + 1);
    if (!doc) {
        lic_client_free(client);
        return 1;
    }
    st = lic_fingerprint_report(client, doc, len + 1, &len);
    lic_client_free(client);
    if (st != LIC_STATUS_OK) {
        free(doc);
        return fail("lic_fingerprint_report", st);
    }

    /* A human summary (the JSON is the part to send to support). */
    char value[256], readable[16], activated[32];
    field(doc, "fingerprint", value, sizeof value);
    fprintf(stderr, "fingerprint: %s\n", value);
    const char *env = strstr(doc, "\"environment\":");
    if (env && field(env, "kind", value, sizeof value)) fprintf(stderr, "environment: %s\n", value);
    for (const char *p = strstr(doc, "\"components\":["); p && (p = strstr(p, "{\"activated\":")) != NULL; p++) {
        field(p, "activated", activated, sizeof activated);
        field(p, "readable", readable, sizeof readable);
        if (!field(p, "name", value, sizeof value)) break;
        fprintf(stderr, "  component %-20s readable=%-5s activated=%s\n", value, readable, activated);
    }
    printf("%s\n", doc);
    free(doc);
    return 0;
}
