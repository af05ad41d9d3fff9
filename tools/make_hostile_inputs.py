#!/usr/bin/python3
"""Writes the hostile inputs of docs/reliability.md into OUT_DIR (default
/tmp/assignscope-hostile), each a few KiB to a few MiB on disk while claiming
far more; `assignscope run <input> -a atss` must refuse each with one line
and exit 2. The same cases, built in C++, are tests/hostile_sizes_test.cpp.

  terabyte-header/       priors.npy: header (2^38,) <f4 (1 TiB), 12 data bytes
  terabyte-sparse/       cls_scores.npy: the same header, and a sparse 1 TiB body
  overflow-shape/        priors.npy: shape (2^32, 2^32, 4), whose size overflows 64 bits
  zip-claims-terabyte.npz  a 60-byte deflate member declaring 1 TiB
  bomb-honest.npz        4 GiB of zeros in ~4 MiB: header and directory both say 4 GiB
  bomb-lying-header.npz  the directory says 4 GiB, the .npy header 16 floats
  bomb-overrun.npz       header and directory say 16 floats; the data inflates to 4 GiB
  batch-2e40-empty/      gt_bboxes (2^40, 0, 4), gt_labels (2^40, 0): 2^40 empty images
  big-nested.json        a 64 MiB JSON text of nested lists (~3.7 GiB once parsed)
"""
import os
import shutil
import struct
import sys
import zlib

MIB = 1 << 20


def npy_header(descr, shape):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    pad = (64 - (10 + len(d) + 1) % 64) % 64
    d = d + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode()


def deflate_bomb(head, zeros):
    """Raw deflate of head + `zeros` zero bytes (a multiple of 1 MiB): one
    full-flushed block of 1 MiB of zeros, repeated; and its CRC-32."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MIB)) + c.flush(zlib.Z_FULL_FLUSH)
    stream += block * (zeros // MIB) + c.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    mib_crc_state = crc
    zero = bytes(MIB)
    for _ in range(zeros // MIB):
        mib_crc_state = zlib.crc32(zero, mib_crc_state)
    return stream, mib_crc_state


def zip_archive(members):
    """members: (name, method, crc, data, declared_size); zip64 sizes in every header."""
    out, directory = b"", b""
    for name, method, crc, data, declared in members:
        offset = len(out)
        name = name.encode()
        local_extra = struct.pack("<HHQQ", 1, 16, declared, len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                           len(name), len(local_extra)) + name + local_extra + data
        cd_extra = struct.pack("<HHQQQ", 1, 24, declared, len(data), offset)
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0, crc, 0xFFFFFFFF,
                                 0xFFFFFFFF, len(name), len(cd_extra), 0, 0, 0, 0, 0xFFFFFFFF) + name + cd_extra
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), len(out), 0)
    return out + directory + end


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/assignscope-hostile"
    if os.path.exists(out):
        shutil.rmtree(out)
    tb = npy_header("<f4", "(274877906944,)")
    write(os.path.join(out, "terabyte-header", "priors.npy"), tb + bytes(12))
    sparse = os.path.join(out, "terabyte-sparse", "cls_scores.npy")
    write(sparse, tb)
    os.truncate(sparse, len(tb) + (1 << 40))
    write(os.path.join(out, "overflow-shape", "priors.npy"), npy_header("<f4", "(4294967296, 4294967296, 4)"))

    small, _ = deflate_bomb(npy_header("<f4", "(2, 4)"), 0)
    write(os.path.join(out, "zip-claims-terabyte.npz"),
          zip_archive([("priors.npy", 8, 0, (small + bytes(60))[:60], 1 << 40)]))

    zeros = 4 << 30
    big_head = npy_header("<f4", "(1073741824,)")
    bomb, crc = deflate_bomb(big_head, zeros)
    write(os.path.join(out, "bomb-honest.npz"), zip_archive([("cls_scores.npy", 8, crc, bomb, len(big_head) + zeros)]))
    small_head = npy_header("<f4", "(16,)")
    lying, crc2 = deflate_bomb(small_head, zeros)
    write(os.path.join(out, "bomb-lying-header.npz"),
          zip_archive([("cls_scores.npy", 8, crc2, lying, len(big_head) + zeros)]))
    write(os.path.join(out, "bomb-overrun.npz"),
          zip_archive([("cls_scores.npy", 8, crc2, lying, len(small_head) + 64)]))

    write(os.path.join(out, "batch-2e40-empty", "gt_bboxes.npy"), npy_header("<f4", "(1099511627776, 0, 4)"))
    write(os.path.join(out, "batch-2e40-empty", "gt_labels.npy"), npy_header("<i8", "(1099511627776, 0)"))

    unit = b"[[[[0]]]], "
    text = b'{"priors": [' + unit * (64 * MIB // len(unit)) + b"[[[[0]]]]]}"
    write(os.path.join(out, "big-nested.json"), text)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
