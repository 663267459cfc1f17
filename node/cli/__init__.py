"""`settle`, the command line (cli.py registers every subcommand): over the SDK (node.client) for
ledger commands and reads, and with its own channels for what the SDK does not do (membership,
backups, checkpoint exports, co-signing), plus offline work on key, proposal, certificate, backup
and checkpoint files. Nothing in the node imports it.
"""
