"""The Azure Table Storage store against Azurite: what Table Storage makes specific (key
characters, property and transaction sizes, no TTL, ETags), the ``azuretable://`` URL and the
two ways of reaching the account: a connection string, or an identity (Azurite over HTTPS with
OAuth, and a local stand-in for the App Service managed identity endpoint)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.data.tables import TableClient, TableServiceClient
from azure.identity import DefaultAzureCredential
from pytest_httpserver import HTTPServer

from shared.state import azuretable
from shared.state.azuretable import (
    ACCOUNT_ENV,
    CONNECTION_ENV,
    TABLE_URI_ENV,
    AzureTableStore,
    row_key,
)
from shared.state.factory import StateConfigError, open_store
from tests.azure.managed_identity import ManagedIdentity
from tests.azurite import ACCOUNT, Azurite, AzuriteError, start_azurite
from tests.faults.proxy import Fault, FaultProxy, Request

LATER = datetime.now(UTC) + timedelta(days=1)
PAST = datetime.now(UTC) - timedelta(minutes=1)


@pytest.fixture
def table(azurite: Azurite) -> TableClient:
    """A fresh table of its own for each test."""
    return azurite.table()


@pytest.fixture
def store(table: TableClient) -> AzureTableStore:
    return AzureTableStore(table.table_name, table)


def test_any_key_is_stored_under_a_valid_row_key(
    store: AzureTableStore, table: TableClient
) -> None:
    keys = ["a/b", "x#y?z", "back\\slash", "tab\tand\nnewline", "quote'd", "ü/日本", "k" * 5000]
    for n, key in enumerate(keys):
        assert store.put(key, {"n": n}, None, pending=True, expires=LATER)
    for n, key in enumerate(keys):
        stored = store.get(key)
        assert stored is not None and stored.value == {"n": n}
    assert sorted(store.pending()) == sorted(keys)
    rows = [e["RowKey"] for e in table.list_entities()]
    assert len(rows) == len(keys) and all(re.fullmatch(r"[0-9a-f]{64}", r) for r in rows)


def test_a_body_over_the_property_limit_is_split_and_joined(
    store: AzureTableStore, table: TableClient
) -> None:
    big = {"lines": [f"line {n}: CUDA out of memory — 😱 {'x' * 90}" for n in range(1200)]}
    assert store.put("big", big, None, pending=False, expires=LATER)
    stored = store.get("big")
    assert stored is not None and stored.value == big
    raw = table.get_entity("problem", row_key("big"))
    parts = [name for name in raw if name.startswith("body")]
    assert "body" not in raw and len(parts) > 3  # over 100 KB: several 64 KiB properties

    # Replacing it with a small body leaves no stale parts behind.
    assert store.put("big", {"n": 1}, stored.version, pending=False, expires=LATER)
    again = store.get("big")
    assert again is not None and again.value == {"n": 1}
    raw = table.get_entity("problem", row_key("big"))
    assert [name for name in raw if name.startswith("body")] == ["body"]


def test_a_body_over_the_entity_limit_is_refused_clearly(store: AzureTableStore) -> None:
    with pytest.raises(ValueError, match="a table entity holds at most"):
        store.put("huge", {"x": "y" * 600_000}, None, pending=False, expires=LATER)
    assert store.get("huge") is None


def test_many_event_ids_are_remembered_and_seen(store: AzureTableStore) -> None:
    live = [f"event/{n}#" for n in range(250)]  # over 100 per transaction, 14 per query
    gone = [f"old-{n}" for n in range(30)]
    store.remember([*live[:10], *live], LATER)  # repeats in one call are written once
    store.remember(gone, PAST)
    unknown = [f"new-{n}" for n in range(40)]
    assert store.seen([*live, *gone, *unknown]) == set(live)
    assert store.seen(live[:3]) == set(live[:3])
    assert store.seen([]) == set()


def test_sweep_deletes_expired_rows_and_keeps_live_ones(
    store: AzureTableStore, table: TableClient
) -> None:
    store.put("live", {"n": 1}, None, pending=True, expires=LATER)
    store.put("dead", {"n": 2}, None, pending=True, expires=PAST)
    store.remember([f"live-{n}" for n in range(5)], LATER)
    store.remember([f"dead-{n}" for n in range(130)], PAST)  # more than one transaction

    assert store.sweep() == 131
    assert sorted(e["key"] for e in table.list_entities()) == sorted(
        ["live", *(f"live-{n}" for n in range(5))]
    )
    assert store.pending() == ["live"]
    assert store.seen(["live-0", "dead-0"]) == {"live-0"}
    assert store.sweep() == 0
    assert store.sweep(now=LATER + timedelta(seconds=1)) == 6
    assert list(table.list_entities()) == []


def test_a_stale_etag_loses(store: AzureTableStore, azurite: Azurite, table: TableClient) -> None:
    other = AzureTableStore(
        table.table_name,
        TableClient.from_connection_string(azurite.connection_string, table.table_name),
    )
    assert store.put("k", {"n": 1}, None, pending=False, expires=LATER)
    mine, theirs = store.get("k"), other.get("k")
    assert mine is not None and theirs is not None and mine.version == theirs.version
    assert other.put("k", {"n": 2}, theirs.version, pending=True, expires=LATER)
    assert not store.put("k", {"n": 3}, mine.version, pending=False, expires=LATER)
    now = store.get("k")
    assert now is not None and now.value == {"n": 2} and now.version != mine.version


def test_a_record_deleted_meanwhile_loses_and_is_created_again(
    store: AzureTableStore, table: TableClient
) -> None:
    assert store.put("k", {"n": 1}, None, pending=False, expires=LATER)
    held = store.get("k")
    assert held is not None
    table.delete_entity("problem", row_key("k"))  # as the sweep does once it has expired
    assert not store.put("k", {"n": 2}, held.version, pending=False, expires=LATER)
    assert store.get("k") is None
    assert store.put("k", {"n": 3}, None, pending=False, expires=LATER)
    stored = store.get("k")
    assert stored is not None and stored.value == {"n": 3}


def test_an_expired_record_is_taken_over_once(store: AzureTableStore, azurite: Azurite) -> None:
    other = AzureTableStore(
        store.table, TableClient.from_connection_string(azurite.connection_string, store.table)
    )
    assert store.put("k", {"n": 1}, None, pending=True, expires=PAST)
    assert other.put("k", {"n": 2}, None, pending=False, expires=LATER)
    assert not store.put("k", {"n": 3}, None, pending=False, expires=LATER)
    stored = store.get("k")
    assert stored is not None and stored.value == {"n": 2}
    assert store.pending() == []


# --- writes whose answer is lost -----------------------------------------------------------------
#
# A FaultProxy between the store and Azurite lets Azurite apply a write and then loses its
# answer, so the SDK's real retry policy resends it and Azurite's real conditions fail the resend.


@pytest.fixture
def proxied(azurite: Azurite, table: TableClient) -> Iterator[tuple[AzureTableStore, FaultProxy]]:
    """The store on ``table`` through a fault proxy in front of Azurite, and the proxy."""
    with FaultProxy(f"http://127.0.0.1:{azurite.port}") as proxy:
        connection = azurite.connection_string.replace(
            f"http://127.0.0.1:{azurite.port}/", f"{proxy.url}/"
        )
        client = TableClient.from_connection_string(
            connection, table.table_name, retry_total=3, retry_backoff_factor=0.05
        )
        yield AzureTableStore(table.table_name, client), proxy


def create(request: Request) -> bool:
    """An entity create: ``POST /account/table``."""
    return request.method == "POST"


def operation_timed_out(matches: Callable[[Request], bool]) -> Fault:
    """Azurite applies the request; the answer is Table Storage's 500 ``OperationTimedOut``
    ("the operation may or may not have succeeded"), after which the SDK resends even a POST."""
    body = {"odata.error": {"code": "OperationTimedOut", "message": {"value": "timed out"}}}
    return Fault(
        status=500,
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "x-ms-error-code": "OperationTimedOut"},
        forward=True,
        matches=matches,
    )


@pytest.mark.parametrize("first", ["this create", "another writer"])
def test_a_create_whose_answer_is_lost_wins_only_with_its_own_writer_token(
    proxied: tuple[AzureTableStore, FaultProxy], table: TableClient, first: str
) -> None:
    """Both ways the create's resend meets an entity that exists (409): stored by the create
    itself (its answer lost) or by another writer, with the same properties but its own
    token. Only the token tells them apart, and only the create's own is its success."""
    store, proxy = proxied
    theirs = None
    if first == "another writer":
        other = AzureTableStore(table.table_name, table)
        assert other.put("k", {"n": 1}, None, pending=True, expires=LATER)
        theirs = table.get_entity("problem", row_key("k"))
    proxy.script(operation_timed_out(create))

    won = store.put("k", {"n": 1}, None, pending=True, expires=LATER)

    attempts = [(e.forwarded, e.status, e.error) for e in proxy.seen(lambda e: create(e.request))]
    assert attempts == [(True, 500, "OperationTimedOut"), (True, 409, "EntityAlreadyExists")]
    assert won is (first == "this create")
    if theirs is not None:  # left as the other writer stored it
        assert table.get_entity("problem", row_key("k")).metadata == theirs.metadata
    stored = store.get("k")
    assert stored is not None and stored.value == {"n": 1}


