"""Raw and compressed images."""

from enum import Enum

from .field_types import MosaicoType
from .fields import MosaicoField
from .mixins import HeaderMixin
from .serializable import Serializable


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


class CompressedImage(Serializable, HeaderMixin):
    """An encoded image or video frame (JPEG, PNG, TIFF, H.264, HEVC)."""

    __serialization_format__ = 'image'

    data: MosaicoType.binary = MosaicoField(
        description='The serialized (compressed) image data as bytes.',
    )
    format: ImageFormat = MosaicoField(description="The compression format (e.g., 'jpeg', 'png').")
