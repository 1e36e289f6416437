"""``jupyter mlp``: the shared jupyter-mlp server, and administration of its store.

    jupyter mlp [server options]            serve the REST API on its own, for a team
    jupyter mlp db upgrade [--db-url URL]   create or upgrade the schema
    jupyter mlp db current [--db-url URL]   show the schema revision
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from mlp.errors import MLPError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jupyter mlp", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="manage the store's schema")
    dbsub = db.add_subparsers(dest="action", required=True)
    for name, text in (("upgrade", "create or upgrade the schema to this version's revision"),
                       ("current", "print the schema revision the database is at")):
        a = dbsub.add_parser(name, help=text)
        a.add_argument("--db-url", help="SQLAlchemy URL (default: $MLP_DB_URL or the embedded "
                                        "SQLite store under $MLP_HOME)")
    return p


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "db":
        return _db(argv)
    if argv and not argv[0].startswith("-"):
        print(f"jupyter mlp: unknown command {argv[0]!r}. `jupyter mlp [--option=value ...]` "
              "serves (see --help), `jupyter mlp db upgrade|current` manages the schema",
              file=sys.stderr)
        return 2
    return serve(argv)


def serve(argv: list[str]) -> int:
    """Run the extension on its own. A store it cannot use (e.g. a shared database that has
    not been upgraded) stops it with the reason, instead of a server without its API."""
    from .app import MLPExtension

    try:
        MLPExtension.launch_standalone(["--ServerApp.reraise_server_extension_failures=True",
                                        *argv])
    except MLPError as e:
        print(f"jupyter mlp: {e}", file=sys.stderr)
        return 2
    return 0


def _db(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from .config import MLP
    from .store import SCHEMA_REVISION, Store

    cfg = MLP(**({"db_url": args.db_url} if args.db_url else {}))
    try:
        if args.action == "upgrade":
            store = Store(cfg.db_url, auto_migrate=False, busy_timeout_ms=cfg.sqlite_busy_timeout,
                          check=False)
            before = store.revision()
            store.upgrade()
            print(f"{store.display_url}: schema {before or 'empty'} -> {SCHEMA_REVISION}")
        else:
            store = Store(cfg.db_url, auto_migrate=False, check=False)
            current = store.revision()
            state = "up to date" if current == SCHEMA_REVISION else f"needs {SCHEMA_REVISION}"
            print(f"{store.display_url}: schema {current or 'empty'} ({state})")
    except MLPError as e:
        print(f"jupyter mlp: {e}", file=sys.stderr)
        return 2
    except SQLAlchemyError as e:
        print(f"jupyter mlp: cannot use the database at {_shown(cfg.db_url)}: "
              f"{getattr(e, 'orig', None) or e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
