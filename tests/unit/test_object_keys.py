import pytest

from reelflow.errors import InvalidKey
from reelflow.object_keys import (
    TEMP_MARKER,
    is_temporary_name,
    split_key,
    temporary_name,
    validate_bucket_name,
    validate_key,
)


@pytest.mark.parametrize(
    ("key", "normalized"),
    [
        ("a.mov", "a.mov"),
        ("/movie/201907/a.mov", "movie/201907/a.mov"),
        ("up/My Holiday 2024.mp4", "up/My Holiday 2024.mp4"),
        ("视频/上传/片段.mp4", "视频/上传/片段.mp4"),
        ("emoji/🎬 take 1.mov", "emoji/🎬 take 1.mov"),
        (".hidden/a..b/...", ".hidden/a..b/..."),
        ("ab:c/d", "ab:c/d"),
        ("x" * 255, "x" * 255),
        ("/".join(["y" * 200] * 5) + "/zzz", "/".join(["y" * 200] * 5) + "/zzz"),
    ],
)
def test_valid_keys_are_normalized(key: str, normalized: str) -> None:
    assert validate_key(key) == normalized


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "empty"),
        ("/", "empty"),
        ("//a", "empty segment"),
        ("a//b", "empty segment"),
        ("../etc/passwd", "'..' segment"),
        ("a/../b", "'..' segment"),
        ("a/./b", "'.' segment"),
        (".", "'.' segment"),
        ("a/..", "'..' segment"),
        ("a\\b.mp4", "backslash"),
        ("..\\..\\x", "backslash"),
        ("C:/Windows/x.mp4", "drive letter"),
        ("c:x.mp4", "drive letter"),
        ("a:b", "drive letter"),
        ("a\x00b", "U+0000"),
        ("a\nb", "U+000A"),
        ("a\x7fb", "U+007F"),
        ("a\x85b", "U+0085"),
        ("bad\udcffname", "not valid Unicode"),
        ("folder/", "ends with '/'"),
        ("x" * 256, "segment of 256 bytes"),
        ("é" * 128, "segment of 256 bytes"),
        ("/".join(["y" * 200] * 6), "1205 bytes"),
        (f"a/.b{TEMP_MARKER}123", "reserved for temporary files"),
    ],
)
def test_invalid_keys_are_rejected_with_a_reason(key: str, message: str) -> None:
    with pytest.raises(InvalidKey, match=None) as caught:
        validate_key(key)
    assert message in str(caught.value)
    assert caught.value.code == "InvalidParameterValue.Key"
    assert not caught.value.retryable


def test_length_limits_count_utf8_bytes() -> None:
    validate_key("é" * 127)  # 254 bytes
    validate_key("/".join(["é" * 100] * 5) + "/a" * 10)  # 1024 bytes exactly
    with pytest.raises(InvalidKey, match="1025 bytes"):
        validate_key("/".join(["é" * 100] * 5) + "/a" * 10 + "b")


@pytest.mark.parametrize("name", ["a", "my-bucket-1250000000", "in.out_2", "0" * 63])
def test_valid_bucket_names(name: str) -> None:
    assert validate_bucket_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "Upper", "a b", "a/b", ".", "..", ".hidden", "-x", "x" * 64, "ü", "a\x00", "a\n"]
)
def test_invalid_bucket_names(name: str) -> None:
    with pytest.raises(InvalidKey, match="invalid bucket name") as caught:
        validate_bucket_name(name)
    assert caught.value.code == "InvalidParameterValue.Bucket"


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("up/a.b.mp4", ("up/", "a.b", "mp4")),
        ("/up/a.mp4", ("up/", "a", "mp4")),
        ("a.mp4", ("", "a", "mp4")),
        ("x/y/README", ("x/y/", "README", "")),
        ("in/.env", ("in/", ".env", "")),
        ("in/a.", ("in/", "a.", "")),
        ("v.1/clip", ("v.1/", "clip", "")),
        ("片段.MOV", ("", "片段", "MOV")),
    ],
)
def test_split_key(key: str, parts: tuple[str, str, str]) -> None:
    assert split_key(key) == parts
    directory, stem, ext = parts
    assert directory + stem + (f".{ext}" if ext else "") == validate_key(key)


def test_split_key_validates() -> None:
    with pytest.raises(InvalidKey):
        split_key("../a.mp4")


def test_temporary_names_are_hidden_marked_and_short() -> None:
    name = temporary_name("é" * 127, "0" * 32)
    assert name.startswith(".")
    assert is_temporary_name(name)
    assert len(name.encode("utf-8")) <= 255
    assert not is_temporary_name("a.mp4")
