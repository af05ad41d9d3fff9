#!/usr/bin/python3
"""Writes the .npy/.npz fixtures of tests/io_npy_test.cpp and tests/io_zip_test.cpp.

Run with a Python that has numpy (on the dev box: /usr/bin/python3):

    /usr/bin/python3 tools/make_io_fixtures.py

Good files go to testdata/io/, deliberately broken ones to testdata/io/bad/.
The output is deterministic (zip timestamps are pinned), and the files are
committed: the tests never need Python. The values come from simple formulas
that the C++ tests spell out again.
"""

import contextlib
import io
import os
import shutil
import struct
import time
import warnings
import zipfile
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata", "io")
BAD = os.path.join(OUT, "bad")

FIXED_EPOCH = 1577836800  # 2020-01-01 00:00:00 UTC: the timestamp of every zip member

# Six values per dtype, stored as shape (2, 3); tests/io_npy_test.cpp repeats them.
VALUES = {
    "f2": [0.0, 1.5, -2.25, 65504.0, 2.0**-14, 2.0**-24],
    "f4": [0.0, 1.5, -2.25, 3.4028234663852886e38, 2.0**-149, 0.1],
    "f8": [0.0, 1.5, -2.25, 1.7976931348623157e308, 5e-324, 0.1],
    "i1": [-128, -1, 0, 1, 42, 127],
    "i2": [-32768, -1, 0, 1, 300, 32767],
    "i4": [-(2**31), -1, 0, 1, 70000, 2**31 - 1],
    "i8": [-(2**63), -1, 0, 1, 2**40 + 3, 2**63 - 1],
    "u1": [0, 1, 2, 127, 128, 255],
    "u2": [0, 1, 256, 32768, 65534, 65535],
    "u4": [0, 1, 65536, 2**31, 2**32 - 2, 2**32 - 1],
    "u8": [0, 1, 2**32, 2**63, 2**64 - 2, 2**64 - 1],
    "b1": [True, False, False, True, True, False],
}


def path(name):
    return os.path.join(BAD if name.startswith("bad/") else OUT, name.split("/", 1)[-1])


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def npy_of(array, version=None, allow_pickle=False):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, array, allow_pickle=allow_pickle)
    else:
        np.lib.format.write_array(buf, array, version=version, allow_pickle=allow_pickle)
    return buf.getvalue()


def save(name, array, version=None, allow_pickle=False):
    data = npy_of(array, version, allow_pickle)
    write(name, data)
    if not name.startswith("bad/"):  # numpy must read back what it wrote
        back = np.load(path(name), allow_pickle=allow_pickle)
        assert back.dtype == array.dtype and back.shape == array.shape, name
        assert np.array_equal(back, array, equal_nan=array.dtype.kind == "f"), name
    return data


def raw_npy(header, data=b"", version=(1, 0), pad=True):
    """A hand-made .npy: `header` is the dict text, padded as numpy pads it."""
    header = header.encode("utf-8" if version == (3, 0) else "latin1")
    length_bytes = 2 if version == (1, 0) else 4
    if pad:
        total = 6 + 2 + length_bytes + len(header) + 1
        header += b" " * (-total % 64) + b"\n"
    prefix = b"\x93NUMPY" + bytes(version)
    prefix += struct.pack("<H" if length_bytes == 2 else "<I", len(header))
    return prefix + header + data


def header_of(npy_bytes):
    end = npy_bytes.index(b"}")
    return npy_bytes[10 : end + 1].decode("latin1")


@contextlib.contextmanager
def pinned_clock():
    """Makes zipfile stamp every member with FIXED_EPOCH in UTC."""
    old_tz = os.environ.get("TZ")
    old_time = time.time
    os.environ["TZ"] = "UTC"
    time.tzset()
    time.time = lambda: float(FIXED_EPOCH)
    try:
        yield
    finally:
        time.time = old_time
        if old_tz is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old_tz
        time.tzset()


