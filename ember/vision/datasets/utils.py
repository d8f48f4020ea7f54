"""Download, checksum and archive helpers for the datasets (torchvision's
``datasets.utils``): ``download_url`` fetches with ``urllib`` and verifies an MD5,
``extract_archive`` unpacks tar/zip/gzip/bz2/xz files safely, ``check_integrity`` compares a
file's MD5 with the expected one.

Nothing here needs network access to import; a download that cannot reach its server raises
an error saying which URL failed and why.
"""
from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import shutil
import tempfile
from collections.abc import Iterable

__all__ = [
    "calculate_md5",
    "check_integrity",
    "check_md5",
    "download_and_extract_archive",
    "download_url",
    "extract_archive",
    "iterable_to_str",
    "list_dir",
    "list_files",
    "verify_str_arg",
]

_USER_AGENT = "ember-vision"
_TIMEOUT = 60   # seconds without data before a download gives up


def calculate_md5(fpath, chunk_size: int = 1024 * 1024) -> str:
    """The hex MD5 digest of a file (read in chunks)."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath, md5: str, **kwargs) -> bool:
    """Whether the file's MD5 is ``md5``."""
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath, md5: str | None = None) -> bool:
    """Whether ``fpath`` is an existing file and, when ``md5`` is given, has that MD5."""
    if not os.path.isfile(fpath):
        return False
    if md5 is None:
        return True
    return check_md5(fpath, md5)


def download_url(url: str, root, filename: str | None = None, md5: str | None = None,
                 max_redirect_hops: int = 3) -> None:
    """Download ``url`` to ``root/filename`` (default: the URL's last component) unless a
    file with the right MD5 is already there. The data goes to a temporary file first and
    is moved into place only when complete and (if ``md5`` is given) verified, so an
    interrupted or corrupted download never leaves a bad file behind.

    Raises:
        urllib.error.URLError: the server could not be reached (e.g. no network access).
        RuntimeError: the downloaded file's MD5 is not ``md5``.
    """
    del max_redirect_hops   # urllib follows redirects itself
    import urllib.request  # imported here: it is slow to import and rarely needed
    root = os.path.expanduser(os.fspath(root))
    filename = filename or os.path.basename(url.rstrip("/"))
    fpath = os.path.join(root, filename)
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=_TIMEOUT) as r:
            shutil.copyfileobj(r, out, 1024 * 1024)
        if md5 is not None and not check_md5(tmp, md5):
            raise RuntimeError(f"The MD5 checksum of the file downloaded from {url} is "
                               f"{calculate_md5(tmp)}, expected {md5}: the download is "
                               "corrupted (or the file on the server changed).")
        os.replace(tmp, fpath)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def list_dir(root, prefix: bool = False) -> list[str]:
    """The directories directly inside ``root`` (joined to ``root`` when ``prefix``)."""
    root = os.path.expanduser(os.fspath(root))
    names = [p for p in os.listdir(root) if os.path.isdir(os.path.join(root, p))]
    return [os.path.join(root, d) for d in names] if prefix else names


def list_files(root, suffix, prefix: bool = False) -> list[str]:
    """The files directly inside ``root`` whose name ends with ``suffix`` (a string or a
    tuple of strings)."""
    root = os.path.expanduser(os.fspath(root))
    names = [p for p in os.listdir(root)
             if os.path.isfile(os.path.join(root, p)) and p.endswith(suffix)]
    return [os.path.join(root, d) for d in names] if prefix else names


_COMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def _safe_members(tar, dest: str):
    """Refuse archive members that would land outside ``dest`` (``../`` or absolute paths,
    links pointing out)."""
    base = os.path.realpath(dest)
    for m in tar.getmembers():
        target = os.path.realpath(os.path.join(base, m.name))
        if os.path.commonpath([base, target]) != base:
            raise RuntimeError(f"Refusing to extract {m.name!r}: it points outside {dest}")
        if m.issym() or m.islnk():
            link = os.path.realpath(os.path.join(os.path.dirname(target), m.linkname))
            if os.path.commonpath([base, link]) != base:
                raise RuntimeError(f"Refusing to extract link {m.name!r} -> {m.linkname!r}")
        yield m


