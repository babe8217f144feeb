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
    .venv/bin/python scripts/mutation_audit.py --module theory --list
    .venv/bin/python scripts/mutation_audit.py --check         # only check that every snippet is found once

Set A is the first set, written before the tests were improved; set B is the fresh set, written afterwards and never
used to tune the tests (see the report of issue 19).
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
TESTS = {
    "theory": ([LINEAR, "test_theory.py", "test_measure_checks.py", "test_train.py"], None),
    "tasks": ([LINEAR, "test_tasks_init_networks.py", "test_mnist_and_init.py", "test_acceleration.py",
               "test_parsimony.py", "test_train.py"], None),
    "networks": ([LINEAR, "test_tasks_init_networks.py", "test_train.py"], None),
    "init": ([LINEAR, NONLINEAR, "test_tasks_init_networks.py", "test_mnist_and_init.py", "test_nonlinear.py",
              "test_acceleration.py", "test_landscape.py"], f"not ({SLOW})"),
    "train": ([LINEAR, "test_train.py", "test_nonlinear.py", "test_acceleration.py", "test_parsimony.py"],
              "not (signal_propagation or mnist_classification or offline_mnist)"),
    "measure": ([LINEAR, "test_measure_checks.py", "test_train.py"], None),
    "checks": ([LINEAR, "test_measure_checks.py"], None),
    "spectra": ([NONLINEAR, "test_spectra.py", "test_nonlinear.py"], f"not ({SLOW})"),
    "activations": ([NONLINEAR, "test_nonlinear.py", "test_train.py", "test_spectra.py"], "not minibatch_sgd"),
    "meanfield": ([NONLINEAR, "test_nonlinear.py", "test_spectra.py"], "not minibatch_sgd"),
    "convolution": ([NONLINEAR, "test_nonlinear.py"], "not minibatch_sgd"),
    "deepnets": ([NONLINEAR, "test_nonlinear.py"], "not signal_propagation"),
    "acceleration": ([RELATED, "test_acceleration.py"], None),
    "landscape": ([LINEAR, "test_landscape.py"], None),
    "learning_curves": ([RELATED, "test_learning_curves.py"], None),
    "parsimony": ([RELATED, "test_parsimony.py"], None),
}

