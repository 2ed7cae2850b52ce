"""List the globals a pickle or joblib model file would import, without executing any of it.

Policy: a global ("module.qualname") is allowed when it is one of a few exact, harmless
stdlib names that real scikit-learn pickles use, or when its top-level package is sklearn,
numpy, scipy or pandas and it is not caught by the denylist: dotted prefixes of submodules
and functions that read, write or map files, run tests or evaluate strings, plus name parts
that reach code execution or dangerous modules through an allowed package (``os``,
``getattr``, ``system``, dunders such as ``__dict__``, ``load*``, ``read_*`` ...). joblib is
allowed only for its array wrapper. Everything else, builtins.eval/getattr, os, subprocess,
__main__ and user modules included, is disallowed. The verdict describes loading with
``joblib.load`` (which also reads plain pickles); a "joblib" file must never be fed to
``pickle.load``, which would read the raw array bytes as opcodes.
"""

from __future__ import annotations

import _compat_pickle
import bz2
import io
import lzma
import math
import os
import pickle
import re
import struct
import zlib
from pathlib import Path

from app.core.entities import ScanResult
from app.core.errors import InvalidInputError

__all__ = ["scan_file", "scan_bytes", "is_allowed"]

ALLOWED_PACKAGES = frozenset({"sklearn", "numpy", "scipy", "pandas"})

ALLOWED_NAMES = frozenset({
    "joblib.numpy_pickle.NumpyArrayWrapper",
    *(f"builtins.{n}" for n in ("slice", "set", "frozenset", "complex", "bytearray", "bytes", "object",
                                "int", "float", "str", "list", "dict", "tuple", "bool", "range",
                                "Ellipsis", "NotImplemented")),
    "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__", "_codecs.encode",
    "collections.OrderedDict", "collections.defaultdict", "collections.deque", "decimal.Decimal",
    *(f"datetime.{n}" for n in ("date", "time", "datetime", "timedelta", "timezone", "tzinfo")),
})

# String prefixes, so "numpy.save" also covers savez/savetxt and "pandas.read_" every reader.
DENIED_PREFIXES = (
    "numpy.testing", "numpy.distutils", "numpy.f2py", "numpy.ctypeslib", "numpy.lib.npyio",
    "numpy.lib._npyio_impl", "numpy.lib._datasource", "numpy.load", "numpy.loadtxt", "numpy.genfromtxt",
    "numpy.fromfile", "numpy.save", "numpy.memmap",
    "pandas.io", "pandas.read_", "pandas.eval", "pandas.core.computation",
    "scipy.io", "scipy.datasets", "scipy._lib._testutils",
    "sklearn.datasets", "sklearn.utils._testing", "sklearn.externals", "sklearn.utils._joblib",
)

# Modules a global may never come from, nor walk through as a re-exported attribute
# (e.g. "sklearn.base.os"): the allowlist above already rejects them as top-level names.
ALWAYS_DENIED_MODULES = frozenset({
    "builtins", "os", "posix", "nt", "subprocess", "sys", "importlib", "runpy", "shutil", "socket",
    "pickle", "marshal", "ctypes", "functools", "operator", "tempfile", "webbrowser", "pty", "code",
    "codeop", "multiprocessing", "pathlib", "io",
})

# Any dotted part with one of these names denies the whole global.
DENIED_PARTS = ALWAYS_DENIED_MODULES | frozenset({
    "exec", "eval", "system", "popen", "getattr", "setattr", "delattr", "open", "compile", "memmap",
    "import_module", "partial", "query", "testing", "_testing", "_testutils", "tofile",
})
DENIED_PART_PREFIXES = ("read_", "load", "save", "dump", "open", "to_")

_HINT = "Choose a fitted scikit-learn model saved with joblib.dump or pickle.dump; the file may be truncated or damaged."
_RESAVE = "Re-save the model with a current joblib (joblib.dump(model, path)) and import that file."

# joblib's compressor magic numbers, checked in joblib's own order (numpy_pickle_utils._detect_compressor).
_MAGIC = ((b"ZF", "compat"), (b"\x78", "zlib"), (b"\x1f\x8b", "gzip"), (b"BZ", "bz2"),
          (b"\x5d\x00", "lzma"), (b"\xfd\x37\x7a\x58\x5a", "xz"), (b"\x04\x22\x4d\x18", "lz4"))
