"""The node's side of checkpoints (docs/design.md#checkpoints): the ledger only schedules, counts
votes and certifies; this package makes a node take part and hold itself to the result.

- `keeper.py` hooks the replica's apply path: at each CheckpointDue(I) it records the in-memory
  hash at I and opens a read transaction on the store as committed at I; at each
  CheckpointCertified(I, H) it compares H with its own hash at I.
- `store_check.py` walks that read transaction on a background thread: it recomputes the state
  hash from the stored records (what the node would restart with), writes them as the dump an
  auditor can fetch (`dump.py`, `files.py`), and hands the result to the keeper, which fences the
  node at once if the store disagrees with memory and otherwise votes the store's hash.
- `voting.py` signs the vote with the node key and submits it like any client would, with
  bounded retries, never on the apply thread.
- `divergence.py` is the fence; `recovery.py` moves the node's data aside and restarts it empty,
  so its peers restore it, within named bounds.
- `certificate.py` checks certificates against a signer set (node.identity.signer_set reads its
  file), for the node (expected_signers_file) and for the auditor's offline `settle checkpoint
  verify` (`audit.py`).

Dependencies: the ledger (hashing, records, the vote bytes), the store's read transactions,
node.identity (keys, signer set files, signing votes), and the client SDK in voting.py only,
because a vote is a client's command. Never the server: the replica calls in, the server reads
through the replica.
"""
