"""Bounded reader of zip archives (PyTorch ``torch.save`` checkpoints, ``.npz``) from the central directory.

Nothing is extracted: the central directory is parsed with caps (entries, directory bytes), suspicious
structure becomes ``ZipIssue``s (path traversal, bombs by declared ratio or total, overlapping entries,
duplicates, encryption, local/central mismatches, nested archives, TorchScript code), and single members are
read on demand with a decompression cap. Mirrors PyTorch's lenient reader: flags and CRCs do not stop a read.
"""

from __future__ import annotations

import itertools
import re
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from pydantic import BaseModel, Field

from clearance.findings import Severity
from clearance.model.violations import FormatViolation

ZIP_MAGIC = b"PK\x03\x04"
_EOCD = b"PK\x05\x06"
_EOCD64_LOC = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CDH = b"PK\x01\x02"
_U32 = 0xFFFFFFFF


@dataclass(frozen=True)
class ZipLimits:
    """Caps for reading an archive's directory and members."""

    max_entries: int = 100_000
    max_directory_bytes: int = 64 << 20
    max_total_uncompressed: int = 1 << 40
    max_ratio: int = 200
    ratio_min_bytes: int = 64 << 20
    max_member_bytes: int = 1 << 30


class ZipEntry(BaseModel):
    """One central-directory entry."""

    name: str
    flags: int
    method: int
    crc: int
    compressed_size: int
    uncompressed_size: int
    local_offset: int

    @property
    def encrypted(self) -> bool:
        """Whether the entry claims to be encrypted."""
        return bool(self.flags & 1)


class ZipIssue(BaseModel):
    """A structural problem with a rule id, severity, the member concerned and the reason."""

    rule: str
    severity: Severity
    message: str
    member: str | None = None


class ZipListing(BaseModel):
    """The parsed central directory and the structural issues found in it."""

    size: int
    entries: list[ZipEntry] = Field(default_factory=list)
    issues: list[ZipIssue] = Field(default_factory=list)
    prefix_bytes: int = 0
    zip64: bool = False

    def names(self) -> list[str]:
        """Member names in directory order."""
        return [e.name for e in self.entries]


def _traversal(name: str) -> str | None:
    if "\x00" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")):
        return "is an absolute path"
    if re.match(r"^[A-Za-z]:", name):
        return "starts with a drive letter"
    if "\\" in name:
        return "contains a backslash (a path separator on Windows)"
    if ".." in name.split("/"):
        return "climbs out of the extraction directory with '..'"
    return None


