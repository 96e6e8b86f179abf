r"""Expert placement (expert-parallel load balancing, DeepSeek's EPLB): replicate experts, place the replicas.

Data: E experts with loads :math:`l_e \ge 0`, G devices with S slots each, :math:`N = GS \ge E`. Expert e gets
:math:`r_e \ge 1` replicas, every slot holds one replica (:math:`\sum_e r_e = N`), and e's load is split evenly
over its replicas, :math:`l_e / r_e` each. With :math:`k_{eg}` replicas of e on device g (two replicas of one
expert on one device simply count twice):

.. math::

    \min T \quad\text{s.t.}\quad \sum_e k_{eg} \frac{l_e}{r_e} \le T \;(g), \qquad \sum_e k_{eg} = S \;(g),
    \qquad \sum_g k_{eg} = r_e \ge 1 \;(e), \qquad k_{eg} \in \mathbb{Z}_{\ge 0}.

**Lower bounds** (both hold for every feasible placement): the average device load :math:`\sum_e l_e / G`
(the replicas' loads add up to :math:`\sum_e l_e` over G devices), and the largest per-replica load of the
best replication, :math:`\min_{r} \max_e l_e / r_e` over :math:`r \ge 1, \sum_e r_e = N` (the device holding
a replica of e carries at least :math:`l_e / r_e`, whatever r is). The minimum is reached by D'Hondt's rule:
start from one replica each and give every further replica to the expert with the largest
:math:`l_e / r_e` (``replica_load_bound``).

**The MILP** (``build_model``) linearises :math:`k_{eg} / r_e` by choosing the replica count: binaries
``count[e, r]`` (expert e has exactly r replicas, :math:`r = 1..N-E+1`) and integers ``copies[e, g, r]`` (its
replicas on device g when it has r):

.. math::

    \sum_r z_{er} = 1, \qquad \sum_g y_{egr} = r\, z_{er}, \qquad y_{egr} \le \min(S, r)\, z_{er}, \qquad
    \sum_{e,r} y_{egr} = S, \qquad \text{load}_g = \sum_{e,r} \frac{l_e}{r} y_{egr} \le T.

Two valid cuts tighten it: :math:`T \ge \sum_r (l_e / r) z_{er}` (``replica_load[e]``) and T at least the
lower bounds above (``lower_bound``). Devices are interchangeable, so ``symmetry[g]`` orders the device loads
non-increasingly (every placement has a relabelling that satisfies it; deactivate it if you add
device-specific constraints). Loads are scaled by a power of two so that the average device load is at least
1024 (``model.objective_scale``, divided out by the library): HiGHS's absolute tolerances of 1e-6 would
otherwise be large next to small loads. ``model.T`` and ``model.device_load`` are in those scaled units.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from allocopt.errors import DataError
from allocopt.registry import Check

#: The scaled average device load is at least this (see the module docstring).
SCALED_AVERAGE = 1024.0


@dataclass(frozen=True, eq=False)
class PlacementData:
    """Validated expert-placement data; ``loads`` is read-only."""

    loads: np.ndarray
    devices: int
    slots_per_device: int

    @property
    def experts(self) -> int:
        return len(self.loads)

    @property
    def slots(self) -> int:
        return self.devices * self.slots_per_device

    def kind(self) -> str:
        return f"expert placement, {self.experts} experts on {self.devices} devices x {self.slots_per_device} slots"


def parse(data: Mapping[str, Any]) -> PlacementData:
    """Build ``PlacementData`` from schema-valid ``data``; checks that every expert can get a slot."""
    loads = np.asarray(data["loads"], dtype=np.float64)
    devices, slots = int(data["devices"]), int(data["slots_per_device"])
    if devices * slots < len(loads):
        raise DataError(
            ("slots_per_device",),
            f"expected devices x slots_per_device >= {len(loads)} (a slot for every expert), "
            f"got {devices} x {slots} = {devices * slots}",
        )
    loads.setflags(write=False)
    return PlacementData(loads, devices, slots)


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def to_data(d: PlacementData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    return {
        "loads": [_number(x) for x in d.loads],
        "devices": d.devices,
        "slots_per_device": d.slots_per_device,
    }


def replica_load_bound(loads: list[float], slots: int) -> float:
    """min over replications (r_e >= 1, sum r_e = slots) of max_e l_e / r_e, by D'Hondt's rule (plain Python)."""
    counts = [1] * len(loads)
    heap = [(-load, e) for e, load in enumerate(loads)]
    heapq.heapify(heap)
    for _ in range(slots - len(loads)):
        _, e = heapq.heappop(heap)
        counts[e] += 1
        heapq.heappush(heap, (-loads[e] / counts[e], e))
    return max((load / k for load, k in zip(loads, counts, strict=True)), default=0.0)


def lower_bound(d: PlacementData) -> float:
    """The better of the two lower bounds of the module docstring."""
    loads = [float(x) for x in d.loads]
    return max(sum(loads) / d.devices, replica_load_bound(loads, d.slots))


def check(d: PlacementData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method."""
    devices = solution.get("devices")
    E, G, S = d.experts, d.devices, d.slots_per_device
    if not isinstance(devices, list) or len(devices) != G:
        return Check(False, None, f"solution.devices must be a list of {G} lists (one per device)")
    counts = [0] * E
    for g, held in enumerate(devices):
        if not isinstance(held, list) or len(held) != S:
            return Check(False, None, f"solution.devices[{g}] must list exactly {S} expert indices")
        for k, e in enumerate(held):
            if isinstance(e, bool) or not isinstance(e, int | float) or e != int(e) or not 0 <= e < E:
                return Check(False, None, f"solution.devices[{g}][{k}] = {e!r} is not an expert index in 0..{E - 1}")
            counts[int(e)] += 1
    for e, k in enumerate(counts):
        if k == 0:
            return Check(False, None, f"expert {e} has no replica on any device")
    worst = max(sum(float(d.loads[int(e)]) / counts[int(e)] for e in held) for held in devices)
    return Check(True, worst)


