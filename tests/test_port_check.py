"""A node's addresses are checked before it opens its store (node/port_check.py): a port another
process listens on is refused, naming the service and the address."""

from __future__ import annotations

import pytest

from node.port_check import RAFT, AddressInUse, check_address_free, split_address
from tests.listener import listening


def test_an_address_another_socket_listens_on_is_refused_naming_service_and_address():
    with listening(share_port=False) as port:
        with pytest.raises(AddressInUse, match=f"cannot listen for Raft on 127.0.0.1:{port}") as refused:
            check_address_free(RAFT, f"127.0.0.1:{port}")
    assert (refused.value.service, refused.value.address) == (RAFT, f"127.0.0.1:{port}")


def test_a_listener_that_allows_sharing_is_no_excuse_to_share():
    with listening(share_port=True) as port, pytest.raises(AddressInUse):
        check_address_free(RAFT, f"127.0.0.1:{port}")


def test_a_free_address_passes():
    with listening() as port:
        pass
    check_address_free(RAFT, f"127.0.0.1:{port}")


@pytest.mark.parametrize("address", ["", "127.0.0.1:0"])
def test_no_address_or_port_zero_has_nothing_to_check(address):
    check_address_free(RAFT, address)


def test_a_bracketed_ipv6_host_is_split():
    assert split_address("[::1]:7001") == ("::1", 7001)
