/* TEST-ONLY stand-in for Windows' bcryptprimitives.dll, for running lic under
 * Wine 8, which lacks that DLL. Rust's standard library (1.78 and later)
 * imports ProcessPrng from it for its random numbers (HashMap seeds); every
 * Windows 10 and 11 has it. This stand-in answers from BCryptGenRandom with
 * the system RNG, which Wine does have. It is built by tests/windows/run.sh
 * next to the test programs only, and never shipped: release archives and
 * packages contain lic.dll alone, which loads the real DLL on Windows. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
    if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
