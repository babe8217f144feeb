"""dlnlib.spectra: products of random matrices against exact and large-N results."""
import numpy as np
import pytest
from scipy import integrate

import torch

from dlnlib import spectra
from dlnlib.init import random_orthogonal


def test_orthogonal_products_are_exact_isometries():
    product = spectra.random_product(60, 99, kind="orthogonal", seed=0)
    np.testing.assert_allclose(np.linalg.svd(product, compute_uv=False), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(product)), 1.0, atol=1e-10)


@pytest.mark.parametrize("n_factors", [1, 2, 5])
def test_gaussian_product_moments_approach_fuss_catalan(n_factors):
    sq = np.concatenate([np.linalg.svd(spectra.random_product(300, n_factors, seed=s), compute_uv=False) ** 2
                         for s in range(6)])
    assert np.mean(sq) == pytest.approx(spectra.fuss_catalan_moment(1, n_factors), rel=0.05)
    assert np.mean(sq ** 2) == pytest.approx(spectra.fuss_catalan_moment(2, n_factors), rel=0.15)
    assert np.sqrt(sq.max()) == pytest.approx(np.sqrt(spectra.fuss_catalan_edge(n_factors)), rel=0.1)


def test_fuss_catalan_closed_forms():
    assert spectra.fuss_catalan_moment(2, 5) == pytest.approx(6.0)           # L + 1
    assert spectra.fuss_catalan_moment(3, 1) == pytest.approx(5.0)           # Catalan numbers for L = 1
    np.testing.assert_allclose(spectra.fuss_catalan_moment(np.arange(4), 2), [1, 1, 3, 12])
    assert spectra.fuss_catalan_edge(1) == pytest.approx(4.0)
    assert spectra.fuss_catalan_edge(99) == pytest.approx(100 ** 100 / 99 ** 99, rel=1e-12)


@pytest.mark.parametrize("n_factors", [1, 2, 5])
def test_fuss_catalan_density_integrates_to_its_moments(n_factors):
    x, p = spectra.fuss_catalan_density(n_factors, n_points=200000)
    assert np.all(np.diff(x) > 0) and np.all(p >= 0)
    for k in range(4):
        moment = integrate.trapezoid(x ** k * p, x)
        assert moment == pytest.approx(spectra.fuss_catalan_moment(k, n_factors), rel=2e-3)


def test_finite_size_moments_are_exact():
    assert spectra.gaussian_product_moments(10, 1)[0] == pytest.approx(2.1)         # 2 + 1/N for one factor
    assert spectra.gaussian_product_moments(10, 1)[1] == pytest.approx(np.sqrt(2) / 10)  # (1/N) chi^2_{N^2} / N
    assert spectra.gaussian_product_moments(10 ** 6, 5)[0] == pytest.approx(6.0, rel=1e-4)
    sv = np.array([np.linalg.svd(spectra.random_product(8, 3, seed=s), compute_uv=False) for s in range(20000)])
    fourth, second = np.mean(sv ** 4, axis=1), np.mean(sv ** 2, axis=1)
    mean4, sd2 = spectra.gaussian_product_moments(8, 3)
    assert abs(np.mean(fourth) - mean4) < 4 * np.std(fourth) / np.sqrt(len(fourth))
    assert mean4 > 4.5      # the finite-size excess over L + 1 = 4 is large at N = 8
    assert abs(np.mean(second) - 1.0) < 4 * sd2 / np.sqrt(len(second))
    assert np.std(second) == pytest.approx(sd2, rel=0.03)


def test_marchenko_pastur_is_the_one_factor_case():
    x, p = spectra.fuss_catalan_density(1, n_points=500)
    np.testing.assert_allclose(p, np.sqrt((4 - x) / x) / (2 * np.pi), rtol=1e-9)


