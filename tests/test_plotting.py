"""House style: the figure helper, colours and rcParams."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dlnlib import plotting  # noqa: E402


def test_use_style_sets_house_rcparams():
    plotting.use_style()
    assert matplotlib.rcParams["axes.spines.top"] is False
    assert matplotlib.rcParams["axes.grid"] is True


def test_figure_sizes_and_axes():
    fig, axes = plotting.figure(ncols=3, width=2.0, height=1.5)
    assert axes.shape == (3,)
    np.testing.assert_allclose(fig.get_size_inches(), [6.0, 1.5])
    plt.close(fig)
    fig, ax = plotting.figure()
    assert hasattr(ax, "plot")
    plt.close(fig)


def test_mode_colors_are_distinct_rgba():
    colors = plotting.mode_colors(5)
    assert colors.shape == (5, 4)
    assert len({tuple(c) for c in colors}) == 5
    assert len({plotting.THEORY, plotting.SIMULATION, plotting.NONLINEAR}) == 3
