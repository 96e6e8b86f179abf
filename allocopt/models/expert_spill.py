r"""Expert spill (least-loaded expert parallelism, LLEP): split overloaded experts' tokens over other devices.

Data: experts :math:`e = 0..E-1` with this step's token loads :math:`L_e \in \mathbb{Z}_{\ge 0}`, devices
:math:`d = 0..G-1`, expert e's **home** device :math:`h_e` (where its weights live), a per-device token
**capacity** C and a **minimum chunk** m. With ``alpha``, :math:`C = \lceil \alpha \sum_e L_e / G \rceil`
(alpha times the average device load, rounded up to whole tokens, so that :math:`\alpha = 1` always fits);
``capacity`` gives C directly. An expert's spilled piece must be worth a weight transfer and a GEMM launch:
:math:`m_e = \min(m, L_e)` (a piece of at least m tokens, or the whole expert when it has fewer).

A **plan** :math:`y_{ed} \in \mathbb{Z}_{\ge 0}`, the tokens of e processed on d:

.. math::

    \sum_d y_{ed} = L_e \;(e), \qquad \sum_e y_{ed} \le C \;(d), \qquad
    y_{ed} = 0 \;\text{ or }\; y_{ed} \ge m_e \quad (d \ne h_e).

Each non-home pair with :math:`y_{ed} > 0` copies e's weights to d: a **transfer**. The objective is the number
of transfers, minimized. Reported beside it: the largest device load :math:`\max_d \sum_e y_{ed}` (at most C)
and standard EP's, :math:`\max_d H_d` with :math:`H_d = \sum_{e : h_e = d} L_e` (every expert at home).
The instance is infeasible when :math:`\sum_e L_e > G C` (``capacity_shortfall`` says so); the minimum chunk
can make a few more instances infeasible, which only an exact method proves.

**The MILP** (``build_model``): integers ``tokens[e, d]`` (:math:`y_{ed}`, every pair of an expert with
:math:`L_e > 0`) and binaries ``transfer[e, d]`` (:math:`z_{ed}`, the non-home pairs):

.. math::

    \min \sum_{e, d \ne h_e} z_{ed} \quad\text{s.t.}\quad \sum_d y_{ed} = L_e, \qquad
    \text{load}_d = \sum_e y_{ed} \le M \le C, \qquad m_e z_{ed} \le y_{ed} \le \min(L_e, C)\, z_{ed}
    \;(d \ne h_e),

with M the largest device load (``max_load``; free under the transfer objective, the objective of the
deactivated ``largest_load``). Valid cuts: ``spill_cut[d]``, :math:`\sum_{e : h_e = d,\, d' \ne d} z_{ed'} \ge
p_d` (the proposition below), and :math:`M \ge \lceil \sum_e L_e / G \rceil`.

**Proposition (lower bound on transfers).** Let :math:`X_d = H_d - C > 0` be device d's excess. Cut each of
its experts into **chunks**: :math:`\lfloor L_e / C \rfloor` chunks of C and one of :math:`L_e \bmod C` (when
positive). Let :math:`p_d` be the least p whose p largest chunks add up to at least :math:`X_d`. Every plan
has at least :math:`\sum_{d : X_d > 0} p_d` transfers (``transfer_lower_bound``).

*Proof.* Device d processes at most C tokens, so at least :math:`X_d` tokens of d's own experts are processed
elsewhere, in non-home pieces :math:`y_{ed'} > 0` (:math:`d' \ne d`, one transfer each). A piece holds at
most C tokens (the capacity of :math:`d'`) and expert e's pieces together at most :math:`L_e`, so with
:math:`k_e` pieces expert e moves at most :math:`f_e(k_e) = \min(L_e, k_e C)`. Each :math:`f_e` is concave in
:math:`k_e`, its increments being e's chunks in non-increasing order (C, ..., C, :math:`L_e \bmod C`, 0, ...);
so the most that :math:`p = \sum_e k_e` pieces can move is the sum of the p largest chunks over all of d's
experts (exchange argument: a chosen increment smaller than an unchosen one of the same or another expert
can be swapped for it without lowering the sum, and concavity means an expert's increments are taken in
order). Fewer than :math:`p_d` pieces therefore move less than :math:`X_d` tokens. The transfers counted for
different devices d are of different experts (each expert has one home), so the bounds add up.
:math:`\square`

Loads are token counts, so a plan is integral; the MILP's integer ``tokens`` enforce it (with z fixed, the
rest is a bipartite flow, so integrality costs the solver little).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pyomo.environ as pyo

from allocopt.errors import DataError
from allocopt.registry import Check


@dataclass(frozen=True, eq=False)
class SpillData:
    """Validated expert-spill data; the arrays are read-only int64.

    ``capacity`` is C (derived from ``alpha`` when the file gives alpha); ``alpha`` and ``home_given`` only
    record how the file said it, for ``to_data``.
    """

    loads: np.ndarray
    devices: int
    home: np.ndarray
    capacity: int
    min_chunk: int
    alpha: float | None = None
    home_given: bool = True

    @property
    def experts(self) -> int:
        return len(self.loads)

    @property
    def total(self) -> int:
        return int(self.loads.sum())

    def home_loads(self) -> np.ndarray:
        """H_d, each device's load with every expert at home (standard expert parallelism)."""
        return np.bincount(self.home, weights=self.loads, minlength=self.devices).astype(np.int64)

    def chunk(self, e: int) -> int:
        """m_e = min(min_chunk, L_e): the least tokens of expert e a non-home device may process."""
        return min(self.min_chunk, int(self.loads[e]))

    def kind(self) -> str:
        how = f"alpha {self.alpha:g} -> " if self.alpha is not None else ""
        return (
            f"expert spill, {self.experts} experts on {self.devices} devices, {self.total} tokens, "
            f"capacity {how}{self.capacity}, min chunk {self.min_chunk}"
        )