def test_eigenvalue_fraction_within_radius_matches_products():
    eig = np.concatenate([np.linalg.eigvals(spectra.random_product(200, 5, seed=s)) for s in range(5)])
    for r in (0.05, 0.2, 0.6):
        assert np.mean(np.abs(eig) < r) == pytest.approx(float(spectra.product_eigenvalue_fraction_within(r, 5)),
                                                          abs=0.03)
    assert spectra.product_eigenvalue_fraction_within(0.0564, 99) == pytest.approx(0.944, abs=1e-3)
    assert spectra.product_eigenvalue_fraction_within(3.0, 2) == 1.0


def test_spectra_bad_input():
    with pytest.raises(ValueError, match="kind"):
        spectra.random_product(3, 2, kind="uniform")
    with pytest.raises(ValueError, match="n_factors"):
        spectra.random_product(3, 0)
    with pytest.raises(ValueError, match="non-negative integer"):
        spectra.fuss_catalan_moment(1.5, 2)
    with pytest.raises(ValueError, match="r must be >= 0"):
        spectra.product_eigenvalue_fraction_within(-0.1, 2)


# --- log singular values of long products (graded QR) -------------------------------------------------------------

def _high_precision_log_sv(factors, digits=200):
    import mpmath
    with mpmath.workdps(digits):
        product = mpmath.eye(factors[0].shape[0])
        for w in factors:
            product = mpmath.matrix(w.tolist()) * product
        return np.sort([float(mpmath.log(s)) for s in mpmath.svd_r(product, compute_uv=False)])[::-1]


def test_log_singular_values_match_200_digit_arithmetic():
    rng = np.random.default_rng(0)
    factors = [rng.standard_normal((16, 16)) / 4.0 for _ in range(80)]
    exact = _high_precision_log_sv(factors)
    assert exact[0] - exact[-1] > 150                       # the spectrum spans more than 65 decades
    log_sv, diagonal = spectra.product_log_singular_values(factors, return_diagonal=True)
    np.testing.assert_allclose(log_sv, exact, rtol=0, atol=1e-9)
    np.testing.assert_allclose(spectra.product_log_singular_values(factors, qr_every=2), exact, rtol=0, atol=1e-8)
    # what the alternatives give: the QR diagonal is off by O(1), a float64 SVD of the product loses the small ones
    assert 0.1 < np.max(np.abs(diagonal - exact)) < 10
    direct = np.log(np.linalg.svd(np.linalg.multi_dot(factors[::-1]), compute_uv=False))
    assert np.max(np.abs(direct - exact)) > 100


def test_log_singular_values_of_products_with_known_singular_values():
    # W_k = U_k diag(s_k) U_{k-1}^T with Haar U's: the product is U_L diag(prod s_k) U_0^T, though no factor is normal
    rng = np.random.default_rng(1)
    n, n_factors = 40, 50
    frames = [random_orthogonal(n, seed=rng) for _ in range(n_factors + 1)]
    scales = -0.2 * np.arange(n) + 0.5 * rng.standard_normal((n_factors, n))
    factors = [frames[k + 1] @ np.diag(np.exp(scales[k])) @ frames[k].T for k in range(n_factors)]
    exact = np.sort(scales.sum(0))[::-1]
    assert exact[-1] < np.log(1e-160)
    np.testing.assert_allclose(spectra.product_log_singular_values(factors), exact, rtol=0, atol=1e-9)


def test_short_products_match_a_direct_svd_and_batches_match_single_runs():
    factors = list(spectra.random_factors(50, 3, n_realisations=4, seed=2))
    product = factors[2] @ factors[1] @ factors[0]
    direct = np.log(np.linalg.svd(product.numpy(), compute_uv=False))
    log_sv, rebuilt = spectra.product_log_singular_values(factors, return_product=True)
    np.testing.assert_allclose(log_sv, direct, rtol=0, atol=1e-11)
    np.testing.assert_allclose(rebuilt, product.numpy(), rtol=0, atol=1e-13)
    single = spectra.product_log_singular_values([f[2].numpy() for f in factors])
    np.testing.assert_allclose(single, log_sv[2], rtol=0, atol=1e-12)
    one = next(spectra.random_factors(30, 1, seed=3)).numpy()
    np.testing.assert_allclose(spectra.product_log_singular_values([one]),
                               np.log(np.linalg.svd(one, compute_uv=False)), rtol=0, atol=1e-12)


