/* Drives liblic through lic.h against a running lic-devserver.
 * Configured by tests/c_api.rs through environment variables; prints
 * "N passed, N failed" and exits non-zero on any failure. */
#define _POSIX_C_SOURCE 200809L /* nanosleep under -std=c99 */
#include "lic.h"

#include <pthread.h>
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

static lic_client *make_client(const char *key, const char *fingerprint, const char *public_key,
                               const char *url, const char *cache) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  CHECK_STATUS(lic_config_new(&cfg), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_account_id(cfg, env("LIC_TEST_ACCOUNT")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_api_url(cfg, url), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_license_key(cfg, key), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_public_key(cfg, public_key), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_fingerprint(cfg, fingerprint), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_cache_dir(cfg, cache), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_timeout_ms(cfg, 3000), LIC_STATUS_OK);
  CHECK_STATUS(lic_client_new(cfg, &client), LIC_STATUS_OK);
  lic_config_free(cfg); /* the client keeps its own copy */
  return client;
}

static int log_messages;
static int log_leaked_key;

static void on_log(void *user_data, int32_t level, const char *message) {
  const char *key = (const char *)user_data;
  log_messages++;
  if (level < 1 || level > 4 || strstr(message, key) != NULL) log_leaked_key++;
}

static void test_static_and_null(void) {
  size_t n = 0;
  int64_t t = 0;
  int32_t flag = 0;
  char buf[8];
  CHECK(strcmp(lic_version(), "0.1.0") == 0);
  CHECK(lic_abi_version() == LIC_ABI_VERSION);
  CHECK(strcmp(lic_status_str(LIC_STATUS_TIMEOUT), "timed out") == 0);
  CHECK(strcmp(lic_status_str(-42), "unknown status") == 0);
  CHECK(strcmp(lic_code_str(LIC_CODE_FINGERPRINT_SCOPE_MISMATCH), "FINGERPRINT_SCOPE_MISMATCH") == 0);

  /* Every entry point refuses NULL with a status, never a crash. */
  CHECK_STATUS(lic_config_new(NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK(strlen(lic_last_error_message()) > 0);
  CHECK_STATUS(lic_config_set_account_id(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_product_id(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_api_url(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_license_key(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_license_token(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_public_key(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_api_version(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_timeout_ms(NULL, 1), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_cache_dir(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_fingerprint(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_app_id(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_user_agent_suffix(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_allow_insecure_http(NULL, 0), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_max_response_age_seconds(NULL, 1), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_clock_tolerance_seconds(NULL, 1), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_max_offline_age_seconds(NULL, 1), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_checkout_ttl_seconds(NULL, 0), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_ca_bundle(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_proxy(NULL, "a"), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_config_set_log_callback(NULL, NULL, 1, NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_client_new(NULL, NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_fingerprint("app", NULL, 5, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_client_fingerprint(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_validate(NULL, 0, NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_activate(NULL, NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_deactivate(NULL, NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_client_machines(NULL, NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK(lic_machine_list_count(NULL) == 0);
  CHECK_STATUS(lic_machine_list_get(NULL, 0, NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_machine_id(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_machine_fingerprint(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_machine_hostname(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_machine_platform(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_machine_name(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_machine_created(NULL, &t), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_client_load_file(NULL, NULL, 0), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_client_load_file_path(NULL, NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_client_check_signed_key(NULL, NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK(lic_result_code(NULL) == LIC_CODE_UNKNOWN);
  CHECK(lic_result_valid(NULL) == 0);
  CHECK(lic_result_source(NULL) == LIC_SOURCE_UNKNOWN);
  CHECK(lic_result_verified(NULL) == 0);
  CHECK(lic_result_clock_state(NULL) == LIC_CLOCK_STATE_UNKNOWN);
  CHECK(lic_result_entitlement_count(NULL) == 0);
  CHECK_STATUS(lic_result_code_text(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_detail(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_license_id(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_license_key(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_license_name(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_license_status(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_policy_id(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_license_expiry(NULL, &t), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_max_machines(NULL, &t), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_max_processes(NULL, &t), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_metadata_json(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_entitlement(NULL, 0, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_has_entitlement(NULL, "X", &flag), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_machine_id(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_fingerprint(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_timestamp(NULL, &t), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_file_issued(NULL, &t), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_file_expiry(NULL, &t), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_offline_reason(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_result_signed_part(NULL, LIC_SIGNED_PART_BODY, NULL, 0, &n), LIC_STATUS_NULL_ARGUMENT);
  lic_config_free(NULL);
  lic_client_free(NULL);
  lic_result_free(NULL);
  lic_machine_free(NULL);
  lic_machine_list_free(NULL);
  /* Static-string calls leave the message alone; the next call clears it. */
  CHECK_STATUS(lic_config_set_timeout_ms(NULL, 1), LIC_STATUS_NULL_ARGUMENT);
  CHECK(strcmp(lic_code_str(LIC_CODE_VALID), "VALID") == 0);
  CHECK(strcmp(lic_status_str(LIC_STATUS_OK), "ok") == 0);
  CHECK(strstr(lic_last_error_message(), "NULL") != NULL);
  {
    lic_config *cfg = NULL;
    CHECK_STATUS(lic_config_new(&cfg), LIC_STATUS_OK);
    CHECK(strcmp(lic_last_error_message(), "") == 0);
    lic_config_free(cfg);
  }
}

static void test_invalid_input(void) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  const char bad_utf8[] = {'a', (char)0xff, 0};
  CHECK_STATUS(lic_config_new(&cfg), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_account_id(cfg, bad_utf8), LIC_STATUS_INVALID_UTF8);
  CHECK_STATUS(lic_config_set_public_key(cfg, "zz"), LIC_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(lic_config_set_timeout_ms(cfg, 0), LIC_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(lic_client_new(cfg, &client), LIC_STATUS_CONFIG_INCOMPLETE);
  CHECK(client == NULL);
  CHECK_STATUS(lic_config_set_account_id(cfg, "acct"), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_api_url(cfg, "http://licensing.example.com"), LIC_STATUS_OK);
  CHECK_STATUS(lic_client_new(cfg, &client), LIC_STATUS_INSECURE_URL);
  lic_config_free(cfg);
}

static void test_node_locked_flow(void) {
  const char *key = env("LIC_TEST_KEY");
  const char *pub = env("LIC_TEST_PUBLIC_KEY");
  const char *url = env("LIC_TEST_URL");
  const char *cache = env("LIC_TEST_CACHE");
  lic_client *a = make_client(key, "c-fp-a", pub, url, cache);
  lic_client *b = make_client(key, "c-fp-b", pub, url, cache);
  lic_result *r = NULL;
  lic_machine *m = NULL;
  lic_machine_list *list = NULL;
  char buf[256], small[4], machine_id[64];
  size_t n = 0;
  int64_t t = 0;
  int32_t flag = -1;
  uint8_t sig[64];

  CHECK_STATUS(lic_validate(a, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_code(r) == LIC_CODE_NO_MACHINE);
  CHECK(lic_result_valid(r) == 0);
  CHECK_STATUS(lic_result_machine_id(r, buf, sizeof buf, &n), LIC_STATUS_NOT_FOUND);
  lic_result_free(r);
  r = NULL;

  CHECK_STATUS(lic_activate(a, &m), LIC_STATUS_OK);
  CHECK_STATUS(lic_machine_id(m, machine_id, sizeof machine_id, &n), LIC_STATUS_OK);
  CHECK_STATUS(lic_machine_fingerprint(m, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(strcmp(buf, "c-fp-a") == 0 && n == 6);
  CHECK_STATUS(lic_machine_created(m, &t), LIC_STATUS_OK);
  CHECK(t > 1700000000);
  lic_machine_free(m);
  CHECK_STATUS(lic_activate(a, NULL), LIC_STATUS_OK); /* already activated: success */

  CHECK_STATUS(lic_validate(a, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_code(r) == LIC_CODE_VALID);
  CHECK(lic_result_valid(r) == 1);
  CHECK(lic_result_source(r) == LIC_SOURCE_ONLINE);
  CHECK(lic_result_verified(r) == 1);
  CHECK(lic_result_clock_state(r) == LIC_CLOCK_STATE_OK);
  CHECK_STATUS(lic_result_code_text(r, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(strcmp(buf, "VALID") == 0 && n == 5);
  CHECK_STATUS(lic_result_detail(r, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(strcmp(buf, "is valid") == 0);
  /* The buffer protocol: too small writes nothing and reports the length. */
  memset(small, 'x', sizeof small);
  CHECK_STATUS(lic_result_detail(r, small, sizeof small, &n), LIC_STATUS_BUFFER_TOO_SMALL);
  CHECK(n == 8 && small[0] == 'x');
  CHECK_STATUS(lic_result_detail(r, NULL, 0, &n), LIC_STATUS_BUFFER_TOO_SMALL);
  CHECK(n == 8);
  CHECK_STATUS(lic_result_license_key(r, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(strcmp(buf, key) == 0);
  CHECK_STATUS(lic_result_license_id(r, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(n == 36);
  CHECK_STATUS(lic_result_machine_id(r, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(strcmp(buf, machine_id) == 0);
  CHECK_STATUS(lic_result_fingerprint(r, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(strcmp(buf, "c-fp-a") == 0);
  CHECK_STATUS(lic_result_license_expiry(r, &t), LIC_STATUS_NOT_FOUND); /* perpetual */
  CHECK_STATUS(lic_result_max_machines(r, &t), LIC_STATUS_OK);
  CHECK(t == 1);
  CHECK_STATUS(lic_result_timestamp(r, &t), LIC_STATUS_OK);
  CHECK(t > 1700000000);
  CHECK_STATUS(lic_result_metadata_json(r, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(buf[0] == '{');
  CHECK_STATUS(lic_result_has_entitlement(r, "NOPE", &flag), LIC_STATUS_OK);
  CHECK(flag == 0);
  CHECK_STATUS(lic_result_entitlement(r, 99, buf, sizeof buf, &n), LIC_STATUS_NOT_FOUND);
  CHECK_STATUS(lic_result_file_issued(r, &t), LIC_STATUS_NOT_FOUND); /* online answer */
  /* The signed material, for apps that re-verify with their own Ed25519. */
  CHECK_STATUS(lic_result_signed_part(r, LIC_SIGNED_PART_SIGNATURE, sig, sizeof sig, &n), LIC_STATUS_OK);
  CHECK(n == 64);
  CHECK_STATUS(lic_result_signed_part(r, LIC_SIGNED_PART_SIGNING_STRING, NULL, 0, &n), LIC_STATUS_BUFFER_TOO_SMALL);
  CHECK(n > 40);
  CHECK_STATUS(lic_result_signed_part(r, LIC_SIGNED_PART_BODY, NULL, 0, &n), LIC_STATUS_BUFFER_TOO_SMALL);
  CHECK(n > 100);
  CHECK_STATUS(lic_result_signed_part(r, 42, sig, sizeof sig, &n), LIC_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(lic_result_signed_part(r, LIC_SIGNED_PART_CERTIFICATE, NULL, 0, &n), LIC_STATUS_NOT_FOUND);
  lic_result_free(r);
  r = NULL;

  /* Another machine: the license is locked to A. */
  CHECK_STATUS(lic_validate(b, LIC_VALIDATE_AUTO_ACTIVATE, &r), LIC_STATUS_OK);
  CHECK(lic_result_code(r) == LIC_CODE_FINGERPRINT_SCOPE_MISMATCH);
  lic_result_free(r);
  r = NULL;
  CHECK_STATUS(lic_activate(b, NULL), LIC_STATUS_MACHINE_LIMIT_EXCEEDED);
  CHECK(strstr(lic_last_error_message(), "MACHINE_LIMIT_EXCEEDED") != NULL);
  CHECK_STATUS(lic_client_machines(b, &list), LIC_STATUS_OK);
  CHECK(lic_machine_list_count(list) == 1);
  CHECK_STATUS(lic_machine_list_get(list, 0, &m), LIC_STATUS_OK);
  CHECK_STATUS(lic_machine_list_get(list, 1, &m), LIC_STATUS_NOT_FOUND);
  CHECK_STATUS(lic_machine_id(m, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(strcmp(buf, machine_id) == 0);
  lic_machine_free(m);
  lic_machine_list_free(list);

  /* Offline: the cached machine file answers when the server is unreachable. */
  {
    lic_client *away = make_client(key, "c-fp-a", pub, "http://127.0.0.1:9", cache);
    CHECK_STATUS(lic_validate(away, 0, &r), LIC_STATUS_OK);
    CHECK(lic_result_code(r) == LIC_CODE_VALID);
    CHECK(lic_result_source(r) == LIC_SOURCE_CACHED_FILE);
    CHECK_STATUS(lic_result_file_issued(r, &t), LIC_STATUS_OK);
    CHECK_STATUS(lic_result_offline_reason(r, buf, sizeof buf, &n), LIC_STATUS_OK);
    CHECK_STATUS(lic_result_signed_part(r, LIC_SIGNED_PART_CERTIFICATE, NULL, 0, &n), LIC_STATUS_BUFFER_TOO_SMALL);
    lic_result_free(r);
    r = NULL;
    CHECK_STATUS(lic_validate(away, LIC_VALIDATE_ONLINE_ONLY, &r), LIC_STATUS_NETWORK_ERROR);
    CHECK(r == NULL);
    lic_client_free(away);
  }

  /* Free A's slot from B, then B activates. */
  CHECK_STATUS(lic_deactivate(b, machine_id), LIC_STATUS_OK);
  CHECK_STATUS(lic_validate(b, LIC_VALIDATE_AUTO_ACTIVATE, &r), LIC_STATUS_OK);
  CHECK(lic_result_code(r) == LIC_CODE_VALID);
  lic_result_free(r);
  r = NULL;
  CHECK_STATUS(lic_deactivate(b, NULL), LIC_STATUS_OK);
  CHECK_STATUS(lic_deactivate(b, NULL), LIC_STATUS_MACHINE_NOT_ACTIVATED);
  CHECK(strstr(lic_last_error_message(), "not activated") != NULL);

  lic_client_free(a);
  lic_client_free(b);
}

static void test_signature_failure(void) {
  /* A valid Ed25519 key that is not the server's: every answer is forged. */
  const char *other = "e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788";
  lic_client *c = make_client(env("LIC_TEST_KEY"), "c-fp-sig", other, env("LIC_TEST_URL"), env("LIC_TEST_CACHE"));
  lic_result *r = NULL;
  CHECK_STATUS(lic_validate(c, LIC_VALIDATE_ONLINE_ONLY, &r), LIC_STATUS_SIGNATURE_INVALID);
  CHECK(r == NULL);
  CHECK(strstr(lic_last_error_message(), "signature") != NULL);
  /* No cached file for this machine: nothing to fall back on. */
  CHECK_STATUS(lic_validate(c, 0, &r), LIC_STATUS_NO_OFFLINE_DATA);
  lic_client_free(c);
}

static void test_offline_inputs(void) {
  lic_client *c = make_client(env("LIC_TEST_KEY"), "c-fp-files", env("LIC_TEST_PUBLIC_KEY"), env("LIC_TEST_URL"),
                              env("LIC_TEST_CACHE"));
  lic_result *r = NULL;
  const char garbage[] = "-----BEGIN MACHINE FILE-----\nnot base64!\n-----END MACHINE FILE-----\n";
  CHECK_STATUS(lic_client_load_file(c, (const uint8_t *)garbage, sizeof garbage - 1), LIC_STATUS_FILE_MALFORMED);
  CHECK_STATUS(lic_client_load_file(c, NULL, 5), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_client_load_file(c, NULL, 0), LIC_STATUS_FILE_MALFORMED);
  CHECK_STATUS(lic_client_load_file_path(c, "/nonexistent/lic/file.lic"), LIC_STATUS_IO_ERROR);
  CHECK_STATUS(lic_client_check_signed_key(c, &r), LIC_STATUS_KEY_NOT_SIGNED);
  CHECK(r == NULL);
  lic_client_free(c);
}

static void test_logging_never_shows_the_key(void) {
  const char *key = env("LIC_TEST_KEY");
  lic_config *cfg = NULL;
  lic_client *c = NULL;
  lic_result *r = NULL;
  CHECK_STATUS(lic_config_new(&cfg), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_account_id(cfg, env("LIC_TEST_ACCOUNT")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_api_url(cfg, env("LIC_TEST_URL")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_license_key(cfg, key), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_public_key(cfg, env("LIC_TEST_PUBLIC_KEY")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_fingerprint(cfg, "c-fp-log"), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_cache_dir(cfg, env("LIC_TEST_CACHE")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_log_callback(cfg, on_log, 4, (void *)key), LIC_STATUS_OK);
  CHECK_STATUS(lic_client_new(cfg, &c), LIC_STATUS_OK);
  lic_config_free(cfg);
  CHECK_STATUS(lic_validate(c, LIC_VALIDATE_AUTO_ACTIVATE, &r), LIC_STATUS_OK);
  CHECK(lic_result_code(r) == LIC_CODE_VALID);
  lic_result_free(r);
  CHECK_STATUS(lic_deactivate(c, NULL), LIC_STATUS_OK);
  CHECK(log_messages > 0);
  CHECK(log_leaked_key == 0);
  lic_client_free(c);
}

struct thread_arg {
  lic_client *client;
  int ok;
};

static void *validate_many(void *p) {
  struct thread_arg *arg = (struct thread_arg *)p;
  int i;
  for (i = 0; i < 10; i++) {
    lic_result *r = NULL;
    if (lic_validate(arg->client, LIC_VALIDATE_ONLINE_ONLY, &r) == LIC_STATUS_OK && lic_result_code(r) == LIC_CODE_VALID)
      arg->ok++;
    lic_result_free(r);
  }
  return NULL;
}

static void test_threads(void) {
  lic_client *c = make_client(env("LIC_TEST_KEY"), "c-fp-threads", env("LIC_TEST_PUBLIC_KEY"), env("LIC_TEST_URL"),
                              env("LIC_TEST_CACHE"));
  pthread_t threads[4];
  struct thread_arg args[4];
  int i;
  CHECK_STATUS(lic_activate(c, NULL), LIC_STATUS_OK);
  for (i = 0; i < 4; i++) {
    args[i].client = c;
    args[i].ok = 0;
    pthread_create(&threads[i], NULL, validate_many, &args[i]);
  }
  for (i = 0; i < 4; i++) {
    pthread_join(threads[i], NULL);
    CHECK(args[i].ok == 10);
  }
  CHECK_STATUS(lic_deactivate(c, NULL), LIC_STATUS_OK);
  lic_client_free(c);
}

static int callback_events;

static void on_event(void *user_data, const lic_event *event) {
  (void)user_data;
  if (lic_event_get_kind(event) == LIC_EVENT_KIND_HEARTBEAT_SENT) callback_events++;
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* The slots license allows two processes per machine and wants a
 * heartbeat every second (heartbeatDuration 2). */
static void test_process_slots(void) {
  const char *key = env("LIC_TEST_SLOT_KEY");
  lic_client *c = make_client(key, "c-fp-slots", env("LIC_TEST_PUBLIC_KEY"), env("LIC_TEST_URL"),
                              env("LIC_TEST_CACHE"));
  lic_process_slot *a = NULL, *b = NULL, *full = NULL, *kept = NULL;
  lic_event *ev = NULL;
  lic_result *r = NULL;
  char id[64], buf[256];
  size_t n = 0;
  int sent = 0, polled = 0;

  CHECK_STATUS(lic_process_slot_acquire(c, "c test", &a), LIC_STATUS_MACHINE_NOT_ACTIVATED);
  CHECK(a == NULL);
  CHECK_STATUS(lic_activate(c, NULL), LIC_STATUS_OK);
  CHECK_STATUS(lic_process_slot_acquire(c, "c test", &a), LIC_STATUS_OK);
  CHECK_STATUS(lic_process_slot_acquire(c, NULL, &b), LIC_STATUS_OK);
  CHECK_STATUS(lic_process_slot_acquire(c, NULL, &full), LIC_STATUS_PROCESS_LIMIT_EXCEEDED);
  CHECK(full == NULL);
  CHECK(strstr(lic_last_error_message(), "(2)") != NULL);
  CHECK_STATUS(lic_process_slot_id(a, id, sizeof id, &n), LIC_STATUS_OK);
  CHECK(n == 36);
  CHECK(lic_process_slot_is_held(a) == 1);
  CHECK_STATUS(lic_validate(c, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_process_slots(r) == 2);
  lic_result_free(r);

  /* Release, double release, and the seat is free again. */
  CHECK_STATUS(lic_process_slot_release(b), LIC_STATUS_OK);
  CHECK_STATUS(lic_process_slot_release(b), LIC_STATUS_OK);
  CHECK(lic_process_slot_is_held(b) == 0);
  lic_process_slot_free(b);
  CHECK_STATUS(lic_process_slot_acquire(c, NULL, &kept), LIC_STATUS_OK);

  /* Heartbeats arrive as events. */
  sleep_ms(1600);
  for (;;) {
    CHECK_STATUS(lic_client_poll_event(c, &ev), LIC_STATUS_OK);
    if (ev == NULL) break;
    polled++;
    if (lic_event_get_kind(ev) == LIC_EVENT_KIND_HEARTBEAT_SENT) {
      sent++;
      CHECK_STATUS(lic_event_slot_id(ev, buf, sizeof buf, &n), LIC_STATUS_OK);
      CHECK(lic_event_attempt(ev) == 0);
      CHECK(lic_event_time_left_ms(ev) == -1);
    }
    CHECK_STATUS(lic_event_message(ev, buf, sizeof buf, &n), LIC_STATUS_OK);
    lic_event_free(ev);
  }
  CHECK(sent >= 2);
  CHECK(polled >= sent);
  CHECK(lic_client_dropped_events(c) == 0);
  CHECK(lic_event_get_kind(NULL) == LIC_EVENT_KIND_NONE);

  /* Freeing a handle keeps its slot; freeing the client releases both. */
  lic_process_slot_free(kept);
  lic_client_free(c);
  CHECK_STATUS(lic_process_slot_release(a), LIC_STATUS_OK);
  CHECK_STATUS(lic_process_slot_id(a, buf, sizeof buf, &n), LIC_STATUS_OK);
  CHECK(strcmp(buf, id) == 0);
  lic_process_slot_free(a);

  /* A new client (same machine) finds both seats free. */
  c = make_client(key, "c-fp-slots", env("LIC_TEST_PUBLIC_KEY"), env("LIC_TEST_URL"), env("LIC_TEST_CACHE"));
  CHECK_STATUS(lic_process_slot_acquire(c, NULL, &a), LIC_STATUS_OK);
  CHECK_STATUS(lic_process_slot_acquire(c, NULL, &b), LIC_STATUS_OK);
  CHECK_STATUS(lic_client_start_machine_heartbeat(c), LIC_STATUS_OK);
  CHECK_STATUS(lic_client_stop_machine_heartbeat(c), LIC_STATUS_OK);
  lic_process_slot_free(a);
  lic_process_slot_free(b);
  lic_client_free(c);

  CHECK_STATUS(lic_process_slot_acquire(NULL, NULL, &a), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_process_slot_release(NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_process_slot_id(NULL, buf, sizeof buf, &n), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_client_poll_event(NULL, &ev), LIC_STATUS_NULL_ARGUMENT);
  lic_process_slot_free(NULL);
  lic_event_free(NULL);
}

static void test_event_callback(void) {
  lic_config *cfg = NULL;
  lic_client *c = NULL;
  lic_process_slot *s = NULL;
  lic_event *ev = NULL;
  CHECK_STATUS(lic_config_new(&cfg), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_account_id(cfg, env("LIC_TEST_ACCOUNT")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_api_url(cfg, env("LIC_TEST_URL")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_license_key(cfg, env("LIC_TEST_SLOT_KEY")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_public_key(cfg, env("LIC_TEST_PUBLIC_KEY")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_fingerprint(cfg, "c-fp-callback"), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_cache_dir(cfg, env("LIC_TEST_CACHE")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_event_callback(cfg, on_event, NULL), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_event_callback(NULL, on_event, NULL), LIC_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(lic_client_new(cfg, &c), LIC_STATUS_OK);
  lic_config_free(cfg);
  CHECK_STATUS(lic_activate(c, NULL), LIC_STATUS_OK);
  CHECK_STATUS(lic_process_slot_acquire(c, NULL, &s), LIC_STATUS_OK);
  sleep_ms(1600);
  CHECK(callback_events >= 1);
  CHECK_STATUS(lic_client_poll_event(c, &ev), LIC_STATUS_OK);
  CHECK(ev == NULL); /* the callback took them */
  CHECK_STATUS(lic_process_slot_release(s), LIC_STATUS_OK);
  lic_process_slot_free(s);
  lic_client_free(c);
}

int main(void) {
  test_static_and_null();
  test_invalid_input();
  test_node_locked_flow();
  test_signature_failure();
  test_offline_inputs();
  test_logging_never_shows_the_key();
  test_threads();
  test_process_slots();
  test_event_callback();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
