"""What infra/azure/*.bicep, local.settings.example.json and .funcignore promise about the
app settings the functions read.

The registry is ``functions/azure/settings.py``: APP_SETTINGS is every setting the Azure
functions use (binding expressions and connection names included), LOCAL_ONLY what only tests
and proxies set. No Bicep compiler runs here, so the Bicep is read as text: comments are blanked
(string contents kept), then blocks are cut out by their braces.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

from functions.azure.events import CATEGORIES
from functions.azure.settings import APP_SETTINGS, LOCAL_ONLY

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra" / "azure"
MAIN = INFRA / "main.bicep"
DIAGNOSTICS = INFRA / "endpoint-diagnostics.bicep"
WORKSPACE_READER = INFRA / "workspace-reader.bicep"
PARAMETERS_EXAMPLE = INFRA / "main.parameters.example.json"
LOCAL_SETTINGS = ROOT / "local.settings.example.json"
FUNCTION_APP = ROOT / "function_app.py"
AZURE_CODE = ROOT / "functions" / "azure"

#: Settings the Functions platform reads, not medic's code, and why each is set.
PLATFORM_SETTINGS: dict[str, str] = {
    "AzureWebJobsStorage": "host storage (timer locks, Event Hubs checkpoints) as a connection "
    "string, locally (Azurite); medic's azuretable:// state store reads it too",
    "AzureWebJobsStorage__accountName": "identity-based host storage in Azure, with the app's "
    "system-assigned identity; medic's azuretable:// state store reads it too",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "the host sends logs and traces to Application "
    "Insights",
    "FUNCTIONS_WORKER_RUNTIME": "Core Tools picks the Python worker locally (on Flex Consumption "
    "the runtime is set in functionAppConfig instead)",
}
#: Families of platform settings, by prefix.
PLATFORM_PREFIXES: dict[str, str] = {
    "AzureWebJobs": "host settings, e.g. AzureWebJobs.<function>.Disabled",
    "FUNCTIONS_": "Functions runtime settings",
    "WEBSITE_": "App Service platform settings",
}
#: Rejected or ignored on Flex Consumption: the runtime is set in functionAppConfig, the
#: package comes from the deployment container.
FLEX_RETIRED = (
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
)
#: Settings that hold credentials: only ever Key Vault references in Azure.
SECRET_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_WEBHOOK_URL",
    "TEAMS_WEBHOOK_URL",
)
#: The built-in roles the app's identity gets, by definition id (the same in every tenant).
BUILT_IN_ROLES: dict[str, str] = {
    "a638d3c7-ab3a-418d-83e6-5f17a39d4fde": "Azure Event Hubs Data Receiver",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "73c42c96-874c-492b-b04d-ab87d138a893": "Log Analytics Reader",
}
#: The roles the app's identity needs on its own storage account, as named in main.bicep's
#: ``roles``: the host's blobs (and the deployment package), medic's state table. The Event
#: Hubs and timer triggers need no queue role.
STORAGE_ROLES = ("roles.storageBlobDataOwner", "roles.storageTableDataContributor")
KEY_VAULT_REFERENCE = "@Microsoft.KeyVault(SecretUri="


# --- reading Bicep as text ----------------------------------------------------------------------


def code_only(text: str) -> str:
    """``text`` with its ``//`` and ``/* */`` comments blanked; strings (and the expressions
    interpolated into them) are kept, so a URL's ``//`` is not taken for a comment."""
    out: list[str] = []
    modes = ["code"]  # "code", "string" or "interp"
    depths: list[int] = []  # brace depth inside each open interpolation
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if modes[-1] == "string":
            if char == "\\":
                out.append(text[i : i + 2])
                i += 2
                continue
            if text.startswith("${", i):
                modes.append("interp")
                depths.append(0)
                out.append("${")
                i += 2
                continue
            if char == "'":
                modes.pop()
            out.append(char)
            i += 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        if char == "'":
            modes.append("string")
        elif modes[-1] == "interp" and char == "{":
            depths[-1] += 1
        elif modes[-1] == "interp" and char == "}":
            if depths[-1] == 0:
                modes.pop()
                depths.pop()
            else:
                depths[-1] -= 1
        out.append(char)
        i += 1
    return "".join(out)


