#!/usr/bin/env python3
"""Generates the zip fixtures used by the archive tests.

Usage: make_fixtures.py [OUTPUT_DIR]   (default: the directory holding this script)

The output is deterministic: fixed timestamps, fixed attributes, fixed entry order and only the standard
library's zipfile and zlib. A test re-runs this script and compares its output with the committed files,
so any change here must be followed by regenerating and committing the fixtures.

Hostile fixtures carry exactly one defect each, so a test can tell which property the reader exposes.
Where zipfile refuses to write the defect, the archive is written clean and its header bytes are patched.
"""

import hashlib
import io
import json
import os
import struct
import sys
import warnings
import zipfile

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
REGULAR = (0o100644 << 16)
DIRECTORY = (0o040755 << 16) | 0x10  # 0x10: MS-DOS directory bit, as zip(1) writes it
SYMLINK = (0o120777 << 16)
UNIX = 3

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"


def info(name, compress=zipfile.ZIP_STORED, attributes=REGULAR):
    zinfo = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    zinfo.compress_type = compress
    zinfo.create_system = UNIX
    zinfo.external_attr = attributes
    return zinfo


def build(entries):
    """entries: list of (ZipInfo, bytes). Returns the archive bytes."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names; one fixture wants them
        with zipfile.ZipFile(buffer, "w") as archive:
            for zinfo, data in entries:
                archive.writestr(zinfo, data)
    return bytearray(buffer.getvalue())


def headers(data, index):
    """Offsets of the local and the central header of entry `index` (in central directory order)."""
    eocd = data.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack_from("<I", data, eocd + 16)[0]
    central = cd_offset
    for _ in range(index):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, central + 28)
        central += 46 + name_len + extra_len + comment_len
    assert data[central:central + 4] == CENTRAL_SIG
    local = struct.unpack_from("<I", data, central + 42)[0]
    assert data[local:local + 4] == LOCAL_SIG
    return local, central


def data_offset(data, local):
    name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
    return local + 30 + name_len + extra_len


def patch_u16(data, offset, transform):
    struct.pack_into("<H", data, offset, transform(struct.unpack_from("<H", data, offset)[0]))


def patch_u32(data, offset, value):
    struct.pack_into("<I", data, offset, value)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def canonical_manifest(files):
    """Manifest v1 in its canonical form (docs/manifest-format.md): sorted keys, no whitespace, files by path."""
    entries = [
        {"digest": "sha256:" + sha256_hex(blob), "mode": "0644", "path": path, "size": len(blob)}
        for path, blob in sorted(files, key=lambda item: item[0].encode())
    ]
    document = {"files": entries, "schema": "model-sync.manifest.v1"}
    return json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def object_name(blob):
    hexdigest = sha256_hex(blob)
    return "objects/sha256/%s/%s" % (hexdigest[:2], hexdigest)


DELTA_FILES = [("btc/model.onnx", b"weights of the btc model\n"), ("eth/model.onnx", b"weights of the eth model\n")]


def delta_valid():
    entries = [(info("manifest.json", zipfile.ZIP_DEFLATED), canonical_manifest(DELTA_FILES))]
    for blob in sorted((blob for _, blob in DELTA_FILES), key=sha256_hex):
        entries.append((info(object_name(blob)), blob))
    return build(entries)


def delta_missing_object():
    # The manifest lists both files, the archive carries only the btc blob: a store without the eth blob
    # must refuse it, naming the missing object.
    return build([
        (info("manifest.json"), canonical_manifest(DELTA_FILES)),
        (info(object_name(DELTA_FILES[0][1])), DELTA_FILES[0][1]),
    ])


def delta_wrong_blob():
    # An object entry whose bytes (same length) do not hash to its name.
    blob = DELTA_FILES[0][1]
    forged = blob.replace(b"btc", b"BTC")
    return build([
        (info("manifest.json"), canonical_manifest(DELTA_FILES[:1])),
        (info(object_name(blob)), forged),
    ])


def delta_hostile_manifest():
    # A well-formed archive whose manifest names a path outside the models folder.
    return build([
        (info("manifest.json"), canonical_manifest([("../escape.onnx", b"x")])),
        (info(object_name(b"x")), b"x"),
    ])


def delta_stray_entry():
    # A delta archive may hold only manifest.json and objects/sha256/...: anything else is refused.
    return build([
        (info("manifest.json"), canonical_manifest(DELTA_FILES[:1])),
        (info(object_name(DELTA_FILES[0][1])), DELTA_FILES[0][1]),
        (info("run.sh"), b"#!/bin/sh\n"),
    ])


def legacy_hostile_outside():
    # Valid files under models/, and one hostile name outside extract_subdir: the whole archive is refused.
    return build([
        (info("models/btc/model.onnx"), b"btc-onnx-bytes\n"),
        (info("../outside.txt"), b"hostile\n"),
    ])


def legacy_crc_late():
    # Two files under models/, the second with a CRC error: the first must not stay in the store.
    data = build([
        (info("models/a.onnx"), b"first file, intact\n"),
        (info("models/b.onnx"), b"second file, its CRC will not match\n"),
    ])
    local, _ = headers(data, 1)
    data[data_offset(data, local)] ^= 0x20
    return data


def legacy_valid():
    return build([
        (info("README.txt", zipfile.ZIP_DEFLATED), b"Models trained by the worker.\n" * 8),
        (info("models/", attributes=DIRECTORY), b""),
        (info("models/btc/", attributes=DIRECTORY), b""),
        (info("models/btc/model.onnx"), b"btc-onnx-bytes\x00\x01\x02\n"),
        (info("models/eth/", attributes=DIRECTORY), b""),
        (info("models/eth/model.onnx", zipfile.ZIP_DEFLATED), b"eth-onnx-bytes " * 64),
    ])


def single(name, content=b"hostile\n"):
    return build([(info(name), content)])


def symlink():
    return build([
        (info("models/btc/model.onnx"), b"btc\n"),
        (info("models/btc/link", attributes=SYMLINK), b"../../../etc/passwd"),
    ])


def duplicate():
    return build([
        (info("models/btc/model.onnx"), b"first\n"),
        (info("models/btc/model.onnx"), b"second\n"),
    ])


def crc_error():
    data = build([(info("models/btc/model.onnx"), b"content whose CRC will no longer match\n")])
    local, _ = headers(data, 0)
    data[data_offset(data, local)] ^= 0x20  # flip a byte of the stored data, headers untouched
    return data


def truncated():
    data = legacy_valid()
    return data[: len(data) // 2]


def not_a_zip():
    return bytearray(b"this is not a zip archive\n")


def encrypted():
    # zipfile cannot encrypt: set bit 0 ("encrypted") of the general purpose flags in both headers.
    data = build([(info("models/btc/model.onnx"), b"pretend this is encrypted\n")])
    local, central = headers(data, 0)
    patch_u16(data, local + 6, lambda flags: flags | 0x1)
    patch_u16(data, central + 8, lambda flags: flags | 0x1)
    return data


OVERSIZE_ACTUAL = b"0123456789abcdef" * 256  # 4096 bytes
OVERSIZE_DECLARED = 1000


def oversize():
    # The deflated stream inflates to 4096 bytes, the headers claim 1000: a reader must stop at 1001.
    data = build([(info("models/btc/model.onnx", zipfile.ZIP_DEFLATED), OVERSIZE_ACTUAL)])
    local, central = headers(data, 0)
    patch_u32(data, local + 22, OVERSIZE_DECLARED)
    patch_u32(data, central + 24, OVERSIZE_DECLARED)
    return data


def undersize():
    # The deflated stream inflates to 4096 bytes, the headers claim 5000: the data ends early.
    data = build([(info("models/btc/model.onnx", zipfile.ZIP_DEFLATED), OVERSIZE_ACTUAL)])
    local, central = headers(data, 0)
    patch_u32(data, local + 22, 5000)
    patch_u32(data, central + 24, 5000)
    return data


def bomb():
    # 4 MiB of zeros deflate to about 4 KiB: a ratio near 1000:1 for an entry over 1 MiB.
    return build([(info("models/btc/model.onnx", zipfile.ZIP_DEFLATED), bytes(4 * 1024 * 1024))])


def patched_name(name, placeholder, byte):
    """A one-entry archive whose name holds `byte` where `name` has `placeholder` (zipfile cuts names at NUL
    and writes str names as UTF-8, so NUL and invalid UTF-8 are patched into both headers)."""
    data = build([(info(name), b"hostile\n")])
    local, central = headers(data, 0)
    for start in (local + 30, central + 46):
        position = data.index(placeholder.encode(), start)
        data[position] = byte
    return data


FIXTURES = {
    "delta-valid.zip": delta_valid,
    "legacy-valid.zip": legacy_valid,
    "hostile-dotdot.zip": lambda: single("../evil"),
    "hostile-absolute.zip": lambda: single("/abs/path"),
    "hostile-backslash.zip": lambda: single("back\\slash"),
    "hostile-control-char.zip": lambda: single("control\x01char.txt"),
    "hostile-symlink.zip": symlink,
    "hostile-duplicate.zip": duplicate,
    "hostile-crc.zip": crc_error,
    "hostile-truncated.zip": truncated,
    "hostile-not-a-zip.zip": not_a_zip,
    "hostile-encrypted.zip": encrypted,
    "hostile-oversize.zip": oversize,
    "hostile-undersize.zip": undersize,
    "hostile-bomb.zip": bomb,
    "delta-missing-object.zip": delta_missing_object,
    "delta-wrong-blob.zip": delta_wrong_blob,
    "hostile-delta-manifest-path.zip": delta_hostile_manifest,
    "hostile-delta-stray-entry.zip": delta_stray_entry,
    "hostile-legacy-outside.zip": legacy_hostile_outside,
    "hostile-legacy-crc-late.zip": legacy_crc_late,
    # Read through libzip's C strings, the name would be "models/btc/model.onnx": the NUL must be seen.
    "hostile-nul-byte.zip": lambda: patched_name("models/btc/model.onnx#../../../evil", "#", 0x00),
    "hostile-not-utf8.zip": lambda: patched_name("models/btc/mod#l.onnx", "#", 0xFF),
    "hostile-long-component.zip": lambda: single("models/" + "x" * 256),
    "hostile-long-path.zip": lambda: single("models/" + "/".join(["d" * 200] * 21)),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    for name, make in FIXTURES.items():
        with open(os.path.join(out, name), "wb") as handle:
            handle.write(bytes(make()))


if __name__ == "__main__":
    main()
