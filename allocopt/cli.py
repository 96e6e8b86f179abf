"""The ``allocopt`` command line: solve, validate, check, import, methods, plot.

Exit status: 0 when every file was solved to a status other than ``error`` (infeasible is an
answer); 1 when any solve ended in ``error`` (or ``check`` rejected a solution, or allocopt hit an internal
error); 2 for bad usage or an invalid input file, in which case nothing is written. Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from allocopt.api import check, solve
from allocopt.envelope import (
    Instance,
    instance_from_dict,
    is_finite_json,
    load,
    load_solution,
    write_json_atomic,
    write_text_atomic,
)
from allocopt.errors import AllocoptError, InstanceError, UsageError
from allocopt.registry import problem, problems
from allocopt.result import Objective, Result, finite_or_none

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SOLUTION_SUFFIX = ".solution.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except AllocoptError as exc:
        print(f"allocopt: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("allocopt: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not the user's doing; still no traceback at a command-line user
        print(
            f"allocopt: internal error: {type(exc).__name__}: {exc} "
            "(a bug in allocopt: please report it with the command and its input files)",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="allocopt", description="Solve allocation problems from instance files.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="solve instance files; writes <stem>.solution.json for each")
    p.add_argument("paths", nargs="+", type=Path, help="instance files, or directories (every *.json below)")
    p.add_argument("--method", default="auto", help="method name (see 'allocopt methods'); default auto")
    p.add_argument("--solver", default=None, help="engine for methods that use one, e.g. highs, cbc")
    p.add_argument("--time-limit", type=float, default=None, metavar="SEC", help="time limit per instance")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="write solutions here, not beside the inputs")
    p.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method option (value read as JSON when it parses, else as text); repeatable",
    )
    p.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="solve N instances at once in worker processes (with --ray: the CPUs of a local Ray, or the most "
        "tasks handed to a cluster at once); "
        "default one at a time in this process",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="solve on a Ray cluster at ADDRESS (host:port, ray://host:port or auto); alone: a local Ray",
    )
    p.add_argument(
        "--summary",
        type=Path,
        default=None,
        metavar="FILE.csv",
        help="write one CSV row per instance (problem, instance, method, status, objective, bound, gap, ...)",
    )
    p.add_argument(
        "--skip-solved",
        action="store_true",
        help="leave out instances whose solution file is newer than the instance and verified (resume a batch)",
    )
    p.set_defaults(run=_solve)

    p = sub.add_parser(
        "compare",
        help="run every method on one instance and print them side by side",
        description="Run every method that applies to the instance (or those named) and print one table with "
        "each method's status, objective, bound, gap, time and verification; * marks the best objective and "
        "the tightest bound.",
    )
    p.add_argument("instance", type=Path)
    p.add_argument("--methods", type=_names, default=None, metavar="A,B,...", help="only these methods, in order")
    p.add_argument("--time-limit", type=float, default=None, metavar="SEC", help="time limit per method")
    p.add_argument("--solver", default=None, help="engine for the methods that take it, e.g. highs, cbc")
    p.add_argument("--plot", type=Path, default=None, metavar="OUT.png", help="draw objective and bound against time")
    p.add_argument(
        "-o", "--option", action="append", default=[], metavar="KEY=VALUE", help="method option for methods taking it"
    )
    p.set_defaults(run=_compare)

    p = sub.add_parser("validate", help="validate instance (or solution) files")
    p.add_argument("paths", nargs="+", type=Path)
    p.set_defaults(run=_validate)

    p = sub.add_parser("check", help="re-verify a solution file against its instance")
    p.add_argument("instance", type=Path)
    p.add_argument("solution", type=Path)
    p.set_defaults(run=_check)

    from allocopt.importers import IMPORTERS

    p = sub.add_parser(
        "import",
        help="convert public benchmark files to instance files",
        epilog="formats:\n" + "\n".join(f"  {i.name}: {i.summary}" for i in IMPORTERS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("format", help=f"one of: {', '.join(IMPORTERS)}")
    p.add_argument(
        "files",
        nargs="+",
        type=Path,
        help="the files to convert, each on its own; mohaf: exactly two, REQUESTS.csv RESOURCES.csv",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR|FILE",
        help="a directory (one <name>.json per instance), or a .json file when one instance results",
    )
    q = p.add_argument_group("safetensors options")
    q.add_argument(
        "--bits", type=_int_list, default=None, metavar="B,B,...", help="bit-widths to measure, e.g. 2,3,4,8"
    )
    q.add_argument("--group-size", type=int, default=None, help="weights per quantization group (default 128)")
    q.add_argument(
        "--sensitivity",
        choices=["none", "alpha"],
        default=None,
        help="weight each unit's error by an AlphaQ-style heavy-tail weight (default none)",
    )
    q.add_argument(
        "--exclude", default=None, metavar="REGEX", help="skip tensors whose name matches (default: embeddings)"
    )
    q.add_argument(
        "--average-bits",
        type=float,
        default=None,
        help="budget: the memory of a uniform allocation at this many bits (default 4)",
    )
    q = p.add_argument_group("mohaf options")
    q.add_argument(
        "--weights",
        default=None,
        metavar="A,B,C,D",
        help="score weights >= 0 of cost, QoS, energy and fairness (default MOHAF's 0.3,0.3,0.2,0.2)",
    )
    p.set_defaults(run=_import)

    p = sub.add_parser(
        "plot",
        help="draw a solution's schedule as a Gantt chart (needs matplotlib)",
        description="Draw a schedule as a Gantt chart: machines as rows, jobs as colours, one critical path "
        "outlined. The solution is checked first; a schedule the checker rejects is not drawn (exit 1) unless "
        "--force.",
    )
    p.add_argument("instance", type=Path)
    p.add_argument("solution", type=Path)
    p.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="the image to write; its suffix picks the format (.png)"
    )
    p.add_argument("--force", action="store_true", help="draw a schedule the checker rejects (titled NOT VERIFIED)")
    p.set_defaults(run=_plot)

    p = sub.add_parser("methods", help="list the methods of each problem, with their options")
    p.add_argument("problem", nargs="?", default=None)
    p.set_defaults(run=_methods)
    return parser


# ------------------------------------------------------------------------------------------------ solve
def instance_files(paths: Sequence[Path]) -> list[Path]:
    """Files named on the command line, and every ``*.json`` below named directories (solutions skipped)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if not p.name.endswith(SOLUTION_SUFFIX))
            if not found:
                raise UsageError(f"{path}: no *.json instance files below this directory")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory")
    return files


