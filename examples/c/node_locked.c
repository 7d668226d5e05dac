/* Node-locked licensing with lic, as an integrator writes it.
 *
 *   node_locked            validate; activate this machine when needed;
 *                          offer to move the license when it is locked elsewhere
 *   node_locked --deactivate   release this machine's activation
 *
 * Settings come from the environment so the same binary runs against
 * lic-devserver or Keygen: LIC_ACCOUNT_ID, LIC_API_URL, LIC_PUBLIC_KEY,
 * LIC_LICENSE_KEY, and optionally LIC_FINGERPRINT and LIC_CACHE_DIR. */
#include "lic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, lic_status st) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, lic_status_str(st), lic_last_error_message());
  return 1;
}

static lic_client *client_from_env(void) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  lic_status st;
  if (lic_config_new(&cfg) != LIC_STATUS_OK) return NULL;
  /* getenv returns NULL when unset, which resets a setting to its default. */
  if ((st = lic_config_set_account_id(cfg, getenv("LIC_ACCOUNT_ID"))) ||
      (st = lic_config_set_api_url(cfg, getenv("LIC_API_URL"))) ||
      (st = lic_config_set_public_key(cfg, getenv("LIC_PUBLIC_KEY"))) ||
      (st = lic_config_set_license_key(cfg, getenv("LIC_LICENSE_KEY"))) ||
      (st = lic_config_set_fingerprint(cfg, getenv("LIC_FINGERPRINT"))) ||
      (st = lic_config_set_cache_dir(cfg, getenv("LIC_CACHE_DIR"))) ||
      (st = lic_client_new(cfg, &client))) {
    fail("configuration", st);
  }
  lic_config_free(cfg);
  return client;
}

static void print_result(const lic_result *r) {
  char detail[256] = "";
  const char *source = "online";
  lic_result_detail(r, detail, sizeof detail, NULL);
  switch (lic_result_source(r)) {
    case LIC_SOURCE_CACHED_FILE: source = "cached machine file (offline)"; break;
    case LIC_SOURCE_LOADED_FILE: source = "loaded file (offline)"; break;
    case LIC_SOURCE_SIGNED_KEY: source = "signed key (offline)"; break;
    default: break;
  }
  printf("  verdict: %s, valid=%d, \"%s\" [%s%s]\n", lic_code_str(lic_result_code(r)), lic_result_valid(r), detail,
         source, lic_result_verified(r) ? ", signature verified" : ", NOT verified");
}

/* The license is locked to another machine: list it and let the user move it. */
static int offer_transfer(const lic_client *client) {
  lic_machine_list *machines = NULL;
  lic_machine *other = NULL;
  char id[64] = "", host[256] = "?", answer[8] = "";
  lic_status st = lic_client_machines(client, &machines);
  if (st != LIC_STATUS_OK) return fail("listing machines", st);
  if (lic_machine_list_count(machines) > 0 && lic_machine_list_get(machines, 0, &other) == LIC_STATUS_OK) {
    lic_machine_id(other, id, sizeof id, NULL);
    lic_machine_hostname(other, host, sizeof host, NULL);
    lic_machine_free(other);
  }
  lic_machine_list_free(machines);
  printf("  this license is in use on another machine (%s, %s).\n  Move it to this machine? [y/N] ", host, id);
  fflush(stdout);
  if (!fgets(answer, sizeof answer, stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
    printf("  not moved: the app stays locked.\n");
    return 1;
  }
  if ((st = lic_deactivate(client, id)) != LIC_STATUS_OK) return fail("deactivating the other machine", st);
  if ((st = lic_activate(client, NULL)) != LIC_STATUS_OK) return fail("activating", st);
  printf("  moved: this machine is now activated.\n");
  return 0;
}

int main(int argc, char **argv) {
  lic_client *client = client_from_env();
  lic_result *result = NULL;
  lic_status st;
  int rc = 1;
  if (!client) return 1;

  if (argc > 1 && strcmp(argv[1], "--deactivate") == 0) {
    st = lic_deactivate(client, NULL);
    if (st == LIC_STATUS_OK) printf("  this machine is deactivated.\n");
    else fail("deactivation", st);
    lic_client_free(client);
    return st == LIC_STATUS_OK ? 0 : 1;
  }

  st = lic_validate(client, 0, &result);
  if (st != LIC_STATUS_OK) {
    /* No answer at all: the server is unreachable and nothing is cached. */
    lic_client_free(client);
    return fail("validation", st);
  }
  print_result(result);
  switch (lic_result_code(result)) {
    case LIC_CODE_VALID:
      rc = 0;
      break;
    case LIC_CODE_NO_MACHINE:
    case LIC_CODE_NO_MACHINES:
      printf("  activating this machine...\n");
      st = lic_activate(client, NULL);
      if (st == LIC_STATUS_MACHINE_LIMIT_EXCEEDED) {
        rc = offer_transfer(client);
      } else if (st != LIC_STATUS_OK) {
        rc = fail("activation", st);
      } else {
        lic_result_free(result);
        result = NULL;
        if ((st = lic_validate(client, 0, &result)) != LIC_STATUS_OK) {
          rc = fail("validation", st);
        } else {
          print_result(result);
          rc = lic_result_code(result) == LIC_CODE_VALID ? 0 : 1;
        }
      }
      break;
    case LIC_CODE_FINGERPRINT_SCOPE_MISMATCH:
      rc = offer_transfer(client);
      break;
    default:
      /* Expired, suspended, ...: the verdict is the answer. Note that valid
       * can be 1 with EXPIRED under a MAINTAIN_ACCESS policy. */
      rc = lic_result_valid(result) ? 0 : 1;
      break;
  }
  printf(rc == 0 ? "  => licensed: start the app.\n" : "  => not licensed.\n");
  lic_result_free(result);
  lic_client_free(client);
  return rc;
}
