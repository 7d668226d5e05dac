/* Offline validation per call from C, the baseline for the bindings'
 * benchmarks (bindings/python/bench_offline.py, bindings/csharp/tests).
 *
 *   bench_offline ITERATIONS
 *
 * Settings from the environment as examples/c/node_locked.c: LIC_ACCOUNT_ID,
 * LIC_API_URL, LIC_PUBLIC_KEY, LIC_LICENSE_KEY, LIC_FINGERPRINT,
 * LIC_CACHE_DIR (with the machine file cached by an earlier activation).
 * Each call: lic_validate(LIC_VALIDATE_OFFLINE_ONLY), lic_result_code,
 * lic_result_free. Prints "c_ns_per_call <N>". */
#define _POSIX_C_SOURCE 199309L
#include "lic.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 1000, i;
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  lic_status st;
  double start;
  if (lic_config_new(&cfg) != LIC_STATUS_OK) return 1;
  if ((st = lic_config_set_account_id(cfg, getenv("LIC_ACCOUNT_ID"))) ||
      (st = lic_config_set_api_url(cfg, getenv("LIC_API_URL"))) ||
      (st = lic_config_set_public_key(cfg, getenv("LIC_PUBLIC_KEY"))) ||
      (st = lic_config_set_license_key(cfg, getenv("LIC_LICENSE_KEY"))) ||
      (st = lic_config_set_fingerprint(cfg, getenv("LIC_FINGERPRINT"))) ||
      (st = lic_config_set_cache_dir(cfg, getenv("LIC_CACHE_DIR"))) ||
      (st = lic_client_new(cfg, &client))) {
    fprintf(stderr, "configuration failed: %s (%s)\n", lic_status_str(st), lic_last_error_message());
    return 1;
  }
  lic_config_free(cfg);
  for (i = -iterations / 10 - 1; i < iterations; i++) {
    lic_result *r = NULL;
    if (i == 0) start = now_ns(); /* after a warm-up of 10% */
    st = lic_validate(client, LIC_VALIDATE_OFFLINE_ONLY, &r);
    if (st != LIC_STATUS_OK || lic_result_code(r) != LIC_CODE_VALID) {
      fprintf(stderr, "validate failed: %s (%s)\n", lic_status_str(st), lic_last_error_message());
      return 1;
    }
    lic_result_free(r);
  }
  printf("c_ns_per_call %.0f\n", (now_ns() - start) / (double)iterations);
  lic_client_free(client);
  return 0;
}
