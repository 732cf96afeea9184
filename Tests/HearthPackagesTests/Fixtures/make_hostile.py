#!/usr/bin/env python3
"""Writes the hostile archives of the packaging checklist into OUT_DIR.

Each file is named after its case; the Swift tests import each one and check
the error and that nothing was written outside the target. The canary path
`../canary` is relative to the extraction target's parent in the tests.
"""
import io
import os
import struct
import sys
import tarfile
import zipfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def zip_of(name, entries, compression=zipfile.ZIP_DEFLATED):
    """entries: (arcname, bytes) or (ZipInfo, bytes)."""
    with zipfile.ZipFile(os.path.join(out, name), "w", compression) as z:
        for arcname, data in entries:
            z.writestr(arcname, data)


def tar_of(name, members, mode="w"):
    """members: list of (TarInfo, bytes-or-None)."""
    with tarfile.open(os.path.join(out, name), mode, format=tarfile.PAX_FORMAT) as t:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)


def ti(name, kind=tarfile.REGTYPE, linkname="", mode=0o644, **kw):
    info = tarfile.TarInfo(name)
    info.mtime = 1600000000
    info.type = kind
    info.linkname = linkname
    info.mode = mode
    for k, v in kw.items():
        setattr(info, k, v)
    return info


def symlink_zip_info(name, target):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (0o120777 << 16)
    return info, target.encode()


# 65-67: names
zip_of("zip-traversal.zip", [("ok.txt", b"fine"), ("../../etc/cron.d/x", b"* * * * * root id")])
zip_of("zip-canary-traversal.zip", [("../canary/pwned", b"x")])
zip_of("zip-absolute.zip", [("/etc/passwd", b"root::0:0::/:/bin/sh")])
zip_of("zip-drive-letter.zip", [("C:\\x", b"x")])
zip_of("zip-backslash-traversal.zip", [("..\\..\\x", b"x")])
zip_of("zip-dot.zip", [(".", b"x")])
zip_of("zip-dotdot.zip", [("..", b"x")])
zip_of("zip-double-slash.zip", [("a//b", b"x")])
zip_of("zip-long-name.zip", [("a" * 5000, b"x")])
zip_of("zip-deep.zip", [("d/" * 200 + "f", b"x")])

# invalid UTF-8: write a placeholder name and patch its bytes in both headers
with zipfile.ZipFile(os.path.join(out, "zip-bad-utf8.zip"), "w") as z:
    z.writestr("QQQQ", b"x")
path = os.path.join(out, "zip-bad-utf8.zip")
data = open(path, "rb").read().replace(b"QQQQ", b"\xff\xfe\xfd\xfc")
open(path, "wb").write(data)

# 68-70: symlinks
zip_of("zip-symlink-then-write.zip", [symlink_zip_info("a", "/etc"), ("a/passwd", b"root::0:0")])
tar_of("tar-symlink-absolute-then-write.tar", [(ti("a", tarfile.SYMTYPE, "/etc"), None), (ti("a/passwd"), b"x")])
tar_of("tar-symlink-up-then-write.tar", [(ti("a", tarfile.SYMTYPE, "../../.."), None), (ti("a/x"), b"x")])
tar_of("tar-symlink-to-canary.tar", [(ti("c", tarfile.SYMTYPE, "../../canary"), None), (ti("c/pwned"), b"x")])
tar_of("tar-symlink-named-dotdot.tar", [(ti("..", tarfile.SYMTYPE, "/"), None)])
tar_of("tar-symlink-named-dot.tar", [(ti(".", tarfile.SYMTYPE, "/etc"), None), (ti("passwd"), b"x")])
tar_of("tar-symlink-empty-name.tar", [(ti("", tarfile.SYMTYPE, "/etc"), None)])
tar_of("tar-dir-then-symlink-same-name.tar", [(ti("d", tarfile.DIRTYPE, mode=0o755), None), (ti("d", tarfile.SYMTYPE, "/etc"), None)])
tar_of("tar-symlink-then-dir-same-name.tar", [(ti("d", tarfile.SYMTYPE, "/etc", mode=0o777), None), (ti("d", tarfile.DIRTYPE, mode=0o777), None)])

