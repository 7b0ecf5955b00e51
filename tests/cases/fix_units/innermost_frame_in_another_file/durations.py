UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> int:
    """Seconds in '90s', '5m' or '2h'."""
    number, unit = text[:-1], text[-1]
    if unit not in UNITS:
        raise ValueError(f"unknown unit in duration {text!r}")
    return int(number) * UNITS[unit]