def _scale(d: PlacementData) -> float:
    average = float(d.loads.sum()) / d.devices
    return 2.0 ** math.ceil(math.log2(SCALED_AVERAGE / average)) if 0 < average < SCALED_AVERAGE else 1.0


def build_model(d: PlacementData) -> pyo.ConcreteModel:
    """The MILP of the module docstring: ``count[e, r]``, ``copies[e, g, r]``, ``device_load[g]``, ``T``.

    ``model.objective_scale`` records the scaling of the loads (and so of ``T``); the library divides it out.
    """
    E, G, S, N = d.experts, d.devices, d.slots_per_device, d.slots
    scale = _scale(d)
    loads = [scale * float(x) for x in d.loads]
    counts = range(1, N - E + 2)  # the other E - 1 experts need a replica each
    model = pyo.ConcreteModel(name="expert_placement")
    model.objective_scale = scale
    model.count = pyo.Var([(e, r) for e in range(E) for r in counts], domain=pyo.Binary)
    triples = [(e, g, r) for e in range(E) for g in range(G) for r in counts]
    model.copies = pyo.Var(triples, domain=pyo.NonNegativeIntegers, bounds=lambda _, e, g, r: (0, min(S, r)))
    model.T = pyo.Var(domain=pyo.NonNegativeReals)
    model.device_load = pyo.Expression(
        range(G), rule=lambda mdl, g: sum(loads[e] / r * mdl.copies[e, g, r] for e in range(E) for r in counts)
    )
    model.largest_load = pyo.Objective(expr=model.T, sense=pyo.minimize)
    model.one_count = pyo.Constraint(range(E), rule=lambda mdl, e: sum(mdl.count[e, r] for r in counts) == 1)
    model.replicas = pyo.Constraint(
        [(e, r) for e in range(E) for r in counts],
        rule=lambda mdl, e, r: sum(mdl.copies[e, g, r] for g in range(G)) == r * mdl.count[e, r],
    )
    # Implied by `replicas` for r <= S; tighter than it in the LP when an expert has more replicas than slots.
    model.link = pyo.Constraint(
        [t for t in triples if t[2] > S], rule=lambda mdl, e, g, r: mdl.copies[e, g, r] <= S * mdl.count[e, r]
    )
    model.slots = pyo.Constraint(
        range(G), rule=lambda mdl, g: sum(mdl.copies[e, g, r] for e in range(E) for r in counts) == S
    )
    model.balance = pyo.Constraint(range(G), rule=lambda mdl, g: mdl.device_load[g] <= mdl.T)
    model.replica_load = pyo.Constraint(
        range(E), rule=lambda mdl, e: sum(loads[e] / r * mdl.count[e, r] for r in counts) <= mdl.T
    )
    model.lower_bound = pyo.Constraint(expr=scale * lower_bound(d) <= model.T)
    model.symmetry = pyo.Constraint(range(G - 1), rule=lambda mdl, g: mdl.device_load[g] >= mdl.device_load[g + 1])
    return model


def decode(model: pyo.ConcreteModel, d: PlacementData) -> dict[str, Any]:
    """Each device's replicas (expert indices, ascending) from a solved model."""
    counts = range(1, d.slots - d.experts + 2)
    devices = []
    for g in range(d.devices):
        held: list[int] = []
        for e in range(d.experts):
            k = sum(pyo.value(model.copies[e, g, r], exception=False) or 0.0 for r in counts)
            held.extend([e] * round(k))
        devices.append(held)
    return {"devices": devices}
