"""The bench runs end to end (figures are printed, never asserted: speed
targets live in the bench, not in tests)."""

from __future__ import annotations


from rpbus import bench
from rpbus.local import ensure_binary


async def test_bench_runs_and_decodes_16_bit_samples(rpbus_url: str) -> None:
    res = await bench.run(rpbus_url, count=10, rounds=1, board_name="sim", binary=ensure_binary())
    (rnd,) = res["rounds"]
    py = rnd["python"]
    assert py["count"] == 10 and py["samples"] == 2 * 16384 and py["dtype"] == "float32"
    assert py["wire_dtype"] == "<i2" and py["decode_us"] > 0
    assert "go" in rnd, rnd.get("go_error")
    assert rnd["go"]["count"] == 10
    assert "p50_overhead_us" in res
    assert "python - go" in bench._report(res)
