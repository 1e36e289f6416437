"""The platform's store: one SQLAlchemy engine, the schema, and its migrations."""

from .engine import SCHEMA_REVISION, Store, open_store, store_unavailable

__all__ = ["SCHEMA_REVISION", "Store", "open_store", "store_unavailable"]
