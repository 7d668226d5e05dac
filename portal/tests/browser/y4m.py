"""PNG to Y4M, for Chromium's fake camera (--use-file-for-fake-video-capture).

A small PNG reader (non-interlaced greyscale, palette or RGB(A), 1-8 bits per
channel, every filter type) and a YUV4MPEG2 4:2:0 writer: the QR code is
centred on a white frame, scaled with nearest-neighbour so its modules stay
sharp, as a camera held steady in front of a screen would see it.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import List, Tuple


def read_png(data: bytes) -> Tuple[int, int, List[bytearray]]:
    """(width, height, rows of 8-bit luma)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, palette = 8, b"", None
    width = height = depth = color = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if interlace:
                raise ValueError("interlaced PNGs are not supported")
        elif kind == b"PLTE":
            palette = [tuple(body[i : i + 3]) for i in range(0, len(body), 3)]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    bits = depth * channels
    stride = (width * bits + 7) // 8
    bpp = max(1, bits // 8)
    raw = zlib.decompress(idat)
    prev = bytearray(stride)
    rows: List[bytearray] = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        prev = line
        rows.append(_luma_row(line, width, depth, color, palette))
    return width, height, rows


def _luma_row(line: bytearray, width: int, depth: int, color: int, palette) -> bytearray:
    out = bytearray(width)
    if depth < 8:
        per_byte, mask = 8 // depth, (1 << depth) - 1
        scale = 255 // mask
        for x in range(width):
            v = (line[x // per_byte] >> (8 - depth * (x % per_byte + 1))) & mask
            if color == 3:
                r, g, b = palette[v]
                out[x] = (299 * r + 587 * g + 114 * b) // 1000
            else:
                out[x] = v * scale
        return out
    step = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color] * (depth // 8)
    for x in range(width):
        px = line[x * step : (x + 1) * step : depth // 8]
        if color in (0, 4):
            out[x] = px[0]
        elif color == 3:
            r, g, b = palette[px[0]]
            out[x] = (299 * r + 587 * g + 114 * b) // 1000
        else:
            out[x] = (299 * px[0] + 587 * px[1] + 114 * px[2]) // 1000
    return out


def png_to_y4m(png: bytes, out: Path, width: int = 640, height: int = 480, frames: int = 2) -> None:
    """Writes a `frames`-frame 4:2:0 Y4M of the PNG centred on white, its
    longer side scaled to 90% of the frame's shorter one."""
    w, h, rows = read_png(png)
    side = int(min(width, height) * 0.9)
    scale = side / max(w, h)
    dw, dh = int(w * scale), int(h * scale)
    x0, y0 = (width - dw) // 2, (height - dh) // 2
    luma = bytearray(b"\xff" * (width * height))
    for y in range(dh):
        src = rows[min(h - 1, int(y / scale))]
        base = (y0 + y) * width + x0
        for x in range(dw):
            luma[base + x] = src[min(w - 1, int(x / scale))]
    chroma = b"\x80" * ((width // 2) * (height // 2))
    with open(out, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            f.write(b"FRAME\n")
            f.write(luma)
            f.write(chroma)
            f.write(chroma)
