"""DNS rebinding against a URL source: the name is resolved once per connection and the
socket goes to the address that was checked, so a resolver that answers an allowed address
first and a refused one afterwards gets nothing from the refused listener."""

from __future__ import annotations

import socket
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest

from reelflow.errors import UrlNotAllowed
from reelflow.net.egress import EgressPolicy
from reelflow.storage.urls import UrlSources
from tests.egress import CountingListener, file_server

pytestmark = pytest.mark.integration

NAME = "rebind.example"


def test_a_rebound_name_is_connected_to_the_checked_address_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "clip.bin").write_bytes(b"media" * 100)
    policy = EgressPolicy((ip_network("127.0.0.2/32"),))
    real = socket.getaddrinfo
    answers = ["127.0.0.2", "127.0.0.1", "127.0.0.1"]
    lookups: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == NAME:
            lookups.append(answers[len(lookups)])
            return real(lookups[-1], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with file_server(tmp_path, "127.0.0.2") as base:
        port = int(base.rstrip("/").rsplit(":", 1)[1])
        # The refused twin listens on the same port of 127.0.0.1.
        with CountingListener("127.0.0.1", port) as refused:
            sources = UrlSources(10_000, 5.0, egress=policy)
            copy = sources.fetch(f"http://{NAME}:{port}/clip.bin", tmp_path / "out" / "a")
            assert copy.read_bytes() == b"media" * 100
            assert lookups == ["127.0.0.2"]  # one lookup, for the connection it checked
            # The next connection resolves again and is refused before connecting.
            sources.close()
            with pytest.raises(UrlNotAllowed, match=r"rebind\.example resolves to 127\.0\.0\.1"):
                UrlSources(10_000, 5.0, egress=policy).fetch(
                    f"http://{NAME}:{port}/clip.bin", tmp_path / "out" / "b"
                )
            assert refused.accepted == 0
