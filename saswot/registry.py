"""One generic registry, :class:`Registry`, behind the proxies, the search spaces and the datasets.

A registry maps names to items (the name is read from the item), refuses a second item under a
taken name, answers an unknown name with an error that lists the valid ones, and can fill itself
lazily on the first lookup (built-in plug-ins, installed packages' entry points) so that importing
it stays cheap::

    from saswot.registry import Registry
    COLOURS: Registry[Colour] = Registry("colour", key=lambda c: c.name)
    COLOURS.add(Colour("red"))
    COLOURS.get("red"); COLOURS.names(); "red" in COLOURS
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from saswot.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> item, with duplicate names refused and valid names listed on a miss.

    Args:
        kind: what the items are, for messages (``"proxy"``, ``"search space"``, ``"dataset"``).
        key: the name of an item.
        sort_names: :meth:`names` and iteration in name order (else registration order).
        unknown: the message of an unknown name, from ``(name, valid names)`` (default: one that lists them).
        discover: run once, before the first lookup, to register built-in items (e.g. import plug-in modules).
        entry_point_group: also register, on the first lookup, the objects (an item or a sequence of
            items) of the installed packages' entry points of this group.
    """

    def __init__(
        self,
        kind: str,
        *,
        key: Callable[[T], str],
        sort_names: bool = False,
        unknown: Callable[[str, list[str]], str] | None = None,
        discover: Callable[[], None] | None = None,
        entry_point_group: str | None = None,
    ) -> None:
        self.kind = kind
        self._key = key
        self._sort = sort_names
        self._unknown = unknown
        self._items: dict[str, T] = {}
        self._discover = discover
        self._group = entry_point_group
        self._discovered = discover is None and entry_point_group is None

    def add(self, item: T, *, replace: bool = False) -> T:
        """Register ``item`` under its name and return it.

        Raises:
            ValueError: the name is empty, or taken (unless ``replace``).
        """
        name = self._key(item)
        if not name:
            raise ValueError(f"{item!r} has no name")
        if name in self._items and not replace:
            raise ValueError(f"{self.kind} '{name}' is already registered")
        self._items[name] = item
        return item

    def remove(self, name: str) -> None:
        """Remove an item (no error if absent)."""
        self._items.pop(name, None)

    def _ensure(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        if self._discover is not None:
            self._discover()
        if self._group is not None:
            for ep in entry_points(group=self._group):
                obj = ep.load()
                for item in obj if isinstance(obj, Sequence) else [obj]:
                    if self._key(item) not in self._items:
                        self.add(item)

    def find(self, name: str) -> T | None:
        """The item called ``name``, or None."""
        self._ensure()
        return self._items.get(name)

    def get(self, name: str) -> T:
        """The item called ``name``.

        Raises:
            UnknownNameError: no such item (the message lists the valid names).
        """
        item = self.find(name)
        if item is None:
            valid = self.names()
            message = (
                self._unknown(name, valid)
                if self._unknown is not None
                else f"unknown {self.kind} '{name}'; choose one of: {', '.join(valid)}."
            )
            raise UnknownNameError(message)
        return item

    def names(self) -> list[str]:
        """Registered names (sorted, or in registration order)."""
        self._ensure()
        return sorted(self._items) if self._sort else list(self._items)

    def __contains__(self, name: object) -> bool:
        self._ensure()
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter([self._items[n] for n in self.names()])

    def __len__(self) -> int:
        self._ensure()
        return len(self._items)