# ---------------------------------------------------------------------------
# Minimal zip inspection and hand-made archives, for patching and zip64 cases.


def zip_entries(data):
    """(central header offset, local header offset, name) of each member of an archive without comment."""
    eocd = len(data) - 22
    assert data[eocd : eocd + 4] == b"PK\x05\x06"
    count, _cd_size, cd_offset = struct.unpack_from("<HII", data, eocd + 10)
    entries, pos = [], cd_offset
    for _ in range(count):
        assert data[pos : pos + 4] == b"PK\x01\x02"
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        local = struct.unpack_from("<I", data, pos + 42)[0]
        entries.append((pos, local, data[pos + 46 : pos + 46 + name_len].decode()))
        pos += 46 + name_len + extra_len + comment_len
    return entries


def local_data_offset(data, local):
    name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
    return local + 30 + name_len + extra_len


def patch(data, offset, fmt, value):
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def handmade_zip(members, zip64_eocd=False, zip64_central=False, declared_sizes=None):
    """A zip of (name, payload, method) members written by hand.

    zip64_central puts 0xFFFFFFFF in every central size/offset field and the
    real values in a zip64 extra field; zip64_eocd adds the zip64 end record
    and locator (and marks the classic end record's fields as deferred).
    declared_sizes overrides the uncompressed size each member declares.
    """
    dos_time, dos_date = 0, (2020 - 1980) << 9 | 1 << 5 | 1
    out, central = bytearray(), bytearray()
    for index, (name, payload, method) in enumerate(members):
        name_b = name.encode()
        crc = zlib.crc32(payload)
        if method == 8:
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            stored = comp.compress(payload) + comp.flush()
        else:
            stored = payload
        size = len(payload) if declared_sizes is None else declared_sizes[index]
        offset = len(out)
        local_extra = struct.pack("<HHQQ", 1, 16, size, len(stored))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, dos_time, dos_date, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(name_b), len(local_extra))
        out += name_b + local_extra + stored
        if zip64_central:
            extra = struct.pack("<HHQQQ", 1, 24, size, len(stored), offset)
            sizes = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        else:
            extra = b""
            sizes = (len(stored), size, offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, dos_time, dos_date,
                               crc, sizes[0], sizes[1], len(name_b), len(extra), 0, 0, 0, 0o644 << 16,
                               sizes[2])
        central += name_b + extra
    cd_offset = len(out)
    out += central
    count = len(members)
    if zip64_eocd:
        zip64_offset = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(central), cd_offset)
        out += struct.pack("<IIQI", 0x07064B50, 0, zip64_offset, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), cd_offset, 0)
    return bytes(out)


# ---------------------------------------------------------------------------
# Good .npy files.


