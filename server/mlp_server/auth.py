"""Named tokens: a small team's logins without JupyterHub. Each API token names its user, so
runs and registry actions (who requested, who approved) carry real names.

    jupyter mlp --ServerApp.identity_provider_class=mlp_server.auth.NamedTokens \\
        --NamedTokens.tokens_file=/etc/mlp/tokens.json     # {"alice": "<token>", ...}

A request with ``Authorization: token <token>`` acts as that token's user; anything else
falls back to Jupyter's own login (the server's token), which acts as the server's owner.
Tokens are compared in constant time; the file is read at start and when it changes.
"""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from traitlets import Dict, Unicode

from mlp.errors import InvalidInput


class NamedTokens(IdentityProvider):
    """An identity provider whose API tokens each name a user."""

    tokens = Dict(
        key_trait=Unicode(), value_trait=Unicode(),
        help="{user: token}. Also read from tokens_file (env MLP_USER_TOKENS_FILE).",
    ).tag(config=True)

    tokens_file = Unicode(
        help="A JSON file {user: token}, re-read when it changes (env MLP_USER_TOKENS_FILE).",
    ).tag(config=True)

    _file_state: tuple = ()
    _from_file: dict[str, str] = {}

    def _users(self) -> dict[str, str]:
        path = self.tokens_file or os.environ.get("MLP_USER_TOKENS_FILE", "")
        if path:
            try:
                st = os.stat(path)
                state = (st.st_mtime_ns, st.st_size)
            except OSError:
                state = ()
            if state != self._file_state:
                self._from_file = _read(Path(path)) if state else {}
                self._file_state = state
        return {**self._from_file, **self.tokens}

    def get_user(self, handler):
        token = request_token(handler.request.headers)
        if token:
            for user, expected in self._users().items():
                if expected and hmac.compare_digest(token.encode(), expected.encode()):
                    handler._token_authenticated = True  # a token, not a cookie: no XSRF
                    return User(username=user)
        return super().get_user(handler)


def request_token(headers: Any) -> str | None:
    """The token of an ``Authorization: token <token>`` header, or None."""
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "token" else None


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InvalidInput(f"{path}: cannot read the user tokens ({e}); it must be JSON "
                           '{"alice": "<token>", ...}', field="tokens_file") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) and
                                             len(v) >= 16 for k, v in data.items()):
        raise InvalidInput(f"{path}: user tokens must be JSON {{\"alice\": \"<token of 16+ "
                           "characters>\", ...}", field="tokens_file")
    return data