def test_a_replace_whose_answer_is_lost_is_its_own_success(
    proxied: tuple[AzureTableStore, FaultProxy],
) -> None:
    """The resend of an applied replace gets 412; the entity holds the replace's token."""
    store, proxy = proxied
    assert store.put("k", {"n": 1}, None, pending=True, expires=LATER)
    held = store.get("k")
    assert held is not None
    proxy.script(Fault(drop=True, forward=True, matches=lambda r: r.method == "PUT"))
    assert store.put("k", {"n": 2}, held.version, pending=False, expires=LATER)
    assert "UpdateConditionNotSatisfied" in proxy.errors()  # the resend's 412
    now = store.get("k")
    assert now is not None and now.value == {"n": 2} and now.version != held.version
    assert store.pending() == []


def test_state_url_opens_the_table_of_the_function_apps_storage(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONNECTION_ENV, azurite.connection_string)
    name = azurite.table_name()
    store = open_store(f"azuretable://{name}")
    assert isinstance(store, AzureTableStore) and store.table == name
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    assert name in [t.name for t in service.list_tables()]  # created on first use
    assert store.put("k", {"n": 1}, None, pending=False, expires=LATER)
    reopened = open_store(f"azuretable://{name}")  # the table exists already: still fine
    stored = reopened.get("k")
    assert stored is not None and stored.value == {"n": 1}


