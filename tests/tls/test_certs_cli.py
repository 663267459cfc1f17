"""`settle certs`: production TLS material, issued offline into one directory."""

from __future__ import annotations

import io
import stat

from node.cli.cli import main
from node.server import start_server
from node.tls.authority import common_name
from node.tls.client import ClientTls
from node.tls.files import read_certificate
from node.tls.server import ServerTls
from tests.server.fake_replica import FakeReplica
from tests.server.serving import LOOPBACK, run
from tests.tls.test_transport import _status


def settle(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out, err=out)
    return code, out.getvalue()


def _issue_all(folder) -> None:
    assert settle("certs", "ca", str(folder), "--cluster", "prod-1")[0] == 0
    assert settle("certs", "node", str(folder), "node1", "--host", "127.0.0.1", "--host", "localhost")[0] == 0
    assert settle("certs", "client", str(folder), "settler")[0] == 0


def test_certs_issues_a_ca_a_node_and_a_client_with_private_keys_0600(tmp_path):
    folder = tmp_path / "tls"
    _issue_all(folder)
    for name in ("ca.key", "node1.key", "settler.key"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    assert common_name(read_certificate(folder / "settler.crt")) == "settler"


def test_certs_never_overwrites(tmp_path):
    folder = tmp_path / "tls"
    _issue_all(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for argv in (("ca", str(folder), "--cluster", "prod-1"), ("client", str(folder), "settler"),
                 ("node", str(folder), "node1", "--host", "127.0.0.1")):
        code, text = settle("certs", *argv)
        assert code == 2 and "refusing to overwrite" in text, text
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_certs_needs_a_ca_before_issuing(tmp_path):
    code, text = settle("certs", "client", str(tmp_path / "empty"), "settler")
    assert code == 2 and "settle certs ca" in text


def test_what_certs_issues_serves_a_node_and_its_client(tmp_path):
    folder = tmp_path / "tls"
    _issue_all(folder)
    tls = ClientTls((folder / "ca.crt").read_bytes(), (folder / "settler.crt").read_bytes(), (folder / "settler.key").read_bytes())

    async def main_():
        server = await start_server(FakeReplica("node1"), f"{LOOPBACK}:0",
                                    tls=ServerTls(folder / "ca.crt", folder / "node1.crt", folder / "node1.key"))
        try:
            return await _status(server.port, tls)
        finally:
            await server.stop(grace=0.2)

    assert run(main_).node_id == "node1"
