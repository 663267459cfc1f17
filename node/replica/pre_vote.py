"""Raft's pre-vote (Ongaro's thesis, §9.6): a node asks before it campaigns.

pysyncobj has none: a follower whose election deadline passes raises its term at once and asks
for votes. A node that could not hear the leader for a reason of its own (cut off from its peers,
installing a snapshot while its tick thread starved, reading one large message for longer than
the election timeout) then comes back with a higher term, and the healthy leader, seeing it, steps
down: an election with no fault of the leader. Measured at a million accounts under load
(`python -m cluster.bench.restart_at_scale`): the wiped follower, installing its snapshot, forced
the cluster from term 1 to term 3, with the same leader before and after.

With a pre-vote, a node whose deadline passed first asks every peer whether it WOULD vote for it
in the next term (the message changes nobody's term or vote). A peer says yes only if it has not
heard from a leader for the shortest election timeout itself, is not the leader, and the asker's
log is at least as up to date as its own (the vote's own rule). Only with a majority of yeses
does the node raise its term and campaign. While a leader is alive and reaches a majority, those
peers hear it and say no, so a node cut off or paused alone can never depose it; once the leader
is really gone, the peers stop hearing it within one election timeout and say yes: a failover
costs one round trip more. A leadership transfer (pysyncobj's timeout_now, sent by the leader
itself) campaigns without asking.

Mixed versions: a node without pre-votes ignores the messages (pysyncobj drops unknown types), so
a pre-voting node can only win once a majority pre-votes; the others elect among themselves
meanwhile. Upgrade nodes one at a time, as the README says.
"""

from __future__ import annotations

from dataclasses import dataclass

PRE_VOTE = "pre_vote"
PRE_VOTE_ANSWER = "pre_vote_answer"


def grants_pre_vote(*, is_leader: bool, heard_from_leader_s_ago: float, election_timeout_min_s: float,
                    current_term: int, asked_term: int, own_last_log: tuple[int, int],
                    asker_last_log: tuple[int, int]) -> bool:
    """Whether this node would vote for the asker in `asked_term`. Logs as (last term, last index)."""
    if is_leader or heard_from_leader_s_ago < election_timeout_min_s:
        return False  # a leader is alive, as far as this node knows
    if asked_term <= current_term:
        return False
    return asker_last_log >= own_last_log


@dataclass
class PreVoteRound:
    """The pre-vote a node is collecting: for which term, and who said yes."""

    term: int = 0
    yes: frozenset[str] = frozenset()
    won: bool = False

    def start(self, term: int, self_id: str) -> None:
        self.term, self.yes, self.won = term, frozenset((self_id,)), False

    def answered(self, term: int, voter_id: str, granted: bool, cluster_size: int) -> bool:
        """Counts an answer; True when this answer made the round won (a majority said yes)."""
        if term != self.term or not granted or self.won:
            return False
        self.yes = self.yes | {voter_id}
        self.won = len(self.yes) * 2 > cluster_size
        return self.won

    def allows(self, term: int) -> bool:
        """Whether the node may campaign for `term` now."""
        return self.won and self.term == term
