/* An air-gapped machine: no server, only a license or machine file delivered
 * by hand (checked out for this machine's fingerprint by the vendor or on a
 * connected machine), or a signed license key.
 *
 *   offline FILE       verify FILE and validate from it
 *   offline --key      check the license key itself (ED25519_SIGN keys)
 *
 * Settings from the environment: LIC_ACCOUNT_ID, LIC_PUBLIC_KEY,
 * LIC_LICENSE_KEY, and optionally LIC_FINGERPRINT. */
#include "lic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(const char *what, lic_status st) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, lic_status_str(st), lic_last_error_message());
  return 1;
}

static void print_time(const char *label, lic_status st, int64_t t) {
  char text[64] = "never";
  if (st == LIC_STATUS_OK) {
    time_t tt = (time_t)t;
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", gmtime(&tt));
  }
  printf("  %s: %s\n", label, text);
}

int main(int argc, char **argv) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  lic_result *result = NULL;
  lic_status st;
  int64_t t = 0;
  char detail[256] = "";
  int rc;

  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE | --key\n", argv[0]);
    return 2;
  }
  if (lic_config_new(&cfg) != LIC_STATUS_OK) return 1;
  if ((st = lic_config_set_account_id(cfg, getenv("LIC_ACCOUNT_ID"))) ||
      (st = lic_config_set_public_key(cfg, getenv("LIC_PUBLIC_KEY"))) ||
      (st = lic_config_set_license_key(cfg, getenv("LIC_LICENSE_KEY"))) ||
      (st = lic_config_set_fingerprint(cfg, getenv("LIC_FINGERPRINT"))) ||
      (st = lic_client_new(cfg, &client))) {
    lic_config_free(cfg);
    return fail("configuration", st);
  }
  lic_config_free(cfg);

  if (strcmp(argv[1], "--key") == 0) {
    st = lic_client_check_signed_key(client, &result);
  } else {
    /* Verified (signature, license key, this machine's fingerprint) now. */
    st = lic_client_load_file_path(client, argv[1]);
    if (st != LIC_STATUS_OK) {
      lic_client_free(client);
      return fail("loading the file", st);
    }
    /* No network at all: answer from the file. */
    st = lic_validate(client, LIC_VALIDATE_OFFLINE_ONLY, &result);
  }
  if (st != LIC_STATUS_OK) {
    lic_client_free(client);
    return fail("offline validation", st);
  }
  lic_result_detail(result, detail, sizeof detail, NULL);
  printf("  verdict: %s, valid=%d, \"%s\"\n", lic_code_str(lic_result_code(result)), lic_result_valid(result), detail);
  print_time("file issued", lic_result_file_issued(result, &t), t);
  print_time("file expires", lic_result_file_expiry(result, &t), t);
  print_time("license expires", lic_result_license_expiry(result, &t), t);
  if (lic_result_clock_state(result) == LIC_CLOCK_STATE_TAMPERED) printf("  the system clock was set back!\n");
  rc = lic_result_valid(result) ? 0 : 1;
  lic_result_free(result);
  lic_client_free(client);
  return rc;
}