_CHUNK = 1 << 20
_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"
_WRAPPER_ARGS = ("subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes")
_WRAPPER_DEFAULTS = {"allow_mmap": False, "numpy_array_alignment_bytes": 16}  # NumpyArrayWrapper.__init__
_MAKERS = frozenset({"copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__"})
_TYPESTR = re.compile(r"[A-Za-z?]\d{0,12}")


def is_allowed(global_name: str) -> bool:
    """True when loading may import ``global_name`` ("module.qualname") under the policy above."""
    if global_name in ALLOWED_NAMES:
        return True
    parts = global_name.split(".")
    if len(parts) < 2 or parts[0] not in ALLOWED_PACKAGES or global_name.startswith(DENIED_PREFIXES):
        return False
    return not any(_denied_part(p) for p in parts[1:])


def _denied_part(part: str) -> bool:
    # Dunders reach __dict__, __globals__, __builtins__ ...; Cython's "__pyx_unpickle_X" does not end in "__".
    dunder = len(part) > 4 and part.startswith("__") and part.endswith("__")
    return dunder or part in DENIED_PARTS or part.startswith(DENIED_PART_PREFIXES)


def scan_file(path: str | os.PathLike) -> ScanResult:
    """Scan a model file on disk; raise InvalidInputError when it is not a pickle or joblib file."""
    p = Path(path)
    label = f"'{p.name or p}'"
    if p.is_dir():
        raise InvalidInputError(f"{label} is a folder, not a model file.", hint=_HINT)
    try:
        raw = open(p, "rb")
    except FileNotFoundError:
        raise InvalidInputError(f"{label} does not exist.", hint="Check the path and choose the model file again.") from None
    except OSError as exc:
        raise InvalidInputError(f"{label} cannot be read: {exc.strerror or exc}.", hint=_HINT) from None
    with raw:
        return _scan(raw, label)


def scan_bytes(data: bytes, label: str = "The data") -> ScanResult:
    """Scan a model held in memory; raise InvalidInputError (its message starting with `label`, e.g. the
    file's quoted name) when it is not a pickle or joblib file."""
    return _scan(io.BytesIO(bytes(data)), label)


class _Refuse(Exception):
    """A well-formed file using a joblib feature the scanner cannot follow safely."""


