"""Credentials by position: key/value pairs, flags, headers, URLs, files and key blocks.

Connection strings, config files (.netrc, docker, kubeconfig, PHP ``define``) and private keys
of every armour type are covered.

The value decides: a placeholder, a template variable, a code reference (``settings.api_key``)
or a masked value is not a finding; a literal that could be a credential is.
"""

from __future__ import annotations

from hybridcrew.routing.privacy.checks import is_placeholder, looks_like_secret_value
from hybridcrew.routing.privacy.patterns import TOKEN_TAIL, Detector, token

_KEY_NOISE = (
    "url", "uri", "endpoint", "file", "path", "name", "type", "count", "limit", "length", "len",
    "size", "id", "ids", "ttl", "prefix", "header", "field", "env", "var", "format", "policy",
    "rotation", "tokens", "timeout", "hint", "label", "description", "manager", "store",
    "provider", "reset", "required", "strength", "hash", "salt", "min", "max", "expiry",
    "expires", "expires_in", "expiration", "_at", "type_hint", "regex", "pattern", "izer",
    "ized", "ization", "usage", "budget", "estimate", "estimator", "_key_id", "keyid",
)
# The names of secrets, not one:
_SECRET_WORDS = (r"passw(?:or)?d|passphrase|passwd|pwd|secret|token|api[_\-]?key|apikey|"  # noqa: S105
                 r"access[_\-]?key|private[_\-]?key|auth[_\-]?key|credentials?|client[_\-]?secret|"
                 r"signing[_\-]?key|encryption[_\-]?key|master[_\-]?key|db[_\-]?pass|"
                 r"connection[_\-]?string|conn[_\-]?str")


def _value_ok(raw: str, *, password: bool = True) -> bool:
    """Whether an assigned value could be a credential.

    Only a password may be a short word or contain spaces; a token or key named in quotes that
    looks like a name (``"refresh_token"``, ``"ANTHROPIC_API_KEY"``), a type or a colour is not.
    """
    quoted = len(raw) >= 2 and raw[0] in "\"'`" and raw[-1] == raw[0]  # noqa: PLR2004
    value = raw[1:-1] if quoted else raw
    if value.replace(".", "").replace("_", "").isdigit():
        return False
    if quoted and not password and (value.startswith("#") or any(ch in value for ch in " []")
                                     or not looks_like_secret_value(value, quoted=False)):
        return False
    return looks_like_secret_value(value, quoted=quoted)


def _assignment_ok(groups: dict[str, str]) -> bool:
    key = groups["key"].lower().rstrip("\"'")
    return not key.endswith(_KEY_NOISE) and _value_ok(
        groups["value"], password=any(word in key for word in ("pass", "pwd")))


_VALUE = (r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|`[^`\n]*`|"
          r"[^\s,;\"'`(){}\[\]<>=:/][^\s,;\"'`)}\]<>]*)")
# key = value, key: value, key => value, key := value, "key": value, config["key"] = value,
# os.environ['KEY'] = value, key: type = value (TypeScript).
_ASSIGNMENT = (
    rf"(?i)(?P<key>(?:{_SECRET_WORDS})[\w.\-]*)[\"']?\]?[ \t]*"
    r"(?::[ \t]*[A-Za-z_][\w.\[\]| ]*?[ \t]*=|=>|:=|=|:)[ \t]*" + _VALUE
)
# PHP: define('DB_PASSWORD', 'value');
_DEFINE = (rf"(?i)define\(\s*[\"'](?P<key>\w*(?:{_SECRET_WORDS})\w*)[\"']\s*,\s*" + _VALUE)
_FLAG_VALUE = r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"'`|;&<>]+)"


def _flag_ok(groups: dict[str, str]) -> bool:
    raw = groups["value"]
    value = raw.strip("\"'")
    return not value.startswith(("-", "$")) and _value_ok(raw)


def _url_ok(groups: dict[str, str]) -> bool:
    user, secret = groups["user"], groups["secret"]
    defaults = {"guest", "pass", "password", "secret", "changeme", "admin", "root", "user",
                "test", "postgres", "mysql", "redis", "rabbitmq", "x-oauth-basic"}
    if secret.lower() in defaults or secret == user or secret.startswith("$"):
        return False
    return looks_like_secret_value(secret, quoted=True)


def _credential_ok(groups: dict[str, str]) -> bool:
    """A header's credential: a literal, not ``self.api_key`` or a placeholder."""
    return looks_like_secret_value(groups["credential"], quoted=False)


