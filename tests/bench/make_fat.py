#!/usr/bin/python3
"""make_fat.py DIR [MIB] - a level-0 IIIF 2 tree of 2048x1024 in 512-px tiles
whose every tile is a JPEG of MIB MiB (default 16): a 512x512 noise image
padded after its SOI with COM segments, which a decoder skips. The pixels
are small; the bodies are not. For the memory benchmark: what a cap does
when tiles are large and many are in flight."""
import os
import sys

import cv2
import numpy as np

out = sys.argv[1]
mib = int(sys.argv[2]) if len(sys.argv) > 2 else 16
W, H, T = 2048, 1024, 512
rng = np.random.default_rng(7)
os.makedirs(out, exist_ok=True)
for y in range(0, H, T):
    for x in range(0, W, T):
        px = rng.integers(0, 256, size=(T, T, 3), dtype=np.uint8)
        ok, jpg = cv2.imencode(".jpg", px, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        jpg = jpg.tobytes()
        pad = bytearray()
        left = mib * 1024 * 1024 - len(jpg)
        while left > 4:
            n = min(65533, left - 4)
            pad += b"\xff\xfe" + (n + 2).to_bytes(2, "big") + b"\0" * n
            left -= n + 4
        d = os.path.join(out, "%d,%d,%d,%d" % (x, y, T, T), "%d," % T, "0")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "default.jpg"), "wb") as f:
            f.write(jpg[:2] + bytes(pad) + jpg[2:])
with open(os.path.join(out, "info.json"), "w") as f:
    f.write('{"@context": "http://iiif.io/api/image/2/context.json", "@id": "fat", '
            '"protocol": "http://iiif.io/api/image", "width": %d, "height": %d, '
            '"profile": ["http://iiif.io/api/image/2/level0.json"], '
            '"tiles": [{"width": %d, "scaleFactors": [1]}]}\n' % (W, H, T))
