#!/usr/bin/env python3
"""Verify a golive signed report without golive, with securesystemslib's DSSE code.

    python3 -m pip install 'securesystemslib[crypto]'
    python3 scripts/verify_signed_report.py golive-report.signed.json keyring.toml

Checks every signature of every envelope (DSSE PAE, Ed25519) against the keyring's public
keys, that every sign-off refers to the sha256 of the report envelope's payload and is signed
by a key the keyring gives its role, and that every role in the report's [signoff] signed.
Exit 0 when all holds, 1 otherwise. Key ids: sha256 of the DER SubjectPublicKeyInfo.
"""

import hashlib
import json
import pathlib
import sys
import tomllib

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT = "https://in-toto.io/Statement/v1"


def load_keyring(path):
    ring = tomllib.loads(pathlib.Path(path).read_text())
    base = pathlib.Path(path).parent
    keys, roles = {}, {}
    for role, entries in ring["roles"].items():
        for entry in entries:
            pem = entry.encode() if "-----BEGIN" in entry else (base / entry).read_bytes()
            public = load_pem_public_key(pem)
            der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
            keyid = hashlib.sha256(der).hexdigest()
            keys[keyid] = SSlibKey.from_crypto(public, keyid=keyid, scheme="ed25519")
            roles.setdefault(keyid, set()).add(role)
    return keys, roles


def verify_envelope(data, keys, what, problems):
    """Returns (payload bytes, ids of the keys that verified) for one DSSE envelope."""
    envelope = Envelope.from_dict(data)
    if envelope.payload_type != PAYLOAD_TYPE:
        problems.append(f"{what}: payloadType is {envelope.payload_type!r}")
    count = len(data["signatures"])
    try:
        accepted = envelope.verify(list(keys.values()), count) if count else {}
    except Exception as error:  # VerificationError, or a malformed signature
        problems.append(f"{what}: not every signature verifies ({error})")
        accepted = {}
    if count == 0:
        problems.append(f"{what}: no signature")
    return envelope.payload, set(accepted)


def main(signed_path, keyring_path):
    keys, roles_of = load_keyring(keyring_path)
    signed = json.loads(pathlib.Path(signed_path).read_text())
    problems = []
    payload, report_signers = verify_envelope(signed["report"], keys, "report envelope", problems)
    statement = json.loads(payload)
    if statement.get("_type") != STATEMENT:
        problems.append("report envelope: not an in-toto Statement v1")
    report = statement["predicate"]
    digest = hashlib.sha256(payload).hexdigest()
    signed_roles = set()
    for i, data in enumerate(signed["signoffs"], 1):
        signoff_payload, signers = verify_envelope(data, keys, f"sign-off {i}", problems)
        signoff = json.loads(signoff_payload)
        role = signoff["predicate"]["role"]
        if [s["digest"]["sha256"] for s in signoff["subject"]] != [digest]:
            problems.append(f"sign-off {i} ({role}): refers to another report")
        by_role = [k for k in signers if role in roles_of.get(k, ())]
        if not by_role:
            problems.append(f"sign-off {i} ({role}): not signed by a key of that role")
        elif not report_signers.intersection(by_role):
            problems.append(f"sign-off {i} ({role}): its signer did not sign the report")
        else:
            signed_roles.add(role)
        print(f"sign-off {i}: {role}: {signoff['predicate']['name']} at {signoff['predicate']['signed_at']}")
    for role in report["signoff"]["roles"]:
        if role not in signed_roles:
            problems.append(f"role {role!r} has no valid sign-off")
    print(f"report: {report['checklist']['name']}, run {report['run_id']}, gate {'passed' if report['gate']['passed'] else 'FAILED'}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("VERIFIED" if not problems else "NOT VERIFIED")
    return 0 if not problems else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
