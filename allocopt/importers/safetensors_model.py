r"""A model's weights in a ``.safetensors`` file -> a ``bit_allocation`` instance (mixed-precision quantization).

``read_safetensors`` makes one unit per weight matrix: every floating-point tensor (F16, BF16, F32, F64)
with exactly two dimensions whose name does not match ``exclude`` (by default the embeddings, usually
kept at higher precision). Integer tensors (``position_ids``), 1-D tensors (biases, LayerNorm) and other
ranks are skipped; the document lists them under ``x-quantization.skipped``. Units are sorted by name.

**Options.** Unit j, a matrix of shape ``(out, in)`` with :math:`s_j = out \cdot in` weights, gets one
option per nominal bit-width :math:`b`: round-to-nearest, asymmetric min-max, groups of ``group_size``
consecutive weights along the input dimension (``quantization.quantize_rtn``), with

- ``bits`` = the **effective** bits per weight, :math:`b + 32 \lceil in/g \rceil / in`: the codes plus one
  fp16 scale and one fp16 minimum (32 bits) per group, shared by the group's weights. The problem's
  budget is :math:`\sum_j s_j b_j \le T`, so an option's bits must be what a weight really costs. When
  :math:`g` divides ``in`` (the usual case, e.g. 128 and 384) this is ``effective_bits(b, g)`` = :math:`b + 32/g`;
  otherwise the shorter last group of each row still pays for its own scale and minimum.
- ``error`` = :math:`w_j \lVert W_j - \hat W_j \rVert_F^2` (float64), with :math:`w_j = 1` for
  ``sensitivity="none"`` and AlphaQ's :math:`w_j = (\operatorname{median}\alpha / \alpha_j)^\gamma` for
  ``sensitivity="alpha"`` (``quantization.hill_alpha`` / ``alpha_sensitivity``).

**Budget.** ``total_bits`` = the memory of the uniform allocation at ``average_bits`` nominal bits
(default 4 when 4 is a candidate, else the median of ``bits``), scales and minimums included:
:math:`T = \sum_j (s_j \bar b + 32 \cdot out_j \lceil in_j / g \rceil)`, exact (an integer for an
integer :math:`\bar b`). So the optimum "at 4 average bits" uses exactly the memory of uniform 4-bit RTN
and can be compared with it.

Reading needs the ``safetensors`` package (its numpy API; no torch). numpy has no bfloat16, so BF16
tensors are read as raw little-endian 16-bit words from the file's data section and widened to float32
by shifting them into the high half of a 32-bit word (exact: bfloat16 is float32 with the low 16
mantissa bits cut).
"""

from __future__ import annotations

import json
import math
import re
import statistics
import struct
from pathlib import Path
from typing import Any

import numpy as np

from allocopt.errors import InstanceError, UsageError
from allocopt.importers.quantization import (
    OVERHEAD_BITS_PER_GROUP,
    alpha_sensitivity,
    effective_bits,
    hill_alpha,
    quantization_error,
)
from allocopt.importers.tokens import as_json_number
from allocopt.result import FORMAT_TAG

#: safetensors dtype codes read as weights (numpy dtype; None: bfloat16, converted by hand).
FLOAT_DTYPES: dict[str, str | None] = {"F16": "<f2", "BF16": None, "F32": "<f4", "F64": "<f8"}
SENSITIVITIES = ("none", "alpha")
#: File and directory names that do not name a model (the default instance name skips them).
GENERIC_NAMES = frozenset({"model", "models", "pytorch_model", "weights", "checkpoint", "safetensors"})


