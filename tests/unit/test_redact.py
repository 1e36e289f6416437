"""Secrets disappear from captured code, command lines and environments; ML code survives."""

from __future__ import annotations

import pytest

from mlp._redact import REDACTED, is_secret_name, redact_argv, redact_env, redact_text

GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('password = "hunter2"', f'password = "{REDACTED}"'),
        ("api_key='abc'", f"api_key='{REDACTED}'"),
        ('cfg = {"token": "x", "lr": "0.1"}', f'cfg = {{"token": "{REDACTED}", "lr": "0.1"}}'),
        (
            'client = Client(secret_key="s3", region="eu")',
            f'client = Client(secret_key="{REDACTED}", region="eu")',
        ),
        ('PRIVATE_KEY: str = "abc"', f'PRIVATE_KEY: str = "{REDACTED}"'),
        ('self.access_key = "abc"', f'self.access_key = "{REDACTED}"'),
        ('os.environ["HF_TOKEN"] = "abc"', f'os.environ["HF_TOKEN"] = "{REDACTED}"'),
        ('login(apiKey="abc")', f'login(apiKey="{REDACTED}")'),
        ('{"X-Api-Key": "abc"}', f'{{"X-Api-Key": "{REDACTED}"}}'),
        ('db_credentials = "u:p"', f'db_credentials = "{REDACTED}"'),
        ('auth = "basic"', f'auth = "{REDACTED}"'),
        ("AWS_SECRET_ACCESS_KEY=abc", f"AWS_SECRET_ACCESS_KEY={REDACTED}"),
        ("export DB_PASSWORD=hunter2 # prod", f"export DB_PASSWORD={REDACTED} # prod"),
        ("MLP_TOKEN=abc python train.py", f"MLP_TOKEN={REDACTED} python train.py"),
        ("password: hunter22", f"password: {REDACTED}"),
        ("!python train.py --token abc --lr 0.1", f"!python train.py --token {REDACTED} --lr 0.1"),
        ("--api-key='abc'", f"--api-key='{REDACTED}'"),
        ("GET /v1?access_token=abc123&page=2", f"GET /v1?access_token={REDACTED}&page=2"),
    ],
)
def test_values_of_secret_names_are_redacted_and_the_code_kept(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "secret",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAY34FZKBOKMUTVV7A",
        GITHUB_TOKEN,
        "gho_" + "x" * 36,
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123",
        "sk-proj-" + "Ab1" * 16,
        "sk-ant-api03-" + "Zx9_" * 20,
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "hf_" + "AbCdEfGhIj" * 4,
        JWT,
    ],
)
def test_well_known_token_formats_are_redacted_wherever_they_appear(secret: str) -> None:
    text = f"client = connect(x, {secret})  # {secret}\n"
    assert redact_text(text) == f"client = connect(x, {REDACTED})  # {REDACTED}\n"


def test_bearer_token_in_a_header_is_redacted_but_the_scheme_kept() -> None:
    text = 'curl -H "Authorization: Bearer abc123.def456-ghi" https://api.example.com'
    assert redact_text(text) == (
        f'curl -H "Authorization: Bearer {REDACTED}" https://api.example.com'
    )


def test_pem_private_key_block_is_replaced_whole() -> None:
    key = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
        "AAAAAAABAAAAMwAAAAtzc2gtZWQyNTUxOQAAACDx\n"
        "-----END OPENSSH PRIVATE KEY-----"
    )
    assert (
        redact_text(f"key = '''\n{key}\n'''\nload(key)") == f"key = '''\n{REDACTED}\n'''\nload(key)"
    )


def test_pem_block_cut_off_before_its_end_is_redacted_to_the_end() -> None:
    text = "+-----BEGIN RSA PRIVATE KEY-----\n+MIIEowIBAAKCAQEA7"
    assert redact_text(text) == f"+{REDACTED}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://alice:s3cr3t@db:5432/x", f"postgresql://alice:{REDACTED}@db:5432/x"),
        (
            "https://oauth2:glpat-abc@gitlab.com/g/r.git",
            f"https://oauth2:{REDACTED}@gitlab.com/g/r.git",
        ),
        ("redis://:pw@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
    ],
)
def test_password_in_a_url_is_redacted_and_the_user_kept(url: str, expected: str) -> None:
    assert (
        redact_text(f'engine = create_engine("{url}")') == f'engine = create_engine("{expected}")'
    )


