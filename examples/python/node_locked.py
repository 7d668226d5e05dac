#!/usr/bin/env python3
"""Node-locked licensing with lic, as an integrator writes it (mirrors examples/c/node_locked.c).

  node_locked.py                validate; activate this machine when needed;
                                offer to move the license when it is locked elsewhere
  node_locked.py --deactivate   release this machine's activation

Settings come from the environment so the same script runs against
lic-devserver or Keygen: LIC_ACCOUNT_ID, LIC_API_URL, LIC_PUBLIC_KEY,
LIC_LICENSE_KEY, and optionally LIC_FINGERPRINT and LIC_CACHE_DIR.
The native library is found through LIC_LIBRARY (or beside the package, or
the system search path).
"""

from __future__ import annotations

import os
import sys

import lic

SOURCES = {
    lic.Source.CACHED_FILE: "cached machine file (offline)",
    lic.Source.LOADED_FILE: "loaded file (offline)",
    lic.Source.SIGNED_KEY: "signed key (offline)",
}


def fail(what: str, e: lic.LicError) -> int:
    print(f"{what} failed: {e.status.text if isinstance(e.status, lic.Status) else e.status} ({e.message})",
          file=sys.stderr)
    return 1


def client_from_env() -> lic.Client:
    # An unset variable leaves the setting at its default.
    return lic.Client(
        account_id=os.environ.get("LIC_ACCOUNT_ID"),
        api_url=os.environ.get("LIC_API_URL"),
        public_key=os.environ.get("LIC_PUBLIC_KEY"),
        license_key=os.environ.get("LIC_LICENSE_KEY"),
        fingerprint=os.environ.get("LIC_FINGERPRINT"),
        cache_dir=os.environ.get("LIC_CACHE_DIR"),
    )


def print_result(r: lic.ValidationResult) -> None:
    source = SOURCES.get(r.source, "online")
    verified = ", signature verified" if r.verified else ", NOT verified"
    print(f'  verdict: {r.code.name}, valid={int(r.valid)}, "{r.detail}" [{source}{verified}]')


def offer_transfer(client: lic.Client) -> int:
    """The license is locked to another machine: list it and let the user move it."""
    try:
        machines = client.machines()
    except lic.LicError as e:
        return fail("listing machines", e)
    other_id, host = "", "?"
    if machines:
        other_id, host = machines[0].id, machines[0].hostname or "?"
    print(f"  this license is in use on another machine ({host}, {other_id}).\n  Move it to this machine? [y/N] ",
          end="", flush=True)
    answer = sys.stdin.readline()
    if not answer.startswith(("y", "Y")):
        print("  not moved: the app stays locked.")
        return 1
    try:
        client.deactivate(other_id)
    except lic.LicError as e:
        return fail("deactivating the other machine", e)
    try:
        client.activate()
    except lic.LicError as e:
        return fail("activating", e)
    print("  moved: this machine is now activated.")
    return 0


def run(client: lic.Client, argv: list) -> int:
    if len(argv) > 1 and argv[1] == "--deactivate":
        try:
            client.deactivate()
        except lic.LicError as e:
            return fail("deactivation", e)
        print("  this machine is deactivated.")
        return 0

    try:
        result = client.validate()
    except lic.LicError as e:
        # No answer at all: the server is unreachable and nothing is cached.
        return fail("validation", e)
    print_result(result)
    if result.code is lic.Code.VALID:
        rc = 0
    elif result.code in (lic.Code.NO_MACHINE, lic.Code.NO_MACHINES):
        print("  activating this machine...")
        try:
            client.activate()
        except lic.MachineLimitError:
            rc = offer_transfer(client)
        except lic.LicError as e:
            rc = fail("activation", e)
        else:
            try:
                result = client.validate()
            except lic.LicError as e:
                rc = fail("validation", e)
            else:
                print_result(result)
                rc = 0 if result.code is lic.Code.VALID else 1
    elif result.code is lic.Code.FINGERPRINT_SCOPE_MISMATCH:
        rc = offer_transfer(client)
    else:
        # Expired, suspended, ...: the verdict is the answer. Note that valid
        # can be true with EXPIRED under a MAINTAIN_ACCESS policy.
        rc = 0 if result.valid else 1
    print("  => licensed: start the app." if rc == 0 else "  => not licensed.")
    return rc


def main(argv: list) -> int:
    try:
        client = client_from_env()
    except lic.LicError as e:
        return fail("configuration", e)
    with client:
        return run(client, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
