"""RTN quantization maths, the Hill estimator, and the safetensors -> bit_allocation importer.

The files are written here (small random weights); the RTN quantizer is re-implemented independently.
"""

from __future__ import annotations

import itertools
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

import allocopt
from allocopt.errors import InstanceError, UsageError
from allocopt.importers.quantization import (
    alpha_sensitivity,
    effective_bits,
    hill_alpha,
    quantization_error,
    quantize_rtn,
)


def reference_rtn(w: np.ndarray, bits: int, group: int) -> np.ndarray:
    """Asymmetric min-max RTN, one group at a time (independent of the library's vectorised version)."""
    w = np.asarray(w, dtype=np.float64)
    out = w.copy()
    top = 2**bits - 1
    for r in range(w.shape[0]):
        for start in range(0, w.shape[1], group):
            g = w[r, start : start + group]
            lo, hi = g.min(), g.max()
            if hi > lo:
                scale = (hi - lo) / top
                out[r, start : start + group] = np.clip(np.round((g - lo) / scale), 0, top) * scale + lo
    return out


def reference_error(w: np.ndarray, bits: int, group: int) -> float:
    return float(((np.asarray(w, dtype=np.float64) - reference_rtn(w, bits, group)) ** 2).sum())


# ---- quantization maths -------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_rtn_matches_an_independent_quantizer(bits: int) -> None:
    rng = np.random.default_rng(bits)
    w = rng.normal(size=(6, 100)).astype(np.float32)  # groups of 32: the last group of each row has 4
    assert np.allclose(quantize_rtn(w, bits, 32), reference_rtn(w, bits, 32), rtol=0, atol=1e-12)
    assert quantization_error(w, bits, 32) == pytest.approx(reference_error(w, bits, 32), rel=1e-12)
    # At most half a step per weight; the codes are on the grid of the group's min and scale.
    assert quantization_error(w, bits, 32) > 0


def test_rtn_constant_groups_are_exact_and_levels_are_respected() -> None:
    w = np.zeros((3, 10))
    w[0, :5] = 7.5  # group [0:5] of row 0 constant
    w[1] = np.linspace(-1, 1, 10)
    w[2] = 4.0
    q = quantize_rtn(w, 2, 5)
    assert np.array_equal(q[0], w[0]) and np.array_equal(q[2], w[2])
    # 1 bit: each weight becomes its group's min or max.
    q1 = quantize_rtn(w[1:2], 1, 5)
    assert set(np.round(q1[0, :5], 12)) <= {-1.0, round(w[1, 4], 12)}
    # 8 bits on an evenly spaced row of 2^8 values is exact.
    ramp = np.arange(256, dtype=np.float64)[None, :] * 0.5
    assert quantization_error(ramp, 8, 256) == pytest.approx(0.0, abs=1e-20)
    assert quantize_rtn(np.ones(4), 3, 2).shape == (4,)


def test_errors_decrease_with_bits_on_gaussian_weights() -> None:
    w = np.random.default_rng(1).normal(size=(16, 256))
    errs = [quantization_error(w, b, 64) for b in range(1, 9)]
    assert all(a > b for a, b in itertools.pairwise(errs))
    # High-rate regime: one more bit divides the error by about four.
    assert 3.0 < errs[5] / errs[6] < 5.0


def test_effective_bits_counts_the_fp16_scale_and_minimum() -> None:
    assert effective_bits(4, 128) == 4.25
    assert effective_bits(3, 64) == 3.5
    assert effective_bits(4, 128, overhead_bits_per_group=16) == 4.125
    assert effective_bits(4, 128, in_features=384) == 4.25  # divides: same as the nominal rule
    assert effective_bits(2, 32, in_features=100) == pytest.approx(2 + 32 * 4 / 100)  # 4 groups, one short
    with pytest.raises(ValueError):
        effective_bits(0, 128)
    with pytest.raises(ValueError):
        effective_bits(4, 0)


# ---- Hill estimator and AlphaQ sensitivity ---------------------------------------------------------


