"""Fail-safe settlement node. See README.md and ../shared/DESIGN.md for the layering."""
