import cpuocr


def test_all_is_sorted_and_complete() -> None:
    assert cpuocr.__all__ == sorted(cpuocr.__all__)
    public = {n for n in dir(cpuocr) if not n.startswith("_") and n[0].isupper()}
    assert public == set(cpuocr.__all__)
