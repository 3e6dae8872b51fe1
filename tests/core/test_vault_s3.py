"""The artifact store on S3, against a real S3-protocol server on loopback (moto's standalone
server, started here on a free port), through obstore — the client users run."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("obstore")
moto_server = pytest.importorskip("moto.server")

from modeltrail.core.config import Settings  # noqa: E402
from modeltrail.core.errors import ArtifactStoreError, BlobMismatchError  # noqa: E402
from modeltrail.core.registry.writer import Registry  # noqa: E402
from modeltrail.core.tracking import track  # noqa: E402
from modeltrail.core.vault.open import open_store  # noqa: E402
from modeltrail.core.vault.vault import store_path  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import uuid

    import obstore
    from obstore.store import S3Store

    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    name = f"models-{uuid.uuid4().hex[:8]}"
    # moto creates a bucket on a plain PUT of the bucket URL
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{s3_endpoint}/{name}", method="PUT"))
    assert obstore is not None and S3Store is not None
    return name


def test_store_pull_verify_gc_on_s3(bucket: str, tmp_path: Path, db_url: str) -> None:
    settings = Settings(artifact_store=f"s3://{bucket}/team/prod")
    store = open_store(settings)
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w" * (5 * 1024 * 1024 + 7))  # more than one chunk
    (model / "config.json").write_text("{}")
    kept = store_path(store, str(model))
    assert kept.kind == "directory" and store.has(kept.digest)
    again = store_path(store, str(model))
    assert again == kept and len(list(store.digests())) == 3  # stored once

    with Registry.open(db_url, settings=settings) as registry:
        with track("fraud", registry=registry, base_dir=tmp_path, capture_code=False) as run:
            run.log_artifact("model")
        record = registry.resolve("fraud@latest")
        assert record.artifacts[0].digest == kept.digest
        out = registry.pull(record, tmp_path / "serve")
        assert (Path(out) / "model" / "weights.bin").read_bytes() == b"w" * (5 * 1024 * 1024 + 7)
        # the local cache keyed by digest: a second pull reads no object from S3
        cache = tmp_path / "cache" / "blobs" / "sha256"
        assert cache.is_dir() and len([p for p in cache.rglob("*") if p.is_file()]) == 3
        assert [c.status for c in registry.verify_artifacts(record)] == ["ok"]
        (tmp_path / "orphan").write_bytes(b"never registered")
        orphan = store_path(store, str(tmp_path / "orphan")).digest
        garbage = registry.collect_garbage(dry_run=True)  # stored just now: recent
        assert garbage.removable == () and [d for d, _ in garbage.recent] == [orphan]
        assert [d for d, _ in registry.collect_garbage(grace=0).removable] == [orphan]
        assert not store.has(orphan) and store.has(kept.digest)


def test_a_corrupt_object_is_refused(bucket: str, tmp_path: Path) -> None:
    import obstore

    store = open_store(Settings(artifact_store=f"s3://{bucket}"))
    (tmp_path / "m.bin").write_bytes(b"the real model")
    digest = store_path(store, str(tmp_path / "m.bin")).digest
    obstore.put(store._store, f"sha256/{digest[:2]}/{digest}", b"the real")  # truncated
    from modeltrail.core.records import Artifact
    from modeltrail.core.vault.vault import pull

    artifact = Artifact("m.bin", "m.bin", digest, 14, True, "file")
    with pytest.raises(BlobMismatchError, match="^m.bin: the stored bytes"):
        pull(store, [artifact], tmp_path / "out", force=False)
    assert not (tmp_path / "out").exists()


def test_an_unreachable_store_is_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    store = open_store(Settings(artifact_store="s3://nowhere"))
    (tmp_path / "m.bin").write_bytes(b"x")
    with pytest.raises(ArtifactStoreError, match="the artifact store at s3://nowhere failed"):
        store_path(store, str(tmp_path / "m.bin"))


def _profile_files(tmp_path: Path, endpoint: str) -> tuple[Path, Path]:
    credentials = tmp_path / "aws" / "credentials"
    config = tmp_path / "aws" / "config"
    credentials.parent.mkdir()
    credentials.write_text(
        "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
        "[team]\naws_access_key_id = test\naws_secret_access_key = test\n"
    )
    config.write_text(
        "[default]\nregion = eu-west-3\n\n"
        f"[profile team]\nregion = us-east-1\nendpoint_url = {endpoint}\n"
        "\n[profile sso]\nsso_session = corp\nregion = us-east-1\n"
    )
    return credentials, config


def test_credentials_region_and_endpoint_from_an_aws_profile(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No AWS_* key, region or endpoint in the environment: all of it from AWS_PROFILE's
    entries in the files AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE name. Instance
    metadata points at a closed port, so a store that read no profile has no credentials."""
    import urllib.request
    import uuid

    credentials, config = _profile_files(tmp_path, s3_endpoint)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "team")
    monkeypatch.setenv("AWS_METADATA_ENDPOINT", f"http://127.0.0.1:{_free_port()}")
    name = f"profile-{uuid.uuid4().hex[:8]}"
    urllib.request.urlopen(urllib.request.Request(f"{s3_endpoint}/{name}", method="PUT"))
    store = open_store(Settings(artifact_store=f"s3://{name}/models"))
    (tmp_path / "m.bin").write_bytes(b"weights via a profile")
    digest = store_path(store, str(tmp_path / "m.bin")).digest
    assert store.has(digest) and list(store.digests()) == [digest]


def test_profile_values_and_their_bad_cases(tmp_path: Path) -> None:
    from modeltrail.core.errors import ConfigError
    from modeltrail.core.vault.aws import s3_options

    credentials, config = _profile_files(tmp_path, "http://127.0.0.1:9000")
    files = {"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_CONFIG_FILE": str(config)}
    home = tmp_path / "nohome"
    assert s3_options({**files}, home) == {
        "access_key_id": "wrong",
        "secret_access_key": "wrong",
        "region": "eu-west-3",
    }
    # the environment wins, and keys come as one set: none of the profile's with env keys
    env = {**files, "AWS_PROFILE": "team", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    assert s3_options(env, home) == {"region": "us-east-1", "endpoint": "http://127.0.0.1:9000"}
    env = {**files, "AWS_PROFILE": "team", "AWS_REGION": "ap-south-1"}
    assert "region" not in s3_options(env, home)  # obstore reads AWS_REGION itself
    with pytest.raises(ConfigError, match="AWS_PROFILE 'nobody': no such profile"):
        s3_options({**files, "AWS_PROFILE": "nobody"}, home)
    with pytest.raises(ConfigError, match="gets its keys through sso_session"):
        s3_options({**files, "AWS_PROFILE": "sso"}, home)
    assert s3_options({}, home) == {}  # no files at all: nothing to add
    config.write_text("[profile team\nregion")
    with pytest.raises(ConfigError, match="cannot be parsed"):
        s3_options({**files, "AWS_PROFILE": "team"}, home)
