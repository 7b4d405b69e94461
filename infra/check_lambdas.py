"""Checks the deployment zips `make lambdas` built: each holds an executable `bootstrap`
for aarch64 Linux (ELF, e_machine 183), as provided.al2023 on arm64 expects, linked at a
fixed address (e_type ET_EXEC, not a position-independent ET_DYN: `handlers/link.rs`)."""
import struct
import sys
import zipfile
from pathlib import Path

EM_AARCH64 = 183
ET_EXEC = 2


def check(binary: str) -> str:
    path = Path("target/lambda") / binary / "bootstrap.zip"
    with zipfile.ZipFile(path) as archive:
        header = archive.read("bootstrap")[:20]
        mode = archive.getinfo("bootstrap").external_attr >> 16
    if header[:4] != b"\x7fELF":
        raise SystemExit(f"{path}: bootstrap is not an ELF file")
    if header[4] != 2 or header[5] != 1:
        raise SystemExit(f"{path}: bootstrap is not a 64-bit little-endian ELF")
    (kind, machine) = struct.unpack_from("<HH", header, 16)
    if machine != EM_AARCH64:
        raise SystemExit(f"{path}: bootstrap is for machine {machine}, not aarch64 ({EM_AARCH64})")
    if kind != ET_EXEC:
        raise SystemExit(f"{path}: bootstrap is ELF type {kind}, not a fixed-address executable ({ET_EXEC})")
    if mode and not mode & 0o111:
        raise SystemExit(f"{path}: bootstrap is not executable")
    return f"{path}: aarch64 ELF bootstrap (fixed address), {path.stat().st_size} bytes"


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(check(name))
