"""Importers that turn outside data into data-set folders."""
