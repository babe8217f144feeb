r"""Training deep linear (and shallow nonlinear) networks: gradient descent and gradient flow.

Linear networks train from the task's statistics alone (Saxe et al. 2014, Eq. 13):

.. math:: \frac{\partial L}{\partial W_l} = -\Big(\prod_{i>l} W_i\Big)^T \big(\Sigma^{31} - W_{\rm tot}\Sigma^{11}\big)
          \Big(\prod_{i<l} W_i\Big)^T,

so a step costs :math:`O(D\,n^2 N_1)` whatever the number of samples. The loss is
:math:`L = \tfrac12\sum_\mu\lVert y^\mu - \hat y^\mu\rVert^2` and time follows :mod:`dlnlib.theory`: a step of
gradient descent with rate ``lr`` advances the paper's :math:`t` by 1 with :math:`\tau = 1/\text{lr}`.

Weights are lists as in :mod:`dlnlib.networks`; a leading axis on every matrix batches independent runs, each
with its own learning rate if ``lr`` is an array.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy import integrate

from . import _validation as v
from .activations import ACTIVATIONS as ACTIVATIONS_TABLE
from .measure import first_passage_time
from .networks import _mode_frames, _mode_strengths, check_chain

__all__ = ["TrainResult", "DivergenceError", "gradient_descent", "gradient_flow", "RateScan", "learning_rate_scan",
           "settling_rate_scan", "balanced_chain_descent", "ClassifierResult", "minibatch_sgd",
           "product_gradient_descent", "imbalance_step_change"]

ACTIVATIONS = {name: ACTIVATIONS_TABLE[name].torch_phi for name in ("linear", "tanh", "relu")}


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss; the message names the step and the learning rate."""


@dataclass
class TrainResult:
    r"""History of a training run (or a batch of runs).

    Attributes
    ----------
    t : numpy.ndarray
        ``(T,)`` recorded times: step numbers for gradient descent, continuous time for gradient flow.
    loss : numpy.ndarray
        ``(..., T)`` loss :math:`\tfrac12\sum_\mu\lVert y^\mu-\hat y^\mu\rVert^2` at those times (leading axes: runs).
    modes : numpy.ndarray
        ``(..., T, n_modes)`` mode strengths (:func:`dlnlib.networks.mode_strengths`).
    weights : list of numpy.ndarray
        Final weights.
    lr : float or numpy.ndarray
        Learning rate(s) used (``None`` for gradient flow).
    weight_history : list of numpy.ndarray or None
        ``weight_history[l]`` has shape ``(T, ..., n_{l+1}, n_l)`` when recorded.
    diverged_at : numpy.ndarray or None
        With ``on_divergence="mark"``: per run, the step at which its loss became non-finite, or -1. From that step
        on, such a run's recorded loss is ``inf``, its mode strengths and recorded weights ``nan``, and its final
        weights ``nan``.
    converged_at : numpy.ndarray or None
        From :func:`product_gradient_descent` with ``stop_loss`` and ``stop="each"``: per run, the first step at which
        its loss was at or below ``stop_loss`` (it is frozen from then on), or -1 if it never was.
    """

    t: np.ndarray
    loss: np.ndarray
    modes: np.ndarray
    weights: list
    lr: float | np.ndarray | None = None
    weight_history: list | None = field(default=None, repr=False)
    diverged_at: np.ndarray | None = None
    converged_at: np.ndarray | None = None


def _linear_quantities(weights, sigma11, sigma31, sigma33_trace, whitened, descent=False):
    r"""Loss, end-to-end map and gradients of a linear network from the statistics (NumPy or torch).

    :math:`\partial L/\partial W_l = -(W_D\cdots W_{l+1})^T\,E\,(W_{l-1}\cdots W_1)^T` with
    :math:`E = \Sigma^{31} - W\Sigma^{11}`. The partial products are formed from the narrower end of the network,
    so that a step costs :math:`O(D\,n^2\min(n_{\rm in}, n_{\rm out}))` for hidden width :math:`n`, never a pass
    over samples. With ``descent=True`` the third item holds :math:`-\partial L/\partial W_l` instead, one negation
    fewer per layer (the same numbers with the sign flipped exactly).
    """
    narrow_output = sigma31.shape[-2] < sigma31.shape[-1]
    chains = _linear_quantities_from_output if narrow_output else _linear_quantities_from_input
    return chains(weights, sigma11, sigma31, sigma33_trace, whitened, descent)


def _matmul(a, b):
    """``a @ b``; for two tensors with one and the same run axis, ``torch.bmm`` itself, which skips the broadcasting
    (expand and reshape) that ``@`` dispatches around the same kernel: the same numbers, less overhead per product."""
    if a.ndim == 3 and b.ndim == 3 and isinstance(a, torch.Tensor) and a.shape[0] == b.shape[0]:
        return torch.bmm(a, b)
    return a @ b


def _linear_quantities_from_input(weights, sigma11, sigma31, sigma33_trace, whitened, descent=False):
    r""":func:`_linear_quantities` with the partial products :math:`W_l\cdots W_1` (``n_in`` columns each)."""
    prefix = [weights[0]]
    for w in weights[1:]:
        prefix.append(_matmul(w, prefix[-1]))
    product = prefix[-1]
    predicted = product if whitened else product @ sigma11
    error = sigma31 - predicted
    loss = 0.5 * sigma33_trace - (product * sigma31).sum((-2, -1)) + 0.5 * (predicted * product).sum((-2, -1))
    grads = [None] * len(weights)
    back = error
    for l in range(len(weights) - 1, 0, -1):
        grads[l] = _matmul(back, prefix[l - 1].mT)
        if not descent:
            grads[l] = -grads[l]
        back = _matmul(weights[l].mT, back)
    grads[0] = back if descent else -back
    return loss, product, grads


def _linear_quantities_from_output(weights, sigma11, sigma31, sigma33_trace, whitened, descent=False):
    """:func:`_linear_quantities` for :math:`n_{out} < n_{in}`: every chain has only :math:`n_{out}` rows."""
    depth = len(weights)
    suffix = [None] * depth                  # suffix[l] = W_D ... W_{l+2} (0-based: weights[-1] ... weights[l+1])
    if depth > 1:
        suffix[depth - 2] = weights[-1]
        for l in range(depth - 3, -1, -1):
            suffix[l] = _matmul(suffix[l + 1], weights[l + 1])
    product = weights[0] if depth == 1 else _matmul(suffix[0], weights[0])
    predicted = product if whitened else product @ sigma11
    error = sigma31 - predicted
    loss = 0.5 * sigma33_trace - (product * sigma31).sum((-2, -1)) + 0.5 * (predicted * product).sum((-2, -1))
    grads = [None] * depth
    forward = error                          # E (W_l ... W_1)^T, n_out rows
    for l in range(depth):
        grads[l] = forward if l == depth - 1 else _matmul(suffix[l].mT, forward)
        if not descent:
            grads[l] = -grads[l]
        if l < depth - 1:
            forward = _matmul(forward, weights[l].mT)
    return loss, product, grads