@pytest.mark.parametrize(
    "code",
    [
        'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
        "n_tokens = 5",
        'max_tokens = int("512")',
        "password_field = form.field",
        'key = "lr"',
        'keys = "abc"',
        'for key in ["lr", "momentum"]: pass',
        'primary_key = "id"',
        'sort_key = "loss"',
        'tokenizer.pad_token = "<pad>"',
        'tok(eos_token="</s>", bos_token="<s>")',
        'token_type = "segment"',
        'author = "Ada"',
        'password = ""',
        "password = getpass()",
        "token: str",
        'print("password:", "required")',
        'url = "postgresql://{user}:{password}@db/x"',
        "http://localhost:8888/lab",
        'model = "sk-learn"',
        "KEYBOARD=us",
        "TOKENIZERS_PARALLELISM=false",
        'num_passes = "3"',
        'bypass_cache = "yes"',
        'compass = "north"',
        'n_pass = "2"',
        'high_pass = "butterworth"',
        'fusion_pass = "inline"',
        'status = {"pass": "green", "fail": "red"}',
        "for batch in loader: pass",
        "sig = inspect.signature(fn)",
        "!docker run -u 1000:1000 trainer",
        "!python -u train.py --user ada:admins",
        'curl -u "$USER:$PASS" https://api.example.com',
        "https://hooks.slack.com/services/",
        'conn = "Server=db;Database=runs;User Id=ada"',
        'cs = "Endpoint=sb://x/;SharedAccessKeyName=RootManageSharedAccessKey"',
        'tok = re.findall("token=([a-z0-9]+)", url)[0]',
        'print("password=%s" % masked)',
    ],
)
def test_ordinary_ml_code_is_left_unchanged(code: str) -> None:
    assert redact_text(code) == code


AZURE_STORAGE = (
    "DefaultEndpointsProtocol=https;AccountName=mlpdata;"
    "AccountKey=abc123+/XyZ==;EndpointSuffix=core.windows.net"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f'conn = "{AZURE_STORAGE}"',
            f'conn = "{AZURE_STORAGE.replace("abc123+/XyZ==", REDACTED)}"',
        ),
        (
            f"AZURE_STORAGE_CONNECTION_STRING={AZURE_STORAGE}",
            f"AZURE_STORAGE_CONNECTION_STRING={AZURE_STORAGE.replace('abc123+/XyZ==', REDACTED)}",
        ),
        (
            'cs = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;'
            'SharedAccessKey=k3y+/=="',
            'cs = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;'
            f'SharedAccessKey={REDACTED}"',
        ),
        (
            'c = "BlobEndpoint=https://a.blob.core.windows.net/;'
            'SharedAccessSignature=sv=2022-11-02&ss=b&sp=r&sig=AbC%2Bd%3D;"',
            f'c = "BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature={REDACTED};"',
        ),
        (
            'url = "https://a.blob.core.windows.net/data/x.pt?sv=2022-11-02&sp=r&sig=AbC%2Bd%3D"',
            f'url = "https://a.blob.core.windows.net/data/x.pt?sv=2022-11-02&sp=r&sig={REDACTED}"',
        ),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Expires=60&X-Amz-Signature=9f86d081884c",
            f"https://b.s3.amazonaws.com/k?X-Amz-Expires=60&X-Amz-Signature={REDACTED}",
        ),
    ],
)
def test_azure_connection_strings_and_signed_urls_lose_their_keys(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('db_pass = "hunter2"', f'db_pass = "{REDACTED}"'),
        ("export PGPASS=hunter2", f"export PGPASS={REDACTED}"),
        ("PGPASSWORD=hunter2 psql -h db", f"PGPASSWORD={REDACTED} psql -h db"),
        ("MYSQL_PASS: hunter22", f"MYSQL_PASS: {REDACTED}"),
        ('connect(user="ada", dbPass="hunter2")', f'connect(user="ada", dbPass="{REDACTED}")'),
        ("!mysqldump --password hunter2 runs", f"!mysqldump --password {REDACTED} runs"),
        ("!mysqldump --password=hunter2 runs", f"!mysqldump --password={REDACTED} runs"),
    ],
)
def test_short_password_names_and_password_flags_are_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!curl -u ada:hunter2 https://x.io", f"!curl -u ada:{REDACTED} https://x.io"),
        ("curl -uada:hunter2 https://x.io", f"curl -uada:{REDACTED} https://x.io"),
        ("curl --user ada:hunter2 https://x.io", f"curl --user ada:{REDACTED} https://x.io"),
        ("curl --user=ada:hunter2 https://x.io", f"curl --user=ada:{REDACTED} https://x.io"),
        ('curl --user "ada:two words" x', f'curl --user "ada:{REDACTED}" x'),
        ("curl -s -u 'ada:pw:with:colons' -X POST x", f"curl -s -u 'ada:{REDACTED}' -X POST x"),
    ],
)
def test_curl_user_password_is_redacted_and_the_user_kept(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_basic_authorization_header_is_redacted() -> None:
    text = 'curl -H "Authorization: Basic YWRhOmh1bnRlcjI=" https://x.io'
    assert redact_text(text) == f'curl -H "Authorization: Basic {REDACTED}" https://x.io'


@pytest.mark.parametrize("kind", ["services", "workflows", "triggers"])
def test_slack_webhook_url_keeps_only_its_host_and_kind(kind: str) -> None:
    url = f"https://hooks.slack.com/{kind}/T0123ABCD/B0456EFGH/abcDEF123ghiJKL456mnoPQR"
    text = f'requests.post("{url}", json={{"text": "done"}})'
    expected = (
        f'requests.post("https://hooks.slack.com/{kind}/{REDACTED}", json={{"text": "done"}})'
    )
    assert redact_text(text) == expected


def test_new_rules_are_idempotent() -> None:
    text = "\n".join(
        [
            f'conn = "{AZURE_STORAGE}"',
            "url = 'https://a.blob.core.windows.net/c?sv=1&sig=abc%3D'",
            'db_pass = "hunter2"',
            "curl -u ada:hunter2 https://x.io",
            "https://hooks.slack.com/services/T01/B02/xyz",
            "Authorization: Basic YWRhOmh1bnRlcjI=",
        ]
    )
    once = redact_text(text)
    assert "hunter2" not in once and "abc123" not in once and "xyz" not in once
    assert redact_text(once) == once


def test_secret_in_a_notebook_json_diff_is_redacted() -> None:
    line = '+    "token = \\"abc\\"\\n",'
    assert redact_text(line) == f'+    "token = \\"{REDACTED}\\"\\n",'


def test_redaction_is_idempotent() -> None:
    text = f'password = "hunter2"\nurl = "https://u:p@h/x"\n{GITHUB_TOKEN}\nTOKEN=abc\n'
    once = redact_text(text)
    assert redact_text(once) == once


@pytest.mark.parametrize(
    "name",
    [
        "MLP_TOKEN",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "HF_TOKEN",
        "OPENAI_API_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "JUPYTERHUB_API_TOKEN",
        "SECRET_KEY_BASE",
        "accessToken",
        "authtoken",
        "private_key",
        "DB_PASS",
        "db_pass",
        "dbPass",
        "PGPASS",
        "PGPASSWORD",
        "MYSQL_PASS",
        "REDIS_PASS_VALUE",
        "AccountKey",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "SharedAccessKey",
        "SharedAccessSignature",
    ],
)
def test_secret_names_are_recognised(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "PATH",
        "HOME",
        "PWD",
        "TOKENIZERS_PARALLELISM",
        "KEYBOARD",
        "PYTHONPATH",
        "key",
        "keys",
        "pad_token",
        "token_type_ids",
        "author",
        "pass",
        "num_passes",
        "n_pass",
        "NUM_PASS",
        "bypass_cache",
        "BYPASS",
        "compass",
        "low_pass",
        "pass_through",
        "PGPASSFILE",
        "SharedAccessKeyName",
        "AccountName",
    ],
)
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


