#!/usr/bin/python3
"""Golden values for explain/image_io.ts: what Keras' load_img gives, computed with PIL.

keras.utils.load_img(path, color_mode, target_size) is (keras/src/utils/image_utils.py):
    img = PIL.Image.open(io.BytesIO(open(path, 'rb').read()))
    color_mode 'rgb':       if img.mode != 'RGB': img = img.convert('RGB')
    color_mode 'grayscale': if img.mode not in ('L', 'I;16', 'I'): img = img.convert('L')
    if target_size and img.size != (w, h): img = img.resize((w, h), PIL.Image.NEAREST)
and img_to_array(img) is np.asarray(img, dtype='float32'). `load_img` below is that code.

Writes into test/golden/:
  png/*.png          small PNGs in every colour type / bit depth (written here byte by byte)
  jpeg/*.jpg         37×23 JPEGs written by PIL: 4:4:4, 4:2:2, 4:2:0, progressive 4:2:0, grey
  load_img.json      for each PNG fixture: PIL's mode and the RGB / grayscale pixels;
                     for each image in ../shared/data/images (when present): size, mode, and the
                     224×224 RGB load_img result sampled every 7th row and column, and sha256 of
                     the whole 224×224×3 array; PIL's NEAREST source indices for some sizes.

Run (Debian 12: python3-pil 9.4, libjpeg-turbo 2.1.5):  /usr/bin/python3 scripts/reference/load_img_golden.py
"""
import hashlib
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'golden')
IMAGES = os.path.join(os.path.dirname(ROOT), 'shared', 'data', 'images')


def load_img(path, color_mode='rgb', target_size=None):
    with open(path, 'rb') as f:
        img = Image.open(io.BytesIO(f.read()))
    if color_mode == 'grayscale':
        if img.mode not in ('L', 'I;16', 'I'):
            img = img.convert('L')
    elif color_mode == 'rgb':
        if img.mode != 'RGB':
            img = img.convert('RGB')
    if target_size is not None:
        wh = (target_size[1], target_size[0])
        if img.size != wh:
            img = img.resize(wh, Image.NEAREST)
    return img


def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width, height, depth, color_type, rows, extra=()):
    """rows: list of per-row sample lists (already packed for depth < 8)."""
    raw = b''.join(b'\x00' + bytes(r) for r in rows)
    ihdr = struct.pack('>IIBBBBB', width, height, depth, color_type, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + b''.join(chunk(k, d) for k, d in extra) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')


def samples16(vals):
    return [b for v in vals for b in struct.pack('>H', v)]


def pack_bits(vals, depth):
    out, acc, n = [], 0, 0
    for v in vals:
        acc = (acc << depth) | v
        n += depth
        if n == 8:
            out.append(acc)
            acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return out


def fixtures():
    rng = np.random.RandomState(4)
    W, H = 7, 5
    f = {}
    g8 = rng.randint(0, 256, (H, W))
    f['grey8'] = png_bytes(W, H, 8, 0, g8.tolist())
    g16 = rng.randint(0, 65536, (H, W))
    g16[0, :3] = [0, 200, 255]  # some values PIL keeps as they are when clipping
    f['grey16'] = png_bytes(W, H, 16, 0, [samples16(r) for r in g16])
    g4 = rng.randint(0, 16, (H, W))
    f['grey4'] = png_bytes(W, H, 4, 0, [pack_bits(r, 4) for r in g4])
    g1 = rng.randint(0, 2, (H, W))
    f['grey1'] = png_bytes(W, H, 1, 0, [pack_bits(r, 1) for r in g1])
    c8 = rng.randint(0, 256, (H, W, 3))
    f['rgb8'] = png_bytes(W, H, 8, 2, [r.reshape(-1).tolist() for r in c8])
    # tRNS colour key on an RGB image: PIL keeps the colour (alpha is dropped by convert('RGB')).
    key = c8[1, 2]
    f['rgb8_trns'] = png_bytes(W, H, 8, 2, [r.reshape(-1).tolist() for r in c8], [(b'tRNS', struct.pack('>HHH', *key))])
    f['grey8_trns'] = png_bytes(W, H, 8, 0, g8.tolist(), [(b'tRNS', struct.pack('>H', g8[2, 3]))])
    c16 = rng.randint(0, 65536, (H, W, 3))
    f['rgb16'] = png_bytes(W, H, 16, 2, [samples16(r.reshape(-1)) for r in c16])
    a8 = rng.randint(0, 256, (H, W, 4))
    f['rgba8'] = png_bytes(W, H, 8, 6, [r.reshape(-1).tolist() for r in a8])
    a16 = rng.randint(0, 65536, (H, W, 4))
    f['rgba16'] = png_bytes(W, H, 16, 6, [samples16(r.reshape(-1)) for r in a16])
    la8 = rng.randint(0, 256, (H, W, 2))
    f['la8'] = png_bytes(W, H, 8, 4, [r.reshape(-1).tolist() for r in la8])
    la16 = rng.randint(0, 65536, (H, W, 2))
    f['la16'] = png_bytes(W, H, 16, 4, [samples16(r.reshape(-1)) for r in la16])
    pal = rng.randint(0, 256, (6, 3))
    idx = rng.randint(0, 6, (H, W))
    f['palette8'] = png_bytes(W, H, 8, 3, idx.tolist(), [(b'PLTE', bytes(pal.reshape(-1).tolist())), (b'tRNS', bytes([0, 128, 255]))])
    f['palette2'] = png_bytes(W, H, 2, 3, [pack_bits([v % 4 for v in r], 2) for r in idx], [(b'PLTE', bytes(pal[:4].reshape(-1).tolist()))])
    return f


def jpeg_fixtures():
    """Small JPEGs (odd size, so the edges of chroma upsampling matter) in each sampling PIL writes."""
    rng = np.random.RandomState(5)
    H, W = 23, 37
    y, x = np.mgrid[0:H, 0:W]
    img = np.stack([x * 255 / W, y * 255 / H, 128 + 100 * np.sin(x / 3.0 + y / 5.0)], -1) + rng.normal(0, 20, (H, W, 3))
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), 'RGB')
    out = {}
    for name, kw, src in [
        ('s444', dict(subsampling=0), im),
        ('s422', dict(subsampling=1), im),
        ('s420', dict(subsampling=2), im),
        ('s420_progressive', dict(subsampling=2, progressive=True), im),
        ('grey', {}, im.convert('L')),
    ]:
        buf = io.BytesIO()
        src.save(buf, 'JPEG', quality=90, **kw)
        out[name] = buf.getvalue()
    return out


