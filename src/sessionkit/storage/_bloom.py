"""A Bloom filter of (scope, id) pairs: "certainly not added", or "perhaps added"."""

from __future__ import annotations

__all__ = ["KeyFilter"]


class KeyFilter:
    """A fixed-size Bloom filter of ``(scope, id)`` keys, with two bits per key.

    It answers "certainly not added" without a look-up elsewhere; a "perhaps" must be checked
    where the keys really are. Its memory never grows. It lives in one process, so the process's
    own string hashing (``hash``) will do. With the default 2**25 bits (4 MiB), a key never
    added is taken for one that was about once in 300 look-ups at a million keys, once in four
    at ten million.
    """

    def __init__(self, bits: int = 1 << 25) -> None:
        if bits & (bits - 1):
            raise ValueError(f"bits must be a power of two, not {bits}")
        self._mask = bits - 1
        self._bytes = bytearray(bits // 8)

    def add(self, scope: str, id: str) -> None:
        """Add a key."""
        hashed = hash((scope, id))
        for bit in (hashed & self._mask, (hashed >> 32) & self._mask):
            self._bytes[bit >> 3] |= 1 << (bit & 7)

    def __contains__(self, key: tuple[str, str]) -> bool:
        """False: certainly never added. True: perhaps added."""
        hashed = hash(key)
        first, second = hashed & self._mask, (hashed >> 32) & self._mask
        data = self._bytes
        return bool(data[first >> 3] >> (first & 7) & 1 and data[second >> 3] >> (second & 7) & 1)
