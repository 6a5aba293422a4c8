#!/usr/bin/python3
"""Generate a deterministic, photo-like RGB test image as binary PPM.

usage: make_image.py WIDTH HEIGHT SEED OUT.ppm

The image is built strip by strip and streamed to OUT.ppm, so memory stays
well under 1 GB even for very tall images.  Content, chosen so that tiles
JPEG-compress roughly like a photograph (mean ~19 KB, 10th-90th percentile
~12-25 KB per full 256x256 tile at Q=85):
  * 1/f-style multi-octave colour noise with correlated channels
    (smooth gradients at every scale, like natural scenes),
  * fine texture (foliage/gravel-like) whose strength varies smoothly
    across the image, so some tiles are flat like sky and some busy,
  * low-frequency sines,
  * hard-edged, semi-transparent shapes (object boundaries),
  * light sensor-like grain.
The same WIDTH/HEIGHT/SEED always gives the same bytes.
"""
import sys

import cv2
import numpy as np

STRIP = 512      # rows generated at a time
DETAIL = 75.0    # strength of the fine texture
SHAPE_ALPHA = 0.6


def upsample_var(cell):
    """Variance of unit white noise after INTER_CUBIC upsampling by `cell`."""
    cell = min(cell, 32)  # converged by then; keeps the estimate cheap
    r = np.random.default_rng(12345)
    g = r.standard_normal((64, 64)).astype(np.float32)
    up = cv2.resize(g, (64 * cell, 64 * cell), interpolation=cv2.INTER_CUBIC)
    c = up[4 * cell:-4 * cell, 4 * cell:-4 * cell]
    return float(c.var())


class Fractal:
    """Sum of bicubically upsampled white-noise grids, amplitude cell**beta,
    normalised to unit variance.  Evaluated one strip of rows at a time; the
    strips join seamlessly because the grids are global."""

    MARGIN = 3  # grid cells of padding around the image (cubic needs 2)

    def __init__(self, rng, h, w, cells, beta, bands):
        self.w, self.bands = w, bands
        self.layers = []
        var = 0.0
        for cell in cells:
            gh, gw = h // cell + 2 * self.MARGIN + 2, w // cell + 2 * self.MARGIN + 2
            grid = rng.standard_normal((gh, gw, bands)).astype(np.float32)
            amp = cell ** beta
            var += amp * amp * upsample_var(cell)
            self.layers.append((cell, amp, grid))
        self.scale = 1.0 / np.sqrt(var)

    def strip(self, y0, y1):
        """Rows y0..y1-1 of the field: cubic interpolation of each grid at
        global coordinates, so strips join seamlessly."""
        M = self.MARGIN
        out = np.zeros((y1 - y0, self.w, self.bands), np.float32)
        for cell, amp, grid in self.layers:
            mx = (np.arange(self.w, dtype=np.float32) + 0.5) / cell - 0.5 + M
            my = (np.arange(y0, y1, dtype=np.float32) + 0.5) / cell - 0.5 + M
            map_x = np.broadcast_to(mx[None, :], (y1 - y0, self.w)).copy()
            map_y = np.broadcast_to(my[:, None], (y1 - y0, self.w)).copy()
            up = cv2.remap(grid, map_x, map_y, cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_REFLECT)
            if up.ndim == 2:
                up = up[..., None]
            out += up * amp
        out *= self.scale
        return out


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    w, h, seed, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rng = np.random.default_rng(seed)

    base = Fractal(rng, h, w, (2048, 1024, 512, 256, 128, 64, 32), 0.8, 3)
    strength_f = Fractal(rng, h, w, (1024, 512, 256), 1.0, 1)
    tex_f = Fractal(rng, h, w, (16, 8, 4, 2), 0.2, 1)
    texcol_f = Fractal(rng, h, w, (32, 8, 2), 0.3, 3)
    mix = np.array([[0.80, 0.45, 0.20],
                    [0.60, 0.65, 0.25],
                    [0.35, 0.55, 0.75]], np.float32)

    shapes = []
    for _ in range(int(w * h / 40000)):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            ax, ay = int(rng.integers(6, 200)), int(rng.integers(6, 200))
            ang = float(rng.uniform(0, 180))
            shapes.append(("e", colour, cx, cy, ax, ay, ang))
        else:
            n = int(rng.integers(3, 7))
            pts = np.stack([cx + rng.integers(-180, 180, n),
                            cy + rng.integers(-180, 180, n)], 1).astype(np.int32)
            shapes.append(("p", colour, pts))
    grain_seed = int(rng.integers(0, 2**63))

    xx = np.arange(w, dtype=np.float32)[None, :]
    with open(out, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        for y0 in range(0, h, STRIP):
            y1 = min(h, y0 + STRIP)
            sh = y1 - y0
            img = base.strip(y0, y1)
            img = (img.reshape(-1, 3) @ (mix.T * 40.0)).reshape(sh, w, 3)
            img += np.array([110, 118, 122], np.float32)

            yy = np.arange(y0, y1, dtype=np.float32)[:, None]
            img += ((np.sin(xx / 331.0) * np.cos(yy / 517.0)) * 16.0)[..., None]

            strength = 0.1 + 0.9 / (1.0 + np.exp(-2.0 * strength_f.strip(y0, y1)))
            tex = tex_f.strip(y0, y1) * (1.0 + 0.35 * texcol_f.strip(y0, y1))
            img += tex * (strength * DETAIL)
            del tex, strength

            layer = np.zeros((sh, w, 3), np.uint8)
            mask = np.zeros((sh, w), np.uint8)
            for s in shapes:
                if s[0] == "e":
                    _, colour, cx, cy, ax, ay, ang = s
                    if cy + max(ax, ay) < y0 or cy - max(ax, ay) >= y1:
                        continue
                    c = (cx, cy - y0)
                    cv2.ellipse(layer, c, (ax, ay), ang, 0, 360, colour, -1, cv2.LINE_AA)
                    cv2.ellipse(mask, c, (ax, ay), ang, 0, 360, 255, -1, cv2.LINE_AA)
                else:
                    _, colour, pts = s
                    if pts[:, 1].max() < y0 or pts[:, 1].min() >= y1:
                        continue
                    p = pts - np.array([0, y0], np.int32)
                    cv2.fillPoly(layer, [p], colour, cv2.LINE_AA)
                    cv2.fillPoly(mask, [p], 255, cv2.LINE_AA)
            m = (mask.astype(np.float32) * (SHAPE_ALPHA / 255.0))[..., None]
            img *= (1.0 - m)
            img += layer.astype(np.float32) * m
            del layer, mask, m

            g = np.random.default_rng([grain_seed, y0])
            img += g.standard_normal((sh, w, 3), dtype=np.float32) * 3.0

            np.clip(img, 0, 255, out=img)
            f.write(img.astype(np.uint8).tobytes())


if __name__ == "__main__":
    main()
