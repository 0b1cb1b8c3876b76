"""Request bodies -> image bytes -> arrays, refusing what is not a PNG/JPEG image.

Nothing is unpickled: a body is raw PNG/JPEG bytes (``image/png``,
``image/jpeg``) or JSON (``application/json``: ``{"images": [base64, ...]}``)
for several images at once. Every image's header is read first (format and
size, without decoding the pixels), so a decompression bomb is refused before
it is expanded; it is then fully decoded once by PIL (a truncated file is
refused) and decoded for the model the way the config's loading transform
(mmcv's ``LoadImageFromFile``) decodes a file, so a served image gets the
same array as ``tools/test.py`` reading the same bytes from disk.
"""
import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from .errors import RequestError

__all__ = ['RequestLimits', 'split_body', 'check_image_bytes', 'decode_image',
           'IMAGE_TYPES', 'JSON_TYPE']

IMAGE_TYPES = {'image/png': 'PNG', 'image/jpeg': 'JPEG', 'image/jpg': 'JPEG'}
JSON_TYPE = 'application/json'


@dataclass
class RequestLimits:
    """What one request may hold.

    Attributes:
        max_pixels (int): Pixels per image (width x height) above which an
            image is refused as a decompression bomb (HTTP 413), read from its
            header before decoding.
        max_body_bytes (int): Bytes per request body (HTTP 413).
        max_images (int): Images per request (HTTP 413).
    """

    max_pixels: int = 4096 * 4096
    max_body_bytes: int = 32 * 1024 * 1024
    max_images: int = 64

    def __post_init__(self):
        for name in ('max_pixels', 'max_body_bytes', 'max_images'):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f'{name}={value!r} must be a whole number >= 1.')
            setattr(self, name, int(value))


def _media_type(content_type: Optional[str]) -> str:
    return (content_type or '').split(';')[0].strip().lower()


def split_body(body: bytes, content_type: Optional[str], limits: RequestLimits) -> List[bytes]:
    """The image bytes a request body carries.

    Args:
        body (bytes): The raw body.
        content_type (str, optional): Its ``Content-Type`` header.
        limits (RequestLimits): Size limits.

    Returns:
        list[bytes]: One entry per image, in request order.

    Raises:
        RequestError: 400 (empty body, bad JSON or base64), 413 (too large,
            too many images), 415 (another content type).
    """
    media = _media_type(content_type)
    if len(body) > limits.max_body_bytes:
        raise RequestError(413, f'The body has {len(body)} bytes, more than max_body_bytes='
                           f'{limits.max_body_bytes}; send fewer or smaller images.',
                           'body_too_large')
    if not body:
        raise RequestError(400, 'The request body is empty; POST PNG/JPEG bytes (Content-Type: '
                           'image/png or image/jpeg) or JSON {"images": [base64, ...]}.',
                           'empty_body')
    if media in IMAGE_TYPES:
        return [body]
    if media != JSON_TYPE:
        raise RequestError(415, f'Content-Type {content_type!r} is not accepted; send one image '
                           'as image/png or image/jpeg, or several as application/json '
                           '{"images": [base64, ...]}.', 'unsupported_media_type')
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError) as err:
        raise RequestError(400, f'The JSON body does not parse ({err}); send {{"images": '
                           '[base64, ...]}.', 'bad_json') from None
    images = doc.get('images') if isinstance(doc, dict) else None
    if not isinstance(images, list) or not images or \
            not all(isinstance(i, str) for i in images):
        raise RequestError(400, 'The JSON body must be {"images": [base64, ...]} with at least '
                           'one base64 string of PNG/JPEG bytes.', 'bad_json')
    if len(images) > limits.max_images:
        raise RequestError(413, f'{len(images)} images in one request, more than max_images='
                           f'{limits.max_images}; split the request.', 'too_many_images')
    out = []
    for i, text in enumerate(images):
        try:
            out.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise RequestError(400, f'images[{i}] is not valid base64.', 'bad_base64') from None
        if not out[-1]:
            raise RequestError(400, f'images[{i}] is empty.', 'empty_body')
    return out


def check_image_bytes(data: bytes, limits: RequestLimits, where: str = 'the image') -> tuple:
    """Refuse bytes that are not a whole PNG/JPEG image within the pixel limit.

    The header is read first (no pixel decoded) for the format and size; then
    PIL decodes the whole image once, which refuses truncated files.

    Returns:
        tuple: ``(format, (width, height), PIL mode)``.

    Raises:
        RequestError: 400 (not a PNG/JPEG image, truncated or corrupt),
            413 (more pixels than ``limits.max_pixels``).
    """
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, size, mode = img.format, img.size, img.mode
            if fmt not in ('PNG', 'JPEG'):
                raise RequestError(400, f'{where} is a {fmt} image; send PNG or JPEG.',
                                   'unsupported_image_format')
            if size[0] * size[1] > limits.max_pixels:
                raise RequestError(413, f'{where} is {size[0]}x{size[1]} = {size[0] * size[1]} '
                                   f'pixels, more than max_pixels={limits.max_pixels} '
                                   '(refused before decoding: a decompression bomb guard); '
                                   'send a smaller image.', 'too_many_pixels')
            img.load()
    except RequestError:
        raise
    except Image.DecompressionBombError as err:
        raise RequestError(413, f'{where} was refused by PIL\'s decompression bomb guard '
                           f'({err}).', 'too_many_pixels') from None
    except Exception as err:  # PIL raises UnidentifiedImageError, OSError, SyntaxError...
        raise RequestError(400, f'{where} is not a readable PNG/JPEG image ({type(err).__name__}: '
                           f'{err}); send the whole file\'s bytes.', 'not_an_image') from None
    return fmt, size, mode


def decode_image(data: bytes, flag: str = 'unchanged', backend: Optional[str] = None,
                 to_float32: bool = False, where: str = 'the image') -> np.ndarray:
    """Decode checked image bytes as the config's loader decodes a file (mmcv).

    Args:
        data (bytes): Bytes already passed by :func:`check_image_bytes`.
        flag (str): mmcv's ``color_type`` (``'color'``, ``'grayscale'``,
            ``'unchanged'``).
        backend (str, optional): mmcv's ``imdecode_backend``.
        to_float32 (bool): As ``LoadImageFromFile(to_float32=True)``.

    Returns:
        np.ndarray: ``(H, W)`` or ``(H, W, C)``.

    Raises:
        RequestError: 400 if the decoder gives nothing, or not 8-bit pixels
            (e.g. a 16-bit PNG).
    """
    import mmcv
    try:
        img = mmcv.imfrombytes(data, flag=flag, backend=backend)
    except Exception as err:
        raise RequestError(400, f'{where} could not be decoded ({type(err).__name__}: {err}).',
                           'not_an_image') from None
    if img is None:
        raise RequestError(400, f'{where} could not be decoded.', 'not_an_image')
    if img.dtype != np.uint8:
        raise RequestError(400, f'{where} has {img.dtype} pixels; send an 8-bit PNG/JPEG.',
                           'wrong_pixel_type')
    return img.astype(np.float32) if to_float32 else img
