#!/usr/bin/env python3
"""Draws the site's icons (a honey hexagon holding a leaf-green one, as favicon.svg does) with the
standard library only: favicon.ico (32 px) and apple-touch-icon.png (180 px). Run from this folder."""
import math, struct, zlib

HONEY, LEAF = (0xE8, 0xA3, 0x17), (0x3D, 0x6B, 0x35)

def hexagon(cx, cy, r):
    return [(cx + r * math.cos(math.pi / 3 * k - math.pi / 2), cy + r * math.sin(math.pi / 3 * k - math.pi / 2)) for k in range(6)]

def inside(poly, x, y):
    n, hit = len(poly), False
    for i in range(n):
        (x1, y1), (x2, y2) = poly[i], poly[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit

def draw(size, background=None):
    outer, inner = hexagon(size / 2, size / 2, size * 0.48), hexagon(size / 2, size / 2, size * 0.26)
    rows, s = [], 4
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(s):
                for sx in range(s):
                    x, y = px + (sx + 0.5) / s, py + (sy + 0.5) / s
                    c = LEAF if inside(inner, x, y) else HONEY if inside(outer, x, y) else background
                    if c:
                        acc = [acc[0] + c[0], acc[1] + c[1], acc[2] + c[2], acc[3] + 255]
            n = s * s
            a = acc[3] // n
            row += bytes([acc[0] // max(1, acc[3] // 255), acc[1] // max(1, acc[3] // 255), acc[2] // max(1, acc[3] // 255), a]) if a else bytes(4)
        rows.append(bytes(row))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))

png32 = draw(32)
# An ICO file holding one PNG image, which every current browser reads.
ico = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 32, 32, 0, 0, 1, 32, len(png32), 22) + png32
open("favicon.ico", "wb").write(ico)
open("apple-touch-icon.png", "wb").write(draw(180, background=(0xFB, 0xF8, 0xF1)))