def braced(text: str, start: int) -> str:
    """The ``{...}`` block that opens at the first brace at or after ``start``, braces included."""
    opening = text.index("{", start)
    depth = 0
    for index in range(opening, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[opening : index + 1]
    raise AssertionError(f"unbalanced braces from offset {opening}")


def resources(text: str, type_name: str) -> dict[str, str]:
    """Symbolic name → body of every ``resource`` of ``type_name`` (any API version)."""
    pattern = re.compile(
        rf"^resource\s+(\w+)\s+'{re.escape(type_name)}@[\w-]+'(?:\s+existing)?\s*=", re.MULTILINE
    )
    return {m.group(1): braced(text, m.end()) for m in pattern.finditer(text)}


def entries(block: str) -> dict[str, str]:
    """The top-level ``name: value`` entries of an object block (values as source text)."""
    found: dict[str, str] = {}
    depth = 0
    for line in block.strip()[1:-1].splitlines():
        stripped = line.strip()
        if depth == 0:
            match = re.match(r"^([A-Za-z_][\w.]*)\s*:\s*(.*)$", stripped)
            if match:
                found[match.group(1)] = match.group(2)
        depth += (
            stripped.count("{") + stripped.count("[") - stripped.count("}") - stripped.count("]")
        )
    return found


def property_block(body: str, name: str) -> str:
    match = re.search(rf"^\s*{name}\s*:\s*\{{", body, re.MULTILINE)
    assert match, f"no {name}: {{...}} block"
    return braced(body, match.start())


MAIN_TEXT = code_only(MAIN.read_text())


def app_settings() -> dict[str, str]:
    """The settings main.bicep gives the function app: the ``appsettings`` config resource."""
    configs = resources(MAIN_TEXT, "Microsoft.Web/sites/config")
    [body] = [b for b in configs.values() if re.search(r"name:\s*'appsettings'", b)]
    return entries(property_block(body, "properties"))


def base_name(setting: str) -> str:
    """``MEDIC_EVENTHUB__fullyQualifiedNamespace`` → ``MEDIC_EVENTHUB``: a connection's parts."""
    return setting.split("__", 1)[0]


def platform_reason(setting: str) -> str | None:
    if setting in PLATFORM_SETTINGS:
        return PLATFORM_SETTINGS[setting]
    for prefix, reason in PLATFORM_PREFIXES.items():
        if setting.startswith(prefix):
            return reason
    return None


def secure_params(text: str) -> list[str]:
    return re.findall(r"@secure\(\)\s*\n\s*param\s+(\w+)", text)


# --- the Bicep against the registry -----------------------------------------------------------


def test_every_registered_setting_is_set_on_the_function_app() -> None:
    set_by_bicep = {base_name(name) for name in app_settings()}
    assert set(APP_SETTINGS) - set_by_bicep == set()


def test_the_bicep_sets_no_setting_that_nothing_reads() -> None:
    unexplained = [
        name
        for name in app_settings()
        if base_name(name) not in APP_SETTINGS and platform_reason(name) is None
    ]
    assert unexplained == []


def test_settings_meant_for_tests_are_not_deployed() -> None:
    assert {base_name(name) for name in app_settings()} & set(LOCAL_ONLY) == set()


def test_no_setting_flex_consumption_rejects() -> None:
    assert [name for name in app_settings() if name in FLEX_RETIRED] == []


def test_the_app_is_flex_consumption_linux_python_311_with_its_own_identity() -> None:
    [plan] = resources(MAIN_TEXT, "Microsoft.Web/serverfarms").values()
    assert re.search(r"tier:\s*'FlexConsumption'", plan) and re.search(r"name:\s*'FC1'", plan)
    assert re.search(r"reserved:\s*true", plan)
    [site] = resources(MAIN_TEXT, "Microsoft.Web/sites").values()
    assert re.search(r"kind:\s*'functionapp,linux'", site)
    assert re.search(r"identity:\s*\{\s*type:\s*'SystemAssigned'\s*\}", site)
    runtime = entries(property_block(site, "runtime"))
    assert runtime == {"name": "'python'", "version": "'3.11'"}
    storage = property_block(property_block(site, "deployment"), "storage")
    assert "'blobContainer'" in storage and "'SystemAssignedIdentity'" in storage


def test_event_hubs_connection_uses_the_app_identity() -> None:
    settings = app_settings()
    assert "MEDIC_EVENTHUB__fullyQualifiedNamespace" in settings
    assert "MEDIC_EVENTHUB" not in settings  # a connection string would win over the identity
    assignments = resources(MAIN_TEXT, "Microsoft.Authorization/roleAssignments").values()
    receiver = [body for body in assignments if "roles.eventHubsDataReceiver" in body]
    assert receiver and all(re.search(r"scope:\s*eventHub\b", body) for body in receiver)
    assert "'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'" in MAIN_TEXT


def test_host_storage_uses_the_app_identity() -> None:
    settings = app_settings()
    assert settings["AzureWebJobsStorage__accountName"] == "storage.name"
    # A connection string would win over the identity; a credential setting would ask for a
    # user-assigned identity, and the app has only its system-assigned one.
    assert "AzureWebJobsStorage" not in settings
    assert [name for name in settings if name.startswith("AzureWebJobsStorage__")] == [
        "AzureWebJobsStorage__accountName"
    ]


def test_no_storage_key_appears_anywhere() -> None:
    for path in sorted(INFRA.glob("*.bicep")):
        text = code_only(path.read_text())
        for sign in (
            "listKeys(",
            "listAccountSas(",
            "listServiceSas(",
            "AccountKey=",
            "SharedAccessSignature=",
        ):
            assert sign not in text, f"{path.name} uses a storage key ({sign})"
    [storage] = resources(MAIN_TEXT, "Microsoft.Storage/storageAccounts").values()
    assert re.search(r"allowSharedKeyAccess:\s*false", storage)
    secrets = resources(MAIN_TEXT, "Microsoft.KeyVault/vaults/secrets").values()
    assert not any("storage" in body.lower() for body in secrets)


def test_the_app_identity_has_the_storage_roles_host_storage_needs() -> None:
    assignments = resources(MAIN_TEXT, "Microsoft.Authorization/roleAssignments")
    on_storage = {
        name: body
        for name, body in assignments.items()
        if re.search(r"scope:\s*storage\s*$", body, re.MULTILINE)
    }
    granted = sorted(
        role for body in on_storage.values() for role in re.findall(r"roles\.\w+", body)
    )
    # Each role twice: in the assignment's name and in its definition id.
    assert granted == sorted(2 * STORAGE_ROLES)
    for body in on_storage.values():
        assert re.search(r"principalId:\s*functionApp\.identity\.principalId", body)
        assert re.search(r"principalType:\s*'ServicePrincipal'", body)
    # The host starts only once it may use its storage, and the deployment package comes
    # from the same account with the same identity.
    configs = resources(MAIN_TEXT, "Microsoft.Web/sites/config")
    [settings] = [b for b in configs.values() if re.search(r"name:\s*'appsettings'", b)]
    depends = re.search(r"dependsOn:\s*\[([^\]]*)\]", settings)
    assert depends and set(on_storage) <= set(depends.group(1).split())
    [site] = resources(MAIN_TEXT, "Microsoft.Web/sites").values()
    storage = property_block(property_block(site, "deployment"), "storage")
    assert "'SystemAssignedIdentity'" in storage and "storage.properties" in storage


def test_secrets_reach_the_app_only_as_key_vault_references() -> None:
    settings = app_settings()
    for name in SECRET_SETTINGS:
        assert KEY_VAULT_REFERENCE in settings[name], name
    vault = resources(MAIN_TEXT, "Microsoft.KeyVault/vaults")
    assert all(re.search(r"enableRbacAuthorization:\s*true", body) for body in vault.values())


def test_secure_parameters_go_nowhere_but_into_key_vault_secrets() -> None:
    params = secure_params(MAIN_TEXT)
    assert {"slackBotToken", "slackWebhookUrl", "teamsWebhookUrl"} <= set(params)
    secret_bodies = resources(MAIN_TEXT, "Microsoft.KeyVault/vaults/secrets").values()
    for param in params:
        # References to the parameter itself; not object keys or properties of the same name.
        uses = len(re.findall(rf"(?<![.\w]){param}\b", MAIN_TEXT)) - len(
            re.findall(rf"^\s*{param}\s*:", MAIN_TEXT, re.MULTILINE)
        )
        declared = len(re.findall(rf"\bparam\s+{param}\b", MAIN_TEXT))
        tested = len(re.findall(rf"\bempty\({param}\)", MAIN_TEXT))
        stored = sum(
            len(re.findall(rf"^\s*value:\s*{param}\s*$", body, re.MULTILINE))
            for body in secret_bodies
        )
        assert stored == 1, param
        assert uses == declared + tested + stored, f"{param} is used outside Key Vault"


def test_role_assignments_use_the_built_in_role_ids() -> None:
    text = MAIN_TEXT + code_only(WORKSPACE_READER.read_text())
    role_ids = set(
        re.findall(r"'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'", text)
    )
    assert role_ids == set(BUILT_IN_ROLES)
    assert "subscriptionResourceId('Microsoft.Authorization/roleDefinitions'" in text


def test_polling_is_off_without_a_workspace() -> None:
    workspace_id = app_settings()["MEDIC_WORKSPACE_ID"]
    assert re.fullmatch(r"hasWorkspace \? workspaceReader\.outputs\.customerId : ''", workspace_id)
    assert re.search(
        r"^module\s+workspaceReader\s+'[^']+'\s*=\s*if\s*\(hasWorkspace\)", MAIN_TEXT, re.MULTILINE
    )
    assert re.search(r"var hasWorkspace = !empty\(logAnalyticsWorkspaceResourceId\)", MAIN_TEXT)


def test_diagnostic_settings_stream_exactly_the_three_endpoint_categories() -> None:
    text = code_only(DIAGNOSTICS.read_text())
    [setting] = resources(text, "Microsoft.Insights/diagnosticSettings").values()
    categories = re.findall(r"category:\s*'([^']+)'", setting)
    assert sorted(categories) == sorted(CATEGORIES)
    assert len(re.findall(r"enabled:\s*true", setting)) == len(CATEGORIES)
    assert "categoryGroup" not in setting and "metrics" not in setting
    assert re.search(r"scope:\s*endpoint\b", setting)
    [endpoint] = resources(
        text, "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
    ).values()
    assert endpoint  # an existing endpoint, looked up in its workspace


def test_diagnostic_settings_send_with_a_send_only_rule_to_the_hub() -> None:
    [rule] = resources(MAIN_TEXT, "Microsoft.EventHub/namespaces/authorizationRules").values()
    assert re.findall(r"'(\w+)'", property_block(rule, "properties")) == ["Send"]
    module = re.search(
        r"^module\s+\w+\s+'endpoint-diagnostics\.bicep'\s*=", MAIN_TEXT, re.MULTILINE
    )
    assert module, "main.bicep does not deploy endpoint-diagnostics.bicep"
    params = entries(property_block(MAIN_TEXT[module.start() :], "params"))
    assert params["eventHubAuthorizationRuleId"] == "diagnosticsSendRule.id"
    assert params["eventHubName"] == "eventHub.name"


def test_parameters_example_names_real_parameters_and_holds_no_secret() -> None:
    example: dict[str, Any] = json.loads(PARAMETERS_EXAMPLE.read_text())
    assert example["$schema"].endswith("deploymentParameters.json#")
    declared = dict(re.findall(r"^param\s+(\w+)\s+([^\n]*)$", MAIN_TEXT, re.MULTILINE))
    given = example["parameters"]
    assert set(given) - set(declared) == set()
    required = {name for name, rest in declared.items() if "=" not in rest}
    assert required - set(given) == set()
    for name in secure_params(MAIN_TEXT):
        assert given.get(name, {}).get("value", "") == "", name


# --- the code against the registry -----------------------------------------------------------


def azure_sources() -> list[Path]:
    """function_app.py and the Azure functions package, whichever exist yet."""
    files = sorted(AZURE_CODE.glob("*.py"))
    return [FUNCTION_APP, *files] if FUNCTION_APP.exists() else files


#: A keyword argument whose whole value is a binding expression: schedule="%MEDIC_POLL_SCHEDULE%".
BINDING = re.compile(r"""\b\w+\s*=\s*["']%([A-Za-z_][A-Za-z0-9_]*)%["']""")
#: The app setting a trigger connects with: connection="MEDIC_EVENTHUB".
CONNECTION = re.compile(r"""\bconnection\s*=\s*["']([^"']+)["']""")
#: A literal read of the environment: os.environ["X"], os.getenv("X"), env.get("X").
ENV_READ = re.compile(
    r"""\b(?:environ|env|getenv)\s*(?:\.get\s*)?[(\[]\s*["']([A-Za-z_][A-Za-z0-9_]*)["']"""
)


def test_binding_expressions_and_connections_are_registered() -> None:
    named: dict[str, set[str]] = {}
    for path in azure_sources():
        text = path.read_text()
        for name in BINDING.findall(text) + CONNECTION.findall(text):
            named.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    if FUNCTION_APP.exists():
        assert named, "function_app.py exists but no binding names an app setting"
    unregistered = {name: where for name, where in named.items() if name not in APP_SETTINGS}
    assert unregistered == {}


def test_the_functions_read_only_registered_settings() -> None:
    known = set(APP_SETTINGS) | set(LOCAL_ONLY)
    read: dict[str, set[str]] = {}
    for path in azure_sources():
        for name in ENV_READ.findall(path.read_text()):
            read.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    assert {name: where for name, where in read.items() if name not in known} == {}


def test_the_scanners_see_what_they_look_for() -> None:
    sample = (
        '@bp.timer_trigger(arg_name="t", schedule="%MEDIC_X%")\n'
        '@bp.event_hub_message_trigger(connection="MEDIC_Y", event_hub_name="%MEDIC_Z%")\n'
        'when = now.strftime(format="%Y-%m-%dT%H:%M")\n'
        'a = os.environ["A"]; b = os.environ.get("B"); c = os.getenv("C"); d = env.get("D")\n'
    )
    assert BINDING.findall(sample) == ["MEDIC_X", "MEDIC_Z"]
    assert CONNECTION.findall(sample) == ["MEDIC_Y"]
    assert ENV_READ.findall(sample) == ["A", "B", "C", "D"]


# --- local settings --------------------------------------------------------------------------


def test_local_settings_example_runs_locally_with_every_setting_named() -> None:
    local: dict[str, Any] = json.loads(LOCAL_SETTINGS.read_text())
    assert local["IsEncrypted"] is False
    values: dict[str, Any] = local["Values"]
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["MEDIC_STATE"] == "memory"
    assert set(APP_SETTINGS) - set(values) == set()
    assert [
        n for n in values if base_name(n) not in APP_SETTINGS and platform_reason(n) is None
    ] == []
    assert all(isinstance(value, str) for value in values.values())
    assert [name for name in SECRET_SETTINGS if name in APP_SETTINGS and values[name]] == []


# --- what gets published ---------------------------------------------------------------------


def patterns(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(path: str, rules: list[str]) -> bool:
    """Whether a gitignore-style rule list (.funcignore uses the syntax) leaves ``path`` out:
    a rule without an inner slash matches any one path segment, one with a slash the path from
    the root; a trailing slash matches directories only; the last matching rule wins."""
    parts = path.split("/")
    verdict = False
    for rule in rules:
        negated = rule.startswith("!")
        pattern = rule.removeprefix("!")
        directories_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        anchored = "/" in pattern
        pattern = pattern.lstrip("/")
        for depth in range(1, len(parts) + 1):
            if directories_only and depth == len(parts):
                continue
            candidate = "/".join(parts[:depth]) if anchored else parts[depth - 1]
            if fnmatch.fnmatchcase(candidate, pattern):
                verdict = not negated
                break
    return verdict


def test_funcignore_ships_only_what_runs() -> None:
    rules = patterns(ROOT / ".funcignore")
    for path in (
        "tests/azure/test_infra.py",
        "tests/events/azure/eventhub_console_traceback.json",
        ".venv/lib/python3.11/site-packages/x.py",
        ".venv-tools/bin/sam",
        "infra/azure/main.bicep",
        "benchmarks/__main__.py",
        "docs/config.md",
        "template.yaml",
        ".aws-sam/build/template.yaml",
        "node_modules/azurite/package.json",
        "shared/__pycache__/model.cpython-311.pyc",
        "local.settings.json",
    ):
        assert ignored(path, rules), f"{path} would be published"
    for path in (
        "function_app.py",
        "host.json",
        "requirements.txt",
        "shared/model.py",
        "shared/rules/python.yaml",
        "functions/azure/eventhub.py",
        "functions/__init__.py",
    ):
        assert not ignored(path, rules), f"{path} would be left out"


def test_the_ignore_matcher_follows_gitignore_rules() -> None:
    assert ignored("a/tests/x.py", ["tests/"]) and not ignored("tests", ["tests/"])
    assert ignored("infra/azure/x", ["/infra"]) and not ignored("x/infra/y", ["/infra"])
    assert not ignored("keep.py", ["*.py", "!keep.py"])


def test_local_settings_stay_out_of_git() -> None:
    assert ignored("local.settings.json", patterns(ROOT / ".gitignore"))
    assert not ignored("local.settings.example.json", patterns(ROOT / ".gitignore"))