def default_home(experts: int, devices: int) -> list[int]:
    """Contiguous blocks, as standard expert parallelism places experts: e on device floor(e G / E)."""
    return [e * devices // experts for e in range(experts)]


def capacity_from_alpha(alpha: float, total: int, devices: int) -> int:
    """C = ceil(alpha * total / G), with alpha read as the decimal the file wrote (no binary rounding)."""
    return math.ceil(Fraction(str(alpha)) * total / devices)


def parse(data: Mapping[str, Any]) -> SpillData:
    """Build ``SpillData`` from schema-valid ``data``; checks the home list and the capacity's spelling."""
    loads = np.asarray([int(x) for x in data["loads"]], dtype=np.int64)
    devices = int(data["devices"])
    E = len(loads)
    home_given = "home" in data
    if home_given:
        home_list = data["home"]
        if len(home_list) != E:
            raise DataError(("home",), f"expected {E} device indices (one per expert, as loads), got {len(home_list)}")
        for e, g in enumerate(home_list):
            if not 0 <= g < devices:
                raise DataError(("home", e), f"expected a device index in 0..{devices - 1}, got {g!r}")
        home = np.asarray([int(g) for g in home_list], dtype=np.int64)
    else:
        home = np.asarray(default_home(E, devices), dtype=np.int64)
    has_alpha, has_capacity = "alpha" in data, "capacity" in data
    if has_alpha == has_capacity:
        where = ("capacity",) if has_capacity else ("alpha",)
        raise DataError(
            where,
            "expected exactly one of alpha (capacity = ceil(alpha x average device load)) and capacity "
            f"(tokens per device), got {'both' if has_alpha else 'neither'}",
        )
    total = int(loads.sum())
    alpha = float(data["alpha"]) if has_alpha else None
    capacity = capacity_from_alpha(data["alpha"], total, devices) if has_alpha else int(data["capacity"])
    loads.setflags(write=False)
    home.setflags(write=False)
    return SpillData(loads, devices, home, capacity, int(data.get("min_chunk", 1)), alpha, home_given)


def to_data(d: SpillData) -> dict[str, Any]:
    """The ``data`` object for ``d`` (the capacity spelled as the file spelled it)."""
    out: dict[str, Any] = {"loads": [int(x) for x in d.loads], "devices": d.devices}
    if d.home_given:
        out["home"] = [int(g) for g in d.home]
    if d.alpha is not None:
        out["alpha"] = int(d.alpha) if d.alpha.is_integer() else d.alpha
    else:
        out["capacity"] = d.capacity
    if d.min_chunk != 1:
        out["min_chunk"] = d.min_chunk
    return out


def capacity_shortfall(d: SpillData) -> str | None:
    """Why no plan exists when the devices cannot hold the tokens at all (total > G C), else None."""
    if d.total <= d.devices * d.capacity:
        return None
    return (
        f"the {d.total} tokens exceed the devices' room, {d.devices} devices x capacity {d.capacity} = "
        f"{d.devices * d.capacity}: no plan exists (raise alpha or the capacity)"
    )


def chunk_pieces(loads: list[int], capacity: int, excess: int) -> int:
    """p_d of the module docstring: the fewest pieces that move ``excess`` tokens of these experts' loads."""
    if excess <= 0:
        return 0
    if capacity <= 0:
        # No device can take a token: the bound is moot (the instance is infeasible as soon as total > 0).
        return 0
    chunks: list[int] = []
    for load in loads:
        chunks.extend([capacity] * (load // capacity))
        if load % capacity:
            chunks.append(load % capacity)
    chunks.sort(reverse=True)
    moved = 0
    for p, c in enumerate(chunks, start=1):
        moved += c
        if moved >= excess:
            return p
    return len(chunks)  # unreachable: the chunks add up to H_d > excess


def transfer_lower_bound(d: SpillData) -> tuple[int, list[int]]:
    """The proposition's bound: (sum of p_d, [p_d per device])."""
    per_device = [0] * d.devices
    by_device: list[list[int]] = [[] for _ in range(d.devices)]
    for e in range(d.experts):
        by_device[int(d.home[e])].append(int(d.loads[e]))
    for g in range(d.devices):
        per_device[g] = chunk_pieces(by_device[g], d.capacity, sum(by_device[g]) - d.capacity)
    return sum(per_device), per_device


def check(d: SpillData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the data, sharing nothing with any method.

    Recomputes every row sum, device load and piece size; the objective is the number of non-home pieces.
    """
    tokens = solution.get("tokens")
    E, G, C = d.experts, d.devices, d.capacity
    if not isinstance(tokens, list) or len(tokens) != E:
        return Check(False, None, f"solution.tokens must be a list of {E} lists (one per expert)")
    device_load = [0] * G
    transfers = 0
    for e, row in enumerate(tokens):
        if not isinstance(row, list) or len(row) != G:
            return Check(False, None, f"solution.tokens[{e}] must list {G} token counts (one per device)")
        home = int(d.home[e])
        load = int(d.loads[e])
        least = min(d.min_chunk, load)
        placed = 0
        for g, y in enumerate(row):
            if isinstance(y, bool) or not isinstance(y, int | float) or y != int(y) or y < 0:
                return Check(False, None, f"solution.tokens[{e}][{g}] = {y!r} is not a whole number >= 0")
            y = int(y)
            placed += y
            device_load[g] += y
            if g != home and y > 0:
                if y < least:
                    return Check(
                        False,
                        None,
                        f"expert {e} spills {y} tokens to device {g}, below the minimum chunk {least} "
                        f"(min(min_chunk, load {load}))",
                    )
                transfers += 1
        if placed != load:
            return Check(False, None, f"expert {e}'s pieces hold {placed} tokens, its load is {load}")
    for g, total in enumerate(device_load):
        if total > C:
            return Check(False, None, f"device {g} processes {total} tokens, above the capacity {C}")
    return Check(True, float(transfers))


def _nonhome(d: SpillData) -> list[tuple[int, int]]:
    return [(e, g) for e in range(d.experts) if d.loads[e] > 0 for g in range(d.devices) if g != d.home[e]]


def build_model(d: SpillData) -> pyo.ConcreteModel:
    """The MILP of the module docstring.

    Components: ``tokens[e, g]`` (integers), ``transfer[e, g]`` (binaries, non-home pairs), ``max_load``,
    ``device_load[g]`` (expressions), rows ``route[e]``, ``capacity[g]``, ``link[e, g]``, ``chunk[e, g]``,
    ``spill_cut[g]`` (overloaded devices), objectives ``transfers`` (active) and ``largest_load`` (inactive).
    Extend it and solve it with ``allocopt.solve(instance, method="milp", model=model)`` or any Pyomo solver.
    """
    E, G, C = d.experts, d.devices, d.capacity
    active = [e for e in range(E) if d.loads[e] > 0]
    pairs = [(e, g) for e in active for g in range(G)]
    nonhome = _nonhome(d)
    model = pyo.ConcreteModel(name="expert_spill")
    model.tokens = pyo.Var(pairs, domain=pyo.NonNegativeIntegers, bounds=lambda _, e, g: (0, min(int(d.loads[e]), C)))
    model.transfer = pyo.Var(nonhome, domain=pyo.Binary)
    average = math.ceil(d.total / G) if G else 0
    model.max_load = pyo.Var(domain=pyo.NonNegativeReals, bounds=(min(average, C), C))
    by_device: dict[int, list[int]] = {g: [] for g in range(G)}
    for e, g in pairs:
        by_device[g].append(e)
    model.device_load = pyo.Expression(range(G), rule=lambda mdl, g: sum(mdl.tokens[e, g] for e in by_device[g]))
    model.route = pyo.Constraint(active, rule=lambda mdl, e: sum(mdl.tokens[e, g] for g in range(G)) == int(d.loads[e]))
    model.capacity = pyo.Constraint(range(G), rule=lambda mdl, g: mdl.device_load[g] <= mdl.max_load)
    model.link = pyo.Constraint(
        nonhome, rule=lambda mdl, e, g: mdl.tokens[e, g] <= min(int(d.loads[e]), C) * mdl.transfer[e, g]
    )
    model.chunk = pyo.Constraint(nonhome, rule=lambda mdl, e, g: mdl.tokens[e, g] >= d.chunk(e) * mdl.transfer[e, g])
    _, pieces = transfer_lower_bound(d)
    out_of: dict[int, list[tuple[int, int]]] = {g: [] for g in range(G)}
    for e, g in nonhome:
        out_of[int(d.home[e])].append((e, g))
    overloaded = [g for g in range(G) if pieces[g] > 0]
    model.spill_cut = pyo.Constraint(
        overloaded, rule=lambda mdl, g: sum(mdl.transfer[p] for p in out_of[g]) >= pieces[g]
    )
    model.transfers = pyo.Objective(expr=sum(model.transfer[p] for p in nonhome), sense=pyo.minimize)
    model.largest_load = pyo.Objective(expr=model.max_load, sense=pyo.minimize)
    model.largest_load.deactivate()
    return model


def decode(model: pyo.ConcreteModel, d: SpillData) -> dict[str, Any]:
    """The plan ``tokens[e][g]`` read back from a solved ``build_model`` (integers, rounded)."""
    tokens = [[0] * d.devices for _ in range(d.experts)]
    for e, g in model.tokens:
        tokens[e][g] = round(pyo.value(model.tokens[e, g], exception=False) or 0.0)
    return {"tokens": tokens}
