"""Security regression: pysyncobj unpickles what peers send, so the Raft port must only accept
frames authenticated with the cluster password. A crafted pickle must never execute."""

from __future__ import annotations

import os
import pickle
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

from cryptography.fernet import Fernet
from pysyncobj.encryptor import getEncryptor

from .conftest import wait_for_port


class _TouchFile:
    """Unpickling this runs `open(path, "w")`: proof of code execution if the file appears."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _frame(payload: bytes) -> bytes:
    return struct.pack("i", len(payload)) + payload


def _crafted_frames(marker: Path) -> list[bytes]:
    plain = zlib.compress(pickle.dumps(_TouchFile(str(marker))))
    wrong_password = getEncryptor("not-the-cluster-password").encrypt(plain)
    random_key = Fernet(Fernet.generate_key()).encrypt(plain)
    return [_frame(plain), _frame(wrong_password), _frame(random_key)]


def test_the_crafted_payload_executes_when_unpickled_directly(tmp_path):
    # Control: the payload is real. Unpickle it in a throwaway process and the file appears.
    marker = tmp_path / "control-marker"
    payload = zlib.compress(pickle.dumps(_TouchFile(str(marker))))
    code = "import pickle, sys, zlib; pickle.loads(zlib.decompress(sys.stdin.buffer.read()))"
    subprocess.run([sys.executable, "-c", code], input=payload, check=True, timeout=30)
    assert marker.exists()


def test_crafted_pickle_sent_to_the_raft_port_does_not_execute(make_cluster, tmp_path):
    cluster = make_cluster(nodes=3)
    target = cluster.specs[0]
    wait_for_port(target.host, target.raft_port, timeout_s=20)
    marker = tmp_path / "pwned"
    for frame in _crafted_frames(marker):
        with socket.create_connection((target.host, target.raft_port), timeout=5) as sock:
            sock.sendall(frame)
            time.sleep(0.3)
    time.sleep(0.5)
    assert not marker.exists(), "a crafted pickle executed on the node"
    assert cluster.alive(1), cluster.log_tail(1)


def test_raft_password_file_is_private(make_cluster):
    cluster = make_cluster(nodes=3, start=False)
    mode = os.stat(cluster.data_dir / "secrets.toml").st_mode & 0o777
    assert mode == 0o600
