#!/usr/bin/env python3
"""Verify a golive signed report without golive, with securesystemslib's DSSE code.

    python3 -m pip install 'securesystemslib[crypto]'
    python3 scripts/verify_signed_report.py golive-report.signed.json keyring.toml
    python3 scripts/verify_signed_report.py --each keyring.toml a.signed.json b.signed.json ...

Follows the rules of docs/signing.md ("What verifies"), the same as `golive verify`:
the file's structure and `schema`; every signature of every envelope (DSSE PAE, Ed25519)
verifies with the keyring key its `keyid` names; the report Statement is golive's and its
subjects include every checklist file the report records; every sign-off refers to the
sha256 of the report envelope's payload, acknowledges a failed gate, and is signed by a key
the keyring gives its role that also signed the report; every role in the report's
[signoff] has such a sign-off. Key ids: sha256 of the DER SubjectPublicKeyInfo.

Exit 0 when all holds, 1 otherwise. With --each, one line per file (`VERIFIED path` or
`NOT VERIFIED path`) and exit 0.
"""

import base64
import binascii
import hashlib
import json
import math
import pathlib
import sys
import tomllib

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import Signature, SSlibKey

SIGNED_SCHEMA = "golive.signed-report/v1"
REPORT_SCHEMA = "golive.report/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT = "https://in-toto.io/Statement/v1"
REPORT_PREDICATE = "https://golive.example/predicate/report/v1"
SIGNOFF_PREDICATE = "https://golive.example/predicate/signoff/v1"


class Malformed(Exception):
    """The file is not a golive signed report at all."""


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
            roles.setdefault(role, set()).add(keyid)
    return keys, roles


def strict_json(data):
    """JSON as RFC 8259 has it (and serde_json reads it): UTF-8, no NaN or Infinity, no
    number out of range, no lone surrogate."""

    def no_constant(name):
        raise ValueError(f"{name} is not JSON")

    def finite(text):
        value = float(text)
        if math.isinf(value):
            raise ValueError(f"{text} is out of range")
        return value

    value = json.loads(data.decode("utf-8"), parse_constant=no_constant, parse_float=finite)
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    return value


