"""mirror_schema.api: the envelopes' wire shapes, the one code-to-status table, and what a
declaration derives from its path."""

from typing import get_args

import msgspec

from mirror_schema import alert_operations, command_operations, metrics_operations
from mirror_schema.api import STATUS_OF_CODE, ErrorCode, Failure, Http, Items, Reply
from mirror_schema.command_api import SigningKeyReply


def test_every_code_has_one_status() -> None:
    assert set(STATUS_OF_CODE) == set(get_args(ErrorCode))
    assert (STATUS_OF_CODE["invalid"], STATUS_OF_CODE["malformed"]) == (422, 400)


def test_a_result_and_a_failure_on_the_wire() -> None:
    key = SigningKeyReply(algorithm="ed25519", public_key="k")
    assert msgspec.json.encode(Reply(result=key)) == (
        b'{"result":{"algorithm":"ed25519","public_key":"k"}}'
    )
    failure = msgspec.json.encode(Failure(error="id: no command 'c'", code="not_found"))
    assert failure == b'{"error":"id: no command \'c\'","code":"not_found"}'
    # A client reads both as a Reply of the operation's result.
    read = msgspec.json.decode(failure, type=Reply[SigningKeyReply])
    assert (read.result, read.code) == (None, "not_found")
    assert msgspec.json.encode(Items(items=[1, 2])) == b'{"items":[1,2]}'


def test_a_path_names_its_fields() -> None:
    route = Http(method="PUT", path="/api/commands/hosts/{host_id}/labels")
    assert route.path_fields == ("host_id",)
    assert route.success_status(object()) == 200
    assert Http(method="DELETE", path="/x/{id}", no_content=True).success_status(None) == 204


def test_operations_are_unique_by_name_subject_and_route() -> None:
    for operations in (
        command_operations.OPERATIONS,
        alert_operations.OPERATIONS,
        metrics_operations.OPERATIONS,
    ):
        names = [o.name for o in operations]
        assert len(names) == len(set(names))
        subjects = [o.subject for o in operations if o.subject is not None]
        assert len(subjects) == len(set(subjects))
        routes = [(o.http.method, o.http.path) for o in operations if o.http is not None]
        assert len(routes) == len(set(routes))
        for operation in operations:
            if operation.actor is not None:
                assert operation.actor in operation.request.__struct_fields__
            if operation.http is not None:
                for field in operation.http.path_fields:
                    assert field in operation.request.__struct_fields__
