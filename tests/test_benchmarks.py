"""Every benchmark script runs end to end at tiny sizes (``--quick``), prints its table and checks itself."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script, header", [
    ("depth_sweep.py", "| depth | naive nn.Sequential + SGD (s) | dlnlib (s)"),
    ("batched_runs.py", "| depth | runs | Python loop (s) | batched (s)"),
    ("roofline.py", "| width | products per step | MFLOP per step"),
    ("step_overhead.py", "| width | 1 run, records at the ends | 1 run, record every step |"),
    ("chapter_costs.py", "| 10_random_matrix_dynamics |"),
])
def test_benchmark_runs_quick_and_prints_its_table(script, header):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert header in done.stdout
    assert "Machine: " in done.stdout
