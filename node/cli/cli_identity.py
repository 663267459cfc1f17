"""Which identity a `settle` command signs and connects as.

After `make run` the credentials are in ./data (the launcher's directory: signers.json, keys/,
tls/), so every command works unchanged: by default the CLI holds the directory's keyring and
signs each batch with the key whose role may submit it (custodian for deposits, settler for
trades, oracle for prices, operator for markets, a guardian for actions). `--identity KEY_ID`
picks one key; `--credentials DIR` another directory. Without a directory the CLI connects and
submits unsigned, which a cluster with a signer set refuses (UNSIGNED_BATCH). Subcommands that open
their own channel connect with the TLS pair `cli_tls` picks from the same directory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.cluster_file import DEFAULT_CLUSTER_FILE
from node.identity.credentials import ClientIdentity, IdentityError, load_keyring
from node.tls.client import ClientTls, load_client_tls


def add_identity_options(group: argparse.ArgumentParser, suppress: dict) -> None:
    group.add_argument("--identity", metavar="KEY_ID", help="sign and connect as this key only (default: the keyring)",
                       **({"default": None} | suppress))
    group.add_argument("--credentials", type=Path, metavar="DIR",
                       help="the cluster directory with signers.json, keys/ and tls/ (default: the cluster file's, else ./data)",
                       **({"default": None} | suppress))


def credentials_dir(args: argparse.Namespace) -> Path | None:
    if getattr(args, "credentials", None) is not None:
        return args.credentials
    cluster_file = getattr(args, "cluster_file", None)
    if cluster_file is not None:
        return Path(cluster_file).parent
    return DEFAULT_CLUSTER_FILE.parent if DEFAULT_CLUSTER_FILE.parent.is_dir() else None


def cli_identity(args: argparse.Namespace) -> ClientIdentity | None:
    """The identity for this command line; None when there is no credentials directory.
    Raises IdentityError when one was named but cannot be used."""
    directory = credentials_dir(args)
    if directory is None or not (directory / "signers.json").exists():
        if getattr(args, "credentials", None) is not None or getattr(args, "identity", None) is not None:
            raise IdentityError(f"no signers.json under {directory or './data'}: pass --credentials DIR")
        return None
    return load_keyring(directory, getattr(args, "identity", None))


def cli_tls(args, default_identity: str = "operator") -> ClientTls | None:
    """The TLS pair a `settle` subcommand that opens its own channel connects with: --identity,
    else `default_identity` (the operator reads and administers everything; co-signing a halt
    needs a guardian), from the CLI's credentials directory (--credentials, the cluster file's
    directory, else ./data). None when that directory has no tls/ (a plaintext cluster)."""
    directory = credentials_dir(args)
    if directory is None:
        return None
    return load_client_tls(directory, getattr(args, "identity", None) or default_identity)
