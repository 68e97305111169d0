"""The async client, written by hand; `relay_client/_sync` is generated from it (scripts/unasync.py)."""
