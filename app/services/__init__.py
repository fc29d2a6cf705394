"""Use cases behind the API and the CLI: ingest, keys, analysis runs."""
