"""Per-component time of one Vid-ODE training step, for our step and the authors' alike.

:class:`Scopes` marks the components of a step without touching the code it times: forward pre/post hooks
open and close a ``torch.profiler.record_function`` range around a module's forward, and a wrapper does the
same around a function or bound method (replaced on its owner for the duration, restored by
:meth:`Scopes.remove`). :func:`profile_step` runs one step under ``torch.profiler`` and splits its time:

* forward: the CPU time inside each component's ranges;
* backward: every ``autograd::engine::evaluate_function`` event is charged to the component whose
  forward op created that autograd node (matched by the op's ``sequence_nr``), so the backward of the
  Conv-Decoder counts as the Conv-Decoder's, the backward of the discriminators' scores as theirs, and
  so on; nodes created outside every component (losses, sequence windows, reshapes) count as "other";
* "other": the rest of the profiled step (loss terms, window building, glue, zero_grad, the profiler's
  own bookkeeping).

The profiler adds per-op overhead, so the profiled step is slower than an unprofiled one (both totals are
reported); compare shares and differences between variants, not absolute milliseconds with the timed rows.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

#: Component names in display order; a variant marks the ones it has.
COMPONENTS = (
    "encoder E", "ODE-ConvGRU encoder", "decoder ODE", "Conv-Decoder G", "warping + composition",
    "D_img", "D_seq", "optimizer G", "optimizer D",
)
OTHER = "other"
_BACKWARD = "autograd::engine::evaluate_function: "


class Scopes:
    """Profiler ranges around a step's components; :meth:`remove` restores everything it changed."""

    def __init__(self):
        self._undo: list[Callable[[], None]] = []
        self.names: set[str] = set()

    def module(self, name: str, module) -> None:
        """A range named ``name`` around every forward call of ``module``."""
        from torch.autograd.profiler import record_function

        stack: list = []

        def pre(mod, args):
            rf = record_function(name)
            rf.__enter__()
            stack.append(rf)

        def post(mod, args, out):
            stack.pop().__exit__(None, None, None)

        handles = [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
        self._undo.append(lambda: [h.remove() for h in handles])
        self.names.add(name)

    def function(self, name: str, owner, attr: str) -> None:
        """A range named ``name`` around ``owner.attr(...)`` (a module-level function or an instance's method)."""
        from torch.autograd.profiler import record_function

        original = getattr(owner, attr)
        had_own = attr in vars(owner)  # a module's function, a class's method or an instance attribute

        @functools.wraps(original)
        def wrapped(*args, **kwargs):
            with record_function(name):
                return original(*args, **kwargs)

        setattr(owner, attr, wrapped)
        self._undo.append((lambda: setattr(owner, attr, original)) if had_own else (lambda: delattr(owner, attr)))
        self.names.add(name)

    def remove(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()


def _scope_of(event, names: set[str]) -> str | None:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name in names:
            return parent.name
        parent = parent.cpu_parent
    return None


def _inside_backward(event) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith(_BACKWARD):
            return True
        parent = parent.cpu_parent
    return False


def profile_step(step: Callable[[], object], scopes: Scopes) -> dict:
    """Runs ``step()`` once under ``torch.profiler`` and returns the per-component split (milliseconds).

    Returns ``{"components": {name: {"forward_ms", "backward_ms", "total_ms", "share", "cpu_ms"}},
    "profiled_ms", "profiled_wall_ms", "profiled_cpu_ms", "unattributed_backward_ms"}``. The profiler's times
    are the thread's wall clock: ``share`` = the component's fraction of the profiled step, and ``cpu_ms`` =
    ``share`` times the process CPU time of the profiled step, the estimate to compare on a shared machine
    (time the thread spent descheduled is spread over the components in proportion).
    """
    import time

    from torch.autograd.profiler import record_function
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0, c0 = time.perf_counter(), time.process_time()
        with record_function("vid_ode_step::step"):
            step()
        wall_ms, cpu_ms = (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3
    events = prof.events()
    names = scopes.names
    forward = dict.fromkeys(names, 0.0)
    backward = dict.fromkeys(names, 0.0)
    seq_scope: dict[int, str] = {}
    total_us = 0.0
    for ev in events:
        if ev.name == "vid_ode_step::step":
            total_us += ev.cpu_time_total
        elif ev.name in names:
            if _scope_of(ev, names) is None:  # the outermost range of a name (a component never nests itself)
                forward[ev.name] += ev.cpu_time_total
        elif ev.sequence_nr >= 0 and not ev.name.startswith(_BACKWARD):
            scope = _scope_of(ev, names)
            if scope is not None:
                seq_scope.setdefault(ev.sequence_nr, scope)
    unattributed = 0.0
    for ev in events:
        if ev.name.startswith(_BACKWARD) and not _inside_backward(ev):
            scope = seq_scope.get(ev.sequence_nr) if ev.sequence_nr >= 0 else None
            if scope is None:
                unattributed += ev.cpu_time_total
            else:
                backward[scope] += ev.cpu_time_total
    comps = {}
    attributed = 0.0
    for name in [*COMPONENTS, *sorted(names - set(COMPONENTS))]:
        if name not in names:
            continue
        tot = forward[name] + backward[name]
        attributed += tot
        comps[name] = {"forward_ms": forward[name] / 1e3, "backward_ms": backward[name] / 1e3, "total_ms": tot / 1e3}
    comps[OTHER] = {"forward_ms": None, "backward_ms": unattributed / 1e3,
                    "total_ms": max(total_us - attributed, 0.0) / 1e3}
    for c in comps.values():
        c["share"] = c["total_ms"] * 1e3 / total_us if total_us else 0.0
        c["cpu_ms"] = c["share"] * cpu_ms
    return {"components": comps, "profiled_ms": total_us / 1e3, "profiled_wall_ms": wall_ms,
            "profiled_cpu_ms": cpu_ms, "unattributed_backward_ms": unattributed / 1e3}


@contextlib.contextmanager
def scoped(setup: Callable[[Scopes], None]):
    """``with scoped(fn) as scopes:`` calls ``fn(scopes)`` to mark the components, removes them afterwards."""
    scopes = Scopes()
    try:
        setup(scopes)
        yield scopes
    finally:
        scopes.remove()


def format_breakdown(rows: list[tuple[str, dict]]) -> str:
    """A side-by-side table ``component | CPU ms (share)`` per variant, from ``[(variant, profile_step result)]``."""
    names: list[str] = []
    for _, res in rows:
        for n in res["components"]:
            if n not in names:
                names.append(n)
    order = [n for n in (*COMPONENTS, OTHER) if n in names] + [n for n in names if n not in (*COMPONENTS, OTHER)]
    width = max(24, *(len(v) for v, _ in rows))
    head = f"{'component':24s} " + " ".join(f"{v[:width]:>{width}s}" for v, _ in rows)
    lines = [head, "-" * len(head)]
    for n in order:
        cells = []
        for _, res in rows:
            c = res["components"].get(n)
            cells.append(f"{'-':>{width}s}" if c is None else
                         f"{c['cpu_ms']:9.0f} ms ({c['share'] * 100:4.1f}%)".rjust(width))
        lines.append(f"{n:24s} " + " ".join(cells))
    lines.append(f"{'profiled step, CPU':24s} "
                 + " ".join(f"{res['profiled_cpu_ms']:9.0f} ms".rjust(width) for _, res in rows))
    return "\n".join(lines)
