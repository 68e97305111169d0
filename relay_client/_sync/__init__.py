"""The sync client, generated from `relay_client/_async` by scripts/unasync.py (edit the async one)."""