def read_zip_directory(fh: BinaryIO, size: int, *, name: str, limits: ZipLimits | None = None) -> ZipListing:
    """Parse the end-of-central-directory record and the central directory of a zip held in ``fh``."""
    lim = limits or ZipLimits()

    def fail(msg: str, field: str = "central_directory") -> FormatViolation:
        return FormatViolation(msg, file=name, field=field, rule="ZIP-STRUCTURE")

    tail_len = min(size, 22 + 65535)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    i = tail.rfind(_EOCD)
    while i >= 0 and len(tail) - i < 22:
        i = tail.rfind(_EOCD, 0, i)
    if i < 0:
        raise fail("no end-of-central-directory record (not a zip, or truncated)", "eocd")
    eocd_pos = size - tail_len + i
    (_, _, _, n_entries, cd_size, cd_offset, _) = struct.unpack("<HHHHIIH", tail[i + 4 : i + 22])
    listing = ZipListing(size=size)
    cd_pos = eocd_pos - cd_size
    if i >= 20 and tail[i - 20 : i - 16] == _EOCD64_LOC:
        (eocd64_off,) = struct.unpack("<Q", tail[i - 12 : i - 4])
        if eocd64_off + 56 > size:
            raise fail(f"zip64 end record offset {eocd64_off} is past the end of the file", "eocd64")
        fh.seek(eocd64_off)
        rec = fh.read(56)
        if rec[:4] != _EOCD64:
            raise fail("zip64 locator does not point at a zip64 end record", "eocd64")
        n_entries, cd_size, cd_offset = struct.unpack("<QQQ", rec[32:56])
        listing.zip64 = True
        cd_pos = eocd64_off - cd_size
    if cd_size > lim.max_directory_bytes:
        raise fail(f"central directory of {cd_size} bytes exceeds the cap of {lim.max_directory_bytes}")
    if n_entries > lim.max_entries:
        listing.issues.append(
            ZipIssue(
                rule="ZIP-ENTRIES",
                severity=Severity.high,
                message=f"{n_entries} entries exceed the cap of {lim.max_entries}",
            )
        )
        return listing
    if cd_pos < 0 or cd_pos + cd_size > size:
        raise fail(f"central directory [{cd_pos}, {cd_pos + cd_size}) lies outside the {size}-byte file")
    prefix = cd_pos - cd_offset
    if prefix < 0:
        raise fail(f"central directory offset {cd_offset} is inconsistent with its position {cd_pos}")
    if prefix:
        listing.prefix_bytes = prefix
        listing.issues.append(
            ZipIssue(
                rule="ZIP-PREFIX",
                severity=Severity.high,
                message=f"{prefix} bytes precede the archive (polyglot: another format may be read first)",
            )
        )
    fh.seek(cd_pos)
    cd = fh.read(cd_size)
    p = 0
    seen: set[str] = set()
    for _ in range(n_entries):
        if cd[p : p + 4] != _CDH or p + 46 > len(cd):
            raise fail(f"central directory entry at {cd_pos + p} is malformed")
        (flags, method, _t, _d, crc, csize, usize, nlen, xlen, clen, _ds, _ia, _ea, loff) = struct.unpack(
            "<HHHHIIIHHHHHII", cd[p + 8 : p + 46]
        )
        raw_name = cd[p + 46 : p + 46 + nlen]
        extra = cd[p + 46 + nlen : p + 46 + nlen + xlen]
        p += 46 + nlen + xlen + clen
        if p > len(cd):
            raise fail("central directory entry runs past the directory")
        mname = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if _U32 in (csize, usize, loff):
            usize, csize, loff = _zip64_extra(extra, usize, csize, loff)
        entry = ZipEntry(
            name=mname, flags=flags, method=method, crc=crc, compressed_size=csize, uncompressed_size=usize,
            local_offset=loff + prefix,
        )  # fmt: skip
        listing.entries.append(entry)
        why = _traversal(mname)
        if why:
            listing.issues.append(
                ZipIssue(
                    rule="ZIP-TRAVERSAL",
                    severity=Severity.high,
                    message=f"member name {mname!r} {why}",
                    member=mname,
                )
            )
        if mname in seen:
            listing.issues.append(
                ZipIssue(
                    rule="ZIP-DUPLICATE",
                    severity=Severity.high,
                    message=f"member {mname!r} appears twice (readers disagree on which is used)",
                    member=mname,
                )
            )
        seen.add(mname)
        if entry.encrypted:
            listing.issues.append(
                ZipIssue(
                    rule="ZIP-ENCRYPTED",
                    severity=Severity.medium,
                    message=f"member {mname!r} is flagged encrypted (a flag PyTorch ignores; still analysed when readable)",
                    member=mname,
                )
            )
        if usize >= lim.ratio_min_bytes and usize > lim.max_ratio * max(csize, 1):
            listing.issues.append(
                ZipIssue(
                    rule="ZIP-BOMB",
                    severity=Severity.high,
                    message=f"member {mname!r} declares {usize} bytes from {csize} compressed (ratio > {lim.max_ratio})",
                    member=mname,
                )
            )
        if loff + prefix + 30 + csize > size:
            listing.issues.append(
                ZipIssue(
                    rule="ZIP-STRUCTURE",
                    severity=Severity.high,
                    message=f"member {mname!r} data runs past the end of the file",
                    member=mname,
                )
            )
    total = sum(e.uncompressed_size for e in listing.entries)
    if total > lim.max_total_uncompressed or total > 1000 * max(size, 1) + (1 << 30):
        listing.issues.append(
            ZipIssue(
                rule="ZIP-BOMB",
                severity=Severity.high,
                message=f"entries declare {total} uncompressed bytes in a {size}-byte archive",
            )
        )
    spans = sorted(
        (e.local_offset, e.local_offset + 30 + len(e.name.encode()) + e.compressed_size, e.name)
        for e in listing.entries
    )
    for (a0, a1, an), (b0, _b1, bn) in itertools.pairwise(spans):
        if b0 < a1 and a0 != b0:
            listing.issues.append(
                ZipIssue(
                    rule="ZIP-OVERLAP",
                    severity=Severity.high,
                    message=f"members {an!r} and {bn!r} overlap (overlapping-entry zip bomb or hidden data)",
                    member=bn,
                )
            )
            break
    return listing


