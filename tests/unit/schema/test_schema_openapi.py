"""docs/openapi.json is generated from the operations' declarations: it must be what the
generator writes now (run `make docs` after changing an operation or a contract)."""

from pathlib import Path

from mirror_schema.api import STATUS_OF_CODE
from mirror_schema.openapi import OPERATIONS, openapi_document, openapi_text

CHECKED_IN = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_the_checked_in_document_is_up_to_date() -> None:
    assert CHECKED_IN.read_text(encoding="utf-8") == openapi_text(), (
        "docs/openapi.json is stale: run `make docs` and commit it"
    )


def test_every_http_operation_has_its_path_and_nats_subject() -> None:
    document = openapi_document()
    for operation in OPERATIONS:
        if operation.http is None:
            listed = [entry["operationId"] for entry in document["x-nats-operations"]]
            assert operation.label in listed
            continue
        item = document["paths"][operation.http.path][operation.http.method.lower()]
        assert item["operationId"] == operation.label
        assert item.get("x-nats-subject") == operation.subject
        for code in operation.errors:
            assert str(STATUS_OF_CODE[code]) in item["responses"]


def test_path_fields_are_parameters_and_not_body_fields() -> None:
    item = openapi_document()["paths"]["/api/commands/{id}/cancel"]["post"]
    assert [p["name"] for p in item["parameters"]] == ["id"]
    body = item["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"requested_by"}
    assert set(item["responses"]) >= {"200", "202", "404", "409", "503"}