def b64(text):
    """Standard base64 with padding, canonical (what golive writes and accepts), or None."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def at(value, *path):
    """value[path[0]][path[1]]…, or None where a step is not there (as serde_json's index)."""
    for step in path:
        if isinstance(step, str) and isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


def check_envelope_shape(data):
    if not isinstance(data, dict) or set(data) != {"payload", "payloadType", "signatures"}:
        raise Malformed("an envelope is not {payload, payloadType, signatures}")
    if not isinstance(data["payload"], str) or not isinstance(data["payloadType"], str):
        raise Malformed("an envelope's payload and payloadType are not strings")
    if not isinstance(data["signatures"], list):
        raise Malformed("an envelope's signatures are not a list")
    for sig in data["signatures"]:
        if not isinstance(sig, dict) or set(sig) != {"keyid", "sig"}:
            raise Malformed("a signature is not {keyid, sig}")
        if not isinstance(sig["keyid"], str) or not isinstance(sig["sig"], str):
            raise Malformed("a signature's keyid and sig are not strings")


def check_signatures(data, keys, what, problems):
    """The keyring key that verifies each signature (the one its keyid names), or None."""
    payload = b64(data["payload"])
    pae = Envelope(payload, data["payloadType"], {}).pae() if payload is not None else None
    verified = []
    for n, sig in enumerate(data["signatures"], 1):
        keyid = sig["keyid"]
        if any(s["keyid"] == keyid for s in data["signatures"][: n - 1]):
            problems.append(f"{what}: signature {n} names key id {keyid[:16]} again")
            verified.append(None)
            continue
        raw = b64(sig["sig"])
        key = keys.get(keyid)
        if raw is None or pae is None:
            problems.append(f"{what}: signature {n}: not valid base64")
            key = None
        elif key is None:
            problems.append(f"{what}: signature {n} names key id {keyid[:16]}, which is not a key of the keyring")
        else:
            try:
                key.verify_signature(Signature(keyid, raw.hex()), pae)
            except Exception as error:  # UnverifiedSignatureError, VerificationError
                problems.append(f"{what}: signature {n} does not verify with key {keyid[:16]} ({error})")
                key = None
        verified.append(key)
    return verified


def parse_payload(data):
    raw = b64(data["payload"])
    if raw is None:
        return None, None
    try:
        return raw, strict_json(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return raw, None


def subjects_of(statement):
    out = []
    for s in at(statement, "subject") if isinstance(at(statement, "subject"), list) else []:
        name, sha = at(s, "name"), at(s, "digest", "sha256")
        if isinstance(name, str) and isinstance(sha, str):
            out.append((name, sha))
    return out


def needed_subjects(report):
    out = []
    files = at(report, "checklist", "files")
    for f in files if isinstance(files, list) else []:
        path, sha = at(f, "path"), at(f, "sha256")
        if isinstance(path, str) and isinstance(sha, str):
            out.append((path, sha))
    path, sha = at(report, "checklist", "attestations", "path"), at(report, "checklist", "attestations", "sha256")
    if isinstance(path, str) and isinstance(sha, str):
        out.append((path, sha))
    return out


def read_signoff(data):
    """The sign-off Statement and predicate, or None when it is not one."""
    _, statement = parse_payload(data)
    predicate = at(statement, "predicate")
    if not isinstance(predicate, dict):
        return None
    for field in ("role", "name", "signed_at"):
        if not isinstance(predicate.get(field), str):
            return None
    if not isinstance(predicate.get("acknowledged_failed_gate"), bool):
        return None
    return statement, predicate


def verify(signed_bytes, keys, roles_keys, out=print):
    """The problems found (empty when the signed report verifies)."""
    try:
        signed = strict_json(signed_bytes)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        return [f"the file is not JSON ({error})"]
    if at(signed, "schema") != SIGNED_SCHEMA:
        return [f"not a golive signed report (its schema is not {SIGNED_SCHEMA!r})"]
    try:
        if set(signed) != {"schema", "report", "signoffs"}:
            raise Malformed("the top level is not {schema, report, signoffs}")
        check_envelope_shape(signed["report"])
        if not isinstance(signed["signoffs"], list):
            raise Malformed("signoffs is not a list")
        for data in signed["signoffs"]:
            check_envelope_shape(data)
    except Malformed as error:
        return [f"the signed report is malformed ({error})"]

    problems = []
    envelope = signed["report"]
    if envelope["payloadType"] != PAYLOAD_TYPE:
        problems.append(f"report envelope: payloadType is {envelope['payloadType']!r}")
    payload, statement = parse_payload(envelope)
    if statement is None:
        problems.append("report envelope: the payload is not base64 JSON")
    if not envelope["signatures"]:
        problems.append("report envelope: no signature")
    report_signers = {k.keyid for k in check_signatures(envelope, keys, "report envelope", problems) if k}
    report = None
    if statement is not None:
        if at(statement, "_type") != STATEMENT:
            problems.append("report envelope: not an in-toto Statement v1")
        if at(statement, "predicateType") != REPORT_PREDICATE:
            problems.append("report envelope: not golive's report predicate")
        report = at(statement, "predicate")
        if at(report, "schema") != REPORT_SCHEMA:
            problems.append("report envelope: the predicate is not a golive report")
        subjects = subjects_of(statement)
        for needed in needed_subjects(report):
            if needed not in subjects:
                problems.append(f"report envelope: the subjects lack {needed[0]} sha256 {needed[1]}")
    gate_passed = at(report, "gate", "passed") is True
    digest = hashlib.sha256(payload).hexdigest() if payload is not None else None

    verified_roles, signed_roles = set(), set()
    for i, data in enumerate(signed["signoffs"], 1):
        mine = []
        if data["payloadType"] != PAYLOAD_TYPE:
            mine.append(f"sign-off {i}: payloadType is {data['payloadType']!r}")
        parsed = read_signoff(data)
        if parsed is None:
            problems.extend(mine + [f"sign-off {i}: not a golive sign-off"])
            continue
        signoff_statement, signoff = parsed
        role = signoff["role"]
        signed_roles.add(role)
        if at(signoff_statement, "_type") != STATEMENT or at(signoff_statement, "predicateType") != SIGNOFF_PREDICATE:
            mine.append(f"sign-off {i} ({role}): not a golive sign-off statement")
        subject = at(signoff_statement, "subject")
        refers_to = [at(s, "digest", "sha256") for s in (subject if isinstance(subject, list) else [])]
        refers_to = [d for d in refers_to if isinstance(d, str)]
        if digest is None or refers_to != [digest]:
            mine.append(f"sign-off {i} ({role}): refers to another report")
        if not gate_passed and not signoff["acknowledged_failed_gate"]:
            mine.append(f"sign-off {i} ({role}): the gate failed, but it does not acknowledge it")
        if not data["signatures"]:
            mine.append(f"sign-off {i} ({role}): no signature")
        signers = [k for k in check_signatures(data, keys, f"sign-off {i} ({role})", mine) if k]
        role_keys = roles_keys.get(role, set())
        by_role = [k.keyid for k in signers if k.keyid in role_keys]
        if not role_keys:
            mine.append(f"sign-off {i} ({role}): the keyring gives the role no key")
        elif not by_role:
            mine.append(f"sign-off {i} ({role}): not signed by a key of that role")
        elif by_role[0] not in report_signers:
            mine.append(f"sign-off {i} ({role}): its signer did not sign the report")
        if not mine:
            verified_roles.add(role)
        problems.extend(mine)
        out(f"sign-off {i}: {role}: {signoff['name']} at {signoff['signed_at']}")
    roles = at(report, "signoff", "roles")
    for role in roles if isinstance(roles, list) else []:
        if not isinstance(role, str):
            continue
        if role not in signed_roles:
            problems.append(f"role {role!r} has not signed")
        elif role not in verified_roles:
            problems.append(f"role {role!r} has no sign-off that verifies")
    if isinstance(report, dict):
        name, run = at(report, "checklist", "name"), at(report, "run_id")
        out(f"report: {name}, run {run}, gate {'passed' if gate_passed else 'FAILED'}")
    return problems


def main(signed_path, keyring_path):
    keys, roles_keys = load_keyring(keyring_path)
    problems = verify(pathlib.Path(signed_path).read_bytes(), keys, roles_keys)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("VERIFIED" if not problems else "NOT VERIFIED")
    return 0 if not problems else 1


def each(keyring_path, paths):
    keys, roles_keys = load_keyring(keyring_path)
    for path in paths:
        problems = verify(pathlib.Path(path).read_bytes(), keys, roles_keys, out=lambda _: None)
        print(f"{'VERIFIED' if not problems else 'NOT VERIFIED'} {path}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--each":
        sys.exit(each(sys.argv[2], sys.argv[3:]))
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
