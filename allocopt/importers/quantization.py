r"""Weight quantization maths for the ``bit_allocation`` importers: round-to-nearest, its error, Hill's alpha.

**Round-to-nearest (RTN), asymmetric min-max, per group.** A weight matrix :math:`W` of shape
``(out_features, in_features)`` (PyTorch / safetensors layout) is cut into groups of ``group_size``
consecutive weights along the input dimension (axis 1; the last group of a row is shorter when
``in_features`` is not a multiple of ``group_size``). A group :math:`w` at :math:`b` bits is stored as
:math:`b`-bit codes plus a scale and a minimum:

.. math::

    s = \frac{\max w - \min w}{2^b - 1}, \qquad q = \operatorname{clip}\big(\operatorname{round}((w - \min w)/s),
    0, 2^b - 1\big), \qquad \hat w = q s + \min w,

and a constant group (:math:`s = 0`) is reproduced exactly. The error of a matrix is
:math:`\lVert W - \hat W \rVert_F^2`, in float64. The scale and minimum are kept in float64 here; storing
them in fp16, as the memory count assumes, perturbs them by a relative :math:`2^{-11}`, which is ignored.

**Memory.** Each group stores one fp16 scale and one fp16 minimum, 32 bits, so a weight costs
:math:`b + 32 / g` bits on average (``effective_bits``) when the row length is a multiple of :math:`g`,
and :math:`b + 32 \lceil n_{in} / g \rceil / n_{in}` in general (one scale and minimum per group, the
shorter last group included).

**Heavy-tailed self-regularization (HT-SR).** The empirical spectral density (ESD) of
:math:`W^\top W` of a well-trained layer has a power-law tail :math:`p(\lambda) \sim \lambda^{-\alpha}`;
smaller :math:`\alpha` (heavier tail) indicates a better-trained layer (Martin & Mahoney). ``hill_alpha``
estimates :math:`\alpha` with the Hill estimator on the top eigenvalues, and ``alpha_sensitivity`` turns
the alphas into AlphaQ's per-layer error weights (Yang et al. 2026, "AlphaQ: Calibration-Free Bit
Allocation for Mixture-of-Experts Quantization", arXiv:2606.04980, code github.com/Superone77/AlphaQ).
"""

from __future__ import annotations

import math

import numpy as np

#: Bits of one fp16 scale plus one fp16 minimum, stored per group.
OVERHEAD_BITS_PER_GROUP = 32


def _check(bits: int, group_size: int) -> None:
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 1 <= bits <= 16:
        raise ValueError(f"bits must be an integer in 1..16, got {bits!r}")
    if isinstance(group_size, bool) or not isinstance(group_size, int | np.integer) or group_size < 1:
        raise ValueError(f"group_size must be a positive integer, got {group_size!r}")


def _rtn_groups(g: np.ndarray, levels: int) -> np.ndarray:
    """RTN of every row of ``g`` (shape ``(groups, length)``), each row one group."""
    lo = g.min(axis=1, keepdims=True)
    scale = (g.max(axis=1, keepdims=True) - lo) / levels
    # A constant group has scale 0: dividing by 1 instead gives q = 0 and w_hat = min = w, exactly.
    q = np.clip(np.round((g - lo) / np.where(scale > 0, scale, 1.0)), 0, levels)
    return q * scale + lo


