"""`GET /api/models/{model}/versions/{ref}/artifacts/{name}`: a stored artifact streamed from the
artifact store with its sha256 in the headers — a file, a file inside a stored directory — and
what a referenced-only artifact, an unknown name or a missing token get."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate as validate_spec

from modeltrail.bot.cli.main import main
from modeltrail.bot.web.server import Service, build_service
from modeltrail.core.config import Settings
from modeltrail.core.registry.writer import Registry

TOKEN = "artifact-test-token"


@pytest.fixture
def stored(registry: Registry, db_url: str, tmp_path: Path) -> dict[str, bytes]:
    """fraud 1.0.0 with a 3 MiB model file, a directory of two files, and a referenced URI."""
    files = {"model.bin": os.urandom(3 * 1024 * 1024)}
    (tmp_path / "model.bin").write_bytes(files["model.bin"])
    tokenizer = tmp_path / "tokenizer"
    (tokenizer / "sub").mkdir(parents=True)
    files["tokenizer/vocab.txt"] = b"a\nb\nc\n"
    files["tokenizer/sub/merges.txt"] = b"ab c\n"
    (tokenizer / "vocab.txt").write_bytes(files["tokenizer/vocab.txt"])
    (tokenizer / "sub" / "merges.txt").write_bytes(files["tokenizer/sub/merges.txt"])
    args = ["--db", db_url, "register", "fraud", "--no-git", "--no-env", "--metric", "auc=0.9"]
    args += ["--artifact", "model.bin", "--artifact", f"tokenizer={tokenizer}"]
    args += ["--artifact-ref", "weights=s3://bucket/weights.pt"]
    assert main(args) == 0
    return files


@pytest.fixture
def service(registry: Registry, stored: dict[str, bytes]) -> Iterator[Service]:
    running = build_service(Settings(http_port=0, api_token=TOKEN), registry)
    running.start()
    yield running
    running.stop()


def _get(service: Service, name: str, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"http://127.0.0.1:{service.port}/api/models/fraud/versions/latest/artifacts/{name}"
    return httpx.get(url, headers=headers, timeout=30)


@pytest.mark.parametrize("name", ["model.bin", "tokenizer/vocab.txt", "tokenizer/sub/merges.txt"])
def test_stored_bytes_stream_with_their_sha256(
    service: Service, stored: dict[str, bytes], name: str
) -> None:
    response = _get(service, name)
    assert response.status_code == 200, response.text
    assert response.content == stored[name]
    digest = hashlib.sha256(stored[name]).hexdigest()
    assert response.headers["X-Checksum-Sha256"] == digest
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert int(response.headers["Content-Length"]) == len(stored[name])


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("weights", 404, "referenced, not stored"),
        ("tokenizer", 404, "is a directory"),
        ("tokenizer/missing.txt", 404, "is a directory"),
        ("nothing.bin", 404, "no artifact"),
    ],
)
def test_what_cannot_be_streamed_is_said(
    service: Service, name: str, status: int, words: str
) -> None:
    response = _get(service, name)
    assert response.status_code == status
    assert words in response.json()["error"]


def test_without_a_token_no_byte_is_sent(service: Service, stored: dict[str, bytes]) -> None:
    for token in (None, "wrong"):
        response = _get(service, "model.bin", token)
        assert response.status_code == 401
        assert stored["model.bin"][:64] not in response.content


def test_the_route_is_in_the_document(service: Service) -> None:
    document = httpx.get(f"http://127.0.0.1:{service.port}/api/openapi.json").json()
    validate_spec(document)
    route = document["paths"]["/api/models/{model}/versions/{ref}/artifacts/{name}"]["get"]
    assert "application/octet-stream" in route["responses"]["200"]["content"]
    assert "X-Checksum-Sha256" in route["responses"]["200"]["headers"]
