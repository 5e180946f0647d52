"""Chat ingest: one small module per platform behind `ChatSource` (see base.py)."""