def test_sum_of_log_singular_values_is_the_log_determinant():
    factors = list(spectra.random_factors(60, 30, n_realisations=2, seed=4))
    log_det = sum(torch.linalg.slogdet(w)[1] for w in factors).numpy()
    for qr_every in (1, 3):
        log_sv = spectra.product_log_singular_values(iter(factors), qr_every=qr_every)
        np.testing.assert_allclose(log_sv.sum(-1), log_det, rtol=1e-12)


def test_random_factors():
    gauss = list(spectra.random_factors(200, 3, n_realisations=2, seed=5))
    assert len(gauss) == 3 and gauss[0].shape == (2, 200, 200) and gauss[0].dtype == torch.float64
    assert torch.mean(gauss[0] ** 2).item() == pytest.approx(1 / 200, rel=0.02)
    assert torch.equal(gauss[1], list(spectra.random_factors(200, 3, n_realisations=2, seed=5))[1])
    ortho = list(spectra.random_factors(20, 40, kind="orthogonal", seed=6))
    torch.testing.assert_close(ortho[0].mT @ ortho[0], torch.eye(20, dtype=torch.float64))
    np.testing.assert_allclose(spectra.product_log_singular_values(ortho), 0.0, atol=1e-12)


def test_mean_log_sigma2_closed_form_against_determinants():
    n, n_factors, samples = 6, 4, 20000
    mean, sd = spectra.gaussian_product_mean_log_sigma2(n, n_factors)
    w = torch.randn((samples, n_factors, n, n), generator=torch.Generator().manual_seed(7), dtype=torch.float64) / np.sqrt(n)
    measured = (2.0 / n) * torch.linalg.slogdet(w)[1].sum(-1).numpy()      # <ln sigma^2> of each product
    assert abs(measured.mean() - mean) < 4 * sd / np.sqrt(samples)
    assert measured.std() == pytest.approx(sd, rel=0.03)
    # large N: the Fuss-Catalan mean of ln x is -L; the top exponent is the growth of one vector, chi^2_N / N
    assert spectra.gaussian_product_mean_log_sigma2(100000, 3)[0] == pytest.approx(-3.0, abs=1e-3)
    mu, var = spectra.gaussian_product_lyapunov_exponents(n)
    x = torch.randn((samples, n), generator=torch.Generator().manual_seed(8), dtype=torch.float64) / np.sqrt(n)
    growth = 0.5 * np.log((x ** 2).sum(-1).numpy())        # ln ||W e_1|| for W with N(0, 1/N) entries
    assert abs(growth.mean() - mu[0]) < 4 * np.sqrt(var[0] / samples)
    assert growth.var() == pytest.approx(var[0], rel=0.05)
    assert np.all(np.diff(mu) < 0)


def test_log_sigma_density_is_the_lyapunov_law_at_large_depth():
    n, n_factors = 10, 400
    grid = np.linspace(-4000, 200, 20001)
    density = spectra.gaussian_product_log_sigma_density(grid, n, n_factors)
    assert integrate.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-6)
    assert integrate.trapezoid(grid * density, grid) == pytest.approx(
        spectra.gaussian_product_mean_log_sigma2(n, n_factors)[0] / 2, rel=1e-6)
    log_sv = spectra.product_log_singular_values(spectra.random_factors(n, n_factors, n_realisations=20, seed=9))
    mu, var = spectra.gaussian_product_lyapunov_exponents(n)
    # mean over products of ln sigma_i against L mu_i: 4 standard errors, plus O(1) for the finite-L offset
    tolerance = 4 * np.sqrt(n_factors * var / 20) + 2.0
    assert np.all(np.abs(log_sv.mean(0) - n_factors * mu) < tolerance)
    assert tolerance.max() < 0.05 * n_factors * (mu[0] - mu[-1])    # a test to 5 % of the spectrum's range