@pytest.mark.parametrize(
    "table", ["", "ab", "1table", "my-table", "my_table", "a" * 64, "tables", "medic/state"]
)
def test_state_url_needs_a_valid_table_name(table: str) -> None:
    with pytest.raises(
        StateConfigError, match=f"MEDIC_STATE=azuretable://{re.escape(table)}: name the table"
    ):
        open_store(f"azuretable://{table}")


def test_state_url_without_the_storage_connection_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (CONNECTION_ENV, TABLE_URI_ENV, ACCOUNT_ENV):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(StateConfigError) as missing:
        open_store("azuretable://medicstate")
    assert str(missing.value).startswith(
        "azuretable://medicstate: none of AzureWebJobsStorage, "
        "AzureWebJobsStorage__tableServiceUri and AzureWebJobsStorage__accountName is set"
    )
    monkeypatch.setenv(CONNECTION_ENV, "")  # an empty setting counts as unset
    with pytest.raises(StateConfigError, match="none of AzureWebJobsStorage, "):
        open_store("azuretable://medicstate")
    monkeypatch.setenv(CONNECTION_ENV, "not a connection string")
    with pytest.raises(StateConfigError, match="AzureWebJobsStorage is not a usable connection"):
        open_store("azuretable://medicstate")


def test_a_table_endpoint_without_https_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONNECTION_ENV, raising=False)
    monkeypatch.setenv(TABLE_URI_ENV, "http://127.0.0.1:1/devstoreaccount1")
    with pytest.raises(
        StateConfigError,
        match="AzureWebJobsStorage__tableServiceUri does not give a usable HTTPS table endpoint",
    ):
        open_store("azuretable://medicstate")


