"""``fastsched binpack``'s file formats: BPPLIB's BPP and CSP layouts, VPSolver's
.vbp, capacity-first; detection, --format, errors with file and line, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("ortools")

from fastsched.cli import main  # noqa: E402
from fastsched.cli._bppfiles import parse_instance  # noqa: E402
from fastsched.cli.binpack import read_bpplib, read_instance  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# One small instance written in every layout: capacity 10, optimum 4 bins
# ((6 4) (5 5) (7 3) (3 3 4)), sizes in the order BPPLIB writes them (decreasing).
SIZES = [7, 6, 5, 5, 4, 4, 3, 3, 3]
LAYOUTS = {
    "bpplib": "9\n10\n" + "\n".join(map(str, SIZES)) + "\n",
    "weight-count": "5\n10\n7\t1\n6\t1\n5\t2\n4\t2\n3\t3\n",
    "capacity-first": "10\n" + "\n".join(map(str, SIZES)) + "\n",
    "vbp": "1\n10\n5\n7 1\n6 1\n5 2\n4 2\n3 3\n",
}


def run(argv, capsys, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    rc = main(["binpack", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("fmt", sorted(LAYOUTS))
def test_every_layout_reads_the_same_instance(tmp_path, fmt):
    path = tmp_path / "four.txt"
    path.write_text(LAYOUTS[fmt])
    for given in ("auto", fmt):
        inst = read_instance(path, given)
        assert inst.format == fmt
        assert not inst.vector
        assert sorted(inst.sizes.tolist(), reverse=True) == SIZES
        assert inst.capacity == 10


@pytest.mark.parametrize("fmt", sorted(LAYOUTS))
def test_cli_solves_every_layout(tmp_path, capsys, fmt):
    path = tmp_path / "four.txt"
    path.write_text(LAYOUTS[fmt])
    rc, out, err = run([str(path), "--time-limit", "5", "--workers", "1"], capsys)
    assert rc == 0, err
    assert f"format: {fmt} (detected)" in out
    assert "items: 9  capacity: 10" in out
    assert "bins: 4" in out and "optimal: yes" in out


def test_vbp_is_vector_packing(tmp_path, capsys):
    # Big-in-x items pair with big-in-y items: 2 bins, where either dimension alone needs 2.
    text = "2\n10 10\n2\n8 2 2\n2 8 2\n"
    path = tmp_path / "cross.vbp"
    path.write_text(text)
    inst = read_instance(path)
    assert inst.format == "vbp" and inst.vector
    assert inst.sizes.tolist() == [[8, 2], [8, 2], [2, 8], [2, 8]]
    assert inst.capacity.tolist() == [10, 10]
    # The same shape is recognised without the extension.
    other = tmp_path / "cross.txt"
    other.write_text(text)
    assert read_instance(other).format == "vbp"
    rc, out, _ = run([str(path), "--time-limit", "5", "--workers", "1", "--assignment"], capsys)
    assert rc == 0
    assert "format: vbp (detected)" in out
    assert "items: 4  dimensions: 2  capacity: 10 10" in out
    assert "bins: 2" in out and "optimal: yes" in out
    bins = [int(x) for x in out.split("time:")[1].splitlines()[1:]]
    assert len(bins) == 4 and bins[0] == bins[2] and bins[1] == bins[3] and bins[0] != bins[1]


def test_capacity_first_vector(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("10 20 30\n1 2 3\n4 5 6\n")
    inst = read_instance(path)
    assert inst.format == "capacity-first" and inst.vector
    assert inst.sizes.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert inst.capacity.tolist() == [10, 20, 30]
    with pytest.raises(ValueError, match="use read_instance"):
        read_bpplib(path)


def test_format_override_reads_an_ambiguous_file_as_told(tmp_path):
    # Capacity 5 with 6 items reads, by shape, as BPPLIB's count 5 and capacity 5;
    # --format capacity-first reads the six items.
    path = tmp_path / "amb.txt"
    path.write_text("5\n5\n3\n2\n1\n1\n1\n")
    assert read_instance(path).format == "bpplib"
    assert read_instance(path).sizes.tolist() == [3, 2, 1, 1, 1]
    inst = read_instance(path, "capacity-first")
    assert inst.capacity == 5 and inst.sizes.tolist() == [5, 3, 2, 1, 1, 1]


def test_empty_and_zero_count_instances():
    inst = parse_instance("0\n10\n", "z.txt")
    assert inst.format == "bpplib" and inst.sizes.size == 0 and inst.capacity == 10
    inst = parse_instance("10\n", "z.txt")
    assert inst.format == "capacity-first" and inst.sizes.size == 0
    inst = parse_instance("2\n10\n4 0\n5 3\n", "z.txt")
    assert inst.format == "weight-count" and inst.sizes.tolist() == [5, 5, 5]


@pytest.mark.parametrize("text, fmt, where, match", [
    ("", "auto", "bad.txt:", "empty file"),
    ("10\nthree\n", "auto", "bad.txt:2:", "expected integers, got 'three'"),
    ("10\n3\n11\n", "auto", "bad.txt:3:", "larger than the capacity 10"),
    ("10\n3\n-1\n", "auto", "bad.txt:3:", "non-negative"),
    ("10\n3 4\n", "capacity-first", "bad.txt:2:", "expected one item size"),
    ("5\n10\n3\n4\n", "auto", "bad.txt:", "gives 5 as the item count, but 2 lines"),
    ("2\n10\n3\n4\n5\n", "bpplib", "bad.txt:5:", "gives 2 as the item count, but 3 lines"),
    ("2\n10\n3 1\n4\n", "auto", "bad.txt:4:", "'weight count'"),
    ("2\n10\n3 1\n4 -2\n", "weight-count", "bad.txt:4:", "non-negative count"),
    ("3\n10\n3 1\n4 1\n", "auto", "bad.txt:", "gives 3 as the number of weights"),
    ("2\n10 10\n1\n3 4\n", "vbp", "bad.txt:4:", "2 sizes and a count"),
    ("2\n10 10 10\n1\n3 4 1\n", "vbp", "bad.txt:2:", "expected 2 capacities"),
    ("2\n10 10\n1\n3 11 1\n", "vbp", "bad.txt:4:", "capacity 10 in dimension 1"),
    ("2\n10 0\n1\n3 0 1\n", "vbp", "bad.txt:2:", "positive capacities"),
    ("10 10\n3\n", "auto", "bad.txt:2:", "2 sizes, one per capacity"),
    ("0\n3\n", "capacity-first", "bad.txt:1:", "positive capacity"),
    ("10\n" + "9" * 40 + "\n", "auto", "bad.txt:2:", "expected integers"),
    ("10\n" + str(2**62 + 1) + "\n", "auto", "bad.txt:2:", "at most 2\\*\\*62"),
    ("1\n10\n3 100000000\n", "auto", "bad.txt:", "100,000,000 items"),
])
def test_malformed_files_name_file_and_line(tmp_path, capsys, text, fmt, where, match):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_instance(path, fmt)
    rc, out, err = run([str(path), "--format", fmt], capsys)
    assert rc == 2 and out == ""
    assert err.startswith("fastsched: error: ") and f"{path.parent}/{where}" in err
    assert "Traceback" not in err


def test_missing_binary_and_unknown_format(tmp_path, capsys):
    rc, _, err = run([str(tmp_path / "missing.txt")], capsys)
    assert rc == 2 and "missing.txt: No such file" in err
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\xff\xfe\x00\x01")
    rc, _, err = run([str(blob)], capsys)
    assert rc == 2 and "not a text file" in err
    rc, _, err = run([str(blob), "--format", "csv"], capsys)
    assert rc == 2 and "invalid choice" in err


def test_stdin(capsys, monkeypatch):
    rc, out, err = run(["-", "--time-limit", "5", "--workers", "1"], capsys,
                       stdin=LAYOUTS["weight-count"], monkeypatch=monkeypatch)
    assert rc == 0, err
    assert "format: weight-count (detected)" in out and "bins: 4" in out
    rc, _, err = run(["-"], capsys, stdin="5\n10\n3\n4\n", monkeypatch=monkeypatch)
    assert rc == 2 and "<stdin>: line 1 gives 5" in err


def test_help_states_formats_and_exit_codes(capsys):
    assert main(["binpack", "--help"]) == 0
    out = capsys.readouterr().out
    for word in ("--format", "bpplib", "weight-count", "vbp", "capacity-first", "exit status",
                 "0 ", "2 "):
        assert word in out


# ---------------------------------------------------------------- real instances

def _optima(folder: str) -> dict:
    path = DATA / folder / "optima.json"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return json.loads(path.read_text())


@pytest.mark.parametrize("folder", ["bpp", "vbp"])
def test_every_shared_instance_is_detected_and_read(folder):
    # The shared copies are capacity-first: none may be mistaken for BPPLIB's layout.
    optima = _optima(folder)
    for name, info in optima.items():
        path = DATA / folder / f"{name}.txt"
        if any(t.startswith("-") for t in path.read_text().split()):
            # Two triplet-class files carry a negative size (a generator artefact).
            with pytest.raises(ValueError, match=rf"{name}\.txt:\d+: expected non-negative"):
                read_instance(path)
            continue
        inst = read_instance(path)
        assert inst.format == "capacity-first", name
        assert inst.sizes.shape[0] == info["n"], name
        assert np.asarray(inst.capacity).tolist() == info["capacity"], name


@pytest.mark.parametrize("name", ["Falkenauer_u120_00", "Falkenauer_t60_00", "Waescher_TEST0022"])
def test_real_instance_in_bpplib_layouts(tmp_path, capsys, name):
    # A real BPPLIB instance written as BPPLIB's own BPP and CSP files write it
    # (count, capacity, then sizes; or 'weight count' lines, tab-separated).
    optima = _optima("bpp")
    if name not in optima:
        pytest.skip(f"{name} is not among the shared instances")
    sizes, cap = read_bpplib(DATA / "bpp" / f"{name}.txt")
    assert cap == optima[name]["capacity"]
    order = np.sort(sizes)[::-1]
    weights, counts = np.unique(order, return_counts=True)
    bpp = tmp_path / f"{name}.txt"
    bpp.write_text(f"{sizes.size}\n{cap}\n" + "".join(f"{s}\n" for s in order.tolist()))
    csp = tmp_path / f"{name}_csp.txt"
    csp.write_text(f"{weights.size}\n{cap}\n"
                   + "".join(f"{w}\t{c}\n" for w, c in zip(weights[::-1], counts[::-1])))
    for path, fmt in ((bpp, "bpplib"), (csp, "weight-count")):
        inst = read_instance(path)
        assert inst.format == fmt and inst.capacity == cap
        assert sorted(inst.sizes.tolist()) == sorted(sizes.tolist())
    rc, out, err = run([str(bpp), "--time-limit", "10", "--workers", "2"], capsys)
    assert rc == 0, err
    assert "format: bpplib (detected)" in out
    assert f"bins: {optima[name]['optimum']}\n" in out
