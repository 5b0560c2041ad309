"""Checks an open run file against docs/hdf5-layout.json, both ways.

check_documented(f, layout, config) -> errors for documented objects that are missing or differ
check_undocumented(f, layout)       -> errors for objects in the file that the layout does not list
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

import h5py
import numpy as np


# ----------------------------------------------------------------------------- helpers
def split_path(path: str) -> Tuple[str, Optional[str]]:
    """'/series/stocks@dims' -> ('/series/stocks', 'dims'); '/@seed' -> ('/', 'seed')."""
    if "@" in path:
        obj, attr = path.split("@", 1)
        return (obj or "/"), attr
    return path, None


def placeholder_regex(layout: dict) -> Dict[str, str]:
    return dict(layout.get("placeholders", {}))


def to_pattern(path: str, layout: dict) -> re.Pattern:
    """Regex matching the concrete paths of a documented (possibly templated) path."""
    rx = re.escape(path)
    for ph, sub in placeholder_regex(layout).items():
        rx = rx.replace(re.escape(ph), sub)
    return re.compile("^" + rx + "$")


def canonical(path: str, layout: dict) -> str:
    """Concrete path -> the documented path it falls under (placeholders put back)."""
    objs = layout["objects"]
    if path in objs:
        return path
    for doc in objs:
        if any(ph in doc for ph in placeholder_regex(layout)) and to_pattern(doc, layout).match(path):
            return doc
    return path


def all_paths(f: h5py.File) -> List[str]:
    """Every group, dataset and attribute of the file as documented-style paths."""
    out = ["/"] + [f"/@{a}" for a in f.attrs]

    def visit(name, obj):
        p = "/" + name
        out.append(p)
        for a in obj.attrs:
            out.append(f"{p}@{a}")

    f.visititems(visit)
    return out


def _is_string(dtype) -> bool:
    return h5py.check_string_dtype(dtype) is not None


def dtype_error(where: str, actual: np.dtype, documented: str) -> Optional[str]:
    if documented == "string":
        if not _is_string(actual):
            return f"{where}: dtype {actual}, documented as string"
        return None
    if _is_string(actual):
        return f"{where}: string, documented as {documented}"
    want = np.dtype(documented)
    if actual.kind != want.kind:
        return f"{where}: dtype kind {actual.kind!r} ({actual}), documented {documented} (kind {want.kind!r})"
    if actual != want:
        return f"{where}: dtype {actual}, documented {documented}"
    return None


def _dig(config: Optional[dict], dotted: str):
    cur = config
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def expected_size(f: h5py.File, layout: dict, dim: str, concrete_obj: str, config: Optional[dict]):
    """Expected length of a named dimension, or None when it is only checked for consistency."""
    spec = layout["dimensions"].get(dim)
    if spec is None:
        return None
    if "size_from" in spec:
        ref = spec["size_from"]
        return f[ref].shape[0] if ref in f else None
    if "size_from_config" in spec:
        v = _dig(config, spec["size_from_config"])
        return None if v is None else int(v) + int(spec.get("offset", 0))
    return None


# ----------------------------------------------------------------------------- checks
def check_documented(f: h5py.File, layout: dict, config: Optional[dict] = None,
                     expect_snapshots: Optional[bool] = None) -> List[str]:
    errors: List[str] = []
    objs = layout["objects"]
    dims_spec = layout["dimensions"]
    file_paths = all_paths(f)
    n_steps = int(f.attrs["last_step"]) + 1
    group_sizes: Dict[Tuple[str, str], int] = {}
    for doc, spec in objs.items():
        templated = any(ph in doc for ph in placeholder_regex(layout))
        if templated:
            rx = to_pattern(doc, layout)
            concrete = [p for p in file_paths if rx.match(p)]
        else:
            concrete = [doc] if doc in file_paths or doc == "/" else []
        if not concrete:
            if spec.get("optional") and not expect_snapshots:
                continue
            errors.append(f"{doc}: documented ({spec['kind']}) but not in the file")
            continue
        for path in concrete:
            obj_path, attr = split_path(path)
            kind = spec["kind"]
            if kind == "attribute":
                if attr is None:
                    errors.append(f"{doc}: documented as attribute but path has no @name")
                    continue
                obj = f[obj_path]
                if attr not in obj.attrs:
                    errors.append(f"{path}: attribute missing")
                    continue
                aid = obj.attrs.get_id(attr)
                e = dtype_error(path, aid.dtype, spec["dtype"])
                if e:
                    errors.append(e)
                shape = aid.shape or ()
                if len(shape) != len(spec["dims"]):
                    errors.append(f"{path}: rank {len(shape)}, documented dims {spec['dims']}")
                    continue
                for axis, dim in enumerate(spec["dims"]):
                    if isinstance(dim, int):
                        if shape[axis] != dim:
                            errors.append(f"{path}: axis {axis} has {shape[axis]}, documented {dim}")
                    elif dims_spec.get(dim, {}).get("scope") == "parent":
                        if not isinstance(obj, h5py.Dataset) or shape[axis] != obj.ndim:
                            errors.append(f"{path}: {shape[axis]} entries for a dataset of rank "
                                          f"{getattr(obj, 'ndim', None)}")
                    else:
                        want = expected_size(f, layout, dim, obj_path, config)
                        if want is not None and shape[axis] != want:
                            errors.append(f"{path}: axis {axis} ({dim}) has {shape[axis]}, expected {want}")
                continue
            obj = f[obj_path]
            if kind == "group":
                if not isinstance(obj, h5py.Group):
                    errors.append(f"{path}: is a {type(obj).__name__}, documented as group")
                continue
            if not isinstance(obj, h5py.Dataset):
                errors.append(f"{path}: is a {type(obj).__name__}, documented as dataset")
                continue
            e = dtype_error(path, obj.dtype, spec["dtype"])
            if e:
                errors.append(e)
            dims = spec["dims"]
            if obj.ndim != len(dims):
                errors.append(f"{path}: shape {obj.shape} (rank {obj.ndim}), documented dims {dims}")
                continue
            for axis, dim in enumerate(dims):
                size = obj.shape[axis]
                dspec = dims_spec.get(dim)
                if dspec is None:
                    errors.append(f"{path}: dimension {dim!r} is not described under 'dimensions'")
                    continue
                extendable = obj.maxshape[axis] is None
                if bool(dspec.get("extendable")) != extendable:
                    errors.append(f"{path}: axis {axis} ({dim}) maxshape {obj.maxshape[axis]}, documented "
                                  f"{'extendable' if dspec.get('extendable') else 'fixed'}")
                if dim == "step" and size != n_steps:
                    errors.append(f"{path}: {size} rows, but last_step + 1 = {n_steps}")
                if dspec.get("scope") == "group":
                    key = (dim, obj.parent.name)
                    if group_sizes.setdefault(key, size) != size:
                        errors.append(f"{path}: axis {axis} ({dim}) has {size}, other datasets of "
                                      f"{obj.parent.name} have {group_sizes[key]}")
                    continue
                want = expected_size(f, layout, dim, obj_path, config)
                if want is not None and size != want:
                    errors.append(f"{path}: axis {axis} ({dim}) has {size}, expected {want} "
                                  f"(from {dspec.get('size_from') or dspec.get('size_from_config')})")
            # A 'dims' attribute must agree with the documented dims.
            if "dims" in obj.attrs:
                got = [x.decode() if isinstance(x, bytes) else str(x) for x in np.atleast_1d(obj.attrs["dims"])]
                if got != list(dims):
                    errors.append(f"{path}@dims = {got}, documented dims {dims}")
    return errors


def check_undocumented(f: h5py.File, layout: dict) -> List[str]:
    objs = layout["objects"]
    errors = []
    for p in all_paths(f):
        doc = canonical(p, layout)
        if doc not in objs:
            errors.append(f"{p}: in the file but not documented in docs/hdf5-layout.json")
        else:
            kind = objs[doc]["kind"]
            obj_path, attr = split_path(p)
            actual = "attribute" if attr is not None else (
                "group" if isinstance(f[obj_path], h5py.Group) else "dataset")
            if actual != kind:
                errors.append(f"{p}: is a {actual}, documented as {kind}")
    return errors