def matrix_with_spectrum(lam: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """W = H1 [diag(sqrt(lam)); 0] H2, H1 and H2 random Householder reflections (orthogonal): eig(W^T W) = lam."""

    def reflect(m: np.ndarray, axis: int) -> np.ndarray:
        v = rng.normal(size=m.shape[axis])
        v /= np.linalg.norm(v)
        return m - 2 * np.outer(v, v @ m) if axis == 0 else m - 2 * np.outer(m @ v, v)

    w = np.zeros((rows, lam.size))
    w[np.arange(lam.size), np.arange(lam.size)] = np.sqrt(lam)
    w = w[rng.permutation(rows)]
    return reflect(reflect(w, 0), 1)


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.5])
def test_hill_recovers_the_exponent_of_a_pareto_spectrum(alpha: float) -> None:
    rng = np.random.default_rng(int(alpha * 10))
    n = 400
    # Density ~ lambda^-alpha  <=>  P(lambda > x) = x^-(alpha - 1): Pareto with tail index alpha - 1.
    lam = (1.0 - rng.random(n)) ** (-1.0 / (alpha - 1.0))
    w = matrix_with_spectrum(lam, 500, rng)
    k = n // 2
    # Standard error ~ (alpha - 1) / sqrt(k): allow four of them.
    assert hill_alpha(w, k=k) == pytest.approx(alpha, abs=4 * (alpha - 1) / math.sqrt(k))
    assert hill_alpha(w) == pytest.approx(alpha, abs=4 * (alpha - 1) / math.sqrt(40))  # default k = n/10


def test_hill_on_exact_pareto_quantiles_and_scale_invariance() -> None:
    n, alpha = 400, 3.0
    # Deterministic: the Pareto quantiles lambda_i = (n / i)^(1 / (alpha - 1)), i = 1..n.
    lam = (n / np.arange(1, n + 1)) ** (1.0 / (alpha - 1.0))
    w = matrix_with_spectrum(lam, n, np.random.default_rng(0))
    k = 100
    # sum_{i<=k} ln((k+1)/i) = k ln(k+1) - ln k!, so the estimate is exactly this:
    expected = 1 + (alpha - 1) * k / (k * math.log(k + 1) - math.lgamma(k + 1))
    assert hill_alpha(w, k=k) == pytest.approx(expected, rel=1e-8)
    assert expected == pytest.approx(alpha, rel=0.02)
    assert hill_alpha(1e-3 * w, k=k) == pytest.approx(hill_alpha(w, k=k), rel=1e-10)
    assert hill_alpha(-250.0 * w) == pytest.approx(hill_alpha(w), rel=1e-10)
    assert hill_alpha(w.T) == pytest.approx(hill_alpha(w), rel=1e-10)  # same nonzero spectrum


def test_hill_degenerate_spectra() -> None:
    assert math.isnan(hill_alpha(np.outer(np.arange(1.0, 5.0), np.ones(6))))  # rank 1: one eigenvalue
    assert math.isnan(hill_alpha(np.zeros((5, 5))))
    assert hill_alpha(np.eye(8)) == math.inf  # flat spectrum, no tail
    with pytest.raises(ValueError):
        hill_alpha(np.eye(4), k=0)


def test_alpha_sensitivity_weights_heavier_tails_more() -> None:
    s = alpha_sensitivity(np.array([2.0, 4.0, 3.0]))
    assert s.tolist() == pytest.approx([1.5, 0.75, 1.0])  # median alpha 3 has weight 1
    assert alpha_sensitivity(np.array([2.0, 4.0, 3.0]), gamma=2.0).tolist() == pytest.approx([2.25, 0.5625, 1.0])
    s = alpha_sensitivity(np.array([2.0, np.nan, 4.0, np.inf]))
    assert s.tolist() == pytest.approx([1.5, 1.0, 0.75, 1.0])  # non-finite: neutral, not in the median
    with pytest.raises(ValueError):
        alpha_sensitivity(np.array([1.0, -2.0]))


# ---- the safetensors importer ----------------------------------------------------------------------


