#!/usr/bin/env python3
"""Reads sealed's evidence with the standard tools, as written, with no conversion.

Given a run's trace (`<run-id>.jsonl`) and the public key files `host keygen` wrote, this checks that

* securesystemslib 1.x (`securesystemslib.dsse.Envelope.verify`) accepts every DSSE envelope of the
  in-toto bundle `<run-id>.jsonl.intoto.jsonl` with the run-signer key, loaded from its PEM
  (`SSlibKey.from_crypto(load_pem_public_key(...))`) and from its securesystemslib JSON form
  (`SSlibKey.from_dict(...)`), whose keyids must agree with each other and with the envelope's hint;
* in-toto 3.1 (`in_toto.models.metadata.Metadata.from_dict(...).verify_signature(...)`) accepts it too;
* in-toto-attestation 0.9 parses the signed payload as a Statement v1 (protobuf JSON parsing, then
  `Statement.validate()`), whose subject `<run-id>.jsonl` has the sha256 of the trace bytes;
* optionally, the same for a snapshot's `snapshot.sig.json` with the snapshot-signer key;
* and that the check can fail: securesystemslib refuses each envelope with one payload byte changed,
  and with the old (sha256 of the raw key) keyid as its hint.

Exit status 0 only if everything above held; any failure prints what and where, and exits 1. Nothing
is skipped silently: a missing file is a failure.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from google.protobuf import json_format
from in_toto.models.metadata import Metadata
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import SSlibKey

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


class Failed(Exception):
    pass


def load_keys(pem_path: Path, ssl_path: Path) -> SSlibKey:
    """The key from both standard files; they must be the same key with the same keyid."""
    from_pem = SSlibKey.from_crypto(load_pem_public_key(pem_path.read_bytes()))
    ssl_dict = json.loads(ssl_path.read_text())
    # securesystemslib's keyid rule (compute_default_keyid): sha256 of the canonical JSON of the dict.
    keyid = hashlib.sha256(encode_canonical(ssl_dict).encode()).hexdigest()
    from_json = SSlibKey.from_dict(keyid, dict(ssl_dict))
    if from_pem.keyid != from_json.keyid or from_pem.keyval != from_json.keyval:
        raise Failed(
            f"{pem_path} gives keyid {from_pem.keyid}, {ssl_path} gives {from_json.keyid}: not the same key"
        )
    return from_pem


def check_envelope(where: str, envelope_dict: dict, key: SSlibKey) -> Statement:
    """Verifies one envelope with securesystemslib and in-toto, and parses its statement."""
    hints = [s.get("keyid") for s in envelope_dict.get("signatures", [])]
    if key.keyid not in hints:
        raise Failed(f"{where}: signature keyid hints {hints} do not include the key's keyid {key.keyid}")
    # securesystemslib's from_dict mutates its argument; each tool gets its own copy of the parsed JSON.
    envelope = Envelope.from_dict(json.loads(json.dumps(envelope_dict)))
    accepted = envelope.verify([key], 1)
    if key.keyid not in accepted:
        raise Failed(f"{where}: securesystemslib accepted {list(accepted)}, not {key.keyid}")
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise Failed(f"{where}: payloadType {envelope.payload_type!r}")

    metadata = Metadata.from_dict(json.loads(json.dumps(envelope_dict)))
    metadata.verify_signature({"keyid": key.keyid, **key.to_dict()})

    pb = json_format.Parse(envelope.payload, statement_pb2.Statement())
    statement = Statement.copy_from_pb(pb)
    statement.validate()
    return statement


def check_refuses_tampering(where: str, envelope_dict: dict, key: SSlibKey) -> None:
    """The check must be able to fail: the same envelope with one payload byte changed, or with the old
    raw-key keyid as its hint, must be refused by securesystemslib."""
    import base64

    payload = bytearray(base64.b64decode(envelope_dict["payload"]))
    payload[len(payload) // 2] ^= 0x01
    tampered = json.loads(json.dumps(envelope_dict))
    tampered["payload"] = base64.b64encode(bytes(payload)).decode()
    legacy = json.loads(json.dumps(envelope_dict))
    raw_keyid = hashlib.sha256(bytes.fromhex(key.keyval["public"])).hexdigest()
    for s in legacy["signatures"]:
        s["keyid"] = raw_keyid
    for what, bad in (("a changed payload byte", tampered), ("the old raw-key keyid hint", legacy)):
        try:
            Envelope.from_dict(bad).verify([key], 1)
        except Exception:
            continue
        raise Failed(f"{where}: securesystemslib accepted the envelope with {what}; the check proves nothing")


def subject_sha256(statement: Statement, name: str) -> str:
    found = [s for s in statement.pb.subject if s.name == name]
    if len(found) != 1:
        raise Failed(f"expected one subject named {name!r}, found {len(found)}")
    return found[0].digest["sha256"]


def verify_run(trace: Path, pem: Path, ssl: Path) -> None:
    key = load_keys(pem, ssl)
    bundle = trace.with_name(trace.name + ".intoto.jsonl")
    if not bundle.is_file():
        raise Failed(f"{bundle} does not exist (the in-toto bundle name for {trace.name})")
    lines = bundle.read_text().splitlines()
    if not lines:
        raise Failed(f"{bundle} is empty")
    trace_sha256 = hashlib.sha256(trace.read_bytes()).hexdigest()
    for n, line in enumerate(lines, 1):
        where = f"{bundle} line {n}"
        statement = check_envelope(where, json.loads(line), key)
        check_refuses_tampering(where, json.loads(line), key)
        if statement.pb.predicate_type != "https://sealed.dev/execution/v1":
            raise Failed(f"{where}: predicateType {statement.pb.predicate_type!r}")
        digest = subject_sha256(statement, trace.name)
        if digest != trace_sha256:
            raise Failed(f"{where}: subject {trace.name} sha256 {digest}, the file hashes to {trace_sha256}")
        print(
            f"ok  {where}: securesystemslib and in-toto verified keyid {key.keyid}; "
            f"in-toto-attestation parsed a Statement v1 whose subject {trace.name} matches the trace"
        )


def verify_snapshot(snapshot: Path, pem: Path, ssl: Path) -> None:
    key = load_keys(pem, ssl)
    sig = snapshot / "snapshot.sig.json"
    manifest = snapshot / "manifest.json"
    statement = check_envelope(str(sig), json.loads(sig.read_text()), key)
    check_refuses_tampering(str(sig), json.loads(sig.read_text()), key)
    digest = subject_sha256(statement, "manifest.json")
    actual = hashlib.sha256(manifest.read_bytes()).hexdigest()
    if digest != actual:
        raise Failed(f"{sig}: subject manifest.json sha256 {digest}, {manifest} hashes to {actual}")
    print(f"ok  {sig}: verified with keyid {key.keyid}; the statement's subject is {manifest}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trace", type=Path, required=True, help="the run's <run-id>.jsonl")
    p.add_argument("--run-pem", type=Path, required=True, help="run-signer.pub.pem from host keygen")
    p.add_argument("--run-ssl", type=Path, required=True, help="run-signer.pub.ssl.json from host keygen")
    p.add_argument("--snapshot", type=Path, help="a sealed snapshot directory with snapshot.sig.json")
    p.add_argument("--snapshot-pem", type=Path, help="snapshot-signer.pub.pem")
    p.add_argument("--snapshot-ssl", type=Path, help="snapshot-signer.pub.ssl.json")
    a = p.parse_args()
    try:
        verify_run(a.trace, a.run_pem, a.run_ssl)
        if a.snapshot is not None:
            if a.snapshot_pem is None or a.snapshot_ssl is None:
                raise Failed("--snapshot needs --snapshot-pem and --snapshot-ssl")
            verify_snapshot(a.snapshot, a.snapshot_pem, a.snapshot_ssl)
    except Failed as e:
        print(f"FAIL {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a standard tool refused: that is the failure this check exists to catch
        print(f"FAIL {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
