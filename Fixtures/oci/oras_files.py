#!/usr/bin/env python3
"""Pushes and pulls a folder of files with the oras Python SDK (`make oci-venv`), as ORAS users do.

  oras_files.py push REFERENCE FOLDER [--insecure] [--ca FILE] [--config DOCKER_CONFIG_JSON] [--chunked]
      one layer per file (application/vnd.oci.image.layer.v1.tar), titled with its path relative to FOLDER
      (org.opencontainers.image.title), in sorted order; prints the manifest digest the registry answered
  oras_files.py pull REFERENCE OUTDIR [--insecure] [--ca FILE] [--config DOCKER_CONFIG_JSON]
      writes each layer to OUTDIR/<title>

REFERENCE is host[:port]/repository:tag (or @sha256:…). --insecure speaks plain http (a registry on
127.0.0.1); --ca verifies https against that CA bundle; --config reads credentials from that Docker config.
"""
import argparse
import json
import os
import sys
import tempfile

import oras.client
import oras.defaults


def client(args):
    tls = args.ca if args.ca else True
    return oras.client.OrasClient(hostname=args.reference.split("/")[0], insecure=args.insecure, tls_verify=tls)


def push(args):
    folder = os.path.abspath(args.path)
    files = []
    for root, _, names in os.walk(folder):
        for name in names:
            files.append(os.path.relpath(os.path.join(root, name), folder))
    files.sort()
    # oras-py titles a layer with the file's base name; the annotation file restores the folder path, as the
    # oras CLI writes it.
    annotations = {path: {oras.defaults.annotation_title: path} for path in files}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(annotations, handle)
    os.chdir(folder)
    response = client(args).push(target=args.reference, files=files, annotation_file=handle.name,
                                 config_path=args.config, do_chunked=args.chunked,
                                 chunk_size=64 << 20, quiet=True)
    os.unlink(handle.name)
    print(response.headers.get("Docker-Content-Digest", ""))


def pull(args):
    files = client(args).pull(target=args.reference, outdir=args.path, config_path=args.config)
    print(len(files))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["push", "pull"])
    parser.add_argument("reference")
    parser.add_argument("path")
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--ca")
    parser.add_argument("--config")
    parser.add_argument("--chunked", action="store_true")
    args = parser.parse_args()
    push(args) if args.command == "push" else pull(args)


if __name__ == "__main__":
    sys.exit(main())
