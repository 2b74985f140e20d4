"""The lossless packing of raw pixel buffers used by `Image` with format 'png'.

The buffer is not encoded as a picture: its bytes, reshaped to (height, stride), are stored as
an 8-bit grayscale PNG, whatever the pixel encoding. Pillow writes it at compression level 1,
which is what the platform SDK does, so packed payloads are byte-identical to its own.
"""

from __future__ import annotations

import io

from .errors import ConversionError

PNG_COMPRESS_LEVEL = 1


def pack_png(buffer: bytes, stride: int, height: int) -> bytes:
    """Pack a raw buffer of `height` rows of `stride` bytes into a grayscale PNG.

    Args:
        buffer: The pixel bytes, row by row.
        stride: Bytes per row.
        height: Number of rows.

    Returns:
        The PNG file bytes.

    Raises:
        ConversionError: The buffer size is not `stride * height`.

    """
    from PIL import Image as PillowImage

    if stride <= 0 or height <= 0 or len(buffer) != stride * height:
        raise ConversionError(
            f'image buffer of {len(buffer)} bytes is not stride {stride} x height {height}',
        )
    picture = PillowImage.frombytes('L', (stride, height), bytes(buffer))
    out = io.BytesIO()
    picture.save(out, format='PNG', compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()


def unpack_png(payload: bytes, stride: int, height: int) -> bytes:
    """Return the raw buffer packed by `pack_png`.

    Args:
        payload: The PNG file bytes.
        stride: Expected bytes per row.
        height: Expected number of rows.

    Returns:
        The pixel bytes.

    Raises:
        ConversionError: The payload is not a PNG of (height, stride) 8-bit pixels.

    """
    from PIL import Image as PillowImage
    from PIL import UnidentifiedImageError

    try:
        with PillowImage.open(io.BytesIO(payload)) as picture:
            if picture.format != 'PNG' or picture.mode != 'L':
                raise ConversionError(
                    f'packed image is {picture.format} mode {picture.mode}, expected PNG mode L',
                )
            if picture.size != (stride, height):
                raise ConversionError(
                    f'packed image is {picture.size[0]}x{picture.size[1]}, expected '
                    f'{stride}x{height} (stride x height)',
                )
            return picture.tobytes()
    except (UnidentifiedImageError, OSError) as err:
        raise ConversionError(f'packed image payload is not a readable PNG: {err}') from err
