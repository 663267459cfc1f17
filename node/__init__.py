"""Fail-safe settlement node. See README.md and docs/design.md#architecture for the layering."""
