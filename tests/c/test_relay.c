/* Drives liblic's Keygen Relay path through lic.h: lic-devserver checks out license files,
 * its relay mode leases them, this program validates from the lease. Configured and steered
 * by tests/relay_c.rs through environment variables and a line protocol: the program prints
 * "NEED <what>" and waits for a line on stdin once the harness has done it (a fault on the
 * relay, clearing it, stopping the relay).
 *
 *   test_relay            the suite: prints "N passed, N failed", exits non-zero on failure
 *   test_relay hold FP MS validates as machine FP, prints "RESULT <status> <source>", waits
 *                         MS milliseconds, then exits normally without freeing anything */
#define _POSIX_C_SOURCE 200809L /* nanosleep under -std=c99 */
#include "lic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int passed, failed;

#define CHECK(cond)                                                                      \
  do {                                                                                   \
    if (cond) {                                                                          \
      passed++;                                                                          \
    } else {                                                                             \
      failed++;                                                                          \
      fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond,    \
              lic_last_error_message());                                                 \
    }                                                                                    \
  } while (0)

#define CHECK_STATUS(expr, want) CHECK((expr) == (want))

static const char *env(const char *name) {
  const char *v = getenv(name);
  if (!v) {
    fprintf(stderr, "missing environment variable %s\n", name);
    exit(2);
  }
  return v;
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* Asks the harness for something and waits until it is done. */
static void need(const char *what) {
  char line[64];
  printf("NEED %s\n", what);
  fflush(stdout);
  if (!fgets(line, sizeof line, stdin)) {
    fprintf(stderr, "the harness went away while we needed %s\n", what);
    exit(2);
  }
}

/* A relay client for machine `fp` (pool and secret may be NULL). */
static lic_client *relay_client(const char *url, const char *pool, const char *secret,
                                const char *fp) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  char cache[1024];
  snprintf(cache, sizeof cache, "%s/%s", env("LIC_TEST_CACHE"), fp);
  CHECK_STATUS(lic_config_new(&cfg), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_account_id(cfg, env("LIC_TEST_ACCOUNT")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_public_key(cfg, env("LIC_TEST_PUBLIC_KEY")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_relay_url(cfg, url), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_relay_pool(cfg, pool), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_relay_secret(cfg, secret), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_fingerprint(cfg, fp), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_cache_dir(cfg, cache), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_timeout_ms(cfg, 3000), LIC_STATUS_OK);
  CHECK_STATUS(lic_client_new(cfg, &client), LIC_STATUS_OK);
  lic_config_free(cfg);
  return client;
}

static void license_id(const lic_result *r, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = 0;
  CHECK_STATUS(lic_result_license_id(r, buf, len, &n), LIC_STATUS_OK);
}

/* Polls events until one of `kind` arrives or `seconds` pass; counts the failed renewals
 * seen on the way (and checks what they carry). */
static int wait_event(const lic_client *c, lic_event_kind kind, int seconds, int *renewal_failures) {
  time_t until = time(NULL) + seconds;
  while (time(NULL) < until) {
    lic_event *ev = NULL;
    CHECK_STATUS(lic_client_poll_event(c, &ev), LIC_STATUS_OK);
    if (!ev) {
      sleep_ms(50);
      continue;
    }
    lic_event_kind k = lic_event_get_kind(ev);
    if (k == LIC_EVENT_KIND_LEASE_RENEWAL_FAILED && renewal_failures) {
      (*renewal_failures)++;
      CHECK(lic_event_attempt(ev) >= 1);
      CHECK(lic_event_time_left_ms(ev) >= 0);
    }
    lic_event_free(ev);
    if (k == kind) return 1;
  }
  fprintf(stderr, "no event of kind %d within %d s\n", (int)kind, seconds);
  return 0;
}

static void test_arguments(void) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  int64_t t = 0;
  CHECK_STATUS(lic_config_set_relay_url(NULL, "http://x"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_relay_pool(NULL, "p"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_relay_secret(NULL, "s"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_lease_expiry(NULL, &t), LIC_STATUS_NULL_ARGUMENT);
  CHECK(strcmp(lic_status_str(LIC_STATUS_NO_LICENSE_AVAILABLE),
               "no license is free in the relay's pool") == 0);
  CHECK(LIC_STATUS_NO_LICENSE_AVAILABLE == 35 && LIC_SOURCE_RELAY == 5);
  CHECK(LIC_EVENT_KIND_LEASE_RENEWED == 10 && LIC_EVENT_KIND_LEASE_RECOVERED == 13);

  CHECK_STATUS(lic_config_new(&cfg), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_relay_pool(cfg, "caf\xc3\xa9"), LIC_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(lic_config_set_relay_pool(cfg, ""), LIC_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(lic_config_set_relay_secret(cfg, "a\nb"), LIC_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(lic_config_set_relay_url(cfg, "\xff"), LIC_STATUS_INVALID_UTF8);
  CHECK_STATUS(lic_config_set_account_id(cfg, env("LIC_TEST_ACCOUNT")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_relay_url(cfg, "http://10.9.8.7:6349"), LIC_STATUS_OK);
  /* The Keygen public key is still required: the relay's files are Keygen-signed. */
  CHECK_STATUS(lic_client_new(cfg, &client), LIC_STATUS_CONFIG_INCOMPLETE);
  CHECK(client == NULL);
  CHECK_STATUS(lic_config_set_public_key(cfg, env("LIC_TEST_PUBLIC_KEY")), LIC_STATUS_OK);
  /* The relay hands out the key: one set here is a mistake. */
  CHECK_STATUS(lic_config_set_license_key(cfg, "SOME-KEY"), LIC_STATUS_OK);
  CHECK_STATUS(lic_client_new(cfg, &client), LIC_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(lic_config_set_license_key(cfg, NULL), LIC_STATUS_OK);
  /* Plain http to a LAN host is accepted for a relay. */
  CHECK_STATUS(lic_client_new(cfg, &client), LIC_STATUS_OK);
  lic_client_free(client);
  CHECK_STATUS(lic_config_set_relay_url(cfg, "gopher://relay"), LIC_STATUS_OK);
  client = NULL;
  CHECK_STATUS(lic_client_new(cfg, &client), LIC_STATUS_INVALID_ARGUMENT);
  lic_config_free(cfg);
}

static void test_lease_lifecycle(void) {
  const char *url = env("LIC_RELAY_URL");
  const char *pool = env("LIC_RELAY_POOL");
  char id[128], id2[128], buf[512];
  size_t n = 0;
  int64_t expiry = 0, expiry2 = 0;
  lic_result *r = NULL;
  int failures = 0;

  /* Claim: the leased file answers, verified, with the lease's end. */
  lic_client *a = relay_client(url, pool, NULL, "c-machine-a");
  CHECK_STATUS(lic_validate(a, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_valid(r) == 1 && lic_result_code(r) == LIC_CODE_VALID);
  CHECK(lic_result_source(r) == LIC_SOURCE_RELAY);
  CHECK(lic_result_verified(r) == 1);
  CHECK_STATUS(lic_result_lease_expiry(r, &expiry), LIC_STATUS_OK);
  CHECK(expiry >= (int64_t)time(NULL) && expiry <= (int64_t)time(NULL) + 5);
  license_id(r, id, sizeof id);
  CHECK(strlen(id) == 36);
  lic_result_free(r);
  r = NULL;

  /* Extend: the same license, a later end. */
  sleep_ms(1100);
  CHECK_STATUS(lic_validate(a, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_source(r) == LIC_SOURCE_RELAY);
  license_id(r, id2, sizeof id2);
  CHECK(strcmp(id, id2) == 0);
  CHECK_STATUS(lic_result_lease_expiry(r, &expiry2), LIC_STATUS_OK);
  CHECK(expiry2 >= expiry);
  lic_result_free(r);
  r = NULL;

  /* The pool's one license is taken: its own status, naming the pool. */
  lic_client *b = relay_client(url, pool, NULL, "c-machine-b");
  CHECK_STATUS(lic_validate(b, 0, &r), LIC_STATUS_NO_LICENSE_AVAILABLE);
  CHECK(r == NULL);
  CHECK(strstr(lic_last_error_message(), pool) != NULL);

  /* The heartbeat thread renews the lease. */
  CHECK(wait_event(a, LIC_EVENT_KIND_LEASE_RENEWED, 15, NULL));

  /* The relay stops answering: renewals fail, then the lease is lost. */
  need("fault");
  CHECK(wait_event(a, LIC_EVENT_KIND_LEASE_LOST, 20, &failures));
  CHECK(failures >= 1);
  CHECK_STATUS(lic_validate(a, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_source(r) == LIC_SOURCE_CACHED_FILE && lic_result_valid(r) == 1);
  CHECK_STATUS(lic_result_lease_expiry(r, &expiry), LIC_STATUS_NOT_FOUND);
  CHECK_STATUS(lic_result_offline_reason(r, buf, sizeof buf, &n), LIC_STATUS_OK);
  lic_result_free(r);
  r = NULL;

  /* It answers again; the reaper freed the license; the thread claims it back. */
  need("clear");
  CHECK(wait_event(a, LIC_EVENT_KIND_LEASE_RECOVERED, 20, NULL));
  CHECK_STATUS(lic_validate(a, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_source(r) == LIC_SOURCE_RELAY);
  lic_result_free(r);
  r = NULL;

  /* Freeing the client gives the lease back: the other machine gets the license. */
  lic_client_free(a);
  CHECK_STATUS(lic_validate(b, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_source(r) == LIC_SOURCE_RELAY);
  license_id(r, id2, sizeof id2);
  CHECK(strcmp(id, id2) == 0);
  lic_result_free(r);
  r = NULL;

  /* The relay goes away: the cached file answers, offline. */
  need("stop");
  CHECK_STATUS(lic_validate(b, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_source(r) == LIC_SOURCE_CACHED_FILE && lic_result_valid(r) == 1);
  CHECK_STATUS(lic_result_offline_reason(r, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(strstr(buf, "relay") != NULL);
  lic_result_free(r);
  r = NULL;
  CHECK_STATUS(lic_validate(b, LIC_VALIDATE_ONLINE_ONLY, &r), LIC_STATUS_NETWORK_ERROR);
  CHECK_STATUS(lic_validate(b, LIC_VALIDATE_OFFLINE_ONLY, &r), LIC_STATUS_OK);
  CHECK(lic_result_source(r) == LIC_SOURCE_CACHED_FILE);
  lic_result_free(r);
  lic_client_free(b);
}

static void test_signatures_and_files(void) {
  lic_result *r = NULL;
  const char *signed_url = env("LIC_RELAY_SIGNED_URL");
  /* The wrong secret: not believed; nothing cached to fall back to. */
  lic_client *wrong = relay_client(signed_url, NULL, "not-the-secret", "c-machine-w");
  CHECK_STATUS(lic_validate(wrong, LIC_VALIDATE_ONLINE_ONLY, &r), LIC_STATUS_SIGNATURE_INVALID);
  CHECK(strstr(lic_last_error_message(), "Relay-Signature") != NULL);
  CHECK_STATUS(lic_validate(wrong, 0, &r), LIC_STATUS_NO_OFFLINE_DATA);
  lic_client_free(wrong);
  lic_client *right = relay_client(signed_url, NULL, env("LIC_RELAY_SECRET"), "c-machine-s");
  CHECK_STATUS(lic_validate(right, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_source(r) == LIC_SOURCE_RELAY);
  lic_result_free(r);
  r = NULL;
  lic_client_free(right);

  /* A file that does not verify is refused, and nothing is kept. */
  lic_client *t = relay_client(env("LIC_RELAY_TAMPERED_URL"), NULL, NULL, "c-machine-t");
  CHECK_STATUS(lic_validate(t, LIC_VALIDATE_ONLINE_ONLY, &r), LIC_STATUS_SIGNATURE_INVALID);
  CHECK(strstr(lic_last_error_message(), "does not verify") != NULL);
  CHECK_STATUS(lic_validate(t, 0, &r), LIC_STATUS_NO_OFFLINE_DATA);
  CHECK(r == NULL);
  lic_client_free(t);
}

static int hold(const char *fp, long ms) {
  lic_result *r = NULL;
  lic_client *c = relay_client(env("LIC_RELAY_URL"), NULL, NULL, fp);
  lic_status st = lic_validate(c, 0, &r);
  printf("RESULT %d %d\n", (int)st, (int)lic_result_source(r));
  fflush(stdout);
  sleep_ms(ms);
  /* A normal exit with the client and result never freed: the atexit hook releases. */
  return failed == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "hold") == 0) return hold(argv[2], atol(argv[3]));
  test_arguments();
  test_lease_lifecycle();
  test_signatures_and_files();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
