import cpuocr


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff (RUF022) keeps __all__ in: CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_complete() -> None:
    assert cpuocr.__all__ == sorted(cpuocr.__all__, key=_isort_key)
    public = {n for n in dir(cpuocr) if not n.startswith("_") and n[0].isupper()}
    assert public == set(cpuocr.__all__)
