"""Secret redaction for captured code, diffs, command lines and environments.

Everything a run records about its origin (notebook cells, the script, the git
diff, ``os.environ``) passes through here first, so a token pasted into a cell
never reaches the tracking server. The rules prefer keeping code readable:
only the secret value is replaced, the name and quotes around it stay.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

REDACTED = "<redacted>"

# Words that mark a name as holding a secret when they are one of its segments.
_SECRET_WORDS = frozenset(
    {
        "token",
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "pwd",
        "passphrase",
        "pgpass",
        "dbpass",
        "apikey",
        "accesskey",
        "privatekey",
        "secretkey",
        "credential",
        "credentials",
        "creds",
        "auth",
        "oauth",
        "authorization",
    }
)
# Run-together spellings such as ``authtoken`` or ``dbpassword``.
_SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "apikey", "accesskey")
# ``AccountKey`` and ``SharedAccessSignature`` are Azure's names in connection strings.
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("account", "key"),
        ("access", "signature"),
    }
)
# ``pass`` as a whole segment after a qualifier (``DB_PASS``, ``mysqlPass``) is
# a password, but not after words that make it a count, a filter or a compiler
# or render stage (``n_pass``, ``high_pass``, ``fusion_pass``); nor alone, where
# it is as often a test result as a password.
_PASS_QUALIFIERS_NOT_SECRET = frozenset(
    {
        "n", "num", "max", "min", "total", "each", "every", "per", "all", "no", "skip",
        "first", "second", "third", "last", "next", "prev", "cur", "current", "final",
        "single", "multi", "one", "two", "double", "extra", "full", "half",
        "forward", "backward", "fwd", "bwd", "train", "eval", "val", "warmup", "main",
        "high", "low", "band", "by", "render", "shadow", "depth", "light",
        "pre", "post", "sub", "custom", "opt", "fusion", "graph", "lowering", "compiler",
    }
)  # fmt: skip
# Segments that may follow the secret word without changing what the name holds
# (``SECRET_KEY_BASE``, ``token_value``); anything else (``token_type``,
# ``password_field``, ``credentials_path``) names metadata about the secret.
_SECRET_TAIL = frozenset(
    {"key", "keys", "value", "val", "str", "string", "raw", "b64", "base64", "hex", "base"}
)
# Tokenizer vocabulary in ML code (``pad_token = "<pad>"``) is not a credential.
_TOKENIZER_PREFIXES = frozenset(
    {"pad", "eos", "bos", "unk", "sep", "cls", "mask", "sos", "start", "end", "special"}
)
_SEGMENT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# Well-known credential formats, in one alternation because one pass over a
# 2 MB notebook is several times faster than eight.
_TOKENS = re.compile(
    r"""(?<![\w-])(?:
          (?:AKIA|ASIA)[A-Z0-9]{16}\b                          # AWS access key id
        | gh[pousr]_[A-Za-z0-9]{20,255}\b                      # GitHub
        | github_pat_[A-Za-z0-9_]{20,255}\b
        | sk-[A-Za-z0-9][A-Za-z0-9_-]{19,}                     # OpenAI, Anthropic
        | xox[baprs]-[A-Za-z0-9-]{10,}                         # Slack
        | hf_[A-Za-z0-9]{30,}\b                                # Hugging Face
        | AIza[0-9A-Za-z_-]{35}\b                              # Google API key
        | eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*  # JWT
        )""",
    re.VERBOSE,
)
# An unterminated block (a diff cut at 1 MB) is redacted to the end of the text.
_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*\Z)",
    re.DOTALL,
)
_BEARER = re.compile(r"\b([Bb]earer\s+)[A-Za-z0-9._~+/=-]{8,}")
_BASIC_AUTH = re.compile(r"(?i)(?P<pre>\bauthorization:\s*basic\s+)[A-Za-z0-9+/]{4,}={0,2}")
# Slack incoming webhooks and workflow triggers: the path after the kind is the secret.
_SLACK_WEBHOOK = re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[\w/-]+")
_URL_PASSWORD = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"]*:)([^\s/@'\"]+)(?=@)")
# ``name = "value"``, ``name="value"``, ``name: str = "value"``, ``"name": "value"``,
# ``env["NAME"] = "value"``, also JSON-escaped (``\"name\": \"value\"``) as in
# the diff of an .ipynb file. A name that starts a string (``"token = 'x'"``,
# a source line in .ipynb JSON) takes only ``=``, or the ``password:`` in
# ``print("password:", "x")`` would pair with the next string.
_QUOTED = re.compile(
    r"""(?P<pre>
          (?:(?P<nq>\\{0,3}["'])|(?<![\w\-"'\\])|(?P<bq>(?<=["'])))
          (?P<name>[A-Za-z_][\w-]*)
          (?(nq)(?P=nq))\]?
          \s*(?::\s*[\w\[\].,|\ ]+?\s*)?(?:=|:=|(?(bq)(?!)|:))\s*[rRbBuUfF]{0,2}
          \\{0,3}(?P<q>["'])
        )
        (?P<val>(?:(?!\\*(?P=q))[^\n])+)
        (?=\\*(?P=q))""",
    re.VERBOSE,
)
# ``--token abc``, ``--api-key="abc"`` on command lines and in ``!cmd`` cells.
_CLI = re.compile(
    r"""(?P<pre>(?<![\w-])--?(?P<name>[A-Za-z][\w-]*)(?:=|[\ \t]+)(?P<q>["']?))
        (?P<val>[^\s'"\-][^\s'"]*)(?=(?P=q))""",
    re.VERBOSE,
)
# A ``;`` ends the value too: it separates the pairs of a connection string.
_QUERY = re.compile(r"(?P<pre>[?&](?P<name>[A-Za-z_][\w.-]*)=)(?P<val>[^&#;\s'\"<>]+)")
# Signatures in pre-signed URLs (Azure SAS ``sig``, S3, GCS) grant access alone.
_QUERY_SECRET_NAMES = frozenset({"sig", "signature", "x-amz-signature", "x-goog-signature"})
# ``key=value;`` pairs of a connection string (Azure's ``...;AccountKey=abc==;...``)
# inside a quoted string. A value starting ``{``, ``$``, ``%`` or ``<`` is a
# placeholder, and one starting ``(`` or ``[`` a regex (``"token=([a-z0-9]+)"``).
_CONNECTION_STRING = re.compile(
    r"""(?P<pre>(?<=[;"'])(?P<name>[A-Za-z_][\w.-]*)=)(?P<val>(?![{$%<(\[])[^;\s'"]+)"""
)
# Shell and .env lines: ``export TOKEN=abc``. Shell forbids spaces around ``=``
# and unquoted parentheses, which keeps ``token=get_token()`` out.
_SHELL = re.compile(
    r"""(?P<pre>^[+\-\ ]?[\ \t]*(?:export[\ \t]+)?(?P<name>[A-Za-z_]\w*)=)
        (?P<val>[^\s'"`$(){}\[\];|&<>]+)(?=[\s;|&]|$)""",
    re.VERBOSE | re.MULTILINE,
)
# YAML/INI lines: ``password: hunter2``. The value must hold a digit so that a
# Python annotation such as ``token: str`` or ``auth: BasicAuth`` is left alone.
_CONFIG = re.compile(
    r"""(?P<pre>^[+\-\ ]?[\ \t]*(?P<name>[A-Za-z_][\w.-]*)[\ \t]*[:=][\ \t]*)
        (?P<val>[^\s'"`#$(){}\[\],<>]*[0-9][^\s'"`#$(){}\[\],<>]*)
        (?=[\ \t]*(?:\#.*)?$)""",
    re.VERBOSE | re.MULTILINE,
)
# ``curl -u user:pw`` and ``--user user:pw``: the password goes, the user stays.
# Only on curl lines, as ``docker run -u 1000:1000`` is a user and a group.
_CURL_USER = re.compile(
    r"""(?P<pre>(?<![\w-])(?:-u[\ \t]*|--user(?:=|[\ \t]+))(?P<q>["'])?[^\s:'"]*:)
        (?P<val>(?![{$<])(?(q)[^'"\n]+|[^\s'"]+))(?(q)(?=(?P=q)))""",
    re.VERBOSE,
)
# A plain literal: a leading \b would cost a regex attempt at every position.
_CURL_HINT = re.compile("curl")
# Every secret name contains one of these (lowercased); only lines holding one
# go through the name patterns, which are slow to try at every position.
_NAME_HINT = re.compile("auth|cred|key|p(?:ass|wd)|secret|sig(?:nature)?=|token")
_NAME_HINT_ANY_CASE = re.compile(_NAME_HINT.pattern, re.IGNORECASE)
_URL_HINT = re.compile("://")


def _segments(name: str) -> list[str]:
    return [s.lower() for s in _SEGMENT.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether a variable, parameter or environment variable name holds a secret.

    >>> is_secret_name("OPENAI_API_KEY"), is_secret_name("TOKENIZERS_PARALLELISM")
    (True, False)
    """
    parts = _segments(name)
    # The shell's working directory variables, not passwords.
    if parts in (["pwd"], ["oldpwd"]):
        return False
    for i, part in enumerate(parts):
        hit = (
            part in _SECRET_WORDS
            or part.endswith(_SECRET_SUFFIXES)
            or (i > 0 and (parts[i - 1], part) in _SECRET_PAIRS)
            or (
                part == "pass"
                and i > 0
                and parts[i - 1] not in _PASS_QUALIFIERS_NOT_SECRET
                and not parts[i - 1].isdigit()
            )
        )
        if not hit or not all(p in _SECRET_TAIL for p in parts[i + 1 :]):
            continue
        if part == "token" and i > 0 and parts[i - 1] in _TOKENIZER_PREFIXES:
            continue
        return True
    return False


def _named_value_repl(match: re.Match[str]) -> str:
    value = match.group("val")
    if value == REDACTED or not is_secret_name(match.group("name")):
        return match.group(0)
    return match.group("pre") + REDACTED


def _query_repl(match: re.Match[str]) -> str:
    if match.group("name").lower() in _QUERY_SECRET_NAMES and match.group("val") != REDACTED:
        return match.group("pre") + REDACTED
    return _named_value_repl(match)


def _value_repl(match: re.Match[str]) -> str:
    return match.group("pre") + REDACTED


_NAMED_VALUE_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_QUOTED, _named_value_repl),
    (_CLI, _named_value_repl),
    (_QUERY, _query_repl),
    (_SHELL, _named_value_repl),
    (_CONFIG, _named_value_repl),
    (_CONNECTION_STRING, _named_value_repl),
    (_BASIC_AUTH, _value_repl),
)


def _url_password_repl(match: re.Match[str]) -> str:
    # Template placeholders (``{password}``, ``$PASS``, ``<pw>``) are not secrets.
    if match.group(2).startswith(("{", "$", "<")):
        return match.group(0)
    return match.group(1) + REDACTED


def _redact_url_passwords(line: str) -> str:
    return _URL_PASSWORD.sub(_url_password_repl, line)


def _on_lines(text: str, hits: Iterable[re.Match[str]], redact: Callable[[str], str]) -> str:
    """Apply ``redact`` to each line of ``text`` that holds a hit, once per line."""
    parts: list[str] = []
    done = 0
    for hit in hits:
        if hit.start() < done:
            continue
        start = text.rfind("\n", 0, hit.start()) + 1
        end = text.find("\n", hit.end())
        end = len(text) if end == -1 else end
        parts += [text[done:start], redact(text[start:end])]
        done = end
    parts.append(text[done:])
    return "".join(parts)


def _redact_named_values(text: str) -> str:
    for pattern, repl in _NAMED_VALUE_PATTERNS:
        text = pattern.sub(repl, text)
    return text


def _redact_curl_user(line: str) -> str:
    return _CURL_USER.sub(_value_repl, line)


def redact_text(text: str) -> str:
    """Replace secrets in code, diffs or free text, keeping the text around them.

    >>> redact_text('password = "hunter2"')
    'password = "<redacted>"'
    """
    text = _PEM.sub(REDACTED, text)
    text = _TOKENS.sub(REDACTED, text)
    # A substring test is ~50x faster than the regex search finding nothing.
    if "earer" in text:
        text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SLACK_WEBHOOK.sub(lambda m: m.group(1) + REDACTED, text)
    text = _on_lines(text, _URL_HINT.finditer(text), _redact_url_passwords)
    text = _on_lines(text, _CURL_HINT.finditer(text), _redact_curl_user)
    lowered = text.lower()
    # Searching lowercased text is ten times faster than a case-insensitive
    # search, but a few characters change length when lowercased, and then
    # positions would not line up.
    if len(lowered) == len(text):
        hits = _NAME_HINT.finditer(lowered)
    else:
        hits = _NAME_HINT_ANY_CASE.finditer(text)
    return _on_lines(text, hits, _redact_named_values)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """Redact a command line given as a list, including ``["--token", "abc"]`` pairs.

    >>> redact_argv(["train.py", "--api-key", "abc", "--lr", "0.1"])
    ['train.py', '--api-key', '<redacted>', '--lr', '0.1']
    """
    out: list[str] = []
    for i, arg in enumerate(argv):
        prev = argv[i - 1] if i else ""
        # ``--token=abc`` is one argument and is handled by redact_text.
        secret_flag = prev.startswith("-") and "=" not in prev and is_secret_name(prev)
        out.append(REDACTED if secret_flag and not arg.startswith("-") else redact_text(arg))
    return out


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """Copy an environment with secret-named values replaced by ``REDACTED``.

    Other values still go through :func:`redact_text`, so the password in
    ``DATABASE_URL=postgres://u:pw@db/x`` is removed too.

    >>> redact_env({"HF_TOKEN": "hf_abc", "HOME": "/home/me"})
    {'HF_TOKEN': '<redacted>', 'HOME': '/home/me'}
    """
    return {
        name: REDACTED if is_secret_name(name) else redact_text(value)
        for name, value in env.items()
    }
