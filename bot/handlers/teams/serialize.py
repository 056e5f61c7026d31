"""botbuilder models as JSON, exactly as their own ``serialize()`` writes them, in less time.

msrest serialises a model by walking its whole type map: for each of an activity's forty-odd
attributes it transforms the key and raises and catches a ``ValueError`` when the value is
``None`` (most are), and it copies a free-form value (an Adaptive Card in an attachment or
an invoke response) value by value. For one of the bot's cards that came to about a
millisecond, for a result equal to the card.

``JsonSerializer`` is msrest's serializer, given only what it would not skip: attributes
that are ``None`` are left out before it starts (it leaves them out anyway), and a free-form
value (msrest's types ``object``, ``{object}``, ``[object]``) that is plain JSON (dicts with
string keys, lists, strings, numbers, booleans, ``None``) is put in the result as it is,
which is what msrest makes of it. Everything else, and the order of the keys, is msrest's.
"""

from __future__ import annotations

import copy
from typing import Any

from botbuilder.core.serializer_helper import DEPENDICIES_DICT
from msrest.serialization import Model, Serializer

_PLAIN = (str, int, float, bool, type(None))
# msrest's free-form types, and what a value of each must be to be taken as it is.
_FREE_FORM: dict[str, tuple[type, ...]] = {
    "object": (dict, list, *_PLAIN),
    "{object}": (dict,),
    "[object]": (list,),
}


def is_plain_json(value: Any) -> bool:
    """True when ``value`` holds only what JSON holds, so msrest would copy it unchanged."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            if not all(type(key) is str for key in item):
                return False
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        elif kind not in _PLAIN:
            return False
    return True


class JsonSerializer(Serializer):  # type: ignore[misc]
    """msrest's ``Serializer``, skipping ahead of it what it would skip or copy unchanged."""

    def _serialize(self, target_obj: Any, data_type: Any = None, **kwargs: Any) -> Any:
        if data_type is not None or not isinstance(target_obj, Model):
            return super()._serialize(target_obj, data_type, **kwargs)
        attributes: dict[str, dict[str, Any]] = type(target_obj)._attribute_map
        try:
            kept, as_is = _sorted_attributes(target_obj, attributes)
        except AttributeError:  # a model missing an attribute: msrest says so its own way
            return super()._serialize(target_obj, **kwargs)
        light = copy.copy(target_obj)
        light._attribute_map = kept
        serialized = super()._serialize(light, **kwargs)
        if not as_is:
            return serialized
        ordered = {}
        for attribute, description in attributes.items():
            key = description["key"]
            if attribute in as_is:
                ordered[key] = as_is[attribute]
            elif key in serialized:
                ordered[key] = serialized[key]
        return ordered


def _sorted_attributes(
    model: Model, attributes: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The attributes msrest must serialise, and the plain-JSON values it would copy."""
    kept: dict[str, dict[str, Any]] = {}
    as_is: dict[str, Any] = {}
    for attribute, description in attributes.items():
        if description.get("key") == "":  # additional properties: msrest's own handling
            kept[attribute] = description
            continue
        value = getattr(model, attribute)
        if value is None:
            continue
        if _free_form(description, value):
            as_is[attribute] = value
        else:
            kept[attribute] = description
    return kept, as_is


def _free_form(description: dict[str, Any], value: Any) -> bool:
    """True for a free-form attribute whose value msrest would copy unchanged."""
    kinds = _FREE_FORM.get(str(description.get("type")))
    return kinds is not None and type(value) in kinds and is_plain_json(value)


SERIALIZER = JsonSerializer(DEPENDICIES_DICT)  # botbuilder's models, Teams' too


def model_json(model: Model) -> dict[str, Any]:
    """``model.serialize()``: an activity as the connector expects it, and so on."""
    serialized: dict[str, Any] = SERIALIZER._serialize(model)
    return serialized


def invoke_json(body: object) -> Any:
    """What botbuilder's ``serializer_helper`` makes of an invoke response's body."""
    return SERIALIZER._serialize(body) if body is not None else None