def write_model(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """A small model file; returns its float32 weight matrices."""
    st = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(seed)
    tensors = {
        "encoder.layer.0.attention.self.query.weight": rng.normal(size=(8, 256)).astype(np.float32),
        "encoder.layer.0.intermediate.dense.weight": rng.normal(size=(16, 100)).astype(np.float32),
        "encoder.layer.0.intermediate.dense.bias": rng.normal(size=16).astype(np.float32),
        "embeddings.position_ids": np.arange(12, dtype=np.int64)[None, :],
        "embeddings.word_embeddings.weight": rng.normal(size=(30, 16)).astype(np.float32),
        "encoder.layer.0.output.LayerNorm.weight": np.ones(8, dtype=np.float32),
    }
    st.save_file(tensors, str(path))
    return {k: v for k, v in tensors.items() if v.ndim == 2 and v.dtype == np.float32}


def write_raw_safetensors(path: Path, tensors: dict[str, tuple[str, tuple[int, ...], bytes]]) -> None:
    """The safetensors layout by hand (numpy cannot write BF16): u64 header length, JSON header, data."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def check_document(doc: dict) -> None:
    """Validate through allocopt when the bit_allocation problem is registered, else check the structure."""
    if "bit_allocation" in allocopt.problems():
        allocopt.instance_from_dict(json.loads(json.dumps(doc)))
        return
    assert doc["format"] == "allocopt/1" and doc["problem"] == "bit_allocation"
    assert isinstance(doc["name"], str) and isinstance(doc["description"], str)
    data = doc["data"]
    assert set(data) <= {"units", "budget", "min_bits"} and set(data["budget"]) == {"total_bits"}
    for unit in data["units"]:
        assert set(unit) == {"name", "size", "options"} and unit["size"] > 0
        bits = [o["bits"] for o in unit["options"]]
        assert bits == sorted(set(bits)) and all(b > 0 for b in bits)
        assert all(o["error"] >= 0 for o in unit["options"])
    json.dumps(doc, allow_nan=False)


def test_importer_units_options_budget_and_settings(tmp_path: Path) -> None:
    from allocopt.importers.safetensors_model import read_safetensors

    weights = write_model(tmp_path / "model.safetensors")
    doc = read_safetensors(tmp_path / "model.safetensors", [8, 2, 4, 3], group_size=32)
    check_document(doc)
    units = doc["data"]["units"]
    names = [u["name"] for u in units]
    assert names == ["encoder.layer.0.attention.self.query.weight", "encoder.layer.0.intermediate.dense.weight"]
    assert [u["size"] for u in units] == [8 * 256, 16 * 100]
    for u in units:
        w = weights[u["name"]]
        n_in = w.shape[1]
        assert [o["bits"] for o in u["options"]] == pytest.approx(
            [b + 32 * math.ceil(n_in / 32) / n_in for b in (2, 3, 4, 8)]
        )
        assert [o["error"] for o in u["options"]] == pytest.approx(
            [reference_error(w, b, 32) for b in (2, 3, 4, 8)], rel=1e-12
        )
    # Budget: uniform 4-bit memory, 32 bits of scale + minimum per group (8 x 8 and 16 x 4 groups).
    assert doc["data"]["budget"]["total_bits"] == 4 * (2048 + 1600) + 32 * (8 * 8 + 16 * 4)
    uniform4 = sum(u["size"] * u["options"][2]["bits"] for u in units)
    assert uniform4 == pytest.approx(doc["data"]["budget"]["total_bits"], rel=1e-12)
    xq = doc["x-quantization"]
    assert xq["source"] == "model.safetensors" and xq["group_size"] == 32 and xq["nominal_bits"] == [2, 3, 4, 8]
    assert xq["average_bits"] == 4 and xq["sensitivity"] == "none" and "alpha" not in xq
    assert xq["skipped"] == {
        "excluded": ["embeddings.word_embeddings.weight"],
        "not_float": ["embeddings.position_ids"],
        "not_2d": ["encoder.layer.0.intermediate.dense.bias", "encoder.layer.0.output.LayerNorm.weight"],
    }
    assert doc["name"] == f"{tmp_path.name}-g32"  # "model.safetensors" is named after its directory

    # No exclusion: the embeddings become a unit; an explicit average sets the budget.
    doc = read_safetensors(tmp_path / "model.safetensors", [2, 3], 32, exclude=None, average_bits=2.5, name="m")
    assert doc["name"] == "m" and "embeddings.word_embeddings.weight" in [u["name"] for u in doc["data"]["units"]]
    sizes = 2048 + 1600 + 30 * 16
    assert doc["data"]["budget"]["total_bits"] == pytest.approx(2.5 * sizes + 32 * (64 + 64 + 30))
    # Without 4 among the candidates the default average is their median.
    assert read_safetensors(tmp_path / "model.safetensors", [2, 3, 8], 32)["x-quantization"]["average_bits"] == 3


def test_importer_alpha_sensitivity(tmp_path: Path) -> None:
    from allocopt.importers.safetensors_model import read_safetensors

    weights = write_model(tmp_path / "m.safetensors")
    plain = read_safetensors(tmp_path / "m.safetensors", [2, 4], 32)
    doc = read_safetensors(tmp_path / "m.safetensors", [2, 4], 32, sensitivity="alpha", gamma=2.0)
    check_document(doc)
    xq = doc["x-quantization"]
    alphas = {name: hill_alpha(w) for name, w in weights.items() if "embeddings" not in name}
    assert xq["alpha"] == pytest.approx(alphas)
    sens = alpha_sensitivity(np.array([alphas[u["name"]] for u in doc["data"]["units"]]), 2.0)
    assert list(xq["sensitivity_weight"].values()) == pytest.approx(sens.tolist())
    for u, p, s in zip(doc["data"]["units"], plain["data"]["units"], sens, strict=True):
        assert [o["error"] for o in u["options"]] == pytest.approx([s * o["error"] for o in p["options"]])
    assert doc["name"] == "m-g32-alpha" and xq["gamma"] == 2


def test_importer_reads_bf16_and_f16(tmp_path: Path) -> None:
    pytest.importorskip("safetensors")
    from allocopt.importers.safetensors_model import read_safetensors

    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 48)).astype(np.float32)
    a_bf16 = (a.view(np.uint32) >> 16).astype("<u2")  # truncate to bfloat16
    b = rng.normal(size=(5, 40)).astype("<f2")
    c = rng.normal(size=(3, 20)).astype("<f8")
    write_raw_safetensors(
        tmp_path / "mixed.safetensors",
        {
            "a.weight": ("BF16", a.shape, a_bf16.tobytes()),
            "b.weight": ("F16", b.shape, b.tobytes()),
            "c.weight": ("F64", c.shape, c.tobytes()),
            "d.bias": ("BF16", (4,), a_bf16[0, :4].tobytes()),
        },
    )
    doc = read_safetensors(tmp_path / "mixed.safetensors", [3, 4], 16)
    check_document(doc)
    units = {u["name"]: u for u in doc["data"]["units"]}
    assert set(units) == {"a.weight", "b.weight", "c.weight"}
    a_back = (a_bf16.astype(np.uint32) << 16).view(np.float32)
    assert np.max(np.abs(a_back - a)) <= np.max(np.abs(a)) * 2**-7  # bf16 keeps 8 significant bits
    for name, w in (("a.weight", a_back), ("b.weight", b), ("c.weight", c)):
        assert [o["error"] for o in units[name]["options"]] == pytest.approx(
            [reference_error(w, bits, 16) for bits in (3, 4)], rel=1e-12
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bits": []}, "non-empty"),
        ({"bits": [0, 4]}, "1..16"),
        ({"bits": [4, 17]}, "1..16"),
        ({"bits": [2.5]}, "1..16"),
        ({"group_size": 0}, "group_size"),
        ({"sensitivity": "hessian"}, "sensitivity"),
        ({"average_bits": 1.5}, "below the smallest"),
        ({"exclude": "("}, "regular expression"),
    ],
)
def test_importer_rejects_bad_settings(tmp_path: Path, kwargs: dict, message: str) -> None:
    from allocopt.importers.safetensors_model import read_safetensors

    write_model(tmp_path / "m.safetensors")
    args = {"bits": [2, 4], **kwargs}
    with pytest.raises(UsageError, match=message):
        read_safetensors(tmp_path / "m.safetensors", **args)


def test_importer_file_errors(tmp_path: Path) -> None:
    pytest.importorskip("safetensors")
    from allocopt.importers.safetensors_model import read_safetensors

    bad = tmp_path / "bad.safetensors"
    bad.write_text("this is not a safetensors file at all")
    with pytest.raises(InstanceError, match="not a safetensors file"):
        read_safetensors(bad, [4])
    with pytest.raises(InstanceError, match="no such file"):
        read_safetensors(tmp_path / "missing.safetensors", [4])
    write_model(tmp_path / "m.safetensors")
    with pytest.raises(InstanceError, match=r"no 2-D floating-point.*exclude='encoder\|embeddings'.*position_ids"):
        read_safetensors(tmp_path / "m.safetensors", [4], exclude="encoder|embeddings")


def test_missing_safetensors_package_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from allocopt.importers.safetensors_model import read_safetensors

    monkeypatch.setitem(sys.modules, "safetensors", None)  # makes "import safetensors" raise ImportError
    with pytest.raises(UsageError, match="pip install safetensors"):
        read_safetensors(tmp_path / "m.safetensors", [4])


def test_document_solves_when_the_problem_is_registered(tmp_path: Path) -> None:
    from allocopt.importers.safetensors_model import read_safetensors

    write_model(tmp_path / "m.safetensors")
    doc = read_safetensors(tmp_path / "m.safetensors", [2, 3, 4, 8], 32)
    if "bit_allocation" not in allocopt.problems():
        pytest.skip("the bit_allocation problem is not registered yet")
    uniform4 = allocopt.verify(doc, {"bits": [u["options"][2]["bits"] for u in doc["data"]["units"]]})
    assert uniform4.feasible  # the budget is exactly uniform 4-bit memory
    assert uniform4.objective == pytest.approx(sum(u["options"][2]["error"] for u in doc["data"]["units"]))
    assert not allocopt.verify(doc, {"bits": [u["options"][3]["bits"] for u in doc["data"]["units"]]}).feasible