def main():
    os.makedirs(os.path.join(OUT, 'png'), exist_ok=True)
    os.makedirs(os.path.join(OUT, 'jpeg'), exist_ok=True)
    doc = {
        'source': 'scripts/reference/load_img_golden.py with Pillow %s, numpy %s' % (PIL.__version__, np.__version__),
        'png': {},
        'images': {},
        'nearest': {},
    }
    for name, data in fixtures().items():
        path = os.path.join(OUT, 'png', name + '.png')
        with open(path, 'wb') as fh:
            fh.write(data)
        im = Image.open(path)
        rgb = np.asarray(load_img(path), dtype=np.float32)
        grey = np.asarray(load_img(path, 'grayscale'), dtype=np.float32)
        doc['png'][name] = {
            'mode': im.mode,
            'size': list(im.size),
            'rgb': rgb.reshape(-1).astype(int).tolist(),
            'grayscale': grey.reshape(-1).astype(int).tolist(),
            'grayscale_10x3': np.asarray(load_img(path, 'grayscale', (3, 10)), dtype=np.float32).reshape(-1).astype(int).tolist(),
        }
    doc['jpeg'] = {}
    for name, data in jpeg_fixtures().items():
        path = os.path.join(OUT, 'jpeg', name + '.jpg')
        with open(path, 'wb') as fh:
            fh.write(data)
        im = Image.open(path)
        doc['jpeg'][name] = {
            'mode': im.mode,
            'size': list(im.size),
            'rgb': np.asarray(load_img(path), dtype=np.float32).reshape(-1).astype(int).tolist(),
        }
    if os.path.isdir(IMAGES):
        for name in sorted(os.listdir(IMAGES)):
            path = os.path.join(IMAGES, name)
            im = Image.open(path)
            x = np.asarray(load_img(path, target_size=(224, 224)), dtype=np.uint8)
            g = np.asarray(load_img(path, 'grayscale', (28, 28)), dtype=np.uint8)
            doc['images'][name] = {
                'mode': im.mode,
                'size': list(im.size),
                'rgb224_sha256': hashlib.sha256(x.tobytes()).hexdigest(),
                'rgb224_every7': x[::7, ::7].reshape(-1).astype(int).tolist(),
                'grey28': g.reshape(-1).astype(int).tolist(),
            }
    else:
        print('no %s: real images left out' % IMAGES, file=sys.stderr)
    for src, dst in [(2, 7), (4, 7), (7, 2), (398, 224), (500, 224), (640, 224), (480, 224), (1200, 224), (177, 224), (284, 224), (14, 640), (3, 1000)]:
        a = np.arange(src, dtype=np.int32).reshape(1, src)
        doc['nearest']['%d>%d' % (src, dst)] = np.asarray(Image.fromarray(a, mode='I').resize((dst, 1), Image.NEAREST))[0].tolist()
    with open(os.path.join(OUT, 'load_img.json'), 'w') as fh:
        json.dump(doc, fh, separators=(',', ':'))
    print('wrote', os.path.join(OUT, 'load_img.json'))


if __name__ == '__main__':
    main()