def test_product_log_singular_values_bad_input():
    with pytest.raises(ValueError, match="square"):
        spectra.product_log_singular_values([np.ones((3, 4))])
    with pytest.raises(ValueError, match="every factor must have shape"):
        spectra.product_log_singular_values([np.eye(3), np.eye(4)])
    with pytest.raises(ValueError, match="at least one"):
        spectra.product_log_singular_values([])
    with pytest.raises(TypeError, match="iterable"):
        spectra.product_log_singular_values(3.0)
    with pytest.raises(ValueError, match="qr_every"):
        spectra.product_log_singular_values([np.eye(3)], qr_every=0)
    with pytest.raises(ValueError, match="refinements"):
        spectra.product_log_singular_values([np.eye(3)], refinements=1)
    with pytest.raises(ValueError, match="singular"):
        spectra.product_log_singular_values([np.eye(3), np.diag([1.0, 0.0, 2.0])])
    with pytest.raises(ValueError, match="finite"):
        spectra.product_log_singular_values([np.full((2, 2), np.nan)])
    with pytest.raises(ValueError, match="kind"):
        next(spectra.random_factors(3, 2, kind="uniform"))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="asks for a CUDA GPU"):
            next(spectra.random_factors(3, 2, device="cuda"))
        with pytest.raises(ValueError, match="asks for a CUDA GPU"):
            spectra.product_log_singular_values([np.eye(3)], device="cuda")


@pytest.mark.parametrize("n_factors", [1, 5, 99])
def test_fuss_catalan_density_of_log_sigma(n_factors):
    log_sigma, density = spectra.fuss_catalan_log_sigma_density(n_factors)
    assert np.all(np.diff(log_sigma) > 0) and np.all(density >= 0)
    assert integrate.trapezoid(density, log_sigma) == pytest.approx(1.0, abs=1e-5)      # trapezoid rule, 2,000 points
    # the Fuss-Catalan mean of ln x is -L (ln det is additive over free factors; -1 for Marchenko-Pastur)
    assert integrate.trapezoid(2 * log_sigma * density, log_sigma) == pytest.approx(-n_factors, rel=1e-4)
    assert np.exp(2 * log_sigma[-1]) == pytest.approx(spectra.fuss_catalan_edge(n_factors), rel=1e-5)
    if n_factors < 99:      # the same law as fuss_catalan_density, where that one is representable
        x, p = spectra.fuss_catalan_density(n_factors, n_points=4000)
        np.testing.assert_allclose(np.interp(0.5 * np.log(x[100:-100]), log_sigma, density), 2 * x[100:-100] * p[100:-100],
                                   rtol=1e-3)


def test_fraction_below_and_box_fraction():
    # Marchenko-Pastur (L = 1): with x = 4 sin^2 t, P(x < a) = (2/pi)(T + sin T cos T), T = arcsin(sqrt(a/4))
    t = np.arcsin(np.sqrt(0.01 / 4))
    assert spectra.fuss_catalan_fraction_below(0.1, 1) == pytest.approx(2 / np.pi * (t + np.sin(t) * np.cos(t)), abs=1e-5)
    x, p = spectra.fuss_catalan_density(5, n_points=200000)
    upper = x >= 0.01
    assert spectra.fuss_catalan_fraction_below(0.1, 5) == pytest.approx(1 - integrate.trapezoid(p[upper], x[upper]),
                                                                      abs=1e-4)
    # the box against Monte Carlo of the radial law, and against the equal-area disk
    rng = np.random.default_rng(0)
    r = rng.random(400000) ** (5 / 2)                 # P(|lambda| < r) = r^(2/5)
    theta = rng.random(r.size) * 2 * np.pi
    inside = (np.abs(r * np.cos(theta)) < 0.05) & (np.abs(r * np.sin(theta)) < 0.05)
    box = spectra.product_eigenvalue_fraction_in_box(0.05, 5)
    assert box == pytest.approx(inside.mean(), abs=4 * np.sqrt(box * (1 - box) / r.size))
    assert box == pytest.approx(float(spectra.product_eigenvalue_fraction_within(0.1 / np.sqrt(np.pi), 5)), abs=2e-3)
    assert spectra.product_eigenvalue_fraction_in_box(2.0, 3) == pytest.approx(1.0)