# (set, module, exact snippet, replacement, what the slip is)
MUTANTS = [
    # ---------------------------------------------------------------------------------------------- set A: theory
    ("A", "theory", "np.exp(-2.0 * s * t / tau))", "np.exp(-s * t / tau))",
     "mode_trajectory: rate s/tau instead of 2s/tau"),
    ("A", "theory", "return tau * np.log((s - u0) / (s - uf))", "return tau / s * np.log((s - u0) / (s - uf))",
     "learning_time depth 1: spurious 1/s"),
    ("A", "theory", "err = s - a * b\n", "err = a * b - s\n",
     "mode_vector_field: error sign flipped (gradient ascent)"),
    ("A", "theory", "np.exp(-root * t / tau)", "np.exp(-root * t / (2 * tau))",
     "lambda_balanced_mode_trajectory: half the relaxation rate"),
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
    ("A", "tasks", "sigma31=Y @ X.T, sigma33_trace=float(np.sum(Y * Y))",
     "sigma31=Y @ X.T, sigma33_trace=float(np.sum(Y * Y)) / 2",
     "Task.from_samples: tr Sigma33 halved"),
    ("A", "tasks", "+ 0.5 * np.sum(ws * w, axis=(-2, -1))", "+ np.sum(ws * w, axis=(-2, -1))",
     "Task.loss: quadratic term without 1/2"),
    ("A", "tasks", "children = np.repeat(values, 2, axis=0)", "children = np.tile(values, (2, 1))",
     "hierarchical_task: children tiled, so adjacent items are not siblings"),
    ("A", "tasks", "/ np.sqrt(rank)\n", "/ rank\n",
     "matrix_completion: scale 1/r instead of 1/sqrt(r)"),
    ("A", "tasks", "X = X / np.sqrt(eigenvalues[order])[:, None]", "X = X / eigenvalues[order][:, None]",
     "mnist_task whiten: divides by the variance"),
    # ------------------------------------------------------------------------------------------------ init
    ("A", "init", "q = q * np.sign(np.diag(r))", "q = q",
     "random_orthogonal: no Haar sign correction"),
    ("A", "init", "np.sqrt(sigma_w2 * profile / c_in)", "np.sqrt(sigma_w2 * profile / c_out)",
     "gaussian_kernel: fan-out instead of fan-in"),
    ("A", "init", "[gain / np.sqrt(n) for n in widths[:-1]]", "[gain / np.sqrt(n) for n in widths[1:]]",
     "scaled_gaussian: fan-out instead of fan-in"),
    ("A", "init", "diag = np.broadcast_to(u0, (k,)) ** (1.0 / depth)",
     "diag = np.broadcast_to(u0, (k,)) ** (1.0 / (depth + 1))", "decoupled: per-layer root 1/(D+1)"),
    ("A", "init", "kernel[(slice(None), slice(None)) + (kernel_size // 2,) * ndim] =",
     "kernel[(slice(None), slice(None)) + (0,) * ndim] =", "delta_orthogonal: tap 0 instead of the centre tap"),
    ("A", "init", "return delta_orthogonal(c_out, c_in, kernel_size, ndim, gain=np.sqrt(sigma_w2), seed=seed)",
     "return delta_orthogonal(c_out, c_in, kernel_size, ndim, gain=sigma_w2, seed=seed)",
     "conv_kernel: variance used as the gain"),
    ("A", "init", "    sigma_b = float(np.sqrt(v.as_float_array(sigma_b2, \"sigma_b2\")))\n    rng = v.generator(seed)\n"
                  "    kernels = [",
     "    sigma_b = float(v.as_float_array(sigma_b2, \"sigma_b2\"))\n    rng = v.generator(seed)\n    kernels = [",
     "cnn: bias variance used as the standard deviation"),
    ("A", "init", "np.stack([p, np.eye(c_in) - p], axis=-1)", "np.stack([p, np.eye(c_in) + p], axis=-1)",
     "block_orthogonal: I + P instead of I - P"),
    ("A", "init", "root = s[:rank] ** (1.0 / depth)", "root = s[:rank] ** (1.0 / (depth - 1 or 1))",
     "balanced: root 1/(D-1)"),
    # ----------------------------------------------------------------------------------------------- train
    ("A", "train", "return -np.concatenate([g.ravel() for g in grads]) / tau",
     "return -np.concatenate([g.ravel() for g in grads]) * tau", "gradient_flow: multiplies by tau"),
    ("A", "train", "                diverged_at[newly] = k\n                rate[newly] = 0.0",
     "                diverged_at[newly] = k + 1\n                rate[newly] = 0.0",
     "gradient_descent(mark): diverged_at one step late"),
    ("A", "train", "    prefix = [weights[0]]\n    for w in weights[1:]:\n        prefix.append(w @ prefix[-1])\n"
                   "    product = prefix[-1]\n    predicted = product if whitened else product @ sigma11",
     "    prefix = [weights[0]]\n    for w in weights[1:]:\n        prefix.append(w @ prefix[-1])\n"
     "    product = prefix[-1]\n    predicted = product",
     "linear gradients (input side): Sigma11 ignored"),
    ("A", "train", "a = a + rate * (s - u) * a ** (depth - 1)", "a = a + rate * (s - u) * a ** depth",
     "balanced_chain_descent: exponent D instead of D-1"),
    ("A", "train", "held = settled.any(-1) & (2 * result.t[first] <= result.t[-1])",
     "held = settled.any(-1) & (result.t[first] <= result.t[-1])", "RateScan.from_modes: no hold-as-long rule"),
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
    ("A", "spectra", "bs = np.sqrt(sigma_b2) * rng.standard_normal((depth, n))",
     "bs = sigma_b2 * rng.standard_normal((depth, n))", "jacobian_singular_values: bias variance used as std"),
    ("A", "spectra", "density = s1 ** 2 * sl ** (L - 1) / sl1 ** L / np.pi",
     "density = s1 ** 2 * sl ** (L - 1) / sl1 ** (L + 1) / np.pi", "fuss_catalan_density: exponent L+1"),
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
    ("A", "convolution", "/ flat.shape[1] / np.sqrt(q[0] * q[1]))", "/ flat.shape[1] / (q[0] * q[1]))",
     "signal_propagation: correlation without the square root"),
    ("A", "convolution", "shift = tuple(kernel.shape[2 + d] // 2 - t for", "shift = tuple(t - kernel.shape[2 + d] // 2 for",
     "circular_conv: convolution instead of cross-correlation"),
    ("A", "convolution", "    sigma_b = float(np.sqrt(v.as_float_array(sigma_b2, \"sigma_b2\")))",
     "    sigma_b = float(v.as_float_array(sigma_b2, \"sigma_b2\"))", "signal_propagation: bias variance used as std"),
    ("A", "convolution", "log_gain += np.log(norm)", "log_gain += np.log(norm ** 2)",
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
    ("A", "learning_curves", "\"test_se\": test.std(axis=0, ddof=1) / np.sqrt(n_draws)",
     "\"test_se\": test.std(axis=0, ddof=1) / n_draws", "simulate: standard error over n instead of sqrt(n)"),
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
    ("B", "theory", "return tau / (2 * s) * np.log(uf * (s - u0) / (u0 * (s - uf)))",
     "return tau / s * np.log(uf * (s - u0) / (u0 * (s - uf)))", "learning_time depth 2: factor 1/2 dropped (Eq. 11)"),
    ("B", "theory", "+ s ** q / s ** 2 * np.log((s - u0) / (s - uf)))", "+ s ** q / s * np.log((s - u0) / (s - uf)))",
     "deep learning_time integral: s instead of s^2 in the log term"),
    ("B", "theory", "w_minus = -(lam + root) / (2 * s)", "w_minus = -(lam - root) / (2 * s)",
     "lambda_balanced_mode_trajectory: the wrong root of the Riccati equation"),
    ("B", "theory", "return s - (s - u0) * np.exp(-t / tau)", "return s - (s - u0) * np.exp(-s * t / tau)",
     "deep_mode_trajectory depth 1: rate s/tau instead of 1/tau"),
    ("B", "theory", "return c * hessian_top_eigenvalue(s, depth) * learning_time(s, u0, uf, depth)",
     "return hessian_top_eigenvalue(s, depth) * learning_time(s, u0, uf, depth) / c",
     "learning_time_at_optimal_rate: c divides instead of multiplying"),
    # -------------------------------------------------------------------------------------------------------- networks
    ("B", "networks", "widths = [shapes[0][-1]] + [shape[-2] for shape in shapes]",
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
    ("B", "train", "            forward = forward @ weights[l].mT", "            forward = forward @ weights[l]",
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
    ("B", "meanfield", "return float(\"inf\") if abs(np.log(abs(chi))) < 1e-14 else float(-1.0 / np.log(abs(chi)))",
     "return float(\"inf\") if abs(np.log(abs(chi))) < 1e-14 else float(1.0 / np.log(abs(chi)))",
     "_depth_scale: sign of xi"),
    ("B", "meanfield", "q_next = float(variance_map(q, sigma_w2, sigma_b2, activation))", "q_next = q",
     "correlation_map: assumes q is the fixed point"),
    # ----------------------------------------------------------------------------------------------------- convolution
    ("B", "convolution", "offset = tuple((t - kernel.shape[2 + d] // 2) % n for", "offset = tuple(t % n for",
     "kernel_symbol: taps not centred"),
    ("B", "convolution", "        tangent /= norm\n", "", "signal_propagation: tangent not renormalised"),
    ("B", "convolution", "circular_conv(act.phi(h[d]), kernels[d])", "circular_conv(act.phi(h[d]), kernels[0])",
     "mean_variance_profile: one kernel for every draw"),
    # -------------------------------------------------------------------------------------------------------- deepnets
    ("B", "deepnets", "F.pad(x, (p, p, p, p), mode=\"circular\")", "F.pad(x, (p, p, p, p), mode=\"constant\")",
     "VanillaCNN: zero padding instead of circular"),
    ("B", "deepnets", "                h = h @ w.T + b", "                h = h @ w + b", "MLP (one run): W not transposed"),
    # ---------------------------------------------------------------------------------------------------- acceleration
    ("B", "acceleration", "power(right, 2 * (depth - j) / depth)", "power(right, 2 * (depth - j + 1) / depth)",
     "preconditioner_eigenvalues: right exponent off by one"),
    ("B", "acceleration", "w = w - lr * end_to_end_update(w, gradient_fn(w), depth)",
     "w = w - lr / depth * end_to_end_update(w, gradient_fn(w), depth)", "end_to_end_descent: rate divided by depth"),
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
    files = [f"tests/{name}" for name in names if (workdir / "tests" / name).exists()]
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
