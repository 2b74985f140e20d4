"""Raw and compressed images."""

from __future__ import annotations

from enum import Enum

from .errors import ConversionError
from .field_types import MosaicoType
from .fields import MosaicoField
from .image_packing import pack_png, unpack_png
from .mixins import HeaderMixin
from .serializable import Serializable
from .time_header import Header


class ImageFormat(str, Enum):
    """Container format of an image payload; stored as an Arrow string."""

    RAW = 'raw'
    PNG = 'png'
    JPEG = 'jpeg'
    JPG = 'jpg'
    TIFF = 'tiff'
    H264 = 'h264'
    HEVC = 'hevc'


class Image(Serializable, HeaderMixin):
    """A raw image, its pixel buffer stored raw or packed losslessly."""

    __serialization_format__ = 'image'

    data: MosaicoType.binary = MosaicoField(description='The flattened image memory buffer.')
    format: ImageFormat = MosaicoField(description="Container format (e.g., 'raw', 'png').")
    width: MosaicoType.int32 = MosaicoField(description='Image width in pixels.')
    height: MosaicoType.int32 = MosaicoField(description='Image height in pixels.')
    stride: MosaicoType.int32 = MosaicoField(description='Bytes per row. Essential for alignment.')
    encoding: MosaicoType.string = MosaicoField(
        description="Pixel format (e.g., 'bgr8', 'mono16').",
    )
    is_bigendian: MosaicoType.bool | None = MosaicoField(
        None,
        description='True if data is Big-Endian. Defaults to system endianness if null.',
    )

    @classmethod
    def from_linear_pixels(
        cls,
        buffer: bytes,
        *,
        width: int,
        height: int,
        stride: int,
        encoding: str,
        is_bigendian: bool | None = None,
        format: ImageFormat = ImageFormat.PNG,
        header: Header | None = None,
    ) -> Image:
        """Build an image from a raw pixel buffer, packed as PNG unless `format` is RAW.

        Args:
            buffer: `stride * height` pixel bytes.
            width: Width in pixels.
            height: Height in pixels.
            stride: Bytes per row.
            encoding: ROS pixel encoding, e.g. 'rgb8', 'mono16'.
            is_bigendian: Byte order of multi-byte pixels.
            format: RAW keeps the buffer as is; PNG packs it losslessly.
            header: Optional measurement header.

        Returns:
            The image.

        Raises:
            ConversionError: The format is neither RAW nor PNG, or the buffer size is wrong.

        """
        if len(buffer) != stride * height:
            raise ConversionError(
                f'{encoding} image buffer of {len(buffer)} bytes is not stride {stride} x '
                f'height {height}',
            )
        if format == ImageFormat.PNG:
            payload = pack_png(buffer, stride, height)
        elif format == ImageFormat.RAW:
            payload = bytes(buffer)
        else:
            raise ConversionError(f'Image packs raw pixels as raw or png only, not {format}')
        return cls(
            header=header,
            data=payload,
            format=format,
            width=width,
            height=height,
            stride=stride,
            encoding=encoding,
            is_bigendian=is_bigendian,
        )

    def to_linear_pixels(self) -> bytes:
        """Return the raw pixel buffer (`stride * height` bytes), unpacking PNG payloads.

        Returns:
            The pixel bytes.

        Raises:
            ConversionError: The payload format is not raw or png, or its size is wrong.

        """
        if self.format == ImageFormat.PNG:
            return unpack_png(self.data, self.stride, self.height)
        if self.format == ImageFormat.RAW:
            if len(self.data) != self.stride * self.height:
                raise ConversionError(
                    f'raw image of {len(self.data)} bytes is not stride {self.stride} x '
                    f'height {self.height}',
                )
            return self.data
        raise ConversionError(f'Image payload format {self.format} holds no raw pixels')


class CompressedImage(Serializable, HeaderMixin):
    """An encoded image or video frame (JPEG, PNG, TIFF, H.264, HEVC)."""

    __serialization_format__ = 'image'

    data: MosaicoType.binary = MosaicoField(
        description='The serialized (compressed) image data as bytes.',
    )
    format: ImageFormat = MosaicoField(description="The compression format (e.g., 'jpeg', 'png').")