def extract_archive(from_path, to_path=None, remove_finished: bool = False) -> str:
    """Extract ``from_path`` (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz``,
    ``.zip``, or a single ``.gz``/``.bz2``/``.xz`` file) into ``to_path`` (default: its
    directory). Returns ``to_path``, or for a single compressed file the decompressed file's
    path. Members that would escape ``to_path`` are refused."""
    import tarfile
    import zipfile
    from_path = os.fspath(from_path)
    if to_path is None:
        to_path = os.path.dirname(from_path)
    to_path = os.fspath(to_path)
    os.makedirs(to_path, exist_ok=True)
    name = from_path.lower()
    result = to_path
    if tarfile.is_tarfile(from_path):
        with tarfile.open(from_path) as tar:
            members = list(_safe_members(tar, to_path))
            if hasattr(tarfile, "data_filter"):     # Python >= 3.11.4 / 3.12: also sanitise modes
                tar.extractall(to_path, members=members, filter="data")
            else:   # pragma: no cover
                tar.extractall(to_path, members=members)
    elif zipfile.is_zipfile(from_path):
        with zipfile.ZipFile(from_path) as zf:
            base = os.path.realpath(to_path)
            for member in zf.namelist():
                target = os.path.realpath(os.path.join(base, member))
                if os.path.commonpath([base, target]) != base:
                    raise RuntimeError(f"Refusing to extract {member!r}: it points outside "
                                       f"{to_path}")
            zf.extractall(to_path)
    else:
        suffix = next((s for s in _COMPRESSORS if name.endswith(s)), None)
        if suffix is None:
            raise RuntimeError(f"Unsupported archive type of {from_path}: expected a tar, zip, "
                               ".gz, .bz2 or .xz file")
        out = os.path.join(to_path, os.path.basename(from_path)[:-len(suffix)])
        with _COMPRESSORS[suffix](from_path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        result = out
    if remove_finished:
        os.remove(from_path)
    return result


def download_and_extract_archive(url: str, download_root, extract_root=None,
                                 filename: str | None = None, md5: str | None = None,
                                 remove_finished: bool = False) -> None:
    """``download_url`` then ``extract_archive`` (into ``extract_root``, default
    ``download_root``)."""
    download_root = os.path.expanduser(os.fspath(download_root))
    extract_root = download_root if extract_root is None else extract_root
    filename = filename or os.path.basename(url.rstrip("/"))
    download_url(url, download_root, filename, md5)
    extract_archive(os.path.join(download_root, filename), extract_root, remove_finished)


def iterable_to_str(iterable: Iterable) -> str:
    return "'" + "', '".join(str(item) for item in iterable) + "'"


def verify_str_arg(value, arg: str | None = None, valid_values: Iterable | None = None,
                   custom_msg: str | None = None) -> str:
    """Check that ``value`` is a string among ``valid_values``; returns it."""
    if not isinstance(value, str):
        msg = "Expected type str" + ("" if arg is None else f" for argument {arg},") + \
              f" but got type {type(value)}."
        raise ValueError(msg)  # noqa: TRY004 - torchvision raises ValueError here
    if valid_values is None:
        return value
    if value not in valid_values:
        msg = custom_msg or (f"Unknown value '{value}' for argument {arg}. Valid values are "
                             f"{{{iterable_to_str(valid_values)}}}.")
        raise ValueError(msg)
    return value


def _format_missing(missing: list[str], folder: str, hint: str) -> str:
    """The "dataset not found" message: which files are missing, where they go."""
    names = ", ".join(missing)
    return (f"Dataset not found: {names} {'is' if len(missing) == 1 else 'are'} missing. "
            f"Put {'it' if len(missing) == 1 else 'them'} in {folder} {hint}")


def _url_error(url: str, err: Exception) -> str:
    reason = getattr(err, "reason", err)
    return f"{url}: {type(err).__name__}: {reason}"