def _b64_ok(groups: dict[str, str]) -> bool:
    value = groups["key"]
    return len(value) >= 16 and not is_placeholder(value)  # noqa: PLR2004


_ARMOURED = r"(?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |SSH2 ENCRYPTED )?PRIVATE KEY(?: BLOCK)?"

CREDENTIAL_DETECTORS: tuple[Detector, ...] = (
    Detector("private_key_block",
             rf"-----BEGIN {_ARMOURED}-----(?s:.*?)(?:-----END {_ARMOURED}-----|\z)",
             word_start=False),
    Detector("putty_private_key", r"PuTTY-User-Key-File-\d: [\w\-]+(?s:.*?)Private-Lines: "
             r"\d+\s+[A-Za-z0-9+/=\s]{20,}", word_start=False),
    token("jwt", r"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
    Detector("url_credentials",
             r"://(?P<user>[^\s:/@'\"<>]{1,128}):(?P<secret>[^\s@/'\"<>]{1,256})@[\w.\-]+",
             group="secret", word_start=False, validate=_url_ok),
    Detector("jdbc_credentials",
             r"(?i)jdbc:oracle:[a-z]+:(?P<user>[\w$#]+)/(?P<secret>[^@\s\"']+)@",
             group="secret", word_start=False, validate=_url_ok),
    Detector("authorization_header",
             r"(?i)(?:proxy-)?authorization[\"']?\s*[:=]?\s*[\"']?(?:bearer|basic|token|apikey|"
             r"ssws|bot|digest|negotiate|sharedkey [\w]+:)\s+(?P<credential>[A-Za-z0-9._~+/\-]"
             r"{12,}=*)", group="credential", validate=_credential_ok),
    Detector("bearer_token", r"(?i)bearer\s+(?P<credential>[A-Za-z0-9._~+/\-]{20,}=*)",
             group="credential", validate=_credential_ok),
    Detector("api_key_header",
             r"(?i)(?:x-api-key|api-key|x-auth-token|x-access-token|private-token|"
             r"x-vault-token|x-figma-token|x-shopify-access-token)[\"']?\s*[:=]\s*[\"']?"
             r"(?P<credential>[A-Za-z0-9._~+/\-]{12,}=*)", group="credential",
             validate=_credential_ok),
    Detector("secret_assignment", _ASSIGNMENT, group="value", word_start=False,
             validate=_assignment_ok),
    Detector("secret_assignment", _DEFINE, group="value", word_start=False,
             validate=_assignment_ok),
    Detector("cli_password_flag",
             r"(?i)(?:^|[\s'\"])(?:--?(?:password|passwd|pass|pwd|token|api-key|apikey|secret|"
             r"client-secret|auth-token|access-key|secret-key))(?:=|[ \t]+)" + _FLAG_VALUE,
             group="value", word_start=False, validate=_flag_ok),
    # -p is a port for docker and ssh: a password only for the MySQL clients (glued or not).
    Detector("cli_short_password", r"(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]*?\s-p"
             r"[ \t]?(?P<value>[^\s\"'`|;&<>-][^\s\"'`|;&<>]{3,})", group="value",
             word_start=False, validate=_flag_ok),
    Detector("redis_cli_password", r"redis-cli\b[^\n]*?\s-a[ \t]+" + _FLAG_VALUE,
             group="value", word_start=False, validate=_flag_ok),
    Detector("sshpass_password", r"sshpass\s+-p\s*" + _FLAG_VALUE, group="value",
             word_start=False, validate=_flag_ok),
    Detector("netrc_password",
             r"(?i)machine\s+\S+(?:\s+login\s+\S+)?\s+password\s+(?P<value>\S+)",
             group="value", word_start=False, validate=lambda g: _value_ok(g["value"])),
    Detector("docker_auth", r"\"auth\"\s*:\s*\"(?P<key>[A-Za-z0-9+/]{16,}={0,2})\"",
             group="key", word_start=False, validate=_b64_ok),
    # (A kubeconfig's token: and password: entries are secret_assignment's.)
    Detector("kubeconfig_secret",
             r"(?:client-key-data|client-certificate-data):\s*(?P<key>"
             r"[A-Za-z0-9+/_.\-]{40,}={0,2})", group="key", word_start=False,
             tail=TOKEN_TAIL, validate=_b64_ok),
)
