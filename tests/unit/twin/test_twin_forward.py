"""The twin's forwarding: the HUD's query strings become the declared requests, and the owning
services' replies become the statuses their own HTTP APIs would answer (one table)."""

import msgspec
import nats.errors
import pytest
from nats.aio.msg import Msg

from mirror_runtime.doors import ApiError
from mirror_runtime.replies import open_reply
from mirror_runtime.requests_in import from_http
from mirror_schema import alert_operations, auth_operations, command_operations
from mirror_schema.alert_api import ActiveAlertsRequest
from mirror_schema.auth_api import PasswordRequest
from mirror_schema.command_api import GetCommandRequest, ListCommandsRequest
from mirror_schema.commands import CommandState
from mirror_twin.forward import FORWARDED, Forwarder


def test_a_query_becomes_a_request_with_lists_and_numbers() -> None:
    request = from_http(
        command_operations.LIST,
        {},
        {"hostname": "web-01", "status": "failed, timed_out,", "page": "2", "search": ""},
        b"",
    )
    assert request == ListCommandsRequest(
        hostname="web-01", status=[CommandState.FAILED, CommandState.TIMED_OUT], page=2
    )


def test_a_number_that_is_not_one_is_refused_by_name() -> None:
    with pytest.raises(ApiError) as refused:
        from_http(command_operations.LIST, {}, {"page": "two"}, b"")
    assert refused.value.status == 422
    assert refused.value.detail.startswith("page: ")


def test_an_unknown_parameter_is_refused_by_name() -> None:
    with pytest.raises(ApiError) as refused:
        from_http(command_operations.LIST, {}, {"colour": "red"}, b"")
    assert refused.value.status == 422
    assert "colour" in refused.value.detail


def test_the_twin_forwards_exactly_the_huds_operations() -> None:
    assert {operation.label for operation in FORWARDED} == {
        "commands.create",
        "commands.list",
        "commands.get",
        "commands.cancel",
        "commands.retry",
        "alerts.active",
        "alerts.list",
        "alerts.ack",
        "alerts.rules_list",
        "alerts.rules_preview",
        "alerts.rules_get",
        "alerts.rules_create",
        "alerts.rules_update",
        "alerts.rules_delete",
        "alerts.silences_list",
        "alerts.silences_create",
        "alerts.silences_expire",
        "alerts.receivers_list",
        "ingest.history",
        "auth.users_list",
        "auth.users_add",
        "auth.users_role",
        "auth.users_password",
        "auth.users_remove",
        "auth.tokens_list",
        "auth.tokens_add",
        "auth.tokens_revoke",
    }


def test_a_fixed_path_is_mounted_before_a_parameter_of_the_same_shape() -> None:
    """/api/alerts/rules/preview must not be taken for the rule called "preview"."""
    paths = [(op.http.method, op.http.path) for op in FORWARDED if op.http is not None]
    preview = paths.index(("POST", "/api/alerts/rules/preview"))
    for index, (method, path) in enumerate(paths):
        if path == "/api/alerts/rules/{id}":
            assert index > preview, (method, path)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("invalid", 422),
        ("malformed", 400),
        ("not_found", 404),
        ("conflict", 409),
        ("unavailable", 503),
        ("forbidden", 403),
        ("locked", 429),
        ("internal", 502),
        (None, 502),
    ],
)
def test_an_error_code_keeps_its_status(code: str | None, status: int) -> None:
    reply = msgspec.json.encode({"error": "id: not a command id", "code": code})
    with pytest.raises(ApiError) as failed:
        open_reply(command_operations.GET, reply)
    assert failed.value.status == status
    assert failed.value.detail == "id: not a command id"


def test_an_unknown_code_is_a_bad_gateway() -> None:
    reply = msgspec.json.encode({"error": "odd", "code": "something-new"})
    with pytest.raises(ApiError) as failed:
        open_reply(command_operations.GET, reply)
    assert failed.value.status == 502


def test_a_result_is_decoded_as_its_declared_type() -> None:
    result = open_reply(alert_operations.ACTIVE, b'{"result": {"items": []}}')
    assert msgspec.to_builtins(result) == {"items": []}


@pytest.mark.parametrize(
    "data", [b"not json", b"[1, 2]", b'{"result": {"items": 3}}', b'{"result": null}']
)
def test_a_reply_that_is_no_reply_is_a_bad_gateway(data: bytes) -> None:
    with pytest.raises(ApiError) as failed:
        open_reply(command_operations.LIST, data)
    assert failed.value.status == 502
    assert "commands.api.list" in failed.value.detail


class FakeBus:
    """What Forwarder needs of a NATS client: one request, answered or failed as told."""

    def __init__(self, answer: bytes | BaseException) -> None:
        self.answer = answer
        self.sent: list[tuple[str, bytes]] = []
        self.waited: list[float] = []

    async def request(self, subject: str, data: bytes, timeout: float) -> Msg:  # noqa: ASYNC109 - nats-py's signature
        self.sent.append((subject, data))
        self.waited.append(timeout)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return Msg(_client=None, subject=subject, data=self.answer)  # type: ignore[arg-type]


def forwarder(answer: bytes | BaseException) -> tuple[Forwarder, FakeBus]:
    bus = FakeBus(answer)
    return Forwarder(bus, "twin"), bus  # type: ignore[arg-type]


async def test_a_request_goes_out_in_the_twins_name_and_its_result_comes_back() -> None:
    ask, bus = forwarder(b'{"result": {"items": []}}')
    result = await ask.ask(alert_operations.ACTIVE, ActiveAlertsRequest(host="web-01"))
    assert msgspec.to_builtins(result) == {"items": []}
    assert bus.sent == [("alerts.api.active.twin", b'{"host":"web-01"}')]


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (nats.errors.NoRespondersError(), 503),
        (nats.errors.TimeoutError(), 504),
        (nats.errors.ConnectionClosedError(), 503),
    ],
)
async def test_a_service_away_is_a_503_or_a_504(failure: BaseException, status: int) -> None:
    ask, _ = forwarder(failure)
    with pytest.raises(ApiError) as failed:
        await ask.ask(command_operations.GET, GetCommandRequest(id="c-1"))
    assert failed.value.status == status


async def test_a_hashing_operation_is_waited_for_longer_than_the_rest() -> None:
    """A password change hashes twice: the twin waits as long as its operation says, not the
    5 s of the rest, and a timeout names the wait it gave."""
    ask, bus = forwarder(nats.errors.TimeoutError())
    for operation, request in (
        (command_operations.GET, GetCommandRequest(id="c-1")),
        (auth_operations.PASSWORD, PasswordRequest(user="olga", current="a" * 12, new="b" * 12)),
    ):
        with pytest.raises(ApiError) as failed:
            await ask.ask(operation, request)
        assert f"within {operation.reply_within_seconds:g} s" in failed.value.detail
    assert bus.waited == [5.0, 20.0]
