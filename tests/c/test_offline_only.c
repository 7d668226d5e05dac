/* Drives an offline-only liblic (built without the `online` feature) through
 * the unchanged header: a real Keygen machine file validates offline, and a
 * call that needs the network answers LIC_STATUS_NETWORK_ERROR with a
 * message that says why. Usage: test_offline_only FILE FINGERPRINT LICENSE_KEY
 * PUBLIC_KEY CACHE_DIR. Prints one line per check; exit 0 when all pass. */
#include "lic.h"

#include <stdio.h>
#include <string.h>

static int failed = 0;

static void check(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  if (!ok) failed = 1;
}

int main(int argc, char **argv) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  lic_result *r = NULL;
  lic_status st;
  int64_t issued = 0;
  if (argc != 6) return 2;
  if (lic_config_new(&cfg) || lic_config_set_account_id(cfg, "offline-only") ||
      lic_config_set_fingerprint(cfg, argv[2]) || lic_config_set_license_key(cfg, argv[3]) ||
      lic_config_set_public_key(cfg, argv[4]) || lic_config_set_cache_dir(cfg, argv[5]) ||
      lic_client_new(cfg, &client)) {
    fprintf(stderr, "setup failed: %s\n", lic_last_error_message());
    return 2;
  }
  lic_config_free(cfg);

  st = lic_client_load_file_path(client, argv[1]);
  check(st == LIC_STATUS_OK, "the machine file loads (signature verified, decrypted)");
  if (st) fprintf(stderr, "  %s: %s\n", lic_status_str(st), lic_last_error_message());

  st = lic_validate(client, LIC_VALIDATE_OFFLINE_ONLY, &r);
  check(st == LIC_STATUS_OK, "offline validation answers");
  if (st == LIC_STATUS_OK) {
    /* The vector's file expired in 2022: a verdict from its verified dates
     (issued 2022-07-28T14:22:23Z, Unix seconds). */
    printf("  verdict: %s\n", lic_code_str(lic_result_code(r)));
    check(lic_result_file_issued(r, &issued) == LIC_STATUS_OK && issued == 1659018143LL,
          "the verdict carries the file's signed issue time");
    check(!lic_result_valid(r), "an expired file is not valid");
  }
  lic_result_free(r);
  r = NULL;

  st = lic_validate(client, LIC_VALIDATE_ONLINE_ONLY, &r);
  check(st == LIC_STATUS_NETWORK_ERROR, "online validation answers LIC_STATUS_NETWORK_ERROR");
  check(strstr(lic_last_error_message(), "no network support") != NULL, "and says the build has no network support");
  printf("  message: %s\n", lic_last_error_message());
  lic_result_free(r);

  lic_client_free(client);
  return failed;
}
