"""Backups of a node's store: the file format, taking one on a node, and restoring a data dir."""