def test_redact_env_hides_secret_names_and_passwords_in_other_values() -> None:
    env = {
        "HF_TOKEN": "hf_short",
        "MY_API_TOKEN": "whatever",
        "DATABASE_URL": "postgresql://app:pw123@db/app",
        "PGPASSWORD": "hunter2",
        "DB_PASS": "hunter2",
        "AZURE_STORAGE_CONNECTION_STRING": AZURE_STORAGE,
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T01/B02/xyz",
        "HOME": "/home/ada",
    }
    assert redact_env(env) == {
        "HF_TOKEN": REDACTED,
        "MY_API_TOKEN": REDACTED,
        "DATABASE_URL": f"postgresql://app:{REDACTED}@db/app",
        "PGPASSWORD": REDACTED,
        "DB_PASS": REDACTED,
        "AZURE_STORAGE_CONNECTION_STRING": AZURE_STORAGE.replace("abc123+/XyZ==", REDACTED),
        "SLACK_WEBHOOK_URL": f"https://hooks.slack.com/services/{REDACTED}",
        "HOME": "/home/ada",
    }


def test_redact_argv_hides_the_value_after_a_secret_flag() -> None:
    argv = ["train.py", "--api-key", "abc", "--token=xyz", "--lr", "0.1", "--password", "--dry"]
    assert redact_argv(argv) == [
        "train.py",
        "--api-key",
        REDACTED,
        f"--token={REDACTED}",
        "--lr",
        "0.1",
        "--password",
        "--dry",
    ]


def test_large_text_is_redacted_quickly() -> None:
    import time

    chunk = "".join(f"loss_{i} = model(x_{i}, key='k{i}')  # step {i}\n" for i in range(2000))
    text = chunk * 10 + 'password = "hunter2"\n'
    start = time.perf_counter()
    out = redact_text(text)
    assert time.perf_counter() - start < 2.0
    assert out == chunk * 10 + f'password = "{REDACTED}"\n'