# 71: hardlinks
tar_of("tar-hardlink-absolute.tar", [(ti("shadow", tarfile.LNKTYPE, "/etc/shadow"), None)])
tar_of("tar-hardlink-outside.tar", [(ti("h", tarfile.LNKTYPE, "../canary/file"), None)])
tar_of("tar-hardlink-to-symlink.tar", [(ti("s", tarfile.SYMTYPE, "../canary/file"), None), (ti("h", tarfile.LNKTYPE, "s"), None)])
tar_of("tar-hardlink-ok.tar", [(ti("f"), b"shared"), (ti("g", tarfile.LNKTYPE, "f"), None)])

# 72: special files
tar_of("tar-chardev.tar", [(ti("dev/sda", tarfile.CHRTYPE, devmajor=8, devminor=0), None)])
tar_of("tar-blockdev.tar", [(ti("dev/sdb", tarfile.BLKTYPE, devmajor=8, devminor=16), None)])
tar_of("tar-fifo.tar", [(ti("pipe", tarfile.FIFOTYPE), None)])

# 73-74: modes, owners, xattrs
setuid = ti("bin/su", mode=0o4777, uid=0, gid=0)
tar_of("tar-modes.tar", [
    (ti("bin", tarfile.DIRTYPE, mode=0o777), None),
    (setuid, b"#!/bin/sh\n"),
    (ti("bin/plain", mode=0o666, uid=1234, gid=4321), b"data"),
    (ti("secret", mode=0o600), b"s"),
])
xattr = ti("bin/ping", mode=0o755)
xattr.pax_headers = {"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00", "SCHILY.xattr.user.test": "x"}
tar_of("tar-xattrs.tar", [(xattr, b"\x7fELF")])

# 76-80: bombs and counts
zip_of("zip-big.zip", [("zeros", b"\0" * (8 * 1024 * 1024))])
with zipfile.ZipFile(os.path.join(out, "zip-overlap.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("a", b"\0" * (1024 * 1024))
    z.writestr("b", b"\0" * (1024 * 1024))
# Point b's central-directory entry at a's local header: both entries now share one stream.
data = bytearray(open(os.path.join(out, "zip-overlap.zip"), "rb").read())
cd = data.rfind(b"PK\x01\x02")
struct.pack_into("<I", data, cd + 42, 0)
open(os.path.join(out, "zip-overlap.zip"), "wb").write(bytes(data))
inner = io.BytesIO()
with zipfile.ZipFile(inner, "w") as z:
    z.writestr("inner.txt", b"\0" * 1024)
zip_of("zip-nested.zip", [("inner.zip", inner.getvalue())])
zip_of("zip-many-entries.zip", [("f%05d" % i, b"") for i in range(2000)], zipfile.ZIP_STORED)
# Over 65,535 entries: the count lives only in the zip64 end record (the classic one says 0xFFFF).
zip_of("zip64-many-entries.zip", [("f%05d" % i, b"") for i in range(70000)], zipfile.ZIP_STORED)
tar_of("tar-many-entries.tar", [(ti("f%05d" % i), b"") for i in range(2000)])
with tarfile.open(os.path.join(out, "tar-gzip-bomb.tar.gz"), "w:gz", format=tarfile.PAX_FORMAT) as t:
    big = ti("zeros")
    big.size = 64 * 1024 * 1024
    t.addfile(big, io.BytesIO(b"\0" * big.size))

# 81: corrupt
good = io.BytesIO()
with zipfile.ZipFile(good, "w") as z:
    z.writestr("a.txt", b"hello" * 1000)
open(os.path.join(out, "zip-truncated.zip"), "wb").write(good.getvalue()[:-30])
damaged = bytearray(good.getvalue())
cd = damaged.rfind(b"PK\x01\x02")
damaged[cd:cd + 4] = b"XXXX"
open(os.path.join(out, "zip-bad-central-directory.zip"), "wb").write(bytes(damaged))
open(os.path.join(out, "zip-not-a-zip.zip"), "wb").write(b"this is plainly text, not a zip archive\n" * 10)
tar_of("tar-good.tar", [(ti("a.txt"), b"hello")])
tarbytes = bytearray(open(os.path.join(out, "tar-good.tar"), "rb").read())
tarbytes[148:156] = b"0000000\0"  # header checksum
open(os.path.join(out, "tar-bad-checksum.tar"), "wb").write(bytes(tarbytes))
open(os.path.join(out, "tar-truncated.tar"), "wb").write(open(os.path.join(out, "tar-good.tar"), "rb").read()[:700])

# 81: central directories whose sizes and offsets reach 2^63 and 2^64 (each once crashed the daemon
# through unchecked arithmetic), and a NUL inside a name (libarchive would cut the name at it).
def eocd(count, cd_size, cd_offset):
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size, cd_offset, 0)


def zip64_locator(record_offset):
    return struct.pack("<IIQI", 0x07064B50, 0, record_offset, 1)


def zip64_record(count, cd_size, cd_offset):
    return struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)