def test_the_account_name_alone_means_the_public_endpoint_and_the_app_identity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The form the Bicep deploys. Nothing is contacted: the client is only built."""
    monkeypatch.delenv(CONNECTION_ENV, raising=False)
    monkeypatch.delenv(TABLE_URI_ENV, raising=False)
    monkeypatch.setenv(ACCOUNT_ENV, "stmedicabc123")
    client = azuretable._build_client("medicstate")
    assert client.url == "https://stmedicabc123.table.core.windows.net"
    assert client.account_name == "stmedicabc123" and client.table_name == "medicstate"
    assert isinstance(client.credential, DefaultAzureCredential)


def test_the_table_endpoint_wins_over_the_account_name_and_a_connection_string_over_both(
    monkeypatch: pytest.MonkeyPatch, azurite: Azurite
) -> None:
    monkeypatch.delenv(CONNECTION_ENV, raising=False)
    monkeypatch.setenv(ACCOUNT_ENV, "stmedicabc123")
    monkeypatch.setenv(TABLE_URI_ENV, "https://stother.table.core.usgovcloudapi.net/")
    client = azuretable._build_client("medicstate")
    assert client.url == "https://stother.table.core.usgovcloudapi.net"
    assert isinstance(client.credential, DefaultAzureCredential)
    monkeypatch.setenv(CONNECTION_ENV, azurite.connection_string)
    client = azuretable._build_client("medicstate")
    assert client.url == f"http://127.0.0.1:{azurite.port}/{ACCOUNT}"
    assert not isinstance(client.credential, DefaultAzureCredential)


def test_unknown_state_urls_list_the_azure_form() -> None:
    with pytest.raises(StateConfigError, match="or azuretable://TABLE"):
        open_store("cosmos://x")


# --- the identity path, end to end -------------------------------------------------------------
#
# On Azure the app's DefaultAzureCredential gets its token from the App Service managed identity
# endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER). Here a local server stands in for that endpoint,
# so the real credential chain runs unchanged, and Azurite checks the bearer token it is sent
# (OAuth "basic": issuer, audience and lifetime, not the signature; only over HTTPS).

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
STORAGE_AUDIENCE = "https://storage.azure.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_token(audience: str, lifetime: int = 3600) -> tuple[str, int]:
    """A JWT shaped like an Entra access token (HMAC-signed with a throwaway key) and its expiry."""
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{TENANT}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + lifetime,
        "oid": "00000000-0000-0000-0000-00000000a11c",
        "tid": TENANT,
    }
    signed = ".".join(
        _b64(json.dumps(part).encode()) for part in ({"alg": "HS256", "typ": "JWT"}, claims)
    )
    signature = hmac.new(secrets.token_bytes(32), signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{_b64(signature)}", now + lifetime


@dataclass
class OAuthAzurite:
    """Azurite's table service over HTTPS, accepting bearer tokens."""

    endpoint: str
    certificate: Path  # the CA that signed its certificate, for REQUESTS_CA_BUNDLE


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthAzurite]:
    """Fails (never skips) when Azurite is not installed, as the ``azurite`` fixture does."""
    directory = tmp_path_factory.mktemp("azurite-tls")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key, authority = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(authority))
    try:
        server = start_azurite(extra=["--oauth", "basic", "--cert", str(cert), "--key", str(key)])
    except AzuriteError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield OAuthAzurite(f"https://127.0.0.1:{server.port}/{ACCOUNT}", authority)
    server.stop()


@pytest.fixture
def managed_identity(monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    """A local App Service managed identity endpoint, named in the environment as on Azure; the
    environment holds no other credential DefaultAzureCredential could pick first."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    ManagedIdentity(server, fake_token).use(monkeypatch)
    yield server
    if server.is_running():
        server.stop()


class StaticToken:
    """A credential that always hands out the same token."""

    def __init__(self, token: str, expires: int) -> None:
        self.token = AccessToken(token, expires)

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return self.token


def test_the_table_endpoint_is_reached_with_the_managed_identity(
    oauth_azurite: OAuthAzurite,
    managed_identity: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth_azurite.certificate))
    monkeypatch.delenv(CONNECTION_ENV, raising=False)
    monkeypatch.delenv(ACCOUNT_ENV, raising=False)
    monkeypatch.setenv(TABLE_URI_ENV, oauth_azurite.endpoint)
    name = f"oauth{secrets.token_hex(4)}"

    store = open_store(f"azuretable://{name}")
    assert isinstance(store, AzureTableStore)
    assert store.put("k", {"n": 1}, None, pending=True, expires=LATER)  # the table was created
    stored = open_store(f"azuretable://{name}").get("k")
    assert stored is not None and stored.value == {"n": 1}
    assert store.pending() == ["k"]

    # The real credential chain asked the managed identity endpoint for a storage token.
    asked = [request.args.get("resource") for request, _ in managed_identity.log]
    assert asked and set(asked) == {STORAGE_AUDIENCE}

    # And Azurite does check the token: one for another audience, or expired, is refused.
    for token, expires in (
        fake_token("https://vault.azure.net"),
        fake_token(STORAGE_AUDIENCE, -60),
    ):
        other = TableClient(oauth_azurite.endpoint, name, credential=StaticToken(token, expires))
        with pytest.raises(HttpResponseError) as refused:
            other.get_entity("problem", row_key("k"))
        assert refused.value.status_code in (401, 403)