def _schedule(steps: int, record_every: int) -> np.ndarray:
    return np.unique(np.append(np.arange(0, steps + 1, record_every), steps))


def _steps_to_loss(t, loss, threshold: float) -> np.ndarray:
    """First time (interpolated) at which ``loss`` falls to ``threshold``; non-finite losses never reach it."""
    neg = np.where(np.isfinite(loss), -loss, -np.finfo(float).max)
    return first_passage_time(t, neg, -threshold)


def _settled_time(t, inside) -> np.ndarray:
    """First recorded time from which ``inside`` (``(..., T)``) holds to the end of the record, provided the record
    runs at least twice that long; ``inf`` otherwise."""
    settled = np.flip(np.logical_and.accumulate(np.flip(inside, -1), axis=-1), -1)   # inside from k to the end
    first = np.argmax(settled, axis=-1)
    held = settled.any(-1) & (2 * t[first] <= t[-1])
    return np.where(held, t[first], np.inf)


#: The training loops keep track of divergence on the device and read it back to the host (a sync that, on a GPU,
#: waits for every queued kernel) only every this many steps, at a progress line or a weight record, and at the end.
SYNC_EVERY = 64


class _FirstNonFinite:
    """Per run, the first step whose loss was not finite, tracked on the device with no host sync.

    ``add`` keeps the step's loss tensor (no device work); ``settle`` folds the kept losses into ``step`` (``-1``: all
    finite so far) with a few device operations, whatever their number. Reading ``step`` is the caller's host sync, so
    a loop that settles every :data:`SYNC_EVERY` steps pays one sync per that many steps and still knows the first bad
    step exactly.
    """

    NEVER = torch.iinfo(torch.long).max

    def __init__(self, runs: tuple, device):
        self.step = torch.full(runs, -1, dtype=torch.long, device=device)
        self._pending, self._next = [], 0

    def add(self, loss: torch.Tensor) -> bool:
        """Keep the loss of the next step (detached from autograd); True when :data:`SYNC_EVERY` losses wait to be
        settled."""
        self._pending.append(loss)
        return len(self._pending) >= SYNC_EVERY

    def settle(self) -> None:
        if not self._pending:
            return
        losses = torch.stack(self._pending)
        steps = torch.arange(self._next, self._next + len(self._pending), device=losses.device)
        first = torch.where(torch.isfinite(losses), self.NEVER, steps.view((-1,) + (1,) * (losses.ndim - 1))).amin(0)
        self.step = torch.where(self.step < 0, torch.where(first == self.NEVER, -1, first), self.step)
        self._next += len(self._pending)
        self._pending = []

    def raise_if_any(self, lr) -> None:
        """Settle, read back, and raise :class:`DivergenceError` naming the first step with a non-finite loss and the
        runs (with their rates) that diverged at it."""
        self.settle()
        diverged = self.step >= 0
        if not bool(diverged.any()):
            return
        step = int(self.step[diverged].min())
        if step == 0:
            raise DivergenceError("gradient descent: the loss at the initial weights is not finite (weights too large "
                                  "for float64?)")
        bad = (self.step == step).nonzero().tolist()
        rates = np.broadcast_to(lr, tuple(self.step.shape)) if np.ndim(lr) else None
        where = (", ".join(f"run {tuple(i)} (lr={rates[tuple(i)]:g})" for i in bad[:5]) if rates is not None
                 else f"lr={lr:g}")
        raise DivergenceError(f"gradient descent diverged at step {step}: non-finite loss in {where}; "
                              "lower the learning rate")

    def after(self, t) -> torch.Tensor:
        """``(len(t), *runs)``: whether the run had diverged at or before each of the times ``t`` (settle first)."""
        t = torch.as_tensor(np.asarray(t), device=self.step.device).view((-1,) + (1,) * self.step.ndim)
        return (self.step >= 0) & (self.step <= t)


def _mask_records(records: torch.Tensor, gone: torch.Tensor, fill: float) -> torch.Tensor:
    """``records`` ``(T, *runs, ...)`` with ``fill`` where ``gone`` ``(T, *runs)`` is True."""
    return torch.where(gone.view(gone.shape + (1,) * (records.ndim - gone.ndim)), fill, records)


