"""Pipelines over the components: the local pipeline (LocalDagRunner, SQLite ML Metadata, Beam
DirectRunner), its configuration, and the `sme` command line."""
