/* Cold start of an app that links lic and does one offline validation: the
 * client answers from the machine file cached in LIC_CACHE_DIR
 * (LIC_VALIDATE_OFFLINE_ONLY: no network). Exit 0 when VALID. */
#include "lic.h"

#include <stdlib.h>

int main(void) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  lic_result *r = NULL;
  int valid = 0;
  if (lic_config_new(&cfg) || lic_config_set_account_id(cfg, getenv("LIC_ACCOUNT_ID")) ||
      lic_config_set_public_key(cfg, getenv("LIC_PUBLIC_KEY")) ||
      lic_config_set_license_key(cfg, getenv("LIC_LICENSE_KEY")) ||
      lic_config_set_fingerprint(cfg, getenv("LIC_FINGERPRINT")) ||
      lic_config_set_cache_dir(cfg, getenv("LIC_CACHE_DIR")) || lic_client_new(cfg, &client))
    return 2;
  lic_config_free(cfg);
  if (lic_validate(client, LIC_VALIDATE_OFFLINE_ONLY, &r) == LIC_STATUS_OK) valid = lic_result_valid(r);
  lic_result_free(r);
  lic_client_free(client);
  return valid ? 0 : 1;
}
