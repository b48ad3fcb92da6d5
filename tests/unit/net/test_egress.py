"""The egress policy's table: refused ranges, numeric spellings, allowed CIDRs, settings."""

from __future__ import annotations

import socket
from ipaddress import ip_address, ip_network
from pathlib import Path

import httpx
import pytest

from reelflow.config import load_settings
from reelflow.errors import ConfigError, UrlNotAllowed
from reelflow.net.egress import EgressPolicy, literal_address
from reelflow.net.http import GuardedTransport

DEFAULT = EgressPolicy()


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "not a public unicast address"),  # documentation
        ("::ffff:127.0.0.1", "IPv6 form of 127.0.0.1, a loopback"),
        ("::ffff:169.254.169.254", "IPv6 form of 169.254.169.254, a link-local"),
        ("::10.1.2.3", "IPv6 form of 10.1.2.3, a private"),
        ("64:ff9b::a01:203", "IPv6 form of 10.1.2.3"),
        ("2002:7f00:1::", "IPv6 form of 127.0.0.1"),
    ],
)
def test_refused_by_default(address: str, rule: str) -> None:
    reason = DEFAULT.refusal(ip_address(address))
    assert reason is not None and rule in reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_unicast_is_allowed(address: str) -> None:
    assert DEFAULT.refusal(ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("169.254.169.254", "169.254.169.254"),
        # Non-ASCII hosts are IDNA-mapped by the resolver and by httpx before use.
        ("127\u30020\u30020\u30021", "127.0.0.1"),  # ideographic full stops
        ("\uff10x7f000001", "127.0.0.1"),  # a full-width zero
    ],
)
def test_numeric_spellings_are_read_as_the_system_resolver_reads_them(
    host: str, address: str
) -> None:
    assert literal_address(host) == ip_address(address)
    with pytest.raises(UrlNotAllowed) as caught:
        DEFAULT.check_host(host)
    assert "the egress policy refuses it (REELFLOW_EGRESS_ALLOW)" in caught.value.message


@pytest.mark.parametrize("host", ["example.com", "1.example", "0x7g", "999.1.1.1", "deadbeef"])
def test_names_are_not_literals(host: str) -> None:
    assert literal_address(host) is None


def test_check_url_names_the_rule_without_dns() -> None:
    with pytest.raises(UrlNotAllowed) as caught:
        DEFAULT.check_url("http://0x7f000001:8080/clip.mp4")
    assert caught.value.message == (
        "0x7f000001 is 127.0.0.1, a loopback address; the egress policy refuses it "
        "(REELFLOW_EGRESS_ALLOW)"
    )
    with pytest.raises(UrlNotAllowed, match=r"localhost\. is a loopback address"):
        DEFAULT.check_url("http://LocalHost./x")
    with pytest.raises(UrlNotAllowed, match="is a loopback address"):
        DEFAULT.check_url("http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/x")
    DEFAULT.check_url("https://cdn.example/clip.mp4")  # names wait for connect time


def test_allow_list_opens_exactly_its_ranges() -> None:
    policy = EgressPolicy((ip_network("127.0.0.2/32"), ip_network("10.0.0.0/8")))
    assert policy.refusal(ip_address("127.0.0.2")) is None
    assert policy.refusal(ip_address("::ffff:127.0.0.2")) is None  # its mapped form too
    assert policy.refusal(ip_address("10.200.0.1")) is None
    assert policy.refusal(ip_address("127.0.0.1")) is not None
    assert policy.refusal(ip_address("192.168.0.1")) is not None
    with pytest.raises(UrlNotAllowed):
        policy.check_host("localhost")
    EgressPolicy((ip_network("127.0.0.0/8"),)).check_host("localhost")


def test_resolve_checks_every_address_of_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [("93.184.215.14", 80), ("10.0.0.7", 80)]

    def fake_getaddrinfo(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", a) for a in answers]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UrlNotAllowed) as caught:
        DEFAULT.resolve("mixed.example", 80)
    assert caught.value.message.startswith("mixed.example resolves to 10.0.0.7, a private")
    assert caught.value.host == "mixed.example"
    answers.pop()
    assert DEFAULT.resolve("mixed.example", 80) == [ip_address("93.184.215.14")]


def test_guarded_transport_refuses_before_connecting() -> None:
    with (
        httpx.Client(transport=GuardedTransport(DEFAULT)) as client,
        pytest.raises(UrlNotAllowed, match=r"2130706433 is 127\.0\.0\.1, a loopback"),
    ):
        client.get("http://2130706433:9/")


def test_settings_read_the_allow_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REELFLOW_CONFIG", raising=False)
    monkeypatch.setenv("REELFLOW_EGRESS_ALLOW", "127.0.0.2/32, 10.0.0.0/8")
    settings = load_settings(data_dir=tmp_path)
    assert EgressPolicy.from_settings(settings).allow == (
        ip_network("127.0.0.2/32"),
        ip_network("10.0.0.0/8"),
    )
    monkeypatch.delenv("REELFLOW_EGRESS_ALLOW")
    (tmp_path / "reelflow.toml").write_text('[network]\negress_allow = ["fd00::/8"]\n')
    assert load_settings(data_dir=tmp_path).egress_allow == (ip_network("fd00::/8"),)
    assert load_settings(data_dir=tmp_path / "none").egress_allow == ()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[network]\negress_allow = ["10.0.0.0/33"]\n', "egress_allow: .*10.0.0.0/33"),
        ('[network]\negress_allow = ["10.0.0.1/8"]\n', "egress_allow: .*host bits set"),
        ("[network]\nallow = []\n", "unknown key.*network.allow"),
        ('network = "open"\n', "network must be a table"),
    ],
)
def test_bad_allow_lists_name_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, expected: str
) -> None:
    monkeypatch.delenv("REELFLOW_EGRESS_ALLOW", raising=False)
    monkeypatch.delenv("REELFLOW_CONFIG", raising=False)
    (tmp_path / "reelflow.toml").write_text(toml)
    with pytest.raises(ConfigError, match=expected):
        load_settings(data_dir=tmp_path)
