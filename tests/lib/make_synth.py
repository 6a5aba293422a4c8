#!/usr/bin/env python3
"""make_synth.py W H OUT.pgm [SEED]

Write a W x H grayscale binary PGM for fault_server.py --synth: every 8x8 block (counted
from the top left) has one value drawn from a seeded generator, so a shifted, swapped or
mirrored tile changes pixels, and a quality-100 JPEG of any region that starts on a multiple
of 8 decodes back to exactly these values (each block is DC only).
"""
import sys

import numpy as np


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.split("\n\n")[0])
    w, h = int(sys.argv[1]), int(sys.argv[2])
    seed = int(sys.argv[4]) if len(sys.argv) == 5 else 1
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=((h + 7) // 8, (w + 7) // 8), dtype=np.uint8)
    img = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)[:h, :w]
    with open(sys.argv[3], "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (w, h))
        f.write(np.ascontiguousarray(img).tobytes())


if __name__ == "__main__":
    main()