class _Global:
    """What find_class would have imported; only the name is kept."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name  # never resolved: resolving means importing


class _Obj:
    """Stand-in for whatever a call, instantiation or persistent id would have built."""

    __slots__ = ("args", "kind", "init", "state", "attrs")

    def __init__(self, args: object, kind: str | None, init: bool) -> None:
        # kind: the class the object would be an instance of (or the function called), when known;
        # init: whether __init__ would run with args (decides joblib wrapper defaults).
        self.args, self.kind, self.init, self.state, self.attrs = args, kind, init, None, {}


def _name(obj: object) -> str | None:
    return obj.name if isinstance(obj, _Global) else None


def _set_pairs(target: dict, items: list) -> None:
    dict.update(target, zip(items[::2], items[1::2]))


class _Scanner(pickle._Unpickler):
    """The pure-Python unpickler with every opcode that imports or calls replaced by inert stubs."""

    dispatch = pickle._Unpickler.dispatch.copy()

    def __init__(self, file: io.BufferedIOBase, names: set[str], joblib: bool) -> None:
        super().__init__(file)
        self._file, self.names, self.joblib, self.arrays = file, names, joblib, 0
        self._file_read = self._read_bounded  # the unframer (hence every opcode) reads through this

    def _read_bounded(self, n: int) -> bytes:
        # A length field can claim terabytes: read what is really there, a chunk at a time.
        parts = []
        while n > 0 and (part := self._file.read(min(n, _CHUNK))):
            parts.append(part)
            n -= len(part)
        return b"".join(parts)

    def load_bytearray8(self) -> None:  # pickle's own version allocates the claimed size up front
        (n,) = struct.unpack("<Q", self.read(8))
        data = self.read(n)
        if len(data) != n:
            raise EOFError("bytearray ends early")
        self.append(bytearray(data))

    def find_class(self, module: str, name: str) -> _Global:
        # Same renaming as pickle (protocol < 3 pickles say __builtin__, copy_reg ...).
        if self.proto < 3 and self.fix_imports:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        return self._global(f"{module}.{name}")

    def _global(self, name: str) -> _Global:
        self.names.add(name)
        return _Global(name)

    def persistent_load(self, pid: object) -> _Obj:
        # The loader's persistent_load decides what a persistent id means, so it is never trusted.
        self.names.add("pickle.persistent_load")
        return _Obj((pid,), None, False)

    def get_extension(self, code: int) -> None:
        self.append(self._global(f"copyreg._inverted_registry.{code}"))

    def _instantiate(self, klass: object, args: list) -> None:  # INST and OBJ
        self.append(_Obj(tuple(args), _name(klass), bool(args)))

    def load_reduce(self) -> None:
        args = self.stack.pop()
        name = _name(self.stack[-1])
        if name in _MAKERS and isinstance(args, tuple) and args:  # builds an args[0] without __init__
            self.stack[-1] = _Obj(args, _name(args[0]), False)
        else:
            self.stack[-1] = _Obj(args, name, True)

    def load_newobj(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = _Obj(args, _name(self.stack[-1]), False)

    def load_newobj_ex(self) -> None:
        self.stack.pop()  # kwargs
        self.load_newobj()

    def load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, _Global):  # would overwrite attributes of an imported class or module
            self.names.add(f"{inst.name}.__setstate__")
        elif isinstance(inst, _Obj):
            inst.state = state
            for part in state if isinstance(state, tuple) and len(state) == 2 else (state,):
                if isinstance(part, dict):
                    if "__class__" in part:  # joblib's isinstance(wrapper) test would no longer match ours
                        raise _Refuse("it reassigns an object's class while loading")
                    inst.attrs.update(part)
            if inst.kind == _WRAPPER and self.joblib:  # joblib.load's NumpyUnpickler.load_build
                self.stack[-1] = self._read_array(inst)

    def _fill(self, items: list, how: str, op) -> None:
        target = self.stack[-1]
        if isinstance(target, _Global):  # would mutate a module-level list, dict or set (a registry)
            self.names.add(f"{target.name}.{how}")
        elif not isinstance(target, _Obj):
            op(target, items)

    def load_append(self) -> None:
        self._fill([self.stack.pop()], "__iadd__", list.extend)

    def load_appends(self) -> None:
        self._fill(self.pop_mark(), "__iadd__", list.extend)

    def load_setitem(self) -> None:
        value = self.stack.pop()
        self._fill([self.stack.pop(), value], "__setitem__", _set_pairs)

    def load_setitems(self) -> None:
        self._fill(self.pop_mark(), "__setitem__", _set_pairs)

    def load_additems(self) -> None:
        self._fill(self.pop_mark(), "__ior__", set.update)

    for _op, _fn in ((pickle.REDUCE, load_reduce), (pickle.NEWOBJ, load_newobj), (pickle.NEWOBJ_EX, load_newobj_ex),
                     (pickle.BUILD, load_build), (pickle.APPEND, load_append), (pickle.APPENDS, load_appends),
                     (pickle.SETITEM, load_setitem), (pickle.SETITEMS, load_setitems),
                     (pickle.ADDITEMS, load_additems), (pickle.BYTEARRAY8, load_bytearray8)):
        dispatch[_op[0]] = _fn
    del _op, _fn

    def _read_array(self, wrapper: _Obj) -> _Obj:
        """Skip the array bytes joblib wrote right after the wrapper, exactly as NumpyArrayWrapper.read_array reads them."""
        attrs = wrapper.attrs
        if wrapper.init:
            attrs = {**_WRAPPER_DEFAULTS, **dict(zip(_WRAPPER_ARGS, wrapper.args)), **attrs}
        dtype, shape = _to_dtype(attrs.get("dtype")), attrs.get("shape")
        if not isinstance(shape, (tuple, list)) or not all(type(n) is int and n >= 0 for n in shape):
            raise _Refuse("a joblib array has an unreadable shape")
        self.arrays += 1
        if dtype.hasobject:  # object arrays are a nested, ordinary pickle stream joblib reads in place
            _Scanner(self._file, self.names, joblib=False).load()
        else:
            if attrs.get("numpy_array_alignment_bytes") is not None:  # one length byte, then padding
                self._skip(self._skip(1)[0])
            if dtype.itemsize == 0:
                raise _Refuse("a joblib array has an empty dtype")
            self._skip(math.prod(shape) * dtype.itemsize)
        return _Obj((), "numpy.ndarray", False)

    def _skip(self, n: int) -> bytes:
        # Read from the file, not the frame: joblib commits the frame and reads file_handle directly.
        chunk = b""
        while n > 0:
            chunk = self._file.read(min(n, _CHUNK))
            if not chunk:
                raise EOFError("array data ends early")
            n -= len(chunk)
        return chunk


def _to_dtype(obj: object):
    """Rebuild a numpy dtype from its stub using plain strings and numbers only, as numpy would unpickle it."""
    import numpy as np

    args = obj.args if isinstance(obj, _Obj) and obj.kind == "numpy.dtype" and obj.init else None
    if not (isinstance(args, tuple) and args and isinstance(args[0], str) and _TYPESTR.fullmatch(args[0])):
        raise _Refuse("a joblib array has a dtype the scanner cannot read")
    # copy=True always: the file must not be able to alter numpy's shared builtin dtypes in this process.
    dtype = np.dtype(args[0], len(args) > 1 and args[1] is True, True)
    if obj.state is not None:
        dtype.__setstate__(_plain(obj.state))
    return dtype


def _plain(value: object) -> object:
    if isinstance(value, _Obj):
        return _to_dtype(value)  # structured dtypes nest their field dtypes
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, bytes, int, float)):
        return value
    raise _Refuse("a joblib array dtype refers to other objects")


class _ZlibReader(io.RawIOBase):
    """Streaming zlib/gzip decoder matching joblib's BinaryZlibFile; bounded output per step."""

    def __init__(self, raw: io.BufferedIOBase, wbits: int) -> None:
        self._raw, self._z, self._buf = raw, zlib.decompressobj(wbits), b""

    def readable(self) -> bool:  # io.BufferedReader refuses a raw stream without it
        return True

    def readinto(self, b) -> int:
        while not self._buf and not self._z.eof:
            data = self._z.unconsumed_tail or self._raw.read(_CHUNK)
            if not data:
                raise EOFError("compressed data ends early")
            self._buf = self._z.decompress(data, _CHUNK)
        n = min(len(b), len(self._buf))
        b[:n], self._buf = self._buf[:n], self._buf[n:]
        return n


