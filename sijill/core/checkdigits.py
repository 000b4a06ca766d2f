"""Check-digit algorithms, scalar and vectorised (NumPy).

Verhoeff detects every single-digit error and every adjacent transposition, which is
why the registry's own identifiers use it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_D = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ],
    dtype=np.int8,
)
_P = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ],
    dtype=np.int8,
)
_INV = np.array([0, 4, 3, 2, 1, 5, 6, 7, 8, 9], dtype=np.int8)


def verhoeff_digit(payload: str) -> str:
    """The Verhoeff check digit to append to ``payload`` (digits only)."""
    c = 0
    for i, ch in enumerate(reversed(payload)):
        c = int(_D[c, _P[(i + 1) % 8, int(ch)]])
    return str(int(_INV[c]))


def verhoeff_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    c = 0
    for i, ch in enumerate(reversed(number)):
        c = int(_D[c, _P[i % 8, int(ch)]])
    return c == 0


def verhoeff_digits_vec(payload: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int8]:
    """Vectorised Verhoeff check digit for integers of ``width`` digits (zero-padded)."""
    c = np.zeros(payload.shape[0], dtype=np.int8)
    x = payload.copy()
    for i in range(width):  # least significant digit first == reversed order
        d = (x % 10).astype(np.int8)
        x //= 10
        c = _D[c, _P[(i + 1) % 8, d]]
    return _INV[c]


def luhn_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_digit(payload: str) -> str:
    for d in "0123456789":
        if luhn_valid(payload + d):
            return d
    raise AssertionError("unreachable")


_VALIDATORS = {"verhoeff": verhoeff_valid, "luhn": luhn_valid}


def is_valid(algorithm: str, value: str) -> bool:
    try:
        return _VALIDATORS[algorithm](value)
    except KeyError:
        raise ValueError(f"unknown check-digit algorithm '{algorithm}'") from None


def digit_matrix(values: list[str], length: int) -> npt.NDArray[np.int8]:
    """Turn equal-length digit strings into an (n, length) matrix of digits."""
    buf = np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8)
    return (buf.reshape(-1, length) - 48).astype(np.int8)


def valid_matrix(algorithm: str, digits: npt.NDArray[np.int8]) -> npt.NDArray[np.bool_]:
    """Vectorised check of rows of digits (most significant digit first)."""
    n, length = digits.shape
    if algorithm == "verhoeff":
        c = np.zeros(n, dtype=np.int8)
        for i in range(length):
            c = _D[c, _P[i % 8, digits[:, length - 1 - i]]]
        return np.asarray(c == 0)
    if algorithm == "luhn":
        total = np.zeros(n, dtype=np.int64)
        for i in range(length):
            d = digits[:, length - 1 - i].astype(np.int64)
            if i % 2 == 1:
                d = d * 2
                d = np.where(d > 9, d - 9, d)
            total += d
        return np.asarray(total % 10 == 0)
    raise ValueError(f"unknown check-digit algorithm '{algorithm}'")
