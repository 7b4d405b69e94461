"""Checks the deployment zips `make lambdas` built: each holds an executable `bootstrap`
for aarch64 Linux (ELF, e_machine 183), as provided.al2023 on arm64 expects."""
import struct
import sys
import zipfile
from pathlib import Path

EM_AARCH64 = 183


def check(binary: str) -> str:
    path = Path("target/lambda") / binary / "bootstrap.zip"
    with zipfile.ZipFile(path) as archive:
        header = archive.read("bootstrap")[:20]
        mode = archive.getinfo("bootstrap").external_attr >> 16
    if header[:4] != b"\x7fELF":
        raise SystemExit(f"{path}: bootstrap is not an ELF file")
    if header[4] != 2 or header[5] != 1:
        raise SystemExit(f"{path}: bootstrap is not a 64-bit little-endian ELF")
    (machine,) = struct.unpack_from("<H", header, 18)
    if machine != EM_AARCH64:
        raise SystemExit(f"{path}: bootstrap is for machine {machine}, not aarch64 ({EM_AARCH64})")
    if mode and not mode & 0o111:
        raise SystemExit(f"{path}: bootstrap is not executable")
    return f"{path}: aarch64 ELF bootstrap, {path.stat().st_size} bytes"


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(check(name))