def gradient_descent(weights, task, lr, steps: int, record_every: int = 1, n_modes: int | None = None,
                     activation: str | None = None, record_weights: bool = False, device="cpu",
                     progress: bool = False, on_divergence: str = "raise") -> TrainResult:
    r"""Full-batch gradient descent, :math:`W_l \leftarrow W_l - \lambda\,\partial L/\partial W_l`, in float64.

    With ``activation=None`` the network is linear and the gradients come from the statistics
    :math:`\Sigma^{11}, \Sigma^{31}` (Eq. 13 of Saxe et al. 2014), with no pass over samples. With an activation
    (``"tanh"``, ``"relu"`` or ``"linear"``) the network is :math:`\hat Y = W_D\,\phi(\cdots\phi(W_1X))` (no biases),
    trained by autograd on the task's samples; its mode strengths are those of :math:`\hat\Sigma^{31} = \hat YX^T`.

    Parameters
    ----------
    weights : list of arrays or tensors
        Initial ``[W_1, ..., W_D]`` (copied, not modified); a leading axis batches independent runs.
    task : dlnlib.tasks.Task
        The task (its samples are needed when ``activation`` is given).
    lr : float or array_like
        Learning rate :math:`\lambda > 0` (:math:`\tau = 1/\lambda`), or one per run (shape of the run axes).
    steps : int
        Number of steps (>= 0).
    record_every : int
        Record loss and mode strengths every this many steps (step 0 and the last step always).
    n_modes : int or None
        Number of leading modes to record (default all).
    activation : {None, "linear", "tanh", "relu"}
        Hidden-layer nonlinearity; ``None`` uses the statistics-space linear trainer.
    record_weights : bool
        Also keep the weights at every recorded step.
    device : str or torch.device
        Where to compute (default CPU). Results come back as NumPy arrays.
    progress : bool
        Print the step and loss to stderr every tenth of the run.
    on_divergence : {"raise", "mark"}
        What to do when a run's loss becomes non-finite: raise :class:`DivergenceError` (default), or mark that run
        in ``result.diverged_at`` and mask its records (for learning-rate scans, where some rates are meant to
        diverge). Either way the step is exact, although the loop reads the losses back from the device only every
        ``train.SYNC_EVERY`` (64) steps (so that a GPU never waits for the host); the error is raised at that read-back.

    Returns
    -------
    TrainResult

    Raises
    ------
    DivergenceError
        With ``on_divergence="raise"``, as soon as the loss of any run is non-finite, naming the step and that run's
        learning rate.
    """
    steps = v.count(steps, "steps", minimum=0)
    record_every = v.count(record_every, "record_every")
    check_chain(weights, v.task(task).n_in, task.n_out)
    if activation is not None:
        v.choice(activation, "activation", ACTIVATIONS)
    record_weights, progress = v.flag(record_weights, "record_weights"), v.flag(progress, "progress")
    device = v.device(device)
    n_modes = v.optional_count(n_modes, "n_modes", maximum=min(task.n_in, task.n_out))
    if activation is not None and task.X is None:
        raise ValueError("a nonlinear network trains on samples, but this task has none (task.X is None)")
    if on_divergence not in ("raise", "mark"):
        raise ValueError(f"on_divergence must be 'raise' or 'mark', got {on_divergence!r}")
    lead = tuple(weights[0].shape[:-2])
    lr_arr = v.positive(lr, "lr")
    lr_runs = v.per_run(lr_arr, lead, "lr")
    lr_value = float(lr_arr) if lr_arr.ndim == 0 else lr_arr

    def tensor(x):
        return torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float64, device=device)

    ws = [tensor(w).clone() for w in weights]
    for l, w in enumerate(ws):
        if not bool(torch.isfinite(w).all()):
            raise ValueError(f"weights[{l}] contains non-finite values")
    rate = tensor(lr_runs).reshape(lead + (1, 1))
    sigma11, sigma31 = tensor(task.sigma11), tensor(task.sigma31)
    whitened = bool(np.array_equal(task.sigma11, np.eye(task.n_in)))
    if activation is not None:
        X, Y, phi = tensor(task.X), tensor(task.Y), ACTIVATIONS[activation]

    def evaluate():
        if activation is None:
            return _linear_quantities(ws, sigma11, sigma31, task.sigma33_trace, whitened, descent=True)
        params = [w.requires_grad_(True) for w in ws]
        hidden = X
        for w in params[:-1]:
            hidden = phi(w @ hidden)
        output = params[-1] @ hidden
        loss = 0.5 * ((Y - output) ** 2).sum((-2, -1))
        grads = torch.autograd.grad(loss.sum(), params)
        for w in params:
            w.requires_grad_(False)
        return loss.detach(), output.detach() @ X.mT, grads

    schedule = _schedule(steps, record_every)
    record = set(schedule.tolist())
    # Records go into buffers allocated once, on the device: no host sync per record, and no small long-lived
    # allocations between the large temporaries of each step (which fragment the heap and inflate the RSS).
    n_recorded = min(task.n_in, task.n_out) if n_modes is None else n_modes
    frames = _mode_frames(task, n_modes, ws[0])
    losses = torch.empty((len(schedule),) + lead, dtype=torch.float64, device=device)
    modes = torch.empty((len(schedule),) + lead + (n_recorded,), dtype=torch.float64, device=device)
    history, row = [[] for _ in ws], 0
    # Divergence is tracked on the device and read back only every SYNC_EVERY steps, at a progress line or a weight
    # record, and at the end: no host sync in the step loop. A run that diverges goes on (on its own slice of every
    # batched operation, so no other run sees its non-finite numbers) and is masked in the records afterwards.
    watch, mark = _FirstNonFinite(lead, device), on_divergence == "mark"
    rates = [rate] * len(ws)
    for k in range(steps + 1):
        loss, product, grads = evaluate()
        full = watch.add(loss)
        line = progress and steps >= 10 and k % (steps // 10) == 0
        if mark:
            if full:
                watch.settle()
        elif full or line or k == steps or (record_weights and k in record):
            watch.raise_if_any(lr_value)
        if k in record:
            losses[row] = loss
            modes[row] = _mode_strengths(product, task, n_modes, frames)
            row += 1
            if record_weights:
                for h, w in zip(history, ws):
                    h.append(w.detach().cpu().numpy().copy())
        if line:
            if mark:
                watch.settle()
                loss = torch.where(watch.step >= 0, torch.inf, loss)
            print(f"step {k}/{steps}: loss {loss.mean().item():.6g}", file=sys.stderr, flush=True)
        if k == steps:
            break
        with torch.no_grad():           # W_l <- W_l - rate dL/dW_l, all layers in one call
            if activation is None:      # the descent directions are fresh tensors of ours: scaled in place, no copies
                torch._foreach_mul_(grads, rates)
                torch._foreach_add_(ws, grads)
            else:
                torch._foreach_sub_(ws, torch._foreach_mul(grads, rates))
    weights = [w.detach() for w in ws]
    if mark:
        watch.settle()
        gone = watch.after(schedule)
        losses, modes = _mask_records(losses, gone, torch.inf), _mask_records(modes, gone, torch.nan)
        weights = [w.masked_fill((watch.step >= 0).view(lead + (1, 1)), torch.nan) for w in weights]
        if record_weights:
            history = [np.where(gone.cpu().numpy().reshape(gone.shape + (1, 1)), np.nan, h) for h in history]
    return TrainResult(t=schedule.astype(float),
                       loss=np.moveaxis(losses.cpu().numpy(), 0, -1),
                       modes=np.moveaxis(modes.cpu().numpy(), 0, -2),
                       weights=[w.cpu().numpy() for w in weights], lr=lr_value,
                       weight_history=[np.array(h) for h in history] if record_weights else None,
                       diverged_at=watch.step.cpu().numpy() if mark else None)


def gradient_flow(weights, task, t_eval, tau: float = 1.0, n_modes: int | None = None, rtol: float = 1e-10,
                  atol: float = 1e-12, record_weights: bool = False) -> TrainResult:
    r"""Gradient flow of a linear network, :math:`\tau\,\dot W_l = -\partial L/\partial W_l` (Eq. 2 / Eq. 13).

    Integrated with SciPy's ``solve_ivp`` (DOP853) in float64 on the statistics :math:`\Sigma^{11}, \Sigma^{31}`.

    Parameters
    ----------
    weights : list of arrays
        Initial ``[W_1, ..., W_D]``; a leading axis batches runs (they share the adaptive step).
    task : dlnlib.tasks.Task
    t_eval : array_like
        Increasing times >= 0 at which to record (the paper's units: steps when ``tau = 1/lr``).
    tau : float
        Time constant :math:`\tau = 1/\lambda`.
    n_modes : int or None
        Number of leading modes to record.
    rtol, atol : float
        Solver tolerances.
    record_weights : bool
        Keep the weights at every time in ``t_eval``.

    Returns
    -------
    TrainResult
        With ``lr=None``.
    """
    ws0 = v.chain(weights, "weights", v.task(task).n_in, task.n_out)
    tau = v.positive_scalar(tau, "tau")
    t_eval = v.as_float_array(t_eval, "t_eval")
    if t_eval.ndim != 1 or t_eval.size == 0 or np.any(t_eval < 0) or np.any(np.diff(t_eval) <= 0):
        raise ValueError("t_eval must be a non-empty, strictly increasing 1-D array of times >= 0")
    n_modes = v.optional_count(n_modes, "n_modes", maximum=min(task.n_in, task.n_out))
    rtol, atol = v.positive_scalar(rtol, "rtol"), v.positive_scalar(atol, "atol")
    record_weights = v.flag(record_weights, "record_weights")
    shapes = [w.shape for w in ws0]
    sizes = np.cumsum([0] + [w.size for w in ws0])
    whitened = bool(np.array_equal(task.sigma11, np.eye(task.n_in)))

    def unpack(y):
        return [y[sizes[l]:sizes[l + 1]].reshape(shapes[l]) for l in range(len(shapes))]

    def rhs(_, y):
        _, _, grads = _linear_quantities(unpack(y), task.sigma11, task.sigma31, task.sigma33_trace, whitened)
        return -np.concatenate([g.ravel() for g in grads]) / tau

    y0 = np.concatenate([w.ravel() for w in ws0])
    if t_eval[-1] == 0:         # t_eval = [0]: nothing to integrate
        path = y0[None]
    else:
        sol = integrate.solve_ivp(rhs, (0.0, float(t_eval[-1])), y0, method="DOP853", t_eval=t_eval, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"gradient flow integration failed: {sol.message}")
        path = sol.y.T
    states = [unpack(y) for y in path]
    quantities = [_linear_quantities(ws, task.sigma11, task.sigma31, task.sigma33_trace, whitened) for ws in states]
    return TrainResult(t=t_eval.copy(),
                       loss=np.moveaxis(np.array([q[0] for q in quantities]), 0, -1),
                       modes=np.moveaxis(np.array([_mode_strengths(q[1], task, n_modes) for q in quantities]), 0, -2),
                       weights=states[-1], lr=None,
                       weight_history=[np.array([s[l] for s in states]) for l in range(len(shapes))]
                       if record_weights else None)


@dataclass
class RateScan:
    """Result of :func:`settling_rate_scan` or :func:`learning_rate_scan`.

    Attributes
    ----------
    lr : numpy.ndarray
        The learning rates tried.
    time : numpy.ndarray
        Steps to reach the loss threshold at each rate (linear interpolation between recorded steps); ``inf`` where
        the run diverged or did not reach it within the budget.
    diverged : numpy.ndarray
        Boolean, per rate.
    best_lr, best_time : float
        The fastest rate and its time (``nan`` and ``inf`` if no rate reached the threshold).
    """

    lr: np.ndarray
    time: np.ndarray
    diverged: np.ndarray
    best_lr: float
    best_time: float

    @classmethod
    def from_result(cls, result: TrainResult, loss_threshold: float, stay: bool = False) -> "RateScan":
        """Scan from a run batched over rates (``result.lr`` 1-D, ``on_divergence="mark"``): time to the threshold.

        With ``stay=False`` the time is the first passage below ``loss_threshold`` (interpolated between records). With
        ``stay=True`` it is the first recorded step from which the loss *stays* below it, in a run at least twice that
        long (the rule of :meth:`from_modes`): a lucky dip of an oscillating run does not count.
        """
        loss_threshold = v.positive_scalar(loss_threshold, "loss_threshold")
        lrs = np.asarray(_train_result(result).lr, dtype=float)
        if lrs.ndim != 1 or result.diverged_at is None or result.loss.shape != lrs.shape + result.t.shape:
            raise ValueError("result must come from one run per learning rate (1-D lr), with divergence marked")
        diverged = result.diverged_at >= 0
        if stay:
            times = _settled_time(result.t, np.isfinite(result.loss) & (result.loss <= loss_threshold))
        else:
            times = _steps_to_loss(result.t, result.loss, loss_threshold)
        return cls._best(lrs, np.where(diverged, np.inf, times), diverged)

    @classmethod
    def _best(cls, lrs, times, diverged) -> "RateScan":
        best = int(np.argmin(times))
        reached = np.isfinite(times[best])
        return cls(lr=lrs, time=times, diverged=diverged, best_lr=float(lrs[best]) if reached else float("nan"),
                   best_time=float(times[best]))

    @classmethod
    def from_modes(cls, result: TrainResult, targets, rel_tol: float = 0.1) -> "RateScan":
        r"""Scan from a run batched over rates: time from which *every* mode stays learned.

        The time at each rate is the first recorded step :math:`t` such that
        :math:`|u_\alpha(t') - s_\alpha| \le \epsilon\,s_\alpha` for every recorded mode :math:`\alpha` and every
        recorded :math:`t' \ge t` up to the end of the run ("reached and stays"), and the run must have stayed settled
        at least as long as it took to settle (the record reaches :math:`2t`), so that a chance visit near the end
        does not count. Unlike a loss threshold, this is
        never met by a lucky pass of an oscillating or chaotic run, nor while a weak mode is still on its plateau, so
        the best rate it selects is one at which gradient descent converges. Step counts are recorded steps, not
        interpolated, so they do not move with round-off unless the run itself does. Record every step, or at an odd
        interval: an even one sees only one phase of a period-2 oscillation, which may then look settled.

        Parameters
        ----------
        result : TrainResult
            One run per learning rate (``result.lr`` 1-D, ``on_divergence="mark"``), modes recorded.
        targets : array_like
            ``(n_modes,)`` the values :math:`s_\alpha` the recorded modes must reach (> 0).
        rel_tol : float
            :math:`\epsilon`, in (0, 1).

        Returns
        -------
        RateScan
            ``time`` is ``inf`` where a run diverged or had not settled for long enough by its last recorded step.
        """
        lrs = np.asarray(_train_result(result).lr, dtype=float)
        if lrs.ndim != 1 or result.diverged_at is None or result.modes.shape[:2] != lrs.shape + result.t.shape:
            raise ValueError("result must come from one run per learning rate (1-D lr), with divergence marked")
        targets = v.positive(targets, "targets")
        if targets.shape != result.modes.shape[-1:]:
            raise ValueError(f"targets must have one value per recorded mode ({result.modes.shape[-1]}), "
                             f"got shape {targets.shape}")
        rel_tol = v.positive_scalar(rel_tol, "rel_tol")
        if rel_tol >= 1:
            raise ValueError(f"rel_tol must be in (0, 1), got {rel_tol}")
        with np.errstate(invalid="ignore"):
            inside = np.all(np.abs(result.modes - targets) <= rel_tol * targets, axis=-1)    # (R, T); NaN -> False
        diverged = result.diverged_at >= 0
        return cls._best(lrs, np.where(diverged, np.inf, _settled_time(result.t, inside)), diverged)


def _train_result(result) -> TrainResult:
    if not isinstance(result, TrainResult) or result.lr is None:
        raise TypeError(f"result must be the TrainResult of a gradient-descent run, got {type(result).__name__}")
    return result


def learning_rate_scan(weights, task, lrs, steps: int, loss_threshold: float, record_every: int = 1,
                       activation: str | None = None, device="cpu") -> RateScan:
    r"""Steps to a loss threshold from the same initial weights at every rate in ``lrs``, in one batched run.

    This is the per-depth rate optimisation of Saxe et al. (2014, Fig. 4 right) with the paper's kind of criterion:
    all rates train together as independent runs of :func:`gradient_descent`; runs that diverge are marked, not
    fatal; the time is the first passage below ``loss_threshold`` (:meth:`RateScan.from_result`). A first passage
    can be a lucky dip of an oscillating run; for the criterion that every mode is learned and stays learned use
    :func:`settling_rate_scan`.

    Parameters
    ----------
    weights : list of arrays
        One network's initial weights (no run axis); each rate starts from a copy.
    task : dlnlib.tasks.Task
    lrs : array_like
        Learning rates (> 0), 1-D.
    steps : int
        Budget of steps per rate.
    loss_threshold : float
        Criterion: the first step with loss <= this value.
    record_every : int
        Resolution of the measured time.
    activation, device
        As in :func:`gradient_descent`.

    Returns
    -------
    RateScan
    """
    lrs = _rates(lrs)
    loss_threshold = v.positive_scalar(loss_threshold, "loss_threshold")
    weights = v.chain(weights, "weights", v.task(task).n_in, task.n_out, runs=False)
    batched = [np.repeat(w[None], lrs.size, axis=0) for w in weights]
    result = gradient_descent(batched, task, lr=lrs, steps=steps, record_every=record_every, n_modes=1,
                              activation=activation, device=device, on_divergence="mark")
    return RateScan.from_result(result, loss_threshold)


def _rates(lrs) -> np.ndarray:
    lrs = v.positive(lrs, "lrs")
    if lrs.ndim != 1 or lrs.size == 0:
        raise ValueError(f"lrs must be a non-empty 1-D array, got shape {lrs.shape}")
    return lrs


def settling_rate_scan(weights, task, lrs, steps: int, rel_tol: float = 0.1, loss_threshold: float | None = None,
                       pilot_steps: int = 50, device="cpu") -> RateScan:
    r"""Steps until every mode is learned and stays learned, from the same initial weights at every rate in ``lrs``.

    The criterion of :meth:`RateScan.from_modes`: the first step from which :math:`|u_\alpha - s_\alpha| \le
    \epsilon\,s_\alpha` for every mode of the task (``task.singular_values``), held to the end of a run at least
    twice as long. For a task whose input is not white the modes do not end at :math:`s_\alpha`; give
    ``loss_threshold`` instead, and the criterion is that the loss stays below it (:meth:`RateScan.from_result` with
    ``stay=True``). This is the per-depth rate optimisation of Saxe et al. (2014, Fig. 4 right) with a criterion that
    runs which only pass near the target (oscillating or chaotic ones at the edge of stability) never meet, so that
    the time does not hinge on round-off. A run on a period-2 orbit narrower than the band does meet it: just past
    the stability limit the best rate of a tolerance :math:`\epsilon` is the band edge of
    :func:`dlnlib.theory.two_cycle_band_edge`; a small loss threshold pushes it back below the limit. A short pilot
    run first drops the rates that diverge within ``pilot_steps`` (they could not count either), so that a grid of
    absolute rates wide enough for every depth costs little more than its stable part.

    Parameters
    ----------
    weights : list of arrays
        One network's initial weights (no run axis); each rate starts from a copy.
    task : dlnlib.tasks.Task
        With :math:`\Sigma^{11} = I` the modes' targets are the singular values of :math:`\Sigma^{31}`.
    lrs : array_like
        Learning rates (> 0), 1-D.
    steps : int
        Budget per rate: times up to ``steps / 2`` can be measured.
    rel_tol : float
        :math:`\epsilon` in (0, 1).
    loss_threshold : float or None
        If given, the criterion is the loss staying at or below this value (``rel_tol`` is then unused).
    pilot_steps : int
        Length of the pilot run (0: none).
    device : str or torch.device

    Returns
    -------
    RateScan
        ``time`` in recorded steps (exact integers), ``inf`` where a run diverged or did not settle for long enough.
    """
    lrs = _rates(lrs)
    steps = v.count(steps, "steps")
    pilot_steps = v.count(pilot_steps, "pilot_steps", minimum=0)
    if loss_threshold is not None:
        loss_threshold = v.positive_scalar(loss_threshold, "loss_threshold")
    elif not 0 < v.positive_scalar(rel_tol, "rel_tol") < 1:
        raise ValueError(f"rel_tol must be in (0, 1), got {rel_tol}")
    weights = v.chain(weights, "weights", v.task(task).n_in, task.n_out, runs=False)

    def run(rates, n_steps, record_every):
        batched = [np.repeat(w[None], rates.size, axis=0) for w in weights]
        return gradient_descent(batched, task, lr=rates, steps=n_steps, record_every=record_every, device=device,
                                n_modes=1 if loss_threshold is not None else None, on_divergence="mark")

    keep = np.ones(lrs.size, dtype=bool)
    if pilot_steps:
        keep = run(lrs, pilot_steps, pilot_steps).diverged_at < 0
    time, diverged = np.full(lrs.size, np.inf), ~keep
    if keep.any():
        result = run(lrs[keep], steps, 1)
        scan = (RateScan.from_modes(result, task.singular_values, rel_tol=rel_tol) if loss_threshold is None
                else RateScan.from_result(result, loss_threshold, stay=True))
        time[keep], diverged[keep] = scan.time, scan.diverged
    return RateScan._best(lrs, time, diverged)


def balanced_chain_descent(s, u0, depth: int, lr, steps: int, record_every: int = 1) -> TrainResult:
    r"""Gradient descent on decoupled, balanced modes: one scalar per mode, :math:`u = a^D`.

    On the decoupled manifold with :math:`\Sigma^{11} = I` each mode is a chain of :math:`D` scalars doing gradient
    descent on :math:`\tfrac12(s - \prod_i a_i)^2` (Saxe et al. 2014, Eq. 14). Started balanced, all :math:`a_i`
    receive the same update and stay equal, so the chain is one scalar per mode,

    .. math:: a \leftarrow a + \lambda\,(s - a^D)\,a^{D-1}, \qquad u = a^D,

    which is exactly what full-matrix gradient descent from :func:`dlnlib.init.decoupled` does to each mode (chapter
    4 checks it to 1e-10). It costs :math:`O(\text{modes})` per step whatever the depth, so rate scans at depth 100 or
    1000 take seconds. Runs whose state becomes non-finite are marked in ``diverged_at`` and frozen.

    Parameters
    ----------
    s : array_like
        ``(M,)`` singular values (> 0) of the modes.
    u0 : float or array_like
        Initial mode strength(s), ``0 < u0 < s``.
    depth : int
        Number of weight matrices D >= 1 (the paper's :math:`N_l - 1`).
    lr : float or array_like
        Learning rate(s) (> 0); an array adds leading run axes (e.g. a scan over rates).
    steps : int
        Number of steps (>= 0).
    record_every : int
        Recording interval (step 0 and the last step always recorded).

    Returns
    -------
    TrainResult
        ``loss`` ``lr.shape + (T,)`` is :math:`\tfrac12\sum_\alpha(s_\alpha - u_\alpha)^2`; ``modes``
        ``lr.shape + (T, M)``; ``weights`` holds the final per-layer scalars ``a``; ``diverged_at`` is always set.
    """
    s = v.positive(s, "s")
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"s must be a non-empty 1-D array of singular values, got shape {s.shape}")
    u0 = v.positive(u0, "u0")
    if u0.ndim > 1 or u0.size not in (1, s.size):
        raise ValueError(f"u0 must be one number or one per mode ({s.size}), got shape {u0.shape}")
    u0 = np.broadcast_to(u0, s.shape)
    if np.any(u0 >= s):
        raise ValueError("u0 must be < s for every mode")
    depth = v.depth(depth)
    steps = v.count(steps, "steps", minimum=0)
    record_every = v.count(record_every, "record_every")
    lr_arr = v.positive(lr, "lr")
    rate = lr_arr[..., None]
    a = np.broadcast_to(u0 ** (1.0 / depth), lr_arr.shape + s.shape).copy()
    diverged_at = np.full(lr_arr.shape, -1)
    schedule = _schedule(steps, record_every)
    record = set(schedule.tolist())
    losses, modes = [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps + 1):
            u = a ** depth
            loss = 0.5 * np.sum((s - u) ** 2, axis=-1)
            newly = ~np.isfinite(loss) & (diverged_at < 0)
            if newly.any():
                diverged_at[newly] = k
                rate = np.where(newly[..., None], 0.0, rate)
                a[newly] = np.nan
            if k in record:
                losses.append(np.where(diverged_at >= 0, np.inf, loss))
                modes.append(u)
            if k == steps:
                break
            a = a + rate * (s - u) * a ** (depth - 1)
    return TrainResult(t=schedule.astype(float), loss=np.moveaxis(np.array(losses), 0, -1),
                       modes=np.moveaxis(np.array(modes), 0, -2), weights=[a], lr=float(lr_arr) if lr_arr.ndim == 0
                       else lr_arr, diverged_at=diverged_at)


