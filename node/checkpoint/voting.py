"""Submitting a node's checkpoint vote: signed with its node key, sent like any client's command.

The vote goes through the normal submit path, so it is ordered, replicated and applied like
everything else; a follower's vote reaches the leader the way a client's would (the SDK follows
`x-leader`). Everything runs on the node's asyncio loop, never on the apply thread, and is
bounded: `vote_attempts_max` submits per vote, `votes_in_flight_max` votes at once. The command
id is fixed per (node, index), so a retried vote is applied at most once.

The submitter itself (a vote is a client's command, sent through the client SDK) is built by
node/main.py and handed in: nothing under node/checkpoint imports the SDK.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.ledger.commands import CheckpointVote
from node.ledger.results import ResultCode
from node.identity.quorum import checkpoint_vote

from .limits import vote_attempts_max, vote_retry_pause_ms, votes_in_flight_max

log = logging.getLogger("settle.checkpoint")

# Submits one vote and returns its result code; raises when the outcome is unknown or no node
# could take it (then the same command is submitted again).
SubmitVote = Callable[[CheckpointVote], Awaitable[ResultCode]]


def vote_id(key_id: str, index: int) -> str:
    return f"vote:{key_id}:{index}"


class Voter:
    def __init__(self, loop: asyncio.AbstractEventLoop, key_id: str, key: Ed25519PrivateKey, submit: SubmitVote,
                 *, retry_pause_s: float = vote_retry_pause_ms / 1000) -> None:
        self._loop = loop
        self.key_id = key_id
        self._key = key
        self._submit = submit
        self._retry_pause_s = retry_pause_s
        self._tasks: set[asyncio.Task] = set()
        self._closed = False
        self.outcomes: dict[int, ResultCode | None] = {}  # the last few votes: None = gave up

    def vote(self, cluster: str, index: int, state_hash: bytes) -> None:
        """Vote (index, hash) soon; callable from any thread, returns at once."""
        self._loop.call_soon_threadsafe(self._start, cluster, index, state_hash)

    def _start(self, cluster: str, index: int, state_hash: bytes) -> None:
        if self._closed:
            return
        if len(self._tasks) >= votes_in_flight_max:
            log.warning("checkpoint %d: vote dropped, %d votes are still being submitted", index, len(self._tasks))
            return
        command = checkpoint_vote(vote_id(self.key_id, index), cluster, self.key_id, self._key, index, state_hash)
        task = self._loop.create_task(self._submit_with_retries(command), name=f"checkpoint-vote-{index}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _submit_with_retries(self, command: CheckpointVote) -> None:
        for attempt in range(1, vote_attempts_max + 1):
            try:
                code = await self._submit(command)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - unknown outcome or no node: retry, bounded
                log.info("checkpoint %d: vote attempt %d/%d failed: %s", command.index, attempt, vote_attempts_max, error)
                await asyncio.sleep(self._retry_pause_s)
                continue
            self._record(command.index, code)
            if code in (ResultCode.OK, ResultCode.DUPLICATE):
                log.info("checkpoint %d: voted %s", command.index, command.state_hash.hex()[:16])
            elif code == ResultCode.INVALID_CHECKPOINT_VOTE:
                log.info("checkpoint %d: vote not counted (certified already, or superseded)", command.index)
            else:
                log.warning("checkpoint %d: vote refused: %s", command.index, code.name)
            return
        self._record(command.index, None)
        log.warning("checkpoint %d: vote given up after %d attempts", command.index, vote_attempts_max)

    def _record(self, index: int, code: ResultCode | None) -> None:
        self.outcomes[index] = code
        while len(self.outcomes) > votes_in_flight_max * 4:
            del self.outcomes[min(self.outcomes)]

    async def wait_idle(self) -> None:
        """For tests: until every vote started so far finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        """Stops voting (any thread); votes under way are cancelled on the loop."""
        self._closed = True

        def cancel() -> None:
            for task in list(self._tasks):
                task.cancel()

        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(cancel)