def _parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--option expects KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, an integer too long to convert, or nested too deep
            options[key] = text
        if not is_finite_json(options[key]):  # json.loads takes NaN, Infinity, 1e999 and 10**400
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise UsageError(f"--option {key}: expected finite numbers within the float range, got {shown!r}")
    return options


def _solution_path(file: Path, out: Path | None) -> Path:
    stem = file.name[: -len(".json")] if file.name.endswith(".json") else file.name
    return (out or file.parent) / f"{stem}{SOLUTION_SUFFIX}"


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _names(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected method names separated by commas")
    return names


def _solve(args: argparse.Namespace) -> int:
    files = instance_files(args.paths)
    options = _parse_options(args.option)
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is not a directory")
    if args.time_limit is not None and not args.time_limit > 0:
        raise UsageError(f"--time-limit: time limit must be positive, got {args.time_limit}")
    if args.summary is not None:
        _check_summary_path(args.summary, files)
    if args.workers is not None or args.ray is not None:
        from allocopt.batch import warm_up

        # The workers (or Ray) start up while this process reads the files below.
        warm_up(args.workers, "ray" if args.ray is not None else "process", _ray_address(args))
    # Everything that can be wrong with the inputs is found before anything is written.
    instances: list[Instance] = []
    errors: list[str] = []
    for file in files:
        try:
            instances.append(load(file))
        except InstanceError as exc:
            errors.append(str(exc))
    if errors:
        for e in errors:
            print(f"allocopt: error: {e}", file=sys.stderr)
        print(f"allocopt: {len(errors)} invalid input file(s); nothing was solved or written", file=sys.stderr)
        return EXIT_USAGE
    if args.method != "auto":
        for inst in instances:
            try:
                inst.spec.method(args.method, inst.data)
            except UsageError as exc:
                raise UsageError(f"{inst.source}: {exc}") from None
    targets = [_solution_path(f, args.out) for f in files]
    if len(set(targets)) != len(targets):
        raise UsageError("two inputs would write the same solution file (same name into --out); solve them separately")
    inputs = {f.resolve() for f in files}
    clash = next((t for t in targets if t.resolve() in inputs), None)
    if clash is not None:
        raise UsageError(f"refusing to overwrite input file {clash}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)

    done: dict[int, Result] = {}
    if args.skip_solved:
        for k, (file, target) in enumerate(zip(files, targets, strict=True)):
            previous = _solved_before(file, target, instances[k])
            if previous is not None:
                done[k] = previous
        if done:
            print(f"allocopt: {len(done)} instance(s) already solved and verified: skipped", file=sys.stderr)
    todo = [k for k in range(len(files)) if k not in done]
    progress = _Progress(len(todo), sys.stderr) if len(todo) > 1 else None
    failed = False
    try:
        for k, result in _results(args, [instances[k] for k in todo], todo, options):
            write_json_atomic(targets[k], result.to_dict(), protect=inputs)
            failed |= result.status == "error"
            done[k] = result
            if progress:
                progress.finished(instances[k].name)
    except KeyboardInterrupt:
        if progress:
            progress.stream.write("\n")
        print(
            f"allocopt: interrupted after {len(done)} of {len(files)} instances; every solution file written is "
            "complete (--skip-solved resumes)",
            file=sys.stderr,
        )
        return 130
    if progress:
        progress.close()
    rows = [_row(instances[k], done[k]) for k in range(len(files))]
    _print_table(rows, sys.stdout)
    if args.summary is not None:
        write_summary(args.summary, [(instances[k], done[k]) for k in range(len(files))])
    for inst, row in zip(instances, rows, strict=True):
        if row[2] == "error":
            print(f"allocopt: {inst.source}: {row[-1]}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _results(
    args: argparse.Namespace, instances: list[Instance], keys: list[int], options: dict[str, Any]
) -> Iterator[tuple[int, Result]]:
    """(key, result) per instance as each finishes: here one by one, or through ``solve_many``'s backends."""
    if args.workers is None and args.ray is None:
        for k, inst in zip(keys, instances, strict=True):
            yield k, _solve_one(inst, args.method, args.solver, args.time_limit, options)
        return
    from allocopt.batch import solve_many

    key_of = {id(inst): k for k, inst in zip(keys, instances, strict=True)}
    batch = solve_many(
        instances,
        method=args.method,
        solver=args.solver,
        time_limit=args.time_limit,
        workers=args.workers,
        backend="ray" if args.ray is not None else "process",
        address=_ray_address(args),
        **options,
    )
    try:
        for inst, result in batch:
            yield key_of[id(inst)], result
    finally:
        batch.close()  # on Ctrl-C too: the workers stop before the command returns


def _ray_address(args: argparse.Namespace) -> str | None:
    return None if args.ray in (None, "local") else args.ray


def _solved_before(file: Path, target: Path, inst: Instance) -> Result | None:
    """The earlier result of ``file`` when its solution file is newer than it, verified, and for this instance."""
    try:
        if not target.exists() or target.stat().st_mtime <= file.stat().st_mtime:
            return None
        doc = load_solution(target)
    except (InstanceError, OSError):
        return None  # unreadable or invalid: solve it again (the new file replaces it atomically)
    if doc["problem"] != inst.problem or doc.get("instance") not in (None, inst.name) or not doc["verified"]:
        return None
    if doc["status"] not in ("optimal", "feasible") or not check(inst, doc).feasible:
        return None
    return Result(
        problem=doc["problem"],
        instance=doc.get("instance"),
        status=doc["status"],
        objective=finite_or_none(doc["objective"]),
        bound=finite_or_none(doc["bound"]),
        gap=doc["gap"],
        method=doc["method"],
        solver=doc["solver"],
        runtime_s=float(doc["runtime_s"]),
        verified=True,
        solution=doc["solution"],
        message=doc.get("message"),
        details=doc.get("details") or {},
    )


# ------------------------------------------------------------------------------------------- the summary
SUMMARY_COLUMNS = (
    "problem",
    "instance",
    "file",
    "method",
    "solver",
    "status",
    "objective",
    "bound",
    "gap",
    "runtime_s",
    "verified",
    "reference_optimum",
)


def _check_summary_path(path: Path, inputs: Sequence[Path]) -> None:
    if path.is_dir():
        raise UsageError(f"--summary {path}: is a directory, expected a .csv file name")
    if not path.parent.is_dir():
        raise UsageError(f"--summary {path}: folder {path.parent} does not exist")
    if path.resolve() in {f.resolve() for f in inputs}:
        raise UsageError(f"refusing to overwrite input file {path}")


def _cell(x: Any) -> str:
    """A CSV cell: numbers in full precision (repr), lexicographic values as JSON lists, None empty."""
    if x is None:
        return ""
    if isinstance(x, tuple):
        return json.dumps(list(x))
    if isinstance(x, bool):
        return "true" if x else "false"
    return repr(x) if isinstance(x, float) else str(x)


def write_summary(path: Path, rows: Sequence[tuple[Instance, Result]]) -> None:
    """One CSV row per instance (``SUMMARY_COLUMNS``), written atomically."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for inst, r in rows:
        values = (
            r.problem,
            r.instance,
            inst.source,
            r.method,
            r.solver,
            r.status,
            r.objective,
            r.bound,
            r.gap,
            r.runtime_s,
            r.verified,
            inst.reference_optimum,
        )
        writer.writerow([_cell(v) for v in values])
    write_text_atomic(path, buffer.getvalue())


def _solve_one(
    inst: Instance, method: str, solver: str | None, time_limit: float | None, options: dict[str, Any]
) -> Result:
    try:
        return solve(inst, method=method, solver=solver, time_limit=time_limit, **options)
    except AllocoptError:
        raise
    except Exception as exc:  # a bug or an engine crash: report it as this file's error, go on with the rest
        return Result(
            problem=inst.problem,
            instance=inst.name,
            status="error",
            objective=None,
            bound=None,
            gap=None,
            method=method,
            solver=solver,
            runtime_s=0.0,
            verified=False,
            solution=None,
            message=f"{type(exc).__name__}: {exc}",
        )


def _num(x: Objective | None) -> str:
    """A number for the table; a lexicographic value as its entries in brackets."""
    if isinstance(x, tuple):
        return "[" + ", ".join(f"{v:.10g}" for v in x) + "]"
    return "-" if x is None else f"{x:.10g}"


def _row(inst: Instance, r: Result) -> list[str]:
    gap = "-" if r.gap is None else f"{r.gap:.2e}" if r.gap else "0"
    return [
        inst.name,
        r.method,
        r.status,
        _num(r.objective),
        _num(r.bound),
        gap,
        f"{r.runtime_s:.3f}s",
        _num(inst.reference_optimum),
        r.message or "",
    ]


def _print_table(rows: list[list[str]], out: TextIO) -> None:
    header = ["instance", "method", "status", "objective", "bound", "gap", "time", "reference"]
    table = [header] + [row[: len(header)] for row in rows]
    widths = [max(len(r[c]) for r in table) for c in range(len(header))]
    for r in table:
        out.write(
            "  ".join(
                cell.ljust(w) if c < 3 else cell.rjust(w) for c, (cell, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
            + "\n"
        )


class _Progress:
    """A one-line progress bar on stderr (a line per file when stderr is not a terminal): instances finished,
    the rate so far, and the last one finished."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream = total, stream
        self.tty = stream.isatty()
        self.count = 0
        self.began = time.perf_counter()

    def finished(self, name: str) -> None:
        self.count += 1
        width = 30
        filled = width * self.count // self.total
        bar = "#" * filled + "-" * (width - filled)
        rate = self.count / max(time.perf_counter() - self.began, 1e-9)
        line = f"[{bar}] {self.count}/{self.total} finished, {rate:.2f}/s  {name}"
        if self.tty:
            self.stream.write("\r" + line[:110].ljust(110))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


# ------------------------------------------------------------------------------------- other commands
def _validate(args: argparse.Namespace) -> int:
    bad = 0
    for path in args.paths:
        try:
            if path.name.endswith(SOLUTION_SUFFIX):
                doc = load_solution(path)
                print(f"ok  {path}: {doc['problem']} solution ({doc['status']})")
            else:
                inst = load(path)
                print(f"ok  {path}: {inst.spec.describe(inst.data)}")
        except InstanceError as exc:
            bad += 1
            print(f"allocopt: error: {exc}", file=sys.stderr)
    return EXIT_USAGE if bad else EXIT_OK


def _check(args: argparse.Namespace) -> int:
    inst = load(args.instance)
    doc = load_solution(args.solution)
    verdict = check(inst, doc)
    if verdict.feasible:
        print(f"verified: {args.solution} is feasible for {args.instance}, objective {_num(verdict.objective)}")
        return EXIT_OK
    print(f"not verified: {verdict.reason}")
    return EXIT_FAILED


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None


def _weights(text: str) -> list[float]:
    """``--weights a,b,c,d``: four numbers >= 0, not all 0 (the importer checks again for API callers)."""
    expected = "--weights expects 4 comma-separated numbers >= 0 (cost,qos,energy,fairness), not all 0"
    try:
        weights = [float(x) for x in text.split(",")]
    except ValueError:
        raise UsageError(f"{expected}; got {text!r}") from None
    if len(weights) != 4 or not all(math.isfinite(w) and w >= 0 for w in weights) or not any(weights):
        raise UsageError(f"{expected}; got {text!r}")
    return weights


def _import(args: argparse.Namespace) -> int:
    from allocopt.importers import importer

    imp = importer(args.format)
    flags = ("bits", "group_size", "sensitivity", "exclude", "average_bits", "weights")
    given = {k: getattr(args, k) for k in flags}
    options = {k: v for k, v in given.items() if v is not None}
    stray = sorted(set(options) - imp.options)
    if stray:
        flag = "--" + stray[0].replace("_", "-")
        raise UsageError(f"import format {imp.name!r} takes no {flag}")
    if "weights" in options:
        options["weights"] = _weights(options["weights"])
    # One read per file, or (an importer with ``files``) one read of all the files together.
    if imp.files is not None and len(args.files) != len(imp.files):
        raise UsageError(
            f"import format {imp.name!r} takes exactly {len(imp.files)} files, {' '.join(imp.files)}; "
            f"got {len(args.files)}"
        )
    groups = [args.files] if imp.files is not None else [[f] for f in args.files]
    inputs = {f.resolve() for f in args.files}
    docs: list[dict[str, Any]] = []
    for group in groups:
        for file in group:
            if not file.is_file():
                raise UsageError(f"{file}: no such file")
        label = " + ".join(str(f) for f in group)
        for doc in imp.read(*group, **options):
            instance_from_dict(doc, source=f"{label} -> {doc['name']}")  # never write what would not load
            docs.append(doc)
    if args.out.suffix == ".json" and not args.out.is_dir():
        if len(docs) != 1:
            raise UsageError(
                f"--out {args.out} is one file but the input holds {len(docs)} instances; give a directory"
            )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        pending = [(args.out, docs[0])]
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        pending = [(args.out / f"{doc['name']}.json", doc) for doc in docs]
    for target, doc in pending:
        write_json_atomic(target, doc, protect=inputs)
        ref = doc.get("reference", {}).get("optimum")
        print(f"wrote {target}" + (f" (optimum {ref})" if ref is not None else ""))
    return EXIT_OK


def _methods(args: argparse.Namespace) -> int:
    names = [args.problem] if args.problem else sorted(problems())
    for name in names:
        spec = problem(name)
        direction = "minimize or maximize, per instance" if spec.instance_sense else f"{spec.sense}imize"
        print(f"{name} ({direction})")
        for m in spec.methods.values():
            engines = ", ".join("any Pyomo solver (default highs)" if s == "*pyomo" else s for s in m.solvers) or "-"
            print(f"  {m.name:<12} {'exact' if m.exact else 'bound'}  solvers: {engines}")
            print(f"      {m.summary}")
            for opt, text in m.options.items():
                print(f"      -o {opt}=...  {text}")
    return EXIT_OK


def _image_format(out: Path, inputs: Sequence[Path], flag: str = "--out") -> str:
    """The image format ``out``'s suffix names (refused: unknown suffixes, directories, the inputs)."""
    from allocopt import plot

    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError:
        raise UsageError(plot.MATPLOTLIB_MISSING) from None
    for given in inputs:
        if out.resolve() == given.resolve():
            raise UsageError(f"refusing to overwrite input file {given}")
    fmt = out.suffix[1:].lower()
    formats = FigureCanvasAgg.get_supported_filetypes()
    if fmt not in formats:
        raise UsageError(
            f"{flag} {out}: cannot write {'files without a suffix' if not fmt else repr(out.suffix)}; "
            f"give one of: {', '.join('.' + f for f in sorted(formats))}"
        )
    if out.is_dir():
        raise UsageError(f"{flag} {out}: is a directory, expected an image file name")
    return fmt


def _write_figure(fig: Any, out: Path, fmt: str, flag: str = "--out") -> None:
    """Render ``fig`` with Agg (never a window, whatever pyplot's backend) and write it atomically."""
    import os
    import tempfile

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise UsageError(f"{flag} {out}: cannot write there ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=fmt, dpi=150)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, out.stat().st_mode & 0o777 if out.exists() else 0o666 & ~umask)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plot(args: argparse.Namespace) -> int:
    from allocopt import plot

    out: Path = args.out
    fmt = _image_format(out, (args.instance, args.solution))
    inst, doc, chart = plot.prepare(load(args.instance), load_solution(args.solution))
    if doc.get("instance") not in (None, inst.name):
        print(
            f"allocopt: note: {args.solution} names instance {doc['instance']!r}, drawing it on {inst.name!r}",
            file=sys.stderr,
        )
    verdict = check(inst, doc)
    if not verdict.feasible and not args.force:
        print(f"not drawn: the checker rejects {args.solution}: {verdict.reason} (--force draws it)", file=sys.stderr)
        return EXIT_FAILED
    _write_figure(plot.render(inst, doc, chart, verdict), out, fmt)
    status = "verified" if verdict.feasible else "NOT VERIFIED"
    print(f"wrote {out}: {inst.name}, makespan {plot.number(chart.makespan)} ({status})")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from allocopt.compare import compare, comparison_figure

    if args.time_limit is not None and not args.time_limit > 0:
        raise UsageError(f"--time-limit: time limit must be positive, got {args.time_limit}")
    fmt = _image_format(args.plot, (args.instance,), "--plot") if args.plot is not None else None
    inst = load(args.instance)
    rows = compare(inst, args.methods, args.time_limit, args.solver, **_parse_options(args.option))
    header = ["method", "solver", "status", "objective", "bound", "gap", "time", "verified"]
    table = [header]
    for row in rows:
        r = row.result
        gap = "-" if r.gap is None else f"{r.gap:.2e}" if r.gap else "0"
        table.append(
            [
                row.method,
                r.solver or "-",
                r.status,
                _num(r.objective) + (" *" if row.best_objective else ""),
                _num(r.bound) + (" *" if row.best_bound else ""),
                gap,
                f"{r.runtime_s:.3f}s",
                "yes" if r.verified else "no",
            ]
        )
    widths = [max(len(t[c]) for t in table) for c in range(len(header))]
    for t in table:
        cells = [cell.ljust(w) if c < 3 else cell.rjust(w) for c, (cell, w) in enumerate(zip(t, widths, strict=True))]
        print("  ".join(cells).rstrip())
    print(f"{inst.name} ({inst.problem}, {inst.spec.sense_of(inst.data)}imize): * best objective / tightest bound")
    for row in rows:
        if row.result.status == "error":
            print(f"allocopt: {row.method}: {row.result.message}", file=sys.stderr)
    if args.plot is not None and fmt is not None:
        _write_figure(comparison_figure(rows, title=f"{inst.name}: methods side by side"), args.plot, fmt, "--plot")
        print(f"wrote {args.plot}")
    return EXIT_FAILED if any(r.result.status == "error" for r in rows) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