def read_safetensors(
    path: Path,
    bits: list[int],
    group_size: int = 128,
    sensitivity: str = "none",
    exclude: str | None = r"embeddings",
    average_bits: float | None = None,
    name: str | None = None,
    gamma: float = 1.0,
) -> dict[str, Any]:
    """The ``bit_allocation`` instance document of the weight matrices in ``path`` (see the module docstring).

    ``bits``: the nominal candidate bit-widths (integers in 1..16); ``exclude``: a regular expression
    (``re.search`` on the tensor name) for matrices to leave out, None for none; ``sensitivity``:
    ``"none"`` (plain squared errors) or ``"alpha"`` (AlphaQ weights with exponent ``gamma``);
    ``average_bits``: the nominal bits of the uniform allocation whose memory is the budget.
    """
    path = Path(path)
    nominal = _check_settings(bits, group_size, sensitivity, average_bits, gamma)
    avg = float(average_bits) if average_bits is not None else (4.0 if 4 in nominal else statistics.median(nominal))
    try:
        pattern = re.compile(exclude) if exclude is not None else None
    except re.error as exc:
        raise UsageError(f"exclude pattern {exclude!r} is not a valid regular expression: {exc}") from None

    tensors = _SafetensorsFile(path)
    skipped: dict[str, list[str]] = {"excluded": [], "not_float": [], "not_2d": []}
    selected: list[str] = []
    for key in sorted(tensors.keys()):
        dtype, shape = tensors.info(key)
        if dtype not in FLOAT_DTYPES:
            skipped["not_float"].append(key)
        elif len(shape) != 2:
            skipped["not_2d"].append(key)
        elif pattern is not None and pattern.search(key):
            skipped["excluded"].append(key)
        elif 0 in shape:
            skipped["not_2d"].append(key)  # an empty matrix has nothing to quantize
        else:
            selected.append(key)
    if not selected:
        seen = ", ".join(f"{k} {tensors.info(k)[0]}{list(tensors.info(k)[1])}" for k in sorted(tensors.keys()))
        raise InstanceError(
            path,
            (),
            f"no 2-D floating-point weight matrix left after exclude={exclude!r}; tensors seen: {seen or 'none'}",
        )

    units: list[dict[str, Any]] = []
    errors: list[list[float]] = []
    alphas: list[float] = []
    total_size, total_groups = 0, 0
    for key in selected:
        w = tensors.matrix(key)
        if not np.all(np.isfinite(w)):
            raise InstanceError(path, (), f"tensor {key!r} has non-finite values (nan or inf)")
        rows, n_in = w.shape
        units.append({"name": key, "size": rows * n_in, "options": []})
        errors.append([quantization_error(w, b, group_size) for b in nominal])
        # Exact memory: one scale + minimum per group, ceil(in / g) groups per row.
        total_size += rows * n_in
        total_groups += rows * math.ceil(n_in / group_size)
        if sensitivity == "alpha":
            alphas.append(hill_alpha(w))
    weights = alpha_sensitivity(np.asarray(alphas), gamma) if sensitivity == "alpha" else np.ones(len(units))
    for unit, errs, weight in zip(units, errors, weights, strict=True):
        n_in = tensors.info(unit["name"])[1][1]
        unit["options"] = [
            {"bits": as_json_number(effective_bits(b, group_size, in_features=n_in)), "error": float(weight * e)}
            for b, e in zip(nominal, errs, strict=True)
        ]
    total_bits = avg * total_size + OVERHEAD_BITS_PER_GROUP * total_groups

    x_quant: dict[str, Any] = {
        "source": path.name,
        "method": "round-to-nearest, asymmetric min-max per group (scale = (max - min) / (2^b - 1))",
        "group_size": group_size,
        "group_axis": "input features (axis 1 of the (out, in) matrix)",
        "nominal_bits": nominal,
        "average_bits": as_json_number(avg),
        "overhead_bits_per_group": OVERHEAD_BITS_PER_GROUP,
        "overhead_rule": (
            "option bits = b + 32 * ceil(in / group_size) / in per weight (one fp16 scale and one fp16 minimum "
            "per group; b + 32 / group_size when group_size divides in); "
            "total_bits = memory of uniform average_bits, scales and minimums included"
        ),
        "error": "squared Frobenius error ||W - W_hat||^2 in float64"
        + (", times the AlphaQ sensitivity (median(alpha) / alpha)^gamma" if sensitivity == "alpha" else ""),
        "sensitivity": sensitivity,
        "exclude": exclude,
        "skipped": skipped,
    }
    if sensitivity == "alpha":
        x_quant["gamma"] = as_json_number(gamma)
        x_quant["hill_k"] = "max(10, floor(n_eigs / 10)), at most n_eigs - 1 (AlphaQ / WeightWatcher PL_Alpha_Hill)"
        x_quant["alpha"] = {u["name"]: _json_float(a) for u, a in zip(units, alphas, strict=True)}
        x_quant["sensitivity_weight"] = {u["name"]: float(w) for u, w in zip(units, weights, strict=True)}

    if name is None:
        # "model.safetensors" says little: name it after the nearest directory with a specific name.
        candidates = [path.stem, *(p.name for p in path.parents)]
        base = next((c for c in candidates if c and c not in GENERIC_NAMES), path.stem)
        name = f"{base}-g{group_size}" + ("-alpha" if sensitivity == "alpha" else "")
    description = (
        f"mixed-precision bit allocation for the {len(units)} weight matrices ({total_size} weights) of "
        f"{path.name}: RTN min-max groups of {group_size}, nominal bits {nominal}, budget = uniform "
        f"{as_json_number(avg)}-bit memory"
        + (" (errors weighted by AlphaQ's heavy-tail sensitivity)" if sensitivity == "alpha" else "")
    )
    return {
        "format": FORMAT_TAG,
        "problem": "bit_allocation",
        "name": name,
        "description": description,
        "data": {"units": units, "budget": {"total_bits": as_json_number(total_bits)}},
        "x-quantization": x_quant,
    }