def _refused(label: str, reason: str) -> InvalidInputError:
    return InvalidInputError(f"{label} cannot be scanned safely: {reason}.", hint=_RESAVE)


def _decompressed(raw: io.BufferedIOBase, kind: str | None, label: str) -> io.BufferedIOBase:
    if kind is None:
        return raw
    if kind in ("zlib", "gzip"):
        return io.BufferedReader(_ZlibReader(raw, 31 if kind == "gzip" else zlib.MAX_WBITS), _CHUNK)
    if kind == "bz2":
        return bz2.BZ2File(raw)
    if kind in ("lzma", "xz"):
        return lzma.LZMAFile(raw)
    if kind == "lz4":
        try:
            from lz4.frame import LZ4FrameFile
        except ImportError:
            raise _refused(label, "it is lz4-compressed and the lz4 package is not installed") from None
        return LZ4FrameFile(raw)
    raise _refused(label, "it was written by joblib older than 0.10, which keeps arrays in side files")


def _scan(raw: io.BufferedIOBase, label: str) -> ScanResult:
    head = raw.read(8)
    raw.seek(0)
    if not head:
        raise InvalidInputError(f"{label} is not a model file: it is empty.", hint=_HINT)
    kind = next((k for magic, k in _MAGIC if head.startswith(magic)), None)
    names: set[str] = set()
    scanner = _Scanner(_decompressed(raw, kind, label), names, joblib=True)  # opening reads nothing yet
    try:
        scanner.load()
    except _Refuse as exc:
        raise _refused(label, str(exc)) from None
    except Exception:  # any malformed stream: UnpicklingError, EOFError, zlib/lzma errors, IndexError ...
        raise InvalidInputError(f"{label} is not a model file: it is not a pickle or joblib file.", hint=_HINT) from None
    fmt = f"joblib+{kind}" if kind else ("joblib" if scanner.arrays else "pickle")
    found = tuple(sorted(names))
    return ScanResult(globals=found, disallowed=tuple(n for n in found if not is_allowed(n)), format=fmt)