def good_npy():
    for dt, values in VALUES.items():
        base = np.array(values, dtype="<" + dt).reshape(2, 3)
        save(f"{dt}_le_c.npy", base)
        save(f"{dt}_be_c.npy", base.astype(">" + dt))

    special = [np.inf, -np.inf, np.nan, -0.0, 2.0**-20, 0.333251953125, -65504.0, 3 * 2.0**-24]
    save("f2_special_le.npy", np.array(special, dtype="<f2"))
    save("f2_special_be.npy", np.array(special, dtype=">f2"))

    # Fortran order: after normalisation to C order every element i equals f(i).
    def fortran(name, shape, dtype, values):
        a = np.asfortranarray(np.array(values, dtype=dtype).reshape(shape))
        data = save(name, a)
        assert "'fortran_order': True" in header_of(data), name

    fortran("f8_le_f_2d.npy", (2, 3), "<f8", np.arange(6))
    fortran("f4_be_f_3d.npy", (2, 3, 4), ">f4", np.arange(24))
    fortran("i2_be_f_3d.npy", (2, 3, 4), ">i2", np.arange(24) - 12)
    fortran("u1_f_3d.npy", (3, 2, 4), "|u1", np.arange(24) * 10)
    fortran("i8_le_f_4d.npy", (2, 1, 3, 2), "<i8", np.arange(12) - 5)
    fortran("f2_be_f_2d.npy", (3, 2), ">f2", np.arange(6) * 0.5)
    fortran("b1_f_2d.npy", (2, 3), "|b1", np.arange(6) % 3 == 0)

    # Format versions.
    save("f4_v2.npy", np.arange(5, dtype="<f4"), version=(2, 0))
    save("f4_v3.npy", np.arange(5, dtype="<f4"), version=(3, 0))
    save("i2_be_f_v2.npy", np.asfortranarray(np.arange(6, dtype=">i2").reshape(2, 3)), version=(2, 0))

    # 0-d and zero-size arrays.
    save("scalar_f8.npy", np.array(3.25))
    save("scalar_i8_be.npy", np.array(-7, dtype=">i8"))
    save("scalar_b1.npy", np.array(True))
    save("empty_f4_0x4.npy", np.zeros((0, 4), dtype="<f4"))
    save("empty_i8_3x0.npy", np.zeros((3, 0), dtype="<i8"))
    save("empty_u1_0.npy", np.zeros((0,), dtype="|u1"))
    write("empty_f8_f_0x3.npy",
          raw_npy("{'descr': '<f8', 'fortran_order': True, 'shape': (0, 3), }"))
    assert np.load(path("empty_f8_f_0x3.npy")).shape == (0, 3)

    # Text.
    save("text_u.npy", np.array("h\u00e9llo \u2713 \U0001d11e"))
    save("text_u_padded.npy", np.array("ab", dtype="<U6"))
    save("text_u_be.npy", np.array("h\u00e9llo \u2713", dtype=">U10"))
    save("text_u_1d.npy", np.array(["solo"]))
    save("text_u_empty.npy", np.array(""))
    save("text_s.npy", np.array(b"hello", dtype="S8"))

    # Hand-made headers that numpy reads too.
    write("py2_long_shape.npy",
          raw_npy("{'descr': '<i4', 'fortran_order': False, 'shape': (3L, 2L), }",
                  np.arange(6, dtype="<i4").tobytes()))
    write("double_quotes_reordered.npy",
          raw_npy('{"shape": (2,), "fortran_order": False, "descr": "<f8"}',
                  np.array([1.25, -8.5]).tobytes()))
    write("native_order_f4.npy",
          raw_npy("{'descr': '=f4', 'fortran_order': False, 'shape': (2, 1), }",
                  np.array([7.0, -1.0], dtype="<f4").tobytes()))
    for name in ("py2_long_shape.npy", "double_quotes_reordered.npy", "native_order_f4.npy"):
        np.load(path(name))

    # What npy_bytes() must reproduce byte for byte.
    save("written_by_numpy_f4.npy", (np.arange(12, dtype="<f4") * 0.25 - 1).reshape(3, 4))
    save("written_by_numpy_f8.npy", (np.arange(8, dtype="<f8") * 1.5 - 3).reshape(2, 2, 2))
    save("written_by_numpy_i8.npy", np.array([-3, 0, 7, 2**40, -(2**63), 2**63 - 1], dtype="<i8"))
    save("written_by_numpy_f8_0d.npy", np.array(2.5))
    save("written_by_numpy_f4_0x3.npy", np.zeros((0, 3), dtype="<f4"))
    save("written_by_numpy_f4_130.npy", np.arange(130, dtype="<f4") / 8)


# ---------------------------------------------------------------------------
# Bad .npy files.


