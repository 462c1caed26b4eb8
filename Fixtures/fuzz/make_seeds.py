#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (docs/fuzzing.md): one folder per target, small files.

Seeds are valid and nearly valid inputs that reach deep into each parser; libFuzzer mutates from them.
Run from anywhere; rewrites the folders beside this script. The zip seeds are the archive fixtures.
"""
import hashlib
import json
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(target, name, data):
    folder = os.path.join(HERE, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(data)


def digest(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def manifest(files):
    """The canonical form: sorted keys, no whitespace, raw UTF-8, files sorted bytewise by path."""
    entries = sorted(files, key=lambda entry: entry["path"].encode())
    document = {"files": entries, "schema": "model-sync.manifest.v1"}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry(path, size, mode="0644"):
    return {"digest": digest(path), "mode": mode, "path": path, "size": size}


def manifests():
    valid = {
        "empty": manifest([]),
        "one": manifest([entry("model.onnx", 1048576)]),
        "nested": manifest([entry("btc/model.onnx", 12), entry("btc/scaler.pkl", 0, "0755"),
                            entry("eth/model.onnx", 9007199254740991)]),
        "unicode": manifest([entry("modèles/café.bin", 3), entry("日本/モデル", 4)]),
        "escapes": manifest([entry('quote"back\\slash', 1)]),
    }
    invalid = {
        "unsorted": valid["nested"].replace("btc/model.onnx", "zzz/model.onnx"),
        "spaced": json.dumps(json.loads(valid["one"]), sort_keys=True),
        "dotdot": manifest([entry("../etc/passwd", 1)]),
        "file-and-dir": manifest([entry("a", 1), entry("a/b", 1)]),
        "newer-schema": valid["one"].replace("manifest.v1", "manifest.v2"),
        "negative-size": valid["one"].replace("1048576", "-1"),
        "float-size": valid["one"].replace("1048576", "1.0e6"),
        "duplicate-key": valid["one"][:-1] + ',"schema":"x"}',
    }
    return valid, invalid


def seed_manifest():
    valid, invalid = manifests()
    for name, text in list(valid.items()) + list(invalid.items()):
        write("manifest", name + ".json", text)


def seed_canonical_json():
    valid, _ = manifests()
    write("canonical-json", "manifest.json", valid["nested"])
    cases = {
        "scalars": '[null,true,false,0,-0,1.5e-3,12345678901234567890,"",{}]',
        "escapes": r'"\"\\\/\b\f\n\r\t\u0000\u001f\u00e9\ud83d\ude00"',
        "surrogate-lone": r'"\ud800"',
        "nested": "[[[[[[[[[[{\"a\":[{\"b\":{}}]}]]]]]]]]]]",
        "object": '{"z":1,"a":{"\u00e9":2,"e\u0301":3},"m":[1,2,3]}',
        "whitespace": ' \t\n\r{ "k" : [ 1 , 2 ] }\n',
        "duplicate": '{"a":1,"a":2}',
        "utf8-invalid": b'"\xc3\x28"',
    }
    for name, text in cases.items():
        write("canonical-json", name + ".json", text)


def seed_config():
    for name in ("bot.yaml", "all-keys.yaml"):
        shutil.copy(os.path.join(ROOT, "configs", name), os.path.join(HERE, "config", name))
    cases = {
        "minimal": "model_sync:\n  models_dir: models\n  store_dir: store\n",
        "expansion": "model_sync:\n  models_dir: ${MODELS}/x\n  store_dir: ${UNSET:-store}\n"
                     "  git:\n    token_env: TOKEN\n",
        "anchors": "base: &b\n  a: [1, 2, 3]\nmodel_sync:\n  models_dir: models\n  runpod:\n"
                   "    trigger_payload: {input: *b, n: 0.5, ok: true, none: ~}\n",
        "runpod": "model_sync:\n  runpod:\n    enabled: true\n    trigger_url: https://api.example/v2/e/run\n"
                  "    status_url_template: https://api.example/v2/e/status/{job_id}\n"
                  "    request_timeout_sec: 20\n    headers: {X-Team: ml}\n",
        "flow": "{model_sync: {models_dir: m, keep_generations: 3, gc: {grace_sec: 60}}}\n",
        "two-documents": "model_sync: {}\n---\nmodel_sync: {}\n",
        "daemon": "model_sync:\n  daemon:\n    timezone: Europe/Paris\n    jitter_sec: 30\n"
                  "  publisher:\n    schedule: '03:00'\n",
        "tags": "model_sync:\n  models_dir: !!str 12\n  link_mode: symlink\n",
    }
    for name, text in cases.items():
        write("config", name + ".yaml", text)


def seed_dotenv():
    cases = {
        "rules": "# a comment\n\nPLAIN=value\nexport EXPORTED=yes\n  INDENTED = spaced value   \n"
                 "SINGLE='literal \\n $HOME'\nDOUBLE=\"line1\\nline2 \\\"q\\\" \\\\ \\$\"\n"
                 "INLINE=abc # a comment\nHASH=abc#def\nQUOTED_HASH=\"a # b\" # comment\nEMPTY=\n",
        "multiline": "MULTI=\"first\nsecond\"\nAFTER=ok\n",
        "crlf": "A=1\r\nB='two'\r\n",
        "unterminated": "A=\"open\n",
        "bad-key": "1A=x\n",
        "override": "A=1\nA=2\n",
    }
    for name, text in cases.items():
        write("dotenv", name + ".env", text)


def zip64_stored(declared_size, data=b"hello", name=b"big.bin"):
    """One stored entry whose sizes sit in Zip64 extra fields, the uncompressed one declared as given."""
    crc = zlib.crc32(data)
    extra = struct.pack("<HHQQ", 1, 16, declared_size, len(data))
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                        len(name), len(extra)) + name + extra + data
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF,
                          0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0o100644 << 16, 0) + name + extra
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def seed_zip():
    archives = os.path.join(ROOT, "Fixtures", "archives")
    for name in sorted(os.listdir(archives)):
        if name.endswith(".zip"):
            shutil.copy(os.path.join(archives, name), os.path.join(HERE, "zip", name))
    write("zip", "zip64-declares-1tib.zip", zip64_stored(1 << 40))
    # Found while fuzzing: ZipArchive.read trapped computing how much to read of a 2^64 - 1 byte entry.
    write("zip", "crash-zip64-size-max.zip", zip64_stored(0xFFFFFFFFFFFFFFFF))


def seed_json():
    archive_digest = digest("archive")
    cases = {
        "queued": {"id": "job-1", "status": "IN_QUEUE"},
        "completed": {"id": "job-1", "status": "COMPLETED", "delayTime": 10, "executionTime": 20,
                      "output": {"archive_base64": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==",
                                 "archive_sha256": archive_digest[7:], "archive_size": 22,
                                 "manifest": digest("manifest")}},
        "url": {"id": "j", "status": "COMPLETED",
                "output": {"archive_url": "https://bucket.example/a.zip?X-Amz-Signature=x", "archive_size": 1e3}},
        "failed": {"id": "j", "status": "FAILED",
                   "error": json.dumps({"error_type": "ValueError", "error_message": "boom",
                                        "error_traceback": "..."})},
        "failed-object": {"status": "FAILED", "error": {"message": "out of memory"}},
        "numbers": {"status": "X", "a": [0, -1, 1.5, 1e300, 9223372036854775807, 18446744073709551616]},
    }
    for name, value in cases.items():
        write("json", name + ".json", json.dumps(value))
    write("json", "not-object.json", '["IN_QUEUE"]')


def seed_have_list():
    digests = [digest(str(n)) for n in range(3)]
    write("have-list", "array.json", json.dumps(digests))
    write("have-list", "lines.txt", "# have\n" + digests[0] + "\n\n" + digests[1][7:] + "\n")
    write("have-list", "bad-item.json", '["sha256:abc", 1]')


def main():
    for target in ("manifest", "canonical-json", "config", "dotenv", "zip", "json", "have-list"):
        shutil.rmtree(os.path.join(HERE, target), ignore_errors=True)
        os.makedirs(os.path.join(HERE, target))
    seed_manifest()
    seed_canonical_json()
    seed_config()
    seed_dotenv()
    seed_zip()
    seed_json()
    seed_have_list()


if __name__ == "__main__":
    main()
