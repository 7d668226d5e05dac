/* A machine on an air-gapped LAN licensed by a Keygen Relay, the on-premise license server:
 *
 *   1. at start it leases a license from the relay (the relay hands out a Keygen-signed
 *      license file and its key; lic verifies and decrypts the file: the relay's word alone
 *      is never enough);
 *   2. while it runs, lic's background thread renews the lease at half its TTL, and says so
 *      (LEASE_RENEWED, or LEASE_RENEWAL_FAILED / LEASE_LOST / LEASE_RECOVERED);
 *   3. when it exits, the lease goes back to the relay for the next machine.
 *
 *   relay [SECONDS]    run that long (default 10), printing the lease's events
 *
 * Settings from the environment: LIC_ACCOUNT_ID, LIC_PUBLIC_KEY, LIC_RELAY_URL, and
 * optionally LIC_RELAY_POOL, LIC_RELAY_SECRET and LIC_FINGERPRINT (else this machine's). */
#define _POSIX_C_SOURCE 200809L /* nanosleep under -std=c99 */
#include "lic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(const char *what, lic_status st) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, lic_status_str(st), lic_last_error_message());
  return 1;
}

static const char *kind_name(lic_event_kind k) {
  switch (k) {
    case LIC_EVENT_KIND_LEASE_RENEWED: return "LEASE_RENEWED";
    case LIC_EVENT_KIND_LEASE_RENEWAL_FAILED: return "LEASE_RENEWAL_FAILED";
    case LIC_EVENT_KIND_LEASE_LOST: return "LEASE_LOST";
    case LIC_EVENT_KIND_LEASE_RECOVERED: return "LEASE_RECOVERED";
    case LIC_EVENT_KIND_OFFLINE_ENTERED: return "OFFLINE_ENTERED";
    case LIC_EVENT_KIND_OFFLINE_LEFT: return "OFFLINE_LEFT";
    default: return "EVENT";
  }
}

int main(int argc, char **argv) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  lic_result *r = NULL;
  lic_status st;
  char text[512];
  size_t n = 0;
  int64_t until = 0;
  long seconds = argc > 1 ? atol(argv[1]) : 10;
  const char *account = getenv("LIC_ACCOUNT_ID"), *key = getenv("LIC_PUBLIC_KEY");
  const char *url = getenv("LIC_RELAY_URL");
  if (!account || !key || !url) {
    fprintf(stderr, "set LIC_ACCOUNT_ID, LIC_PUBLIC_KEY and LIC_RELAY_URL\n");
    return 2;
  }

  lic_config_new(&cfg);
  lic_config_set_account_id(cfg, account);
  lic_config_set_public_key(cfg, key); /* the relay's files are Keygen-signed */
  lic_config_set_relay_url(cfg, url);
  lic_config_set_relay_pool(cfg, getenv("LIC_RELAY_POOL"));     /* NULL: the default pool */
  lic_config_set_relay_secret(cfg, getenv("LIC_RELAY_SECRET")); /* NULL: answers unsigned */
  lic_config_set_fingerprint(cfg, getenv("LIC_FINGERPRINT"));
  st = lic_client_new(cfg, &client);
  lic_config_free(cfg);
  if (st != LIC_STATUS_OK) return fail("lic_client_new", st);

  st = lic_validate(client, 0, &r);
  if (st == LIC_STATUS_NO_LICENSE_AVAILABLE) {
    /* Every license of the pool is leased to another machine. */
    printf("no license free: %s\n", lic_last_error_message());
    lic_client_free(client);
    return 3;
  }
  if (st != LIC_STATUS_OK) {
    fail("lic_validate", st);
    lic_client_free(client);
    return 1;
  }
  lic_result_license_id(r, text, sizeof text, &n);
  printf("%s from %s: license %s", lic_code_str(lic_result_code(r)),
         lic_result_source(r) == LIC_SOURCE_RELAY ? "the relay" : "the cached file", text);
  if (lic_result_lease_expiry(r, &until) == LIC_STATUS_OK)
    printf(", lease until %lld (in %lld s)", (long long)until, (long long)(until - time(NULL)));
  printf("\n");
  if (!lic_result_valid(r)) {
    lic_result_free(r);
    lic_client_free(client);
    return 1;
  }
  lic_result_free(r);

  /* The app runs; lic keeps the lease alive. A game loop polls once per frame. */
  for (long i = 0; i < seconds * 10; i++) {
    lic_event *ev = NULL;
    while (lic_client_poll_event(client, &ev) == LIC_STATUS_OK && ev) {
      lic_event_message(ev, text, sizeof text, &n);
      printf("%s: %s\n", kind_name(lic_event_get_kind(ev)), text);
      lic_event_free(ev);
    }
    fflush(stdout);
    struct timespec tick = {0, 100000000L};
    nanosleep(&tick, NULL);
  }
  lic_client_free(client); /* gives the lease back (so does a normal exit) */
  printf("released\n");
  return 0;
}