def central_entry(name, compressed, uncompressed, offset, extra=b""):
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, 0, compressed, uncompressed,
                       len(name), len(extra), 0, 0, 0, 0, offset) + name + extra


def write(name, data):
    open(os.path.join(out, name), "wb").write(data)


# The locator points past 2^63: the offset does not fit a signed file offset.
write("zip64-locator-beyond-int64.zip", zip64_locator(0xFFFFFFFFFFFFFFF0) + eocd(0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF))
# The zip64 record's directory offset plus its size passes 2^64.
write("zip64-directory-wraps.zip", zip64_record(1, 0x10, 0xFFFFFFFFFFFFFFF8) + zip64_locator(0) + eocd(0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF))
# An entry's zip64 offset and compressed size: header + 30 + size passes 2^64.
entry = central_entry(b"a", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
                      struct.pack("<HHQQQ", 1, 24, 1, 0xFFFFFFFFFFFFFFF0, 0x10))
write("zip64-entry-wraps.zip", entry + eocd(1, len(entry), 0))
# Two entries: the first's end wraps past 2^64, so the second seems to start after it.
first = central_entry(b"a", 0xFFFFFFFF, 0, 0xFFFFFFFF, struct.pack("<HHQQ", 1, 16, 0xFFFFFFFFFFFFFFF0, 0x20))
second = central_entry(b"b", 0, 0, 0x40)
write("zip64-entries-wrap.zip", first + second + eocd(2, len(first) + len(second), 0))
# An extra field that claims more bytes than the entry has.
write("zip-extra-overrun.zip", central_entry(b"a", 0, 0xFFFFFFFF, 0, struct.pack("<HH", 1, 500)) + eocd(1, 51, 0))
with zipfile.ZipFile(os.path.join(out, "zip-nul-name.zip"), "w") as z:
    z.writestr("evil.txtXpayload", b"x")
nul = bytearray(open(os.path.join(out, "zip-nul-name.zip"), "rb").read())
for at in [i for i in range(len(nul)) if nul[i:i + 16] == b"evil.txtXpayload"]:
    nul[at + 8] = 0
write("zip-nul-name.zip", bytes(nul))

# 82: duplicates
zip_of("zip-duplicate.zip", [("a.txt", b"1"), ("a.txt", b"2")])
zip_of("zip-case-duplicate.zip", [("Readme.txt", b"1"), ("README.txt", b"2")])
tar_of("tar-duplicate.tar", [(ti("a"), b"1"), (ti("a"), b"2")])

# 83-84: whiteouts
tar_of("layer-whiteout-dotdot.tar", [(ti(".wh.."), b"")])
tar_of("layer-whiteout-dotdotdot.tar", [(ti(".wh..."), b"")])
tar_of("layer-whiteout-etc-dotdot.tar", [(ti("etc", tarfile.DIRTYPE, mode=0o755), None), (ti("etc/.wh.."), b"")])
tar_of("layer-whiteout-bare.tar", [(ti("etc", tarfile.DIRTYPE, mode=0o755), None), (ti("etc/.wh."), b"")])
tar_of("layer-whiteout-through-symlink.tar", [(ti("localetc", tarfile.SYMTYPE, "/etc"), None), (ti("localetc/.wh.passwd"), b"")])
