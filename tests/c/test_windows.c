/* The Windows code paths of liblic, run as a real Windows program (under Wine
 * in scripts/test) against a running lic-devserver:
 *   - the built-in fingerprint is HMAC-SHA256 keyed by the registry's
 *     MachineGuid over the app id (keygen-sh/machineid's ProtectedID),
 *   - the default cache directory is %LOCALAPPDATA%\lic, and the cached
 *     machine file answers offline from there,
 *   - the cache file is replaced while another program has it open,
 *   - a refused connection (WSAECONNREFUSED) is worded for action.
 * Configured by tests/cross.rs through environment variables; prints
 * "N passed, N failed" and exits non-zero on any failure. */
#include "lic.h"

#include <windows.h>
#include <bcrypt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK_MSG(cond, why)                                                                        \
  do {                                                                                              \
    if (cond) {                                                                                     \
      passed++;                                                                                     \
    } else {                                                                                        \
      failed++;                                                                                     \
      fprintf(stderr, "FAIL %s:%d: %s (last error: %s)%s%s\n", __FILE__, __LINE__, #cond,           \
              lic_last_error_message(), (why)[0] ? "\n     " : "", (why));                          \
    }                                                                                               \
  } while (0)
#define CHECK(cond) CHECK_MSG(cond, "")
#define CHECK_STATUS(expr, want) CHECK((expr) == (want))

static const char *env(const char *name) {
  const char *v = getenv(name);
  if (!v) {
    fprintf(stderr, "missing environment variable %s\n", name);
    exit(2);
  }
  return v;
}

/* lic's warnings and errors, shown with the failures they explain. */
static void on_log(void *user_data, int32_t level, const char *message) {
  (void)user_data;
  fprintf(stderr, "  lic log %d: %s\n", (int)level, message);
}