def quantize_rtn(w: np.ndarray, bits: int, group_size: int) -> np.ndarray:
    r"""Round-to-nearest asymmetric min-max quantization per group of ``group_size`` weights along the last axis.

    For a weight matrix :math:`W` of shape ``(out_features, in_features)`` the groups run along axis 1 (the
    input dimension); the last group of a row is shorter when ``in_features`` is not a multiple of
    ``group_size``. Per group: :math:`s = (\max - \min)/(2^b - 1)` (:math:`s = 0` reproduces the group),
    :math:`q = \operatorname{clip}(\operatorname{round}((w - \min)/s), 0, 2^b - 1)`,
    :math:`\hat w = q s + \min`. ``round`` is numpy's (half to even, as ``torch.round``).
    A 1-D array is one row; higher-rank arrays are grouped along their last axis. Returns :math:`\hat W`
    in float64, with the shape of ``w``.
    """
    _check(bits, group_size)
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 0 or w.size == 0:
        raise ValueError(f"expected a non-empty array with at least one axis, got shape {w.shape}")
    rows = w.reshape(-1, w.shape[-1])
    n_in = rows.shape[1]
    levels = 2**bits - 1
    out = np.empty_like(rows)
    full = (n_in // group_size) * group_size
    if full:
        # All full groups at once: (rows, n_in // g, g) -> one group per row of the 2-D view.
        out[:, :full] = _rtn_groups(rows[:, :full].reshape(-1, group_size), levels).reshape(rows.shape[0], full)
    if full < n_in:
        out[:, full:] = _rtn_groups(rows[:, full:], levels)
    return out.reshape(w.shape)


def quantization_error(w: np.ndarray, bits: int, group_size: int) -> float:
    r"""Sum of squared errors :math:`\lVert W - \hat W \rVert_F^2` of ``quantize_rtn``, in float64."""
    w = np.asarray(w, dtype=np.float64)
    d = w - quantize_rtn(w, bits, group_size)
    return float(np.vdot(d, d))  # vdot flattens: the sum of squares without a temporary


def effective_bits(
    bits: int,
    group_size: int,
    overhead_bits_per_group: int = OVERHEAD_BITS_PER_GROUP,
    in_features: int | None = None,
) -> float:
    r"""Memory per weight, in bits, of ``bits``-bit codes plus the per-group scale and minimum.

    :math:`b + o / g` with :math:`o` = ``overhead_bits_per_group`` (32: one fp16 scale and one fp16
    minimum). Given ``in_features`` (the row length), the exact :math:`b + o \lceil n_{in}/g \rceil / n_{in}`:
    a shorter last group still stores its own scale and minimum. Both agree when :math:`g` divides
    :math:`n_{in}`.
    """
    _check(bits, group_size)
    # One division of exact integers: correctly rounded (3 + 128/100 would give 4.2800000000000002).
    if in_features is None:
        return (bits * group_size + overhead_bits_per_group) / group_size
    if in_features < 1:
        raise ValueError(f"in_features must be positive, got {in_features}")
    groups = -(-in_features // group_size)
    return (bits * in_features + overhead_bits_per_group * groups) / in_features


def eigenvalues(w: np.ndarray) -> np.ndarray:
    r"""Nonzero eigenvalues of :math:`W^\top W` (squared singular values of W), descending.

    Computed as ``eigvalsh`` of the smaller Gram matrix (:math:`W^\top W` or :math:`W W^\top`, same
    nonzero spectrum): 10-20 times faster than an SVD for the 1536 x 384 matrices of a small transformer.
    The Gram matrix gives each eigenvalue to an absolute accuracy of about :math:`\varepsilon \max(m, n)
    \lambda_{\max}`, relatively exact for the top of the spectrum that the Hill estimator uses; eigenvalues
    below that level are numerical zeros (a rank-deficient matrix has no tail there) and are dropped.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {w.shape}")
    if w.size == 0:
        return np.zeros(0)
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    lam = np.linalg.eigvalsh(gram)[::-1]  # eigvalsh: ascending
    if lam[0] <= 0:
        return np.zeros(0)
    return lam[lam > lam[0] * max(w.shape) * np.finfo(np.float64).eps]


def default_hill_k(n_eigs: int) -> int:
    """AlphaQ's tail size: the top 10% of the eigenvalues, at least 10, at most ``n_eigs - 1``."""
    return max(1, min(max(10, n_eigs // 10), n_eigs - 1))


def hill_alpha(w: np.ndarray, k: int | None = None) -> float:
    r"""Heavy-tail exponent alpha of the ESD of :math:`W^\top W`, by the Hill estimator on its k largest eigenvalues.

    With :math:`\lambda_0 \ge \lambda_1 \ge \dots` the eigenvalues (squared singular values of W,
    numerical zeros dropped; see ``eigenvalues``) and :math:`\lambda_k` the (k+1)-th largest,

    .. math::  \hat\alpha = 1 + \frac{k}{\sum_{i<k} \ln(\lambda_i / \lambda_k)}.

    If the tail is Pareto, :math:`P(\lambda > x) \propto x^{-(\alpha - 1)}` (density
    :math:`\propto x^{-\alpha}`, the HT-SR convention), the fraction is Hill's estimate of the tail index
    :math:`\alpha - 1`, so :math:`\hat\alpha` estimates :math:`\alpha`; its standard error is about
    :math:`(\alpha - 1)/\sqrt{k}`.

    Default k: the top 10% of the eigenvalues, at least 10 (capped at n - 1), as AlphaQ's
    ``PL_Alpha_Hill`` (``k = max(10, int(0.1 n))``), which follows WeightWatcher's focus on the tail: the
    bulk of a trained layer's ESD is Marchenko-Pastur-like, not a power law, so a k as large as n/2 would
    mostly measure the bulk. A larger k (e.g. n // 2) lowers the variance on a spectrum that is a power
    law throughout. Scale invariant (only ratios enter). Returns ``nan`` with fewer than 2 nonzero
    eigenvalues and ``inf`` when the top k+1 eigenvalues are equal (a flat spectrum has no tail).
    """
    lam = eigenvalues(w)
    n = lam.size
    if n < 2:
        return math.nan
    if k is None:
        k = default_hill_k(n)
    elif isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = min(int(k), n - 1)
    denom = float(np.sum(np.log(lam[:k] / lam[k])))
    # Top k+1 equal up to rounding (flat spectrum): no tail, alpha = inf rather than 1 + k / (rounding noise).
    return math.inf if denom <= k * 64 * np.finfo(np.float64).eps else 1.0 + k / denom


def alpha_sensitivity(alphas: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    r"""AlphaQ's per-layer error weight :math:`w_j = (\alpha_0 / \alpha_j)^\gamma`, :math:`\alpha_0` the median alpha.

    HT-SR: a heavier-tailed spectrum (smaller alpha) marks a better-trained layer, which loses more when
    quantized, so its error counts more. This is the sensitivity of AlphaQ's MILP (its
    ``02_precision_solve.py``: ``(alpha0 / alpha) ** gamma`` with ``alpha0`` the median), where it multiplies a
    modelled error :math:`\operatorname{Var}(W_j) 2^{-2b}`; here it multiplies the measured RTN error.
    The median layer has weight 1 (a common factor does not change the optimal allocation).

    ``gamma`` sharpens the contrast: AlphaQ's function default is 1, its command-line default 10 (with
    alphas of 2..6, gamma = 10 spreads the weights over about five orders of magnitude, so the alphas,
    not the measured errors, then decide the allocation). Non-finite alphas (``nan``: too few
    eigenvalues; ``inf``: a flat spectrum) get the neutral weight 1 and do not enter the median.
    """
    a = np.asarray(alphas, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"expected a 1-D array of alphas, got shape {a.shape}")
    finite = np.isfinite(a)
    if np.any(a[finite] <= 0):
        raise ValueError("alphas must be positive")
    out = np.ones_like(a)
    if finite.any():
        alpha0 = float(np.median(a[finite]))
        out[finite] = (alpha0 / a[finite]) ** gamma
    return out