def _check_settings(
    bits: list[int], group_size: int, sensitivity: str, average_bits: float | None, gamma: float
) -> list[int]:
    """The sorted distinct nominal bit-widths, after checking every setting (UsageError otherwise)."""
    if not isinstance(bits, list | tuple) or not bits:
        raise UsageError("bits: expected a non-empty list of bit-widths, e.g. [2, 3, 4, 8]")
    for b in bits:
        if isinstance(b, bool) or not isinstance(b, int | np.integer) or not 1 <= b <= 16:
            raise UsageError(f"bits: {b!r} is not an integer bit-width in 1..16")
    if isinstance(group_size, bool) or not isinstance(group_size, int | np.integer) or group_size < 1:
        raise UsageError(f"group_size: expected a positive integer, got {group_size!r}")
    if sensitivity not in SENSITIVITIES:
        raise UsageError(f"unknown sensitivity {sensitivity!r}; expected one of {', '.join(SENSITIVITIES)}")
    nominal = sorted({int(b) for b in bits})
    if average_bits is not None:
        if not _is_number(average_bits):
            raise UsageError(f"average_bits: expected a number, got {average_bits!r}")
        if average_bits < nominal[0]:
            # Every unit takes at least the smallest option: a smaller budget has no solution.
            raise UsageError(f"average_bits {average_bits} is below the smallest candidate, {nominal[0]} bits")
    if not _is_number(gamma) or gamma < 0:
        raise UsageError(f"gamma: expected a number >= 0, got {gamma!r}")
    return nominal


def _is_number(x: object) -> bool:
    return not isinstance(x, bool) and isinstance(x, int | float | np.integer | np.floating) and math.isfinite(x)


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None  # JSON has no nan / inf


class _SafetensorsFile:
    """Lazy access to a safetensors file's tensors as float64 matrices, without torch."""

    def __init__(self, path: Path) -> None:
        try:
            from safetensors import SafetensorError, safe_open
        except ImportError:
            raise UsageError(
                "reading .safetensors files needs the safetensors package: pip install safetensors "
                "(or pip install 'allocopt[models]')"
            ) from None
        self.path = path
        if not path.is_file():
            raise InstanceError(path, (), "cannot be read: no such file")
        try:
            # Validates the header (offsets, dtypes, sizes) once; tensors are read lazily below.
            with safe_open(str(path), framework="np") as f:
                self._info = {}
                for key in f.keys():  # noqa: SIM118 (safe_open is not iterable)
                    s = f.get_slice(key)
                    self._info[key] = (s.get_dtype(), tuple(int(d) for d in s.get_shape()))
        except (SafetensorError, OSError, ValueError) as exc:
            raise InstanceError(path, (), f"not a safetensors file: {exc}") from None
        self._data_start: int | None = None
        self._offsets: dict[str, list[int]] = {}

    def keys(self) -> list[str]:
        return list(self._info)

    def info(self, key: str) -> tuple[str, tuple[int, ...]]:
        return self._info[key]

    def matrix(self, key: str) -> np.ndarray:
        dtype, shape = self._info[key]
        if FLOAT_DTYPES[dtype] is None:
            return self._bfloat16(key).reshape(shape).astype(np.float64)
        from safetensors import safe_open

        with safe_open(str(self.path), framework="np") as f:
            return np.asarray(f.get_tensor(key), dtype=np.float64)

    def _bfloat16(self, key: str) -> np.ndarray:
        """A BF16 tensor: its raw 16-bit words, shifted into the high half of float32 words."""
        if self._data_start is None:
            # The format: an 8-byte little-endian header length N, N bytes of JSON header, then the data;
            # data_offsets are relative to the start of the data.
            with self.path.open("rb") as fh:
                (n,) = struct.unpack("<Q", fh.read(8))
                header = json.loads(fh.read(n))
            self._data_start = 8 + n
            self._offsets = {k: v["data_offsets"] for k, v in header.items() if k != "__metadata__"}
        begin, end = self._offsets[key]
        raw = np.fromfile(self.path, dtype="<u2", count=(end - begin) // 2, offset=self._data_start + begin)
        return (raw.astype(np.uint32) << 16).view(np.float32)
