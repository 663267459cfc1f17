"""Network namespaces the chaos harness owns, and partitions made inside them.

Topology (nothing is added to the host's own namespace): a hub namespace holds a bridge with
address 10.213.0.254; each node i gets its own namespace, a veth pair whose one end (eth0,
10.213.0.i/24) sits in the node's namespace and whose other end hangs on the hub's bridge. The
harness and its load clients run in the hub (`ip netns exec`), so they reach every node; nodes
reach each other across the bridge.

A partition is a set of blackhole routes inside the node namespaces: node i drops every packet
to node j (and j to i), silently, like a cut cable; established TCP connections stall, new ones
time out. Healing deletes those routes. Only `ip` (iproute2) is needed: no iptables/nftables.

Names carry the owning process id (`stc<pid>-hub`, `stc<pid>-n<i>`), so a run never touches
another live run's namespaces, and `remove_leftovers()` removes those of runs whose process is
gone (a crashed earlier run), killing whatever still runs inside them first.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence

name_prefix = "stc"
subnet_prefix = "10.213.0"
hub_host_number = 254
ip_timeout_s = 10.0
nodes_max = 9
_NAME = re.compile(rf"^{name_prefix}(\d+)-(hub|n\d+)$")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=ip_timeout_s, check=check)


def netns_available() -> str:
    """'' when namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    try:
        ip("netns", "list")
    except (OSError, subprocess.SubprocessError) as error:
        return f"`ip netns` does not work here: {error}"
    return ""


def namespaces() -> list[str]:
    listed = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in listed.splitlines() if line.strip()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_inside(namespace: str) -> None:
    """SIGKILL every process still running inside `namespace` (nodes left by a crashed run)."""
    pids = ip("netns", "pids", namespace, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def remove_namespace(namespace: str) -> None:
    kill_inside(namespace)
    ip("netns", "delete", namespace, check=False)


def remove_leftovers() -> list[str]:
    """Remove the namespaces of earlier runs whose owner process is gone; returns their names."""
    removed = []
    for namespace in namespaces():
        match = _NAME.match(namespace)
        if match and not _pid_alive(int(match.group(1))):
            remove_namespace(namespace)
            removed.append(namespace)
    return removed


def node_host(number: int) -> str:
    return f"{subnet_prefix}.{number}"


hub_host = f"{subnet_prefix}.{hub_host_number}"


class Topology:
    """The hub and one namespace per node, created by create() and always removed by remove()."""

    def __init__(self, nodes: int, owner_pid: int | None = None) -> None:
        assert 1 <= nodes <= nodes_max, nodes
        self.nodes = nodes
        self.owner_pid = owner_pid or os.getpid()
        self.hub = f"{name_prefix}{self.owner_pid}-hub"
        self.cut_pairs: set[tuple[int, int]] = set()

    def node_namespace(self, number: int) -> str:
        return f"{name_prefix}{self.owner_pid}-n{number}"

    @property
    def all_namespaces(self) -> list[str]:
        return [self.hub] + [self.node_namespace(i) for i in range(1, self.nodes + 1)]

    def create(self) -> None:
        try:
            ip("netns", "add", self.hub)
            ip("-n", self.hub, "link", "set", "lo", "up")
            ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
            ip("-n", self.hub, "addr", "add", f"{hub_host}/24", "dev", "br0")
            ip("-n", self.hub, "link", "set", "br0", "up")
            for number in range(1, self.nodes + 1):
                namespace = self.node_namespace(number)
                ip("netns", "add", namespace)
                ip("-n", namespace, "link", "set", "lo", "up")
                # Both ends are created inside namespaces we own: nothing appears on the host.
                ip("-n", self.hub, "link", "add", f"h{number}", "type", "veth", "peer", "name", "eth0", "netns", namespace)
                ip("-n", self.hub, "link", "set", f"h{number}", "master", "br0", "up")
                ip("-n", namespace, "addr", "add", f"{node_host(number)}/24", "dev", "eth0")
                ip("-n", namespace, "link", "set", "eth0", "up")
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        for namespace in reversed(self.all_namespaces):
            remove_namespace(namespace)

    def exec_prefix(self, number: int | None = None) -> list[str]:
        """The command prefix that runs a program in node `number`'s namespace (None: the hub)."""
        return ["ip", "netns", "exec", self.hub if number is None else self.node_namespace(number)]

    # -- partitions -------------------------------------------------------------------------

    def _route(self, verb: str, source: int, target: int) -> None:
        ip("-n", self.node_namespace(source), "route", verb, "blackhole", f"{node_host(target)}/32", check=verb == "add")

    def cut(self, a: int, b: int) -> None:
        """No packet between nodes a and b, either way."""
        pair = (min(a, b), max(a, b))
        if pair in self.cut_pairs or a == b:
            return
        self._route("add", a, b)
        self._route("add", b, a)
        self.cut_pairs.add(pair)

    def partition(self, groups: Sequence[Iterable[int]]) -> None:
        """Cut every pair of nodes that are in different groups (nodes in no group stay connected
        to everyone)."""
        groups = [set(g) for g in groups]
        for i, group in enumerate(groups):
            for other in groups[i + 1:]:
                for a in group:
                    for b in other:
                        self.cut(a, b)

    def heal(self) -> None:
        for a, b in sorted(self.cut_pairs):
            self._route("del", a, b)
            self._route("del", b, a)
        self.cut_pairs.clear()

    def blackholes(self, number: int) -> list[str]:
        """The blackhole routes in node `number`'s namespace (for tests and the report)."""
        out = ip("-n", self.node_namespace(number), "route", "show", "type", "blackhole", check=False).stdout
        return [line.split()[1] for line in out.splitlines() if line.strip()]


def wait_removed(topology: Topology, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not set(topology.all_namespaces) & set(namespaces()):
            return True
        time.sleep(0.1)
    return False
