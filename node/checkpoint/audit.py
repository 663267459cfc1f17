"""The auditor's offline check of an exported checkpoint (`settle checkpoint verify DIR`).

DIR holds what `settle checkpoint export` fetched: `certificate.json` (the certified index,
hash, epoch and node signatures, plus the signer set the node served) and `dump.records` (the
state dump at that index, node/checkpoint/dump.py). The checkpoint is valid when:

1. the signatures are a quorum of node keys of the signer set (certificate.py); the signer set
   is the one the auditor trusts (--signers FILE), else the one recorded inside the dump itself,
   which is self-attested: whoever forged the dump could have forged that too, so it is said so;
2. the dump is complete and well-formed, is of the certified index, and its records, hashed
   exactly as the ledger hashes them, sum to the certified hash;
3. the records decode into a ledger state that keeps the ledger's invariants (conservation,
   balanced positions, no negative active account), whose balances are then summarized.

Nothing here talks to a node: the certificate and the dump could come from anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from node.identity.signer_set import SignerSetError, read_signer_set, signer_set_from_governance
from node.ledger import LedgerInvariantError, check_full
from node.ledger.records import TABLE_GOVERNANCE, decode_governance
from node.ledger.state import state_from_records

from .certificate import certificate_problems
from .dump import DumpError, records, summarize

CERTIFICATE_FILE = "certificate.json"
DUMP_FILE = "dump.records"
certificate_file_bytes_max = 1024 * 1024

# How a record that is not the ledger's fails to decode (see node/store/reading.py).
_DECODE_ERRORS = (AssertionError, ValueError, KeyError, IndexError, TypeError)


class AuditInputError(Exception):
    """The directory or the signer set file cannot be read: a usage or IO error, no verdict."""


@dataclass
class AuditReport:
    index: int = 0
    state_hash: str = ""
    epoch: int = 0
    signer_set_source: str = ""
    valid_signers: list[str] = field(default_factory=list)
    threshold: int = 0
    records: int = 0
    accounts: int = 0
    markets: int = 0
    total_collateral: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def read_certificate(directory: Path) -> dict:
    path = Path(directory) / CERTIFICATE_FILE
    try:
        with open(path, "rb") as f:
            data = f.read(certificate_file_bytes_max + 1)
    except OSError as error:
        raise AuditInputError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        certificate = json.loads(data)
    except ValueError:
        raise AuditInputError(f"{path} is not JSON") from None
    if not isinstance(certificate, dict):
        raise AuditInputError(f"{path} is not a certificate object")
    return certificate


def audit(directory: Path, signers_file: Path | None = None) -> AuditReport:
    directory = Path(directory)
    certificate = read_certificate(directory)
    dump = directory / DUMP_FILE
    if not dump.is_file():
        raise AuditInputError(f"no dump at {dump}")
    trusted = None
    if signers_file is not None:
        try:
            trusted = read_signer_set(signers_file)
        except SignerSetError as error:
            raise AuditInputError(str(error)) from None
    report = AuditReport(index=certificate.get("index", 0), state_hash=str(certificate.get("hash", "")),
                         epoch=certificate.get("epoch", 0))
    _check_dump(report, dump, certificate)
    signer_set = trusted
    if trusted is not None:
        report.signer_set_source = str(signers_file)
    else:
        signer_set = _dump_signer_set(dump) if not report.problems else None
        report.signer_set_source = "the dump itself (self-attested)"
        report.warnings.append("no --signers file: the signatures are checked against the signer set recorded in "
                               "the dump itself, which is self-attested; pass the signer set you trust with --signers")
    if signer_set is None:
        report.problems.append("no signer set to check the signatures against")
        return report
    problems, valid = certificate_problems(certificate, signer_set)
    report.problems += problems
    report.valid_signers = valid
    report.threshold = signer_set["policy"]["checkpoint_threshold"]
    if not report.problems:
        _check_state(report, dump)
    return report


def _check_dump(report: AuditReport, dump: Path, certificate: dict) -> None:
    try:
        summary = summarize(dump)
    except DumpError as error:
        report.problems.append(f"the dump is damaged: {error}")
        return
    report.records = summary.records
    if summary.index != certificate.get("index"):
        report.problems.append(f"the dump is of index {summary.index}, the certificate of {certificate.get('index')}")
    if summary.state_hash.hex() != certificate.get("hash"):
        report.problems.append(f"the dump's records hash to {summary.state_hash.hex()}, "
                               f"the certificate says {certificate.get('hash')}")


def _dump_signer_set(dump: Path) -> dict | None:
    governance = {}
    try:
        for table, key, value in records(dump):
            if table == TABLE_GOVERNANCE:
                governance[key.decode("utf-8")] = decode_governance(value)
        return signer_set_from_governance(governance)
    except (DumpError, UnicodeDecodeError, *_DECODE_ERRORS):
        return None


def _check_state(report: AuditReport, dump: Path) -> None:
    """Rebuild the ledger state from the dump: its invariants must hold; summarize its balances."""
    try:
        state = state_from_records(((t, k.decode("utf-8"), v) for t, k, v in records(dump)), report.index)
        check_full(state)
    except LedgerInvariantError as error:
        report.problems.append(f"the dumped state breaks a ledger invariant: {error}")
        return
    except (DumpError, UnicodeDecodeError, *_DECODE_ERRORS) as error:
        report.problems.append(f"a dumped record is not a ledger record: {error!r}")
        return
    report.accounts = len(state.accounts)
    report.markets = len(state.markets)
    report.total_collateral = state.total_collateral