def _zip64_extra(extra: bytes, usize: int, csize: int, loff: int) -> tuple[int, int, int]:
    q = 0
    while q + 4 <= len(extra):
        hid, hlen = struct.unpack("<HH", extra[q : q + 4])
        body = extra[q + 4 : q + 4 + hlen]
        if hid == 1:
            vals = [struct.unpack("<Q", body[k : k + 8])[0] for k in range(0, len(body) - 7, 8)]
            it = iter(vals)
            if usize == _U32:
                usize = next(it, usize)
            if csize == _U32:
                csize = next(it, csize)
            if loff == _U32:
                loff = next(it, loff)
            break
        q += 4 + hlen
    return usize, csize, loff


def read_member(
    fh: BinaryIO, size: int, entry: ZipEntry, *, name: str, max_bytes: int
) -> tuple[bytes, list[ZipIssue]]:
    """Read one member's bytes (stored or deflated), at most ``max_bytes`` of output; CRC and header issues returned."""
    issues: list[ZipIssue] = []

    def fail(msg: str) -> FormatViolation:
        return FormatViolation(msg, file=name, field=entry.name, rule="ZIP-STRUCTURE")

    if entry.local_offset + 30 > size:
        raise fail("local header is past the end of the file")
    fh.seek(entry.local_offset)
    lh = fh.read(30)
    if lh[:4] != ZIP_MAGIC:
        raise fail(f"no local header at offset {entry.local_offset}")
    nlen, xlen = struct.unpack("<HH", lh[26:30])
    lname = fh.read(nlen)
    if lname.decode("utf-8" if entry.flags & 0x800 else "cp437", "replace") != entry.name:
        issues.append(
            ZipIssue(
                rule="ZIP-MISMATCH",
                severity=Severity.medium,
                message=f"local header names {lname[:100]!r}, central directory names {entry.name!r}",
                member=entry.name,
            )
        )
    start = entry.local_offset + 30 + nlen + xlen
    if start + entry.compressed_size > size:
        raise fail("member data runs past the end of the file")
    fh.seek(start)
    declared = entry.uncompressed_size
    # Loaders (PyTorch's miniz) allocate the declared size; never inflate much past it (lying-size bomb).
    max_bytes = min(max_bytes, declared + 1)
    if entry.method == 0:
        data = fh.read(min(entry.compressed_size, max_bytes))
    elif entry.method == 8:
        d = zlib.decompressobj(-15)
        out = bytearray()
        left = entry.compressed_size
        try:
            while left > 0 and len(out) < max_bytes:
                chunk = fh.read(min(left, 1 << 20))
                if not chunk:
                    break
                left -= len(chunk)
                out += d.decompress(chunk, max_bytes - len(out))
                if d.unconsumed_tail and len(out) >= max_bytes:
                    break
        except zlib.error as exc:
            raise fail(f"deflate data is corrupt: {exc}") from None
        data = bytes(out)
    else:
        raise fail(f"compression method {entry.method} is not one PyTorch can read")
    if len(data) > declared:
        issues.append(
            ZipIssue(
                rule="ZIP-BOMB",
                severity=Severity.high,
                message=f"member inflates past its declared {declared} bytes (lying size: a decompression bomb)",
                member=entry.name,
            )
        )
        data = data[:declared]
    elif len(data) >= max_bytes and entry.uncompressed_size > max_bytes:
        issues.append(
            ZipIssue(
                rule="ZIP-LIMIT",
                severity=Severity.medium,
                message=f"member is larger than {max_bytes} bytes; only the start was analysed",
                member=entry.name,
            )
        )
    elif zlib.crc32(data) != entry.crc:
        issues.append(
            ZipIssue(
                rule="ZIP-CRC",
                severity=Severity.medium,
                message="CRC does not match (tampered or corrupt; lenient loaders still read it)",
                member=entry.name,
            )
        )
    return data, issues


__all__ = [
    "ZIP_MAGIC",
    "ZipEntry",
    "ZipIssue",
    "ZipLimits",
    "ZipListing",
    "read_member",
    "read_zip_directory",
]
