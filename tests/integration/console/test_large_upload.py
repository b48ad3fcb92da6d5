"""A 200 MB drag-and-drop upload through the console's session route: memory stays flat,
as for the native object API (the same streaming reader feeds storage)."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from tests.servers import MAX_GROWTH, SIZE, PeakRss, big_body

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_200_mb_console_upload_keeps_memory_flat(in_process: tuple[str, str]) -> None:
    url, secret = in_process
    with httpx.Client(base_url=url, timeout=120) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/sign-in").text)
        assert token is not None
        signed = client.post(
            "/console/sign-in", data={"csrf_token": token.group(1), "secret_key": secret}
        )
        assert signed.status_code == 303
        page = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/console").text)
        assert page is not None
        sent = hashlib.md5(usedforsecurity=False)
        with PeakRss() as upload:
            response = client.put(
                "/console/buckets/media/objects/big/dropped.bin",
                content=big_body(sent),
                headers={"X-CSRF-Token": page.group(1), "Accept": "application/json"},
            )
        assert response.status_code == 201, response.text
        assert response.json()["size"] == SIZE
        # A local bucket tags an upload with a version instead of hashing it on arrival.
        assert re.fullmatch(r"v-[0-9a-f]{32}", response.json()["etag"])
        received = hashlib.md5(usedforsecurity=False)
        with client.stream("GET", "/console/buckets/media/objects/big/dropped.bin") as stream:
            assert stream.status_code == 200
            for chunk in stream.iter_bytes():
                received.update(chunk)
        assert received.hexdigest() == sent.hexdigest()
    assert upload.growth < MAX_GROWTH, f"+{upload.growth / 2**20:.1f} MiB"