def bad_npy():
    good = npy_of(np.arange(12, dtype="<f4").reshape(3, 4))
    write("bad/truncated_data.npy", good[:-5])
    write("bad/truncated_header.npy", good[:40])
    write("bad/truncated_preamble.npy", good[:7])
    write("bad/bad_magic.npy", b"\x93NUMPX" + good[6:])
    write("bad/text_file.npy", b"priors = [[1, 2, 3, 4]]\n")
    write("bad/empty.npy", b"")
    write("bad/bad_version.npy", good[:6] + bytes([9, 0]) + good[8:])
    write("bad/trailing_bytes.npy", good + b"\0" * 7)

    data = np.arange(3, dtype="<f4").tobytes()
    headers = {
        "header_missing_shape": "{'descr': '<f4', 'fortran_order': False, }",
        "header_garbage": "this is not a dict at all",
        "header_not_dict": "[('descr', '<f4')]",
        "header_unknown_key": "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'order': 'C', }",
        "header_duplicate_key": "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'shape': (3,), }",
        "header_negative_dim": "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }",
        "header_float_dim": "{'descr': '<f4', 'fortran_order': False, 'shape': (3.0,), }",
        "header_shape_list": "{'descr': '<f4', 'fortran_order': False, 'shape': [3], }",
        "header_fortran_not_bool": "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }",
        "header_unterminated": "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), ",
        "header_unterminated_string": "{'descr': '<f4, 'fortran_order': False, 'shape': (3,), }",
        "header_huge_dim": "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
        "header_deep_nesting": "{'descr': '<f4', 'fortran_order': False, 'shape': "
        + "(" * 200 + "3," + ")" * 200 + ", }",
        "pipe_f4": "{'descr': '|f4', 'fortran_order': False, 'shape': (3,), }",
        "float128": "{'descr': '<f16', 'fortran_order': False, 'shape': (3,), }",
        "overflow_shape": "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }",
        "overflow_bytes": "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976, 4), }",
        "terabyte": "{'descr': '<f4', 'fortran_order': False, 'shape': (274877906944,), }",
    }
    for name, header in headers.items():
        write(f"bad/{name}.npy", raw_npy(header, data))
    # A header length field that points past the end of a small file.
    write("bad/header_length_past_end.npy", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                                                    data, version=(2, 0))[:8] + struct.pack("<I", 0xFFFFFF00) + b"{")

    save("bad/complex64.npy", np.arange(3, dtype="<c8"))
    save("bad/object.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    save("bad/structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", ">i2")]))
    save("bad/datetime.npy", np.zeros(2, dtype="<M8[ns]"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Stored array in format 3.0"
        data3 = save("bad/structured_unicode_v3.npy", np.zeros(2, dtype=[("\u2713", "<f4")]))
    assert data3[6:8] == b"\x03\x00", "numpy should choose format 3.0 for a non-latin-1 header"


# ---------------------------------------------------------------------------
# Archives.


NPZ_ARRAYS = {
    "priors": np.arange(8, dtype="<f4").reshape(2, 4),
    "gt_labels": np.array([3, 0, 7], dtype="<i8"),
    "meta": np.array('{"version": 1, "source": "fixture \u2713"}'),
}


def good_zip():
    with pinned_clock():
        np.savez(path("savez_stored.npz"), **NPZ_ARRAYS)
        np.savez_compressed(path("savez_deflate.npz"), **NPZ_ARRAYS)
        np.savez(path("savez_empty.npz"))

        # A directory entry, a deflated member and a 300-byte archive comment
        # (the C++ test plants a fake end-of-central-directory signature in it).
        with zipfile.ZipFile(path("zip_dir_comment.npz"), "w") as z:
            z.writestr(zipfile.ZipInfo("sub/", date_time=(2020, 1, 1, 0, 0, 0)), b"")
            info = zipfile.ZipInfo("sub/a.npy", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, npy_of(np.arange(4, dtype="<i8")))
            z.comment = b"assignscope fixture comment " + b"x" * 272

        # Written to an unseekable stream, zipfile uses data descriptors (flag bit 3).
        class Unseekable(io.RawIOBase):
            def __init__(self):
                self.buf = bytearray()

            def writable(self):
                return True

            def write(self, b):
                self.buf += b
                return len(b)

        sink = Unseekable()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as z:
            with z.open("priors.npy", "w") as f:
                f.write(npy_of(NPZ_ARRAYS["priors"]))
        write("zip_data_descriptor.npz", bytes(sink.buf))
        flags = struct.unpack_from("<H", sink.buf, 6)[0]
        assert flags & 8, "expected a data descriptor"

    member = npy_of(np.arange(3, dtype="<f8"))
    write("zip64_records.npz", handmade_zip([("x.npy", member, 0), ("y.npy", member, 8)],
                                            zip64_eocd=True, zip64_central=True))
    for name in ("savez_stored.npz", "savez_deflate.npz", "zip_dir_comment.npz",
                 "zip_data_descriptor.npz", "zip64_records.npz"):
        with zipfile.ZipFile(path(name)) as z:
            assert z.testzip() is None, name
    np.load(path("zip64_records.npz"))["x"]


def bad_zip():
    with open(path("savez_stored.npz"), "rb") as f:
        stored = f.read()
    with open(path("savez_deflate.npz"), "rb") as f:
        deflated = f.read()
    stored_entries = zip_entries(stored)
    deflate_entries = zip_entries(deflated)

    write("bad/not_a_zip.npz", b"this is not a zip archive\n" * 3)
    write("bad/truncated.npz", stored[: len(stored) // 2])
    write("bad/truncated_tail.npz", stored[:-10])

    # Flip the last data byte of the stored member gt_labels.npy.
    central, local, name = stored_entries[1]
    assert name == "gt_labels.npy"
    size = struct.unpack_from("<I", stored, central + 20)[0]
    last = local_data_offset(stored, local) + size - 1
    write("bad/crc_mismatch.npz", stored[:last] + bytes([stored[last] ^ 0x01]) + stored[last + 1 :])

    central, local, _ = stored_entries[0]
    write("bad/method_bzip2.npz", patch(patch(stored, local + 8, "<H", 12), central + 10, "<H", 12))
    encrypted = patch(stored, local + 6, "<H", 1)
    write("bad/encrypted.npz", patch(encrypted, central + 8, "<H", 1))
    write("bad/multidisk.npz", patch(stored, len(stored) - 22 + 4, "<H", 1))
    write("bad/bad_local_offset.npz", patch(stored, central + 42, "<I", 0x7FFFFFF0))
    write("bad/cd_out_of_bounds.npz", patch(stored, len(stored) - 22 + 16, "<I", len(stored) + 100))

    central, local, name = deflate_entries[0]
    assert name == "priors.npy"
    real = struct.unpack_from("<I", deflated, central + 24)[0]
    write("bad/inflate_overrun.npz", patch(deflated, central + 24, "<I", real - 10))
    write("bad/inflate_short.npz", patch(deflated, central + 24, "<I", real + 10))
    start = local_data_offset(deflated, local)
    write("bad/bad_deflate.npz", deflated[:start] + b"\xff" + deflated[start + 1 :])

    member = npy_of(np.arange(3, dtype="<f8"))
    write("bad/huge_member.npz", handmade_zip([("huge.npy", member, 8)], zip64_central=True,
                                              declared_sizes=[2**40]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with pinned_clock(), zipfile.ZipFile(path("bad/duplicate_names.npz"), "w") as z:
            z.writestr(zipfile.ZipInfo("a.npy", date_time=(2020, 1, 1, 0, 0, 0)), member)
            z.writestr(zipfile.ZipInfo("a.npy", date_time=(2020, 1, 1, 0, 0, 0)), member)


def main():
    for d in (OUT, BAD):
        if os.path.isdir(d):
            shutil.rmtree(d)
    os.makedirs(BAD)
    good_npy()
    bad_npy()
    good_zip()
    bad_zip()
    count = sum(len(files) for _, _, files in os.walk(OUT))
    print(f"wrote {count} files under {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
