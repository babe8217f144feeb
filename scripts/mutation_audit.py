#!/usr/bin/env python
r"""Mutation audit of dlnlib: plant one realistic bug at a time and check that the unit tests notice it.

Each mutant is a row ``(set, module, snippet, replacement, description)``: ``snippet`` must occur exactly once in
``dlnlib/<module>.py``. For each mutant the script copies ``dlnlib/`` and ``tests/`` (and ``pyproject.toml``, for the
pytest settings) into a temporary folder, patches the copy (never the working tree), and runs that module's test
files there with ``python -m pytest -x`` under a per-test and an overall timeout. A mutant is *caught* when the
tests fail (or time out), *survives* when they pass. Not part of ``make test``: it runs the tests about a hundred
times (roughly 20-40 minutes on two busy cores).

Usage::

    .venv/bin/python scripts/mutation_audit.py                 # every set
    .venv/bin/python scripts/mutation_audit.py --set A         # the first set only
    .venv/bin/python scripts/mutation_audit.py --set C --jobs 2  # the second fresh set
    .venv/bin/python scripts/mutation_audit.py --module theory --list
    .venv/bin/python scripts/mutation_audit.py --check         # only check that every snippet is found once

Set A is the first set, written before the tests were improved; set B is the fresh set, written afterwards and never
used to tune the tests (see the report of issue 19). Set C is a second fresh set (67 mutants over every module, the
private validators included), written after a review of every public function had added the tests it found missing,
and committed before it was first run. Set D (39 mutants) covers the public functions that main added after set C
(chapters 1-5 and 8-11); it too was committed before its first run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Test files run for a mutant of each module (its own tests and those of the modules built on it), and a -k expression
# that leaves out slow tests of other modules. Running fewer tests can only catch fewer mutants, so this keeps one
# mutant to seconds without flattering the score.
SLOW = "minibatch_sgd or signal_propagation or mnist_classification or offline_mnist"
LINEAR, NONLINEAR, RELATED = "test_reference_linear.py", "test_reference_nonlinear.py", "test_reference_related.py"
THREE = "test_three_layer_modes.py"
TESTS = {
    "theory": ([THREE, LINEAR, "test_theory.py", "test_measure_checks.py", "test_train.py"], None),
    "tasks": ([THREE, LINEAR, "test_tasks_init_networks.py", "test_mnist_and_init.py", "test_acceleration.py",
               "test_parsimony.py", "test_train.py"], None),
    "networks": ([THREE, LINEAR, "test_tasks_init_networks.py", "test_train.py"], None),
    "init": ([THREE, LINEAR, NONLINEAR, "test_tasks_init_networks.py", "test_mnist_and_init.py", "test_nonlinear.py",
              "test_acceleration.py", "test_landscape.py"], f"not ({SLOW})"),
    "train": ([THREE, LINEAR, "test_train.py", "test_nonlinear.py", "test_acceleration.py", "test_parsimony.py"],
              "not (signal_propagation or mnist_classification or offline_mnist)"),
    "measure": ([THREE, LINEAR, "test_measure_checks.py", "test_train.py"], None),
    "checks": ([LINEAR, "test_measure_checks.py"], None),
    "spectra": ([NONLINEAR, "test_spectra.py", "test_nonlinear.py"], f"not ({SLOW})"),
    "activations": ([NONLINEAR, "test_nonlinear.py", "test_train.py", "test_spectra.py"], "not minibatch_sgd"),
    "meanfield": ([NONLINEAR, "test_nonlinear.py", "test_spectra.py"], "not minibatch_sgd"),
    "convolution": ([NONLINEAR, "test_nonlinear.py"], "not minibatch_sgd"),
    "deepnets": ([NONLINEAR, "test_nonlinear.py"], "not signal_propagation"),
    "acceleration": ([RELATED, "test_acceleration.py"], None),
    "landscape": ([THREE, LINEAR, "test_landscape.py"], None),
    "learning_curves": ([RELATED, "test_learning_curves.py"], None),
    "parsimony": ([RELATED, "test_parsimony.py"], None),
    "plotting": (["test_plotting.py"], None),
    "reproducibility": ([LINEAR, "test_measure_checks.py"], None),
    "_validation": (["test_validation.py"], None),
}
# The per-module tests of bad input and of valid edge cases (every module has some there) run for every mutant.
COMMON = ["test_edge_cases.py", "test_bad_input.py"]

# (set, module, exact snippet, replacement, what the slip is)
MUTANTS = [
    # ---------------------------------------------------------------------------------------------- set A: theory
    ("A", "theory", "rate = 2.0 * s * t / tau", "rate = s * t / tau",
     "mode_trajectory: rate s/tau instead of 2s/tau"),
    ("A", "theory", "return tau * np.log((s - u0) / (s - uf))", "return tau / s * np.log((s - u0) / (s - uf))",
     "learning_time depth 1: spurious 1/s"),
    ("A", "theory", "err = s - a * b\n", "err = a * b - s\n",
     "mode_vector_field: error sign flipped (gradient ascent)"),
    ("A", "theory", "np.exp(-root * t / tau)", "np.exp(-root * t / (2 * tau))",
     "imbalanced_mode_trajectory: half the relaxation rate"),
    ("A", "theory", "return depth * s ** (2.0 - 2.0 / depth) / tau", "return depth * s ** (2.0 - 1.0 / depth) / tau",
     "hessian_top_eigenvalue: exponent 2 - 1/D"),
    ("A", "theory", "+ s / u0 - s / uf)", "+ s / u0 + s / uf)",
     "learning_time_at_optimal_rate(inf): sign of s/uf"),
    ("A", "theory", "rate = depth * s_k / tau", "rate = depth * s_k * tau",
     "deep_mode_trajectory: multiplies by tau"),
    ("A", "theory", "+ (uf ** q - u0 ** q) / (q * s ** 2)", "+ (uf ** q - u0 ** q) / (q * s)",
     "deep learning_time integral: s instead of s^2 in one term"),
    # -------------------------------------------------------------------------------------------- networks
    ("A", "networks", "w_next.mT @ w_next - w @ w.mT", "w @ w.mT - w_next.mT @ w_next",
     "imbalance: sign flipped"),
    ("A", "networks", "ut, vt = u[:, :r].T, vv[:, :r].T", "ut, vt = u[:, :r].T, vv[:r, :]",
     "mode_strengths: V transposed"),
    # ----------------------------------------------------------------------------------------------- tasks
    ("A", "tasks", "Y = sigma31 @ X\n", "Y = sigma31 @ X.T\n",
     "svd_task: samples inconsistent with Sigma31"),
    ("A", "tasks", "order = np.argsort(eigenvalues)[::-1][:n_components]",
     "order = np.argsort(eigenvalues)[::-1][1:n_components + 1]",
     "mnist_task: PCA drops the top component"),
    ("A", "tasks", "sigma11, sigma31, sigma33_trace = X @ X.T, Y @ X.T, float(np.sum(Y * Y))",
     "sigma11, sigma31, sigma33_trace = X @ X.T, Y @ X.T, float(np.sum(Y * Y)) / 2",
     "Task.from_samples: tr Sigma33 halved"),
    ("A", "tasks", "+ 0.5 * np.sum(ws * w, axis=(-2, -1))", "+ np.sum(ws * w, axis=(-2, -1))",
     "Task.loss: quadratic term without 1/2"),
    ("A", "tasks", "children = np.repeat(values, 2, axis=0)", "children = np.tile(values, (2, 1))",
     "hierarchical_task: children tiled, so adjacent items are not siblings"),
    ("A", "tasks", "/ np.sqrt(rank)\n", "/ rank\n",
     "matrix_completion: scale 1/r instead of 1/sqrt(r)"),
    ("A", "tasks", "X = X / np.sqrt(np.maximum(eigenvalues[order], np.finfo(float).tiny))[:, None]",
     "X = X / np.maximum(eigenvalues[order], np.finfo(float).tiny)[:, None]",
     "mnist_task whiten: divides by the variance"),
    # ------------------------------------------------------------------------------------------------ init
    ("A", "init", "q = q * np.sign(np.diag(r))", "q = q",
     "random_orthogonal: no Haar sign correction"),
    ("A", "init", "np.sqrt(sigma_w2 * profile / c_in)", "np.sqrt(sigma_w2 * profile / c_out)",
     "gaussian_kernel: fan-out instead of fan-in"),
    ("A", "init", "[g / np.sqrt(n) for g, n in zip(gains, widths[:-1])]", "[g / np.sqrt(n) for g, n in zip(gains, widths[1:])]",
     "scaled_gaussian: fan-out instead of fan-in"),
    ("A", "init", "diag = np.broadcast_to(u0, (k,)) ** (1.0 / depth)",
     "diag = np.broadcast_to(u0, (k,)) ** (1.0 / (depth + 1))", "decoupled: per-layer root 1/(D+1)"),
    ("A", "init", "kernel[(slice(None), slice(None)) + (kernel_size // 2,) * ndim] =",
     "kernel[(slice(None), slice(None)) + (0,) * ndim] =", "delta_orthogonal: tap 0 instead of the centre tap"),
    ("A", "init", "return delta_orthogonal(c_out, c_in, kernel_size, ndim, gain=np.sqrt(sigma_w2), seed=seed)",
     "return delta_orthogonal(c_out, c_in, kernel_size, ndim, gain=sigma_w2, seed=seed)",
     "conv_kernel: variance used as the gain"),
    ("A", "init", "    sigma_b = float(np.sqrt(v.nonnegative_scalar(sigma_b2, \"sigma_b2\")))",
     "    sigma_b = float(v.nonnegative_scalar(sigma_b2, \"sigma_b2\"))",
     "cnn: bias variance used as the standard deviation"),
    ("A", "init", "np.stack([p, np.eye(c_in) - p], axis=-1)", "np.stack([p, np.eye(c_in) + p], axis=-1)",
     "block_orthogonal: I + P instead of I - P"),
    ("A", "init", "root = s[:rank] ** (1.0 / depth)", "root = s[:rank] ** (1.0 / (depth - 1 or 1))",
     "balanced: root 1/(D-1)"),
    # ----------------------------------------------------------------------------------------------- train
    ("A", "train", "return -np.concatenate([g.ravel() for g in grads]) / tau",
     "return -np.concatenate([g.ravel() for g in grads]) * tau", "gradient_flow: multiplies by tau"),
    ("A", "train", "steps = torch.arange(self._next, self._next + len(self._pending), device=losses.device)",
     "steps = torch.arange(self._next + 1, self._next + 1 + len(self._pending), device=losses.device)",
     "gradient_descent(mark): diverged_at one step late"),
    ("A", "train", "        prefix.append(_matmul(w, prefix[-1]))\n"
                   "    product = prefix[-1]\n    predicted = product if whitened else product @ sigma11",
     "        prefix.append(_matmul(w, prefix[-1]))\n"
     "    product = prefix[-1]\n    predicted = product",
     "linear gradients (input side): Sigma11 ignored"),
    ("A", "train", "a = a + rate * (s - u) * a ** (depth - 1)", "a = a + rate * (s - u) * a ** depth",
     "balanced_chain_descent: exponent D instead of D-1"),
    ("A", "train", "held = settled.any(-1) & (2 * t[first] <= t[-1])",
     "held = settled.any(-1) & (t[first] <= t[-1])", "RateScan.from_modes: no hold-as-long rule"),
    ("A", "train", "step = (factor_rate[l] * rate).reshape(runs + (1, 1))", "step = rate.reshape(runs + (1, 1))",
     "product_gradient_descent: factor_lr ignored"),
    ("A", "train", "reduction=\"none\").view(logits.shape[:-1]).mean(-1)",
     "reduction=\"none\").view(logits.shape[:-1]).sum(-1)", "minibatch_sgd: summed instead of mean cross-entropy"),
    # --------------------------------------------------------------------------------------------- measure
    ("A", "measure", "(lvl - x_lo) / (x_hi - x_lo)", "(x_hi - lvl) / (x_hi - x_lo)",
     "first_passage_time: interpolates from the wrong end"),
    ("A", "measure", "return (measured - predicted) / predicted", "return (measured - predicted) / measured",
     "relative_delay: divides by the measured time"),
    # ---------------------------------------------------------------------------------------------- checks
    ("A", "checks", "tol = (atol or 0.0) + (rtol or 0.0) * abs(expected)", "tol = (atol or 0.0) + (rtol or 0.0)",
     "check_close: rtol applied as an absolute tolerance"),
    ("A", "checks", "np.isfinite(x) and x > bound)", "np.isfinite(x) and x < bound)",
     "check_above: comparison flipped"),
    ("A", "checks", "passed = sum(r.passed for r in RESULTS)", "passed = len(RESULTS)",
     "summary: counts every check as passed"),
    # --------------------------------------------------------------------------------------------- spectra
    ("A", "spectra", "x, y = (1 + 1 / n) * x + y, y + 2 * x / n ** 2", "x, y = (1 + 1 / n) * x + y, y + x / n ** 2",
     "gaussian_product_moments: Wick term halved"),
    ("A", "spectra", "return (sigma_w2 * mu1) ** depth,", "return (sigma_w2 * mu1) ** (depth + 1),",
     "jacobian_spectrum_moments: m1 exponent L+1"),
    ("A", "spectra", "return float(lam.var() / lam.mean() ** 2)", "return float(lam.var() / lam.mean())",
     "normalized_variance: divides by the mean, not its square"),
    ("A", "spectra", "h = h + np.sqrt(sigma_b2) * torch.randn(lead + (n,), generator=gen",
     "h = h + sigma_b2 * torch.randn(lead + (n,), generator=gen", "jacobian_singular_values: bias variance used as std"),
    ("A", "spectra", "log_density = 2 * log_s1 + (L - 1) * log_sl - L * log_sl1 - np.log(np.pi)",
     "log_density = 2 * log_s1 + (L - 1) * log_sl - (L + 1) * log_sl1 - np.log(np.pi)", "fuss_catalan_density: exponent L+1"),
    ("A", "spectra", "return np.minimum(r, 1.0) ** (2.0 / n_factors)", "return np.minimum(r, 1.0) ** (1.0 / n_factors)",
     "product_eigenvalue_fraction_within: r^(1/L)"),
    ("A", "spectra", "rng.standard_normal((n, n)) / np.sqrt(n)", "rng.standard_normal((n, n)) / n",
     "random_product: variance 1/N^2"),
    # ----------------------------------------------------------------------------------------- activations
    ("A", "activations", "erf(1.0 / np.sqrt(2.0 * q))", "erf(1.0 / np.sqrt(q))",
     "hard_tanh gate probability: missing factor 2"),
    ("A", "activations", "return -2.0 * t * (1.0 - t * t)", "return 2.0 * t * (1.0 - t * t)",
     "tanh'': sign flipped"),
    ("A", "activations", "np.zeros_like, torch.relu, lambda q: 0.5)", "np.zeros_like, torch.relu, lambda q: 1.0)",
     "relu gate probability 1 instead of 1/2"),
    # ------------------------------------------------------------------------------------------- meanfield
    ("A", "meanfield", "lam = np.abs(chi_c * cnn_mode_eigenvalues(profile, n))",
     "lam = np.abs(chi_c * cnn_mode_eigenvalues(profile, n) ** 2)", "cnn_mode_depth_scales: lambda^2 for lambda"),
    ("A", "meanfield", "return sigma_w2 * gaussian_average(lambda h: phi(h) ** 2, q) + sigma_b2",
     "return sigma_w2 * gaussian_average(lambda h: phi(h) ** 2, q)", "variance_map: bias variance dropped"),
    ("A", "meanfield", "return sigma_w2 * slope_moment(q, 1, activation)", "return sigma_w2 * slope_moment(q, 2, activation)",
     "chi_1: fourth power of the slope"),
    ("A", "meanfield", "np.sqrt(max(1.0 - c * c, 0.0))", "np.sqrt(max(1.0 - c, 0.0))",
     "_pair_average: sqrt(1 - c) instead of sqrt(1 - c^2)"),
    ("A", "meanfield", "np.outer(np.arange(n), beta) / n)", "np.outer(np.arange(n), beta) / (n - 1))",
     "cnn_mode_eigenvalues: frequencies 2 pi j / (n - 1)"),
    ("A", "meanfield", "return float(np.sqrt(q_star / gaussian_average(lambda h: phi(h) ** 2, q_star)))",
     "return float(q_star / gaussian_average(lambda h: phi(h) ** 2, q_star))", "fixed_point_gain: returns g^2"),
    # ----------------------------------------------------------------------------------------- convolution
    ("A", "convolution", "symbol = np.fft.ifftn(taps, axes=tuple(range(2, 2 + ndim))) * n ** ndim",
     "symbol = np.fft.fftn(taps, axes=tuple(range(2, 2 + ndim)))", "kernel_symbol: conjugated (e^{-i theta beta})"),
    ("A", "convolution", "dot, scale = flat[0] @ flat[1], torch.sqrt(q[0] * q[1])", "dot, scale = flat[0] @ flat[1], q[0] * q[1]",
     "signal_propagation: correlation without the square root"),
    ("A", "convolution", "shift = tuple(kernel.shape[2 + d] // 2 - t for", "shift = tuple(t - kernel.shape[2 + d] // 2 for",
     "circular_conv: convolution instead of cross-correlation"),
    ("A", "convolution", "    sigma_b = float(np.sqrt(sigma_b2))",
     "    sigma_b = float(sigma_b2)", "signal_propagation: bias variance used as std"),
    ("A", "convolution", "log_gain = log_gain + torch.log(norm)", "log_gain = log_gain + torch.log(norm ** 2)",
     "signal_propagation: log of the squared gain"),
    # -------------------------------------------------------------------------------------------- deepnets
    ("A", "deepnets", "            if l:\n                h = self.phi(h)\n", "            h = self.phi(h)\n",
     "MLP: nonlinearity applied to the input too"),
    ("A", "deepnets", "f = f.mean(dim=(3, 4)) if self.pool", "f = f.sum(dim=(3, 4)) if self.pool",
     "VanillaCNN: sum pooling instead of average pooling"),
    ("A", "deepnets", "torch.einsum(\"bi,roi->rbo\", h, w)", "torch.einsum(\"bi,rio->rbo\", h, w)",
     "MLP batched first layer: W transposed"),
    # ---------------------------------------------------------------------------------------- acceleration
    ("A", "acceleration", "return sum(_psd_power(left, (j - 1) / depth) @ g", "return sum(_psd_power(left, j / depth) @ g",
     "end_to_end_update: exponent j/N"),
    ("A", "acceleration", "np.outer(power(left, 2 * (j - 1) / depth)", "np.outer(power(left, (j - 1) / depth)",
     "preconditioner_eigenvalues: sigma instead of sigma^2 on the left"),
    ("A", "acceleration", "return total * 2 * np.pi / n_points", "return total / n_points",
     "circulation: missing 2 pi"),
    ("A", "acceleration", "return sum(np.kron(_psd_power(w.T @ w, (depth - j) / depth), _psd_power(w @ w.T, (j - 1) / depth))",
     "return sum(np.kron(_psd_power(w @ w.T, (j - 1) / depth), _psd_power(w.T @ w, (depth - j) / depth))",
     "preconditioner: Kronecker factors swapped (row-major vec)"),
    # ------------------------------------------------------------------------------------------- landscape
    ("A", "landscape", "return _linear_quantities(mats, s11, s31, task.sigma33_trace, False)[0]",
     "return _linear_quantities(mats, s11, s31, task.sigma33_trace, True)[0]", "loss_hessian: Sigma11 ignored"),
    ("A", "landscape", "lengths = radius * rng.random(n_samples) ** (1.0 / point.size)",
     "lengths = radius * rng.random(n_samples)", "worst_perturbation: radii not uniform in the ball"),
    ("A", "landscape", "return float(np.sqrt(sum(np.sum(g * g) for g in grads)))",
     "return float(sum(np.sum(g * g) for g in grads))", "loss_gradient_norm: squared norm"),
    ("A", "landscape", "diag = s[active] ** (1.0 / depth)", "diag = s[active] ** (1.0 / (depth + 1))",
     "fixed_point: root 1/(D+1)"),
    # ------------------------------------------------------------------------------------- learning_curves
    ("A", "learning_curves", "+ kappa * (1 - fs) / (lam_s + gamma)", "+ kappa * (1 - fs) / lam_s",
     "deterministic_errors: ridge dropped from the spike term of E"),
    ("A", "learning_curves", "b = vecs.T @ (X @ y / n)", "b = vecs.T @ (X @ y)",
     "gd_trajectory: X y without 1/n"),
    ("A", "learning_curves", "out.update({f\"{k}_se\": x.std(axis=0, ddof=1) / np.sqrt(n_draws)",
     "out.update({f\"{k}_se\": x.std(axis=0, ddof=1) / n_draws", "simulate: standard error over n instead of sqrt(n)"),
    ("A", "learning_curves", "lam_s = c + 1 + m2 + c / m2", "lam_s = c + 1 + m2 + 1 / m2",
     "deterministic_errors: spike position c/mu^2 -> 1/mu^2"),
    # ------------------------------------------------------------------------------------------- parsimony
    ("A", "parsimony", "mean = h.mean(axis=1, keepdims=True)",
     "mean = np.mean([h[:, labels == k].mean(axis=1) for k in np.unique(labels)], axis=0)[:, None]",
     "class_separation: grand mean without class weights"),
    ("A", "parsimony", "bulk = s[rank: len(s) - rank]", "bulk = s[rank: len(s) - rank + 1]",
     "invariant_bulk: bulk one value too long"),
    ("A", "parsimony", "return product @ V / eps ** len(ws), V", "return product @ V / eps ** (len(ws) - 1), V",
     "compression_frames: eps^(L-1)"),
    # ======================================================================================================================
    # set B: the fresh set, written after the tests were improved and never used to tune them
    # ---------------------------------------------------------------------------------------------------------- theory
    ("B", "theory", "return tau / (2 * s) * np.where(", "return tau / s * np.where(", "learning_time depth 2: factor 1/2 dropped (Eq. 11)"),
    ("B", "theory", "+ s ** q / s ** 2 * np.log((s - u0) / (s - uf)))", "+ s ** q / s * np.log((s - u0) / (s - uf)))",
     "deep learning_time integral: s instead of s^2 in the log term"),
    ("B", "theory", "w_minus = (m + root) / (2 * s)", "w_minus = (m - root) / (2 * s)",
     "imbalanced_mode_trajectory: the wrong root of the Riccati equation"),
    ("B", "theory", "return s - (s - u0) * np.exp(-t / tau)", "return s - (s - u0) * np.exp(-s * t / tau)",
     "deep_mode_trajectory depth 1: rate s/tau instead of 1/tau"),
    ("B", "theory", "return c * hessian_top_eigenvalue(s, depth) * learning_time(s, u0, uf, depth)",
     "return hessian_top_eigenvalue(s, depth) * learning_time(s, u0, uf, depth) / c",
     "learning_time_at_optimal_rate: c divides instead of multiplying"),
    # -------------------------------------------------------------------------------------------------------- networks
    ("B", "_validation", "widths = [shapes[0][-1]] + [shape[-2] for shape in shapes]",
     "widths = [shapes[0][-2]] + [shape[-2] for shape in shapes]", "check_chain: input width read from the wrong axis"),
    ("B", "networks", "    for w in weights[1:]:\n        product = w @ product\n    return product",
     "    for w in weights[2:]:\n        product = w @ product\n    return product", "end_to_end: skips the second layer"),
    # ----------------------------------------------------------------------------------------------------------- tasks
    ("B", "tasks", "ws = w @ self.sigma11", "ws = self.sigma11 @ w", "Task.loss: Sigma11 W instead of W Sigma11"),
    ("B", "tasks", "r = min(rank, s.size)\n", "r = min(rank, s.size) - 1\n", "best_rank_approximation: one mode short"),
    ("B", "tasks", "full_s[:s.size] = s\n", "full_s[:s.size] = s ** 2\n", "svd_task: squares the singular values"),
    ("B", "tasks", "scale = np.sqrt(np.mean((X_tr - mean) ** 2))", "scale = np.mean((X_tr - mean) ** 2)",
     "mnist_classification: divides by the variance"),
    ("B", "tasks", "** 2).sum((-2, -1)) / int(self.observed.sum())", "** 2).sum((-2, -1)) / self.observed.size",
     "MatrixCompletion.loss: averaged over all entries"),
    ("B", "tasks", "grad = X.T @ r ** (p - 1) / n", "grad = X.T @ r ** p / n", "lp_regression_optimum: gradient exponent p"),
    ("B", "tasks", "flips = rng.random(children.shape) < flip_prob", "flips = rng.random(values.shape) < flip_prob",
     "hierarchical_task: siblings share one flip"),
    # ------------------------------------------------------------------------------------------------------------ init
    ("B", "init", "return [std[l] * rng.standard_normal(", "return [std[l] ** 2 * rng.standard_normal(",
     "gaussian: variance used as the standard deviation"),
    ("B", "init", "frames = [vv] + [random_orthogonal(n, seed=rng) for n in widths[1:-1]] + [u]",
     "frames = [u] + [random_orthogonal(n, seed=rng) for n in widths[1:-1]] + [vv]", "decoupled: U and V swapped"),
    ("B", "init", "weights.append(gaussian(widths[-2:], std, seed=rng)[0])",
     "weights.append(gaussian(widths[-2:], std ** 2, seed=rng)[0])", "greedy_pretraining: top layer std^2"),
    ("B", "init", "profile = np.full((kernel_size,) * ndim, 1.0 / kernel_size ** ndim)",
     "profile = np.full((kernel_size,) * ndim, 1.0 / kernel_size)", "conv_kernel: uniform profile 1/k in 2-D"),
    # ----------------------------------------------------------------------------------------------------------- train
    ("B", "train", "            forward = _matmul(forward, weights[l].mT)", "            forward = forward @ weights[l]",
     "linear gradients (output side): W instead of W^T"),
    ("B", "train", "loss = 0.5 * ((Y - output) ** 2).sum((-2, -1))", "loss = 0.5 * ((Y - output) ** 2).mean((-2, -1))",
     "gradient_descent (nonlinear): mean instead of sum over samples"),
    ("B", "train", "neg = np.where(np.isfinite(loss), -loss, -np.finfo(float).max)",
     "neg = np.where(np.isfinite(loss), -loss, np.finfo(float).max)", "steps_to_loss: a non-finite loss counts as reached"),
    ("B", "train", "if cursor + batch_size > y.numel():", "if cursor + batch_size >= y.numel():",
     "minibatch_sgd: reshuffles one batch early"),
    ("B", "train", "inside = np.all(np.abs(result.modes - targets) <= rel_tol * targets, axis=-1)",
     "inside = np.any(np.abs(result.modes - targets) <= rel_tol * targets, axis=-1)",
     "RateScan.from_modes: any mode instead of every mode"),
    ("B", "train", "            loss = 0.5 * np.sum((s - u) ** 2, axis=-1)", "            loss = np.sum((s - u) ** 2, axis=-1)",
     "balanced_chain_descent: loss without 1/2"),
    # --------------------------------------------------------------------------------------------------------- measure
    ("B", "measure", "prev = np.maximum(idx - 1, 0)", "prev = idx - 1", "first_passage_time: index -1 at the first sample"),
    ("B", "measure", "return (measured - predicted) / predicted", "return (predicted - measured) / predicted",
     "relative_delay: sign flipped"),
    # ---------------------------------------------------------------------------------------------------------- checks
    ("B", "checks", "np.isfinite(x) and x < bound)", "np.isfinite(x) and x <= bound)", "check_below: accepts equality"),
    ("B", "checks", "if floor is not None and abs(x) < floor:", "if floor is not None and x < floor:",
     "_fmt: negative values print as below the floor"),
    ("B", "checks", "np.isfinite(x) and low <= x <= high)", "np.isfinite(x) and low <= x < high)",
     "check_between: excludes the upper end"),
    # --------------------------------------------------------------------------------------------------------- spectra
    ("B", "spectra", "return comb((n_factors + 1) * k, k, exact=False)", "return comb(n_factors * k, k, exact=False)",
     "fuss_catalan_moment: binomial of L k"),
    ("B", "spectra", "jac = w @ (act.dphi(h)[:, None] * jac)", "jac = w @ (act.dphi(h)[None, :] * jac)",
     "network_jacobian: slopes scale columns"),
    ("B", "spectra", "q_in = fixed_point_variance(sigma_w ** 2, sigma_b2, activation)",
     "q_in = fixed_point_variance(sigma_w, sigma_b2, activation)", "jacobian_singular_values: q* at sigma_w for sigma_w^2"),
    ("B", "spectra", "slope_moment(q_star, 2, activation)\n", "slope_moment(q_star, 1, activation)\n",
     "jacobian_spectrum_moments: mu_2 = mu_1"),
    # ----------------------------------------------------------------------------------------------------- activations
    ("B", "activations", "lambda h: np.clip(h, -1.0, 1.0)", "lambda h: np.clip(h, 0.0, 1.0)",
     "hard_tanh phi clipped at 0 below"),
    ("B", "activations", "lambda h: torch.clamp(h, -1.0, 1.0)", "lambda h: torch.clamp(h, 0.0, 1.0)",
     "hard_tanh torch_phi out of step with phi"),
    # ------------------------------------------------------------------------------------------------------- meanfield
    ("B", "meanfield", "return np.sum(_WZ * f(np.sqrt(q)[..., None] * _Z), axis=-1)",
     "return np.sum(_WZ * f(q[..., None] * _Z), axis=-1)", "gaussian_average: variance used as std"),
    ("B", "meanfield", "chi_c = sigma_w2 * _pair_average(act.dphi, q_star, c_star)",
     "chi_c = sigma_w2 * _pair_average(act.phi, q_star, c_star)", "depth_scales: chi_c with phi for phi'"),
    ("B", "meanfield", "return float(\"inf\") if abs(np.log(abs(chi))) < 1e-12 else float(-1.0 / np.log(abs(chi)))",
     "return float(\"inf\") if abs(np.log(abs(chi))) < 1e-12 else float(1.0 / np.log(abs(chi)))",
     "_depth_scale: sign of xi"),
    ("B", "meanfield", "q_next = float(variance_map(q, sigma_w2, sigma_b2, activation))", "q_next = q",
     "correlation_map: assumes q is the fixed point"),
    # ----------------------------------------------------------------------------------------------------- convolution
    ("B", "convolution", "offset = tuple((t - kernel.shape[2 + d] // 2) % n for", "offset = tuple(t % n for",
     "kernel_symbol: taps not centred"),
    ("B", "convolution", "            tangent = tangent / norm\n", "", "signal_propagation: tangent not renormalised"),
    ("B", "convolution", "circular_conv(act.phi(h[d]), kernels[d])", "circular_conv(act.phi(h[d]), kernels[0])",
     "mean_variance_profile: one kernel for every draw"),
    # -------------------------------------------------------------------------------------------------------- deepnets
    ("B", "deepnets", "F.pad(x, (p, p, p, p), mode=\"circular\")", "F.pad(x, (p, p, p, p), mode=\"constant\")",
     "VanillaCNN: zero padding instead of circular"),
    ("B", "deepnets", "                h = h @ w.T + b", "                h = h @ w + b", "MLP (one run): W not transposed"),
    # ---------------------------------------------------------------------------------------------------- acceleration
    ("B", "acceleration", "power(right, 2 * (depth - j) / depth)", "power(right, 2 * (depth - j + 1) / depth)",
     "preconditioner_eigenvalues: right exponent off by one"),
    ("B", "acceleration", "w = w - lr * _end_to_end_update(w, g, depth)",
     "w = w - lr / depth * _end_to_end_update(w, g, depth)", "end_to_end_descent: rate divided by depth"),
    ("B", "acceleration", "tangent = radius * np.array([-np.sin(t), np.cos(t)])", "tangent = np.array([-np.sin(t), np.cos(t)])",
     "circulation: tangent without the radius"),
    # ------------------------------------------------------------------------------------------------------- landscape
    ("B", "landscape", "frames = [vv[:, active]] + [random_orthogonal(n, seed=rng)[:, :k] for n in widths[1:-1]] + [u[:, active]]",
     "frames = [u[:, active]] + [random_orthogonal(n, seed=rng)[:, :k] for n in widths[1:-1]] + [vv[:, active]]",
     "fixed_point: U and V swapped"),
    ("B", "landscape", "return float(values.min() - float(np.asarray(loss(point[None]), dtype=float)[0]))",
     "return float(values.min())", "worst_perturbation: the loss at the point not subtracted"),
    # ------------------------------------------------------------------------------------------------- learning_curves
    ("B", "learning_curves", "scale * bulk + sigma2 * init", "scale * bulk + np.sqrt(sigma2) * init",
     "deterministic_errors: sigma used for sigma^2 in V"),
    ("B", "learning_curves", " - out[\"E_train\"][i] ** 2", "", "deterministic_errors: V_train without - E_train^2"),
    ("B", "learning_curves", "coords = factor[None, :] ** steps[:, None] * (a0 - fixed) + fixed",
     "coords = factor[None, :] ** (steps[:, None] + 1) * (a0 - fixed) + fixed", "gd_trajectory: one step ahead"),
    # ------------------------------------------------------------------------------------------------------- parsimony
    ("B", "parsimony", "ws[0].T @ grad_left[:, :rank] / eps]", "ws[0] @ grad_left[:, :rank] / eps]",
     "compression_frames: W instead of W^T"),
    ("B", "parsimony", "eps = float(np.linalg.norm(w0, 2))", "eps = float(np.linalg.norm(w0))",
     "invariant_bulk: Frobenius norm for the spectral norm"),
    ("B", "parsimony", "within += np.sum((hk - mk) ** 2)", "within += np.sum((hk - mean) ** 2)",
     "class_separation: within-class scatter about the grand mean"),
    # ======================================================================================================================
    # set C: a second fresh set, written after the review of every public function (issue 19) and committed before it
    # was run; never used to tune the tests before its measurement
    # ----------------------------------------------------------------------------------------------------------- train
    ("C", "train", "            hidden = phi(w @ hidden)", "            hidden = w @ phi(hidden)",
     "gradient_descent (nonlinear): phi before each layer instead of after (acts on the inputs, not the last layer)"),
    ("C", "train", "return loss.detach(), output.detach() @ X.mT, grads",
     "return loss.detach(), output.detach() @ X.mT / X.shape[1], grads",
     "gradient_descent (nonlinear): modes of the mean, not the summed, input-output correlation"),
    ("C", "train", "return np.unique(np.append(np.arange(0, steps + 1, record_every), steps))",
     "return np.arange(0, steps + 1, record_every)", "_schedule: the last step not recorded unless a multiple"),
    ("C", "train", "_mode_strengths(q[1], task, n_modes) for q in quantities", "_mode_strengths(q[1], task, None) for q in quantities",
     "gradient_flow: n_modes ignored"),
    ("C", "train", "held = settled.any(-1) & (2 * t[first] <= t[-1])",
     "held = settled.any(-1) & (2 * t[first] < t[-1])", "RateScan.from_modes: hold-as-long rule strict"),
    ("C", "train", "            newly = ~np.isfinite(loss) & (diverged_at < 0)", "            newly = ~np.isfinite(loss)",
     "balanced_chain_descent: diverged_at overwritten at every later step"),
    ("C", "train", "tested = step % test_every == 0 or step == steps", "tested = step % test_every == 0",
     "minibatch_sgd: test error not evaluated at the last step"),
    ("C", "train", "            product = w @ product", "            product = product @ w",
     "product_gradient_descent: factors multiplied in the wrong order"),
    # ----------------------------------------------------------------------------------------------------------- tasks
    ("C", "tasks", "return 0.5 * self.sigma33_trace - np.sum(", "return self.sigma33_trace - np.sum(",
     "Task.loss: constant tr Sigma33 without 1/2"),
    ("C", "tasks", "values = rng.choice([-1.0, 1.0], size=(1, n_features))", "values = np.ones((1, n_features))",
     "hierarchical_task: root value always +1"),
    ("C", "tasks", "choice(labels.size, n_samples, replace=False))", "choice(labels.size, n_samples, replace=True))",
     "mnist_task: subset drawn with replacement"),
    ("C", "tasks", "(c < n_test % 10)", "(c <= n_test % 10)", "mnist_classification: one test image too many per class"),
    ("C", "tasks", '"...m,mi,mj->...ij", (p - 1) * residual ** (p - 2), X, X)', '"...m,mi,mj->...ij", residual ** (p - 2), X, X)',
     "lp_regression_optimum: Hessian without the factor p - 1"),
    ("C", "tasks", "noise * rng.standard_normal(n)", "noise ** 2 * rng.standard_normal(n)",
     "scaled_regression: noise variance used as its standard deviation"),
    # ------------------------------------------------------------------------------------------------------------ init
    ("C", "init", "covariance = encoder @ covariance @ encoder.T", "covariance = encoder @ encoder.T",
     "greedy_pretraining: next layer's covariance assumes whitened inputs"),
    ("C", "init", "= _gain(gain) * random_orthogonal(c_out, c_in,", "= _gain(gain) ** 2 * random_orthogonal(c_out, c_in,",
     "delta_orthogonal: gain squared"),
    ("C", "init", "q = random_orthogonal(c, seed=rng)[:, : max(c // 2, 1)]", "q = random_orthogonal(c, seed=rng)",
     "block_orthogonal: projection of full rank (P = I)"),
    ("C", "init", "[g / np.sqrt(n) for g, n in zip(gains, widths[:-1])]", "[g ** 2 / np.sqrt(n) for g, n in zip(gains, widths[:-1])]",
     "scaled_gaussian: gain used as the variance's factor"),
    ("C", "init", "rank = int(np.sum(s > s.max() * 1e-12))", "rank = int(np.sum(s > 0))",
     "balanced: round-off singular values counted in the rank"),
    # ---------------------------------------------------------------------------------------------------------- theory
    ("C", "theory", "rising = s / (1.0 + (ratio - 1.0) * np.exp(-rate))", "rising = s / (1.0 + (ratio + 1.0) * np.exp(-rate))",
     "mode_trajectory: s/u0 + 1 for s/u0 - 1"),
    ("C", "theory", "falling = s / (ratio * np.exp(-rate) - np.expm1(-rate))",
     "falling = s / (ratio * np.exp(-rate) + np.expm1(-rate))", "mode_trajectory from u0 > s: sign of the expm1 term"),
    ("C", "theory", "closed = ((uf ** (1 - p) - u0 ** (1 - p)) / ((1 - p) * s)",
     "closed = ((uf ** (1 - p) - u0 ** (1 - p)) / ((1 - p) * s ** 2)", "deep learning_time integral: s^2 in the first term"),
    ("C", "theory", "w0 = 2 * u0 / (m + np.hypot(m, 2 * u0))", "w0 = 2 * u0 / (m + np.hypot(m, u0))",
     "imbalanced_mode_trajectory: w0 with hypot(m, u0)"),
    ("C", "theory", "rate * (s_k * expit(z)) ** (1.0 - 2.0 / depth)", "rate * (s_k * expit(z)) ** (2.0 - 2.0 / depth)",
     "deep_mode_trajectory: exponent of u in the log-odds ODE"),
    # ------------------------------------------------------------------------------------------------------- landscape
    ("C", "landscape", "direction /= np.linalg.norm(direction, axis=1, keepdims=True)",
     "direction /= np.linalg.norm(direction, axis=0, keepdims=True)", "worst_perturbation: directions normalised on the wrong axis"),
    ("C", "landscape", "- flat_grad(theta - e)) / (2 * step))", "- flat_grad(theta - e)) / step)",
     "factor_hessian: central difference without the 2"),
    ("C", "landscape", "np.exp(-np.logaddexp(0.0, Y * (W @ X)))", "np.exp(-np.logaddexp(0.0, -Y * (W @ X)))",
     "matrix_loss logistic: gradient with the sigmoid of the wrong sign"),
    ("C", "landscape", "zero = np.sum(np.abs(self.eigenvalues) <= eigenvalue_tol, axis=1)",
     "zero = np.sum(self.eigenvalues <= eigenvalue_tol, axis=1)", "is_local_minimum: negative eigenvalues counted as zero modes"
     " (equivalent: eigenvalues[:, 0] > -tol already rejects every start with one below -tol)"),
    ("C", "landscape", "symmetry_dim=sum(w * w for w in widths[1:-1])", "symmetry_dim=sum(w for w in widths[1:-1])",
     "search_local_minima: symmetry dimension n_l instead of n_l^2"),
    # ---------------------------------------------------------------------------------------------------- acceleration
    ("C", "acceleration", "_others_product(omega_live) * np.sum(w1_live * g, axis=1)", "omega_live * np.sum(w1_live * g, axis=1)",
     "lp_regression_descent: omega_j instead of the product of the other scalars"),
    ("C", "acceleration", "second[i] += g * g", "second[i] = g * g", "adagrad: only the last squared gradient"),
    ("C", "acceleration", "out.append(first[i] / (1 - beta1 ** t) / (", "out.append(first[i] / (",
     "adam: no bias correction of the first moment"),
    ("C", "acceleration", "w1 = np.tile(scale * direction / np.linalg.norm(direction), (runs, 1))",
     "w1 = np.tile(scale * direction, (runs, 1))", "lp_regression_descent: init_direction not normalised"),
    ("C", "acceleration", "return float(_curl(w, g, h, depth, np.linalg.norm(w))) * rho",
     "return float(_curl(w, g, h, depth, np.linalg.norm(w)))",
     "green_circulation: polar Jacobian rho dropped"),
    # ------------------------------------------------------------------------------------------------------- meanfield
    ("C", "meanfield", "return (sigma_w2 * _pair_average(phi, q, c) + sigma_b2) / q_next",
     "return sigma_w2 * _pair_average(phi, q, c) / q_next", "correlation_map: bias variance dropped from the covariance"),
    ("C", "meanfield", "act.dphi(h) ** 2 + act.phi(h) * act.d2phi(h)", "act.dphi(h) ** 2",
     "depth_scales: chi_q without the phi phi'' term"),
    ("C", "meanfield", "act.dphi(h) ** (2 * k)", "act.dphi(h) ** k", "slope_moment: phi'^k instead of phi'^(2k)"),
    ("C", "meanfield", "w = np.exp(-0.5 * z * z)", "w = np.exp(-z * z)", "quadrature weights of N(0, 1/2)"),
    # --------------------------------------------------------------------------------------------------------- spectra
    ("C", "spectra", "(n_factors + 1) * np.log(n_factors + 1) - n_factors * np.log(n_factors)",
     "(n_factors + 1) * np.log(n_factors + 1) - (n_factors + 1) * np.log(n_factors)", "fuss_catalan_edge: L^(L+1)"),
    ("C", "spectra", "log_x = (L + 1) * log_sl1 - log_s1 - L * log_sl", "log_x = (L + 1) * log_sl1 - log_s1 - (L - 1) * log_sl",
     "fuss_catalan_density: x with sin^(L-1)"),
    ("C", "spectra", "q = [float(h @ h) / h.size]", "q = [float(h @ h)]", "network_jacobian: input variance not averaged"),
    ("C", "spectra", "depth * (mu2 / mu1 ** 2 - 1.0 + s)", "depth * (mu2 / mu1 - 1.0 + s)",
     "jacobian_spectrum_moments: mu2 / mu1 for mu2 / mu1^2"),
    # ----------------------------------------------------------------------------------------------------- convolution
    ("C", "convolution", "if layer % record_every == 0 or layer == depth:", "if layer % record_every == 0:",
     "signal_propagation: last layer not recorded"),
    ("C", "convolution", "init.gaussian_kernel(c, c, profile, sigma_w2, seed=rng)", "init.gaussian_kernel(c, c, profile, seed=rng)",
     "mean_variance_profile: sigma_w2 ignored"),
    ("C", "convolution", "np.einsum(\"oi,...i\"", "np.einsum(\"io,...i\"", "circular_conv: kernel matrix transposed"),
    # ------------------------------------------------------------------------------------------------- learning_curves
    ("C", "learning_curves", "X @ X.T / n + gamma * np.eye(X.shape[0])", "X @ X.T / n + gamma",
     "gd_trajectory: ridge added to every entry, not the diagonal"),
    ("C", "learning_curves", "kappa = max(m2 ** 2 - c, 0.0) / m2", "kappa = max(m2 - c, 0.0) / m2",
     "deterministic_errors: spike weight with |mu|^2 for |mu|^4"),
    ("C", "learning_curves", "np.exp(-2 * lr * ti * gamma)", "np.exp(-lr * ti * gamma)",
     "deterministic_errors: null-space decay at half the rate"),
    ("C", "learning_curves", "sigma = np.sqrt(v.nonnegative_scalar(sigma2, \"sigma2\"))",
     "sigma = v.nonnegative_scalar(sigma2, \"sigma2\")", "simulate: sigma^2 used as the scale of w0"),
    # -------------------------------------------------------------------------------------------------------- deepnets
    ("C", "deepnets", "p = k.shape[-1] // 2", "p = k.shape[-1] // 2 + 1", "VanillaCNN: padding one too wide"),
    ("C", "deepnets", "h @ w.mT if h.ndim == 3", "h @ w if h.ndim == 3", "MLP (runs): hidden weights not transposed"),
    # ------------------------------------------------------------------------------------------------------- parsimony
    ("C", "parsimony", "np.hstack([grad_right_t[:rank].T,", "np.hstack([grad_right_t[:, :rank],",
     "compression_frames: columns of V^T for its rows"),
    ("C", "parsimony", "between += hk.shape[1] * np.sum((mk - mean) ** 2)", "between += np.sum((mk - mean) ** 2)",
     "class_separation: between-class scatter not weighted by class size"),
    # ---------------------------------------------------------------------------------------------------------- checks
    ("C", "checks", "np.isfinite(x) and abs(x - expected) <= tol)", "np.isfinite(x) and abs(x - expected) < tol)",
     "check_close: strict at the tolerance"),
    ("C", "checks", "_report(name, _fmt(x, digits, floor), f\"< {bound:g}\"", "_report(name, _fmt(x, digits, None), f\"< {bound:g}\"",
     "check_below: floor ignored"),
    # -------------------------------------------------------------------------------------------------------- networks
    ("C", "networks", "for w in weights], \"weights\", n_in, n_out)", "for w in weights], \"weights\", n_out, n_in)",
     "check_chain: n_in and n_out swapped"),
    ("C", "networks", "r = s.size if n_modes is None else n_modes", "r = s.size", "mode_strengths: n_modes ignored"),
    # --------------------------------------------------------------------------------------------------------- measure
    ("C", "measure", "found = reached.any(axis=-1)", "found = reached.all(axis=-1)",
     "first_passage_time: only trajectories above the level throughout count"),
    ("C", "measure", "np.where(idx > 0,", "np.where(idx >= 0,", "first_passage_time: interpolates at the first sample"),
    # ----------------------------------------------------------------------------------------------------- activations
    ("C", "activations", "lambda h: 1.0 - np.tanh(h) ** 2", "lambda h: 1.0 - np.tanh(h)", "tanh': 1 - tanh"),
    ("C", "activations", "(np.asarray(h) > 0)", "(np.asarray(h) >= 0)", "relu': slope 1 at the kink"),
    # -------------------------------------------------------------------------------------------------------- plotting
    ("C", "plotting", "figsize=(width * ncols, height * nrows)", "figsize=(width * ncols, height * ncols)",
     "figure: height scaled by the columns"),
    ("C", "plotting", "\"savefig.transparent\": False", "\"savefig.transparent\": True", "style: transparent saved figures"),
    # ------------------------------------------------------------------------------------------------- reproducibility
    ("C", "reproducibility", "    torch.manual_seed(seed)\n", "", "seed_everything: torch not seeded"),
    ("C", "reproducibility", "return np.random.default_rng(seed)", "return np.random.default_rng()",
     "seed_everything: returned generator unseeded"),
    # ----------------------------------------------------------------------------------------------------- _validation
    ("C", "_validation", "    if np.any(arr <= 0):", "    if np.any(arr < 0):", "positive: accepts 0"),
    ("C", "_validation", "below = x <= high if closed in (\"both\", \"right\") else x < high",
     "below = x <= high if closed in (\"both\", \"left\") else x < high", "in_interval: upper end read from the left flag"),
    # ======================================================================================================================
    # set D: the public functions that main added after set C was written (chapters 1-5, 8-11), written before its
    # first run
    # ---------------------------------------------------------------------------------------------------------- theory
    ("D", "theory", "across = u_power * (s - u) / tau", "across = u_power * (u - s) / tau",
     "balanced_chain_hessian: sign of lambda_perp"),
    ("D", "theory", "along = ((2 * depth - 1) * u - (depth - 1) * s) * u_power / tau",
     "along = ((2 * depth - 1) * u - depth * s) * u_power / tau", "balanced_chain_hessian: D s for (D - 1) s in lambda_par"),
    ("D", "theory", "step = rate / depth", "step = rate", "two_cycle: map without the 1/D of lambda_1"),
    ("D", "theory", "return float(low ** depth), float(f(low) ** depth)", "return float(low), float(f(low))",
     "two_cycle: returns the factor b, not the strength u/s = b^D"),
    ("D", "theory", "return max(1.0 - low, high - 1.0) - rel_tol", "return (high - low) - rel_tol",
     "two_cycle_band_edge: orbit width for the deviation from s"),
    ("D", "theory", "return 0.5 * n_hidden * std ** 2", "return 0.25 * n_hidden * std ** 2",
     "effective_initial_strength: N2 sigma^2 / 4"),
    ("D", "theory", "return np.log((4 * s * u + m2", "return np.log((2 * s * u + m2",
     "imbalanced_learning_time: 2 s u for 4 s u in the antiderivative"),
    ("D", "theory", "omega_s = np.sqrt(m2 + 4 * s ** 2)", "omega_s = np.sqrt(m2 + s ** 2)",
     "imbalanced_learning_time: omega_s = sqrt(m^2 + s^2)"),
    # -------------------------------------------------------------------------------------------------------- networks
    ("D", "networks", "return (w21 @ vv[:, :r]).swapaxes(-1, -2), u[:, :r].T @ w32",
     "return u[:, :r].T @ w32, (w21 @ vv[:, :r]).swapaxes(-1, -2)", "mode_vectors: a and b swapped"),
    ("D", "networks", "return 0.25 * np.sum(p * p, axis=-1)", "return 0.5 * np.sum(p * p, axis=-1)",
     "effective_initial_strengths (no competition): |a + b|^2 / 2"),
    ("D", "networks", "p = a + b ", "p = a - b ", "effective_initial_strengths: the decaying combination a - b"),
    ("D", "networks", "np.linalg.qr(p.swapaxes(-1, -2), mode=\"r\")", "np.linalg.qr(p, mode=\"r\")",
     "effective_initial_strengths: QR of the modes' matrix instead of its transpose"),
    # ------------------------------------------------------------------------------------------------------------ init
    ("D", "init", "covariance = hidden @ task.sigma11 @ hidden.T", "covariance = hidden @ hidden.T",
     "least_squares_top: hidden covariance assumes whitened inputs"),
    ("D", "init", "np.linalg.norm(image - frame @ core) / np.linalg.norm(image)", "np.linalg.norm(image - frame @ core)",
     "principal_component_consistency: residual not relative"),
    # ------------------------------------------------------------------------------------------------------- landscape
    ("D", "landscape", "candidates += [-s[beta] for beta in inactive]", "candidates += [-s[beta] ** 2 for beta in inactive]",
     "fixed_point_min_eigenvalue: -s_beta^2 for a free hidden unit"),
    ("D", "landscape", "candidates.append(0.5 * (trace - np.sqrt(", "candidates.append(0.5 * (trace + np.sqrt(",
     "fixed_point_min_eigenvalue: the larger root of the 2x2 block"),
    # --------------------------------------------------------------------------------------------------------- measure
    ("D", "measure", "unit = h / norms[..., None, :]", "unit = h / np.linalg.norm(h)",
     "representational_similarity: one global norm instead of per item"),
    # ------------------------------------------------------------------------------------------------------- parsimony
    ("D", "parsimony", "np.vstack([vt[:rank], vt[n - rank: n]]).T", "np.vstack([vt[:rank], vt[-rank:]]).T",
     "core_subspace: last rows of V^T (null space) for the smallest singular directions"),
    ("D", "parsimony", "for w in [None] + ws[:-1]:", "for w in ws:", "layer_separation: starts after the first layer, not at the input"),
    # ----------------------------------------------------------------------------------------------------------- tasks
    ("D", "tasks", "levels + 1 - highest_bit", "levels - highest_bit", "tree_split_level: off by one"),
    ("D", "tasks", "whiten = (w_vec / np.sqrt(w_eig)) @ w_vec.T", "whiten = (w_vec / w_eig) @ w_vec.T",
     "whitened_digit_pair: divides by the variance"),
    ("D", "tasks", "half = (X[:, fit & (y > 0)].mean(axis=1) - X[:, fit & (y < 0)].mean(axis=1)) / 2",
     "half = X[:, fit & (y > 0)].mean(axis=1) - X[:, fit & (y < 0)].mean(axis=1)",
     "whitened_digit_pair: mu the full difference of class means"),
    ("D", "tasks", "Z, y, mean = _whiten_pair(X, y, n_components, ~test)", "Z, y, mean = _whiten_pair(X, y, n_components, test | ~test)",
     "whitened_digit_split: statistics fitted on the test images too"),
    ("D", "tasks", "P = (u * np.maximum(s - 1.0, 0.0)) @ vt", "P = (u * np.maximum(s - 0.0, 0.0)) @ vt",
     "min_nuclear_norm: no singular-value thresholding"),
    # ----------------------------------------------------------------------------------------------------------- train
    ("D", "train", "return [lr ** 2 * (g_next.mT @ g_next - g @ g.mT)", "return [lr * (g_next.mT @ g_next - g @ g.mT)",
     "imbalance_step_change: lr for lr^2"),
    ("D", "train", "result = run(lrs[keep], steps, 1)", "result = run(lrs[keep], steps, 2)",
     "settling_rate_scan: recorded every second step (sees one phase of a 2-cycle)"),
    ("D", "train", "RateScan.from_result(result, loss_threshold, stay=True)", "RateScan.from_result(result, loss_threshold)",
     "settling_rate_scan (loss threshold): first passage instead of staying below"),
    # ------------------------------------------------------------------------------------------------- learning_curves
    ("D", "learning_curves", "return _error(w @ mean, np.sum(w ** 2, axis=-1))",
     "return _error(w @ mean, np.sqrt(np.sum(w ** 2, axis=-1)))", "mixture_error: |w| for |w|^2"),
    ("D", "learning_curves", "(2 * np.pi * c * safe)", "(2 * np.pi * safe)", "marchenko_pastur_density: without the 1/c"),
    ("D", "learning_curves", "held = (W @ X_test) * y_test if test is not None", "held = (W @ X_test) * y_test if test is None",
     "simulate: ignores the fixed test set"),
    ("D", "learning_curves", "if m2 ** 2 > c else", "if m2 > c else", "isolated_eigenvalue: threshold |mu|^2 > c"),
    # --------------------------------------------------------------------------------------------------------- spectra
    ("D", "spectra", "yield q * torch.sgn(", "yield q * torch.abs(", "random_factors: orthogonal without the Haar sign"),
    ("D", "spectra", "yield g / np.sqrt(n)", "yield g / n", "random_factors: variance 1/N^2"),
    ("D", "spectra", "log_sigma = 0.5 * ((L + 1) * lsl1 - ls1 - L * lsl)", "log_sigma = (L + 1) * lsl1 - ls1 - L * lsl",
     "fuss_catalan_log_sigma_density: ln sigma^2 for ln sigma"),
    ("D", "spectra", "above = log_sigma >= np.log(sigma)", "above = log_sigma >= np.log(sigma ** 2)",
     "fuss_catalan_fraction_below: compares with sigma^2"),
    ("D", "spectra", "k = (n - np.arange(n)) / 2.0", "k = (n - np.arange(n) + 1) / 2.0",
     "gaussian_product_lyapunov_exponents: chi-square degrees of freedom off by one"),
    ("D", "spectra", "float(2 * n_factors * mu.mean())", "float(n_factors * mu.mean())",
     "gaussian_product_mean_log_sigma2: mean of ln sigma for ln sigma^2"),
    ("D", "spectra", "float(2 * np.sqrt(n_factors * var.sum()) / n)", "float(2 * np.sqrt(n_factors * var.sum() / n))",
     "gaussian_product_mean_log_sigma2: spread over sqrt(N) for N"),
    ("D", "spectra", "/ np.sqrt(n_factors * var)", "/ (n_factors * var)", "gaussian_product_log_sigma_density: z over the variance"),
    ("D", "spectra", "min(half_width / np.cos(th), 1.0)", "min(half_width * np.cos(th), 1.0)",
     "product_eigenvalue_fraction_in_box: box radius h cos(theta)"),
    ("D", "spectra", "a = torch.gather(block @ q, -1, order[..., None, :].expand(block.shape))", "a = block @ q",
     "product_log_singular_values: columns not pivoted with the sorted scales"),
    ("D", "spectra", "extras.append(q @ (torch.exp(log_d)[..., :, None] * y))", "extras.append(q @ y)",
     "product_log_singular_values: returned product without the scales"),
]


def _apply(text: str, snippet: str, replacement: str, label: str) -> str:
    count = text.count(snippet)
    if count != 1:
        raise SystemExit(f"{label}: snippet found {count} times (must be exactly once): {snippet!r}")
    return text.replace(snippet, replacement)


def _prepare(workdir: Path) -> None:
    shutil.copytree(ROOT / "dlnlib", workdir / "dlnlib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", workdir / "tests", ignore=shutil.ignore_patterns("__pycache__", "browser"))
    shutil.copy(ROOT / "pyproject.toml", workdir / "pyproject.toml")
    probe = "import importlib.util; print(importlib.util.find_spec('dlnlib').origin)"
    where = subprocess.run([sys.executable, "-c", probe], cwd=workdir,
                           capture_output=True, text=True, check=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(workdir.resolve()):
        raise SystemExit(f"the tests would import {where}, not the patched copy in {workdir}")


def _run(workdir: Path, module: str, per_test: int, overall: int) -> tuple[bool, float, str]:
    """Run the module's test files in ``workdir`` (cwd first on sys.path, so its dlnlib is the one imported)."""
    names, keyword = TESTS[module]
    files = [f"tests/{name}" for name in names + COMMON if (workdir / "tests" / name).exists()]
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", f"--timeout={per_test}", *files]
    if keyword:
        cmd += ["-k", keyword]
    # One BLAS thread: on a shared machine threaded BLAS spins and makes small linear algebra 10x slower.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=overall)
        failed, out = proc.returncode != 0, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        failed, out = True, "overall timeout"
    return failed, time.perf_counter() - start, out


