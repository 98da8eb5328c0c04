"""Images in and out: decode with limits, resize to the model's square input, and draw attention heatmaps.

Pillow is the only dependency (it is in the serving image too). Decoding checks the pixel count from the
header before any pixel is decoded, so a small file that claims a huge image is refused cheaply.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

FORMATS = ("PNG", "JPEG")


class ImageError(ValueError):
    """Not an image this service takes; the message says why."""


class TooManyPixels(ImageError):
    pass


def decode_image(data: bytes, max_pixels: int) -> Image.Image:
    """PNG or JPEG bytes -> an RGB image (alpha dropped onto black, grey expanded, CMYK converted)."""
    if not data:
        raise ImageError("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(FORMATS))
            w, h = img.size
            if w * h > max_pixels:
                raise TooManyPixels(f"{w}x{h} = {w * h} pixels is more than this server's limit of {max_pixels}")
            img.load()
    except TooManyPixels:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        # Pillow's own guard fires inside open(), before the size is ours to check (its limit is higher).
        raise TooManyPixels(f"{e}; this server's limit is {max_pixels} pixels") from e
    except UnidentifiedImageError as e:
        raise ImageError(f"not a PNG or JPEG image ({type(e).__name__})") from e
    except (OSError, SyntaxError, ValueError) as e:  # truncated or corrupt data
        raise ImageError(f"the image data is corrupt or truncated: {e}") from e
    if w == 0 or h == 0:
        raise ImageError("the image has no pixels")
    return img.convert("RGB")


def to_model_input(img: Image.Image, size: int) -> np.ndarray:
    """(3, size, size) float32 RGB in 0-255. The whole image is squashed to a square (not cropped), so
    every attention cell maps back onto the picture the caller sent."""
    resized = img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32).transpose(2, 0, 1).copy()


def load_image_file(path: str, size: int) -> np.ndarray:
    with Image.open(path) as img:
        return to_model_input(img, size)


def heatmap_overlay(img: Image.Image, weights: np.ndarray, max_side: int = 320) -> bytes:
    """PNG bytes: the image (longest side at most max_side) with the (g, g) attention weights upsampled
    over it in red, brightest where the model looked most."""
    img = img.convert("RGB")
    scale = min(1.0, max_side / max(img.size))
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    base = np.asarray(img.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    w = weights.astype(np.float32)
    w = w / w.max() if w.max() > 0 else w
    heat = np.asarray(Image.fromarray((w * 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR), np.float32) / 255
    alpha = 0.65 * heat[..., None]
    red = np.array([255.0, 40.0, 0.0])
    out = base * (1 - alpha) * (0.45 + 0.55 * heat[..., None]) + red * alpha
    buf = io.BytesIO()
    Image.fromarray(out.clip(0, 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
