"""Provider tokens: credentials recognisable by their own shape (a prefix, a fixed layout).

Formats follow the providers' documentation and the rule lists of established secret scanners
(cloud, source hosting, chat platforms, payment, AI, push, observability, secret managers).
"""

from __future__ import annotations

from hybridcrew.routing.privacy.patterns import TOKEN_TAIL, Detector, keyed, not_placeholder, token

_CLOUD = (
    token("aws_access_key_id", r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}"),
    # An AWS secret access key has no shape of its own: secret_assignment finds it by its name.
    token("google_api_key", r"AIza[0-9A-Za-z_\-]{35}"),
    token("google_oauth_secret", r"GOCSPX-[A-Za-z0-9_\-]{28}"),
    Detector("gcp_service_account_key",
             r"\"private_key_id\"\s*:\s*\"(?P<key>[a-f0-9]{40})\"", group="key",
             word_start=False, validate=not_placeholder),
    Detector("azure_storage_key", r"(?i)accountkey=(?P<key>[A-Za-z0-9+/]{40,}={0,2})",
             group="key", word_start=False, validate=not_placeholder),
    Detector("azure_shared_access_key",
             r"(?i)sharedaccesskey=(?P<key>[A-Za-z0-9+/]{40,}={0,2})", group="key",
             word_start=False, validate=not_placeholder),
    Detector("azure_sas_token", r"(?i)[?&]sig=(?P<key>[A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})",
             group="key", word_start=False, validate=not_placeholder),
    Detector("azure_ad_client_secret",
             r"(?P<key>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})", group="key",
             tail=TOKEN_TAIL + "~.", validate=not_placeholder, anchor=r"\dQ~"),
    token("alibaba_access_key_id", r"LTAI[A-Za-z0-9]{20}"),
    token("digitalocean_token", r"do[opr]_v1_[a-f0-9]{64}"),
    token("databricks_token", r"dapi[a-f0-9]{32}(?:-\d)?"),
    token("heroku_api_key", r"HRKU-[A-Za-z0-9_\-]{60}"),
    token("doppler_token", r"dp\.(?:st|ct|sa|scim|audit|pt)\.(?:[a-z0-9_\-]{2,35}\.)?"
          r"[A-Za-z0-9]{40,44}"),
    token("pulumi_token", r"pul-[a-f0-9]{40}"),
    Detector("terraform_cloud_token", r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,70}",
             tail=TOKEN_TAIL, validate=not_placeholder, anchor=r"\.atlasv1\."),
)
_CODE = (
    token("github_token", r"gh[pousr]_[A-Za-z0-9]{36,255}"),
    token("github_fine_grained_token", r"github_pat_[A-Za-z0-9_]{60,}"),
    token("gitlab_token", r"gl(?:pat|dt|rt|ptt|cbt|imt|ft|soat)-[A-Za-z0-9_\-]{20,}"),
    token("bitbucket_app_password", r"ATBB[A-Za-z0-9_=.\-]{28,}"),
    token("atlassian_api_token", r"ATATT3[A-Za-z0-9_\-=]{150,}"),
    token("npm_token", r"npm_[A-Za-z0-9]{36}"),
    token("pypi_token", r"pypi-AgE[A-Za-z0-9_\-]{50,}"),
    token("rubygems_api_key", r"rubygems_[a-f0-9]{48}"),
    token("nuget_api_key", r"oy2[a-z0-9]{43}"),
    token("docker_hub_token", r"dckr_pat_[A-Za-z0-9_\-]{27,}"),
    token("artifactory_api_key", r"AKCp[A-Za-z0-9]{69}"),
    token("sonarqube_token", r"sq[apu]_[a-f0-9]{40}"),
    token("postman_api_key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}"),
    token("linear_api_key", r"lin_api_[A-Za-z0-9]{40}"),
)
_CHAT = (
    token("slack_token", r"xox[abposre]-[A-Za-z0-9\-]{10,}"),
    token("slack_app_token", r"xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{32,}"),
    Detector("slack_webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/"
             r"[A-Za-z0-9/_\-]{20,}", word_start=False, validate=not_placeholder),
    Detector("discord_webhook", r"discord(?:app)?\.com/api/webhooks/\d{17,20}/"
             r"[A-Za-z0-9_\-]{60,}", word_start=False, validate=not_placeholder),
    Detector("discord_bot_token",
             r"[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}",
             tail=TOKEN_TAIL, validate=not_placeholder,
             anchor=r"\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27}"),
    Detector("telegram_bot_token", r"(?P<key>\d{8,10}:AA[A-Za-z0-9_\-]{33})", group="key",
             tail=TOKEN_TAIL, validate=not_placeholder, anchor=r"\d:AA[A-Za-z0-9_\-]"),
    Detector("teams_webhook", r"\.webhook\.office\.com/webhookb2/[A-Za-z0-9@\-]{36,}/"
             r"IncomingWebhook/[a-f0-9]{32}/[A-Za-z0-9\-]{36}", word_start=False,
             validate=not_placeholder),
    Detector("google_chat_webhook", r"chat\.googleapis\.com/v1/spaces/[A-Za-z0-9_\-]+/"
             r"messages\?key=[A-Za-z0-9_\-]+&token=[A-Za-z0-9_\-%=]{20,}", word_start=False,
             validate=not_placeholder),
    token("twilio_api_key", r"SK[0-9a-f]{32}"),
    token("sendgrid_api_key", r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"),
    token("mailgun_api_key", r"key-[0-9a-f]{32}"),
    Detector("mailchimp_api_key", r"[0-9a-f]{32}-us\d{1,2}", tail=TOKEN_TAIL,
             validate=not_placeholder, anchor=r"[0-9a-f]-us\d"),
)
_COMMERCE_AND_AI = (
    token("stripe_key", r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    token("stripe_webhook_secret", r"whsec_[A-Za-z0-9]{32,}"),
    token("square_token", r"(?:EAAA|sq0atp-|sq0csp-)[A-Za-z0-9_\-]{22,60}"),
    token("shopify_token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"),
    token("paypal_braintree_token", r"access_token\$production\$[a-z0-9]{16}\$[a-f0-9]{32}"),
    token("anthropic_api_key", r"sk-ant-(?:api|admin|oat)\d{2}-[A-Za-z0-9_\-]{32,}"),
    token("openai_api_key", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{32,}"),
    token("huggingface_token", r"hf_[A-Za-z0-9]{30,}"),
    token("groq_api_key", r"gsk_[A-Za-z0-9]{52}"),
    token("replicate_token", r"r8_[A-Za-z0-9]{37}"),
    token("perplexity_api_key", r"pplx-[A-Za-z0-9]{48}"),
)
_PUSH_AND_OBSERVABILITY = (
    token("firebase_cloud_messaging_key", r"AAAA[A-Za-z0-9_\-]{7}:APA91b[A-Za-z0-9_\-]{100,}"),
    token("expo_access_token", r"ExponentPushToken\[[A-Za-z0-9_\-]{20,}\]"),
    keyed("pushbullet_token", "pushbullet", r"o\.[A-Za-z0-9]{32}"),
    keyed("pushover_token", "pushover", r"[a-z0-9]{30}"),
    keyed("onesignal_api_key", "onesignal", r"(?:os_v2_app_)?[A-Za-z0-9]{48,}"),
    token("new_relic_key", r"NR(?:AK|II|JS|AA)-[A-Za-z0-9]{19,32}"),
    keyed("datadog_api_key", r"(?:datadog|\bdd)_?(?:api|app)?_?key", r"[a-f0-9]{32,40}"),
    Detector("sentry_dsn", r"https://(?P<key>[a-f0-9]{32})@[a-z0-9.\-]*sentry\.io/\d+",
             group="key", word_start=False, validate=not_placeholder),
    token("sentry_auth_token", r"sntry[su]_[A-Za-z0-9+/=_\-]{40,}"),
    token("grafana_token", r"gl(?:c|sa)_[A-Za-z0-9+/=_\-]{32,}"),
    token("dynatrace_token", r"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}"),
    keyed("honeycomb_api_key", "honeycomb", r"[A-Za-z0-9]{22,32}"),
    keyed("splunk_hec_token", r"splunk(?:_hec)?", r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-"
          r"[a-f0-9]{4}-[a-f0-9]{12}"),
)
_VAULTS = (
    token("vault_token", r"hv[sbr]\.[A-Za-z0-9_\-]{24,}"),
    keyed("vault_legacy_token", r"vault_?token", r"s\.[A-Za-z0-9]{24}"),
    token("age_secret_key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    token("onepassword_token", r"ops_eyJ[A-Za-z0-9+/]{100,}={0,3}"),
    token("infisical_token", r"st\.[a-f0-9\-]{36}\.[a-f0-9]{32}\.[a-f0-9]{32}"),
)

TOKEN_DETECTORS: tuple[Detector, ...] = (*_CLOUD, *_CODE, *_CHAT, *_COMMERCE_AND_AI,
                                         *_PUSH_AND_OBSERVABILITY, *_VAULTS)
