"""dlnlib.spectra: products of random matrices against exact and large-N results."""
import numpy as np
import pytest
from scipy import integrate

from dlnlib import spectra


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


def test_finite_size_fourth_moment_is_exact():
    assert spectra.gaussian_product_fourth_moment(10, 1) == pytest.approx(2.1)        # 2 + 1/N for one factor
    assert spectra.gaussian_product_fourth_moment(10 ** 6, 5) == pytest.approx(6.0, rel=1e-4)
    samples = [np.mean(np.linalg.svd(spectra.random_product(8, 3, seed=s), compute_uv=False) ** 4) for s in range(20000)]
    exact = spectra.gaussian_product_fourth_moment(8, 3)
    assert abs(np.mean(samples) - exact) < 4 * np.std(samples) / np.sqrt(len(samples))
    assert exact > 4.5      # the finite-size excess over L + 1 = 4 is large at N = 8


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
