/* An air-gapped machine licensed by QR code (Keygen's air-gapped activation):
 *
 *   1. it shows its activation request as a QR code in the terminal;
 *   2. a person scans it with a phone (or pastes the text) into the
 *      activation portal, lic-portal, on any online device, which activates
 *      this machine and hands back a machine file (.lic);
 *   3. the person carries the file here (USB stick, email) and types its path;
 *   4. lic verifies it, decrypts it and validates offline: no network at all.
 *
 *   airgapped [QR.png]    also write the QR code as a PNG file
 *
 * Settings from the environment: LIC_ACCOUNT_ID, LIC_PUBLIC_KEY,
 * LIC_LICENSE_KEY, and optionally LIC_FINGERPRINT, LIC_PORTAL_URL (the
 * request then opens the portal from a phone's camera) and LIC_APP_NAME.
 *
 * A real app keeps the .lic file (beside its settings, say) and loads it at
 * every start; it asks for a new one when the verdict is FILE_EXPIRED. */
#include "lic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, lic_status st) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, lic_status_str(st), lic_last_error_message());
  return 1;
}

/* A string output under the buffer protocol, in a malloc'd buffer. */
static char *text_of(lic_status (*get)(const lic_activation_request *, char *, size_t, size_t *),
                     const lic_activation_request *req) {
  size_t n = 0;
  char *buf;
  if (get(req, NULL, 0, &n) != LIC_STATUS_BUFFER_TOO_SMALL) return NULL;
  buf = malloc(n + 1);
  if (buf && get(req, buf, n + 1, &n) != LIC_STATUS_OK) {
    free(buf);
    buf = NULL;
  }
  return buf;
}

static int write_png(const lic_activation_request *req, const char *path) {
  size_t n = 0;
  uint8_t *png;
  FILE *f;
  int ok;
  if (lic_activation_request_png(req, NULL, 0, &n) != LIC_STATUS_BUFFER_TOO_SMALL) return 0;
  png = malloc(n); /* bytes: no NUL, exactly n */
  if (!png) return 0;
  ok = lic_activation_request_png(req, png, n, &n) == LIC_STATUS_OK && (f = fopen(path, "wb")) != NULL;
  if (ok) {
    ok = fwrite(png, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
  }
  free(png);
  return ok;
}

int main(int argc, char **argv) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  lic_activation_request *req = NULL;
  lic_result *result = NULL;
  char *qr, *text;
  char path[4096], detail[256] = "";
  const char *what;
  size_t len;
  lic_status st;
  int rc;

  if (lic_config_new(&cfg) != LIC_STATUS_OK) return 1;
  if ((st = lic_config_set_account_id(cfg, getenv("LIC_ACCOUNT_ID"))) ||
      (st = lic_config_set_public_key(cfg, getenv("LIC_PUBLIC_KEY"))) ||
      (st = lic_config_set_license_key(cfg, getenv("LIC_LICENSE_KEY"))) ||
      (st = lic_config_set_fingerprint(cfg, getenv("LIC_FINGERPRINT"))) ||
      (st = lic_client_new(cfg, &client))) {
    rc = fail("configuration", st); /* before any other lic_ call, which clears the message */
    lic_config_free(cfg);
    return rc;
  }
  lic_config_free(cfg);

  /* 1. The request: license key, fingerprint, host name, platform, app name. */
  st = lic_client_activation_request(client, getenv("LIC_PORTAL_URL"), getenv("LIC_APP_NAME"), 0, &req);
  if (st != LIC_STATUS_OK) {
    rc = fail("making the activation request", st);
    lic_client_free(client);
    return rc;
  }
  qr = text_of(lic_activation_request_terminal, req);
  text = text_of(lic_activation_request_text, req);
  if (!qr || !text) {
    fprintf(stderr, "rendering the request failed\n");
    free(qr);
    free(text);
    lic_activation_request_free(req);
    lic_client_free(client);
    return 1;
  }
  printf("This computer is not connected to the internet. To activate it, scan this\n"
         "code with your phone, or open the activation portal on any online device and\n"
         "paste the text below it:\n\n%s\n%s\n\n", qr, text);
  if (argc > 1) {
    if (write_png(req, argv[1]))
      printf("(The code is also in %s.)\n\n", argv[1]);
    else
      fprintf(stderr, "could not write %s\n", argv[1]);
  }
  free(qr);
  free(text);
  lic_activation_request_free(req);

  /* 2./3. The file the portal gave, brought here by hand. */
  printf("Path to the license file (.lic): ");
  fflush(stdout);
  if (!fgets(path, sizeof path, stdin)) {
    fprintf(stderr, "no path given\n");
    lic_client_free(client);
    return 2;
  }
  len = strlen(path);
  while (len > 0 && (path[len - 1] == '\n' || path[len - 1] == '\r' || path[len - 1] == ' ')) path[--len] = '\0';

  /* 4. Verified (signature, license key, this machine's fingerprint) and
   *    decrypted now; then validated with no network at all. */
  what = "loading the license file";
  st = lic_client_load_file_path(client, path);
  if (st == LIC_STATUS_OK) {
    what = "offline validation";
    st = lic_validate(client, LIC_VALIDATE_OFFLINE_ONLY, &result);
  }
  if (st != LIC_STATUS_OK) {
    rc = fail(what, st);
    lic_client_free(client);
    return rc;
  }
  lic_result_detail(result, detail, sizeof detail, NULL);
  printf("\nverdict: %s, valid=%d, \"%s\"\n", lic_code_str(lic_result_code(result)), lic_result_valid(result),
         detail);
  rc = lic_result_valid(result) ? 0 : 1;
  lic_result_free(result);
  lic_client_free(client);
  return rc;
}