@dataclass
class ClassifierResult:
    """History of :func:`minibatch_sgd` for one model or a batch of runs.

    Attributes
    ----------
    t : numpy.ndarray
        ``(T,)`` recorded step numbers (after that many updates).
    loss, error : numpy.ndarray
        ``(..., T)`` training cross-entropy and error rate, averaged over the minibatches since the previous record
        (at step 0: the first minibatch before any update). Leading axis: runs, for a batched model.
    test_error : numpy.ndarray
        ``(..., T)`` error rate on the held-out set (``nan`` at records where it was not evaluated).
    lr : float or numpy.ndarray
    diverged_at : numpy.ndarray
        Per run, the step whose loss was first non-finite (the run is frozen from then on, its losses ``inf``), or -1.
    seconds : float
        Wall-clock time of the training loop.
    """

    t: np.ndarray
    loss: np.ndarray
    error: np.ndarray
    test_error: np.ndarray
    lr: float | np.ndarray
    diverged_at: np.ndarray
    seconds: float = 0.0

    def steps_to_loss(self, threshold: float) -> np.ndarray:
        """Per run, the first recorded step (linearly interpolated) at which the training loss is <= ``threshold``."""
        return _steps_to_loss(self.t, self.loss, v.positive_scalar(threshold, "threshold"))

    def at_loss(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per run, the first record with a test evaluation at which the training loss is <= ``threshold``: its
        step, its training loss and its test error (``nan`` for runs that never get there).

        Comparing test errors there compares networks that fit the training set equally well, whatever the speed
        at which they got there (a matched-loss comparison); evaluate the test set often enough (``test_every``)
        that the loss moves little between evaluations.
        """
        threshold = v.positive_scalar(threshold, "threshold")
        hit = np.isfinite(self.test_error) & (self.loss <= threshold)
        first = np.argmax(hit, axis=-1)[..., None]
        reached = hit.any(axis=-1)
        pick = lambda a: np.where(reached, np.take_along_axis(a, first, axis=-1)[..., 0], np.nan)  # noqa: E731
        return pick(np.broadcast_to(self.t, self.loss.shape)), pick(self.loss), pick(self.test_error)


def _per_run_loss(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy and error rate per run: logits ``(..., B, C)``, labels ``(B,)``."""
    flat = logits.reshape(-1, logits.shape[-1])
    labels = y.expand(logits.shape[:-1]).reshape(-1)
    ce = F.cross_entropy(flat, labels, reduction="none").view(logits.shape[:-1]).mean(-1)
    wrong = (logits.argmax(-1) != y).to(logits.dtype).mean(-1)
    return ce, wrong


def minibatch_sgd(model: torch.nn.Module, data, lr, steps: int, batch_size: int = 64, record_every: int = 50,
                  test_every: int | None = None, seed=None, progress: bool = False) -> ClassifierResult:
    r"""Train a classifier by plain minibatch SGD on the softmax cross-entropy, :math:`\theta \leftarrow \theta -
    \lambda\,\nabla_\theta\,\frac1B\sum_{\mu\in\text{batch}}\ell(\theta; x^\mu, y^\mu)`.

    No momentum, no weight decay, no normalisation: the initialisation alone decides how well a deep net trains,
    which is what the chapters on nonlinear networks measure. A model batched over runs (:class:`dlnlib.deepnets.MLP`
    with a run axis) trains every run on the same minibatches, each with its own rate; a run whose loss becomes
    non-finite is frozen and marked, the others go on.

    Parameters
    ----------
    model : torch.nn.Module
        :class:`~dlnlib.deepnets.MLP` or :class:`~dlnlib.deepnets.VanillaCNN` (trained in place, on its device).
    data : dlnlib.tasks.ClassificationData
    lr : float or array_like
        Learning rate (> 0); for a batched model, one per run (``(R,)``) or one for all.
    steps : int
        Number of updates.
    batch_size : int
        Minibatch size; batches are drawn by shuffling the training set once per epoch.
    record_every : int
        Record the running training loss and error every this many steps (and at the last step).
    test_every : int or None
        Evaluate the test error at recorded steps that are multiples of this (and at the last step); ``None``: at
        every record. The test set is a full forward pass of every run, so sparse evaluation saves time.
    seed : int, numpy.random.Generator or None
        Order of the minibatches.
    progress : bool
        Print one line per record (to stderr).

    Returns
    -------
    ClassifierResult
    """
    steps = v.count(steps, "steps", minimum=0)
    batch_size = v.count(batch_size, "batch_size")
    record_every = v.count(record_every, "record_every")
    test_every = record_every if test_every is None else v.count(test_every, "test_every")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (dlnlib.deepnets.MLP or VanillaCNN), got {type(model).__name__}")
    progress = v.flag(progress, "progress")
    n_runs = getattr(model, "n_runs", None)
    lr_arr = v.positive(lr, "lr")
    if n_runs is None and lr_arr.ndim:
        raise ValueError("lr must be one number for a model without a run axis")
    if n_runs is not None and lr_arr.shape not in ((), (n_runs,)):
        raise ValueError(f"lr must be one number or one per run ({n_runs},), got shape {lr_arr.shape}")
    param = next(model.parameters(), None)
    if param is None:
        raise ValueError("model has no parameters to train")
    device, dtype = param.device, param.dtype
    if not all(hasattr(data, a) for a in ("X_train", "y_train", "X_test", "y_test")):
        raise TypeError(f"data must be a dlnlib.tasks.ClassificationData, got {type(data).__name__}")
    X_np, y_np = v.labelled_samples(data.X_train, data.y_train, "data.X_train", "data.y_train")
    X_test_np, y_test_np = v.labelled_samples(data.X_test, data.y_test, "data.X_test", "data.y_test",
                                              sample_shape=X_np.shape[1:])
    X = torch.as_tensor(X_np, dtype=dtype, device=device)
    y = torch.as_tensor(y_np, dtype=torch.long, device=device)
    X_test = torch.as_tensor(X_test_np, dtype=dtype, device=device)
    y_test = torch.as_tensor(y_test_np, dtype=torch.long, device=device)
    try:
        with torch.no_grad():
            n_classes = model(X[:1]).shape[-1]
    except RuntimeError as exc:
        raise ValueError(f"data.X_train has samples of shape {tuple(X.shape[1:])}, which the model does not take: "
                         f"{exc}") from None
    for labels, label_name in ((y_np, "data.y_train"), (y_test_np, "data.y_test")):
        if labels.max() >= n_classes:
            raise ValueError(f"{label_name} must be class indices below the model's {n_classes} outputs, got "
                             f"max {labels.max()}")
    if batch_size > y.numel():
        raise ValueError(f"batch_size must be <= the number of training samples ({y.numel()}), got {batch_size}")
    runs = () if n_runs is None else (n_runs,)
    rate = torch.as_tensor(np.broadcast_to(lr_arr, runs).copy(), dtype=dtype, device=device)
    rng = v.generator(seed)
    schedule = _schedule(steps, record_every)
    record = set(schedule.tolist())
    sums = torch.zeros((2,) + runs, dtype=torch.float64, device=device)
    count, row = 0, 0
    # Records go into device buffers and divergence is tracked on the device (the batches' order is on the device
    # too): the loop reads nothing back to the host, except a progress line.
    history = {key: torch.empty((len(schedule),) + runs, dtype=torch.float64, device=device)
               for key in ("loss", "error", "test_error")}
    alive = torch.ones(runs, dtype=torch.bool, device=device)
    watch = _FirstNonFinite(runs, device)
    order, cursor = torch.as_tensor(rng.permutation(y.numel()), device=device), 0
    start = time.perf_counter()

    def test_error():
        with torch.no_grad():
            wrong = torch.zeros(runs, dtype=torch.float64, device=device)
            for i in range(0, y_test.numel(), 1000):
                wrong += _per_run_loss(model(X_test[i:i + 1000]), y_test[i:i + 1000])[1].double() * y_test[i:i + 1000].numel()
            return wrong / y_test.numel()

    for step in range(steps + 1):
        if cursor + batch_size > y.numel():
            order, cursor = torch.as_tensor(rng.permutation(y.numel()), device=device), 0
        idx = order[cursor:cursor + batch_size]
        cursor += batch_size
        loss, wrong = _per_run_loss(model(X[idx]), y[idx])
        finite = torch.isfinite(loss)
        alive &= finite                                     # a run whose loss was once non-finite stays frozen
        rate = torch.where(finite, rate, 0.0)
        if watch.add(loss.detach()):
            watch.settle()
        sums += torch.stack([loss.detach(), wrong]).double()
        count += 1
        if step in record:
            history["loss"][row] = torch.where(alive, sums[0] / count, torch.inf)
            history["error"][row] = torch.where(alive, sums[1] / count, torch.nan)
            tested = step % test_every == 0 or step == steps
            history["test_error"][row] = torch.where(alive, test_error(), torch.nan) if tested else torch.nan
            sums.zero_()
            count = 0
            if progress:
                print(f"step {step}/{steps}: loss {np.nanmedian(history['loss'][row].cpu().numpy()):.4g} (median over "
                      "runs)", file=sys.stderr)
            row += 1
        if step == steps:
            break
        model.zero_grad(set_to_none=True)
        torch.where(finite, loss, torch.zeros_like(loss)).sum().backward()
        with torch.no_grad():
            for p in model.parameters():
                if p.grad is None:
                    continue
                g = torch.nan_to_num(p.grad, nan=0.0, posinf=0.0, neginf=0.0)
                p -= (rate.view(rate.shape + (1,) * (p.ndim - rate.ndim)) if n_runs is not None else rate) * g
    watch.settle()
    stack = {k: np.moveaxis(h.cpu().numpy(), 0, -1) for k, h in history.items()}
    diverged_at = watch.step.cpu().numpy()
    seconds = time.perf_counter() - start
    return ClassifierResult(t=schedule.astype(float), loss=stack["loss"], error=stack["error"],
                            test_error=stack["test_error"], lr=float(lr_arr) if lr_arr.ndim == 0 else lr_arr,
                            diverged_at=diverged_at, seconds=seconds)


def product_gradient_descent(weights, loss, lr, steps: int, record_every: int = 1, record_products: bool = False,
                             factor_lr=None, device="cpu", stop_loss: float | None = None,
                             stop: str = "first") -> TrainResult:
    r"""Gradient descent on the factors of :math:`W = W_D\cdots W_1` for any differentiable loss of the product.

    :math:`W_l \leftarrow W_l - \lambda\,\partial L(W_D\cdots W_1)/\partial W_l` in float64 with torch autograd. This is
    the setting of Arora, Cohen & Hazan (2018): depth adds no expressiveness, only overparameterization, so any change
    in the trajectory is an optimisation effect. Runs batched on a leading axis, each with its own rate; a run whose
    loss becomes non-finite is frozen and marked.

    Parameters
    ----------
    weights : list of array_like
        ``[W_1, ..., W_D]``, ``(..., n_{l+1}, n_l)``; ``D = 1`` is plain gradient descent on :math:`W`.
    loss : callable
        ``loss(product) -> tensor`` of per-run losses, ``product`` a float64 tensor ``(..., n_out, n_in)``.
    lr : float or array_like
        Learning rate(s), broadcast against the run axes.
    steps, record_every : int
    record_products : bool
        Keep the end-to-end matrix at every record (``TrainResult.weight_history`` then holds one array
        ``(T, ..., n_out, n_in)``).
    factor_lr : array_like, optional
        Non-negative multipliers ``(D,)`` or ``(D, *runs)`` (default all 1): factor :math:`l` moves with rate
        ``factor_lr[l] * lr``, the discriminative rate :math:`\gamma\eta` of Yaras et al. (2023). The second form
        gives every run its own multipliers. A factor whose multipliers are all 0 is frozen and gets no gradient.
    device : str or torch.device
    stop_loss : float, optional
        Stop at the first step at which some run's loss is at or below this value (that step is recorded): a single run
        stops when it has converged to the tolerance; a batch of rates stops when its fastest rate has, so that every
        arm of a comparison can get the same budget ``steps`` and stop at the same loss. See ``stop``.
    stop : {"first", "each"}
        With ``stop_loss``: ``"first"`` stops the whole batch when its first run reaches the tolerance; ``"each"``
        freezes every run at the step at which it reaches the tolerance (``TrainResult.converged_at``) and stops when
        every run has converged or diverged, so that each run of a rate scan is reported at its own convergence.

    Returns
    -------
    TrainResult
        ``loss`` ``(..., T)``, ``weights`` the final factors, ``diverged_at`` per run; ``modes`` is empty. With
        ``stop_loss``, ``t`` ends at the step where training stopped.
    """
    ws = v.chain(weights)
    loss = v.function(loss, "loss")
    steps = v.count(steps, "steps", minimum=0)
    record_every = v.count(record_every, "record_every")
    record_products = v.flag(record_products, "record_products")
    device = v.device(device)
    lr_arr = v.positive(lr, "lr")
    if stop_loss is not None:
        stop_loss = v.positive_scalar(stop_loss, "stop_loss")
    if stop not in ("first", "each"):
        raise ValueError(f"stop must be 'first' or 'each', got {stop!r}")
    ws = [torch.tensor(w, dtype=torch.float64, device=device) for w in ws]
    runs = tuple(ws[0].shape[:-2])
    lr_runs = v.per_run(lr_arr, runs, "lr")
    scale = np.ones(len(ws)) if factor_lr is None else v.as_float_array(factor_lr, "factor_lr")
    try:
        fits = scale.ndim > 0 and len(scale) == len(ws) and np.broadcast_shapes(scale.shape[1:], runs) == runs
    except ValueError:
        fits = False
    if not fits or not np.all(np.isfinite(scale)) or np.any(scale < 0):
        raise ValueError(f"factor_lr needs finite multipliers >= 0, shape ({len(ws)},) or ({len(ws)}, *runs) with runs "
                         f"{runs}, got shape {scale.shape}")
    scale = scale.reshape((len(ws),) + (1,) * (len(runs) + 1 - scale.ndim) + scale.shape[1:])
    trained = [l for l in range(len(ws)) if np.any(scale[l] > 0)]
    for l in trained:
        ws[l].requires_grad_()
    factor_rate = [torch.as_tensor(np.broadcast_to(scale[l], runs).copy(), dtype=torch.float64, device=device)
                   for l in range(len(ws))]
    rate = torch.as_tensor(lr_runs, dtype=torch.float64, device=device)
    schedule = _schedule(steps, record_every)
    record = set(schedule.tolist())
    # Records go into a device buffer and divergence is tracked on the device: no host sync in the loop, except
    # with stop_loss, whose test reads one flag (stop="first") or one flag per run (stop="each") back per step.
    watch, losses, products, recorded = _FirstNonFinite(runs, device), None, [], []
    converged_at = np.full(runs, -1)
    for k in range(steps + 1):
        product = ws[0]
        for w in ws[1:]:
            product = w @ product
        value = loss(product)
        if k == 0 and not torch.is_tensor(value):      # checked once: the loss is the same function every step
            raise TypeError(f"loss must return a torch tensor (one value per run), got {type(value).__name__}")
        if k == 0 and tuple(value.shape) != runs:
            raise ValueError(f"loss must return one value per run, shape {runs}, got {tuple(value.shape)}")
        if losses is None:                              # room for the schedule and a step stopped at
            losses = torch.empty((len(schedule) + 1,) + runs, dtype=value.dtype, device=device)
        finite = torch.isfinite(value)
        rate = torch.where(finite, rate, 0.0)           # a run whose loss was once non-finite stays frozen
        if watch.add(value.detach()):
            watch.settle()
        if stop_loss is None:
            converged = False
        elif stop == "first":
            converged = bool(torch.any(finite & (value <= stop_loss)))
        else:                                           # a frozen diverged run's loss stays non-finite
            reached, finite_now = (finite & (value <= stop_loss)).cpu().numpy(), finite.cpu().numpy()
            newly = reached & (converged_at < 0)
            if newly.any():
                converged_at[newly] = k
                rate = torch.where(torch.as_tensor(converged_at >= 0, device=rate.device), torch.zeros_like(rate), rate)
            converged = bool(np.all((converged_at >= 0) | ~finite_now))
        if k in record or converged:
            losses[len(recorded)] = value.detach()
            recorded.append(k)
            if record_products:
                products.append(product.detach().cpu().numpy())
        if k == steps or converged:
            break
        if not trained:
            continue
        grads = torch.autograd.grad(torch.where(finite, value, torch.zeros_like(value)).sum(), [ws[l] for l in trained])
        with torch.no_grad():
            for l, g in zip(trained, grads):
                step = (factor_rate[l] * rate).reshape(runs + (1, 1))
                ws[l] -= step * torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
    watch.settle()
    losses = _mask_records(losses[:len(recorded)], watch.after(recorded), torch.inf)
    return TrainResult(t=np.array(recorded, dtype=float), loss=np.moveaxis(losses.cpu().numpy(), 0, -1),
                       modes=np.empty(0), weights=[w.detach().cpu().numpy() for w in ws],
                       lr=float(lr_arr) if lr_arr.ndim == 0 else lr_arr,
                       weight_history=[np.array(products)] if record_products else None,
                       diverged_at=watch.step.cpu().numpy(),
                       converged_at=converged_at if stop_loss is not None and stop == "each" else None)


def imbalance_step_change(weights, task, lr):
    r"""Exact change of the conserved imbalances in one step of gradient descent on a linear network.

    Gradient flow conserves :math:`M_l = W_{l+1}^TW_{l+1} - W_lW_l^T` (:func:`dlnlib.networks.imbalance`). A step
    :math:`W_l \leftarrow W_l + \lambda G_l` with :math:`G_l = -\partial L/\partial W_l` changes it by

    .. math:: M_l' - M_l = \lambda^2\big(G_{l+1}^TG_{l+1} - G_lG_l^T\big),

    because the terms linear in :math:`\lambda` cancel (that cancellation is the conservation law). Summed over a run
    of :math:`T/\lambda` steps this is :math:`O(\lambda)`: to first order
    :math:`\lambda^2\int_0^T (G_{l+1}^TG_{l+1} - G_lG_l^T)\,dt` along the gradient flow (:math:`t` in steps).

    Parameters
    ----------
    weights : list of NumPy arrays
        ``[W_1, ..., W_D]``; leading axes (runs, or recorded times of a ``weight_history``) are kept.
    task : dlnlib.tasks.Task
    lr : float
        Learning rate :math:`\lambda` (> 0).

    Returns
    -------
    list of numpy.ndarray
        ``depth - 1`` matrices ``(..., n_l, n_l)``, in the order of :func:`dlnlib.networks.imbalance`.
    """
    check_chain(weights, v.task(task).n_in, task.n_out)
    lr = v.positive_scalar(lr, "lr")
    ws = [v.as_float_array(w, f"weights[{l}]") for l, w in enumerate(weights)]
    whitened = bool(np.array_equal(task.sigma11, np.eye(task.n_in)))
    _, _, grads = _linear_quantities(ws, task.sigma11, task.sigma31, task.sigma33_trace, whitened)
    return [lr ** 2 * (g_next.mT @ g_next - g @ g.mT) for g, g_next in zip(grads[:-1], grads[1:])]
