"""Progress meters for long host-side loops (data generation, training epochs, benchmarks).

Modelled on diffrax's ``AbstractProgressMeter``: library code asks for a meter and calls
``update``/``set_postfix``/``close`` on it, never ``tqdm`` directly, so tqdm is optional. Without tqdm
installed, or with ``enabled=False``, the meter is a no-op.
"""

from typing import Any

__all__ = ["NoProgress", "progress_meter"]


class NoProgress:
    """A progress meter that shows nothing (the same methods as ``tqdm.tqdm``)."""

    def update(self, n: int = 1) -> None:
        del n

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs

    def set_description(self, desc: str | None = None) -> None:
        del desc

    def close(self) -> None:
        pass

    def __enter__(self) -> "NoProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_meter(
    total: int | None = None, *, desc: str | None = None, enabled: bool = True, **kwargs: Any
):
    """A tqdm bar over ``total`` steps when tqdm is installed and ``enabled``, else :class:`NoProgress`.

    Use as a context manager: ``with progress_meter(n, desc="darcy") as bar: ...; bar.update(k)``.
    """
    if not enabled:
        return NoProgress()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return NoProgress()
    return tqdm(total=total, desc=desc, **kwargs)
