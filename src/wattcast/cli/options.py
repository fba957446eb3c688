"""Command-line options made from the run specification's fields.

A job command declares which sections of :class:`~wattcast.settings.RunSpec` it
takes; :func:`spec_options` gives it one option per field of those sections
(the flag named after the TOML key, see :meth:`Option.flag_name`) plus
``--config``, and hands the command a built and validated ``spec`` instead.
Values arrive as text and are read by the spec itself, so a bad value gets the
same one-line message from a flag as from the TOML file.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from wattcast.settings import RunSpec, default_of, options
from wattcast.settings.values import Field

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Site configuration (TOML); flags override its settings."),
]


def literal(text: str) -> str:
    """``text`` shown as it is in help: typer renders help with rich, whose markup
    would take ``[model]`` or ``[default: 100]`` for a style tag and drop it."""
    return text.replace("[", "\\[")


def _parameter(section: str, key: str, option: Field, default: object) -> inspect.Parameter | None:
    meta = option.setting
    flag = meta.flag_name(key)
    if flag is None:
        return None
    names = [f"--{flag}", *(f"--{alias}" for alias in meta.aliases)]
    shown = "" if default in (None, [], {}) else f" [default: {_shown(default)}]"
    help_text = f"{meta.help}{shown} (TOML: [{section}] {key})"
    if option.switch:
        names = [f"--{flag}/--no-{flag}"]
        kind: Any = bool | None
    elif option.many:
        kind = list[str] | None
    else:
        kind = str | None
    option = typer.Option(*names, help=literal(help_text), show_default=False)
    name = f"{section.replace('.', '__')}__{key}"
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[kind, option])  # fmt: skip


def _shown(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def spec_options(
    sections: Sequence[str], exclude: Sequence[str] = (), default_config: Path | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the options of ``sections`` (``section.key`` or a whole table such
    as ``alerts.email`` in ``exclude`` left out).

    The command declares a ``spec`` parameter (and may declare ``data`` for the
    readings as an argument); it receives the :class:`RunSpec` built from
    ``--config`` (or ``default_config`` when that file exists) and the flags given,
    and, when it declares ``config_used``, the site file read (None: none). When it
    declares ``setup_warnings``, the wattcast warnings of reading the site file (a
    zone of one offset all year) are given to it to say, not said here: the nightly
    job says them with the night's own, once.
    """

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
               if p.name not in ("spec", "config_used", "setup_warnings")]  # fmt: skip
        wants_config = "config_used" in inspect.signature(command).parameters
        wants_warnings = "setup_warnings" in inspect.signature(command).parameters
        added = [
            parameter
            for section, key, option in options()
            if section.split(".")[0] in sections
            and section not in exclude
            and f"{section}.{key}" not in exclude
            if (parameter := _parameter(section, key, option, default_of(section, key))) is not None
        ]
        config = inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None,
                                   annotation=ConfigOpt)  # fmt: skip

        @functools.wraps(command)
        def with_spec(**values: Any) -> None:
            from wattcast.cli.console import user_errors

            flags = {name.replace("__", "."): values.pop(name) for name in list(values)
                     if "__" in name}  # fmt: skip
            if "data" in values and values["data"] is not None:
                flags["data.source"] = str(values["data"])
            config = values.pop("config")
            if wants_warnings:
                values["setup_warnings"] = []
            with user_errors(), _kept(values.get("setup_warnings")):
                spec = build_spec(config, flags, default_config)
            if wants_config:  # the site file read: the one given, the default one, or none
                used = config or (default_config if default_config and default_config.is_file()
                                  else None)  # fmt: skip
                values["config_used"] = used
            command(spec=spec, **values)

        with_spec.__signature__ = inspect.Signature([*own, config, *added])  # type: ignore[attr-defined]
        return with_spec

    return decorate


@contextlib.contextmanager
def _kept(into: list[Any] | None) -> Iterator[None]:
    """Keep in ``into`` the wattcast warnings raised inside, and say the others; where
    the block raises, or ``into`` is None, say them all."""
    import warnings

    from wattcast.errors import WattcastWarning

    if into is None:
        yield
        return
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", WattcastWarning)
            yield
    except BaseException:
        _say(caught)
        raise
    ours = [w for w in caught if issubclass(w.category, WattcastWarning)]
    into.extend(ours)
    _say([w for w in caught if w not in ours])


def _say(caught: list[Any]) -> None:
    import warnings

    for item in caught:
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


def build_spec(
    config: Path | None, flags: dict[str, object], default_config: Path | None = None
) -> RunSpec:
    """The specification of ``config`` (or a default one) with the given flags."""
    if config is None and default_config is not None and default_config.is_file():
        config = default_config
    base = RunSpec.from_toml(config) if config is not None else RunSpec()
    return base.with_flags(flags)
