"""The generated part of the privacy corpus: every kind of secret and personal data, in the
positions where prompts carry them, and the look-alikes that must not count.

Values are fake and follow the providers' documented formats (random characters of the right
alphabet and length, from a fixed seed); national identifiers carry valid check digits, computed
here from the published algorithms. Hand-written cases live in ``corpus.yaml``.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator
from typing import Any

Case = dict[str, Any]
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UPPER_NUM = string.ascii_uppercase + string.digits
URLSAFE = ALNUM + "_-"
B64 = ALNUM + "+/"


class Values:
    """Random strings from a fixed seed, so the corpus is the same on every run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def __call__(self, alphabet: str, length: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(length))


v = Values(20261130)

# kind, detector, two values, and (for values that need their name next to them) that name.
TOKENS: list[tuple[str, str, list[str], str | None]] = [
    ("aws_access_key_id", "aws_access_key_id",
     ["AKIA" + v(UPPER_NUM, 16), "ASIA" + v(UPPER_NUM, 16)], None),
    ("aws_secret_access_key", "secret_assignment", [v(B64, 40), v(B64, 40)],
     "aws_secret_access_key"),
    ("google_api_key", "google_api_key", ["AIza" + v(URLSAFE, 35), "AIza" + v(URLSAFE, 35)],
     None),
    ("google_oauth_secret", "google_oauth_secret", ["GOCSPX-" + v(URLSAFE, 28)], None),
    ("azure_storage_key", "azure_storage_key",
     [f"DefaultEndpointsProtocol=https;AccountName=orders;AccountKey={v(B64, 86)}==;"
      "EndpointSuffix=core.windows.net"], None),
    ("azure_service_bus_key", "azure_shared_access_key",
     [f"Endpoint=sb://orders.servicebus.windows.net/;SharedAccessKeyName=send;"
      f"SharedAccessKey={v(B64, 43)}="], None),
    ("azure_sas_token", "azure_sas_token",
     [f"https://orders.blob.core.windows.net/in?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2026-12-31"
      f"&sig={v(ALNUM, 43)}%3D"], None),
    ("azure_ad_client_secret", "azure_ad_client_secret",
     [v(ALNUM, 3) + "8Q~" + v(ALNUM + "_~.-", 34)], None),
    ("alibaba_access_key_id", "alibaba_access_key_id", ["LTAI" + v(ALNUM, 20)], None),
    ("digitalocean_token", "digitalocean_token", ["dop_v1_" + v(HEX, 64)], None),
    ("databricks_token", "databricks_token", ["dapi" + v(HEX, 32)], None),
    ("heroku_api_key", "heroku_api_key", ["HRKU-" + v(URLSAFE, 60)], None),
    ("doppler_token", "doppler_token", ["dp.st.prd." + v(ALNUM, 40)], None),
    ("pulumi_token", "pulumi_token", ["pul-" + v(HEX, 40)], None),
    ("terraform_cloud_token", "terraform_cloud_token",
     [v(ALNUM, 14) + ".atlasv1." + v(ALNUM, 67)], None),
    ("github_token", "github_token", ["ghp_" + v(ALNUM, 36), "ghs_" + v(ALNUM, 36)], None),
    ("github_fine_grained_token", "github_fine_grained_token",
     ["github_pat_11" + v(UPPER_NUM, 20) + "_" + v(ALNUM, 59)], None),
    ("gitlab_token", "gitlab_token", ["glpat-" + v(URLSAFE, 20), "glrt-" + v(URLSAFE, 24)],
     None),
    ("bitbucket_app_password", "bitbucket_app_password", ["ATBB" + v(ALNUM, 32)], None),
    ("atlassian_api_token", "atlassian_api_token", ["ATATT3xFfGF0" + v(URLSAFE, 180)], None),
    ("npm_token", "npm_token", ["npm_" + v(ALNUM, 36)], None),
    ("pypi_token", "pypi_token", ["pypi-AgEIcHlwaS5vcmc" + v(URLSAFE, 60)], None),
    ("rubygems_api_key", "rubygems_api_key", ["rubygems_" + v(HEX, 48)], None),
    ("nuget_api_key", "nuget_api_key", ["oy2" + v(string.ascii_lowercase + string.digits, 43)],
     None),
    ("docker_hub_token", "docker_hub_token", ["dckr_pat_" + v(URLSAFE, 27)], None),
    ("artifactory_api_key", "artifactory_api_key", ["AKCp" + v(ALNUM, 69)], None),
    ("sonarqube_token", "sonarqube_token", ["squ_" + v(HEX, 40)], None),
    ("postman_api_key", "postman_api_key", ["PMAK-" + v(HEX, 24) + "-" + v(HEX, 34)], None),
    ("linear_api_key", "linear_api_key", ["lin_api_" + v(ALNUM, 40)], None),
    ("slack_token", "slack_token", ["xoxb-" + v("0123456789", 12) + "-" + v("0123456789", 13)
                                    + "-" + v(ALNUM, 24)], None),
    ("slack_app_token", "slack_app_token",
     ["xapp-1-A" + v(UPPER_NUM, 10) + "-" + v("0123456789", 13) + "-" + v(HEX, 64)], None),
    ("slack_webhook", "slack_webhook",
     ["https://hooks.slack.com/services/T" + v(UPPER_NUM, 8) + "/B" + v(UPPER_NUM, 8) + "/"
      + v(ALNUM, 24)], None),
    ("discord_webhook", "discord_webhook",
     ["https://discord.com/api/webhooks/" + v("0123456789", 18) + "/" + v(URLSAFE, 68)], None),
    ("discord_bot_token", "discord_bot_token",
     ["MT" + v(ALNUM, 24) + "." + v(URLSAFE, 6) + "." + v(URLSAFE, 38)], None),
    ("telegram_bot_token", "telegram_bot_token",
     [v("123456789", 1) + v("0123456789", 9) + ":AA" + v(URLSAFE, 33)], None),
    ("teams_webhook", "teams_webhook",
     ["https://contoso.webhook.office.com/webhookb2/" + v(HEX, 8) + "-" + v(HEX, 4) + "-"
      + v(HEX, 4) + "-" + v(HEX, 4) + "-" + v(HEX, 12) + "@" + v(HEX, 8) + "-" + v(HEX, 4)
      + "-" + v(HEX, 4) + "-" + v(HEX, 4) + "-" + v(HEX, 12) + "/IncomingWebhook/"
      + v(HEX, 32) + "/" + v(HEX, 8) + "-" + v(HEX, 4) + "-" + v(HEX, 4) + "-" + v(HEX, 4)
      + "-" + v(HEX, 12)], None),
    ("google_chat_webhook", "google_chat_webhook",
     ["https://chat.googleapis.com/v1/spaces/AAAA" + v(ALNUM, 7) + "/messages?key=AIza"
      + v(URLSAFE, 35) + "&token=" + v(URLSAFE, 43)], None),
    ("twilio_api_key", "twilio_api_key", ["SK" + v(HEX, 32)], None),
    ("sendgrid_api_key", "sendgrid_api_key", ["SG." + v(URLSAFE, 22) + "." + v(URLSAFE, 43)],
     None),
    ("mailgun_api_key", "mailgun_api_key", ["key-" + v(HEX, 32)], None),
    ("mailchimp_api_key", "mailchimp_api_key", [v(HEX, 32) + "-us14"], None),
    ("stripe_key", "stripe_key", ["sk_live_" + v(ALNUM, 24), "rk_live_" + v(ALNUM, 24)], None),
    ("stripe_webhook_secret", "stripe_webhook_secret", ["whsec_" + v(ALNUM, 32)], None),
    ("square_token", "square_token", ["sq0atp-" + v(URLSAFE, 22)], None),
    ("shopify_token", "shopify_token", ["shpat_" + v(HEX, 32)], None),
    ("braintree_token", "paypal_braintree_token",
     ["access_token$production$" + v(HEX, 16) + "$" + v(HEX, 32)], None),
    ("anthropic_api_key", "anthropic_api_key", ["sk-ant-api03-" + v(URLSAFE, 93) + "AA"], None),
    ("openai_api_key", "openai_api_key", ["sk-proj-" + v(URLSAFE, 48)], None),
    ("huggingface_token", "huggingface_token", ["hf_" + v(ALNUM, 34)], None),
    ("groq_api_key", "groq_api_key", ["gsk_" + v(ALNUM, 52)], None),
    ("replicate_token", "replicate_token", ["r8_" + v(ALNUM, 37)], None),
    ("perplexity_api_key", "perplexity_api_key", ["pplx-" + v(ALNUM, 48)], None),
    ("firebase_cloud_messaging_key", "firebase_cloud_messaging_key",
     ["AAAA" + v(URLSAFE, 7) + ":APA91b" + v(URLSAFE, 134)], None),
    ("expo_access_token", "expo_access_token", ["ExponentPushToken[" + v(URLSAFE, 22) + "]"],
     None),
    ("pushbullet_token", "pushbullet_token", ["o." + v(ALNUM, 32)], "pushbullet_token"),
    ("pushover_token", "pushover_token", [v(string.ascii_lowercase + string.digits, 30)],
     "PUSHOVER_APP_TOKEN"),
    ("onesignal_api_key", "onesignal_api_key", ["os_v2_app_" + v(ALNUM, 90)],
     "onesignal_rest_api_key"),
    ("new_relic_key", "new_relic_key", ["NRAK-" + v(UPPER_NUM, 27)], None),
    ("datadog_api_key", "datadog_api_key", [v(HEX, 32)], "DD_API_KEY"),
    ("sentry_dsn", "sentry_dsn",
     ["https://" + v(HEX, 32) + "@o" + v("0123456789", 6) + ".ingest.sentry.io/"
      + v("0123456789", 7)], None),
    ("sentry_auth_token", "sentry_auth_token", ["sntrys_" + v(ALNUM, 60)], None),
    ("grafana_token", "grafana_token", ["glsa_" + v(ALNUM, 32) + "_" + v(HEX, 8)], None),
    ("dynatrace_token", "dynatrace_token", ["dt0c01." + v(UPPER_NUM, 24) + "." + v(UPPER_NUM, 64)],
     None),
    ("honeycomb_api_key", "honeycomb_api_key", [v(ALNUM, 22)], "HONEYCOMB_API_KEY"),
    ("splunk_hec_token", "splunk_hec_token",
     [f"{v(HEX, 8)}-{v(HEX, 4)}-{v(HEX, 4)}-{v(HEX, 4)}-{v(HEX, 12)}"], "SPLUNK_HEC_TOKEN"),
    ("vault_token", "vault_token", ["hvs." + v(URLSAFE, 90)], None),
    ("vault_legacy_token", "vault_legacy_token", ["s." + v(ALNUM, 24)], "VAULT_TOKEN"),
    ("age_secret_key", "age_secret_key",
     ["AGE-SECRET-KEY-1" + v("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)], None),
    ("onepassword_token", "onepassword_token", ["ops_eyJ" + v(ALNUM, 250)], None),
    ("jwt", "jwt", ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI" + v(URLSAFE, 30) + "." + v(URLSAFE, 43)],
     None),
]

# Where a value sits. {v} the value; keyed kinds get {name}.
PLAIN_CONTEXTS: list[tuple[str, str]] = [
    ("json", '{{"service": "orders", "credential": {{"value": "{v}"}}, "retries": 3}}'),
    ("yaml", "deploy:\n  region: eu-west-1\n  credential: {v}\n  replicas: 2"),
    ("log", "2026-05-01T10:22:33Z WARN upstream rejected {v} status=401"),
    ("prose", "The value we rotated yesterday was {v}; please revoke it everywhere."),
    ("markdown", "To reproduce:\n\n```bash\ncurl -s https://api.internal/v1 -d '{v}'\n```"),
    ("diff", "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,3 @@\n import os\n+VALUE = \"{v}\"\n"),
]
KEYED_CONTEXTS: list[tuple[str, str]] = [
    ("env", "NODE_ENV=production\n{name}={v}\nPORT=8080"),
    ("yaml", "integrations:\n  {name_lower}: {v}\n  enabled: true"),
    ("json", '{{"{name_lower}": "{v}", "region": "eu"}}'),
    ("python", 'settings = dict(debug=False)\n{name} = "{v}"\n'),
]


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return str((10 - total % 10) % 10)


def _iban(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    check = 98 - number % 97
    return f"{country}{check:02d}{bban}"


def _cpf(nine: str) -> str:
    digits = [int(c) for c in nine]
    for size in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(size + 1, 1, -1), strict=False))
        digits.append(total * 10 % 11 % 10)
    s = "".join(map(str, digits))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def _bsn(eight: str) -> str:
    for last in range(10):
        digits = [int(c) for c in eight] + [last]
        if (sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
                - digits[8]) % 11 == 0:
            return eight + str(last)
    return _bsn(str(int(eight) + 1).zfill(8))


def _nir(thirteen: str) -> str:
    return f"{thirteen}{97 - int(thirteen) % 97:02d}"


def _dni(number: str) -> str:
    return number + "TRWAGMYFPDXBNJZSQVHLCKE"[int(number) % 23]


def _card(prefix: str, length: int) -> str:
    body = prefix + v("0123456789", length - len(prefix) - 1)
    return body + _luhn_digit(body)


def _sin(first: str) -> str:
    body = first + v("0123456789", 7)
    number = body + _luhn_digit(body)
    return f"{number[:3]} {number[3:6]} {number[6:]}"


def _spaced(card: str) -> str:
    return " ".join(card[i:i + 4] for i in range(0, len(card), 4))


# kind, detector, values, and the label a person would write before the value.
PERSONAL: list[tuple[str, str, list[str], str]] = [
    ("email", "email", ["maria.kowalski@northwind-traders.de", "j.okafor+orders@fabrikam.io"],
     "Contact"),
    ("obfuscated_email", "obfuscated_email", ["maria.kowalski [at] northwind-traders [dot] de",
                                              "j.okafor(at)fabrikam.io"], "Write to"),
    ("payment_card", "payment_card", [_spaced(_card("4", 16)), _card("51", 16), _card("37", 15)],
     "Card"),
    ("iban", "iban", [_iban("DE", "37040044" + v("0123456789", 10)),
                      _iban("GB", "NWBK601613" + v("0123456789", 8))], "IBAN"),
    ("us_ssn", "us_ssn", ["536-22-8742", "412-55-1337"], "SSN"),
    ("us_ssn_undashed", "us_ssn_undashed", ["536228742", "412 55 1337"], "SSN"),
    ("phone_number", "phone_number", ["+44 20 7946 0958", "(415) 555-0132", "+49 30 901820"],
     "Phone"),
    ("national_phone_number", "national_phone_number", ["030 90182033", "020 7946 0958",
                                                        "06 12 34 56 78"], "Tel"),
    ("uk_national_insurance", "uk_national_insurance", ["JG 10 37 52 A", "AB123456D"],
     "NI number"),
    ("spanish_dni", "spanish_dni", [_dni("12345678"), _dni("48273619")], "DNI"),
    ("brazil_cpf", "brazil_cpf", [_cpf("529982247"), _cpf("111444777")], "CPF"),
    ("dutch_bsn", "dutch_bsn", [_bsn("11122233"), _bsn("20481632")], "BSN"),
    ("canada_sin", "canada_sin", [_sin("1"), _sin("7")], "SIN"),
    ("france_nir", "france_nir", [_nir("1850378006084"), _nir("2690549588157")], "NIR"),
    ("india_pan", "india_pan", ["ABCPE1234F", "AAHFR9432K"], "PAN"),
    ("us_tax_id", "us_tax_id", ["12-3456789", "912-78-1234"], "EIN"),
    ("tax_id", "tax_id", ["65 929 970 489", "123/456/78901"], "Steuer-ID"),
    ("passport_number", "passport_number", ["X12345678", "LK1284937", "533380006"],
     "Passport number"),
    ("date_of_birth", "date_of_birth", ["1985-03-12", "12/03/1985", "12 March 1985"],
     "Date of birth"),
]
PERSONAL_CONTEXTS: list[tuple[str, str]] = [
    ("form", "Name: Maria Kowalski\n{label}: {v}\nNotes: prefers mornings"),
    ("prose", "Customer called again; {label} {v} per the ticket, please update the record."),
    ("csv", "id,name,{label_key},plan\n42,Maria Kowalski,{v},pro"),
    ("json", '{{"customer": 42, "{label_key}": "{v}", "tier": "pro"}}'),
    ("log", "2026-05-01 INFO updated profile user=42 {label_key}={v}"),
]

# Positional credentials: the position is the point, so each case is written out.
POSITIONAL: list[tuple[str, str, str]] = [
    ("secret_assignment", "php_define", "<?php\ndefine('DB_PASSWORD', 'Tr0ub4dor&3-prod');\n"),
    ("secret_assignment", "dict_index", "config[\"db_password\"] = \"Tr0ub4dor&3-prod\"\n"),
    ("secret_assignment", "environ_index", "os.environ['STRIPE_SECRET'] = 'q8Zt1LmW04pXv'\n"),
    ("secret_assignment", "ts_typed", "const apiKey: string = \"a9f3c2e1d4b5a6c7e8f9\";\n"),
    ("secret_assignment", "ado_net", "Server=db.internal;Database=orders;User Id=app;"
                                     "Password=Zq7!vR2#pL9x;"),
    ("secret_assignment", "ini", "[database]\nhost = db.internal\npassword = Zq7vR2pL9xW4\n"),
    ("secret_assignment", "toml", "[auth]\nclient_secret = \"8dJ2kQ9zLx1mN4vB7cR0\"\n"),
    ("secret_assignment", "properties", "spring.datasource.password=Zq7vR2pL9xW4Ab\n"),
    ("secret_assignment", "ruby_hash", "{ api_key: 'f0e1d2c3b4a5968778695a4b' }"),
    ("cli_password_flag", "long_flag", "psql-wrapper --host db --password Zq7vR2pL9xW4 orders"),
    ("cli_password_flag", "long_flag_equals", "vault login --token=s9Zq7vR2pL9xW4Ab3"),
    ("cli_password_flag", "api_key_flag", "deploy.sh --api-key 7f3a9c2e1b5d4a6f8e0c"),
    ("cli_short_password", "mysql_glued", "mysql -h db.internal -u root -pZq7vR2pL9x orders"),
    ("cli_short_password", "mysql_spaced", "mysqldump -u backup -p Zq7vR2pL9x --all-databases"),
    ("sshpass_password", "sshpass", "sshpass -p 'Zq7vR2pL9x' ssh deploy@10.0.0.5"),
    ("redis_cli_password", "redis_cli", "redis-cli -h cache.internal -a Zq7vR2pL9xW4 ping"),
    ("netrc_password", "netrc", "machine api.heroku.com\n  login ops@northwind.de\n"
                                "  password 9f8e7d6c-5b4a-3c2d-1e0f-abcdefabcdef\n"),
    ("netrc_password", "netrc_one_line", "machine git.internal login ci password Zq7vR2pL9xW4"),
    ("docker_auth", "docker_config", '{"auths": {"registry.internal": {"auth": '
                                     '"Y2k6WnE3dlIycEw5eFc0QWIz"}}}'),
    ("kubeconfig_secret", "kubeconfig_key", "users:\n- name: admin\n  user:\n"
                                            "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFUR"
                                            "SBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVB\n"),
    ("secret_assignment", "kubeconfig_token", "users:\n- name: ci\n  user:\n    token: "
                                              "kZ7w2Qp9Lx4Vb8Nc1Rt6Ym3Hs5Jd0Fg2Ke7Wq9Pz4Lx\n"),
    ("jdbc_credentials", "oracle_jdbc", "url=jdbc:oracle:thin:scott/Zq7vR2pL9x@db.internal:1521/"
                                        "ORCL"),
    ("url_credentials", "postgres_url", "DATABASE_URL=postgres://app:Zq7vR2pL9xW4@db.internal/x"),
    ("url_credentials", "amqp_url", "broker: amqp://orders:K9zLx1mN4v@mq.internal:5672/"),
    ("authorization_header", "basic_no_colon", "Authorization Basic b3BzOlpxN3ZSMnBMOXhXNA=="),
    ("authorization_header", "okta_ssws", "Authorization: SSWS 00QCjAl4MlV-WPXM-ABCDEFGHIJ"
                                          "KLMNOPQRST"),
    ("authorization_header", "discord_bot_header", "Authorization: Bot MTk4NjIyNDgzNDcxOTI1MjQ4"
                                                   ".Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"),
    ("authorization_header", "curl_header", "curl -H 'Authorization: Bearer 8f2a1c9e7b3d5f40a6c'"
                                            " https://api.internal/v1/orders"),
    ("api_key_header", "x_api_key", "curl -H \"X-API-Key: 3f9a2c7e1b8d4a6f0e5c\" https://x.io"),
    ("api_key_header", "gitlab_private_token", "PRIVATE-TOKEN: zK8q2Lp9Vx4Mb7Nc1Rt6"),
    ("putty_private_key", "putty",
     "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n"
     "AAAAC3NzaC1lZDI1NTE5AAAAIH\nPrivate-Lines: 1\nAAAAIJ8y0q3Zb7Kx2Lm4Np6Qr8St0Uv2Wx4Yz6Ab8Cd\n"),
    ("private_key_block", "openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA"
                                     "AAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"),
    ("private_key_block", "ec", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yBZ\n"
                                "-----END EC PRIVATE KEY-----"),
    ("private_key_block", "encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG"
                                       "9w0BBQ0wQTApBgkqhkiG9w0B\n-----END ENCRYPTED PRIVATE KEY"
                                       "-----"),
    ("private_key_block", "pgp", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF6yZ2cBCADVx7Lm\n"
                                 "-----END PGP PRIVATE KEY BLOCK-----"),
    ("private_key_block", "dsa", "-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQDV\n"
                                 "-----END DSA PRIVATE KEY-----"),
    ("private_key_block", "truncated_in_log", "loaded key: -----BEGIN RSA PRIVATE KEY-----\n"
                                              "MIIEowIBAAKCAQEA7bq0m"),
]

# Look-alikes that must not count: placeholders, documentation keys, truncated or masked values,
# reserved domains, well-known test numbers, and values with no context that would make them
# personal data.
NEGATIVES: list[tuple[str, str]] = [
    ("aws_example_key", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
    ("aws_example_secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("replace_me", "OPENAI_API_KEY=REPLACE_ME"),
    ("change_me", "POSTGRES_PASSWORD: changeme"),
    ("your_key_here", "api_key = \"your-api-key-here\""),
    ("angle_placeholder", "Authorization: Bearer <YOUR_TOKEN>"),
    ("template_var", "password: ${DB_PASSWORD}"),
    ("jinja_var", "token: {{ vault_token }}"),
    ("github_masked", "token ghp_************************************ was revoked"),
    ("github_truncated", "the token starts with ghp_abc… and ends with …xyz"),
    ("openai_truncated", "key sk-proj-abc... (truncated)"),
    ("stripe_masked", "stripe key sk_live_xxxxxxxxxxxxxxxxxxxxxxxx"),
    ("slack_example_webhook", "https://hooks.slack.com/services/T00000000/B00000000/"
                              "XXXXXXXXXXXXXXXXXXXXXXXX"),
    ("example_com_email", "Send it to jane.doe@example.com or ops@example.org"),
    ("test_tld_email", "the fixture user is alice@acme.test"),
    ("localhost_email", "root@localhost received the cron mail"),
    ("obfuscated_example", "write to jane [at] example [dot] com"),
    ("guest_url", "amqp://guest:guest@localhost:5672/"),
    ("same_user_password_url", "postgres://postgres:postgres@db:5432/app"),
    ("env_var_url", "redis://:${REDIS_PASSWORD}@cache:6379/0"),
    ("test_visa", "use the test card 4242 4242 4242 4242 with any future date"),
    ("test_visa_2", "Stripe test number 4111 1111 1111 1111"),
    ("test_mastercard", "card 5555555555554444 is Stripe's test Mastercard"),
    ("void_ssn", "the Woolworth wallet SSN 078-05-1120 was never valid"),
    ("ssn_sequence", "format: 123-45-6789"),
    ("uuid", "request id 3f2b1c9e-7d4a-4e8b-9c1d-2a3b4c5d6e7f failed"),
    ("git_sha", "fixed in commit 9fceb02d0ae598e95dc970b74767f19372d61af8"),
    ("sha256", "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("version", "upgraded from 1.24.3 to 1.25.0 on 2026-05-01"),
    ("date_no_context", "deployed on 1985-03-12 and again on 12/03/2026"),
    ("order_number", "order 4829-1734-2211 shipped"),
    ("passport_word_only", "bring your passport and a utility bill"),
    ("docker_port", "docker run -p 8080:80 nginx"),
    ("ssh_port", "ssh -p 2222 deploy@host"),
    ("mysql_prompt", "mysql -u root -p orders"),
    ("cli_env_password", "psql --password \"$PGPASSWORD\""),
    ("password_prompt", "--password is read from the PGPASSWORD variable"),
    ("base64_image", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlE"
                     "QVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
    ("password_policy", "Passwords must have at least 12 characters and one digit."),
    ("token_count", "max_tokens: 4096"),
    ("secret_ref", "client_secret = settings.oauth.client_secret"),
    ("kube_secret_ref", "valueFrom:\n  secretKeyRef:\n    name: api-token\n    key: token"),
    ("phone_like_ids", "tickets 2026-0501-0001 through 2026-0501-0042"),
    ("ip_address", "listen on 192.168.10.254:8443"),
    ("iban_invalid", "IBAN DE00 0000 0000 0000 0000 00 is the format"),
    ("nino_invalid_prefix", "NI numbers look like QQ 12 34 56 C? No: GB 12 34 56 A is invalid"),
    ("pan_format", "PAN format is five letters, four digits, one letter"),
    ("jwt_header_only", "the header decodes to eyJhbGciOiJIUzI1NiJ9 only"),
    ("key_id_only", "aws_access_key_id: ${AWS_ACCESS_KEY_ID}"),
    ("dummy_discord", "https://discord.com/api/webhooks/000000000000000000/"
                      "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    ("hex_color_list", "palette: #1f2937 #374151 #4b5563 #6b7280 #9ca3af"),
    ("lorem", "Lorem ipsum dolor sit amet, consectetur adipiscing elit."),
    ("sample_token", "token: sample-token-value"),
    ("insert_key", "INSERT_API_KEY_HERE"),
    ("placeholder_netrc", "machine api.example.com login you password <password>"),
    ("placeholder_header", "X-API-Key: YOUR_API_KEY_HERE"),
    ("redacted", "password=[REDACTED]"),
    # Found by sweeping real library source: names, types and calls, not credentials.
    ("kwarg_passthrough", "client = Client(api_key=api_key, timeout=timeout)"),
    ("attribute_copy", "        self._api_key = api_key"),
    ("constant_name", 'GRANT_TYPE_REFRESH_TOKEN = "refresh_token"'),
    ("env_var_name", 'ENV_API_KEY = "ANTHROPIC_API_KEY"'),
    ("style_table", 'Token.Keyword: "bold",\nToken.Comment: "italic #A3AAB2",'),
    ("typed_default", "client_secret: ClientSecret | NotGiven = NOT_GIVEN,"),
    ("type_annotation", "def __init__(self, workspace_secrets: WorkspaceSecretsResource):"),
    ("header_from_attribute", 'return {"api-key": self.api_key}'),
    ("float_digits", "array([1.230000071797338e+24, 4.18552478636557357])"),
    ("complex_numbers", "[0.        -0.70710678j, 0.        +0.70710678j]"),
    ("string_list", "names = ['PutScrapText', 'pwd', 'Quit', 'RatioFromNumber']"),
    ("env_lookup", 'api_key = secret_from_env("ANTHROPIC_API_KEY", default="")'),
    ("bracket_url_template", "rediss://[[username]:[password]]@localhost:6379/0"),
    ("format_template", 'log.info(f"token={token_id} expired")'),
]


def _token_cases() -> Iterator[Case]:
    for kind, detector, values, name in TOKENS:
        contexts = KEYED_CONTEXTS if name else PLAIN_CONTEXTS
        for i, value in enumerate(values):
            for context, template in contexts:
                text = template.format(v=value, name=name or "", name_lower=(name or "").lower())
                yield {"id": f"{kind}-{context}-{i}", "kind": kind, "class": "secret",
                       "expect": [detector], "text": text}
        # The same kind as a look-alike: a documentation placeholder of its shape.
        masked = values[0][: max(4, len(values[0]) // 4)] + "x" * 12
        yield {"id": f"{kind}-masked", "kind": f"{kind}-masked", "class": "negative",
               "text": f"{name or 'token'}: {masked}... (masked in the docs)"}


# Found only next to the words that name them: a CSV header is too far away.
CONTEXTUAL = {"us_ssn_undashed", "national_phone_number", "spanish_dni", "dutch_bsn",
              "canada_sin", "france_nir", "india_pan", "us_tax_id", "tax_id", "passport_number",
              "date_of_birth"}


def _personal_cases() -> Iterator[Case]:
    for kind, detector, values, label in PERSONAL:
        for i, value in enumerate(values):
            for context, template in PERSONAL_CONTEXTS:
                if context == "csv" and detector in CONTEXTUAL:
                    continue
                text = template.format(v=value, label=label,
                                       label_key=label.lower().replace(" ", "_"))
                yield {"id": f"{kind}-{context}-{i}", "kind": kind, "class": "pii",
                       "expect": [detector], "text": text}


def generated_cases() -> list[Case]:
    """Every generated case; ids are unique."""
    positional: Iterator[Case] = (
        {"id": f"position-{det}-{name}", "kind": det, "class": "secret", "expect": [det],
         "text": text}
        for det, name, text in POSITIONAL)
    negatives: Iterator[Case] = ({"id": f"lookalike-{name}", "kind": name, "class": "negative",
                                  "text": text} for name, text in NEGATIVES)
    makers: list[Callable[[], Iterator[Case]]] = [_token_cases, _personal_cases]
    return [c for make in makers for c in make()] + list(positional) + list(negatives)
