#!/usr/bin/python3
"""Baseline (a): the method of the reference notebook, reproduced faithfully.

usage: seed_method.py URL_OF_INFO_JSON OUT.tif

  * info.json fetched with requests.get,
  * every scale-factor-1 tile fetched with its own requests.get (no Session,
    so a new TCP connection per tile), in raster order,
  * IIIF Image API v2 URL form {base}/{x},{y},{w},{h}/{w},/0/default.jpg
    (region clipped to the image, size "w,"; region "full" when the box is
    the whole image), as libvips dzsave --layout iiif names level 0,
  * each tile decoded with cv2.imdecode and pasted into one numpy array that
    holds the whole image,
  * cv2.imwrite(OUT.tif) with OpenCV's default TIFF settings.

The base URL is the fetched URL minus "/info.json": dzsave trees carry
"@id": "https://example.com/iiif/<name>", which is not where they are served.
Runs under Debian's /usr/bin/python3 (python3-requests, python3-opencv,
python3-numpy).
"""
import sys

import cv2
import numpy as np
import requests


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: seed_method.py URL_OF_INFO_JSON OUT.tif")
    info_url, out = sys.argv[1], sys.argv[2]
    if not info_url.endswith("/info.json"):
        sys.exit("seed_method: SOURCE must end in /info.json")
    base = info_url[:-len("/info.json")]

    r = requests.get(info_url)
    r.raise_for_status()
    info = r.json()
    W, H = int(info["width"]), int(info["height"])
    tiles = info.get("tiles") or [{"width": 256}]
    tw = int(tiles[0]["width"])
    th = int(tiles[0].get("height", tw))

    img = np.zeros((H, W, 3), dtype=np.uint8)
    for y in range(0, H, th):
        for x in range(0, W, tw):
            w = min(tw, W - x)
            h = min(th, H - y)
            if x == 0 and y == 0 and w == W and h == H:
                region = "full"
            else:
                region = "%d,%d,%d,%d" % (x, y, w, h)
            url = "%s/%s/%d,/0/default.jpg" % (base, region, w)
            resp = requests.get(url)
            resp.raise_for_status()
            tile = cv2.imdecode(np.frombuffer(resp.content, np.uint8),
                                cv2.IMREAD_COLOR)
            if tile is None:
                sys.exit("seed_method: cannot decode " + url)
            img[y:y + tile.shape[0], x:x + tile.shape[1]] = tile

    if not cv2.imwrite(out, img):
        sys.exit("seed_method: cannot write " + out)


if __name__ == "__main__":
    main()
