"""``GET /``: the SDK's ``reqMethod="GET"`` and plain HTTP clients get the JSON error
envelope naming what is offered; only browsers are sent to the console. A POST signed the
legacy way (HmacSHA1/HmacSHA256: a form body, no Authorization header) gets the same."""

from __future__ import annotations

import httpx
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612.mps_client import MpsClient

from tests.integration.mps.conftest import REGION, admin_credential
from tests.integration.mps.sdk import call
from tests.integration.server.process import ServerProcess

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("sign_method", ["TC3-HMAC-SHA256", "HmacSHA256", "HmacSHA1"])
def test_the_sdk_sending_get_reads_unsupported_operation(
    server: ServerProcess, sign_method: str
) -> None:
    http = HttpProfile(
        protocol="http", endpoint=f"127.0.0.1:{server.port}", reqMethod="GET", reqTimeout=30
    )
    client = MpsClient(
        admin_credential(server), REGION, ClientProfile(signMethod=sign_method, httpProfile=http)
    )
    with pytest.raises(TencentCloudSDKException) as caught:
        call(client, "DescribeTasks", {"Status": "FINISH"})
    assert caught.value.get_code() == "UnsupportedOperation"
    message = caught.value.get_message()
    assert "GET" in message and "TC3-HMAC-SHA256" in message
    assert caught.value.get_request_id()


@pytest.mark.parametrize("sign_method", ["HmacSHA256", "HmacSHA1"])
def test_the_sdk_posting_with_a_legacy_signature_reads_unsupported_operation(
    server: ServerProcess, sign_method: str
) -> None:
    http = HttpProfile(
        protocol="http", endpoint=f"127.0.0.1:{server.port}", reqMethod="POST", reqTimeout=30
    )
    client = MpsClient(
        admin_credential(server), REGION, ClientProfile(signMethod=sign_method, httpProfile=http)
    )
    with pytest.raises(TencentCloudSDKException) as caught:
        call(client, "DescribeTasks", {"Status": "FINISH"})
    assert caught.value.get_code() == "UnsupportedOperation"
    assert sign_method in caught.value.get_message()
    assert "TC3-HMAC-SHA256" in caught.value.get_message()


def test_a_plain_get_is_the_json_envelope(server: ServerProcess) -> None:
    response = httpx.get(f"{server.url}/?Action=DescribeTasks&Version=2019-06-12")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    error = response.json()["Response"]["Error"]
    assert error["Code"] == "UnsupportedOperation"
    assert "HmacSHA256" in error["Message"]


def test_a_browser_is_sent_to_the_console(server: ServerProcess) -> None:
    response = httpx.get(f"{server.url}/", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 307
    assert response.headers["location"] == "/console"