/* fingerprint NULL: the built-in one. cache NULL: the default directory. */
static lic_client *make_client(const char *fingerprint, const char *url, const char *cache) {
  lic_config *cfg = NULL;
  lic_client *client = NULL;
  CHECK_STATUS(lic_config_new(&cfg), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_account_id(cfg, env("LIC_TEST_ACCOUNT")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_api_url(cfg, url), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_license_key(cfg, env("LIC_TEST_KEY")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_public_key(cfg, env("LIC_TEST_PUBLIC_KEY")), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_app_id(cfg, "lic-windows-test"), LIC_STATUS_OK);
  if (fingerprint) CHECK_STATUS(lic_config_set_fingerprint(cfg, fingerprint), LIC_STATUS_OK);
  if (cache) CHECK_STATUS(lic_config_set_cache_dir(cfg, cache), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_timeout_ms(cfg, 3000), LIC_STATUS_OK);
  CHECK_STATUS(lic_config_set_log_callback(cfg, on_log, 2, NULL), LIC_STATUS_OK);
  CHECK_STATUS(lic_client_new(cfg, &client), LIC_STATUS_OK);
  lic_config_free(cfg);
  return client;
}

/* hex(HMAC-SHA256(key = MachineGuid, message = app id)) with Windows' own CNG. */
static int expected_fingerprint(const char *app_id, char out[65]) {
  char guid[128];
  DWORD size = sizeof guid;
  BCRYPT_ALG_HANDLE alg = NULL;
  BCRYPT_HASH_HANDLE hash = NULL;
  UCHAR mac[32];
  int i, ok = 0;
  if (RegGetValueA(HKEY_LOCAL_MACHINE, "SOFTWARE\\Microsoft\\Cryptography", "MachineGuid",
                   RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY, NULL, guid, &size) != ERROR_SUCCESS)
    return 0;
  if (BCRYPT_SUCCESS(BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, NULL, BCRYPT_ALG_HANDLE_HMAC_FLAG)) &&
      BCRYPT_SUCCESS(BCryptCreateHash(alg, &hash, NULL, 0, (PUCHAR)guid, (ULONG)strlen(guid), 0)) &&
      BCRYPT_SUCCESS(BCryptHashData(hash, (PUCHAR)app_id, (ULONG)strlen(app_id), 0)) &&
      BCRYPT_SUCCESS(BCryptFinishHash(hash, mac, sizeof mac, 0))) {
    for (i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", mac[i]);
    ok = 1;
  }
  if (hash) BCryptDestroyHash(hash);
  if (alg) BCryptCloseAlgorithmProvider(alg, 0);
  return ok;
}

static void test_machine_guid_fingerprint(void) {
  char got[128], again[128], other[128], want[65] = "";
  size_t n = 0;
  CHECK_STATUS(lic_fingerprint("lic-windows-test", got, sizeof got, &n), LIC_STATUS_OK);
  CHECK(n == 64);
  CHECK_STATUS(lic_fingerprint("lic-windows-test", again, sizeof again, &n), LIC_STATUS_OK);
  CHECK(strcmp(got, again) == 0);
  CHECK_STATUS(lic_fingerprint("another-app", other, sizeof other, &n), LIC_STATUS_OK);
  CHECK(strcmp(got, other) != 0);
  CHECK_MSG(expected_fingerprint("lic-windows-test", want), "cannot read MachineGuid or compute HMAC-SHA256 with CNG");
  CHECK_MSG(strcmp(got, want) == 0, "the fingerprint is not HMAC-SHA256(MachineGuid, app id)");
  if (strcmp(got, want) != 0) fprintf(stderr, "     lic: %s\n     want: %s\n", got, want);
}

/* The number of machine-*.lic files in dir. */
static int machine_files(const char *dir, char *first, size_t first_len) {
  char pattern[MAX_PATH];
  WIN32_FIND_DATAA fd;
  HANDLE h;
  int count = 0;
  snprintf(pattern, sizeof pattern, "%s\\machine-*.lic", dir);
  h = FindFirstFileA(pattern, &fd);
  if (h == INVALID_HANDLE_VALUE) return 0;
  do {
    if (count == 0 && first) snprintf(first, first_len, "%s\\%s", dir, fd.cFileName);
    count++;
  } while (FindNextFileA(h, &fd));
  FindClose(h);
  return count;
}

/* The number of entries in dir matching glob. */
static int files_in(const char *dir, const char *glob) {
  char pattern[MAX_PATH];
  WIN32_FIND_DATAA fd;
  HANDLE h;
  int count = 0;
  snprintf(pattern, sizeof pattern, "%s\\%s", dir, glob);
  h = FindFirstFileA(pattern, &fd);
  if (h == INVALID_HANDLE_VALUE) return 0;
  do {
    count++;
  } while (FindNextFileA(h, &fd));
  FindClose(h);
  return count;
}

static int write_file(const char *path, const char *text) {
  HANDLE h = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  DWORD n = 0;
  BOOL ok;
  if (h == INVALID_HANDLE_VALUE) return 0;
  ok = WriteFile(h, text, (DWORD)strlen(text), &n, NULL);
  CloseHandle(h);
  return ok && n == strlen(text);
}

/* The first len-1 bytes of path, NUL-terminated. */
static int read_file(const char *path, char *buf, size_t len) {
  HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  DWORD n = 0;
  BOOL ok;
  if (h == INVALID_HANDLE_VALUE) return 0;
  ok = ReadFile(h, buf, (DWORD)(len - 1), &n, NULL);
  CloseHandle(h);
  buf[ok ? n : 0] = 0;
  return ok;
}

static void test_local_app_data_cache_and_replacement(void) {
  const char *url = env("LIC_TEST_URL");
  char appdata[MAX_PATH], dir[MAX_PATH], file[MAX_PATH] = "";
  char text[64];
  lic_client *c, *away, *fresh;
  lic_result *r = NULL;
  HANDLE reader;

  /* A fresh %LOCALAPPDATA% for this run; lic reads it when no cache dir is set. */
  snprintf(appdata, sizeof appdata, "%s", env("LIC_TEST_LOCALAPPDATA"));
  CreateDirectoryA(appdata, NULL);
  CHECK(SetEnvironmentVariableA("LOCALAPPDATA", appdata));
  snprintf(dir, sizeof dir, "%s\\lic", appdata);

  c = make_client(NULL, url, NULL);
  CHECK_STATUS(lic_activate(c, NULL), LIC_STATUS_OK);
  CHECK_STATUS(lic_validate(c, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_code(r) == LIC_CODE_VALID);
  CHECK(lic_result_source(r) == LIC_SOURCE_ONLINE);
  lic_result_free(r);
  r = NULL;
  CHECK_MSG(machine_files(dir, file, sizeof file) == 1, "no machine file in %LOCALAPPDATA%\\lic");

  /* Offline, from %LOCALAPPDATA%\lic. */
  away = make_client(NULL, "http://127.0.0.1:9", NULL);
  CHECK_STATUS(lic_validate(away, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_code(r) == LIC_CODE_VALID);
  CHECK(lic_result_source(r) == LIC_SOURCE_CACHED_FILE);
  lic_result_free(r);
  r = NULL;

  /* A corrupt cache file is replaced at the next online success, here while
   * another program (a second instance, a backup tool) has it open for
   * reading, sharing it as Windows programs usually do. */
  CHECK(write_file(file, "garbage"));
  reader = CreateFileA(file, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                       OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  CHECK(reader != INVALID_HANDLE_VALUE);
  fresh = make_client(NULL, url, NULL); /* reads the cache from disk */
  CHECK_STATUS(lic_validate(fresh, LIC_VALIDATE_ONLINE_ONLY, &r), LIC_STATUS_OK);
  CHECK(lic_result_code(r) == LIC_CODE_VALID);
  lic_result_free(r);
  r = NULL;
  CHECK_MSG(read_file(file, text, sizeof text) && strstr(text, "-----BEGIN MACHINE FILE-----") == text,
            "core change needed (src cache::write_atomic): on Windows, std::fs::rename over a file another "
            "handle has open fails with ERROR_ACCESS_DENIED wherever FileRenameInfoEx/POSIX semantics are "
            "missing (Wine 8, FAT32/exFAT volumes, Windows before 10 1607); fall back to moving the target "
            "aside (MoveFileExW to a unique .old name), moving the temporary in, then deleting the aside file");
  CloseHandle(reader);
  CHECK(files_in(dir, "machine-*") == 1 && files_in(dir, "*.tmp") == 0); /* no temporary left */
  lic_client_free(away);
  away = make_client(NULL, "http://127.0.0.1:9", NULL);
  CHECK_STATUS(lic_validate(away, 0, &r), LIC_STATUS_OK);
  CHECK(lic_result_code(r) == LIC_CODE_VALID);
  CHECK(lic_result_source(r) == LIC_SOURCE_CACHED_FILE);
  lic_result_free(r);
  r = NULL;
  lic_client_free(fresh);

  /* A reader that does not share deletion blocks the rename: the validation
   * still succeeds online, the old file stays whole, no temporary is left. */
  CHECK(write_file(file, "garbage"));
  reader = CreateFileA(file, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  CHECK(reader != INVALID_HANDLE_VALUE);
  fresh = make_client(NULL, url, NULL);
  CHECK_STATUS(lic_validate(fresh, LIC_VALIDATE_ONLINE_ONLY, &r), LIC_STATUS_OK);
  CHECK(lic_result_code(r) == LIC_CODE_VALID);
  lic_result_free(r);
  r = NULL;
  CloseHandle(reader);
  CHECK(read_file(file, text, sizeof text) &&
        (strcmp(text, "garbage") == 0 || strstr(text, "-----BEGIN MACHINE FILE-----") == text));
  CHECK(files_in(dir, "machine-*") == 1 && files_in(dir, "*.tmp") == 0);
  lic_client_free(fresh);

  CHECK_STATUS(lic_deactivate(c, NULL), LIC_STATUS_OK);
  lic_client_free(away);
  lic_client_free(c);
}

static void test_refused_connection_is_worded_for_action(void) {
  lic_client *c = make_client("win-fp-refused", "http://127.0.0.1:9", env("LIC_TEST_CACHE"));
  lic_result *r = NULL;
  const char *msg;
  CHECK_STATUS(lic_validate(c, LIC_VALIDATE_ONLINE_ONLY, &r), LIC_STATUS_NETWORK_ERROR);
  CHECK(r == NULL);
  msg = lic_last_error_message();
  printf("refused connection: %s\n", msg);
  CHECK(strstr(msg, "127.0.0.1:9") != NULL);
  /* Words a user can act on, the same on every Windows, under Wine and on
   * unix, rather than only the system's text for WSAECONNREFUSED (10061). */
  CHECK(strstr(msg, "refused") != NULL);
  CHECK_MSG(strstr(msg, "check") != NULL,
            "core change needed (src http.rs Transport::transport_failure): word io::ErrorKind::ConnectionRefused "
            "(WSAECONNREFUSED 10061, ECONNREFUSED 111) for action, e.g. \"cannot reach ORIGIN: the connection was "
            "refused, so no server is listening there: check the API URL and that the server is running\"");
  lic_client_free(c);
}

int main(void) {
  test_machine_guid_fingerprint();
  test_local_app_data_cache_and_replacement();
  test_refused_connection_is_worded_for_action();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
