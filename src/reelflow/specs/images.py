"""Images carried inside requests (watermark ``ImageContent``): checked once, on arrival.

An image is accepted when it is strict base64 of a PNG or JPEG file of at most
``MAX_IMAGE_BYTES`` whose picture is at most ``MAX_IMAGE_SIDE`` pixels a side and decodes
completely. The header is read before anything is decoded, so a small file declaring a huge
picture costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
import warnings

import PIL.Image

MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_SIDE = 4096
IMAGE_FORMATS = ("PNG", "JPEG")
# Base64 of MAX_IMAGE_BYTES, plus slack for line breaks some encoders insert.
MAX_BASE64_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4 + 4096


def decode_image(content: str) -> bytes:
    """The image bytes of base64 ``content``; ``ValueError`` saying what is wrong.

    Raises:
        ValueError: not base64, too large, not PNG/JPEG, too many pixels, or damaged.
    """
    if len(content) > MAX_BASE64_CHARS:
        raise ValueError(f"the image must be at most {MAX_IMAGE_BYTES} bytes")
    try:
        data = base64.b64decode("".join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be the base64 encoding of a PNG or JPEG image") from None
    if not data:
        raise ValueError("the image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"the image must be at most {MAX_IMAGE_BYTES} bytes, got {len(data)}")
    try:
        with warnings.catch_warnings():
            # Pillow warns (then refuses) above its own pixel limit; ours is far lower.
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
                width, height = image.size
                if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
                    raise ValueError(
                        f"the image is {width}x{height}; at most {MAX_IMAGE_SIDE} pixels a "
                        "side are accepted"
                    )
                image.load()  # decode it all once: a damaged image fails now, not in a job
    except PIL.Image.DecompressionBombError:
        raise ValueError(
            f"the image declares a huge picture; at most {MAX_IMAGE_SIDE} pixels a side "
            "are accepted"
        ) from None
    except (OSError, SyntaxError, struct.error, EOFError):  # UnidentifiedImageError: OSError
        raise ValueError(f"the image is not a readable {' or '.join(IMAGE_FORMATS)} file") from None
    return data
