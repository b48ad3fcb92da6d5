"""Fixtures for the official SDK against a real ``reelflow serve``: one server for the
package, the SDK's ``MpsClient`` pointed at it with the admin key from ``admin-key.json``,
and a tiny clip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612.mps_client import MpsClient

from tests.clips import ClipCache
from tests.integration.server.process import ServerProcess, Servers

REGION = "ap-guangzhou"


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    started = Servers()
    with pytest.MonkeyPatch.context() as patch:
        # The SDK honours HTTP_PROXY for plain http unless NO_PROXY names the endpoint.
        patch.setenv("NO_PROXY", "127.0.0.1")
        patch.setenv("no_proxy", "127.0.0.1")
        try:
            # The URL-input test serves its clip on 127.0.0.1: the egress policy is opened
            # for that one address only.
            data_dir = tmp_path_factory.mktemp("mps") / "data"
            yield started.start(data_dir, egress_allow="127.0.0.1/32")
        finally:
            started.close()


def admin_credential(server: ServerProcess) -> Credential:
    key = json.loads((server.data_dir / "admin-key.json").read_text())
    return Credential(key["secret_id"], key["secret_key"])


def sdk_client(server: ServerProcess, credential: Credential) -> MpsClient:
    endpoint = f"127.0.0.1:{server.port}"  # no scheme: the protocol says http
    profile = ClientProfile(
        httpProfile=HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=30)
    )
    return MpsClient(credential, REGION, profile)


@pytest.fixture(scope="package")
def mps(server: ServerProcess) -> MpsClient:
    return sdk_client(server, admin_credential(server))


@pytest.fixture(scope="package")
def clip(clips: ClipCache) -> Path:
    """A 2 s 320x240 H.264 + AAC clip."""
    return clips(duration=2.0, width=320, height=240)