def _culprit(out: str) -> str:
    """The first failing test of a pytest -ra summary, marked when it failed by running out of time."""
    for line in out.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            name = line.split()[1].split("/")[-1]
            return name + (" [timeout]" if "Timeout" in line else "")
    return "overall timeout" if out == "overall timeout" else "(no summary line)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", help="mutant set(s) to run (default: all)")
    parser.add_argument("--module", action="append", help="module(s) to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the selected mutants and exit")
    parser.add_argument("--check", action="store_true", help="only check that every snippet occurs once")
    parser.add_argument("--baseline", action="store_true", help="also run the unmutated tests first (must pass)")
    parser.add_argument("--only", action="append", help="only mutants whose description contains this text")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at the same time")
    parser.add_argument("--per-test-timeout", type=int, default=150,
                        help="seconds per test; a catch by timeout is marked [timeout] in the log")
    parser.add_argument("--timeout", type=int, default=1200, help="overall seconds per mutant")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if (not args.set or m[0] in args.set) and (not args.module or m[1] in args.module)
              and (not args.only or any(text in m[4] for text in args.only))]
    sources = {m: (ROOT / "dlnlib" / f"{m}.py").read_text() for m in {row[1] for row in chosen}}
    for i, (group, module, snippet, replacement, what) in enumerate(chosen):
        _apply(sources[module], snippet, replacement, f"{group}{i} {module}: {what}")
    if args.list or args.check:
        for group, module, _, _, what in chosen:
            print(f"{group} {module:16s} {what}")
        print(f"{len(chosen)} mutants, every snippet found exactly once")
        return 0
    if args.baseline:
        with tempfile.TemporaryDirectory(prefix="mutation_audit_") as tmp:
            _prepare(Path(tmp))
            for module in sorted({row[1] for row in chosen}):
                failed, seconds, out = _run(Path(tmp), module, args.per_test_timeout, args.timeout)
                print(f"baseline {module}: {'FAIL' if failed else 'pass'} ({seconds:.0f} s)", flush=True)
                if failed:
                    print(out[-3000:])
                    return 2

    def one(row):
        group, module, snippet, replacement, what = row
        with tempfile.TemporaryDirectory(prefix="mutation_audit_") as tmp:
            workdir = Path(tmp)
            _prepare(workdir)
            (workdir / "dlnlib" / f"{module}.py").write_text(_apply(sources[module], snippet, replacement, what))
            failed, seconds, out = _run(workdir, module, args.per_test_timeout, args.timeout)
        by = f" by {_culprit(out)}" if failed else ""
        print(f"{'caught  ' if failed else 'SURVIVED'} {group} {module:16s} {what} ({seconds:.0f} s){by}", flush=True)
        return group, module, what, failed

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(one, chosen))
    print()
    for group in sorted({r[0] for r in results}):
        rows = [r for r in results if r[0] == group]
        print(f"Set {group}")
        print(f"  {'module':16s} {'mutants':>7s} {'caught':>7s} {'score':>6s}  survivors")
        for module in sorted({r[1] for r in rows}):
            mine = [r for r in rows if r[1] == module]
            caught = sum(r[3] for r in mine)
            survivors = "; ".join(r[2] for r in mine if not r[3])
            print(f"  {module:16s} {len(mine):7d} {caught:7d} {100 * caught / len(mine):5.0f}%  {survivors}")
        caught = sum(r[3] for r in rows)
        print(f"  {'total':16s} {len(rows):7d} {caught:7d} {100 * caught / len(rows):5.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
